//! Body types: the request body sent to the store and the response body sent to the
//! client. Both stream frame by frame; neither is ever collected.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use crate::error::BoxError;

/// Shared record of a request's progress, read by the timeout logic in `upstream`.
#[derive(Debug)]
pub struct Progress {
    start: Instant,
    last_ms: AtomicU64,
    body_done: AtomicBool,
    waiting_on_client: AtomicBool,
}

impl Progress {
    /// Starts the clock now.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            body_done: AtomicBool::new(false),
            waiting_on_client: AtomicBool::new(false),
        })
    }

    /// Records that bytes moved.
    pub fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// When bytes last moved.
    pub fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    /// Whether the whole request body has been read from the client.
    pub fn body_done(&self) -> bool {
        self.body_done.load(Ordering::Relaxed)
    }

    /// Whether the proxy is currently waiting for the client to send body bytes.
    pub fn waiting_on_client(&self) -> bool {
        self.waiting_on_client.load(Ordering::Relaxed)
    }
}

pin_project! {
    /// The client's request body on its way to the store, unchanged, with progress
    /// recorded for the idle timeout.
    pub struct RequestBody {
        #[pin]
        inner: Incoming,
        progress: Arc<Progress>,
    }
}

impl RequestBody {
    /// Wraps a client body.
    pub fn new(inner: Incoming, progress: Arc<Progress>) -> Self {
        Self { inner, progress }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        let progress = &**this.progress;
        match &polled {
            Poll::Pending => progress.waiting_on_client.store(true, Ordering::Relaxed),
            Poll::Ready(frame) => {
                progress.waiting_on_client.store(false, Ordering::Relaxed);
                progress.touch();
                if frame.is_none() {
                    progress.body_done.store(true, Ordering::Relaxed);
                }
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// A response body for the client.
    #[project = ResponseBodyProj]
    pub enum ResponseBody {
        /// The store's body, streamed, failing if it stalls for the idle timeout.
        Upstream {
            #[pin]
            inner: Incoming,
            idle: Duration,
            last: Instant,
            timer: Option<Pin<Box<Sleep>>>,
        },
        /// A body the proxy generated (errors, admin answers).
        Full { data: Option<Bytes> },
    }
}

impl ResponseBody {
    /// The store's body with an idle limit between frames.
    pub fn upstream(inner: Incoming, idle: Duration) -> Self {
        Self::Upstream {
            inner,
            idle,
            last: Instant::now(),
            timer: None,
        }
    }

    /// A complete body held in memory (small, proxy-generated).
    pub fn full(data: impl Into<Bytes>) -> Self {
        let data = data.into();
        Self::Full {
            data: (!data.is_empty()).then_some(data),
        }
    }

    /// No body.
    pub fn empty() -> Self {
        Self::Full { data: None }
    }
}

/// The store's body stalled longer than `upstream.idle_timeout`.
#[derive(Debug, thiserror::Error)]
#[error("store body stalled")]
pub struct BodyStalled;

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project() {
            ResponseBodyProj::Full { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            ResponseBodyProj::Upstream {
                inner,
                idle,
                last,
                timer,
            } => {
                if let Poll::Ready(frame) = inner.poll_frame(cx) {
                    *last = Instant::now();
                    return Poll::Ready(frame.map(|f| f.map_err(BoxError::from)));
                }
                // Re-arm lazily: the timer only moves when it fires, not on every frame.
                loop {
                    let deadline = *last + *idle;
                    let sleep =
                        timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                    if sleep.deadline() != deadline {
                        sleep.as_mut().reset(deadline);
                    }
                    ready!(sleep.as_mut().poll(cx));
                    if Instant::now() >= *last + *idle {
                        return Poll::Ready(Some(Err(Box::new(BodyStalled))));
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Upstream { inner, .. } => inner.is_end_stream(),
            Self::Full { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Upstream { inner, .. } => inner.size_hint(),
            Self::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}
