//! ETags in canonical form (DESIGN "ETags"): the response's ETag header repaired (and
//! identical repeats collapsed); `<ETag>` elements of XML bodies rewritten as the body
//! streams; RGW's empty `<ETag></ETag>` in CompleteMultipartUploadResult filled with the
//! multipart ETag computed from the request's part list, read as the request body
//! streams to the store.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, ETAG};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::layers::stream::seen;
use crate::s3::etag::canonical_header;
use crate::s3::headers::collapse_identical;
use crate::s3::op::{S3Op, S3Request};
use crate::s3::xml::{EtagRewriter, PartEtagCollector};

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

impl<S, B, RB> Service<Request<B>> for Etag<S>
where
    S: Service<Request<TapBody<B>>, Response = Response<RB>>,
{
    type Response = Response<EtagBody<RB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let op = req
            .extensions()
            .get::<S3Request>()
            .map_or(S3Op::Unknown, |r| r.op);
        let tap = (op == S3Op::CompleteMultipartUpload).then(PartTap::default);
        let body_tap = tap.clone();
        ResponseFuture {
            inner: self.inner.call(req.map(|inner| TapBody {
                inner,
                tap: body_tap,
            })),
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

impl<F, RB, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
{
    type Output = Result<Response<EtagBody<RB>>, E>;

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

fn canonicalize<RB>(
    response: Response<RB>,
    op: S3Op,
    tap: Option<&PartTap>,
) -> Response<EtagBody<RB>> {
    let (mut parts, inner) = response.into_parts();
    canonicalize_header(&mut parts.headers);
    let rewriter = match xml_etags(op) {
        Some(quoted) if parts.status.is_success() => {
            let mut rewriter = EtagRewriter::new(quoted);
            rewriter.replace_empty_with(tap.and_then(PartTap::result));
            parts.headers.remove(CONTENT_LENGTH);
            Some(Box::new(rewriter))
        }
        _ => None,
    };
    Response::from_parts(
        parts,
        EtagBody {
            inner,
            rewriter,
            finished: false,
        },
    )
}

/// Collapses identical repeats of the ETag header and repairs its value.
pub fn canonicalize_header(headers: &mut HeaderMap) {
    collapse_identical(headers, ETAG);
    let fixed = headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .and_then(canonical_header)
        .and_then(|v| HeaderValue::from_str(&v).ok());
    if let Some(value) = fixed {
        headers.insert(ETAG, value);
    }
}

/// Collects the part ETags of a CompleteMultipartUpload body as it streams to the
/// store; the answer's empty `<ETag>` is filled from it.
#[derive(Clone, Debug, Default)]
pub struct PartTap(Arc<Mutex<TapState>>);

#[derive(Debug, Default)]
struct TapState {
    collector: PartEtagCollector,
    complete: bool,
}

impl PartTap {
    fn state(&self) -> MutexGuard<'_, TapState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The multipart ETag of the listed parts, once the whole body was sent.
    fn result(&self) -> Option<String> {
        let mut state = self.state();
        if !state.complete {
            return None;
        }
        std::mem::take(&mut state.collector).finish()
    }
}

pin_project! {
    /// The request body, read by a [`PartTap`] on its way for CompleteMultipartUpload.
    pub struct TapBody<B> {
        #[pin]
        inner: B,
        tap: Option<PartTap>,
    }
}

impl<B: Body<Data = Bytes>> Body for TapBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        let polled = ready!(this.inner.as_mut().poll_frame(cx));
        if let Some(tap) = this.tap.as_ref() {
            let mut state = tap.state();
            if let Some((data, ended)) = seen(&polled, &*this.inner) {
                state.collector.feed(data);
                state.complete |= ended;
            }
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

pin_project! {
    /// The response body; an XML body has its `<ETag>` elements made canonical on
    /// the way.
    pub struct EtagBody<B> {
        #[pin]
        inner: B,
        rewriter: Option<Box<EtagRewriter>>,
        finished: bool,
    }
}

impl<B: Body<Data = Bytes>> Body for EtagBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        let Some(rewriter) = this.rewriter.as_mut() else {
            return this.inner.poll_frame(cx);
        };
        loop {
            if *this.finished {
                return Poll::Ready(None);
            }
            match ready!(this.inner.as_mut().poll_frame(cx)) {
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
                    *this.finished = true;
                    let rest = rewriter.finish();
                    if !rest.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(Bytes::from(rest)))));
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self.rewriter {
            Some(_) => self.finished,
            None => self.inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self.rewriter {
            // The length changes as ETags are rewritten.
            Some(_) => SizeHint::new(),
            None => self.inner.size_hint(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::headers::{SSE_C_ALGORITHM, SSE_C_KEY_MD5};

    #[test]
    fn repairs_the_etag_header() {
        let mut h = HeaderMap::new();
        h.append(SSE_C_KEY_MD5, HeaderValue::from_static("m"));
        h.append(SSE_C_KEY_MD5, HeaderValue::from_static("m"));
        h.append(SSE_C_ALGORITHM, HeaderValue::from_static("AES256"));
        h.append(SSE_C_ALGORITHM, HeaderValue::from_static("AES128"));
        h.append(
            ETAG,
            HeaderValue::from_static("0123456789ABCDEF0123456789ABCDEF"),
        );
        h.append(
            ETAG,
            HeaderValue::from_static("0123456789ABCDEF0123456789ABCDEF"),
        );
        canonicalize_header(&mut h);
        assert_eq!(h.get_all(ETAG).iter().count(), 1);
        assert_eq!(h[ETAG], "\"0123456789abcdef0123456789abcdef\"");
        assert_eq!(h.get_all(SSE_C_KEY_MD5).iter().count(), 2, "not an etag");
    }
}

#[cfg(test)]
#[path = "etag_tests.rs"]
mod layer_tests;
