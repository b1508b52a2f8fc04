//! A small request body held whole, then checked (and possibly rewritten) before any
//! of it is sent: a CompleteMultipartUpload part list to reveal (`layers::etag`), a
//! DeleteObjects key list to check (`layers::delete_keys`). A body the check refuses,
//! or one past its bound, fails with [`BodyRefused`] before a byte left, so the store
//! acts on nothing; `layers::payload` turns that into the client's answer.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::error::BoxError;
use crate::layers::payload::BodyRefused;
use crate::s3::error::{S3Error, S3ErrorCode};
use crate::s3::xml::Budget;

/// What a held body is for.
pub trait Hold {
    /// The largest body held.
    fn limit(&self) -> usize;

    /// The answer to a body past [`Hold::limit`].
    fn too_large(&self) -> S3Error;

    /// The bytes shared with other requests holding bodies of the same kind, if any.
    fn budget(&self) -> Option<&'static Budget> {
        None
    }

    /// The body to send in place of the whole `body`, or the refusal.
    fn finish(&mut self, body: Vec<u8>) -> Result<Bytes, S3Error>;
}

/// A body being held for `H`.
#[derive(Debug)]
pub struct Held<H: Hold> {
    hold: H,
    /// The body so far (what it takes of the budget).
    body: Vec<u8>,
    state: State,
}

#[derive(Debug)]
enum State {
    Reading,
    /// Refused: the error is the body's next frame.
    Refused(S3Error),
    Done,
}

impl<H: Hold> Held<H> {
    /// A body to be held for `hold`.
    pub fn new(hold: H) -> Box<Self> {
        Box::new(Self {
            hold,
            body: Vec::new(),
            state: State::Reading,
        })
    }

    /// A body refused before any of it was read.
    pub fn refused(hold: H, refusal: S3Error) -> Box<Self> {
        Box::new(Self {
            hold,
            body: Vec::new(),
            state: State::Refused(refusal),
        })
    }

    /// Takes `data` into the body, unless that goes past the limit or the budget.
    fn take(&mut self, data: &[u8]) -> Result<(), S3Error> {
        if self.body.len() + data.len() > self.hold.limit() {
            return Err(self.hold.too_large());
        }
        if self.hold.budget().is_some_and(|b| !b.take(data.len())) {
            return Err(S3Error::new(
                S3ErrorCode::ServiceUnavailable,
                "Please reduce your request rate.",
            ));
        }
        self.body.extend_from_slice(data);
        Ok(())
    }

    /// The whole body, checked.
    fn finish(&mut self) -> Result<Bytes, S3Error> {
        let body = std::mem::take(&mut self.body);
        if let Some(budget) = self.hold.budget() {
            budget.give(body.len());
        }
        self.hold.finish(body)
    }
}

impl<H: Hold> Drop for Held<H> {
    fn drop(&mut self) {
        if let Some(budget) = self.hold.budget() {
            budget.give(self.body.len());
        }
    }
}

pin_project! {
    /// The request body: held for `H` when asked, else passed through.
    pub struct HeldBody<B, H: Hold> {
        #[pin]
        inner: B,
        held: Option<Box<Held<H>>>,
    }
}

impl<B, H: Hold> HeldBody<B, H> {
    /// `inner`, held when `held` is set.
    pub fn new(inner: B, held: Option<Box<Held<H>>>) -> Self {
        Self { inner, held }
    }
}

impl<B, H> Body for HeldBody<B, H>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
    H: Hold,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        let Some(held) = this.held.as_mut() else {
            return this
                .inner
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(Into::into)));
        };
        loop {
            match std::mem::replace(&mut held.state, State::Done) {
                State::Done => return Poll::Ready(None),
                State::Refused(e) => return Poll::Ready(Some(Err(Box::new(BodyRefused(e))))),
                State::Reading => held.state = State::Reading,
            }
            match ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    // Trailers of a plain body were consumed by the body checks.
                    if let Some(data) = frame.data_ref()
                        && let Err(e) = held.take(data)
                    {
                        held.state = State::Refused(e);
                    }
                }
                Some(Err(e)) => {
                    held.state = State::Done;
                    return Poll::Ready(Some(Err(e.into())));
                }
                None => {
                    held.state = State::Done;
                    return Poll::Ready(Some(match held.finish() {
                        Ok(body) => Ok(Frame::data(body)),
                        Err(e) => Err(Box::new(BodyRefused(e))),
                    }));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.held {
            Some(held) => matches!(held.state, State::Done),
            None => self.inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        // A held body keeps its length (a part list revealed in place, a key list
        // unchanged) or is not sent at all.
        self.inner.size_hint()
    }
}
