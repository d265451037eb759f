//! The `/metrics` HTTP server: formats and headers, methods, paths, the
//! `name[]` filter, malformed requests and shutdown. Loopback only.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

mod common;

use common::{call, http_agent};
use promdecl::encode::{encode_to_string, Format};
use promdecl::{serve_registry, Counter, Gauge, Registry, ServeError, Server};

const TEXT_004: &str = "text/plain; version=0.0.4; charset=utf-8";
const OM: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores";

fn start() -> (Server, &'static Registry, String) {
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    Counter::builder("x", "X.").register(registry).unwrap().inc();
    Gauge::builder("g", "G.").register(registry).unwrap().set(2.0);
    let server = serve_registry("127.0.0.1:0", registry).expect("server starts");
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback());
    (server, registry, format!("http://{addr}"))
}

#[test]
fn get_metrics_in_negotiated_format() {
    let (server, registry, base) = start();
    let agent = http_agent();

    let resp = call(agent.get(&format!("{base}/metrics")));
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("Content-Type"), Some(TEXT_004));
    assert_eq!(resp.into_string().unwrap(), encode_to_string(registry, Format::TEXT));

    let resp = call(agent.get(&format!("{base}/metrics")).set("Accept", "application/openmetrics-text; version=1.0.0"));
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("Content-Type"), Some(OM));
    let body = resp.into_string().unwrap();
    assert!(body.starts_with("# HELP x X.\n# TYPE x counter\nx_total 1\nx_created "), "{body}");
    assert!(body.ends_with("# HELP g G.\n# TYPE g gauge\ng 2.0\n# EOF\n"), "{body}");

    let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,\
                      text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let resp = call(agent.get(&format!("{base}/metrics")).set("Accept", prometheus));
    assert_eq!(resp.header("Content-Type"), Some(OM));

    let resp =
        call(agent.get(&format!("{base}/metrics")).set("Accept", "text/plain;version=1.0.0;escaping=allow-utf-8"));
    assert_eq!(resp.header("Content-Type"), Some("text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"));

    // A version that is not a number does not fail the scrape.
    let resp = call(agent.get(&format!("{base}/metrics")).set("Accept", "application/openmetrics-text; version=abc"));
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("Content-Type"), Some(TEXT_004));

    // The root path serves the same.
    let resp = call(agent.get(&format!("{base}/")));
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.into_string().unwrap(), encode_to_string(registry, Format::TEXT));
    server.shutdown();
}

#[test]
fn scrapes_see_current_values() {
    let (server, registry, base) = start();
    let agent = http_agent();
    let c = Counter::builder("live", "L.").register(registry).unwrap();
    for i in 1..=3 {
        c.inc();
        let body = call(agent.get(&format!("{base}/metrics"))).into_string().unwrap();
        assert!(body.contains(&format!("\nlive_total {i}\n")), "{body}");
    }
    server.shutdown();
}

#[test]
fn head_has_headers_and_no_body() {
    let (server, registry, base) = start();
    let resp = call(http_agent().head(&format!("{base}/metrics")));
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("Content-Type"), Some(TEXT_004));
    let len = encode_to_string(registry, Format::TEXT).len().to_string();
    assert_eq!(resp.header("Content-Length"), Some(len.as_str()));
    assert_eq!(resp.into_string().unwrap(), "");
    server.shutdown();
}

#[test]
fn other_methods_are_405_with_allow() {
    let (server, _, base) = start();
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let resp = call(http_agent().request(method, &format!("{base}/metrics")));
        assert_eq!(resp.status(), 405, "{method}");
        let allow = resp.header("Allow").unwrap_or_else(|| panic!("{method}: no Allow header"));
        let allowed: Vec<&str> = allow.split(',').map(str::trim).collect();
        assert!(allowed.contains(&"GET") && allowed.contains(&"HEAD"), "{method}: Allow: {allow}");
    }
    server.shutdown();
}

#[test]
fn other_paths_are_404() {
    let (server, _, base) = start();
    for path in ["/foo", "/metrics/x", "/metricsz", "/favicon.ico"] {
        let resp = call(http_agent().get(&format!("{base}{path}")));
        assert_eq!(resp.status(), 404, "{path}");
    }
    server.shutdown();
}

#[test]
fn name_filter() {
    let (server, _, base) = start();
    let agent = http_agent();
    let get = |query: &str| call(agent.get(&format!("{base}/metrics?{query}"))).into_string().unwrap();
    assert_eq!(get("name[]=x_total"), "# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n");
    assert_eq!(get("name%5B%5D=g"), "# HELP g G.\n# TYPE g gauge\ng 2.0\n");
    assert_eq!(
        get("name[]=x_total&name[]=g"),
        "# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n# HELP g G.\n# TYPE g gauge\ng 2.0\n"
    );
    assert_eq!(get("name[]=nothing"), "");
    // Other parameters do not filter.
    assert_eq!(get("foo=bar"), get(""));
    let om = call(agent.get(&format!("{base}/metrics?name[]=g")).set("Accept", "application/openmetrics-text"))
        .into_string()
        .unwrap();
    assert_eq!(om, "# HELP g G.\n# TYPE g gauge\ng 2.0\n# EOF\n");
    server.shutdown();
}

/// Sends `bytes` on a raw connection and returns what comes back before the
/// server closes it. Fails, rather than hangs, if the server neither answers
/// nor closes within a few seconds.
fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let mut buf = [0; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                // A complete response is enough; keep-alive may hold it open.
                if out.windows(4).any(|w| w == b"\r\n\r\n") {
                    return out;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!(
                "server neither answered nor closed the connection after {:?}: {e}; got {:?}",
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(&out)
            ),
        }
    }
}

#[test]
fn malformed_requests_get_4xx_or_a_closed_connection() {
    let (server, _, _) = start();
    let addr = server.local_addr();
    for garbage in [
        &b"\x00\xff\xfe garbage \x01\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET /metrics HTTP/9.9\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nbroken header line\r\n\r\n",
        // (Blank lines alone are not here: RFC 9112 has servers skip them
        // and wait for the request line, like any slow client.)
    ] {
        let reply = raw_exchange(addr, garbage);
        if !reply.is_empty() {
            let status = String::from_utf8_lossy(&reply[..reply.len().min(12)]).into_owned();
            assert!(
                status.starts_with("HTTP/1.1 4") || status.starts_with("HTTP/1.0 4"),
                "{garbage:?} got {:?}",
                String::from_utf8_lossy(&reply)
            );
        }
    }
    // The server still works.
    let reply = raw_exchange(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(reply.starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&reply));
    server.shutdown();
}

#[test]
fn shutdown_is_prompt_with_idle_connections() {
    let (server, _, base) = start();
    let addr = server.local_addr();
    // A pooled keep-alive connection, and one that never sent anything.
    let agent = http_agent();
    assert_eq!(call(agent.get(&format!("{base}/metrics"))).status(), 200);
    let _silent = TcpStream::connect(addr).unwrap();
    std::thread::sleep(Duration::from_millis(50));

    let started = Instant::now();
    server.shutdown();
    assert!(started.elapsed() < Duration::from_secs(2), "shutdown took {:?}", started.elapsed());
    // Nothing listens any more.
    let refused = TcpStream::connect_timeout(&addr, Duration::from_secs(2));
    assert!(refused.is_err(), "still accepting after shutdown");
}

#[test]
fn shutdown_is_prompt_with_a_stalled_client() {
    let (server, _, _) = start();
    let mut stalled = TcpStream::connect(server.local_addr()).unwrap();
    // Half a request head, never finished.
    stalled.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(50));

    let (tx, rx) = std::sync::mpsc::channel();
    let started = Instant::now();
    std::thread::spawn(move || {
        server.shutdown();
        let _ = tx.send(());
    });
    let finished = rx.recv_timeout(Duration::from_secs(5));
    assert!(
        finished.is_ok(),
        "shutdown still blocked after {:?} by a client that stopped mid-request",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_secs(3), "shutdown took {:?}", started.elapsed());
}

#[test]
fn dropping_the_server_stops_it() {
    let (server, _, base) = start();
    let addr = server.local_addr();
    assert_eq!(call(http_agent().get(&format!("{base}/metrics"))).status(), 200);
    drop(server);
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(), "still accepting after drop");
}

#[test]
fn binding_a_used_port_fails() {
    let (server, registry, _) = start();
    assert!(serve_registry(server.local_addr(), registry).is_err());
    server.shutdown();
}

fn gunzip(bytes: &[u8]) -> String {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes).read_to_string(&mut text).expect("a gzip body");
    text
}

fn body_bytes(resp: ureq::Response) -> Vec<u8> {
    let mut bytes = Vec::new();
    resp.into_reader().read_to_end(&mut bytes).unwrap();
    bytes
}

#[test]
fn gzip_when_the_client_accepts_it() {
    let (server, registry, base) = start();
    let agent = http_agent();
    let resp = call(agent.get(&format!("{base}/metrics")).set("Accept-Encoding", "deflate, gzip;q=0.9"));
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.header("Content-Encoding"), Some("gzip"));
    assert_eq!(resp.header("Vary"), Some("Accept, Accept-Encoding"));
    assert_eq!(resp.header("Content-Type"), Some(TEXT_004));
    assert_eq!(gunzip(&body_bytes(resp)), encode_to_string(registry, Format::TEXT));

    // OpenMetrics too, and HEAD announces the compressed length.
    let om = call(
        agent
            .get(&format!("{base}/metrics"))
            .set("Accept", "application/openmetrics-text; version=1.0.0")
            .set("Accept-Encoding", "gzip"),
    );
    assert_eq!(om.header("Content-Type"), Some(OM));
    let om_len = om.header("Content-Length").unwrap().to_owned();
    let om = body_bytes(om);
    assert_eq!(om.len().to_string(), om_len);
    assert!(gunzip(&om).ends_with("# EOF\n"));

    // Refused or unknown codings get the plain text.
    for refused in ["gzip;q=0", "br", "identity"] {
        let resp = call(agent.get(&format!("{base}/metrics")).set("Accept-Encoding", refused));
        assert_eq!(resp.header("Content-Encoding"), None, "{refused}");
        assert_eq!(resp.into_string().unwrap(), encode_to_string(registry, Format::TEXT), "{refused}");
    }
    server.shutdown();
}

#[test]
fn compression_can_be_disabled() {
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    Counter::builder("x", "X.").register(registry).unwrap().inc();
    let server = Server::builder("127.0.0.1:0").registry(registry).disable_compression().start().unwrap();
    let resp =
        call(http_agent().get(&format!("http://{}/metrics", server.local_addr())).set("Accept-Encoding", "gzip"));
    assert_eq!(resp.header("Content-Encoding"), None);
    assert_eq!(resp.into_string().unwrap(), encode_to_string(registry, Format::TEXT));
    server.shutdown();
}

#[test]
fn basic_auth_admits_only_the_configured_users() {
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    Counter::builder("x", "X.").register(registry).unwrap().inc();
    let server = Server::builder("127.0.0.1:0")
        .registry(registry)
        .basic_auth("prometheus", "s3cret")
        .basic_auth("backup", "pässwörd")
        .start()
        .unwrap();
    let url = format!("http://{}/metrics", server.local_addr());
    let agent = http_agent();
    let basic = |user_pass: &str| {
        use base64::Engine;
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_pass))
    };

    let resp = call(agent.get(&url));
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.header("WWW-Authenticate"), Some("Basic realm=\"metrics\", charset=\"UTF-8\""));
    for wrong in ["prometheus:wrong", "prometheus:s3cret ", "nobody:s3cret", "backup:s3cret", "prometheus"] {
        let resp = call(agent.get(&url).set("Authorization", &basic(wrong)));
        assert_eq!(resp.status(), 401, "{wrong}");
        assert!(!resp.into_string().unwrap().contains("x_total"), "{wrong}");
    }
    assert_eq!(call(agent.get(&url).set("Authorization", "Bearer abc")).status(), 401);

    for right in ["prometheus:s3cret", "backup:pässwörd"] {
        let resp = call(agent.get(&url).set("Authorization", &basic(right)));
        assert_eq!(resp.status(), 200, "{right}");
        assert_eq!(resp.into_string().unwrap(), encode_to_string(registry, Format::TEXT));
    }
    server.shutdown();
}

#[test]
fn oversized_request_heads_get_431() {
    let server = Server::builder("127.0.0.1:0").registry(Registry::new()).max_header_size(4096).start().unwrap();
    let big = format!("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Junk: {}\r\n\r\n", "a".repeat(8192));
    let reply = raw_exchange(server.local_addr(), big.as_bytes());
    assert!(reply.starts_with(b"HTTP/1.1 431"), "{:?}", String::from_utf8_lossy(&reply));
    // Within the limit it is served.
    let fits = format!("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Junk: {}\r\nConnection: close\r\n\r\n", "a".repeat(2000));
    let reply = raw_exchange(server.local_addr(), fits.as_bytes());
    assert!(reply.starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&reply));
    server.shutdown();
}

/// Reads until the peer closes the connection; the error if it does not
/// within `patience`.
fn wait_for_close(s: &mut TcpStream, patience: Duration) -> Result<Vec<u8>, std::io::Error> {
    s.set_read_timeout(Some(patience)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(out),
            Err(e) => return Err(e),
        }
    }
}

#[test]
fn a_client_trickling_its_headers_is_cut_off() {
    let server = Server::builder("127.0.0.1:0")
        .registry(Registry::new())
        .header_read_timeout(Duration::from_millis(500))
        .start()
        .unwrap();
    let mut slow = TcpStream::connect(server.local_addr()).unwrap();
    slow.write_all(b"GET /metrics HTTP/1.1\r\n").unwrap();
    // One header byte at a time, never finishing: the timeout covers the
    // whole head, not each read.
    for b in b"X-Slow: aaaaaaaaaaaa" {
        std::thread::sleep(Duration::from_millis(100));
        if slow.write_all(&[*b]).is_err() {
            break;
        }
    }
    let closed = wait_for_close(&mut slow, Duration::from_secs(5));
    assert!(closed.is_ok(), "the trickling client still holds its connection: {closed:?}");
    // An idle connection is closed as well.
    let mut idle = TcpStream::connect(server.local_addr()).unwrap();
    assert!(wait_for_close(&mut idle, Duration::from_secs(5)).is_ok(), "an idle connection is kept open");
    server.shutdown();
}

#[test]
fn connections_past_the_limit_wait_for_a_free_slot() {
    let server = Server::builder("127.0.0.1:0")
        .registry(Registry::new())
        .max_connections(1)
        .header_read_timeout(Duration::from_secs(30))
        .start()
        .unwrap();
    let addr = server.local_addr();
    let holder = TcpStream::connect(addr).unwrap();
    std::thread::sleep(Duration::from_millis(100));

    let mut waiting = TcpStream::connect(addr).unwrap();
    waiting.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    waiting.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    let mut buf = [0; 64];
    let early = waiting.read(&mut buf);
    assert!(early.is_err(), "answered while the only slot was taken: {early:?}");

    drop(holder);
    let reply = wait_for_close(&mut waiting, Duration::from_secs(5)).expect("answered once the slot is free");
    assert!(reply.starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&reply));
    server.shutdown();
}

#[test]
fn a_client_that_stops_reading_is_dropped_after_the_write_timeout() {
    // An answer far larger than the socket buffers of both ends.
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    let g = Gauge::builder("big", "B.").labels(["k"]).register(registry).unwrap();
    let pad = "p".repeat(200);
    for i in 0..100_000 {
        g.with_label_values(&[&format!("{pad}{i}")]).unwrap().set(1.0);
    }
    let server = Server::builder("127.0.0.1:0")
        .registry(registry)
        .max_connections(1)
        .write_timeout(Duration::from_millis(500))
        .start()
        .unwrap();
    let mut stalled = TcpStream::connect(server.local_addr()).unwrap();
    stalled.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    // Never read: the server's write stalls, times out, and frees the slot.
    let next = std::thread::spawn(move || raw_exchange_patient(server.local_addr(), server));
    let reply = next.join().unwrap();
    assert!(reply.starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&reply[..reply.len().min(200)]));
    drop(stalled);
}

/// A `Connection: close` GET answered within 30 s (for a server that must
/// first free its only slot); stops the server after.
fn raw_exchange_patient(addr: SocketAddr, server: Server) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics?name[]=none HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let reply = wait_for_close(&mut s, Duration::from_secs(30)).expect("answered once the stalled client is dropped");
    server.shutdown();
    reply
}

#[test]
fn invalid_settings_are_refused() {
    let err = Server::builder("127.0.0.1:0").max_connections(0).start().unwrap_err();
    assert!(matches!(err, ServeError::Config(_)), "{err}");
    assert!(err.to_string().contains("max_connections"), "{err}");
    let err = Server::builder("127.0.0.1:0").max_header_size(10).start().unwrap_err();
    assert!(err.to_string().contains("max_header_size"), "{err}");
    let err = Server::builder("no-such-host.invalid:80").start().unwrap_err();
    assert!(matches!(err, ServeError::Bind { .. }), "{err}");
    // It converts into io::Error for programs that return io::Result.
    let io: std::io::Error = Server::builder("127.0.0.1:0").max_connections(0).start().unwrap_err().into();
    assert_eq!(io.kind(), std::io::ErrorKind::InvalidInput);
}
