//! The admin listener: plain HTTP, never S3. `/livez` answers while the process runs
//! (it never depends on the store); `/readyz` answers 200 while the proxy is ready for
//! traffic (listeners up, configuration loaded, store reachable, not draining), else
//! 503 with the reason; `/metrics` is the Prometheus text format.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::health::Health;
use crate::metrics::Metrics;
use crate::s3::store::LiveStore;
use crate::uploads::UploadRecords;

/// What the admin endpoints read.
pub struct AdminState {
    /// Readiness.
    pub health: Arc<Health>,
    /// Metrics to export.
    pub metrics: Arc<Metrics>,
    /// For the tracked-uploads gauge.
    pub records: Arc<UploadRecords>,
    /// Expiry of the served certificate (Unix seconds), updated on reload.
    pub cert_not_after: Arc<AtomicI64>,
    /// Which store's behaviours apply, for `/readyz`.
    pub store: Arc<LiveStore>,
}

/// Serves the admin endpoints until `stopped` turns true.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AdminState>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.wait_for(|s| *s) => return,
        };
        let Ok((tcp, _peer)) = accepted else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(answer(&req, &state)) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(5))
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

fn answer(req: &Request<Incoming>, state: &AdminState) -> Response<Full<Bytes>> {
    let (status, text, content_type) = match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/livez") => {
            (StatusCode::OK, "ok\n".to_owned(), "text/plain")
        }
        (&Method::GET | &Method::HEAD, "/readyz") => {
            let store = state.store.describe();
            let unsettled = state.store.pending().then_some("store not recognised yet");
            match state.health.not_ready().or(unsettled) {
                None => (
                    StatusCode::OK,
                    format!("ready\nupstream.store: {store}\n"),
                    "text/plain",
                ),
                Some(why) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("not ready: {why}\nupstream.store: {store}\n"),
                    "text/plain",
                ),
            }
        }
        (&Method::GET, "/metrics") => {
            let m = &state.metrics;
            m.tracked_uploads
                .set(i64::try_from(state.records.len()).unwrap_or(i64::MAX));
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            m.certificate_expiry_seconds.set(
                state
                    .cert_not_after
                    .load(Ordering::Relaxed)
                    .saturating_sub(now),
            );
            (
                StatusCode::OK,
                m.encode(),
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )
        }
        _ => (
            StatusCode::NOT_FOUND,
            "not found\n".to_owned(),
            "text/plain",
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
