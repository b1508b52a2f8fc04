//! Liveness and readiness: what `/livez` and `/readyz` report, and the cheap cached
//! probe of the store behind readiness.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::HOST;
use http::uri::{Authority, Scheme};
use http::{HeaderValue, Request};
use http_body_util::{BodyExt as _, Full};
use tokio::sync::watch;
use tower::ServiceExt as _;

use crate::config::UpstreamConfig;
use crate::metrics::Metrics;
use crate::s3::store::LiveStore;
use crate::upstream::Upstream;

/// Process-wide state the admin endpoints report on.
#[derive(Debug, Default)]
pub struct Health {
    listening: AtomicBool,
    draining: AtomicBool,
    store_up: AtomicBool,
}

impl Health {
    /// Why the proxy is not ready, or `None` when it is: listeners up, configuration
    /// loaded, not draining, and the store accepted the last probe connection.
    pub fn not_ready(&self) -> Option<&'static str> {
        if !self.listening.load(Ordering::Relaxed) {
            Some("listeners not up")
        } else if self.draining.load(Ordering::Relaxed) {
            Some("shutting down")
        } else if !self.store_up.load(Ordering::Relaxed) {
            Some("store unreachable")
        } else {
            None
        }
    }

    /// The listeners are up.
    pub fn set_listening(&self) {
        self.listening.store(true, Ordering::Relaxed);
    }

    /// Shutdown began: readiness fails from now on.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    fn set_store_up(&self, up: bool) {
        self.store_up.store(up, Ordering::Relaxed);
    }
}

/// How much of the store's answer to `GET /` is read to recognise it.
const IDENTIFY_BODY_LIMIT: usize = 4096;

/// Settles `upstream.store = "auto"`: a client for the store and what it settles.
#[derive(Clone)]
pub struct Identify {
    upstream: Upstream,
    authority: Authority,
    store: Arc<LiveStore>,
}

impl Identify {
    /// What settles `store` from the store of `config`, when it is `auto` and not
    /// settled yet; `None` otherwise.
    pub fn pending(
        config: &UpstreamConfig,
        tls: rustls::ClientConfig,
        store: &Arc<LiveStore>,
    ) -> Option<Self> {
        store.pending().then(|| Self {
            upstream: Upstream::with_tls(config, tls),
            authority: config.authority.clone(),
            store: Arc::clone(store),
        })
    }

    /// Asks the store `GET /` without credentials (every S3 store answers it: a
    /// listing or 403) and settles `auto` from the answer's headers and the first
    /// 4 KiB of its body, all within `timeout`. Returns whether the store answered.
    /// Logs what was decided.
    pub async fn once(&self, timeout: Duration) -> bool {
        let Ok(host) = HeaderValue::from_str(self.authority.as_str()) else {
            return false;
        };
        let mut request = Request::new(Full::new(Bytes::new()));
        request.headers_mut().insert(HOST, host);
        let answer = tokio::time::timeout(timeout, async {
            let response = self.upstream.clone().oneshot(request).await.ok()?;
            let (parts, body) = response.into_parts();
            // A body longer than the limit (a listing, say) is cut, not an error: only
            // its start can identify a store.
            let mut prefix = Vec::new();
            let mut body = std::pin::pin!(body);
            while prefix.len() < IDENTIFY_BODY_LIMIT {
                match body.frame().await {
                    Some(Ok(frame)) => {
                        if let Some(data) = frame.data_ref() {
                            let room = IDENTIFY_BODY_LIMIT - prefix.len();
                            prefix.extend_from_slice(&data[..data.len().min(room)]);
                        }
                    }
                    Some(Err(_)) | None => break,
                }
            }
            Some((parts.status, parts.headers, prefix))
        })
        .await;
        let Ok(Some((status, headers, body))) = answer else {
            return false;
        };
        if let Some(decided) = self.store.settle(status, &headers, &body) {
            tracing::info!(upstream.store = %decided, "store identified");
        }
        true
    }
}

/// The shortest time between two rounds of the probe woken by requests.
const NUDGE_GAP: Duration = Duration::from_millis(100);

/// Connects to the store every `interval` (each attempt bounded by `timeout`) and
/// records whether it accepted, until `stopped`. A TCP connection is all it opens
/// (cheap for the store, and what a proxy needs to be useful), except that while
/// `upstream.store = "auto"` is unsettled a reachable store is asked `GET /`, and a
/// request refused for it wakes the probe early.
#[allow(clippy::too_many_arguments)]
pub async fn probe_store(
    scheme: Scheme,
    authority: Authority,
    interval: Duration,
    timeout: Duration,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    identify: Option<Identify>,
    mut stopped: watch::Receiver<bool>,
) {
    let port = authority
        .port_u16()
        .unwrap_or(if scheme == Scheme::HTTPS { 443 } else { 80 });
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let mut last = None;
    loop {
        let up = matches!(
            tokio::time::timeout(
                timeout,
                tokio::net::TcpStream::connect((host.as_str(), port))
            )
            .await,
            Ok(Ok(_))
        );
        if last != Some(up) {
            match up {
                true => tracing::info!("store reachable"),
                false => tracing::warn!("store unreachable"),
            }
            last = Some(up);
        }
        if up && let Some(identify) = identify.as_ref().filter(|i| i.store.pending()) {
            identify.once(timeout).await;
        }
        health.set_store_up(up);
        metrics.store_up.set(i64::from(up));
        let nudged = async {
            match identify.as_ref().filter(|i| i.store.pending()) {
                // A request met the unsettled store: ask again soon, but not more often
                // than every `NUDGE_GAP` however many requests arrive.
                Some(identify) => {
                    identify.store.nudged().await;
                    tokio::time::sleep(NUDGE_GAP).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = nudged => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}
