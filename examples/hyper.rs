//! A hyper server of one's own that routes `/metrics` to promdecl's
//! `MetricsService` and everything else to its own handler.
//!
//! ```text
//! cargo run --example hyper --features http -- --addr 127.0.0.1:3000
//! curl http://127.0.0.1:3000/metrics
//! ```

use std::convert::Infallible;
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use promdecl::http::MetricsService;

async fn route(
    metrics: MetricsService,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/metrics" {
        return Ok(metrics.respond(&req));
    }
    Ok(Response::new(Full::new(Bytes::from_static(b"hello\n"))))
}

fn main() -> ExitCode {
    let addr = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => "127.0.0.1:3000".to_owned(),
        [flag, addr] if flag == "--addr" => addr.clone(),
        _ => {
            eprintln!("usage: hyper [--addr HOST:PORT]");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a tokio runtime");
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind(&addr).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("hyper: cannot listen on {addr}: {e}");
                return ExitCode::from(1);
            }
        };
        println!("serving on http://{}/ (metrics at /metrics)", listener.local_addr().expect("bound"));
        let metrics = MetricsService::default();
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let metrics = metrics.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| route(metrics.clone(), req));
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    })
}
