//! The request body of `layers::payload`: checked as it streams, with the payload of the
//! latest frame held back until a later frame brings more or the checks pass at the end.
//! A refused body fails instead, so the store never receives it whole and commits
//! nothing. Memory: the payload of about one frame, as slices of the frames received.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use md5::{Digest as _, Md5};
use pin_project_lite::pin_project;
use subtle::ConstantTimeEq as _;

use crate::error::BoxError;
use crate::layers::stream::seen;
use crate::s3::checksum::{self, Checksum};
use crate::s3::chunked::{self, Encoder};
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::headers::CONTENT_MD5;
use crate::s3::sigv4::PayloadHasher;

/// A request body its checks refused; carries S3's answer for the client.
#[derive(Debug, thiserror::Error)]
#[error("request body refused: {0}")]
pub struct BodyRefused(pub S3Error);

/// What a verified request's body is checked for.
// Built once per request and kept in the boxed `Checking`: the sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Check {
    /// A plain body: its signed SHA-256 and the checksum of an `x-amz-checksum-*` header.
    Plain {
        /// `x-amz-content-sha256` as a hash.
        hash: Option<PayloadHasher>,
        /// The announced checksum.
        checksum: Option<checksum::Verifier>,
        /// The `Content-MD5`, where the store would not check it.
        md5: Option<ContentMd5>,
    },
    /// An aws-chunked body, decoded.
    Chunked(chunked::Verifier),
}

impl Check {
    /// Checks the next piece of the body, handing what is forwarded to `out` (slices of
    /// `data`).
    pub fn feed(&mut self, data: &[u8], mut out: impl FnMut(&[u8])) -> Result<(), S3Error> {
        match self {
            Self::Plain {
                hash,
                checksum,
                md5,
            } => {
                if let Some(hash) = hash {
                    hash.update(data);
                }
                if let Some(checksum) = checksum {
                    checksum.update(data);
                }
                if let Some(md5) = md5 {
                    md5.hasher.update(data);
                }
                out(data);
                Ok(())
            }
            Self::Chunked(verifier) => verifier.feed(data, out),
        }
    }

    /// The end of the body: every check must pass. The signed hash is checked before the
    /// checksums (`XAmzContentSHA256Mismatch` before `BadDigest`).
    pub fn finish(&mut self) -> Result<(), S3Error> {
        match self {
            Self::Plain {
                hash,
                checksum,
                md5,
            } => {
                if let Some(hash) = hash.take() {
                    hash.finish()?;
                }
                if let Some(md5) = md5.take() {
                    md5.finish()?;
                }
                if let Some(checksum) = checksum.take() {
                    checksum.finish(None)?;
                }
                Ok(())
            }
            Self::Chunked(verifier) => verifier.finish(),
        }
    }

    /// The checksum a trailer field carried, once [`Check::finish`] passed.
    fn verified_trailer(&self) -> Option<Checksum> {
        match self {
            Self::Plain { .. } => None,
            Self::Chunked(verifier) => verifier.verified_trailer(),
        }
    }

    /// How many bytes the body forwards, when known before it streams.
    fn forwarded_length(&self) -> Option<u64> {
        match self {
            Self::Plain { .. } => None,
            Self::Chunked(verifier) => verifier.decoded_length(),
        }
    }
}

/// A body's `Content-MD5`, checked as the body streams.
pub struct ContentMd5 {
    hasher: Md5,
    expected: [u8; 16],
}

impl ContentMd5 {
    /// The `Content-MD5` of `headers`, if any; `InvalidDigest` when it is repeated or not
    /// the base64 of 16 bytes, as S3 answers.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, S3Error> {
        let mut values = headers.get_all(CONTENT_MD5).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        let invalid = || {
            S3Error::new(
                S3ErrorCode::InvalidDigest,
                "The Content-MD5 you specified was invalid.",
            )
        };
        if values.next().is_some() {
            return Err(invalid());
        }
        let decoded = STANDARD.decode(value.as_bytes()).map_err(|_| invalid())?;
        let expected = <[u8; 16]>::try_from(decoded).map_err(|_| invalid())?;
        Ok(Some(Self {
            hasher: Md5::new(),
            expected,
        }))
    }

    fn finish(self) -> Result<(), S3Error> {
        let got: [u8; 16] = self.hasher.finalize().into();
        if bool::from(got.ct_eq(&self.expected)) {
            return Ok(());
        }
        Err(S3Error::new(
            S3ErrorCode::BadDigest,
            "The Content-MD5 you specified did not match what we received.",
        )
        .with_reason(Reason::ChecksumMismatch))
    }
}

impl std::fmt::Debug for ContentMd5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentMd5").finish_non_exhaustive()
    }
}

pin_project! {
    /// The request body: as received in passthrough, else checked (and decoded) on its
    /// way to the store.
    pub struct PayloadBody<B> {
        #[pin]
        inner: B,
        checking: Option<Box<Checking>>,
    }
}

/// The state of a checked body.
#[derive(Debug)]
struct Checking {
    check: Check,
    /// The store's aws-chunked framing of the payload, when the checksum it was sent
    /// with travels on as a trailer.
    encoder: Option<Encoder>,
    /// Payload to forward, in order; the last `held` pieces wait for a later frame or
    /// for the end.
    queue: VecDeque<Bytes>,
    held: usize,
    /// Bytes forwarded so far.
    forwarded: u64,
    /// What the body forwards in all, when known.
    length: Option<u64>,
    /// The checks passed: what is queued is the rest of the body.
    ended: bool,
    /// The refusal, repeated if the body is polled again.
    failed: Option<S3Error>,
}

impl<B: Body> PayloadBody<B> {
    /// `inner`, unchanged.
    pub fn new(inner: B) -> Self {
        Self {
            inner,
            checking: None,
        }
    }

    /// `inner`, checked by `check` as it streams; its payload framed by `encoder` when
    /// one is given (which must frame the length `check` expects).
    pub fn checked(inner: B, check: Check, encoder: Option<Encoder>) -> Self {
        let length = match &encoder {
            Some(encoder) => Some(encoder.encoded_length()),
            None => check.forwarded_length().or(inner.size_hint().exact()),
        };
        Self {
            inner,
            checking: Some(Box::new(Checking {
                check,
                encoder,
                queue: VecDeque::new(),
                held: 0,
                forwarded: 0,
                length,
                ended: false,
                failed: None,
            })),
        }
    }

    /// A body already read to its end and checked: nothing more to forward.
    pub fn ended(inner: B) -> Self {
        let mut body = Self::checked(
            inner,
            Check::Plain {
                hash: None,
                checksum: None,
                md5: None,
            },
            None,
        );
        if let Some(checking) = body.checking.as_mut() {
            checking.ended = true;
            checking.length = Some(0);
        }
        body
    }
}

impl Checking {
    /// Checks a frame's data; its payload is held back and the previously held
    /// payload released.
    fn take(&mut self, data: &Bytes) -> Result<(), S3Error> {
        if data.is_empty() {
            return Ok(());
        }
        let before = self.queue.len();
        let (queue, encoder) = (&mut self.queue, &mut self.encoder);
        let mut overrun = false;
        self.check.feed(data, |piece| {
            let piece = data.slice_ref(piece);
            match encoder {
                None => queue.push_back(piece),
                Some(encoder) => {
                    overrun |= encoder.encode(piece, |b| queue.push_back(b)).is_err();
                }
            }
        })?;
        if overrun {
            // The decoder refuses more payload than announced before it is handed on.
            return Err(S3Error::internal());
        }
        let added = self.queue.len() - before;
        if added > 0 {
            self.held = added;
        }
        Ok(())
    }

    /// The end of the body: once the checks pass, everything queued may go.
    fn end(&mut self) -> Result<(), S3Error> {
        self.check.finish()?;
        if let Some(encoder) = &self.encoder {
            let end = self
                .check
                .verified_trailer()
                .and_then(|checksum| encoder.finish(&checksum))
                .ok_or_else(S3Error::internal)?;
            self.queue.push_back(end);
        }
        self.held = 0;
        self.ended = true;
        Ok(())
    }

    /// The next piece that may be forwarded.
    fn next(&mut self) -> Option<Bytes> {
        if self.queue.len() <= self.held {
            return None;
        }
        let piece = self.queue.pop_front()?;
        self.forwarded += piece.len() as u64;
        Some(piece)
    }

    fn refuse(&mut self, e: S3Error) -> BoxError {
        self.queue.clear();
        self.held = 0;
        self.failed = Some(e.clone());
        Box::new(BodyRefused(e))
    }
}

impl<B> Body for PayloadBody<B>
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
        let Some(checking) = this.checking.as_mut() else {
            return this.inner.poll_frame(cx).map_err(Into::into);
        };
        loop {
            if let Some(e) = &checking.failed {
                return Poll::Ready(Some(Err(Box::new(BodyRefused(e.clone())))));
            }
            if let Some(piece) = checking.next() {
                return Poll::Ready(Some(Ok(Frame::data(piece))));
            }
            if checking.ended {
                return Poll::Ready(None);
            }
            let polled = ready!(this.inner.as_mut().poll_frame(cx));
            let Some((_, ended)) = seen(&polled, &*this.inner) else {
                return Poll::Ready(polled.map(|r| r.map_err(Into::into)));
            };
            // HTTP trailers are not the payload's: they are not forwarded.
            let data = polled
                .as_ref()
                .and_then(|r| r.as_ref().ok())
                .and_then(Frame::data_ref);
            let mut checked = data.map_or(Ok(()), |data| checking.take(data));
            if checked.is_ok() && ended && !checking.ended {
                checked = checking.end();
            }
            if let Err(e) = checked {
                return Poll::Ready(Some(Err(checking.refuse(e))));
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.checking {
            None => self.inner.is_end_stream(),
            Some(checking) => checking.ended && checking.queue.is_empty(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.checking {
            None => self.inner.size_hint(),
            Some(checking) => match checking.length {
                Some(n) => SizeHint::with_exact(n.saturating_sub(checking.forwarded)),
                None => SizeHint::default(),
            },
        }
    }
}
