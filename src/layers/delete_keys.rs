//! The keys of a DeleteObjects body through the store's key refusals
//! (`Store::key_refusal`) before the store sees any of them: SeaweedFS deletes the parts
//! of another client's upload (`.uploads/<upload id>/…`) named in the list, and reads
//! `a//b` as `a/b`. A key with a `.` or `..` segment is refused as in a path
//! (`strict::check_key`), rather than left to the store to refuse or resolve. Only for a
//! store that needs it (`Store::checks_deleted_keys`).
//!
//! Its entries' conditions (`<ETag>`, `<LastModifiedTime>`, `<Size>`) that the store
//! ignores (`Store::ignored_entry_conditions`: it would delete the object anyway) are
//! refused on every store, as DeleteObject's conditional headers are (the SSE-C layer).
//! With opaque ETags, an object's `<ETag>` in the list is refused on every store too:
//! the store compares it with its own ETag, which for SSE-C objects on SeaweedFS and
//! RGW is the plaintext's MD5, so a conditional delete would confirm a guess at an
//! object's content that opaque mode hides.
//!
//! It sits below the body checks of resign mode, so it reads the body as the store will
//! get it (aws-chunked decoded, signature and checksum verified). The body (a key list)
//! is read whole, up to [`MAX_DELETE_LIST`], and sent unchanged only if it passes;
//! otherwise the body fails with the refusal before a byte of it left
//! (`layers::held`), so the store deletes nothing. In passthrough mode an
//! aws-chunked key list is refused: its framing reaches the store undecoded.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Request;
use tower::{Layer, Service};

use crate::layers::held::{Held, HeldBody, Hold};
use crate::s3::chunked::Framing;
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::sigv4::Verified;
use crate::s3::store::{LiveStore, Store};
use crate::s3::strict;
use crate::s3::xml::{Budget, MAX_DELETE_LIST, element_texts};

/// Adds [`DeleteKeys`].
#[derive(Clone, Debug)]
pub struct DeleteKeysLayer {
    store: Arc<LiveStore>,
    opaque: bool,
}

impl DeleteKeysLayer {
    /// A layer for the store as recognised; `opaque`: ETags are opaque
    /// (`etag.mode = "opaque"`).
    pub fn new(store: Arc<LiveStore>, opaque: bool) -> Self {
        Self { store, opaque }
    }
}

impl<S> Layer<S> for DeleteKeysLayer {
    type Service = DeleteKeys<S>;
    fn layer(&self, inner: S) -> DeleteKeys<S> {
        DeleteKeys {
            inner,
            store: Arc::clone(&self.store),
            opaque: self.opaque,
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct DeleteKeys<S> {
    inner: S,
    store: Arc<LiveStore>,
    opaque: bool,
}

impl<S, B> Service<Request<B>> for DeleteKeys<S>
where
    S: Service<Request<HeldBody<B, KeyList>>>,
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
        let keys = store.checks_deleted_keys();
        let held = deletes.then(|| {
            let list = KeyList {
                store,
                keys,
                opaque: self.opaque,
            };
            let undecoded = req.extensions().get::<Verified>().is_none()
                && !matches!(Framing::from_headers(req.headers()), Ok(None));
            match undecoded {
                true => Held::refused(
                    list,
                    S3Error::new(
                        S3ErrorCode::NotImplemented,
                        "The proxy reads a DeleteObjects key list before the store does; send it without aws-chunked encoding.",
                    ),
                ),
                false => Held::new(list),
            }
        });
        self.inner.call(req.map(|inner| HeldBody::new(inner, held)))
    }
}

/// Bytes of key lists held at once across every request; a list that would go past
/// it is refused with `503 ServiceUnavailable` (the client may retry).
pub const MAX_HELD_DELETE_LISTS: usize = 32 << 20;

static HELD: Budget = Budget::new(MAX_HELD_DELETE_LISTS);

/// A key list checked for entry conditions the store ignores, against the store's key
/// refusals (`keys`) and, with opaque ETags, for ETag conditions.
#[derive(Debug)]
pub struct KeyList {
    store: Store,
    keys: bool,
    opaque: bool,
}

impl Hold for KeyList {
    fn limit(&self) -> usize {
        MAX_DELETE_LIST
    }

    fn too_large(&self) -> S3Error {
        S3Error::new(
            S3ErrorCode::MalformedXML,
            format!("The DeleteObjects key list is larger than {MAX_DELETE_LIST} bytes."),
        )
    }

    fn budget(&self) -> Option<&'static Budget> {
        Some(&HELD)
    }

    /// The whole body, if no entry has a condition the store ignores, every key passes
    /// and, with opaque ETags, no entry names an ETag.
    fn finish(&mut self, body: Vec<u8>) -> Result<Bytes, S3Error> {
        let texts = |name: &str| {
            element_texts(&body, name).map_err(|why| {
                S3Error::new(
                    S3ErrorCode::MalformedXML,
                    format!("The DeleteObjects key list {why}."),
                )
            })
        };
        if self.opaque && !texts("ETag")?.is_empty() {
            return Err(S3Error::new(
                S3ErrorCode::NotImplemented,
                "A DeleteObjects condition on an object's ETag is not supported with etag.mode = \"opaque\": the store would compare it with its own ETag.",
            )
            .with_reason(Reason::StoreRefusal));
        }
        for &element in self.store.ignored_entry_conditions() {
            if !texts(element)?.is_empty() {
                return Err(self.store.entry_condition_refusal(element));
            }
        }
        // SeaweedFS reads an empty condition as none and deletes.
        if texts("ETag")?.iter().any(|etag| etag.trim().is_empty()) {
            return Err(S3Error::new(
                S3ErrorCode::InvalidArgument,
                "A DeleteObjects entry has an empty <ETag> condition, which stores read as no condition.",
            ));
        }
        if !self.keys {
            return Ok(Bytes::from(body));
        }
        let refusal = |key: &String| {
            strict::check_key(key)
                .err()
                .or_else(|| self.store.key_refusal(key))
        };
        match texts("Key")?.iter().find_map(refusal) {
            Some(refusal) => Err(refusal),
            None => Ok(Bytes::from(body)),
        }
    }
}

#[cfg(test)]
#[path = "delete_keys_tests.rs"]
mod tests;
