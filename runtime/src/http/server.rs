//! The `/metrics` server on a background thread: the Python client's
//! `start_http_server`, with the limits a server facing a network needs.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{watch, Semaphore};

use super::auth::BasicAuth;
use super::deadline::WriteDeadline;
use super::hyper::{into_hyper, into_hyper_with, scrape_request};
use super::{MetricsHandler, MetricsResponse};
use crate::Collector;

/// Serves the [default registry](crate::default_registry) on `addr`, from a
/// background thread, until the returned [`Server`] is shut down or dropped.
///
/// `GET` or `HEAD` on `/` or `/metrics` answers the exposition in the format
/// the `Accept` header negotiates, gzipped when the client accepts it;
/// `?name[]=...` restricts it to those sample names. Other paths get 404,
/// other methods 405. [`Server::builder`] adds TLS, client certificates,
/// basic auth and limits.
///
/// Scrapes are computed on threads of their own, never on the thread that
/// accepts and drives connections, so no client and no collector can stall
/// another client's scrape: a collector that panics gives `500` with the
/// panic message, one that reports a failure `500` with the failure, one
/// that has not finished within the scrape timeout (10 s, or the scraper's
/// shorter `X-Prometheus-Scrape-Timeout-Seconds`) `503`. The server's
/// limits and timeouts are listed at [`Server::builder`].
///
/// ```
/// let server = promdecl_runtime::serve("127.0.0.1:0").unwrap();
/// println!("metrics on http://{}/metrics", server.local_addr());
/// server.shutdown();
/// ```
pub fn serve(addr: impl ToSocketAddrs) -> Result<Server, ServeError> {
    Server::builder(addr).start()
}

/// Like [`serve`], for another registry (or any [`Collector`]).
///
/// ```
/// use promdecl_runtime::{serve_registry, Registry};
/// let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
/// let server = serve_registry("127.0.0.1:0", registry).unwrap();
/// server.shutdown();
/// ```
pub fn serve_registry(addr: impl ToSocketAddrs, registry: impl Collector + 'static) -> Result<Server, ServeError> {
    Server::builder(addr).registry(registry).start()
}

/// Why a server could not start.
///
/// ```
/// let taken = promdecl_runtime::serve("127.0.0.1:0").unwrap();
/// let err = promdecl_runtime::serve(taken.local_addr()).unwrap_err();
/// assert!(err.to_string().starts_with("cannot listen on 127.0.0.1:"), "{err}");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The address does not resolve, is in use, or is not ours to bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address, as given or resolved.
        addr: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The certificate, key or client CA cannot be used.
    #[cfg(feature = "tls")]
    #[error(transparent)]
    Tls(#[from] crate::TlsError),
    /// A setting is out of range.
    #[error("invalid server setting: {0}")]
    Config(String),
    /// The server thread or its runtime could not be started.
    #[error("cannot start the server thread: {0}")]
    Start(#[source] io::Error),
}

impl From<ServeError> for io::Error {
    fn from(e: ServeError) -> Self {
        let kind = match &e {
            ServeError::Bind { source, .. } | ServeError::Start(source) => source.kind(),
            _ => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e)
    }
}

/// A running metrics server; see [`serve`] and [`Server::builder`].
#[derive(Debug)]
pub struct Server {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// A server on `addr` to configure, then [`start`](ServerBuilder::start).
    ///
    /// | limit | default | past it |
    /// |---|---|---|
    /// | [`max_connections`](ServerBuilder::max_connections) | three quarters of the open-file limit | new connections wait in the listen backlog |
    /// | [`header_read_timeout`](ServerBuilder::header_read_timeout) | 10 s for a whole request head, or an idle keep-alive | connection closed |
    /// | [`write_timeout`](ServerBuilder::write_timeout) | 30 s for a whole answer | connection closed |
    /// | [`scrape_timeout`](ServerBuilder::scrape_timeout) | 10 s, or the scraper's shorter one | `503` |
    /// | [`max_concurrent_scrapes`](ServerBuilder::max_concurrent_scrapes) | 4 computed at once | wait, within the scrape timeout |
    /// | [`max_pending_bytes`](ServerBuilder::max_pending_bytes) | 64 MiB of answers not yet taken by their clients | `503` |
    /// | [`max_header_size`](ServerBuilder::max_header_size) | 16 KiB | `431` |
    ///
    /// ```
    /// use std::time::Duration;
    /// let server = promdecl_runtime::Server::builder("127.0.0.1:0")
    ///     .basic_auth("prometheus", "s3cret")
    ///     .max_connections(32)
    ///     .header_read_timeout(Duration::from_secs(5))
    ///     .start()
    ///     .unwrap();
    /// server.shutdown();
    /// ```
    pub fn builder(addr: impl ToSocketAddrs) -> ServerBuilder {
        let addrs = addr.to_socket_addrs().map(Iterator::collect);
        ServerBuilder {
            addrs,
            handler: None,
            compression: true,
            auth: BasicAuth::default(),
            #[cfg(feature = "tls")]
            tls: None,
            limits: Limits::default(),
        }
    }

    /// The address the server listens on (useful after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets requests in flight finish (for at most a
    /// second), and joins the thread. A collector still blocked then keeps
    /// its own scrape thread; it is not waited for.
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

/// How much a server lets its clients take.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// `None`: as many as the open-file limit allows.
    max_connections: Option<usize>,
    header_read_timeout: Duration,
    write_timeout: Duration,
    max_header_size: usize,
    scrape_timeout: Option<Duration>,
    max_concurrent_scrapes: Option<usize>,
    max_pending_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: None,
            header_read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_header_size: 16 * 1024,
            scrape_timeout: None,
            max_concurrent_scrapes: None,
            max_pending_bytes: 64 << 20,
        }
    }
}

/// The most connections the open-file limit leaves room for: three
/// quarters of it, the rest for the program's own files and sockets. A
/// connection that only waits costs a socket and a few kilobytes, so the
/// limit is the descriptors, not a guess at a small number.
fn connection_cap() -> usize {
    #[cfg(unix)]
    {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        match limit.current {
            Some(n) => usize::try_from(n / 4 * 3).unwrap_or(usize::MAX).max(1),
            None => 1 << 20,
        }
    }
    #[cfg(not(unix))]
    {
        8192
    }
}

/// The settings of a [`Server`]; made by [`Server::builder`].
#[must_use = "a builder does nothing until `start` is called"]
pub struct ServerBuilder {
    addrs: io::Result<Vec<SocketAddr>>,
    handler: Option<MetricsHandler>,
    compression: bool,
    auth: BasicAuth,
    #[cfg(feature = "tls")]
    tls: Option<super::tls::TlsSettings>,
    limits: Limits,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("addrs", &self.addrs)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// Serves `registry` (any [`Collector`]) instead of the default registry.
    ///
    /// ```
    /// use promdecl_runtime::{Registry, Server};
    /// let server = Server::builder("127.0.0.1:0").registry(Registry::new()).start().unwrap();
    /// # server.shutdown();
    /// ```
    pub fn registry(mut self, registry: impl Collector + 'static) -> Self {
        self.handler = Some(MetricsHandler::new(registry));
        self
    }

    /// Serves with `handler`, shared with other servers or framework routes.
    ///
    /// ```
    /// use promdecl_runtime::{http::MetricsHandler, Server};
    /// let handler = MetricsHandler::default();
    /// let server = Server::builder("127.0.0.1:0").handler(handler.clone()).start().unwrap();
    /// # server.shutdown();
    /// ```
    pub fn handler(mut self, handler: MetricsHandler) -> Self {
        self.handler = Some(handler);
        self
    }

    /// Never gzips answers (the Python client's `disable_compression`).
    ///
    /// ```
    /// let b = promdecl_runtime::Server::builder("127.0.0.1:0").disable_compression();
    /// # drop(b);
    /// ```
    pub fn disable_compression(mut self) -> Self {
        self.compression = false;
        self
    }

    /// Requires HTTP basic auth with this user and password; call again to
    /// allow more users. Without TLS the password crosses the network in
    /// the clear.
    ///
    /// ```
    /// let b = promdecl_runtime::Server::builder("127.0.0.1:0").basic_auth("prometheus", "s3cret");
    /// # drop(b);
    /// ```
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth.allow(user.into(), password.into());
        self
    }

    /// At most this many connections at once; more wait in the listen
    /// backlog until one closes. The default, and the most allowed, is three
    /// quarters of the process's open-file limit (`ulimit -n`) when the
    /// server starts: connections that only wait cost little, and capping
    /// them lower would let a few hundred idle or slow clients lock a
    /// scraper out.
    ///
    /// ```
    /// let b = promdecl_runtime::Server::builder("127.0.0.1:0").max_connections(16);
    /// # drop(b);
    /// ```
    pub fn max_connections(mut self, n: usize) -> Self {
        self.limits.max_connections = Some(n);
        self
    }

    /// How long a client may take to send a whole request head, and to
    /// finish a TLS handshake (default 10 s): a total, not a pause between
    /// bytes. An idle keep-alive connection is closed after as long, so a
    /// client that trickles bytes cannot hold a connection.
    ///
    /// ```
    /// let b = promdecl_runtime::Server::builder("127.0.0.1:0").header_read_timeout(std::time::Duration::from_secs(5));
    /// # drop(b);
    /// ```
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// How long writing one whole answer may take (default 30 s): a total
    /// from its first byte to its last, so a client that does not read, or
    /// reads a byte now and then, is cut off and its answer's memory freed.
    ///
    /// ```
    /// let b = promdecl_runtime::Server::builder("127.0.0.1:0").write_timeout(std::time::Duration::from_secs(5));
    /// # drop(b);
    /// ```
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.limits.write_timeout = timeout;
        self
    }

    /// How long a scrape's collectors may take before the answer is `503`
    /// (default 10 s, Prometheus's default scrape timeout). A scraper's
    /// shorter `X-Prometheus-Scrape-Timeout-Seconds` wins, less a tenth (at
    /// most half a second). See [`MetricsHandler::scrape_timeout`].
    ///
    /// ```
    /// let b = promdecl_runtime::Server::builder("127.0.0.1:0").scrape_timeout(std::time::Duration::from_secs(5));
    /// # drop(b);
    /// ```
    pub fn scrape_timeout(mut self, timeout: Duration) -> Self {
        self.limits.scrape_timeout = Some(timeout);
        self
    }

    /// At most `n` scrapes computed at once (default 4; at least 1); more
    /// wait, within their scrape timeout. See
    /// [`MetricsHandler::max_concurrent_scrapes`].
    ///
    /// ```
    /// let b = promdecl_runtime::Server::builder("127.0.0.1:0").max_concurrent_scrapes(2);
    /// # drop(b);
    /// ```
    pub fn max_concurrent_scrapes(mut self, n: usize) -> Self {
        self.limits.max_concurrent_scrapes = Some(n);
        self
    }

    /// At most this many bytes of answers computed and not yet taken by
    /// their clients (default 64 MiB). Past it a new scrape gets `503` at
    /// once, until the [write timeout](Self::write_timeout) frees the
    /// answers of clients that do not read.
    ///
    /// ```
    /// let b = promdecl_runtime::Server::builder("127.0.0.1:0").max_pending_bytes(16 << 20);
    /// # drop(b);
    /// ```
    pub fn max_pending_bytes(mut self, bytes: usize) -> Self {
        self.limits.max_pending_bytes = bytes;
        self
    }

    /// The largest request head (request line and headers) accepted, in
    /// bytes (default 16 KiB); a larger one gets 431.
    ///
    /// ```
    /// let b = promdecl_runtime::Server::builder("127.0.0.1:0").max_header_size(8192);
    /// # drop(b);
    /// ```
    pub fn max_header_size(mut self, bytes: usize) -> Self {
        self.limits.max_header_size = bytes;
        self
    }

    /// Serves HTTPS with the PEM certificate chain in `cert` and the PEM
    /// private key (PKCS#8, PKCS#1 or SEC1) in `key` (feature `tls`; the
    /// Python client's `certfile` and `keyfile`).
    ///
    /// ```no_run
    /// let server = promdecl_runtime::Server::builder("0.0.0.0:9100")
    ///     .tls("/etc/metrics/server.crt", "/etc/metrics/server.key")
    ///     .start()
    ///     .unwrap();
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, cert: impl Into<std::path::PathBuf>, key: impl Into<std::path::PathBuf>) -> Self {
        self.tls_settings().identity = Some((cert.into(), key.into()));
        self
    }

    /// Asks clients for a certificate issued by a CA of this PEM file
    /// (feature `tls`; the Python client's `client_cafile`). Clients without
    /// one are refused only with [`client_auth_required`](Self::client_auth_required).
    ///
    /// ```no_run
    /// let server = promdecl_runtime::Server::builder("0.0.0.0:9100")
    ///     .tls("server.crt", "server.key")
    ///     .client_ca_file("clients-ca.crt")
    ///     .client_auth_required(true)
    ///     .start()
    ///     .unwrap();
    /// ```
    #[cfg(feature = "tls")]
    pub fn client_ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.tls_settings().client_ca = Some(super::tls::ClientCa::File(path.into()));
        self
    }

    /// Like [`client_ca_file`](Self::client_ca_file), with every PEM file of
    /// a directory (the Python client's `client_capath`).
    ///
    /// ```no_run
    /// let server = promdecl_runtime::Server::builder("0.0.0.0:9100")
    ///     .tls("server.crt", "server.key")
    ///     .client_ca_dir("/etc/ssl/metrics-clients")
    ///     .client_auth_required(true)
    ///     .start()
    ///     .unwrap();
    /// ```
    #[cfg(feature = "tls")]
    pub fn client_ca_dir(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.tls_settings().client_ca = Some(super::tls::ClientCa::Dir(path.into()));
        self
    }

    /// Refuses clients without a valid certificate (default false: a
    /// certificate is checked when given). Needs a client CA.
    ///
    /// ```
    /// let b = promdecl_runtime::Server::builder("127.0.0.1:0").client_auth_required(true);
    /// assert!(b.start().is_err()); // no certificate, no client CA
    /// ```
    #[cfg(feature = "tls")]
    pub fn client_auth_required(mut self, required: bool) -> Self {
        self.tls_settings().client_auth_required = required;
        self
    }

    #[cfg(feature = "tls")]
    fn tls_settings(&mut self) -> &mut super::tls::TlsSettings {
        self.tls.get_or_insert_with(Default::default)
    }

    /// Checks the settings, reads the TLS files, binds the address and
    /// starts serving on a thread of its own.
    ///
    /// ```
    /// let server = promdecl_runtime::Server::builder("127.0.0.1:0").start().unwrap();
    /// assert!(server.local_addr().port() > 0);
    /// ```
    pub fn start(mut self) -> Result<Server, ServeError> {
        if self.limits.max_connections == Some(0) {
            return Err(ServeError::Config("max_connections must be at least 1".into()));
        }
        if self.limits.max_concurrent_scrapes == Some(0) {
            return Err(ServeError::Config("max_concurrent_scrapes must be at least 1".into()));
        }
        if self.limits.scrape_timeout == Some(Duration::ZERO) {
            return Err(ServeError::Config("scrape_timeout must be longer than zero".into()));
        }
        let cap = connection_cap();
        self.limits.max_connections = Some(self.limits.max_connections.map_or(cap, |n| n.min(cap)));
        if self.limits.max_header_size < 1024 {
            return Err(ServeError::Config("max_header_size must be at least 1024 bytes".into()));
        }
        #[cfg(feature = "tls")]
        let tls = self.tls.as_ref().map(super::tls::TlsSettings::acceptor).transpose()?;
        let addrs = self.addrs.map_err(|source| ServeError::Bind { addr: "the given address".into(), source })?;
        let listener = std::net::TcpListener::bind(&addrs[..]).map_err(|source| ServeError::Bind {
            addr: addrs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
            source,
        })?;
        let local_addr = listener.local_addr().map_err(ServeError::Start)?;
        listener.set_nonblocking(true).map_err(ServeError::Start)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(ServeError::Start)?;
        let mut handler = self.handler.unwrap_or_default();
        if !self.compression {
            handler = handler.disable_compression();
        }
        if let Some(timeout) = self.limits.scrape_timeout {
            handler = handler.scrape_timeout(timeout);
        }
        if let Some(n) = self.limits.max_concurrent_scrapes {
            handler = handler.max_concurrent_scrapes(n);
        }
        let shared = Arc::new(Shared {
            handler,
            auth: self.auth,
            limits: self.limits,
            pending: Arc::new(AtomicUsize::new(0)),
            #[cfg(feature = "tls")]
            tls,
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("promdecl-http".into())
            .spawn(move || {
                runtime.block_on(accept_loop(listener, shared, stop_rx));
                // Nothing of ours is left on the runtime; do not wait for it.
                runtime.shutdown_background();
            })
            .map_err(ServeError::Start)?;
        Ok(Server { local_addr, stop: stop_tx, thread: Some(thread) })
    }
}

/// What every connection of a server reads.
struct Shared {
    handler: MetricsHandler,
    auth: BasicAuth,
    limits: Limits,
    /// Bytes of answers made and not yet written out whole.
    pending: Arc<AtomicUsize>,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

async fn accept_loop(listener: std::net::TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let max_connections = shared.limits.max_connections.unwrap_or(1).min(Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // Past the limit, new connections wait in the backlog rather than
        // being accepted and dropped.
        let permit = tokio::select! {
            _ = stop.changed() => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: wait instead of spinning.
                    if !is_per_connection(&e) {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
        };
        // Reap finished connections so the set does not grow forever.
        while connections.try_join_next().is_some() {}
        let shared = Arc::clone(&shared);
        let stop = stop.clone();
        connections.spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            let stream = Box::pin(WriteDeadline::new(stream, shared.limits.write_timeout));
            #[cfg(feature = "tls")]
            if let Some(acceptor) = &shared.tls {
                let handshake = tokio::time::timeout(shared.limits.header_read_timeout, acceptor.accept(stream));
                if let Ok(Ok(tls)) = handshake.await {
                    serve_connection(tls, shared, stop).await;
                }
                return;
            }
            serve_connection(stream, shared, stop).await;
        });
    }
    // Requests in flight may finish; a client stalled mid-request may not
    // hold the shutdown up for longer than the grace period.
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    }
}

/// Whether an accept error concerns one connection only (it was reset
/// before we took it), so the next accept may succeed at once.
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
    )
}

/// How long `shutdown()` waits for connections to finish their requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

async fn serve_connection<S>(stream: S, shared: Arc<Shared>, mut stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let limits = shared.limits;
    let service = service_fn(move |req| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, std::convert::Infallible>(respond(req, &shared).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        // Answers stay queued as the `Bytes` they were made as (not copied
        // into a connection buffer), so their memory is counted until the
        // client has taken them.
        .writev(true)
        .header_read_timeout(limits.header_read_timeout)
        .max_header_size(limits.max_header_size)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

async fn respond(req: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    if !matches!(req.uri().path(), "/" | "/metrics") {
        return into_hyper(MetricsResponse::plain(404, "not found: metrics are at /metrics\n"));
    }
    let authorization = req.headers().get(hyper::header::AUTHORIZATION).map(|v| v.as_bytes());
    if !shared.auth.admits(authorization) {
        let mut resp = into_hyper(MetricsResponse::plain(401, "unauthorized: give a user and password\n"));
        resp.headers_mut().insert(
            hyper::header::WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static("Basic realm=\"metrics\", charset=\"UTF-8\""),
        );
        return resp;
    }
    let pending = shared.pending.load(Ordering::Relaxed);
    if pending >= shared.limits.max_pending_bytes {
        let head = req.method() == hyper::Method::HEAD;
        tracing::warn!(target: "promdecl::http", pending, "scrape refused: answers wait for clients that do not read");
        return into_hyper(MetricsResponse::error(
            503,
            &format!("busy: {pending} bytes of answers wait for clients that do not read them"),
            head,
        ));
    }
    let answer = shared.handler.respond_async(&scrape_request(&req)).await;
    into_hyper_with(answer, |body| Pending::track(body, &shared.pending))
}

/// An answer's body, counted in the server's pending bytes until hyper has
/// written it out and dropped it.
struct Pending {
    body: Vec<u8>,
    counter: Arc<AtomicUsize>,
}

impl Pending {
    fn track(body: Vec<u8>, counter: &Arc<AtomicUsize>) -> Bytes {
        counter.fetch_add(body.len(), Ordering::Relaxed);
        Bytes::from_owner(Pending { body, counter: Arc::clone(counter) })
    }
}

impl AsRef<[u8]> for Pending {
    fn as_ref(&self) -> &[u8] {
        &self.body
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.counter.fetch_sub(self.body.len(), Ordering::Relaxed);
    }
}
