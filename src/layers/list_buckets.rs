//! Resign mode's ListBuckets for a client limited to some buckets (DESIGN "Two auth
//! modes"; AWS API reference, "ListBuckets"): the request goes to the store without
//! its paging (`max-buckets`, `continuation-token`), and a successful answer is read
//! whole (bounded) and cut down by `s3::list_buckets` to the buckets the client's scope
//! allows, without a continuation token. A store's token can spell the next bucket's
//! name (SeaweedFS's is its base64), and pages of one bucket from tokens of the client's
//! making would tell, by which come back empty, where the other buckets' names fall:
//! so such a client gets every bucket it may see in one answer. Other requests, and
//! clients allowed every bucket, pass untouched and unread.

use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderValue, Request, Response};
use http_body::Body;
use tower::{Layer, Service};

use crate::config::BucketScope;
use crate::credentials::LiveCredentials;
use crate::error::{BoxError, ProxyError};
use crate::layers::buffered::{Buffered, read_bounded};
use crate::layers::finish::{Finish, Next};
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::list_buckets::filter;
use crate::s3::op::{S3Op, S3Request};
use crate::s3::sigv4::Verified;
use crate::s3::strict::{QueryPair, edited_query};

/// Largest ListBuckets answer filtered: some 30 000 buckets at ~140 bytes each, far
/// above what a store lists on one page; beyond it the answer is refused, not passed.
pub const MAX_LIST: usize = 4 << 20;

/// Adds [`ListBuckets`].
#[derive(Clone, Debug)]
pub struct ListBucketsLayer {
    credentials: LiveCredentials,
}

impl ListBucketsLayer {
    /// A layer reading the clients' scopes from the running credential table.
    pub fn new(credentials: LiveCredentials) -> Self {
        Self { credentials }
    }
}

impl<S> Layer<S> for ListBucketsLayer {
    type Service = ListBuckets<S>;
    fn layer(&self, inner: S) -> ListBuckets<S> {
        ListBuckets {
            inner,
            credentials: std::sync::Arc::clone(&self.credentials),
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct ListBuckets<S> {
    inner: S,
    credentials: LiveCredentials,
}

impl<S, B, RB> Service<Request<B>> for ListBuckets<S>
where
    S: Service<Request<B>, Response = Response<RB>, Error = ProxyError>,
    RB: Body<Data = Bytes> + Send + Unpin + 'static,
    RB::Error: Into<BoxError>,
{
    type Response = Response<Buffered<RB>>;
    type Error = ProxyError;
    type Future = Finish<S::Future, Option<BucketScope>, Response<RB>, Response<Buffered<RB>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let scope = match self.scope(&req) {
            Ok(scope) => scope,
            Err(e) => return Finish::refuse(e),
        };
        if scope.is_some() {
            match edited_query(req.uri(), |name| match name {
                "max-buckets" | "continuation-token" => QueryPair::Drop,
                _ => QueryPair::Keep,
            }) {
                Ok(uri) => *req.uri_mut() = uri,
                Err(e) => return Finish::refuse(e),
            }
        }
        Finish::new(self.inner.call(req), scope, finish)
    }
}

impl<S> ListBuckets<S> {
    /// The scope to filter the answer by: `None` for any other request, passthrough
    /// mode, or a client allowed every bucket.
    fn scope<B>(&self, req: &Request<B>) -> Result<Option<BucketScope>, S3Error> {
        let listing = req
            .extensions()
            .get::<S3Request>()
            .is_some_and(|s3| s3.op == S3Op::ListBuckets);
        if !listing {
            return Ok(None);
        }
        let Some(credentials) = self.credentials.load_full() else {
            return Ok(None);
        };
        // The auth layer verified every request of resign mode; a client no longer in
        // the table (a reload in between) sees nothing.
        let client = req
            .extensions()
            .get::<Verified>()
            .and_then(|v| credentials.client(&v.access_key_id))
            .ok_or_else(|| {
                S3Error::new(S3ErrorCode::AccessDenied, "Access Denied")
                    .with_reason(Reason::ClientScope)
            })?;
        Ok(match &client.buckets {
            BucketScope::All => None,
            scope @ BucketScope::Only(_) => Some(scope.clone()),
        })
    }
}

fn finish<RB>(
    scope: Option<BucketScope>,
    result: Result<Response<RB>, ProxyError>,
) -> Next<Response<Buffered<RB>>>
where
    RB: Body<Data = Bytes> + Send + Unpin + 'static,
    RB::Error: Into<BoxError>,
{
    let (scope, response) = match (scope, result) {
        (Some(scope), Ok(response)) if response.status().is_success() => (scope, response),
        (_, other) => return Next::Done(other.map(|r| r.map(Buffered::new))),
    };
    Next::Later(Box::pin(async move {
        let (mut parts, body) = response.into_parts();
        let read = read_bounded(body, MAX_LIST)
            .await
            .map_err(|e| ProxyError::BadGateway(e.into()))?;
        if !read.whole {
            return Err(too_large().into());
        }
        let kept = filter(&read.bytes, |bucket| scope.allows(bucket))
            .map_err(|e| ProxyError::BadGateway(Box::new(e)))?;
        parts.headers.remove(TRANSFER_ENCODING);
        parts
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(kept.len()));
        Ok(Response::from_parts(parts, read.replace(Bytes::from(kept))))
    }))
}

/// The refusal of a bucket list too large to filter.
fn too_large() -> S3Error {
    S3Error::new(
        S3ErrorCode::NotImplemented,
        "The bucket list is larger than the proxy filters for credentials limited to some buckets (4 MiB).",
    )
    .with_reason(Reason::ClientScope)
}

#[cfg(test)]
#[path = "list_buckets_tests.rs"]
mod tests;
