//! ETags in canonical form (DESIGN "ETags"): response headers repaired and duplicated
//! single-valued headers collapsed; `<ETag>` elements of XML bodies rewritten as the
//! body streams; RGW's empty `<ETag></ETag>` in CompleteMultipartUploadResult filled
//! with the multipart ETag computed from the request's part list.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::header::{CONTENT_LENGTH, ETAG};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::body::{PartTap, ResponseBody};
use crate::s3::etag::canonical_header;
use crate::s3::headers::{SSE, SSE_C_ALGORITHM, SSE_C_KEY_MD5};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::xml::EtagRewriter;

/// Single-valued response headers a store may repeat (SeaweedFS sends the key MD5
/// twice); identical repeats are collapsed.
const SINGLE_VALUED: [HeaderName; 4] = [ETAG, SSE_C_ALGORITHM, SSE_C_KEY_MD5, SSE];

/// Adds [`Etag`].
#[derive(Clone, Copy, Debug, Default)]
pub struct EtagLayer;

impl<S> Layer<S> for EtagLayer {
    type Service = Etag<S>;
    fn layer(&self, inner: S) -> Etag<S> {
        Etag { inner }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct Etag<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for Etag<S>
where
    S: Service<Request<B>, Response = Response<ResponseBody>>,
{
    type Response = Response<ResponseBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let op = req
            .extensions()
            .get::<S3Request>()
            .map_or(S3Op::Unknown, |r| r.op);
        let tap = (op == S3Op::CompleteMultipartUpload).then(|| {
            let tap = PartTap::default();
            req.extensions_mut().insert(tap.clone());
            tap
        });
        ResponseFuture {
            inner: self.inner.call(req),
            op,
            tap,
        }
    }
}

pin_project! {
    /// Canonicalizes the response.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        op: S3Op,
        tap: Option<PartTap>,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResponseBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        Poll::Ready(Ok(canonicalize(response, *this.op, this.tap.as_ref())))
    }
}

/// Which operations answer with XML that carries ETags, and whether those are quoted.
fn xml_etags(op: S3Op) -> Option<bool> {
    match op {
        S3Op::CopyObject
        | S3Op::UploadPartCopy
        | S3Op::CompleteMultipartUpload
        | S3Op::ListObjects
        | S3Op::ListObjectsV2
        | S3Op::ListObjectVersions
        | S3Op::ListParts
        | S3Op::PostObject => Some(true),
        S3Op::GetObjectAttributes => Some(false),
        _ => None,
    }
}

fn canonicalize(
    response: Response<ResponseBody>,
    op: S3Op,
    tap: Option<&PartTap>,
) -> Response<ResponseBody> {
    let (mut parts, body) = response.into_parts();
    canonicalize_headers(&mut parts.headers);
    let body = match xml_etags(op) {
        Some(quoted) if parts.status.is_success() => {
            let mut rewriter = EtagRewriter::new(quoted);
            rewriter.replace_empty_with(tap.and_then(PartTap::result));
            parts.headers.remove(CONTENT_LENGTH);
            ResponseBody::rewrite(body, rewriter)
        }
        _ => body,
    };
    Response::from_parts(parts, body)
}

/// Collapses identical repeats of single-valued headers and repairs the ETag header.
pub fn canonicalize_headers(headers: &mut HeaderMap) {
    for name in SINGLE_VALUED {
        let mut values = headers.get_all(&name).iter();
        let (Some(first), Some(_)) = (values.next(), values.next()) else {
            continue;
        };
        if headers.get_all(&name).iter().all(|v| v == first) {
            let first = first.clone();
            headers.insert(name, first);
        }
    }
    let fixed = headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .and_then(canonical_header)
        .and_then(|v| HeaderValue::from_str(&v).ok());
    if let Some(value) = fixed {
        headers.insert(ETAG, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapses_identical_repeats_only() {
        let mut h = HeaderMap::new();
        h.append(SSE_C_KEY_MD5, HeaderValue::from_static("m"));
        h.append(SSE_C_KEY_MD5, HeaderValue::from_static("m"));
        h.append(SSE_C_ALGORITHM, HeaderValue::from_static("AES256"));
        h.append(SSE_C_ALGORITHM, HeaderValue::from_static("AES128"));
        h.append(
            ETAG,
            HeaderValue::from_static("0123456789ABCDEF0123456789ABCDEF"),
        );
        canonicalize_headers(&mut h);
        assert_eq!(h.get_all(SSE_C_KEY_MD5).iter().count(), 1);
        assert_eq!(
            h.get_all(SSE_C_ALGORITHM).iter().count(),
            2,
            "differing values are kept"
        );
        assert_eq!(h[ETAG], "\"0123456789abcdef0123456789abcdef\"");
    }
}
