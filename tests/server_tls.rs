//! The server over TLS (feature `tls`): HTTPS, optional and required client
//! certificates from a CA file or directory, basic auth on top, the errors
//! of bad files, and a real Prometheus scraping with a client certificate.
#![cfg(feature = "tls")]

mod common;

use std::time::Duration;

use common::certs::Pki;
use common::prometheus::Prometheus;
use promdecl::encode::{encode_to_string, Format};
use promdecl::{Counter, Registry, ServeError, Server, ServerBuilder, TlsError};

fn registry() -> &'static Registry {
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    Counter::builder("promdecl_tls_test", "Scrapes over TLS.").register(registry).unwrap().inc_by(7.0).unwrap();
    registry
}

fn https(pki: &Pki, identity: Option<&str>) -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(5)).tls_config(pki.client_config(identity)).build()
}

/// The status and body of a GET, or the transport error as text.
fn get(agent: &ureq::Agent, url: &str) -> Result<(u16, String), String> {
    match agent.get(url).call() {
        Ok(resp) | Err(ureq::Error::Status(_, resp)) => Ok((resp.status(), resp.into_string().unwrap())),
        Err(ureq::Error::Transport(t)) => Err(t.to_string()),
    }
}

fn start(builder: ServerBuilder) -> (Server, String) {
    let server = builder.start().expect("TLS server starts");
    let url = format!("https://127.0.0.1:{}/metrics", server.local_addr().port());
    (server, url)
}

#[test]
fn serves_https() {
    let pki = Pki::new("tls-https");
    let registry = registry();
    let (server, url) =
        start(Server::builder("127.0.0.1:0").registry(registry).tls(pki.path("server.crt"), pki.path("server.key")));
    assert_eq!(get(&https(&pki, None), &url), Ok((200, encode_to_string(registry, Format::TEXT))));
    // Also by name: the certificate is for localhost too.
    let by_name = url.replace("127.0.0.1", "localhost");
    assert_eq!(get(&https(&pki, None), &by_name).map(|r| r.0), Ok(200));

    // Plain HTTP on the TLS port gets no metrics.
    let plain = url.replace("https://", "http://");
    let answer = ureq::AgentBuilder::new().timeout(Duration::from_secs(5)).build().get(&plain).call();
    assert!(
        answer.as_ref().map_or(true, |r| r.status() >= 400),
        "plain HTTP was served: {:?}",
        answer.map(|r| r.into_string())
    );
    server.shutdown();
}

#[test]
fn required_client_certificates() {
    let pki = Pki::new("tls-mtls");
    let registry = registry();
    for ca in ["file", "dir"] {
        let builder = Server::builder("127.0.0.1:0")
            .registry(registry)
            .tls(pki.path("server.crt"), pki.path("server.key"))
            .client_auth_required(true);
        let builder = match ca {
            "file" => builder.client_ca_file(pki.path("ca.crt")),
            _ => {
                let dir = pki.path("cas");
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::copy(pki.path("ca.crt"), dir.join("ca.pem")).unwrap();
                // Files without certificates (OpenSSL's CRL links, notes) are skipped.
                std::fs::write(dir.join("README"), "client CAs").unwrap();
                builder.client_ca_dir(dir)
            }
        };
        let (server, url) = start(builder);
        assert_eq!(get(&https(&pki, Some("client")), &url).map(|r| r.0), Ok(200), "CA {ca}");
        let without = get(&https(&pki, None), &url);
        assert!(without.is_err(), "CA {ca}: served without a client certificate: {without:?}");
        let stranger = get(&https(&pki, Some("stranger")), &url);
        assert!(stranger.is_err(), "CA {ca}: served a certificate of another CA: {stranger:?}");
        server.shutdown();
    }
}

#[test]
fn optional_client_certificates() {
    let pki = Pki::new("tls-optional");
    let (server, url) = start(
        Server::builder("127.0.0.1:0")
            .registry(registry())
            .tls(pki.path("server.crt"), pki.path("server.key"))
            .client_ca_file(pki.path("ca.crt")),
    );
    assert_eq!(get(&https(&pki, None), &url).map(|r| r.0), Ok(200));
    assert_eq!(get(&https(&pki, Some("client")), &url).map(|r| r.0), Ok(200));
    // A certificate that is given is checked.
    assert!(get(&https(&pki, Some("stranger")), &url).is_err());
    server.shutdown();
}

#[test]
fn basic_auth_over_tls() {
    let pki = Pki::new("tls-auth");
    let (server, url) = start(
        Server::builder("127.0.0.1:0")
            .registry(registry())
            .tls(pki.path("server.crt"), pki.path("server.key"))
            .basic_auth("prometheus", "s3cret"),
    );
    assert_eq!(get(&https(&pki, None), &url).map(|r| r.0), Ok(401));
    let authed = url.replace("https://", "https://prometheus:s3cret@");
    assert_eq!(get(&https(&pki, None), &authed).map(|r| r.0), Ok(200));
    server.shutdown();
}

#[test]
fn a_stalled_handshake_does_not_hold_the_only_slot() {
    let pki = Pki::new("tls-stall");
    let (server, url) = start(
        Server::builder("127.0.0.1:0")
            .registry(registry())
            .tls(pki.path("server.crt"), pki.path("server.key"))
            .max_connections(1)
            .header_read_timeout(Duration::from_millis(500)),
    );
    // Connects and never says hello.
    let _stalled = std::net::TcpStream::connect(server.local_addr()).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).tls_config(pki.client_config(None)).build();
    assert_eq!(get(&agent, &url).map(|r| r.0), Ok(200));
    server.shutdown();
}

/// The TLS error of starting `builder`.
fn tls_error(builder: ServerBuilder) -> TlsError {
    match builder.start() {
        Err(ServeError::Tls(e)) => e,
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

#[test]
fn unusable_files_are_named_in_the_error() {
    let pki = Pki::new("tls-errors");
    let base = || Server::builder("127.0.0.1:0").registry(Registry::new());
    let missing = pki.path("nope.crt");

    let err = tls_error(base().tls(&missing, pki.path("server.key")));
    assert!(matches!(&err, TlsError::File { path, .. } if path == &missing), "{err}");
    assert!(err.to_string().contains("nope.crt"), "{err}");

    // A key in place of the certificate, a certificate in place of the key.
    let err = tls_error(base().tls(pki.path("server.key"), pki.path("server.key")));
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
    let err = tls_error(base().tls(pki.path("server.crt"), pki.path("server.crt")));
    assert!(err.to_string().contains("no PEM private key"), "{err}");

    // A key that is not the certificate's.
    let err = tls_error(base().tls(pki.path("server.crt"), pki.path("client.key")));
    assert!(matches!(err, TlsError::Config(_)), "{err}");

    // Client certificates without TLS, or required without a CA.
    let err = tls_error(base().client_ca_file(pki.path("ca.crt")));
    assert!(err.to_string().contains(".tls(cert, key)"), "{err}");
    let err = tls_error(base().tls(pki.path("server.crt"), pki.path("server.key")).client_auth_required(true));
    assert!(err.to_string().contains("client_ca_file"), "{err}");

    // A CA directory without any certificate.
    let empty = pki.path("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "nothing").unwrap();
    let err = tls_error(base().tls(pki.path("server.crt"), pki.path("server.key")).client_ca_dir(&empty));
    assert!(matches!(&err, TlsError::File { path, .. } if path == &empty), "{err}");
}

/// A real Prometheus scrapes the server over TLS with a client certificate
/// and basic auth; the jobs without a certificate, or with a wrong
/// password, are refused.
#[test]
fn prometheus_scrapes_with_a_client_certificate() {
    let pki = Pki::new("tls-prometheus");
    let registry = registry();
    let server = Server::builder("127.0.0.1:0")
        .registry(registry)
        .tls(pki.path("server.crt"), pki.path("server.key"))
        .client_ca_file(pki.path("ca.crt"))
        .client_auth_required(true)
        .basic_auth("prometheus", "s3cret")
        .start()
        .unwrap();
    let target = format!("127.0.0.1:{}", server.local_addr().port());
    let path = |f: &str| pki.path(f).display().to_string();
    let job = |name: &str, cert: bool, password: &str| {
        let client = if cert {
            format!("\n      cert_file: {}\n      key_file: {}", path("client.crt"), path("client.key"))
        } else {
            String::new()
        };
        format!(
            "  - job_name: {name}\n    scheme: https\n    tls_config:\n      ca_file: {}{client}\n    \
             basic_auth:\n      username: prometheus\n      password: {password}\n    \
             static_configs:\n      - targets: ['{target}']\n",
            path("ca.crt")
        )
    };
    let config = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n{}{}{}",
        job("mtls", true, "s3cret"),
        job("no_cert", false, "s3cret"),
        job("bad_password", true, "wrong"),
    );
    let Some(prom) = Prometheus::start_with_config("prometheus_scrapes_with_a_client_certificate", &config, "") else {
        return;
    };
    let value = prom.query_value("promdecl_tls_test_total{job=\"mtls\"}", Duration::from_secs(30));
    assert_eq!(value, 7.0);
    let (health, error) = prom.target_health("mtls", Duration::from_secs(30));
    assert_eq!(health, "up", "{error}");
    let (health, error) = prom.target_health("no_cert", Duration::from_secs(30));
    assert_eq!(health, "down", "scraped without a client certificate");
    assert!(error.contains("certificate") || error.contains("tls"), "{error}");
    let (health, error) = prom.target_health("bad_password", Duration::from_secs(30));
    assert_eq!(health, "down");
    assert!(error.contains("401"), "{error}");
    server.shutdown();
}

#[test]
fn the_tls_example_requires_a_client_certificate() {
    let pki = Pki::new("tls-example");
    let path = |f: &str| pki.path(f).display().to_string();
    let args = ["--addr", "127.0.0.1:0", "--cert", &path("server.crt"), "--key", &path("server.key")];
    let Some(example) = common::ServingExample::start(
        "the_tls_example_requires_a_client_certificate",
        "tls",
        &[&args[..], &["--client-ca", &path("ca.crt")]].concat(),
    ) else {
        return;
    };
    assert!(example.url.starts_with("https://"), "{}", example.url);
    let (status, body) = get(&https(&pki, Some("client")), &example.url).expect("served with a client certificate");
    assert_eq!(status, 200);
    assert!(body.contains("\npromdecl_example_tls_starts_total 1\n"), "{body}");
    assert!(get(&https(&pki, None), &example.url).is_err(), "served without a client certificate");
}
