//! Error rendering: every `ProxyError` becomes an S3 XML `<Error>` (HEAD: status only)
//! carrying the request id. The one place request errors are logged.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, Uri};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::body::ResponseBody;
use crate::error::{ProxyError, chain};
use crate::metrics::RequestMeter;
use crate::request_id::RequestId;
use crate::s3::error::S3Error;
use crate::s3::headers::REQUEST_ID;
use crate::s3::store::TRANSLATED;

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

impl<S, B> Service<Request<B>> for ErrorResponse<S>
where
    S: Service<Request<B>, Response = Response<ResponseBody>, Error = ProxyError>,
{
    type Response = Response<ResponseBody>;
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
        ResponseFuture {
            head: req.method() == Method::HEAD,
            uri: req.uri().clone(),
            id,
            meter: req.extensions().get::<Arc<RequestMeter>>().cloned(),
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
        uri: Uri,
        id: RequestId,
        meter: Option<Arc<RequestMeter>>,
    }
}

impl<F> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResponseBody>, ProxyError>>,
{
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match ready!(this.inner.poll(cx)) {
            Ok(response) => Poll::Ready(Ok(response)),
            Err(err) => {
                log(&err);
                let s3 = err.to_s3();
                if let Some(meter) = this.meter {
                    match &err {
                        ProxyError::Rejected(e) if e.reason == Some(TRANSLATED) => {
                            meter.set_error("store_error", e.code.as_str(), None);
                        }
                        ProxyError::Rejected(e) => {
                            meter.set_error(
                                err.outcome(),
                                e.code.as_str(),
                                Some(e.reason.unwrap_or("other")),
                            );
                        }
                        ProxyError::Unconfirmed(_) => {
                            meter.metrics().unconfirmed_writes.inc();
                            meter.set_error(err.outcome(), s3.code.as_str(), None);
                        }
                        _ => meter.set_error(err.outcome(), s3.code.as_str(), None),
                    }
                }
                Poll::Ready(Ok(render(&s3, *this.head, this.uri.path(), this.id)))
            }
        }
    }
}

fn log(err: &ProxyError) {
    match err {
        ProxyError::Rejected(e) if e.reason == Some(TRANSLATED) => {
            tracing::debug!(
                s3.error = e.code.as_str(),
                "store error given aws's wording"
            );
        }
        ProxyError::Rejected(e) => {
            tracing::info!(
                s3.error = e.code.as_str(),
                reason = e.reason.unwrap_or("other"),
                outcome = err.outcome(),
                "request rejected"
            );
        }
        ProxyError::Unconfirmed(op) => tracing::error!(
            outcome = err.outcome(),
            s3.op = *op,
            "store reported success for an sse-c write without confirming the key"
        ),
        other => tracing::warn!(
            outcome = other.outcome(),
            error = %chain(other),
            "request failed"
        ),
    }
}

/// The S3 error response for `s3`.
pub fn render(s3: &S3Error, head: bool, path: &str, id: &RequestId) -> Response<ResponseBody> {
    let body = if head {
        ResponseBody::empty()
    } else {
        ResponseBody::full(s3.to_xml(path, id.as_str()))
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
