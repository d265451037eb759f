//! Prometheus remote write 1.0: a registry's samples sent to a
//! Prometheus-compatible store (Prometheus with its receiver on, Mimir,
//! Thanos Receive, Cortex, VictoriaMetrics) as snappy-compressed protobuf.
//!
//! Use it where nothing can scrape the process: short-lived jobs, serverless
//! functions, many replicas behind one address. A batch job sends once
//! before it exits with [`RemoteWrite::send`]; a service sends every
//! interval from a background thread with [`RemoteWrite::start`], whose
//! handle sends what is left when dropped.
//!
//! ```no_run
//! use promdecl_runtime::remote_write::RemoteWrite;
//! use promdecl_runtime::{Counter, Registry};
//!
//! let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
//! let rows = Counter::builder("etl_rows", "Rows loaded.").register(registry).unwrap();
//! rows.inc_by(1200.0).unwrap();
//!
//! RemoteWrite::builder("https://mimir.example.com/api/v1/push")
//!     .registry(registry)
//!     .job("etl")
//!     .instance("loader-7")
//!     .basic_auth("tenant-a", "s3cret")
//!     .build()?
//!     .send()?;
//! # Ok::<(), promdecl_runtime::remote_write::RemoteWriteError>(())
//! ```
//!
//! # What is sent
//!
//! Every sample a scrape in the Prometheus text format would show, one
//! series each, stamped with the time of the collection (a sample with a
//! timestamp of its own keeps it), with the external labels (`job`,
//! `instance`, ...) added where the series has no label of that name, and
//! HELP, TYPE and UNIT as metadata. Counters' `_created` series are not
//! sent, nor exemplars or native buckets (their classic samples are).
//!
//! # Failures
//!
//! * A collector that reports a failure ([`MetricEncoder::fail`](crate::encode::MetricEncoder::fail))
//!   or panics makes that round send nothing rather than a partial batch,
//!   which would read as series that stopped; it is counted, kept as the
//!   last error and logged through `tracing`. The background thread goes on.
//! * 5xx and 429 answers, refused connections, resets and timeouts are
//!   retried with a backoff that doubles from [`RemoteWriteBuilder::backoff`]'s
//!   minimum to its maximum (a 429's `Retry-After` is honoured up to the
//!   maximum). The background thread sends one request at a time, oldest
//!   first, and a later round waits until the one before it is sent or
//!   dropped, so a retry never sends samples out of order.
//! * While the receiver is down, rounds wait in a queue of at most
//!   [`RemoteWriteBuilder::max_pending`] requests; when it is full the
//!   oldest is dropped and counted ([`RunningRemoteWrite::dropped_samples`]).
//! * Any other 4xx is given up at once, with an error naming the status.
//! * Recording never waits for any of it: metric updates are atomics the
//!   background thread only reads.

mod batch;
mod error;
pub mod proto;
mod running;

use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

pub use error::RemoteWriteError;
pub use running::RunningRemoteWrite;

use crate::Collector;

/// The most a request may take when no timeout is set.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `send` and a final flush keep retrying by default.
const DEFAULT_RETRY_FOR: Duration = Duration::from_secs(30);
/// Prometheus' own remote-write backoff.
const DEFAULT_MIN_BACKOFF: Duration = Duration::from_millis(30);
const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5);
const DEFAULT_MAX_PENDING: usize = 100;
/// The most of an error answer's body that is kept.
const MAX_BODY: u64 = 64 * 1024;

/// A client for one remote-write receiver; see the [module docs](self).
pub struct RemoteWrite {
    url: String,
    agent: ureq::Agent,
    timeout: Duration,
    authorization: Option<String>,
    collector: Arc<dyn Collector>,
    external: Vec<(String, String)>,
    retry_for: Duration,
    min_backoff: Duration,
    max_backoff: Duration,
    max_pending: usize,
    /// The timestamp of the last round collected, in milliseconds: rounds
    /// get strictly increasing timestamps, since a receiver refuses a
    /// second sample of a series at the same millisecond with another value.
    last_ms: AtomicI64,
}

impl fmt::Debug for RemoteWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteWrite")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .field("authorization", &self.authorization.is_some())
            .field("external_labels", &self.external)
            .field("retry_for", &self.retry_for)
            .field("backoff", &(self.min_backoff, self.max_backoff))
            .field("max_pending", &self.max_pending)
            .finish_non_exhaustive()
    }
}

/// What one attempt came to.
pub(crate) enum Outcome {
    Sent,
    /// Worth trying again, after at least this long if the receiver said.
    Retry(RemoteWriteError, Option<Duration>),
    GiveUp(RemoteWriteError),
}

impl RemoteWrite {
    /// A builder for the receiver at `url`, the full URL of its write
    /// endpoint (`http://prometheus:9090/api/v1/write`,
    /// `https://mimir/api/v1/push`).
    ///
    /// ```
    /// use promdecl_runtime::remote_write::RemoteWrite;
    /// let writer = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").job("batch").build().unwrap();
    /// assert_eq!(writer.url(), "http://127.0.0.1:9090/api/v1/write");
    /// ```
    pub fn builder(url: impl Into<String>) -> RemoteWriteBuilder {
        RemoteWriteBuilder {
            url: url.into(),
            timeout: DEFAULT_TIMEOUT,
            basic_auth: None,
            bearer_token: None,
            ca_file: None,
            client_cert: None,
            collector: None,
            external: Vec::new(),
            retry_for: DEFAULT_RETRY_FOR,
            min_backoff: DEFAULT_MIN_BACKOFF,
            max_backoff: DEFAULT_MAX_BACKOFF,
            max_pending: DEFAULT_MAX_PENDING,
        }
    }

    /// The receiver's URL.
    ///
    /// ```
    /// use promdecl_runtime::remote_write::RemoteWrite;
    /// assert_eq!(RemoteWrite::builder("http://vm:8428/api/v1/write").build().unwrap().url(), "http://vm:8428/api/v1/write");
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Collects once and sends it, retrying 5xx, 429 and transport failures
    /// with backoff for at most [`RemoteWriteBuilder::retry_for`]; the call
    /// for a batch job to make before it exits.
    ///
    /// ```no_run
    /// use promdecl_runtime::remote_write::RemoteWrite;
    /// RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").job("backup").build()?.send()?;
    /// # Ok::<(), promdecl_runtime::remote_write::RemoteWriteError>(())
    /// ```
    pub fn send(&self) -> Result<(), RemoteWriteError> {
        let batch = self.collect()?;
        if batch.samples == 0 {
            return Ok(());
        }
        let deadline = Instant::now() + self.retry_for;
        let mut backoff = self.min_backoff;
        loop {
            match self.attempt(&batch.body) {
                Outcome::Sent => return Ok(()),
                Outcome::GiveUp(e) => return Err(e),
                Outcome::Retry(e, after) => {
                    let wait = self.wait(backoff, after);
                    if Instant::now() + wait > deadline {
                        return Err(e);
                    }
                    std::thread::sleep(wait);
                    backoff = (backoff * 2).min(self.max_backoff);
                }
            }
        }
    }

    /// Sends now and then every `interval` from a background thread, until
    /// the returned handle is stopped or dropped, which sends what is left;
    /// see the [module docs](self) for retries and the queue.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use promdecl_runtime::remote_write::RemoteWrite;
    /// let running = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write")
    ///     .job("worker")
    ///     .build()?
    ///     .start(Duration::from_secs(15))?;
    /// // ... the program runs ...
    /// drop(running); // a last round, sent
    /// # Ok::<(), promdecl_runtime::remote_write::RemoteWriteError>(())
    /// ```
    pub fn start(self, interval: Duration) -> Result<RunningRemoteWrite, RemoteWriteError> {
        if interval.is_zero() {
            return Err(RemoteWriteError::InvalidInterval);
        }
        RunningRemoteWrite::spawn(self, interval)
    }

    pub(crate) fn collect(&self) -> Result<batch::Batch, RemoteWriteError> {
        let wall_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let previous = self
            .last_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| Some(wall_ms.max(last + 1)))
            .expect("the update always succeeds");
        batch::collect(&*self.collector, &self.external, wall_ms.max(previous + 1))
    }

    /// How long to wait before the next try.
    pub(crate) fn wait(&self, backoff: Duration, retry_after: Option<Duration>) -> Duration {
        retry_after.map_or(backoff, |after| after.max(backoff)).min(self.max_backoff)
    }

    /// One POST of `body`.
    pub(crate) fn attempt(&self, body: &[u8]) -> Outcome {
        let mut request = self
            .agent
            .post(&self.url)
            .set("Content-Encoding", "snappy")
            .set("Content-Type", "application/x-protobuf")
            .set("X-Prometheus-Remote-Write-Version", "0.1.0");
        if let Some(authorization) = &self.authorization {
            request = request.set("Authorization", authorization);
        }
        let response = match request.send_bytes(body) {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(t)) => {
                let e = error::classify(&self.url, self.timeout, t);
                return if e.is_retryable() { Outcome::Retry(e, None) } else { Outcome::GiveUp(e) };
            }
        };
        let status = response.status();
        if (200..300).contains(&status) {
            return Outcome::Sent;
        }
        let retry_after = response.header("Retry-After").and_then(|s| s.trim().parse::<u64>().ok());
        let mut message = String::new();
        // An answer whose body is cut short still answered: its status is
        // what matters.
        let _ = response.into_reader().take(MAX_BODY).read_to_string(&mut message);
        let e = RemoteWriteError::Status { url: self.url.clone(), status, message: message.trim().to_owned() };
        if e.is_retryable() {
            Outcome::Retry(e, retry_after.map(Duration::from_secs))
        } else {
            Outcome::GiveUp(e)
        }
    }
}

/// Settings for a [`RemoteWrite`]; from [`RemoteWrite::builder`].
pub struct RemoteWriteBuilder {
    url: String,
    timeout: Duration,
    basic_auth: Option<(String, String)>,
    bearer_token: Option<String>,
    ca_file: Option<PathBuf>,
    client_cert: Option<(PathBuf, PathBuf)>,
    collector: Option<Arc<dyn Collector>>,
    external: Vec<(String, String)>,
    retry_for: Duration,
    min_backoff: Duration,
    max_backoff: Duration,
    max_pending: usize,
}

impl fmt::Debug for RemoteWriteBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteWriteBuilder")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .field("basic_auth", &self.basic_auth.as_ref().map(|(user, _)| user))
            .field("bearer_token", &self.bearer_token.is_some())
            .field("ca_file", &self.ca_file)
            .field("client_cert", &self.client_cert)
            .field("external_labels", &self.external)
            .finish_non_exhaustive()
    }
}

impl RemoteWriteBuilder {
    /// Sends what `registry` (any [`Collector`]) holds instead of the default registry: a
    /// `&'static Registry`, an `Arc<Registry>`, any collector that lives on
    /// its own.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use promdecl_runtime::{remote_write::RemoteWrite, Registry};
    /// let registry = Arc::new(Registry::new());
    /// let writer = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").registry(registry).build().unwrap();
    /// # let _ = writer;
    /// ```
    pub fn registry(mut self, registry: impl Collector + 'static) -> Self {
        self.collector = Some(Arc::new(registry));
        self
    }

    /// Sends what `collector` holds instead of the default registry.
    ///
    /// ```
    /// # #![allow(deprecated)]
    /// use std::sync::Arc;
    /// use promdecl_runtime::{remote_write::RemoteWrite, Registry};
    /// let builder = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").registry(Arc::new(Registry::new()));
    /// # let _ = builder;
    /// ```
    #[deprecated(note = "renamed to `registry`, the name every way out uses for the source of metrics")]
    pub fn collector(self, collector: impl Collector + 'static) -> Self {
        self.registry(collector)
    }

    /// Adds the label `name="value"` to every series that has no label of
    /// that name (Prometheus' `external_labels`). A later value for the
    /// same name replaces the earlier one; an empty value removes it.
    ///
    /// ```
    /// use promdecl_runtime::remote_write::{RemoteWrite, RemoteWriteError};
    /// let builder = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write");
    /// assert!(builder.external_label("region", "eu-west-1").build().is_ok());
    /// let builder = RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write");
    /// let err = builder.external_label("__name__", "x").build().unwrap_err();
    /// assert!(matches!(err, RemoteWriteError::InvalidLabel { .. }));
    /// ```
    pub fn external_label(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.external.retain(|(n, _)| *n != name);
        self.external.push((name, value.into()));
        self
    }

    /// The `job` label: `external_label("job", job)`.
    ///
    /// ```
    /// let b = promdecl_runtime::remote_write::RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write").job("etl");
    /// # let _ = b;
    /// ```
    pub fn job(self, job: impl Into<String>) -> Self {
        self.external_label("job", job)
    }

    /// The `instance` label: `external_label("instance", instance)`.
    ///
    /// ```
    /// let b = promdecl_runtime::remote_write::RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write")
    ///     .instance("host-1:9100");
    /// # let _ = b;
    /// ```
    pub fn instance(self, instance: impl Into<String>) -> Self {
        self.external_label("instance", instance)
    }

    /// HTTP basic authentication. Use it over HTTPS: the password is only
    /// base64-encoded.
    ///
    /// ```
    /// use promdecl_runtime::remote_write::RemoteWrite;
    /// let b = RemoteWrite::builder("https://mimir.example.com/api/v1/push").basic_auth("tenant", "s3cret");
    /// # let _ = b;
    /// ```
    pub fn basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.basic_auth = Some((user.into(), password.into()));
        self.bearer_token = None;
        self
    }

    /// A bearer token (`Authorization: Bearer ...`), in place of basic auth.
    ///
    /// ```
    /// use promdecl_runtime::remote_write::RemoteWrite;
    /// let b = RemoteWrite::builder("https://metrics.example.com/api/v1/write").bearer_token("t0k3n");
    /// # let _ = b;
    /// ```
    pub fn bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(token.into());
        self.basic_auth = None;
        self
    }

    /// Trusts the CA certificates in this PEM file for HTTPS, instead of
    /// the Mozilla roots.
    ///
    /// ```
    /// use promdecl_runtime::remote_write::{RemoteWrite, RemoteWriteError};
    /// let err = RemoteWrite::builder("https://mimir/api/v1/push").ca_file("/nonexistent.pem").build().unwrap_err();
    /// assert!(matches!(err, RemoteWriteError::TlsFile { .. }));
    /// ```
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Presents this client certificate (PEM, leaf first) and private key
    /// (PEM) to receivers that ask for one (mutual TLS).
    ///
    /// ```
    /// use promdecl_runtime::remote_write::RemoteWrite;
    /// let err = RemoteWrite::builder("https://mimir/api/v1/push")
    ///     .client_cert("/nonexistent/client.pem", "/nonexistent/client.key")
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("client.pem"));
    /// ```
    pub fn client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some((cert.into(), key.into()));
        self
    }

    /// The most one request may take: connecting, TLS, sending and the
    /// answer (default 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = promdecl_runtime::remote_write::RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write")
    ///     .timeout(Duration::from_secs(3));
    /// # let _ = b;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long [`RemoteWrite::send`], [`RunningRemoteWrite::flush`] and the
    /// last flush of a stopping thread keep retrying (default 30 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = promdecl_runtime::remote_write::RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write")
    ///     .retry_for(Duration::from_secs(5));
    /// # let _ = b;
    /// ```
    pub fn retry_for(mut self, duration: Duration) -> Self {
        self.retry_for = duration;
        self
    }

    /// The first wait before a retry, doubled after each failure up to
    /// `max` (default 30 ms and 5 s, as Prometheus).
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = promdecl_runtime::remote_write::RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write")
    ///     .backoff(Duration::from_millis(100), Duration::from_secs(10));
    /// # let _ = b;
    /// ```
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.min_backoff = min;
        self.max_backoff = max.max(min);
        self
    }

    /// How many collected rounds may wait for the receiver in the
    /// background thread's queue (default 100, at least 1); beyond that the
    /// oldest is dropped.
    ///
    /// ```
    /// let b = promdecl_runtime::remote_write::RemoteWrite::builder("http://127.0.0.1:9090/api/v1/write")
    ///     .max_pending(20);
    /// # let _ = b;
    /// ```
    pub fn max_pending(mut self, rounds: usize) -> Self {
        self.max_pending = rounds.max(1);
        self
    }

    /// Checks the URL and labels, reads the TLS files and makes the client.
    ///
    /// ```
    /// use promdecl_runtime::remote_write::{RemoteWrite, RemoteWriteError};
    /// let err = RemoteWrite::builder("http://").build().unwrap_err();
    /// assert!(matches!(err, RemoteWriteError::InvalidUrl { .. }));
    /// ```
    pub fn build(self) -> Result<RemoteWrite, RemoteWriteError> {
        let url = check_url(&self.url)?;
        let mut external = Vec::new();
        for (name, value) in self.external {
            check_label_name(&name)?;
            if !value.is_empty() {
                external.push((name, value));
            }
        }
        let tls = crate::push::tls::client_config(
            self.ca_file.as_deref(),
            self.client_cert.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
        )?;
        let agent = ureq::AgentBuilder::new()
            .timeout(self.timeout)
            .tls_config(tls)
            // A redirect is an answer to report, not to follow with the
            // credentials.
            .redirects(0)
            .user_agent(concat!("promdecl/", env!("CARGO_PKG_VERSION")))
            .build();
        let authorization = match (self.basic_auth, self.bearer_token) {
            (Some((user, password)), _) => Some(format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))),
            (None, Some(token)) => Some(format!("Bearer {token}")),
            (None, None) => None,
        };
        Ok(RemoteWrite {
            url,
            agent,
            timeout: self.timeout,
            authorization,
            collector: self.collector.unwrap_or_else(|| Arc::new(crate::default_registry())),
            external,
            retry_for: self.retry_for,
            min_backoff: self.min_backoff,
            max_backoff: self.max_backoff,
            max_pending: self.max_pending,
            last_ms: AtomicI64::new(0),
        })
    }
}

fn check_url(given: &str) -> Result<String, RemoteWriteError> {
    let invalid = |reason: &str| RemoteWriteError::InvalidUrl { url: given.to_owned(), reason: reason.to_owned() };
    let url = url::Url::parse(given).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    Ok(url.as_str().to_owned())
}

fn check_label_name(name: &str) -> Result<(), RemoteWriteError> {
    let invalid = |reason: &str| RemoteWriteError::InvalidLabel { name: name.to_owned(), reason: reason.to_owned() };
    if name.starts_with("__") {
        return Err(invalid("names starting with '__' are reserved for Prometheus' internal use"));
    }
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(invalid("label names are letters, digits and '_', not starting with a digit"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_labels_are_checked() {
        assert_eq!(check_url("http://p:9090/api/v1/write").unwrap(), "http://p:9090/api/v1/write");
        for bad in ["", "p:9090", "ftp://p/x", "http://"] {
            assert!(matches!(check_url(bad), Err(RemoteWriteError::InvalidUrl { .. })), "{bad}");
        }
        assert!(check_label_name("job").is_ok());
        for bad in ["", "1a", "a-b", "__x"] {
            assert!(check_label_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn authorization_headers() {
        let b = RemoteWrite::builder("http://p/w");
        let w = b.basic_auth("Aladdin", "open sesame").build().unwrap();
        assert_eq!(w.authorization.as_deref(), Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="));
        let w = RemoteWrite::builder("http://p/w").bearer_token("t").build().unwrap();
        assert_eq!(w.authorization.as_deref(), Some("Bearer t"));
    }

    #[test]
    fn backoff_is_capped_and_honours_retry_after() {
        let w = RemoteWrite::builder("http://p/w")
            .backoff(Duration::from_millis(10), Duration::from_millis(100))
            .build()
            .unwrap();
        assert_eq!(w.wait(Duration::from_millis(10), None), Duration::from_millis(10));
        assert_eq!(w.wait(Duration::from_millis(10), Some(Duration::from_millis(50))), Duration::from_millis(50));
        assert_eq!(w.wait(Duration::from_millis(400), None), Duration::from_millis(100));
        assert_eq!(w.wait(Duration::from_millis(10), Some(Duration::from_secs(60))), Duration::from_millis(100));
    }

    /// Rounds collected within one millisecond still get distinct,
    /// increasing timestamps: a receiver refuses a second sample of a
    /// series at the same timestamp with another value.
    #[test]
    fn rounds_get_strictly_increasing_timestamps() {
        use prost::Message as _;
        let registry = crate::Registry::new();
        crate::Gauge::builder("g", "G.").register(&registry).unwrap().set(1.0);
        let w = RemoteWrite::builder("http://p/w").registry(registry).build().unwrap();
        let stamps: Vec<i64> = (0..50)
            .map(|_| {
                let batch = w.collect().unwrap();
                let raw = snap::raw::Decoder::new().decompress_vec(&batch.body).unwrap();
                proto::WriteRequest::decode(raw.as_slice()).unwrap().timeseries[0].samples[0].timestamp
            })
            .collect();
        assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
    }
}
