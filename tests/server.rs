//! The `/metrics` HTTP server: formats and headers, methods, paths, the
//! `name[]` filter, malformed requests and shutdown. Loopback only.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use promdecl::encode::{encode_to_string, Format};
use promdecl::{serve_registry, Counter, Gauge, Registry, Server};

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

/// An agent that never waits long: a hung server fails the test.
fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(5)).build()
}

/// The response, whatever its status.
fn call(req: ureq::Request) -> ureq::Response {
    match req.call() {
        Ok(resp) | Err(ureq::Error::Status(_, resp)) => resp,
        Err(e) => panic!("request failed: {e}"),
    }
}

#[test]
fn get_metrics_in_negotiated_format() {
    let (server, registry, base) = start();
    let agent = agent();

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
    let agent = agent();
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
    let resp = call(agent().head(&format!("{base}/metrics")));
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
        let resp = call(agent().request(method, &format!("{base}/metrics")));
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
        let resp = call(agent().get(&format!("{base}{path}")));
        assert_eq!(resp.status(), 404, "{path}");
    }
    server.shutdown();
}

#[test]
fn name_filter() {
    let (server, _, base) = start();
    let agent = agent();
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
    let agent = agent();
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
    assert_eq!(call(agent().get(&format!("{base}/metrics"))).status(), 200);
    drop(server);
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err(), "still accepting after drop");
}

#[test]
fn binding_a_used_port_fails() {
    let (server, registry, _) = start();
    assert!(serve_registry(server.local_addr(), registry).is_err());
    server.shutdown();
}
