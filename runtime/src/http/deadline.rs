//! A total deadline for writing each answer, whatever the client reads.
//!
//! A per-write timeout (reset whenever a byte goes out) lets a client that
//! reads one byte now and then hold a connection and its pending answer for
//! ever. Here the clock starts at the first write of an answer and stops
//! when the answer is flushed out whole: hyper flushes the connection only
//! once its buffers are empty, that is at the end of each answer.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

pin_project! {
    /// `S`, whose writes between two flushes must end within `timeout`.
    pub(crate) struct WriteDeadline<S> {
        #[pin]
        inner: S,
        timeout: Duration,
        #[pin]
        sleep: Sleep,
        armed: bool,
    }
}

impl<S> WriteDeadline<S> {
    pub(crate) fn new(inner: S, timeout: Duration) -> Self {
        WriteDeadline { inner, timeout, sleep: tokio::time::sleep(timeout), armed: false }
    }
}

impl<S: AsyncWrite> WriteDeadline<S> {
    /// Runs one write-side operation under the deadline, starting the clock
    /// if this is the first write of an answer.
    fn guarded<T>(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut S>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        let mut this = self.project();
        if !*this.armed {
            let deadline = Instant::now() + *this.timeout;
            this.sleep.as_mut().reset(deadline);
            *this.armed = true;
        }
        // Past the deadline even a client that reads now is cut off: the
        // limit is on the whole answer, not on each stall.
        if this.sleep.is_elapsed() {
            return Poll::Ready(Err(timed_out(*this.timeout)));
        }
        match op(this.inner, cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => {
                ready!(this.sleep.poll(cx));
                Poll::Ready(Err(timed_out(*this.timeout)))
            }
        }
    }
}

fn timed_out(timeout: Duration) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, format!("the client did not take the answer within {timeout:?}"))
}

impl<S: AsyncRead> AsyncRead for WriteDeadline<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<S: AsyncWrite> AsyncWrite for WriteDeadline<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.guarded(cx, |inner, cx| inner.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.guarded(cx, |inner, cx| inner.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let flushed = ready!(self.as_mut().guarded(cx, |inner, cx| inner.poll_flush(cx)));
        if flushed.is_ok() {
            // The answer is out: the next one gets a fresh deadline.
            *self.project().armed = false;
        }
        Poll::Ready(flushed)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.guarded(cx, |inner, cx| inner.poll_shutdown(cx))
    }
}
