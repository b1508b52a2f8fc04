//! A mock store for layer and fault tests: plain HTTP on 127.0.0.1, records every
//! request it receives (method, target, headers, whole body) and answers with a handler.
//! Never the only evidence that a feature works; real stores are.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One request as the store saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: http::Method,
    pub uri: http::Uri,
    pub version: http::Version,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    pub trailers: Option<http::HeaderMap>,
}

pub type Handler = Arc<dyn Fn(&Recorded) -> Response<Full<Bytes>> + Send + Sync>;

pub struct MockStore {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl MockStore {
    /// Answers every request with 200 and an empty body.
    pub async fn ok() -> Self {
        Self::start(Arc::new(|_| Response::new(Full::new(Bytes::new())))).await
    }

    pub async fn start(handler: Handler) -> Self {
        Self::serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), handler).await
    }

    /// Serves on a listener the caller bound (to come up on a known port).
    pub async fn serve(listener: TcpListener, handler: Handler) -> Self {
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&requests);
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let recorded = Arc::clone(&recorded);
                let handler = Arc::clone(&handler);
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let recorded = Arc::clone(&recorded);
                        let handler = Arc::clone(&handler);
                        async move {
                            let (parts, body) = req.into_parts();
                            let collected = body.collect().await;
                            let (body, trailers) = match collected {
                                Ok(c) => {
                                    let trailers = c.trailers().cloned();
                                    (c.to_bytes(), trailers)
                                }
                                Err(_) => (Bytes::from_static(b"<incomplete>"), None),
                            };
                            let rec = Recorded {
                                method: parts.method,
                                uri: parts.uri,
                                version: parts.version,
                                headers: parts.headers,
                                body,
                                trailers,
                            };
                            let response = handler(&rec);
                            recorded.lock().unwrap().push(rec);
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            requests,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for MockStore {
    fn drop(&mut self) {
        self.task.abort();
    }
}
