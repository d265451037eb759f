//! The Graphite bridge's background thread outlives a collector that
//! panics: the panic counts as a failed push and the next push is on time.
#![cfg(feature = "graphite")]

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use promdecl::encode::MetricEncoder;
use promdecl::graphite::GraphiteBridge;
use promdecl::registry::FamilyDesc;
use promdecl::{Collector, Counter, Registry};

/// Panics on its first two collections, then yields a counter.
struct Flaky {
    calls: AtomicU32,
}

impl Collector for Flaky {
    fn collect(&self, enc: &mut dyn MetricEncoder) {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        if call < 2 {
            panic!("callback failed (call {call})");
        }
        let registry = Registry::new();
        Counter::builder("flaky", "F.").register(&registry).unwrap().inc();
        registry.collect(enc);
    }

    fn describe(&self) -> Vec<FamilyDesc> {
        Vec::new()
    }
}

#[test]
fn the_push_thread_survives_a_panicking_collector() {
    // What the thread sends is not the point here: a sink that reads it.
    let sink = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = sink.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut stream in sink.incoming().flatten() {
            let _ = stream.read_to_end(&mut Vec::new());
        }
    });
    let flaky = Arc::new(Flaky { calls: AtomicU32::new(0) });
    let running = GraphiteBridge::new(addr).registry(Arc::clone(&flaky)).start(Duration::from_millis(20)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while running.successes() < 2 {
        assert!(
            Instant::now() < deadline,
            "no push after the panics: {} collections, {} failures",
            flaky.calls.load(Ordering::Relaxed),
            running.failures()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(running.failures(), 2);
    let error = running.last_error().expect("the panics were recorded").to_string();
    assert!(error.contains("a collector panicked: callback failed (call 1)"), "{error}");
    running.stop();
}
