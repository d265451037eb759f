//! The server under clients and collectors that misbehave: slowloris
//! connections, clients that never read or read a byte now and then, and
//! collectors that panic, report a failure or block. A scrape from another
//! client must always get its answer in time. Loopback only; each test
//! bounds its own time and connection count.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::trouble::{capture_logs, logged, Mode, Trouble, FAILURE_MESSAGE, PANIC_MESSAGE};
use promdecl::{Counter, Gauge, Registry, Server};

/// The clients of the tests that hold many connections.
const CROWD: usize = 300;

/// Sends a `Connection: close` request on a fresh connection and returns
/// the status code, the whole reply, and how long it took; fails if there
/// is no complete reply within `patience`.
fn scrape(addr: SocketAddr, head: &str, patience: Duration) -> (u16, String, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, patience).expect("connects");
    s.set_read_timeout(Some(patience)).unwrap();
    s.write_all(format!("{head}\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
    let mut reply = Vec::new();
    if let Err(e) = s.read_to_end(&mut reply) {
        panic!(
            "no complete answer to {head:?} within {patience:?} ({e}); got {:?}",
            String::from_utf8_lossy(&reply[..reply.len().min(300)])
        );
    }
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let status = reply.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not HTTP: {reply:?}"));
    (status, reply, started.elapsed())
}

fn body(reply: &str) -> &str {
    reply.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

fn small_registry() -> &'static Registry {
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    Counter::builder("x", "X.").register(registry).unwrap().inc();
    registry
}

/// A registry whose exposition (about 13 MB) is far larger than what the
/// socket buffers of a [`small_window`] connection hold.
fn huge_registry() -> &'static Registry {
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    let g = Gauge::builder("big", "B.").labels(["k"]).register(registry).unwrap();
    let pad = "p".repeat(200);
    for i in 0..60_000 {
        g.with_label_values(&[&format!("{pad}{i}")]).unwrap().set(1.0);
    }
    registry
}

/// A connection with a 64 KiB receive buffer: loopback autotuning would
/// otherwise let the kernel take in tens of megabytes for a client that
/// does not read.
fn small_window(addr: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
    rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(64 * 1024).unwrap();
        socket.connect(addr).await.unwrap().into_std().unwrap()
    })
}

#[test]
fn slowloris_connections_do_not_delay_a_scrape() {
    let server = Server::builder("127.0.0.1:0").registry(small_registry()).start().unwrap();
    let addr = server.local_addr();
    let mut slow: Vec<TcpStream> = (0..CROWD).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for s in &mut slow {
        s.write_all(b"GET /metrics HTTP/1.1\r\n").unwrap();
    }
    // Every connection keeps sending its headers, a byte at a time.
    let stop = Arc::new(AtomicBool::new(false));
    let trickler = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for s in &mut slow {
                    let _ = s.write_all(b"a");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));

    let (status, reply, took) = scrape(addr, "GET /metrics HTTP/1.1", Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    trickler.join().unwrap();
    assert_eq!(status, 200, "{reply}");
    assert_eq!(body(&reply), "# HELP x_total X.\n# TYPE x_total counter\nx_total 1\n");
    assert!(took < Duration::from_secs(2), "a scrape behind {CROWD} slowloris connections took {took:?}");
    server.shutdown();
}

#[test]
fn clients_that_never_read_do_not_delay_a_scrape() {
    let server = Server::builder("127.0.0.1:0").registry(small_registry()).start().unwrap();
    let addr = server.local_addr();
    // Each asks for the metrics, keeps the connection, and never reads.
    let deaf: Vec<TcpStream> = (0..CROWD)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    let (status, reply, took) = scrape(addr, "GET /metrics HTTP/1.1", Duration::from_secs(3));
    assert_eq!(status, 200, "{reply}");
    assert!(took < Duration::from_secs(2), "a scrape behind {CROWD} clients that do not read took {took:?}");
    drop(deaf);
    server.shutdown();
}

#[test]
fn a_client_reading_a_little_at_a_time_is_cut_off_at_the_write_deadline() {
    let server =
        Server::builder("127.0.0.1:0").registry(huge_registry()).write_timeout(Duration::from_secs(1)).start().unwrap();
    let mut s = small_window(server.local_addr());
    s.set_nonblocking(false).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // 64 KiB every 20 ms: the server's writes never stall for long, but the
    // whole answer takes about 4 s. A deadline per stalled write would
    // never fire.
    let mut got = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // Then take what the socket buffers still hold, as fast as possible.
    let mut rest = Vec::new();
    let end = s.read_to_end(&mut rest);
    got.extend_from_slice(&rest);
    let head_end = got.windows(4).position(|w| w == b"\r\n\r\n").expect("the answer's head") + 4;
    let head = String::from_utf8_lossy(&got[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no content-length: {head}"));
    let received = got.len() - head_end;
    assert!(
        received < length,
        "a client reading 3 MB/s took all {length} bytes despite a 1 s write deadline ({end:?})"
    );
    server.shutdown();
}

#[test]
fn answers_waiting_for_clients_that_do_not_read_are_bounded() {
    let server = Server::builder("127.0.0.1:0")
        .registry(huge_registry())
        .write_timeout(Duration::from_secs(2))
        .max_pending_bytes(1 << 20)
        .start()
        .unwrap();
    let addr = server.local_addr();
    let mut deaf = small_window(addr);
    deaf.set_nonblocking(false).unwrap();
    deaf.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(1000));

    // 13 MB wait for a client that does not read: no more answers now...
    let (status, reply, _) = scrape(addr, "GET /metrics?name[]=none HTTP/1.1", Duration::from_secs(5));
    assert_eq!(status, 503, "{reply}");
    assert!(body(&reply).starts_with("busy: "), "{reply}");
    assert_eq!(body(&reply).lines().count(), 1, "{reply}");
    // ...until the write deadline drops it.
    std::thread::sleep(Duration::from_millis(2500));
    let (status, reply, _) = scrape(addr, "GET /metrics?name[]=none HTTP/1.1", Duration::from_secs(5));
    assert_eq!(status, 200, "{reply}");
    drop(deaf);
    server.shutdown();
}

#[test]
fn a_panicking_collector_answers_500_and_the_next_scrape_works() {
    capture_logs();
    let trouble = Trouble::default();
    let server = Server::builder("127.0.0.1:0").registry(trouble.clone()).start().unwrap();
    let addr = server.local_addr();
    trouble.set(Mode::PanicOnce);
    let (status, reply, _) = scrape(addr, "GET /metrics HTTP/1.1", Duration::from_secs(5));
    assert_eq!(status, 500, "{reply}");
    assert_eq!(body(&reply), format!("scrape failed: a collector panicked: {PANIC_MESSAGE}\n"));
    let reports = logged().into_iter().filter(|l| l.contains(PANIC_MESSAGE)).collect::<Vec<_>>();
    assert_eq!(reports.len(), 1, "the panic is reported once: {reports:?}");
    assert!(reports[0].starts_with("ERROR"), "{reports:?}");

    let (status, reply, _) = scrape(addr, "GET /metrics HTTP/1.1", Duration::from_secs(5));
    assert_eq!(status, 200, "{reply}");
    assert!(body(&reply).contains("trouble_total 7\n"), "{reply}");
    server.shutdown();
}

#[test]
fn a_collector_reporting_a_failure_answers_500_not_a_partial_exposition() {
    capture_logs();
    let trouble = Trouble::default();
    let server = Server::builder("127.0.0.1:0").registry(trouble.clone()).start().unwrap();
    trouble.set(Mode::Fail);
    for head in ["GET /metrics HTTP/1.1", "GET /metrics?name[]=trouble_total HTTP/1.1"] {
        let (status, reply, _) = scrape(server.local_addr(), head, Duration::from_secs(5));
        assert_eq!(status, 500, "{head}: {reply}");
        assert_eq!(body(&reply), format!("scrape failed: {FAILURE_MESSAGE}\n"), "{head}");
    }
    assert!(logged().iter().any(|l| l.contains(FAILURE_MESSAGE)), "{:?}", logged());
    trouble.set(Mode::Fine);
    let (status, _, _) = scrape(server.local_addr(), "GET /metrics HTTP/1.1", Duration::from_secs(5));
    assert_eq!(status, 200);
    server.shutdown();
}

#[test]
fn a_blocking_collector_answers_503_at_the_timeout_and_stalls_nothing_else() {
    let trouble = Trouble::default();
    let server = Server::builder("127.0.0.1:0")
        .registry(trouble.clone())
        .scrape_timeout(Duration::from_secs(1))
        .start()
        .unwrap();
    let addr = server.local_addr();
    let _release = trouble.release_on_drop();
    trouble.set(Mode::Block);
    let blocked = std::thread::spawn(move || scrape(addr, "GET /metrics HTTP/1.1", Duration::from_secs(5)));
    std::thread::sleep(Duration::from_millis(200));
    // Other requests are served while the collector blocks.
    let (status, _, took) = scrape(addr, "GET /other HTTP/1.1", Duration::from_secs(5));
    assert_eq!(status, 404);
    assert!(took < Duration::from_millis(500), "a 404 waited {took:?} behind a blocked collector");

    let (status, reply, took) = blocked.join().unwrap();
    assert_eq!(status, 503, "{reply}");
    assert_eq!(body(&reply), "scrape timed out after 1s: a collector has not finished\n");
    assert!(took < Duration::from_secs(3), "{took:?}");

    // Shutdown does not wait for the collector, which still blocks.
    let started = Instant::now();
    server.shutdown();
    assert!(started.elapsed() < Duration::from_secs(2), "shutdown took {:?}", started.elapsed());
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(), "still accepting after shutdown");
    trouble.release();
}

#[test]
fn shutdown_and_drop_return_while_a_scrape_is_in_flight_on_a_blocked_collector() {
    for drop_it in [false, true] {
        let trouble = Trouble::default();
        let server = Server::builder("127.0.0.1:0").registry(trouble.clone()).start().unwrap();
        let addr = server.local_addr();
        trouble.set(Mode::Block);
        // A scrape waits on the collector (its timeout, 10 s, is far off).
        let mut waiting = TcpStream::connect(addr).unwrap();
        waiting.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(300));

        let (tx, rx) = std::sync::mpsc::channel();
        let started = Instant::now();
        std::thread::spawn(move || {
            if drop_it {
                drop(server);
            } else {
                server.shutdown();
            }
            let _ = tx.send(());
        });
        let returned = rx.recv_timeout(Duration::from_secs(5));
        trouble.release();
        let what = if drop_it { "drop" } else { "shutdown" };
        assert!(returned.is_ok(), "{what} still blocked after {:?} by a blocked collector", started.elapsed());
        assert!(started.elapsed() < Duration::from_secs(2), "{what} took {:?}", started.elapsed());
    }
}

#[test]
fn a_shorter_prometheus_scrape_timeout_header_wins() {
    let trouble = Trouble::default();
    let server = Server::builder("127.0.0.1:0").registry(trouble.clone()).start().unwrap();
    let _release = trouble.release_on_drop();
    trouble.set(Mode::Block);
    let (status, reply, took) = scrape(
        server.local_addr(),
        "GET /metrics HTTP/1.1\r\nX-Prometheus-Scrape-Timeout-Seconds: 1.5",
        Duration::from_secs(5),
    );
    assert_eq!(status, 503, "{reply}");
    // 1.5 s less a tenth: the 503 reaches Prometheus before it gives up.
    assert_eq!(body(&reply), "scrape timed out after 1.35s: a collector has not finished\n");
    assert!(took >= Duration::from_millis(1300) && took < Duration::from_secs(3), "{took:?}");
    // A longer one does not lengthen the server's own.
    let server2 = Server::builder("127.0.0.1:0")
        .registry(trouble.clone())
        .scrape_timeout(Duration::from_millis(500))
        .start()
        .unwrap();
    let _release2 = trouble.release_on_drop();
    let (status, reply, _) = scrape(
        server2.local_addr(),
        "GET /metrics HTTP/1.1\r\nX-Prometheus-Scrape-Timeout-Seconds: 30",
        Duration::from_secs(5),
    );
    assert_eq!(status, 503, "{reply}");
    assert_eq!(body(&reply), "scrape timed out after 500ms: a collector has not finished\n");
    trouble.release();
    server.shutdown();
    server2.shutdown();
}

#[test]
fn blocked_collectors_hold_at_most_the_concurrent_scrape_limit() {
    let trouble = Trouble::default();
    let server = Server::builder("127.0.0.1:0")
        .registry(trouble.clone())
        .scrape_timeout(Duration::from_millis(500))
        .max_concurrent_scrapes(1)
        .start()
        .unwrap();
    let _release = trouble.release_on_drop();
    trouble.set(Mode::Block);
    let addr = server.local_addr();
    let (status, reply, _) = scrape(addr, "GET /metrics HTTP/1.1", Duration::from_secs(5));
    assert_eq!(status, 503, "{reply}");
    assert!(body(&reply).contains("a collector has not finished"), "{reply}");
    // The only scrape thread is still blocked: the next scrape does not
    // start another, it says why it waited.
    let (status, reply, _) = scrape(addr, "GET /metrics HTTP/1.1", Duration::from_secs(5));
    assert_eq!(status, 503, "{reply}");
    assert_eq!(
        body(&reply),
        "scrape timed out after 500ms: all 1 scrape threads are taken by scrapes that have not finished \
         (a collector may be blocked)\n"
    );
    // Once the collector returns, scrapes work again.
    trouble.set(Mode::Fine);
    trouble.release();
    std::thread::sleep(Duration::from_millis(100));
    let (status, _, _) = scrape(addr, "GET /metrics HTTP/1.1", Duration::from_secs(5));
    assert_eq!(status, 200);
    server.shutdown();
}

#[test]
fn head_of_a_failed_scrape_has_the_status_and_no_body() {
    let trouble = Trouble::default();
    let server = Server::builder("127.0.0.1:0").registry(trouble.clone()).start().unwrap();
    trouble.set(Mode::Fail);
    let (status, reply, _) = scrape(server.local_addr(), "HEAD /metrics HTTP/1.1", Duration::from_secs(5));
    assert_eq!(status, 500, "{reply}");
    assert_eq!(body(&reply), "");
    server.shutdown();
}

#[test]
fn invalid_scrape_settings_are_refused() {
    let err = Server::builder("127.0.0.1:0").max_concurrent_scrapes(0).start().unwrap_err();
    assert!(err.to_string().contains("max_concurrent_scrapes"), "{err}");
    let err = Server::builder("127.0.0.1:0").scrape_timeout(Duration::ZERO).start().unwrap_err();
    assert!(err.to_string().contains("scrape_timeout"), "{err}");
}

/// The child half of [`connections_are_capped_by_the_open_file_limit`]:
/// serves with the default connection cap, under the `ulimit -n` the parent
/// gave it, until its standard input closes.
#[cfg(unix)]
#[test]
fn fd_limit_child() {
    if std::env::var_os("PROMDECL_FD_LIMIT_CHILD").is_none() {
        return;
    }
    let server = Server::builder("127.0.0.1:0").registry(small_registry()).start().unwrap();
    println!("ADDR {}", server.local_addr());
    let _ = std::io::stdout().flush();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    server.shutdown();
}

#[cfg(unix)]
#[test]
fn connections_are_capped_by_the_open_file_limit() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    // A server process allowed 200 open files takes at most 150
    // connections; the next one waits in the backlog rather than failing
    // for want of a descriptor, and is served once a connection closes.
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 200 && exec \"$0\" --exact fd_limit_child --nocapture --test-threads=1")
        .arg(&exe)
        .env("PROMDECL_FD_LIMIT_CHILD", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr: SocketAddr = lines
        .by_ref()
        .map_while(Result::ok)
        // The harness prints "test fd_limit_child ... " first, on the same line.
        .find_map(|l| l.split_once("ADDR ").map(|(_, a)| a.trim().parse().unwrap()))
        .expect("the child serves");

    let mut held: Vec<TcpStream> = (0..150).map(|_| TcpStream::connect(addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut waiting = TcpStream::connect(addr).unwrap();
    waiting.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    waiting.set_read_timeout(Some(Duration::from_millis(700))).unwrap();
    let mut buf = [0; 64];
    let early = waiting.read(&mut buf);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        assert!(early.is_err(), "a 151st connection was served under a limit of 200 files: {early:?}");
        held.pop();
        waiting.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut reply = Vec::new();
        waiting.read_to_end(&mut reply).expect("answered once a connection closed");
        assert!(reply.starts_with(b"HTTP/1.1 200"), "{:?}", String::from_utf8_lossy(&reply));
    }));
    drop(child.stdin.take());
    let _ = child.wait();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
