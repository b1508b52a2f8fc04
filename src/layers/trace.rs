//! Outermost layer: gives each request an id and a span (`request.id`, `http.method`,
//! `s3.op`, `s3.bucket`, `http.status`). Never records the path, query or headers.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::instrument::Instrumented;
use tracing::{Instrument, Span, field};

use crate::request_id::RequestId;

/// Adds [`Trace`].
#[derive(Clone, Copy, Debug, Default)]
pub struct TraceLayer;

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;
    fn layer(&self, inner: S) -> Trace<S> {
        Trace { inner }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct Trace<S> {
    inner: S,
}

impl<S, B, RB> Service<Request<B>> for Trace<S>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Infallible>,
{
    type Response = Response<RB>;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let id = RequestId::next();
        req.extensions_mut().insert(id);
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
        }
    }
}

pin_project! {
    /// Records the final status on the span.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: Instrumented<F>,
    }
}

impl<F, RB> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<RB>, Infallible>>,
{
    type Output = Result<Response<RB>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let span: Span = this.inner.span().clone();
        let result = ready!(this.inner.poll(cx));
        if let Ok(response) = &result {
            span.record("http.status", response.status().as_u16());
            span.in_scope(|| tracing::debug!("response head sent"));
        }
        Poll::Ready(result)
    }
}
