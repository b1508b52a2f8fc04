//! The keys of a DeleteObjects body through the store's key refusals
//! (`Store::key_refusal`) before the store sees any of them: SeaweedFS deletes the parts
//! of another client's upload (`.uploads/<upload id>/…`) named in the list, and reads
//! `a//b` as `a/b`. Only for a store that needs it (`Store::checks_deleted_keys`); other
//! requests pass untouched.
//!
//! It sits below the body checks of resign mode, so it reads the body as the store will
//! get it (aws-chunked decoded, signature and checksum verified). The body (a key list)
//! is read whole, up to [`MAX_DELETE_LIST`], and sent unchanged only if every key
//! passes; otherwise the body fails with the refusal before a byte of it left (as
//! `layers::payload` does), so the store deletes nothing. In passthrough mode an
//! aws-chunked key list is refused: its framing reaches the store undecoded.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::Request;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::error::BoxError;
use crate::layers::payload::BodyRefused;
use crate::s3::chunked::Framing;
use crate::s3::error::{S3Error, S3ErrorCode};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::sigv4::Verified;
use crate::s3::store::{LiveStore, Store};
use crate::s3::xml::{Budget, MAX_DELETE_LIST, element_texts};

/// Adds [`DeleteKeys`].
#[derive(Clone, Debug)]
pub struct DeleteKeysLayer {
    store: Arc<LiveStore>,
}

impl DeleteKeysLayer {
    /// A layer for the store as recognised.
    pub fn new(store: Arc<LiveStore>) -> Self {
        Self { store }
    }
}

impl<S> Layer<S> for DeleteKeysLayer {
    type Service = DeleteKeys<S>;
    fn layer(&self, inner: S) -> DeleteKeys<S> {
        DeleteKeys {
            inner,
            store: Arc::clone(&self.store),
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct DeleteKeys<S> {
    inner: S,
    store: Arc<LiveStore>,
}

impl<S, B> Service<Request<B>> for DeleteKeys<S>
where
    S: Service<Request<KeysBody<B>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> S::Future {
        let store = self.store.get();
        let deletes = req
            .extensions()
            .get::<S3Request>()
            .is_some_and(|s3| s3.op == S3Op::DeleteObjects);
        let hold = (deletes && store.checks_deleted_keys()).then(|| {
            let undecoded = req.extensions().get::<Verified>().is_none()
                && !matches!(Framing::from_headers(req.headers()), Ok(None));
            Box::new(Holding {
                store,
                body: Vec::new(),
                state: match undecoded {
                    true => State::Refused(S3Error::new(
                        S3ErrorCode::NotImplemented,
                        "The proxy reads the keys of a DeleteObjects request for this store; send the key list without aws-chunked encoding.",
                    )),
                    false => State::Reading,
                },
            })
        });
        self.inner.call(req.map(|inner| KeysBody { inner, hold }))
    }
}

/// Bytes of key lists held at once across every request; a list that would go past
/// it is refused with `503 ServiceUnavailable` (the client may retry).
pub const MAX_HELD_DELETE_LISTS: usize = 32 << 20;

static HELD: Budget = Budget::new(MAX_HELD_DELETE_LISTS);

/// The state of a key list being read.
#[derive(Debug)]
struct Holding {
    store: Store,
    /// The body so far.
    body: Vec<u8>,
    state: State,
}

#[derive(Debug)]
enum State {
    Reading,
    /// Refused before the body was read.
    Refused(S3Error),
    Done,
}

impl Drop for Holding {
    fn drop(&mut self) {
        HELD.give(self.body.len());
    }
}

impl Holding {
    /// The whole body, if every key passes.
    fn finish(&mut self) -> Result<Bytes, S3Error> {
        let body = std::mem::take(&mut self.body);
        HELD.give(body.len());
        let keys = element_texts(&body, "Key").map_err(|why| {
            S3Error::new(
                S3ErrorCode::MalformedXML,
                format!("The DeleteObjects key list {why}."),
            )
        })?;
        match keys.iter().find_map(|key| self.store.key_refusal(key)) {
            Some(refusal) => Err(refusal),
            None => Ok(Bytes::from(body)),
        }
    }
}

pin_project! {
    /// The request body, held whole and its keys checked when [`DeleteKeys`] asked.
    pub struct KeysBody<B> {
        #[pin]
        inner: B,
        hold: Option<Box<Holding>>,
    }
}

impl<B> Body for KeysBody<B>
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
        let Some(hold) = this.hold.as_mut() else {
            return this
                .inner
                .poll_frame(cx)
                .map(|f| f.map(|r| r.map_err(Into::into)));
        };
        loop {
            match std::mem::replace(&mut hold.state, State::Done) {
                State::Done => return Poll::Ready(None),
                State::Refused(e) => return Poll::Ready(Some(Err(Box::new(BodyRefused(e))))),
                State::Reading => hold.state = State::Reading,
            }
            match ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    // Trailers of a plain body were consumed by the body checks.
                    if let Some(data) = frame.data_ref() {
                        if hold.body.len() + data.len() > MAX_DELETE_LIST {
                            hold.state = State::Refused(S3Error::new(
                                S3ErrorCode::MalformedXML,
                                format!(
                                    "The DeleteObjects key list is larger than {MAX_DELETE_LIST} bytes."
                                ),
                            ));
                            continue;
                        }
                        if !HELD.take(data.len()) {
                            hold.state = State::Refused(S3Error::new(
                                S3ErrorCode::ServiceUnavailable,
                                "Please reduce your request rate.",
                            ));
                            continue;
                        }
                        hold.body.extend_from_slice(data);
                    }
                }
                Some(Err(e)) => {
                    hold.state = State::Done;
                    return Poll::Ready(Some(Err(e.into())));
                }
                None => {
                    hold.state = State::Done;
                    return Poll::Ready(Some(match hold.finish() {
                        Ok(body) => Ok(Frame::data(body)),
                        Err(e) => Err(Box::new(BodyRefused(e))),
                    }));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.hold {
            Some(hold) => matches!(hold.state, State::Done),
            None => self.inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        // The body is sent unchanged or not at all.
        self.inner.size_hint()
    }
}

#[cfg(test)]
#[path = "delete_keys_tests.rs"]
mod tests;
