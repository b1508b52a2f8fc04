//! A minimal, fast S3-ish upstream for benchmarks (dev/bench): answers GET with a body
//! of the size named in the path (`/b/1k`, `/b/16m`), reads and discards PUT bodies,
//! and echoes SSE-C headers as a store that encrypts would. Plain HTTP on one port and
//! TLS on another, so "the store's own TLS" can be measured too.
//!
//!   bench_upstream PLAIN_ADDR TLS_ADDR CERT KEY [THREADS]

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

const ALG: &str = "x-amz-server-side-encryption-customer-algorithm";
const MD5: &str = "x-amz-server-side-encryption-customer-key-md5";

async fn handle(
    req: Request<Incoming>,
    small: Bytes,
    big: Bytes,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let alg = req.headers().get(ALG).cloned();
    let md5 = req.headers().get(MD5).cloned();
    let body = match *req.method() {
        http::Method::GET if req.uri().path().ends_with("16m") => big,
        http::Method::GET => small,
        _ => {
            let mut body = req.into_body();
            while let Some(frame) = body.frame().await {
                if frame.is_err() {
                    break;
                }
            }
            Bytes::new()
        }
    };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        "etag",
        "\"0123456789abcdef0123456789abcdef\"".parse().unwrap(),
    );
    if let (Some(alg), Some(md5)) = (alg, md5) {
        h.insert(ALG, alg);
        h.insert(MD5, md5);
    }
    Ok(resp)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let plain: SocketAddr = args[1].parse().unwrap();
    let tls: SocketAddr = args[2].parse().unwrap();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&args[3])
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(&args[4]).unwrap();
    let threads: usize = args.get(5).and_then(|t| t.parse().ok()).unwrap_or(1);
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let small = Bytes::from(vec![b's'; 1024]);
    let big = Bytes::from(vec![b'b'; 16 << 20]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let plain = tokio::net::TcpListener::bind(plain).await.unwrap();
        let tls = tokio::net::TcpListener::bind(tls).await.unwrap();
        println!("ready");
        loop {
            let (tcp, secure) = tokio::select! {
                a = plain.accept() => (a.unwrap().0, false),
                a = tls.accept() => (a.unwrap().0, true),
            };
            let _ = tcp.set_nodelay(true);
            let (small, big, acceptor) = (small.clone(), big.clone(), acceptor.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req| handle(req, small.clone(), big.clone()));
                if secure {
                    if let Ok(stream) = acceptor.accept(tcp).await {
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    }
                } else {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc)
                        .await;
                }
            });
        }
    });
}
