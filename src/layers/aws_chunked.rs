//! aws-chunked request bodies checked against their framing as they stream to the
//! store (`s3::chunked`). A body that breaks its framing fails before its last byte is
//! forwarded, so the store never sees it complete and commits nothing; the client gets
//! the framing error, not the transport failure it caused. The trailer section travels
//! as sent, so `x-amz-trailer` must name the one `x-amz-checksum-*` field S3 reads there
//! (`s3::checksum::announced`, the rules resign mode applies): no other field reaches the
//! store for it to read in its own way. In resign mode (a request carrying
//! `sigv4::Verified`) `layers::payload` decodes and checks the body instead.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::error::{BoxError, ProxyError};
use crate::layers::finish::{Finish, Next};
use crate::layers::stream::seen;
use crate::s3::checksum;
use crate::s3::chunked::{ChunkedError, Decoder, Framing};
use crate::s3::error::S3Error;
use crate::s3::headers::AMZ_TRAILER;
use crate::s3::sigv4::Verified;

/// Adds [`AwsChunked`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AwsChunkedLayer;

impl<S> Layer<S> for AwsChunkedLayer {
    type Service = AwsChunked<S>;
    fn layer(&self, inner: S) -> AwsChunked<S> {
        AwsChunked { inner }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct AwsChunked<S> {
    inner: S,
}

impl<S, B, RB> Service<Request<B>> for AwsChunked<S>
where
    S: Service<Request<FramedBody<B>>, Response = Response<RB>, Error = ProxyError>,
    B: Body,
{
    type Response = Response<RB>;
    type Error = ProxyError;
    type Future = Finish<S::Future, (), Response<RB>, Response<RB>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let resign = req.extensions().get::<Verified>().is_some();
        let framing = match resign || req.body().is_end_stream() {
            true => Ok(None),
            false => framing(req.headers()),
        };
        let decoder = match framing {
            Ok(framing) => framing.map(|f| Box::new(Decoder::new(f))),
            Err(e) => return Finish::refuse(e),
        };
        let req = req.map(|inner| FramedBody { inner, decoder });
        Finish::new(self.inner.call(req), (), finish)
    }
}

/// The aws-chunked framing a request announces, its `x-amz-trailer` read as the module
/// docs say; on a body that is not aws-chunked `x-amz-trailer` is refused, as S3 does.
fn framing(headers: &HeaderMap) -> Result<Option<Framing>, S3Error> {
    let framing = Framing::from_headers(headers)?;
    if framing.is_some() || headers.contains_key(AMZ_TRAILER) {
        checksum::announced(headers, framing.as_ref())?;
    }
    Ok(framing)
}

/// A failure caused by the framing check is the client's, with its own answer.
fn finish<T>((): (), result: Result<T, ProxyError>) -> Next<T> {
    Next::Done(result.map_err(|e| match e.body_failure::<ChunkedError>() {
        Some(refused) => refused.to_s3().into(),
        None => e,
    }))
}

pin_project! {
    /// The request body, checked against its aws-chunked framing when it has one.
    pub struct FramedBody<B> {
        #[pin]
        inner: B,
        decoder: Option<Box<Decoder>>,
    }
}

impl<B> Body for FramedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        let polled = ready!(this.inner.as_mut().poll_frame(cx));
        if let (Some(decoder), Some((data, ended))) =
            (this.decoder.as_mut(), seen(&polled, &*this.inner))
        {
            // A refused frame is replaced: the store must not get the last byte.
            decoder.feed(data, |_| {})?;
            if ended {
                decoder.finish()?;
            }
        }
        Poll::Ready(polled.map(|r| r.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
#[path = "aws_chunked_tests.rs"]
mod tests;
