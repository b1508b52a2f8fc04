//! Outermost layer: gives each request an id and a span (`request.id`, `http.method`,
//! `s3.op`, `s3.bucket`, `http.status`). Never records the path, query or headers.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::instrument::Instrumented;
use tracing::{Instrument, Span, field};

use crate::body::ResponseBody;
use crate::metrics::{MeterGuard, Metrics, RequestMeter};
use crate::request_id::RequestId;

/// Adds [`Trace`].
#[derive(Clone)]
pub struct TraceLayer {
    metrics: Arc<Metrics>,
}

impl TraceLayer {
    /// A layer feeding `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;
    fn layer(&self, inner: S) -> Trace<S> {
        Trace {
            inner,
            metrics: Arc::clone(&self.metrics),
        }
    }
}

/// See the module docs.
#[derive(Clone)]
pub struct Trace<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S, B> Service<Request<B>> for Trace<S>
where
    S: Service<Request<B>, Response = Response<ResponseBody>, Error = Infallible>,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let head = req.method() == http::Method::HEAD;
        let id = RequestId::next();
        req.extensions_mut().insert(id);
        let meter = RequestMeter::new(Arc::clone(&self.metrics), id);
        req.extensions_mut().insert(Arc::clone(&meter));
        let span = tracing::info_span!(
            "request",
            request.id = %id,
            http.method = %req.method(),
            http.version = ?req.version(),
            s3.op = field::Empty,
            s3.bucket = field::Empty,
            http.status = field::Empty,
        );
        let inner = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        ResponseFuture {
            inner: inner.instrument(span),
            meter: Some(meter),
            head,
        }
    }
}

pin_project! {
    /// Records the final status on the span and hands the meter to the body.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Instrumented<F>,
        meter: Option<Arc<RequestMeter>>,
        head: bool,
    }
}

impl<F> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResponseBody>, Infallible>>,
{
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let span: Span = this.inner.span().clone();
        let Ok(response) = ready!(this.inner.poll(cx));
        let status = response.status().as_u16();
        span.record("http.status", status);
        let Some(meter) = this.meter.take() else {
            return Poll::Ready(Ok(response));
        };
        meter.head(status);
        let (parts, body) = response.into_parts();
        let body = ResponseBody::metered(body, MeterGuard::new(meter), *this.head);
        Poll::Ready(Ok(Response::from_parts(parts, body)))
    }
}
