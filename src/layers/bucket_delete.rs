//! Resign mode: a DeleteBucket of a bucket that still holds objects is refused as S3
//! refuses it (`409 BucketNotEmpty`) on stores that do not refuse it themselves.
//!
//! SeaweedFS 4.48 answers a DeleteBucket of a bucket holding objects, versions or delete
//! markers with `204` and deletes all of them (seen on the store). The proxy signs for
//! the store in resign mode, so it can look first: it lists the bucket's versions
//! (`?versions&max-keys=1`, which shows objects, versions and delete markers alike),
//! addressed exactly as the delete is (same path, same Host), and forwards the delete
//! only when the listing is empty. A listing the store refuses is the answer (a missing
//! bucket is its `404 NoSuchBucket`); nothing is deleted on a guess. An unknown store
//! (`generic`) that does not implement ListObjectVersions (`501`) is listed with
//! ListObjectsV2 instead. Uploads in progress do not count, as on RGW and Garage.
//!
//! The listing and the delete are two requests: an object written between them is
//! deleted with the bucket, a window S3 itself does not have. Passthrough mode has no
//! credentials of its own and forwards DeleteBucket as sent (README).

use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::{BoxFuture, Either};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::{BodyExt as _, Limited};
use quick_xml::Reader;
use quick_xml::events::Event;
use tower::{Layer, Service, ServiceExt as _};

use crate::error::{BoxError, ProxyError};
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::sigv4::Verified;
use crate::s3::store::LiveStore;

use super::copy::{CopyBody, client_host, empty, own_request};

/// The listing that shows objects, versions and delete markers alike.
const VERSIONS: &str = "versions&max-keys=1";
/// The listing of a store without versions.
const OBJECTS: &str = "list-type=2&max-keys=1";
/// The largest listing read: one entry asked for, a store may send a few.
const MAX_LISTING: usize = 256 * 1024;

/// Adds [`BucketDelete`].
#[derive(Clone)]
pub struct BucketDeleteLayer {
    store: std::sync::Arc<LiveStore>,
}

impl BucketDeleteLayer {
    /// A layer looking before a DeleteBucket on the stores that need it.
    pub fn new(store: std::sync::Arc<LiveStore>) -> Self {
        Self { store }
    }
}

impl<S> Layer<S> for BucketDeleteLayer {
    type Service = BucketDelete<S>;
    fn layer(&self, inner: S) -> BucketDelete<S> {
        BucketDelete {
            inner,
            store: std::sync::Arc::clone(&self.store),
        }
    }
}

/// See the module docs.
#[derive(Clone)]
pub struct BucketDelete<S> {
    inner: S,
    store: std::sync::Arc<LiveStore>,
}

impl<S, B, RB> Service<Request<CopyBody<B>>> for BucketDelete<S>
where
    S: Service<Request<CopyBody<B>>, Response = Response<RB>, Error = ProxyError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    RB: Body<Data = Bytes> + Send + 'static,
    RB::Error: Into<BoxError>,
{
    type Response = Response<RB>;
    type Error = ProxyError;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response<RB>, ProxyError>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<CopyBody<B>>) -> Self::Future {
        let look = req
            .extensions()
            .get::<S3Request>()
            .is_some_and(|s3| s3.op == S3Op::DeleteBucket)
            && req.extensions().get::<Verified>().is_some()
            && self.store.get().deletes_full_buckets();
        if !look {
            return Either::Left(self.inner.call(req));
        }
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        Either::Right(Box::pin(async move {
            let (parts, body) = req.into_parts();
            let listing = match list(inner.clone(), &parts, VERSIONS).await {
                // A store without ListObjectVersions: its objects are all there is.
                Err(ProxyError::Translated(e)) if e.code == S3ErrorCode::NotImplemented => {
                    list(inner.clone(), &parts, OBJECTS).await?
                }
                Ok(r) if r.status() == StatusCode::NOT_IMPLEMENTED => {
                    list(inner.clone(), &parts, OBJECTS).await?
                }
                other => other?,
            };
            if listing.status() != StatusCode::OK {
                return Ok(listing);
            }
            let xml = Limited::new(listing.into_body(), MAX_LISTING)
                .collect()
                .await
                .map_err(ProxyError::BadGateway)?
                .to_bytes();
            if holds_anything(&xml)? {
                return Err(ProxyError::Rejected(not_empty()));
            }
            inner.oneshot(Request::from_parts(parts, body)).await
        }))
    }
}

/// Lists the bucket the DeleteBucket `parts` names, addressed as it is, with `query`.
async fn list<S, B, RB>(
    inner: S,
    parts: &http::request::Parts,
    query: &str,
) -> Result<Response<RB>, ProxyError>
where
    S: Service<Request<CopyBody<B>>, Response = Response<RB>, Error = ProxyError>,
{
    let internal = || ProxyError::Rejected(S3Error::internal());
    // The path as the client sent it and signed it: the delete's own.
    let uri = Uri::try_from(format!("{}?{query}", parts.uri.path())).map_err(|_| internal())?;
    let s3 = parts
        .extensions
        .get::<S3Request>()
        .cloned()
        .ok_or_else(internal)?;
    let op = if query == VERSIONS {
        S3Op::ListObjectVersions
    } else {
        S3Op::ListObjectsV2
    };
    let req = own_request(
        Method::GET,
        uri,
        parts,
        S3Request { op, ..s3 },
        client_host(parts)?,
    )
    .body(empty::<B>())
    .map_err(|_| internal())?;
    inner.oneshot(req).await
}

/// Whether a listing shows an object, a version or a delete marker (an entry directly
/// under its root). A listing that is not one complete, well-formed document fails
/// closed: a truncated one must not read as empty.
fn holds_anything(xml: &[u8]) -> Result<bool, ProxyError> {
    let unreadable = || {
        ProxyError::BadGateway(BoxError::from(
            "the store's listing of a bucket to delete is not a complete XML document",
        ))
    };
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let (mut depth, mut roots, mut entries) = (0usize, 0usize, 0usize);
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|_| unreadable())?;
        match &event {
            Event::Start(e) | Event::Empty(e)
                if depth == 1
                    && matches!(
                        e.local_name().into_inner(),
                        "Contents" | "Version" | "DeleteMarker"
                    ) =>
            {
                entries += 1;
                depth += usize::from(matches!(event, Event::Start(_)));
            }
            Event::Start(_) => {
                roots += usize::from(depth == 0);
                depth += 1;
            }
            Event::Empty(_) => roots += usize::from(depth == 0),
            Event::End(_) => depth = depth.checked_sub(1).ok_or_else(unreadable)?,
            Event::Eof if depth == 0 && roots == 1 => return Ok(entries > 0),
            Event::Eof => return Err(unreadable()),
            _ => {}
        }
        buf.clear();
    }
}

/// S3's answer to a DeleteBucket of a bucket that holds objects.
fn not_empty() -> S3Error {
    S3Error::new(
        S3ErrorCode::BucketNotEmpty,
        "The bucket you tried to delete is not empty",
    )
    .with_reason(Reason::BucketNotEmpty)
}

#[cfg(test)]
#[path = "bucket_delete_tests.rs"]
mod tests;
