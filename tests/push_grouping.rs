//! Grouping keys on the wire: a local listener records the request line the
//! client really sends, after its URL handling, so a value that URL
//! normalisation would change cannot retarget another group unseen.
#![cfg(feature = "push")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::thread;

use promdecl::push::{GroupingKey, Pushgateway};
use promdecl::{Gauge, Registry};

/// Answers `count` requests with 200 and returns their request lines.
fn record_request_lines(count: usize) -> (String, thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let mut lines = Vec::new();
        for _ in 0..count {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let mut length = 0;
            loop {
                let mut header = String::new();
                reader.read_line(&mut header).unwrap();
                if header == "\r\n" || header.is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap();
                    }
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            (&stream).write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").unwrap();
            lines.push(request_line.trim_end().to_owned());
        }
        lines
    });
    (format!("http://{addr}"), handle)
}

#[test]
fn dot_segment_values_cannot_retarget_another_group() {
    let registry = Registry::new();
    Gauge::builder("promdecl_push_grouping", "G.").register(&registry).unwrap().set(1.0);
    let cases: [(&str, GroupingKey, &str); 5] = [
        ("nightly", GroupingKey::from([("instance", "..")]), "/metrics/job/nightly/instance@base64/Li4="),
        ("nightly", GroupingKey::from([("instance", ".")]), "/metrics/job/nightly/instance@base64/Lg=="),
        ("..", GroupingKey::new(), "/metrics/job@base64/Li4="),
        (".", GroupingKey::from([("zone", "eu")]), "/metrics/job@base64/Lg==/zone/eu"),
        // Not dot segments: kept as they are.
        ("nightly", GroupingKey::from([("instance", "...")]), "/metrics/job/nightly/instance/..."),
    ];
    let (url, server) = record_request_lines(cases.len());
    let client = Pushgateway::new(&url).unwrap();
    for (job, key, _) in &cases {
        client.push(job, key.clone(), &registry).unwrap();
    }
    let lines = server.join().unwrap();
    for ((job, key, path), line) in cases.iter().zip(&lines) {
        assert_eq!(line, &format!("PUT {path} HTTP/1.1"), "job {job:?}, key {key:?}");
    }
}

/// A collector that reports it could not read its source.
struct Unreadable;

impl promdecl::Collector for Unreadable {
    fn collect(&self, enc: &mut dyn promdecl::encode::MetricEncoder) {
        enc.fail(promdecl::encode::CollectError::new("cannot read /run/jobs.db: permission denied"));
    }
}

#[test]
fn a_collector_failure_pushes_nothing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let registry = Registry::new();
    Gauge::builder("promdecl_push_partial", "G.").register(&registry).unwrap().set(1.0);
    registry.register(Unreadable).unwrap();
    let err = Pushgateway::new(&url).unwrap().push("nightly", GroupingKey::new(), &registry).unwrap_err();
    assert!(matches!(&err, promdecl::push::PushError::Collect(e) if e.message().contains("/run/jobs.db")), "{err:?}");
    assert!(err.to_string().starts_with("nothing pushed: "), "{err}");
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a push that would replace the group with part of it is not sent: {accepted:?}"
    );
}
