//! Error rendering: every `ProxyError` becomes an S3 XML `<Error>` (HEAD: status only)
//! carrying the request id, with a [`Verdict`] for the trace layer. The one place
//! request errors are logged. An HTTP/1 request that came with a body is answered with
//! `Connection: close`: the body may be unread, so the connection cannot carry another
//! request, and a client told so does not send its next one into the closing socket.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, Uri, Version};
use http_body_util::{Either, Full};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::error::{Outcome, ProxyError, chain};
use crate::request_id::RequestId;
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::headers::REQUEST_ID;

/// The body of a response: the inner service's, or a rendered error.
pub type ErrorBody<B> = Either<B, Full<Bytes>>;

/// How a request the proxy answered itself ended. Response extension of rendered
/// errors; the trace layer takes it and records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The outcome label.
    pub outcome: Outcome,
    /// The S3 error code sent.
    pub code: S3ErrorCode,
    /// Why the proxy refused, for requests it refused itself (counted as rejections).
    pub reason: Option<Reason>,
}

impl Verdict {
    fn of(err: &ProxyError, s3: &S3Error) -> Self {
        let reason = match err {
            ProxyError::Rejected(e) => Some(e.reason.unwrap_or(Reason::Other)),
            _ => None,
        };
        Self {
            outcome: err.outcome(),
            code: s3.code,
            reason,
        }
    }
}

/// Adds [`ErrorResponse`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ErrorResponseLayer;

impl<S> Layer<S> for ErrorResponseLayer {
    type Service = ErrorResponse<S>;
    fn layer(&self, inner: S) -> ErrorResponse<S> {
        ErrorResponse { inner }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct ErrorResponse<S> {
    inner: S,
}

impl<S, B, RB> Service<Request<B>> for ErrorResponse<S>
where
    S: Service<Request<B>, Response = Response<RB>, Error = ProxyError>,
    B: http_body::Body,
{
    type Response = Response<ErrorBody<RB>>;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The inner services are always ready; an error here would be a bug.
        match ready!(self.inner.poll_ready(cx)) {
            Ok(()) | Err(_) => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let id = req
            .extensions()
            .get::<RequestId>()
            .copied()
            .unwrap_or_else(RequestId::next);
        let close = req.version() < Version::HTTP_2 && !req.body().is_end_stream();
        ResponseFuture {
            head: req.method() == Method::HEAD,
            close,
            uri: req.uri().clone(),
            id,
            inner: self.inner.call(req),
        }
    }
}

pin_project! {
    /// Turns an error into its S3 response.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        head: bool,
        close: bool,
        uri: Uri,
        id: RequestId,
    }
}

impl<F, RB> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<RB>, ProxyError>>,
{
    type Output = Result<Response<ErrorBody<RB>>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        Poll::Ready(Ok(match ready!(this.inner.poll(cx)) {
            Ok(response) => response.map(Either::Left),
            Err(err) => {
                log(&err, this.id);
                let s3 = err.to_s3();
                let mut response = render(&s3, *this.head, this.uri.path(), this.id);
                response.extensions_mut().insert(Verdict::of(&err, &s3));
                if *this.close {
                    response
                        .headers_mut()
                        .insert(CONNECTION, HeaderValue::from_static("close"));
                }
                response.map(Either::Right)
            }
        }))
    }
}

fn log(err: &ProxyError, id: &RequestId) {
    match err {
        ProxyError::Translated(e) => {
            tracing::debug!(
                request.id = %id,
                s3.error = e.code.as_str(),
                "store error given aws's wording"
            );
        }
        ProxyError::Rejected(e) => {
            tracing::info!(
                request.id = %id,
                s3.error = e.code.as_str(),
                reason = e.reason.unwrap_or(Reason::Other).as_str(),
                outcome = err.outcome().as_str(),
                "request rejected"
            );
        }
        ProxyError::Unconfirmed { op, store, missing } => tracing::error!(
            request.id = %id,
            outcome = err.outcome().as_str(),
            s3.op = *op,
            upstream.store = *store,
            missing = *missing,
            "store reported success for an sse-c write without confirming the key; if the store is known to answer this way, name it in upstream.store"
        ),
        other => tracing::warn!(
            request.id = %id,
            outcome = other.outcome().as_str(),
            error = %chain(other),
            "request failed"
        ),
    }
}

/// The S3 error response for `s3`.
pub fn render(s3: &S3Error, head: bool, path: &str, id: &RequestId) -> Response<Full<Bytes>> {
    let body = if head {
        Full::default()
    } else {
        Full::new(Bytes::from(s3.to_xml(path, id.as_str())))
    };
    let mut response = Response::new(body);
    *response.status_mut() = s3.status();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(id.as_str()) {
        headers.insert(REQUEST_ID, value);
    }
    if !head {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    } else {
        headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    }
    response
}

#[cfg(test)]
#[path = "error_response_tests.rs"]
mod tests;
