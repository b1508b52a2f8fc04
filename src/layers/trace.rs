//! Outermost layer: gives each request an id and a span (`request.id`, `http.method`,
//! `s3.op`, `s3.bucket`, `http.status`), and is the one owner of the request metrics
//! and the access line. Inner layers only attach typed facts: the operation and the
//! store wait to the request's [`Facts`], a [`Verdict`] to the response the error layer
//! renders. Never records the path, query or headers.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::instrument::Instrumented;
use tracing::{Instrument, Span, field};

use crate::access_log::{AccessLine, AccessLog};
use crate::error::Outcome;
use crate::forwarding::ConnInfo;
use crate::layers::error_response::Verdict;
use crate::metrics::{FinishedRequest, Metrics};
use crate::request_id::RequestId;
use crate::s3::op::S3Op;

/// What inner layers learn about a request, for the trace layer to record. Request
/// extension (`Arc<Facts>`); each fact has one writer: the operation the classify
/// layer, the store wait and the bytes forwarded the store client.
#[derive(Debug)]
pub struct Facts {
    id: RequestId,
    start: Instant,
    target: OnceLock<Target>,
    store_nanos: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

#[derive(Debug)]
struct Target {
    op: S3Op,
    bucket: Option<Box<str>>,
}

impl Facts {
    fn new(id: RequestId) -> Self {
        Self {
            id,
            start: Instant::now(),
            target: OnceLock::new(),
            store_nanos: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
        }
    }

    /// The operation and bucket (classify layer; the first call wins).
    pub fn classified(&self, op: S3Op, bucket: Option<&str>) {
        let _ = self.target.set(Target {
            op,
            bucket: bucket.map(Box::from),
        });
    }

    /// Request body bytes handed to the store (the store client).
    pub fn forwarded(&self, n: usize) {
        self.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Time spent waiting for the store's response head (the store client).
    pub fn waited_for_store(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.store_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The operation, once classified (what tests read back).
    #[cfg(test)]
    pub(crate) fn op(&self) -> Option<S3Op> {
        self.target.get().map(|t| t.op)
    }

    fn store_wait(&self) -> Duration {
        Duration::from_nanos(self.store_nanos.load(Ordering::Relaxed))
    }
}

/// Adds [`Trace`].
#[derive(Clone)]
pub struct TraceLayer {
    sinks: Arc<Sinks>,
}

/// Where a finished request is recorded.
struct Sinks {
    metrics: Arc<Metrics>,
    access: AccessLog,
}

impl TraceLayer {
    /// A layer feeding `metrics` and writing access lines to `access`.
    pub fn new(metrics: Arc<Metrics>, access: AccessLog) -> Self {
        Self {
            sinks: Arc::new(Sinks { metrics, access }),
        }
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;
    fn layer(&self, inner: S) -> Trace<S> {
        Trace {
            inner,
            sinks: Arc::clone(&self.sinks),
        }
    }
}

/// See the module docs.
#[derive(Clone)]
pub struct Trace<S> {
    inner: S,
    sinks: Arc<Sinks>,
}

impl<S, B, RB> Service<Request<B>> for Trace<S>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Infallible>,
    RB: Body,
{
    type Response = Response<MeteredBody<RB>>;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let head = req.method() == http::Method::HEAD;
        let id = RequestId::next();
        let facts = Arc::new(Facts::new(id));
        // A `debug` span: at the default `info` level it costs nothing (the JSON
        // formatter would otherwise format its fields on every request). Lines logged
        // at `info` and above inside a request carry `request.id` themselves.
        let span = tracing::debug_span!(
            "request",
            request.id = %id,
            http.method = %req.method(),
            http.version = ?req.version(),
            s3.op = field::Empty,
            s3.bucket = field::Empty,
            http.status = field::Empty,
        );
        req.extensions_mut().insert(id);
        req.extensions_mut().insert(Arc::clone(&facts));
        // The access line names the client where the connection's span is on, as
        // every other line inside it does.
        let client = req
            .extensions()
            .get::<ConnInfo>()
            .and_then(|c| c.client)
            .filter(|_| !Span::current().is_disabled());
        let inner = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        ResponseFuture {
            inner: inner.instrument(span),
            done: Some(Done {
                facts,
                sinks: Arc::clone(&self.sinks),
                head,
                client,
            }),
        }
    }
}

/// What the response side needs to finish the request's record.
struct Done {
    facts: Arc<Facts>,
    sinks: Arc<Sinks>,
    head: bool,
    client: Option<SocketAddr>,
}

pin_project! {
    /// Records the status on the span and hands the record to the response body.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Instrumented<F>,
        done: Option<Done>,
    }
}

impl<F, RB> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<RB>, Infallible>>,
    RB: Body,
{
    type Output = Result<Response<MeteredBody<RB>>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let span: Span = this.inner.span().clone();
        let Ok(response) = ready!(this.inner.poll(cx));
        let (mut parts, body) = response.into_parts();
        span.record("http.status", parts.status.as_u16());
        let verdict = parts.extensions.remove::<Verdict>();
        let guard = this.done.take().map(|done| Record {
            head_at: done.facts.start.elapsed(),
            status: parts.status.as_u16(),
            verdict,
            complete: false,
            done,
        });
        let body = MeteredBody::new(body, guard);
        Poll::Ready(Ok(Response::from_parts(parts, body)))
    }
}

/// A request's record, written when its response body ends or is dropped.
struct Record {
    done: Done,
    head_at: Duration,
    status: u16,
    verdict: Option<Verdict>,
    complete: bool,
}

impl Drop for Record {
    fn drop(&mut self) {
        let facts = &self.done.facts;
        let target = facts.target.get();
        let op = target.map_or(S3Op::Unknown, |t| t.op);
        let store = facts.store_wait();
        let proxy = self.head_at.saturating_sub(store);
        let outcome = match (&self.verdict, self.complete, self.status) {
            (Some(v), _, _) => v.outcome,
            (None, false, _) => Outcome::Incomplete,
            (None, true, 400..) => Outcome::StoreError,
            (None, true, _) => Outcome::Ok,
        };
        let metrics = &self.done.sinks.metrics;
        if let Some(Verdict {
            code,
            reason: Some(reason),
            ..
        }) = &self.verdict
        {
            metrics.rejection(*code, *reason);
        }
        let done = FinishedRequest {
            op,
            outcome,
            status: self.status,
            proxy,
            store,
            bytes_in: facts.bytes_in.load(Ordering::Relaxed),
            bytes_out: facts.bytes_out.load(Ordering::Relaxed),
        };
        metrics.request(&done);
        if tracing::enabled!(target: "access", tracing::Level::INFO) {
            let id = facts.id;
            self.done.sinks.access.write(&AccessLine {
                request_id: id.as_str(),
                op: op.as_str(),
                bucket: target.and_then(|t| t.bucket.as_deref()).unwrap_or(""),
                status: self.status,
                bytes_in: done.bytes_in,
                bytes_out: done.bytes_out,
                proxy,
                store,
                total: facts.start.elapsed(),
                outcome: outcome.as_str(),
                error: self.verdict.as_ref().map_or("", |v| v.code.as_str()),
                client: self.done.client,
            });
        }
    }
}

pin_project! {
    /// The response body, counted; the request's record is written when it ends or is
    /// dropped.
    pub struct MeteredBody<B> {
        #[pin]
        inner: B,
        record: Option<Record>,
    }
}

impl<B: Body> MeteredBody<B> {
    /// A body that is already at its end (or of a HEAD response, which is never sent)
    /// completes now: the connection may never poll it.
    fn new(inner: B, mut record: Option<Record>) -> Self {
        if let Some(r) = record.as_mut()
            && (r.done.head || inner.is_end_stream())
        {
            r.complete = true;
        }
        Self { inner, record }
    }
}

impl<B: Body<Data = Bytes>> Body for MeteredBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        let polled = ready!(this.inner.as_mut().poll_frame(cx));
        let Some(record) = this.record.as_mut() else {
            return Poll::Ready(polled);
        };
        match &polled {
            Some(Ok(frame)) => {
                let n = frame.data_ref().map_or(0, Bytes::len) as u64;
                record.done.facts.bytes_out.fetch_add(n, Ordering::Relaxed);
                if this.inner.is_end_stream() {
                    record.complete = true;
                }
            }
            None => record.complete = true,
            Some(Err(_)) => {}
        }
        Poll::Ready(polled)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
#[path = "trace_tests.rs"]
mod tests;
