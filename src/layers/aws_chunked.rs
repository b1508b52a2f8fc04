//! aws-chunked request bodies checked against their framing as they stream to the
//! store (`s3::chunked`). A body that breaks its framing fails before its last byte is
//! forwarded, so the store never sees it complete and commits nothing; the client gets
//! the framing error, not the transport failure it caused. The trailer section travels
//! as sent, so `x-amz-trailer` must name the one `x-amz-checksum-*` field S3 reads there
//! (`s3::checksum::announced`, the rules resign mode applies): no other field reaches the
//! store for it to read in its own way. A store that does not check the checksum a body
//! announces (`Store::checks_checksums`) has it checked here: the payload is
//! hashed as it passes, and the piece that completes the framing is refused when the
//! checksum differs, so the store never sees the end of the body. In resign mode (a
//! request carrying `sigv4::Verified`) `layers::payload` decodes and checks the body
//! instead.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderMap, Request, Response};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::error::{BoxError, ProxyError};
use crate::layers::finish::{Finish, Next};
use crate::layers::payload::{BodyRefused, covers_body};
use crate::layers::stream::{plus, seen};
use crate::s3::checksum::{self, Algorithm, Announced};
use crate::s3::chunked::{ChunkedError, Decoder, Framing};
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::headers::AMZ_TRAILER;
use crate::s3::op::{S3Op, S3Request};
use crate::s3::sigv4::Verified;
use crate::s3::store::LiveStore;

/// Adds [`AwsChunked`].
#[derive(Clone, Debug)]
pub struct AwsChunkedLayer {
    store: Arc<LiveStore>,
}

impl AwsChunkedLayer {
    /// A layer for the store `store` says, which decides whether checksums are checked.
    pub fn new(store: Arc<LiveStore>) -> Self {
        Self { store }
    }
}

impl<S> Layer<S> for AwsChunkedLayer {
    type Service = AwsChunked<S>;
    fn layer(&self, inner: S) -> AwsChunked<S> {
        AwsChunked {
            inner,
            store: Arc::clone(&self.store),
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct AwsChunked<S> {
    inner: S,
    store: Arc<LiveStore>,
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
        // Nothing to read in an empty body: `layers::payload` checks its checksum.
        let framing = match resign || req.body().is_end_stream() {
            true => Ok(None),
            false => framing(req.headers()),
        };
        let decoder = match framing {
            Ok(None) => None,
            Ok(Some((framing, announced))) => {
                let op = req
                    .extensions()
                    .get::<S3Request>()
                    .map_or(S3Op::Unknown, |s3| s3.op);
                let checked = !self.store.get().checks_checksums(op) && covers_body(&req);
                let checksum = checked.then(|| Expected::new(&announced)).flatten();
                Some(Box::new(Decoding::new(framing, checksum)))
            }
            Err(e) => return Finish::refuse(e),
        };
        let req = req.map(|inner| FramedBody { inner, decoder });
        Finish::new(self.inner.call(req), (), finish)
    }
}

/// The aws-chunked framing a request announces and the checksum it announces with it,
/// its `x-amz-trailer` read as the module docs say; on a body that is not aws-chunked
/// `x-amz-trailer` is refused, as S3 does. An aws-chunked body must come with SigV4
/// header authentication: a store reads the framing only then (Ceph RGW 16.2 keeps the
/// body of a SigV2 request as sent, framing and all, while the proxy would read it
/// decoded), and S3 defines it for nothing else.
fn framing(headers: &HeaderMap) -> Result<Option<(Framing, Announced)>, S3Error> {
    let framing = Framing::from_headers(headers)?;
    if framing.is_none() && headers.contains_key(AMZ_TRAILER) {
        checksum::announced(headers, None)?;
    }
    let Some(framing) = framing else {
        return Ok(None);
    };
    let sigv4 = headers
        .get(AUTHORIZATION)
        .is_some_and(|v| v.as_bytes().starts_with(b"AWS4-"));
    if !sigv4 {
        return Err(S3Error::new(
            S3ErrorCode::InvalidRequest,
            "An aws-chunked upload (x-amz-content-sha256: STREAMING-...) must be signed with AWS Signature Version 4 in the Authorization header.",
        )
        .with_reason(Reason::AwsChunkedMode));
    }
    let announced = checksum::announced(headers, Some(&framing))?;
    Ok(Some((framing, announced)))
}

/// A failure caused by the body checks is the client's, with its own answer.
fn finish<T>((): (), result: Result<T, ProxyError>) -> Next<T> {
    Next::Done(result.map_err(|e| {
        if let Some(refused) = e.body_failure::<ChunkedError>() {
            refused.to_s3().into()
        } else if let Some(refused) = e.body_failure::<BodyRefused>() {
            refused.0.clone().into()
        } else {
            e
        }
    }))
}

/// An aws-chunked body being read: its framing, and the checksum its payload must have
/// when this layer checks it.
struct Decoding {
    decoder: Decoder,
    /// Set while the checksum is checked: cleared once it matched.
    checksum: Option<Expected>,
    /// Whether the body is held back for a checksum (see [`Decoding::take`]).
    holding: bool,
    /// Frames held back, in order; the first `free` of them may go.
    held: VecDeque<Bytes>,
    free: usize,
    /// The body was read to its end and passed every check.
    ended: bool,
    /// The refusal, repeated if the body is polled again.
    failed: Option<Refusal>,
}

/// Why a body was refused.
#[derive(Clone)]
enum Refusal {
    Framing(ChunkedError),
    Checksum(S3Error),
}

impl Refusal {
    fn boxed(&self) -> BoxError {
        match self {
            Self::Framing(e) => Box::new(e.clone()),
            Self::Checksum(e) => Box::new(BodyRefused(e.clone())),
        }
    }
}

/// The checksum an aws-chunked body announces, in a header or as a trailer field.
struct Expected {
    verifier: checksum::Verifier,
    /// The trailer field that carries it, when it is not a header.
    trailer: Option<Algorithm>,
}

impl Expected {
    fn new(announced: &Announced) -> Option<Self> {
        let trailer = match announced {
            Announced::Trailer(algorithm) => Some(*algorithm),
            _ => None,
        };
        checksum::Verifier::new(announced).map(|verifier| Self { verifier, trailer })
    }
}

impl Decoding {
    fn new(framing: Framing, checksum: Option<Expected>) -> Self {
        Self {
            decoder: Decoder::new(framing),
            holding: checksum.is_some(),
            checksum,
            held: VecDeque::new(),
            free: 0,
            ended: false,
            failed: None,
        }
    }

    /// Reads the next piece of the body; once the framing is complete, the payload's
    /// checksum must match the one announced.
    fn feed(&mut self, data: &[u8]) -> Result<(), Refusal> {
        let checksum = &mut self.checksum;
        self.decoder
            .feed(data, |payload| {
                if let Some(checksum) = checksum.as_mut() {
                    checksum.verifier.update(payload);
                }
            })
            .map_err(Refusal::Framing)?;
        if !self.decoder.is_done() {
            return Ok(());
        }
        let Some(Expected { verifier, trailer }) = self.checksum.take() else {
            return Ok(());
        };
        let sent = trailer.and_then(|algorithm| {
            let name = algorithm.header();
            self.decoder
                .trailers()
                .find_map(|(n, value)| (n == name.as_str()).then_some(value))
        });
        verifier.finish(sent).map(drop).map_err(Refusal::Checksum)
    }

    /// Reads a frame of a body held back for its checksum. A store may commit a body
    /// once it has the payload its `x-amz-decoded-content-length` announces, before the
    /// final chunk (Ceph RGW 16.2 does), so the frame that brought the latest payload
    /// and every frame after it wait: until a later frame brings more payload, or the
    /// checksum matched at the end of the framing.
    fn take(&mut self, frame: Bytes, ended: bool) -> Result<(), Refusal> {
        let before = self.decoder.decoded();
        self.feed(&frame)?;
        if self.decoder.decoded() > before {
            self.free = self.held.len();
        }
        if !frame.is_empty() {
            self.held.push_back(frame);
        }
        if ended {
            self.decoder.finish().map_err(Refusal::Framing)?;
            self.ended = true;
        }
        if self.checksum.is_none() && self.decoder.is_done() {
            self.free = self.held.len();
        }
        Ok(())
    }

    /// The next held frame that may go.
    fn release(&mut self) -> Option<Bytes> {
        if self.free == 0 {
            return None;
        }
        self.free -= 1;
        self.held.pop_front()
    }

    fn refuse(&mut self, refusal: Refusal) -> BoxError {
        self.held.clear();
        self.free = 0;
        let boxed = refusal.boxed();
        self.failed = Some(refusal);
        boxed
    }
}

pin_project! {
    /// The request body, checked against its aws-chunked framing when it has one.
    pub struct FramedBody<B> {
        #[pin]
        inner: B,
        decoder: Option<Box<Decoding>>,
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
        let Some(decoding) = this.decoder.as_mut() else {
            return this.inner.poll_frame(cx).map_err(Into::into);
        };
        if decoding.holding {
            return poll_held(this.inner, decoding, cx);
        }
        let polled = ready!(this.inner.as_mut().poll_frame(cx));
        if let Some((data, ended)) = seen(&polled, &*this.inner) {
            // A refused frame is replaced: the store must not get the last byte.
            decoding.feed(data).map_err(|e| e.boxed())?;
            if ended {
                decoding.decoder.finish()?;
            }
        }
        Poll::Ready(polled.map(|r| r.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        match &self.decoder {
            Some(decoding) if decoding.holding => decoding.ended && decoding.held.is_empty(),
            _ => self.inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.decoder {
            Some(decoding) if decoding.holding => {
                let held = decoding.held.iter().map(|b| b.len() as u64).sum();
                plus(self.inner.size_hint(), held)
            }
            _ => self.inner.size_hint(),
        }
    }
}

/// [`FramedBody::poll_frame`] for a body held back for its checksum
/// ([`Decoding::take`]). HTTP trailers are not the body's and are not forwarded.
fn poll_held<B>(
    mut inner: Pin<&mut B>,
    decoding: &mut Decoding,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Frame<Bytes>, BoxError>>>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    loop {
        if let Some(refusal) = &decoding.failed {
            return Poll::Ready(Some(Err(refusal.boxed())));
        }
        if let Some(frame) = decoding.release() {
            return Poll::Ready(Some(Ok(Frame::data(frame))));
        }
        if decoding.ended {
            return Poll::Ready(None);
        }
        let polled = ready!(inner.as_mut().poll_frame(cx));
        let ended = match &polled {
            Some(Err(_)) => return Poll::Ready(polled.map(|r| r.map_err(Into::into))),
            None => true,
            Some(Ok(_)) => inner.is_end_stream(),
        };
        let data = match polled {
            Some(Ok(frame)) => frame.into_data().unwrap_or_default(),
            _ => Bytes::new(),
        };
        if let Err(refusal) = decoding.take(data, ended) {
            return Poll::Ready(Some(Err(decoding.refuse(refusal))));
        }
    }
}

#[cfg(test)]
#[path = "aws_chunked_tests.rs"]
mod tests;
