//! Store connections pinned to client connections. An HTTP/1.1 client sends one
//! request at a time, so each client connection gets its own store connection, opened
//! on first use and driven by the client connection's task: a request and its answer
//! never wait for a pool, a channel to another task, or another thread.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hyper::client::conn::http1::SendRequest;
use tokio::sync::mpsc;

use crate::body::RequestBody;

/// A store connection's I/O future, polled by the client connection's task.
pub type Driver = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The store connection of one client connection, when it has one.
pub struct Pinned {
    idle: Mutex<Option<(SendRequest<RequestBody>, Instant)>>,
    drivers: mpsc::UnboundedSender<Driver>,
}

impl std::fmt::Debug for Pinned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pinned")
    }
}

impl Pinned {
    /// A slot whose connection futures go to `drivers`.
    pub fn new(drivers: mpsc::UnboundedSender<Driver>) -> Self {
        Self {
            idle: Mutex::new(None),
            drivers,
        }
    }

    /// The idle connection, unless it closed or idled past `max_idle`.
    pub fn take(&self, max_idle: Duration) -> Option<SendRequest<RequestBody>> {
        let (sender, since) = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()?;
        (!sender.is_closed() && since.elapsed() < max_idle).then_some(sender)
    }

    /// Keeps a connection for the client connection's next request.
    pub fn put(&self, sender: SendRequest<RequestBody>) {
        *self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((sender, Instant::now()));
    }

    /// Hands a new connection's I/O to the client connection's task; false when that
    /// task is gone.
    pub fn drive(&self, driver: Driver) -> bool {
        self.drivers.send(driver).is_ok()
    }
}
