//! The background thread: a round every interval into a bounded queue,
//! sent oldest first, one request at a time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::batch::Batch;
use super::{Outcome, RemoteWrite, RemoteWriteError};

enum Control {
    /// Collect a round now, send everything, then answer.
    Flush(mpsc::Sender<()>),
}

#[derive(Default)]
struct Status {
    sent_requests: AtomicU64,
    sent_samples: AtomicU64,
    failed_rounds: AtomicU64,
    retries: AtomicU64,
    refused_requests: AtomicU64,
    dropped_requests: AtomicU64,
    dropped_samples: AtomicU64,
    queued: AtomicUsize,
    last_error: Mutex<Option<Arc<RemoteWriteError>>>,
}

impl Status {
    fn error(&self, e: RemoteWriteError) {
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(e));
    }
}

/// A round waiting to be sent.
struct Pending {
    batch: Batch,
    backoff: Duration,
    next_try: Instant,
}

/// The thread's state.
struct Sender {
    writer: RemoteWrite,
    queue: VecDeque<Pending>,
    status: Arc<Status>,
}

impl Sender {
    /// Collects a round into the queue, dropping the oldest if it is full.
    fn round(&mut self) {
        match self.writer.collect() {
            Ok(batch) if batch.samples == 0 => {}
            Ok(batch) => {
                if self.queue.len() >= self.writer.max_pending {
                    if let Some(oldest) = self.queue.pop_front() {
                        self.drop_pending(&oldest, "the queue is full");
                    }
                }
                let backoff = self.writer.min_backoff;
                self.queue.push_back(Pending { batch, backoff, next_try: Instant::now() });
            }
            Err(e) => {
                self.status.failed_rounds.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("promdecl remote write: {e}");
                self.status.error(e);
            }
        }
        self.status.queued.store(self.queue.len(), Ordering::Relaxed);
    }

    fn drop_pending(&self, pending: &Pending, why: &str) {
        self.status.dropped_requests.fetch_add(1, Ordering::Relaxed);
        self.status.dropped_samples.fetch_add(pending.batch.samples as u64, Ordering::Relaxed);
        tracing::warn!(
            "promdecl remote write: dropped the oldest unsent round ({} samples): {why}",
            pending.batch.samples
        );
    }

    /// Tries the oldest round once.
    fn try_oldest(&mut self) {
        let Some(head) = self.queue.front_mut() else { return };
        match self.writer.attempt(&head.batch.body) {
            Outcome::Sent => {
                self.status.sent_requests.fetch_add(1, Ordering::Relaxed);
                self.status.sent_samples.fetch_add(head.batch.samples as u64, Ordering::Relaxed);
                self.queue.pop_front();
            }
            Outcome::Retry(e, after) => {
                self.status.retries.fetch_add(1, Ordering::Relaxed);
                head.next_try = Instant::now() + self.writer.wait(head.backoff, after);
                head.backoff = (head.backoff * 2).min(self.writer.max_backoff);
                tracing::debug!("promdecl remote write: will retry: {e}");
                self.status.error(e);
            }
            Outcome::GiveUp(e) => {
                self.status.refused_requests.fetch_add(1, Ordering::Relaxed);
                tracing::warn!("promdecl remote write: gave up on a round: {e}");
                self.status.error(e);
                self.queue.pop_front();
            }
        }
        self.status.queued.store(self.queue.len(), Ordering::Relaxed);
    }

    /// Sends the queue, waiting out backoffs, until it is empty or the next
    /// try would come after `deadline`.
    fn drain(&mut self, deadline: Instant) {
        while let Some(head) = self.queue.front() {
            if head.next_try > deadline {
                return;
            }
            std::thread::sleep(head.next_try.saturating_duration_since(Instant::now()));
            self.try_oldest();
        }
    }

    fn run(mut self, interval: Duration, control: mpsc::Receiver<Control>) {
        let mut next_round = Instant::now();
        loop {
            let wake = self.queue.front().map_or(next_round, |head| head.next_try.min(next_round));
            match control.recv_timeout(wake.saturating_duration_since(Instant::now())) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(Control::Flush(done)) => {
                    self.round();
                    self.drain(Instant::now() + self.writer.retry_for);
                    let _ = done.send(());
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    self.round();
                    self.drain(Instant::now() + self.writer.retry_for);
                    while let Some(left) = self.queue.pop_front() {
                        self.drop_pending(&left, "the writer stopped before the receiver took it");
                    }
                    self.status.queued.store(0, Ordering::Relaxed);
                    return;
                }
            }
            let now = Instant::now();
            if next_round <= now {
                self.round();
                // A round that falls behind skips the rounds it missed.
                while next_round <= now {
                    next_round += interval;
                }
            }
            if self.queue.front().is_some_and(|head| head.next_try <= Instant::now()) {
                self.try_oldest();
            }
        }
    }
}

/// A [`RemoteWrite`] sending from its background thread; see
/// [`RemoteWrite::start`]. Dropping it (or [`stop`](Self::stop)) collects a
/// last round and sends what is queued, retrying for at most
/// [`retry_for`](super::RemoteWriteBuilder::retry_for), then stops the
/// thread.
#[must_use = "dropping a RunningRemoteWrite stops it"]
pub struct RunningRemoteWrite {
    control: Option<mpsc::Sender<Control>>,
    thread: Option<JoinHandle<()>>,
    status: Arc<Status>,
}

impl std::fmt::Debug for RunningRemoteWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningRemoteWrite")
            .field("sent_requests", &self.sent_requests())
            .field("queued", &self.queued())
            .field("dropped_samples", &self.dropped_samples())
            .finish_non_exhaustive()
    }
}

macro_rules! counter_getter {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub fn $name(&self) -> u64 {
            self.status.$name.load(Ordering::Relaxed)
        }
    };
}

impl RunningRemoteWrite {
    pub(crate) fn spawn(writer: RemoteWrite, interval: Duration) -> Result<Self, RemoteWriteError> {
        let status = Arc::new(Status::default());
        let (control, received) = mpsc::channel();
        let sender = Sender { writer, queue: VecDeque::new(), status: Arc::clone(&status) };
        let thread = std::thread::Builder::new()
            .name("promdecl-remote-write".into())
            .spawn(move || sender.run(interval, received))
            .map_err(RemoteWriteError::Spawn)?;
        Ok(RunningRemoteWrite { control: Some(control), thread: Some(thread), status })
    }

    counter_getter! {
        /// How many requests the receiver accepted.
        ///
        /// ```no_run
        /// # use promdecl_runtime::remote_write::RemoteWrite;
        /// let running = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").build()?
        ///     .start(std::time::Duration::from_secs(15))?;
        /// println!("{} requests sent", running.sent_requests());
        /// # Ok::<(), promdecl_runtime::remote_write::RemoteWriteError>(())
        /// ```
        sent_requests
    }

    counter_getter! {
        /// How many samples the receiver accepted.
        ///
        /// ```no_run
        /// # use promdecl_runtime::remote_write::RemoteWrite;
        /// let running = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").build()?
        ///     .start(std::time::Duration::from_secs(15))?;
        /// println!("{} samples sent", running.sent_samples());
        /// # Ok::<(), promdecl_runtime::remote_write::RemoteWriteError>(())
        /// ```
        sent_samples
    }

    counter_getter! {
        /// How many rounds sent nothing because a collector reported a
        /// failure or panicked.
        ///
        /// ```no_run
        /// # use promdecl_runtime::remote_write::RemoteWrite;
        /// let running = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").build()?
        ///     .start(std::time::Duration::from_secs(15))?;
        /// println!("{} rounds not sent", running.failed_rounds());
        /// # Ok::<(), promdecl_runtime::remote_write::RemoteWriteError>(())
        /// ```
        failed_rounds
    }

    counter_getter! {
        /// How many tries failed in a way worth retrying (5xx, 429, no
        /// answer).
        ///
        /// ```no_run
        /// # use promdecl_runtime::remote_write::RemoteWrite;
        /// let running = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").build()?
        ///     .start(std::time::Duration::from_secs(15))?;
        /// println!("{} retries", running.retries());
        /// # Ok::<(), promdecl_runtime::remote_write::RemoteWriteError>(())
        /// ```
        retries
    }

    counter_getter! {
        /// How many requests the receiver refused for good (a 4xx other than
        /// 429): given up at once.
        ///
        /// ```no_run
        /// # use promdecl_runtime::remote_write::RemoteWrite;
        /// let running = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").build()?
        ///     .start(std::time::Duration::from_secs(15))?;
        /// println!("{} refused", running.refused_requests());
        /// # Ok::<(), promdecl_runtime::remote_write::RemoteWriteError>(())
        /// ```
        refused_requests
    }

    counter_getter! {
        /// How many unsent rounds were dropped: the oldest, when the queue
        /// was full, and what was left when the thread stopped.
        ///
        /// ```no_run
        /// # use promdecl_runtime::remote_write::RemoteWrite;
        /// let running = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").build()?
        ///     .start(std::time::Duration::from_secs(15))?;
        /// println!("{} rounds dropped", running.dropped_requests());
        /// # Ok::<(), promdecl_runtime::remote_write::RemoteWriteError>(())
        /// ```
        dropped_requests
    }

    counter_getter! {
        /// How many samples the dropped rounds held.
        ///
        /// ```no_run
        /// # use promdecl_runtime::remote_write::RemoteWrite;
        /// let running = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").build()?
        ///     .start(std::time::Duration::from_secs(15))?;
        /// println!("{} samples dropped", running.dropped_samples());
        /// # Ok::<(), promdecl_runtime::remote_write::RemoteWriteError>(())
        /// ```
        dropped_samples
    }

    /// How many rounds wait to be sent.
    ///
    /// ```no_run
    /// # use promdecl_runtime::remote_write::RemoteWrite;
    /// let running = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").build()?
    ///     .start(std::time::Duration::from_secs(15))?;
    /// println!("{} rounds queued", running.queued());
    /// # Ok::<(), promdecl_runtime::remote_write::RemoteWriteError>(())
    /// ```
    pub fn queued(&self) -> usize {
        self.status.queued.load(Ordering::Relaxed)
    }

    /// The latest failure (kept after later successes).
    ///
    /// ```no_run
    /// # use promdecl_runtime::remote_write::RemoteWrite;
    /// let running = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").build()?
    ///     .start(std::time::Duration::from_secs(15))?;
    /// if let Some(e) = running.last_error() {
    ///     eprintln!("remote write: {e}");
    /// }
    /// # Ok::<(), promdecl_runtime::remote_write::RemoteWriteError>(())
    /// ```
    pub fn last_error(&self) -> Option<Arc<RemoteWriteError>> {
        self.status.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Collects a round now and sends everything queued, retrying for at
    /// most [`retry_for`](super::RemoteWriteBuilder::retry_for); returns
    /// when done. What could not be sent stays queued.
    ///
    /// ```no_run
    /// # use promdecl_runtime::remote_write::RemoteWrite;
    /// let running = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").build()?
    ///     .start(std::time::Duration::from_secs(60))?;
    /// running.flush();
    /// # Ok::<(), promdecl_runtime::remote_write::RemoteWriteError>(())
    /// ```
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if let Some(control) = &self.control {
            if control.send(Control::Flush(done)).is_ok() {
                let _ = wait.recv();
            }
        }
    }

    /// Stops the thread after a last round and a last flush; see the type's
    /// docs.
    ///
    /// ```no_run
    /// # use promdecl_runtime::remote_write::RemoteWrite;
    /// let running = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").build()?
    ///     .start(std::time::Duration::from_secs(60))?;
    /// running.stop();
    /// # Ok::<(), promdecl_runtime::remote_write::RemoteWriteError>(())
    /// ```
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        drop(self.control.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningRemoteWrite {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}
