//! The `/metrics` server on a background thread: the Python client's
//! `start_http_server`, with the limits a server facing a network needs.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
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
use tokio_io_timeout::TimeoutStream;

use super::auth::BasicAuth;
use super::hyper::{into_hyper, scrape_request};
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
    /// second), and joins the thread.
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
    max_connections: usize,
    header_read_timeout: Duration,
    write_timeout: Duration,
    max_header_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 256,
            header_read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            max_header_size: 16 * 1024,
        }
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

    /// At most this many connections at once (default 256); more wait in
    /// the listen backlog until one closes.
    ///
    /// ```
    /// let b = promdecl_runtime::Server::builder("127.0.0.1:0").max_connections(16);
    /// # drop(b);
    /// ```
    pub fn max_connections(mut self, n: usize) -> Self {
        self.limits.max_connections = n;
        self
    }

    /// How long a client may take to send a request's headers, and to
    /// finish a TLS handshake (default 10 s). An idle keep-alive connection
    /// is closed after as long, so a client that trickles bytes cannot hold
    /// a connection.
    ///
    /// ```
    /// let b = promdecl_runtime::Server::builder("127.0.0.1:0").header_read_timeout(std::time::Duration::from_secs(5));
    /// # drop(b);
    /// ```
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.limits.header_read_timeout = timeout;
        self
    }

    /// How long a write of the answer may stall on a client that does not
    /// read (default 30 s) before the connection is closed.
    ///
    /// ```
    /// let b = promdecl_runtime::Server::builder("127.0.0.1:0").write_timeout(std::time::Duration::from_secs(5));
    /// # drop(b);
    /// ```
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.limits.write_timeout = timeout;
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
    pub fn start(self) -> Result<Server, ServeError> {
        if self.limits.max_connections == 0 {
            return Err(ServeError::Config("max_connections must be at least 1".into()));
        }
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
        let shared = Arc::new(Shared {
            handler,
            auth: self.auth,
            limits: self.limits,
            #[cfg(feature = "tls")]
            tls,
        });
        let (stop_tx, stop_rx) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("promdecl-http".into())
            .spawn(move || runtime.block_on(accept_loop(listener, shared, stop_rx)))
            .map_err(ServeError::Start)?;
        Ok(Server { local_addr, stop: stop_tx, thread: Some(thread) })
    }
}

/// What every connection of a server reads.
struct Shared {
    handler: MetricsHandler,
    auth: BasicAuth,
    limits: Limits,
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

async fn accept_loop(listener: std::net::TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let permits = Arc::new(Semaphore::new(shared.limits.max_connections));
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
            let mut stream = TimeoutStream::new(stream);
            stream.set_write_timeout(Some(shared.limits.write_timeout));
            let stream = Box::pin(stream);
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
        let resp = respond(&req, &shared);
        async move { Ok::<_, std::convert::Infallible>(resp) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
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

fn respond(req: &Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
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
    into_hyper(shared.handler.respond(&scrape_request(req)))
}
