//! A bridge to Graphite: the Python client's `GraphiteBridge`.
//!
//! Every sample becomes one line of carbon's plaintext protocol,
//! `path value timestamp`, sent over TCP (carbon's line receiver, port 2003
//! by default), once with [`GraphiteBridge::push`] or periodically from a
//! background thread with [`GraphiteBridge::start`].
//!
//! Labels are folded into the path as the Python bridge folds them, sorted
//! by name: `requests_total{method="GET",code="200"}` becomes
//! `requests_total.code.200.method.GET`; every character outside
//! `[a-zA-Z0-9_-]` of a name or value becomes `_`. In tags mode
//! ([`GraphiteBridge::tags`]) they become Graphite tags instead:
//! `requests_total;code=200;method=GET`. As in the Python bridge, every
//! sample a scrape would show in OpenMetrics is sent, counters' `_created`
//! included (see [`set_created_series`](crate::set_created_series) to turn
//! those off).
//!
//! ```
//! use promdecl_runtime::{graphite::GraphiteBridge, Counter, Registry};
//!
//! let registry = Registry::new();
//! let requests = Counter::builder("requests", "Requests.").labels(["method"]).register(&registry).unwrap();
//! requests.with_label_values(&["GET"]).unwrap().inc();
//!
//! let bridge = GraphiteBridge::new("127.0.0.1:2003").registry(&*Box::leak(Box::new(registry))).prefix("web1");
//! assert!(bridge.render(1700000000).starts_with("web1.requests_total.method.GET 1.0 1700000000\n"));
//! let bridge = bridge.tags(true);
//! assert!(bridge.render(1700000000).starts_with("web1.requests_total;method=GET 1.0 1700000000\n"));
//! ```

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::encode::{write_float, CollectError, Descriptor, EncodeLabels, Extra, LabelSink, MetricEncoder, Sample};
use crate::Collector;

/// The timeout when none is set: the Python bridge's.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Pushes a collector's samples to carbon; see the [module docs](self).
#[derive(Clone)]
pub struct GraphiteBridge {
    addr: String,
    collector: Arc<dyn Collector>,
    prefix: Option<String>,
    tags: bool,
    timeout: Duration,
}

impl std::fmt::Debug for GraphiteBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphiteBridge")
            .field("addr", &self.addr)
            .field("prefix", &self.prefix)
            .field("tags", &self.tags)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl GraphiteBridge {
    /// A bridge to carbon's line receiver at `addr` (`host:port`, resolved
    /// on each push) for the [default registry](crate::default_registry):
    /// plain paths, no prefix, a 30 s timeout.
    ///
    /// ```
    /// let bridge = promdecl_runtime::graphite::GraphiteBridge::new("graphite.example.com:2003");
    /// assert_eq!(bridge.addr(), "graphite.example.com:2003");
    /// ```
    pub fn new(addr: impl Into<String>) -> Self {
        GraphiteBridge {
            addr: addr.into(),
            collector: Arc::new(crate::default_registry()),
            prefix: None,
            tags: false,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Pushes what `registry` (any [`Collector`]) holds instead of the default registry: a
    /// `&'static Registry`, an `Arc<Registry>`, any collector that lives on
    /// its own.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use promdecl_runtime::{graphite::GraphiteBridge, Gauge, Registry};
    /// let registry = Arc::new(Registry::new());
    /// Gauge::builder("queue_depth", "Depth.").register(&*registry).unwrap().set(3.0);
    /// let bridge = GraphiteBridge::new("127.0.0.1:2003").registry(Arc::clone(&registry));
    /// assert_eq!(bridge.render(10), "queue_depth 3.0 10\n");
    /// ```
    pub fn registry(mut self, registry: impl Collector + 'static) -> Self {
        self.collector = Arc::new(registry);
        self
    }

    /// Pushes what `collector` holds instead of the default registry.
    ///
    /// ```
    /// # #![allow(deprecated)]
    /// use std::sync::Arc;
    /// use promdecl_runtime::{graphite::GraphiteBridge, Registry};
    /// let bridge = GraphiteBridge::new("127.0.0.1:2003").registry(Arc::new(Registry::new()));
    /// assert_eq!(bridge.render(10), "");
    /// ```
    #[deprecated(note = "renamed to `registry`, the name every way out uses for the source of metrics")]
    pub fn collector(self, collector: impl Collector + 'static) -> Self {
        self.registry(collector)
    }

    /// Puts `prefix` and a dot before every path (the Python bridge's
    /// `prefix=` argument). It is used as given, dots included, so it may
    /// hold several path levels; it must not hold spaces, control
    /// characters or `;`.
    ///
    /// ```
    /// use promdecl_runtime::{graphite::GraphiteBridge, Gauge, Registry};
    /// let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    /// Gauge::builder("up", "Up.").register(registry).unwrap().set(1.0);
    /// let bridge = GraphiteBridge::new("127.0.0.1:2003").registry(registry).prefix("dc1.web");
    /// assert_eq!(bridge.render(5), "dc1.web.up 1.0 5\n");
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into();
        self.prefix = (!prefix.is_empty()).then_some(prefix);
        self
    }

    /// Sends labels as Graphite tags (`name;label=value`) instead of
    /// folding them into the path (the Python bridge's `tags=True`).
    ///
    /// ```
    /// use promdecl_runtime::{graphite::GraphiteBridge, Counter, Registry};
    /// let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    /// let c = Counter::builder("jobs", "Jobs.").labels(["queue"]).register(registry).unwrap();
    /// c.with_label_values(&["mail/out"]).unwrap().inc();
    /// let bridge = GraphiteBridge::new("127.0.0.1:2003").registry(registry).tags(true);
    /// assert!(bridge.render(5).starts_with("jobs_total;queue=mail_out 1.0 5\n"));
    /// ```
    pub fn tags(mut self, tags: bool) -> Self {
        self.tags = tags;
        self
    }

    /// The most connecting or sending may take (default 30 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// let bridge = promdecl_runtime::graphite::GraphiteBridge::new("127.0.0.1:2003").timeout(Duration::from_secs(2));
    /// # let _ = bridge;
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The carbon address, as given.
    ///
    /// ```
    /// assert_eq!(promdecl_runtime::graphite::GraphiteBridge::new("c:2003").addr(), "c:2003");
    /// ```
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The lines a push at `timestamp` (seconds since the Unix epoch) would
    /// send. Samples with a timestamp of their own keep it (in whole
    /// seconds, as carbon stores them); series whose label value is empty
    /// leave that label out, since Prometheus treats an empty label as an
    /// absent one.
    ///
    /// ```
    /// use promdecl_runtime::{graphite::GraphiteBridge, Histogram, Registry};
    /// let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    /// let h = Histogram::builder("latency_seconds", "Latency.").buckets([0.5]).register(registry).unwrap();
    /// h.observe(0.25);
    /// let lines = GraphiteBridge::new("127.0.0.1:2003").registry(registry).render(7);
    /// assert!(lines.contains("latency_seconds_bucket.le.0_5 1.0 7\n"));
    /// assert!(lines.contains("latency_seconds_bucket.le._Inf 1.0 7\n"));
    /// assert!(lines.contains("latency_seconds_sum 0.25 7\n"));
    /// ```
    pub fn render(&self, timestamp: u64) -> String {
        self.lines(timestamp).0
    }

    /// The lines for `timestamp`, and the first failure a collector
    /// reported.
    fn lines(&self, timestamp: u64) -> (String, Option<CollectError>) {
        let mut lines = Lines {
            out: Vec::new(),
            prefix: self.prefix.as_deref(),
            tags: self.tags,
            now: timestamp,
            family: String::new(),
            labels: Vec::new(),
            failure: None,
        };
        self.collector.collect(&mut lines);
        let text = String::from_utf8(lines.out).expect("sanitized names and formatted numbers are ASCII");
        (text, lines.failure)
    }

    /// Sends every sample once, stamped with the current time.
    ///
    /// ```no_run
    /// use promdecl_runtime::graphite::GraphiteBridge;
    /// GraphiteBridge::new("127.0.0.1:2003").prefix("batch").push()?;
    /// # Ok::<(), promdecl_runtime::graphite::GraphiteError>(())
    /// ```
    pub fn push(&self) -> Result<(), GraphiteError> {
        self.check_prefix()?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let (body, failure) = self.lines(now);
        if let Some(error) = failure {
            return Err(GraphiteError::Collect(error));
        }
        let mut stream = self.connect()?;
        let sent = stream.write_all(body.as_bytes()).and_then(|()| stream.flush());
        sent.map_err(|source| GraphiteError::Send { addr: self.addr.clone(), source })?;
        // Carbon reads until the connection closes; a failed shutdown after
        // a complete write loses nothing.
        let _ = stream.shutdown(Shutdown::Write);
        Ok(())
    }

    /// Pushes now and then every `interval` from a background thread, until
    /// the returned [`RunningBridge`] is stopped or dropped (the Python
    /// bridge's `start`). A failed push is counted and kept as
    /// [`RunningBridge::last_error`], and the next push is tried on time; a
    /// push that falls behind skips the pushes it missed.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use promdecl_runtime::graphite::GraphiteBridge;
    /// let running = GraphiteBridge::new("127.0.0.1:2003").start(Duration::from_secs(60))?;
    /// // ... the program runs ...
    /// running.stop();
    /// # Ok::<(), promdecl_runtime::graphite::GraphiteError>(())
    /// ```
    pub fn start(self, interval: Duration) -> Result<RunningBridge, GraphiteError> {
        if interval.is_zero() {
            return Err(GraphiteError::InvalidInterval);
        }
        self.check_prefix()?;
        let status = Arc::new(Status::default());
        let (stop, stopped) = mpsc::channel::<()>();
        let thread_status = Arc::clone(&status);
        let thread = std::thread::Builder::new()
            .name("promdecl-graphite".into())
            .spawn(move || run(self, interval, stopped, thread_status))
            .map_err(GraphiteError::Spawn)?;
        Ok(RunningBridge { stop: Some(stop), thread: Some(thread), status })
    }

    fn check_prefix(&self) -> Result<(), GraphiteError> {
        let Some(prefix) = &self.prefix else { return Ok(()) };
        if prefix.chars().any(|c| c.is_whitespace() || c.is_control() || c == ';') {
            return Err(GraphiteError::InvalidPrefix { prefix: prefix.clone() });
        }
        Ok(())
    }

    fn connect(&self) -> Result<TcpStream, GraphiteError> {
        let addrs: Vec<SocketAddr> = self
            .addr
            .to_socket_addrs()
            .map_err(|source| GraphiteError::Resolve { addr: self.addr.clone(), source })?
            .collect();
        let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(stream) => {
                    stream
                        .set_write_timeout(Some(self.timeout))
                        .map_err(|source| GraphiteError::Connect { addr: self.addr.clone(), source })?;
                    return Ok(stream);
                }
                Err(e) => last = e,
            }
        }
        Err(GraphiteError::Connect { addr: self.addr.clone(), source: last })
    }
}

fn run(bridge: GraphiteBridge, interval: Duration, stopped: mpsc::Receiver<()>, status: Arc<Status>) {
    let mut next = Instant::now();
    loop {
        let wait = next.saturating_duration_since(Instant::now());
        match stopped.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = Instant::now();
        while next <= now {
            next += interval;
        }
        // A panicking collector (user code) must not end the pushes: the
        // panic counts as a failed push, and the next push is tried on time.
        let pushed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| bridge.push())).unwrap_or_else(|panic| {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".to_owned());
            tracing::error!(panic = %message, "promdecl: a collector panicked during a Graphite push; pushing again next interval");
            Err(GraphiteError::Collect(crate::encode::CollectError::new(format!("a collector panicked: {message}"))))
        });
        match pushed {
            Ok(()) => {
                status.successes.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                status.failures.fetch_add(1, Ordering::Relaxed);
                *status.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(e));
            }
        }
    }
}

#[derive(Default)]
struct Status {
    successes: AtomicU64,
    failures: AtomicU64,
    last_error: Mutex<Option<Arc<GraphiteError>>>,
}

/// A bridge pushing from its background thread; see
/// [`GraphiteBridge::start`]. Dropping it stops the thread too.
#[must_use = "dropping a RunningBridge stops it"]
pub struct RunningBridge {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    status: Arc<Status>,
}

impl std::fmt::Debug for RunningBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningBridge")
            .field("successes", &self.successes())
            .field("failures", &self.failures())
            .finish_non_exhaustive()
    }
}

impl RunningBridge {
    /// How many pushes succeeded so far.
    ///
    /// ```no_run
    /// # use promdecl_runtime::graphite::GraphiteBridge;
    /// let running = GraphiteBridge::new("127.0.0.1:2003").start(std::time::Duration::from_secs(10))?;
    /// println!("{} pushes", running.successes());
    /// # Ok::<(), promdecl_runtime::graphite::GraphiteError>(())
    /// ```
    pub fn successes(&self) -> u64 {
        self.status.successes.load(Ordering::Relaxed)
    }

    /// How many pushes failed so far.
    ///
    /// ```no_run
    /// # use promdecl_runtime::graphite::GraphiteBridge;
    /// let running = GraphiteBridge::new("127.0.0.1:2003").start(std::time::Duration::from_secs(10))?;
    /// println!("{} failed pushes", running.failures());
    /// # Ok::<(), promdecl_runtime::graphite::GraphiteError>(())
    /// ```
    pub fn failures(&self) -> u64 {
        self.status.failures.load(Ordering::Relaxed)
    }

    /// Why the latest failed push failed (kept after later successes).
    ///
    /// ```no_run
    /// # use promdecl_runtime::graphite::GraphiteBridge;
    /// let running = GraphiteBridge::new("127.0.0.1:2003").start(std::time::Duration::from_secs(10))?;
    /// if let Some(e) = running.last_error() {
    ///     eprintln!("graphite: {e}");
    /// }
    /// # Ok::<(), promdecl_runtime::graphite::GraphiteError>(())
    /// ```
    pub fn last_error(&self) -> Option<Arc<GraphiteError>> {
        self.status.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops the thread and waits for it: at once between pushes, or once
    /// the push under way is done (at most the timeout).
    ///
    /// ```no_run
    /// # use promdecl_runtime::graphite::GraphiteBridge;
    /// let running = GraphiteBridge::new("127.0.0.1:2003").start(std::time::Duration::from_secs(10))?;
    /// running.stop();
    /// # Ok::<(), promdecl_runtime::graphite::GraphiteError>(())
    /// ```
    pub fn stop(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningBridge {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// What a push to carbon can fail with.
///
/// ```
/// use promdecl_runtime::graphite::{GraphiteBridge, GraphiteError};
/// let err = GraphiteBridge::new("127.0.0.1:2003").prefix("has space").push().unwrap_err();
/// assert!(matches!(err, GraphiteError::InvalidPrefix { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphiteError {
    /// The address did not resolve.
    #[error("cannot resolve the carbon address {addr:?}: {source} (give it as host:port)")]
    Resolve {
        /// The address.
        addr: String,
        /// The resolver's error.
        #[source]
        source: io::Error,
    },
    /// No connection could be made.
    #[error(
        "cannot connect to carbon at {addr}: {source} (is carbon-cache running, and is this its line receiver port?)"
    )]
    Connect {
        /// The address.
        addr: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A collector could not give a complete answer, so nothing was sent:
    /// a partial batch would read as values dropping to nothing.
    #[error("nothing sent to carbon: {0}")]
    Collect(CollectError),
    /// The connection broke or stalled while sending.
    #[error("sending to carbon at {addr} failed: {source}")]
    Send {
        /// The address.
        addr: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The prefix would break the line format.
    #[error("invalid Graphite prefix {prefix:?}: it must not contain spaces, control characters or ';'")]
    InvalidPrefix {
        /// The prefix.
        prefix: String,
    },
    /// [`GraphiteBridge::start`] was given a zero interval.
    #[error("the push interval must be longer than zero")]
    InvalidInterval,
    /// The background thread could not be started.
    #[error("cannot start the Graphite bridge thread: {0}")]
    Spawn(#[source] io::Error),
}

/// Appends `s` with every character outside `[a-zA-Z0-9_-]` replaced by `_`,
/// as the Python bridge's `_sanitize` does.
fn push_sanitized(out: &mut Vec<u8>, s: &str) {
    out.extend(s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c as u8 } else { b'_' }));
}

/// The encoder that writes carbon lines.
struct Lines<'a> {
    out: Vec<u8>,
    prefix: Option<&'a str>,
    tags: bool,
    now: u64,
    family: String,
    /// The current series' labels (unsanitized), sorted when a sample is
    /// written.
    labels: Vec<(String, String)>,
    failure: Option<CollectError>,
}

struct Collect<'a>(&'a mut Vec<(String, String)>);

impl LabelSink for Collect<'_> {
    fn label(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.0.push((name.to_owned(), value.to_owned()));
        }
    }
}

impl MetricEncoder for Lines<'_> {
    fn fail(&mut self, error: CollectError) {
        crate::encode::keep_first(&mut self.failure, error);
    }

    fn family(&mut self, desc: &Descriptor<'_>) {
        self.family.clear();
        self.family.push_str(desc.name);
    }

    fn series(&mut self, labels: &dyn EncodeLabels) {
        self.labels.clear();
        labels.encode(&mut Collect(&mut self.labels));
    }

    fn sample(&mut self, sample: &Sample<'_>) {
        let mut labels: Vec<(&str, &str)> = self.labels.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        match sample.extra {
            Some(Extra::Le(v)) => labels.push(("le", v)),
            Some(Extra::Quantile(v)) => labels.push(("quantile", v)),
            Some(Extra::Label(n, v)) if !v.is_empty() => labels.push((n, v)),
            _ => {}
        }
        labels.sort_unstable();
        let out = &mut self.out;
        if let Some(prefix) = self.prefix {
            out.extend_from_slice(prefix.as_bytes());
            out.push(b'.');
        }
        push_sanitized(out, &self.family);
        push_sanitized(out, sample.suffix);
        let (sep, eq) = if self.tags { (b';', b'=') } else { (b'.', b'.') };
        for (name, value) in labels {
            out.push(sep);
            push_sanitized(out, name);
            out.push(eq);
            push_sanitized(out, value);
        }
        out.push(b' ');
        write_float(out, sample.value.as_f64());
        out.push(b' ');
        let ts = sample.timestamp.filter(|t| t.is_finite() && *t >= 0.0).map_or(self.now, |t| t as u64);
        out.extend_from_slice(itoa::Buffer::new().format(ts).as_bytes());
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Counter, GaugeFamily, Registry, Summary};

    fn leak(registry: Registry) -> &'static Registry {
        Box::leak(Box::new(registry))
    }

    #[test]
    fn plain_mode_sorts_and_sanitizes_labels() {
        let registry = leak(Registry::new());
        let c = Counter::builder("http:requests", "R.").labels(["path", "code"]).register(registry).unwrap();
        c.with_label_values(&["/a b.c", "200"]).unwrap().inc_by(2.5).unwrap();
        let bridge = GraphiteBridge::new("x:1").registry(registry);
        let plain = bridge.render(100);
        let tagged = bridge.clone().tags(true).render(100);
        let (plain, plain_created) = plain.split_once('\n').unwrap();
        let (tagged, tagged_created) = tagged.split_once('\n').unwrap();
        assert_eq!(plain, "http_requests_total.code.200.path._a_b_c 2.5 100");
        assert_eq!(tagged, "http_requests_total;code=200;path=_a_b_c 2.5 100");
        // `_created`, as the Python bridge sends it.
        assert!(plain_created.starts_with("http_requests_created.code.200.path._a_b_c "), "{plain_created}");
        assert!(tagged_created.starts_with("http_requests_created;code=200;path=_a_b_c "), "{tagged_created}");
    }

    #[test]
    fn quantiles_and_custom_timestamps() {
        let registry = leak(Registry::new());
        Summary::builder("s", "S.").register(registry).unwrap().observe(2.0);
        struct Stamped;
        impl Collector for Stamped {
            fn collect(&self, enc: &mut dyn MetricEncoder) {
                let mut f = GaugeFamily::new("temp", "T.", &["room", "unset"]);
                f.add_metric(&["k\u{fc}che", ""], 21.5, Some(1234.9));
                f.encode(enc);
            }
        }
        registry.register(Stamped).unwrap();
        let lines = GraphiteBridge::new("x:1").registry(registry).render(99);
        assert!(lines.contains("s_count 1.0 99\ns_sum 2.0 99\n"), "{lines}");
        // The empty label is left out; the sample keeps its own timestamp.
        assert!(lines.contains("temp.room.k_che 21.5 1234\n"), "{lines}");
    }

    #[test]
    fn zero_interval_is_refused() {
        assert!(matches!(GraphiteBridge::new("x:1").start(Duration::ZERO), Err(GraphiteError::InvalidInterval)));
    }
}
