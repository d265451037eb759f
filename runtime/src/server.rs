//! A minimal HTTP server for `/metrics` on a background thread.

use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::watch;

use crate::encode::{encode, negotiate};
use crate::registry::Registry;

/// Serves the [default registry](crate::default_registry) on `addr`, from a
/// background thread, until the returned [`Server`] is shut down or dropped.
///
/// `GET` or `HEAD` on `/` or `/metrics` answers the exposition in the format
/// the `Accept` header negotiates; `?name[]=...` restricts it to those sample
/// names. Other paths get 404, other methods 405.
///
/// ```
/// let server = promdecl_runtime::serve("127.0.0.1:0").unwrap();
/// println!("metrics on http://{}/metrics", server.local_addr());
/// server.shutdown();
/// ```
pub fn serve(addr: impl ToSocketAddrs) -> io::Result<Server> {
    serve_registry(addr, crate::default_registry())
}

/// Like [`serve`], for any registry that lives for the whole program.
///
/// ```
/// use promdecl_runtime::{serve_registry, Registry};
/// let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
/// let server = serve_registry("127.0.0.1:0", registry).unwrap();
/// server.shutdown();
/// ```
pub fn serve_registry(addr: impl ToSocketAddrs, registry: &'static Registry) -> io::Result<Server> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local_addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let thread = std::thread::Builder::new()
        .name("promdecl-http".into())
        .spawn(move || runtime.block_on(accept_loop(listener, registry, stop_rx)))?;
    Ok(Server { local_addr, stop: stop_tx, thread: Some(thread) })
}

/// A running metrics server; see [`serve`].
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// The address the server listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets requests in flight finish, and joins the thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let _ = self.stop.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

async fn accept_loop(listener: std::net::TcpListener, registry: &'static Registry, mut stop: watch::Receiver<bool>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let registry = Arc::new(registry);
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let registry = Arc::clone(&registry);
                let mut stop = stop.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| handle(req, *registry));
                    let conn = http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(std::time::Duration::from_secs(10))
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
        }
    }
    // Requests in flight may finish; a client stalled mid-request may not
    // hold the shutdown up for longer than the grace period.
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

/// How long `shutdown()` waits for connections to finish their requests.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

async fn handle(req: Request<Incoming>, registry: &'static Registry) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(respond(&req, registry))
}

fn respond<B>(req: &Request<B>, registry: &Registry) -> Response<Full<Bytes>> {
    if !matches!(req.uri().path(), "/" | "/metrics") {
        return plain(StatusCode::NOT_FOUND, "not found: metrics are at /metrics\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut resp = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD are allowed\n");
        resp.headers_mut().insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let format = negotiate(accept);
    let names = requested_names(req.uri().query().unwrap_or(""));
    let mut buf = Vec::with_capacity(16 * 1024);
    if names.is_empty() {
        encode(registry, format, &mut buf);
    } else {
        encode(&registry.restricted(names), format, &mut buf);
    }
    let len = buf.len();
    let body = if req.method() == Method::HEAD { Bytes::new() } else { Bytes::from(buf) };
    let mut resp = Response::new(Full::new(body));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    resp.headers_mut().insert(hyper::header::CONTENT_LENGTH, HeaderValue::from(len));
    resp
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    resp
}

/// The values of `name[]` parameters, percent-decoded.
fn requested_names(query: &str) -> Vec<String> {
    form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k == "name[]").map(|(_, v)| v.into_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names_are_decoded() {
        assert_eq!(requested_names("name[]=a_total&x=1&name%5B%5D=b%3Ac&name[]=%zz"), ["a_total", "b:c", "%zz"]);
    }
}
