//! Liveness and readiness: what `/livez` and `/readyz` report, and the cheap cached
//! probe of the store behind readiness.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http::uri::{Authority, Scheme};
use tokio::sync::watch;

use crate::metrics::Metrics;

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

/// Connects to the store every `interval` (each attempt bounded by `timeout`) and
/// records whether it accepted, until `stopped`. A TCP connection is all it opens:
/// cheap for the store, and what a proxy needs to be useful.
pub async fn probe_store(
    scheme: Scheme,
    authority: Authority,
    interval: Duration,
    timeout: Duration,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
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
        health.set_store_up(up);
        metrics.store_up.set(i64::from(up));
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
    }
}
