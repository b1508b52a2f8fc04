//! Body types: the request body sent to the store and the response body sent to the
//! client. Both stream frame by frame; neither is ever collected.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use crate::error::BoxError;
use crate::metrics::{MeterGuard, RequestMeter};
use crate::s3::chunked::{Decoder, Framing};
use crate::s3::form::{Ambiguity, Tail};
use crate::s3::xml::{EtagRewriter, PartEtagCollector};

/// Bytes a layer already read from the client's body (POST Object form fields); the
/// store receives them first, then the rest of the body. Request extension.
#[derive(Clone, Debug)]
pub struct BodyPrefix(pub Bytes);

/// The rest of a POST Object form after the file part starts, checked as it streams
/// to the store ([`Tail`]). Request extension; the SSE-C layer keeps a clone to read
/// the verdict when the store answers.
#[derive(Clone, Debug)]
pub struct FormWatch(Arc<Mutex<Tail>>);

impl FormWatch {
    /// Watches the body with `tail`, which has seen the bytes a layer already read.
    pub fn new(tail: Tail) -> Self {
        Self(Arc::new(Mutex::new(tail)))
    }

    fn tail(&self) -> std::sync::MutexGuard<'_, Tail> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Checks the next bytes; at the end of the body the form must be closed.
    fn feed(&self, data: &[u8], ended: bool) -> Result<(), Ambiguity> {
        let mut tail = self.tail();
        tail.feed(data)?;
        if ended {
            tail.finish()?;
        }
        Ok(())
    }

    /// Whether the closing delimiter went by.
    pub fn is_closed(&self) -> bool {
        self.tail().is_closed()
    }

    /// Why the body was refused, if it was.
    pub fn refused(&self) -> Option<Ambiguity> {
        self.tail().refused()
    }
}

/// Collects the part ETags of a CompleteMultipartUpload body as it streams to the
/// store. Request extension; the etag layer reads the result.
#[derive(Clone, Debug, Default)]
pub struct PartTap(Arc<Mutex<TapState>>);

#[derive(Debug, Default)]
struct TapState {
    collector: PartEtagCollector,
    complete: bool,
}

impl PartTap {
    fn state(&self) -> std::sync::MutexGuard<'_, TapState> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn feed(&self, data: &[u8]) {
        self.state().collector.feed(data);
    }

    fn complete(&self) {
        self.state().complete = true;
    }

    /// The multipart ETag of the listed parts, once the whole body was sent.
    pub fn result(&self) -> Option<String> {
        let mut state = self.state();
        if !state.complete {
            return None;
        }
        std::mem::take(&mut state.collector).finish()
    }
}

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
    /// recorded for the idle timeout and, for aws-chunked bodies, the framing checked.
    pub struct RequestBody {
        prefix: Option<Bytes>,
        #[pin]
        inner: Incoming,
        progress: Arc<Progress>,
        tap: Option<PartTap>,
        meter: Option<Arc<RequestMeter>>,
        framing: Option<Box<Decoder>>,
        form: Option<FormWatch>,
    }
}

impl RequestBody {
    /// Wraps a client body; `prefix` (already read by a layer) goes first.
    pub fn new(
        prefix: Option<Bytes>,
        inner: Incoming,
        progress: Arc<Progress>,
        tap: Option<PartTap>,
        meter: Option<Arc<RequestMeter>>,
    ) -> Self {
        if let (Some(meter), Some(p)) = (&meter, &prefix) {
            meter.add_in(p.len());
        }
        Self {
            prefix: prefix.filter(|p| !p.is_empty()),
            inner,
            progress,
            tap,
            meter,
            framing: None,
            form: None,
        }
    }

    /// Checks the body against its aws-chunked framing as it streams. A body that
    /// breaks the framing fails with a [`ChunkedError`](crate::s3::chunked::ChunkedError) before its last byte is
    /// forwarded, so the store never sees it complete and commits nothing.
    pub fn with_framing(mut self, framing: Framing) -> Self {
        self.framing = Some(Box::new(Decoder::new(framing)));
        self
    }

    /// Checks the rest of a POST Object form as it streams (the prefix was checked by
    /// the layer that read it). Bytes that would complete a form with a part after the
    /// file, or end it without its closing delimiter, fail with an [`Ambiguity`]
    /// instead of being forwarded, so the store never sees a complete form.
    pub fn with_form(mut self, watch: FormWatch) -> Self {
        self.form = Some(watch);
        self
    }
}

/// Runs `data` through the aws-chunked decoder, if any; at the end of the body the
/// framing must be complete.
fn check_framing(
    framing: &mut Option<Box<Decoder>>,
    data: &[u8],
    ended: bool,
) -> Result<(), BoxError> {
    let Some(decoder) = framing else {
        return Ok(());
    };
    decoder.feed(data, |_| {})?;
    if ended {
        decoder.finish()?;
    }
    Ok(())
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        if let Some(prefix) = this.prefix.take() {
            this.progress.touch();
            let ended = this.inner.is_end_stream();
            check_framing(this.framing, &prefix, ended)?;
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
        let polled = this.inner.as_mut().poll_frame(cx);
        let progress = &**this.progress;
        let Poll::Ready(ready) = polled else {
            progress.waiting_on_client.store(true, Ordering::Relaxed);
            return Poll::Pending;
        };
        progress.waiting_on_client.store(false, Ordering::Relaxed);
        progress.touch();
        // The connection stops polling once `is_end_stream` says so, so the end is
        // noticed here rather than waiting for a `None` that may never be asked for.
        let ended = match &ready {
            None => true,
            Some(Ok(_)) => this.inner.is_end_stream(),
            Some(Err(_)) => false,
        };
        let data = match &ready {
            Some(Ok(frame)) => frame.data_ref().map_or(&[][..], |d| &d[..]),
            _ => &[],
        };
        if ready.as_ref().is_none_or(Result::is_ok) {
            // Refused framing replaces the frame: the store must not get the last byte.
            check_framing(this.framing, data, ended)?;
            if let Some(watch) = this.form.as_ref() {
                watch.feed(data, ended).map_err(BoxError::from)?;
            }
        }
        if let Some(tap) = this.tap.as_ref() {
            tap.feed(data);
        }
        if let Some(meter) = this.meter.as_ref() {
            meter.add_in(data.len());
        }
        if ended {
            progress.body_done.store(true, Ordering::Relaxed);
            if let Some(tap) = this.tap.as_ref() {
                tap.complete();
            }
        }
        Poll::Ready(ready.map(|r| r.map_err(BoxError::from)))
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        add(
            self.inner.size_hint(),
            self.prefix.as_ref().map_or(0, |p| p.len() as u64),
        )
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
        /// Bytes already read, then the rest.
        Chain { prefix: Option<Bytes>, rest: Pin<Box<ResponseBody>> },
        /// Any body, counted for metrics; finishes the request's meter when dropped.
        Metered {
            inner: Pin<Box<ResponseBody>>,
            guard: MeterGuard,
        },
        /// An XML body with its `<ETag>` elements made canonical on the way.
        Rewrite {
            inner: Pin<Box<ResponseBody>>,
            rewriter: Box<EtagRewriter>,
            finished: bool,
        },
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

    /// `prefix`, then `rest`.
    pub fn chain(prefix: Bytes, rest: ResponseBody) -> Self {
        Self::Chain {
            prefix: (!prefix.is_empty()).then_some(prefix),
            rest: Box::pin(rest),
        }
    }

    /// `inner`, counted by `guard`. A body that is already at its end (or of a HEAD
    /// response, which is never sent) completes now: the connection may never poll it.
    pub fn metered(inner: ResponseBody, mut guard: MeterGuard, head: bool) -> Self {
        if head || inner.is_end_stream() {
            guard.completed();
        }
        Self::Metered {
            inner: Box::pin(inner),
            guard,
        }
    }

    /// `inner` with its ETags rewritten.
    pub fn rewrite(inner: ResponseBody, rewriter: EtagRewriter) -> Self {
        Self::Rewrite {
            inner: Box::pin(inner),
            rewriter: Box::new(rewriter),
            finished: false,
        }
    }

    /// Reads the body whole if it is at most `limit` bytes. Otherwise gives back what
    /// was read and the unread rest, so the caller can pass it through unchanged.
    pub async fn read_bounded(mut self, limit: usize) -> Result<Bytes, BoundedRead> {
        use http_body_util::BodyExt as _;
        let mut buf = bytes::BytesMut::new();
        loop {
            match self.frame().await {
                None => return Ok(buf.freeze()),
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        buf.extend_from_slice(data);
                    }
                    if buf.len() > limit {
                        return Err(BoundedRead::TooLarge(buf.freeze(), self));
                    }
                }
                Some(Err(e)) => return Err(BoundedRead::Failed(e)),
            }
        }
    }
}

/// Why [`ResponseBody::read_bounded`] did not return a whole body.
#[derive(Debug)]
pub enum BoundedRead {
    /// Larger than the limit: what was read, and the rest.
    TooLarge(Bytes, ResponseBody),
    /// The body failed.
    Failed(BoxError),
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Upstream { .. } => "ResponseBody::Upstream",
            Self::Full { .. } => "ResponseBody::Full",
            Self::Chain { .. } => "ResponseBody::Chain",
            Self::Rewrite { .. } => "ResponseBody::Rewrite",
            Self::Metered { .. } => "ResponseBody::Metered",
        })
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
            ResponseBodyProj::Metered { inner, guard } => {
                let polled = inner.as_mut().poll_frame(cx);
                match &polled {
                    Poll::Ready(Some(Ok(frame))) => {
                        if let Some(data) = frame.data_ref() {
                            guard.sent(data.len());
                        }
                        if inner.is_end_stream() {
                            guard.completed();
                        }
                    }
                    Poll::Ready(None) => guard.completed(),
                    Poll::Ready(Some(Err(_))) | Poll::Pending => {}
                }
                polled
            }
            ResponseBodyProj::Chain { prefix, rest } => match prefix.take() {
                Some(p) => Poll::Ready(Some(Ok(Frame::data(p)))),
                None => rest.as_mut().poll_frame(cx),
            },
            ResponseBodyProj::Rewrite {
                inner,
                rewriter,
                finished,
            } => loop {
                if *finished {
                    return Poll::Ready(None);
                }
                match ready!(inner.as_mut().poll_frame(cx)) {
                    Some(Ok(frame)) => match frame.into_data() {
                        Ok(data) => {
                            let out = rewriter.feed(&data);
                            if !out.is_empty() {
                                return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
                            }
                        }
                        Err(trailers) => return Poll::Ready(Some(Ok(trailers))),
                    },
                    Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                    None => {
                        *finished = true;
                        let rest = rewriter.finish();
                        if !rest.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(rest)))));
                        }
                    }
                }
            },
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
            Self::Chain { prefix, rest } => prefix.is_none() && rest.is_end_stream(),
            Self::Rewrite { finished, .. } => *finished,
            Self::Metered { inner, .. } => inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Upstream { inner, .. } => inner.size_hint(),
            Self::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
            Self::Chain { prefix, rest } => add(
                rest.size_hint(),
                prefix.as_ref().map_or(0, |p| p.len() as u64),
            ),
            // The length changes as ETags are rewritten.
            Self::Rewrite { .. } => SizeHint::new(),
            Self::Metered { inner, .. } => inner.size_hint(),
        }
    }
}

/// `hint` plus `extra` bytes.
fn add(hint: SizeHint, extra: u64) -> SizeHint {
    let mut out = SizeHint::new();
    out.set_lower(hint.lower().saturating_add(extra));
    if let Some(upper) = hint.upper() {
        out.set_upper(upper.saturating_add(extra));
    }
    out
}
