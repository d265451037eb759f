//! Remote write (feature `remote-write`) against a scripted receiver on
//! loopback: what goes on the wire, retries and their order, the bounded
//! queue, refusals, failing and panicking collectors, TLS. The real
//! Prometheus is in `remote_write_prometheus.rs`.
#![cfg(feature = "remote-write")]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use promdecl::encode::{CollectError, MetricEncoder};
use promdecl::remote_write::proto::WriteRequest;
use promdecl::remote_write::{RemoteWrite, RemoteWriteError};
use promdecl::{Collector, Counter, Gauge, GaugeFamily, Registry};

use receiver::Receiver;

/// A remote-write receiver that answers as it is told and keeps what it
/// was sent.
mod receiver {
    use std::collections::VecDeque;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    use std::thread::JoinHandle;
    use std::time::{Duration, Instant};

    use promdecl::remote_write::proto::{Message, WriteRequest};

    /// One request as it arrived, and the status it was answered with.
    #[derive(Debug, Clone)]
    pub struct Received {
        pub status: u16,
        pub headers: Vec<(String, String)>,
        pub request: WriteRequest,
    }

    impl Received {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        }

        /// The timestamp of the request's samples (one collection round).
        pub fn timestamp(&self) -> i64 {
            self.request.timeseries[0].samples[0].timestamp
        }
    }

    #[derive(Default)]
    struct State {
        received: Mutex<Vec<Received>>,
        script: Mutex<VecDeque<(u16, String)>>,
        default: Mutex<Option<(u16, String)>>,
        hang: AtomicBool,
        stop: AtomicBool,
    }

    pub struct Receiver {
        pub url: String,
        state: Arc<State>,
        addr: std::net::SocketAddr,
        thread: Option<JoinHandle<()>>,
    }

    impl Receiver {
        pub fn start() -> Receiver {
            Receiver::launch(None)
        }

        pub fn start_tls(config: Arc<rustls::ServerConfig>) -> Receiver {
            Receiver::launch(Some(config))
        }

        fn launch(tls: Option<Arc<rustls::ServerConfig>>) -> Receiver {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let state = Arc::new(State::default());
            let thread_state = Arc::clone(&state);
            let thread = std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if thread_state.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    match &tls {
                        None => serve(stream, &thread_state),
                        Some(config) => {
                            let Ok(conn) = rustls::ServerConnection::new(Arc::clone(config)) else { continue };
                            serve(rustls::StreamOwned::new(conn, stream), &thread_state);
                        }
                    }
                }
            });
            Receiver { url: format!("http://{addr}/api/v1/write"), state, addr, thread: Some(thread) }
        }

        pub fn https_url(&self) -> String {
            format!("https://localhost:{}/api/v1/write", self.addr.port())
        }

        /// The next answers, in order; after them, the default (204).
        pub fn script(&self, answers: &[(u16, &str)]) {
            self.state.script.lock().unwrap().extend(answers.iter().map(|(s, b)| (*s, (*b).to_owned())));
        }

        /// The answer once the script is used up.
        pub fn answer_by_default(&self, status: u16, body: &str) {
            *self.state.default.lock().unwrap() = Some((status, body.to_owned()));
        }

        /// Accepts connections and reads requests, but never answers.
        pub fn hang(&self, hang: bool) {
            self.state.hang.store(hang, Ordering::SeqCst);
        }

        pub fn received(&self) -> Vec<Received> {
            self.state.received.lock().unwrap().clone()
        }

        /// The requests, once `until` holds for them; panics after 20 s.
        pub fn wait(&self, what: &str, until: impl Fn(&[Received]) -> bool) -> Vec<Received> {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let received = self.received();
                if until(&received) {
                    return received;
                }
                assert!(Instant::now() < deadline, "the receiver never saw {what}: {received:#?}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    impl Drop for Receiver {
        fn drop(&mut self) {
            self.state.stop.store(true, Ordering::SeqCst);
            let _ = TcpStream::connect(self.addr);
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }

    fn serve(mut stream: impl Read + Write, state: &State) {
        let mut reader = BufReader::new(&mut stream);
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                let (name, value) = (name.trim().to_owned(), value.trim().to_owned());
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().unwrap();
                }
                headers.push((name, value));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        while state.hang.load(Ordering::SeqCst) && !state.stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let (status, message) = state
            .script
            .lock()
            .unwrap()
            .pop_front()
            .or_else(|| state.default.lock().unwrap().clone())
            .unwrap_or((204, String::new()));
        let raw = snap::raw::Decoder::new().decompress_vec(&body).expect("a snappy block");
        let request = WriteRequest::decode(raw.as_slice()).expect("a WriteRequest");
        state.received.lock().unwrap().push(Received { status, headers, request });
        let answer = format!(
            "HTTP/1.1 {status} Scripted\r\nContent-Length: {}\r\nRetry-After: 0\r\nConnection: close\r\n\r\n{message}",
            message.len()
        );
        let _ = stream.write_all(answer.as_bytes());
        let _ = stream.flush();
    }
}

/// The value and labels of the series named `name`, from `request`.
fn series<'a>(request: &'a WriteRequest, name: &str) -> Vec<(Vec<(&'a str, &'a str)>, f64)> {
    request
        .timeseries
        .iter()
        .filter(|s| s.labels.iter().any(|l| l.name == "__name__" && l.value == name))
        .map(|s| {
            let labels = s.labels.iter().map(|l| (l.name.as_str(), l.value.as_str())).collect();
            (labels, s.samples[0].value)
        })
        .collect()
}

fn leak(registry: Registry) -> &'static Registry {
    Box::leak(Box::new(registry))
}

fn fast(url: &str, registry: &'static Registry) -> promdecl::remote_write::RemoteWriteBuilder {
    RemoteWrite::builder(url)
        .registry(registry)
        .timeout(Duration::from_secs(5))
        .backoff(Duration::from_millis(5), Duration::from_millis(20))
        .retry_for(Duration::from_secs(5))
}

/// One request: snappy-compressed protobuf with the remote-write headers,
/// series with sorted labels, external labels where the series has none
/// of that name, metadata, and no `_created` series.
#[test]
fn what_goes_on_the_wire() {
    let receiver = Receiver::start();
    let registry = leak(Registry::new());
    let jobs = Counter::builder("jobs", "Jobs run.").labels(["queue", "job"]).register(registry).unwrap();
    jobs.with_label_values(&["mail", ""]).unwrap().inc_by(3.0).unwrap();
    jobs.with_label_values(&["sms", "own"]).unwrap().inc();
    Gauge::builder("temp_celsius", "Temperature.").register(registry).unwrap().set(21.5);
    let before = common::now() * 1000.0;
    fast(&receiver.url, registry)
        .job("batch")
        .instance("host-1")
        .bearer_token("t0k3n")
        .build()
        .unwrap()
        .send()
        .unwrap();

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let r = &received[0];
    assert_eq!(r.header("Content-Encoding"), Some("snappy"));
    assert_eq!(r.header("Content-Type"), Some("application/x-protobuf"));
    assert_eq!(r.header("X-Prometheus-Remote-Write-Version"), Some("0.1.0"));
    assert_eq!(r.header("Authorization"), Some("Bearer t0k3n"));
    let mut jobs = series(&r.request, "jobs_total");
    jobs.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(
        jobs,
        [
            (vec![("__name__", "jobs_total"), ("instance", "host-1"), ("job", "own"), ("queue", "sms")], 1.0),
            (vec![("__name__", "jobs_total"), ("instance", "host-1"), ("job", "batch"), ("queue", "mail")], 3.0),
        ]
    );
    assert_eq!(
        series(&r.request, "temp_celsius"),
        [(vec![("__name__", "temp_celsius"), ("instance", "host-1"), ("job", "batch")], 21.5)]
    );
    assert!(series(&r.request, "jobs_created").is_empty());
    assert_eq!(r.request.timeseries.len(), 3);
    let ts = r.timestamp() as f64;
    assert!((before - 1000.0..=before + 60_000.0).contains(&ts), "timestamp {ts}, now {before}");
    assert!(r.request.timeseries.iter().all(|s| s.samples[0].timestamp == r.timestamp()));
    let meta: Vec<(&str, &str, i32)> =
        r.request.metadata.iter().map(|m| (m.metric_family_name.as_str(), m.help.as_str(), m.r#type)).collect();
    assert_eq!(meta, [("jobs_total", "Jobs run.", 1), ("temp_celsius", "Temperature.", 2)]);
}

/// 500, 429 and 503 are retried with the same request; then it is sent.
#[test]
fn retries_5xx_and_429_with_the_same_request() {
    let receiver = Receiver::start();
    receiver.script(&[(500, "boom"), (429, "slow down"), (503, "unavailable")]);
    let registry = leak(Registry::new());
    Gauge::builder("g", "G.").register(registry).unwrap().set(1.0);
    fast(&receiver.url, registry).build().unwrap().send().unwrap();
    let received = receiver.received();
    let statuses: Vec<u16> = received.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [500, 429, 503, 204]);
    assert!(received.iter().all(|r| r.request == received[0].request), "a retry sends the same samples");
}

/// Other 4xx answers are given up at once, with the status and the
/// receiver's message in the error.
#[test]
fn other_4xx_are_given_up_with_the_status() {
    let receiver = Receiver::start();
    receiver.script(&[(400, "out of order sample"), (401, "Unauthorized")]);
    let registry = leak(Registry::new());
    Gauge::builder("g", "G.").register(registry).unwrap().set(1.0);
    let writer = fast(&receiver.url, registry).build().unwrap();
    let err = writer.send().unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("answered 400") && err.to_string().contains("out of order sample"), "{err}");
    let err = writer.send().unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(err.to_string().contains("credentials"), "{err}");
    assert_eq!(receiver.received().len(), 2, "no retries");
}

/// `send` retries for `retry_for`, then returns the last failure.
#[test]
fn send_gives_up_after_retry_for() {
    let receiver = Receiver::start();
    receiver.answer_by_default(503, "down for maintenance");
    let registry = leak(Registry::new());
    Gauge::builder("g", "G.").register(registry).unwrap().set(1.0);
    let started = Instant::now();
    let err = fast(&receiver.url, registry).retry_for(Duration::from_millis(300)).build().unwrap().send().unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(receiver.received().len() >= 3, "{}", receiver.received().len());

    // Nothing listening: a connection error, retried too.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/api/v1/write");
    let err = fast(&url, registry).retry_for(Duration::from_millis(100)).build().unwrap().send().unwrap_err();
    assert!(matches!(err, RemoteWriteError::Connect { .. }), "{err}");
}

/// From the background thread, retries and later rounds go out oldest
/// first: the receiver never sees a sample older than one it saw before.
#[test]
fn background_retries_keep_timestamp_order() {
    let receiver = Receiver::start();
    receiver.script(&[(503, ""), (500, ""), (429, ""), (503, ""), (502, ""), (503, "")]);
    let registry = leak(Registry::new());
    let gauge = Gauge::builder("g", "G.").register(registry).unwrap();
    gauge.set_function(common::now);
    let running = fast(&receiver.url, registry)
        .backoff(Duration::from_millis(20), Duration::from_millis(40))
        .build()
        .unwrap()
        .start(Duration::from_millis(15))
        .unwrap();
    let received = receiver.wait("four accepted requests", |r| r.iter().filter(|r| r.status == 204).count() >= 4);
    running.stop();
    let timestamps: Vec<i64> = received.iter().map(|r| r.timestamp()).collect();
    assert!(timestamps.windows(2).all(|w| w[0] <= w[1]), "out of order: {timestamps:?}");
    let accepted: Vec<i64> = received.iter().filter(|r| r.status == 204).map(|r| r.timestamp()).collect();
    assert!(accepted.windows(2).all(|w| w[0] < w[1]), "a round sent twice: {accepted:?}");
    // The first round was retried until accepted.
    assert_eq!(accepted[0], timestamps[0]);
}

/// While the receiver is down, rounds queue up to `max_pending`; then the
/// oldest are dropped and counted, and the newest are sent once it is back.
#[test]
fn a_full_queue_drops_the_oldest_rounds_and_counts_them() {
    let receiver = Receiver::start();
    receiver.answer_by_default(503, "");
    let registry = leak(Registry::new());
    Gauge::builder("a", "A.").register(registry).unwrap().set(1.0);
    Gauge::builder("b", "B.").register(registry).unwrap().set(2.0);
    let running = fast(&receiver.url, registry)
        .backoff(Duration::from_millis(200), Duration::from_millis(200))
        .max_pending(3)
        .build()
        .unwrap()
        .start(Duration::from_millis(10))
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while running.dropped_requests() < 5 {
        assert!(Instant::now() < deadline, "nothing dropped: {running:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(running.queued() <= 3, "{running:?}");
    let rejected: Vec<i64> = receiver.received().iter().map(|r| r.timestamp()).collect();
    receiver.answer_by_default(204, "");
    running.flush();
    let dropped = running.dropped_requests();
    assert_eq!(running.dropped_samples(), 2 * dropped, "two samples a round");
    let accepted: Vec<i64> = receiver.received().iter().filter(|r| r.status == 204).map(|r| r.timestamp()).collect();
    assert!(accepted.len() >= 3, "{accepted:?}");
    assert!(accepted.windows(2).all(|w| w[0] < w[1]), "{accepted:?}");
    // The first round tried was among the oldest, so it was dropped.
    assert!(accepted[0] > rejected[0], "accepted {accepted:?}, first rejected {}", rejected[0]);
    running.stop();
}

/// A 4xx from the background thread drops that round (counted) and the
/// next rounds go on.
#[test]
fn background_gives_up_a_refused_round_and_goes_on() {
    let receiver = Receiver::start();
    receiver.script(&[(400, "bad request")]);
    let registry = leak(Registry::new());
    Gauge::builder("g", "G.").register(registry).unwrap().set(1.0);
    let running = fast(&receiver.url, registry).build().unwrap().start(Duration::from_millis(20)).unwrap();
    receiver.wait("an accepted request after the refusal", |r| r.iter().any(|r| r.status == 204));
    assert_eq!(running.refused_requests(), 1);
    assert_eq!(running.last_error().unwrap().status(), Some(400));
    assert_eq!(running.retries(), 0);
}

/// A collector that reports a failure or panics: that round sends
/// nothing (never a partial batch), it is counted, and the thread goes on.
#[test]
fn failing_and_panicking_collectors_skip_their_round() {
    struct Flaky {
        failing: Arc<AtomicBool>,
        panicking: Arc<AtomicBool>,
    }
    impl Collector for Flaky {
        fn collect(&self, enc: &mut dyn MetricEncoder) {
            let mut before = GaugeFamily::new("flaky_before", "B.", &[]);
            before.add_metric(&[], 1.0, None);
            before.encode(enc);
            if self.panicking.load(Ordering::SeqCst) {
                panic!("the spool directory vanished");
            }
            if self.failing.load(Ordering::SeqCst) {
                enc.fail(CollectError::new("cannot read /var/spool/jobs"));
                return;
            }
            let mut after = GaugeFamily::new("flaky_after", "A.", &[]);
            after.add_metric(&[], 2.0, None);
            after.encode(enc);
        }
    }
    let receiver = Receiver::start();
    let registry = leak(Registry::new());
    let failing = Arc::new(AtomicBool::new(false));
    let panicking = Arc::new(AtomicBool::new(false));
    registry.register(Flaky { failing: Arc::clone(&failing), panicking: Arc::clone(&panicking) }).unwrap();
    failing.store(true, Ordering::SeqCst);
    let running = fast(&receiver.url, registry).build().unwrap().start(Duration::from_millis(10)).unwrap();
    let wait_failures = |n: u64| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while running.failed_rounds() < n {
            assert!(Instant::now() < deadline, "{running:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    wait_failures(3);
    assert!(matches!(*running.last_error().unwrap(), RemoteWriteError::Collect(_)));
    failing.store(false, Ordering::SeqCst);
    receiver.wait("a complete round", |r| !r.is_empty());

    let failed = running.failed_rounds();
    panicking.store(true, Ordering::SeqCst);
    wait_failures(failed + 3);
    assert!(running.last_error().unwrap().to_string().contains("the spool directory vanished"));
    panicking.store(false, Ordering::SeqCst);
    let seen = receiver.received().len();
    receiver.wait("a round after the panics", |r| r.len() > seen);
    running.stop();
    for r in receiver.received() {
        assert_eq!(series(&r.request, "flaky_before").len(), 1);
        assert_eq!(series(&r.request, "flaky_after").len(), 1, "a partial round was sent: {:?}", r.request);
    }
}

/// With the receiver hanging, the thread is stuck in a request, yet
/// recording and scraping go on as usual.
#[test]
fn a_hanging_receiver_never_blocks_recording() {
    let receiver = Receiver::start();
    receiver.hang(true);
    let registry = leak(Registry::new());
    let counter = Counter::builder("work", "W.").register(registry).unwrap();
    let running = fast(&receiver.url, registry)
        .timeout(Duration::from_secs(3))
        .retry_for(Duration::from_millis(100))
        .build()
        .unwrap()
        .start(Duration::from_millis(10))
        .unwrap();
    receiver.wait("a request", |_| true);
    std::thread::sleep(Duration::from_millis(100));
    for _ in 0..100_000 {
        counter.inc();
    }
    assert_eq!(registry.get_sample_value("work_total", &[]), Some(100_000.0));
    assert_eq!(running.sent_requests(), 0, "the receiver never answered");
    receiver.hang(false);
    drop(running);
}

/// Dropping the handle collects a last round and sends it.
#[test]
fn dropping_the_handle_sends_a_last_round() {
    let receiver = Receiver::start();
    let registry = leak(Registry::new());
    let gauge = Gauge::builder("stage", "S.").register(registry).unwrap();
    gauge.set(1.0);
    let running = fast(&receiver.url, registry).build().unwrap().start(Duration::from_secs(3600)).unwrap();
    receiver.wait("the first round", |r| r.len() == 1);
    gauge.set(2.0);
    drop(running);
    let received = receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(series(&received[1].request, "stage")[0].1, 2.0);
}

/// HTTPS with the receiver's CA and a client certificate; without the CA
/// or without the certificate the handshake fails, and is not retried.
#[test]
fn tls_with_a_ca_file_and_a_client_certificate() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let pki = common::certs::Pki::new("remote_write_tls");
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(pki.path("ca.crt")).unwrap()).unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
        .build()
        .unwrap();
    let chain: Vec<_> =
        CertificateDer::pem_file_iter(pki.path("server.crt")).unwrap().collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(pki.path("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    let receiver = Receiver::start_tls(Arc::new(config));
    let registry = leak(Registry::new());
    Gauge::builder("secure", "S.").register(registry).unwrap().set(1.0);
    let url = receiver.https_url();

    fast(&url, registry)
        .ca_file(pki.path("ca.crt"))
        .client_cert(pki.path("client.crt"), pki.path("client.key"))
        .basic_auth("u", "p")
        .build()
        .unwrap()
        .send()
        .unwrap();
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].header("Authorization"), Some("Basic dTpw"));

    let started = Instant::now();
    let err = fast(&url, registry).build().unwrap().send().unwrap_err();
    assert!(matches!(err, RemoteWriteError::Tls { .. }), "unknown CA: {err}");
    let err = fast(&url, registry).ca_file(pki.path("ca.crt")).build().unwrap().send().unwrap_err();
    assert!(!err.is_retryable(), "no client certificate: {err}");
    assert!(started.elapsed() < Duration::from_secs(4), "TLS failures are not retried");
    assert_eq!(receiver.received().len(), 1);
}
