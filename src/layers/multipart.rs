//! Multipart key consistency (spec S9–S13): every part and the completion must carry
//! the key the upload was created with.
//!
//! Resign mode with `auth.binding_key_file`: stateless. The upload ID the client is
//! given carries a MAC over bucket, object, store upload ID and the upload's key
//! ([`crate::uploads::binding`]); parts, completion, ListParts and Abort are checked
//! against it and reach the store with the store's own ID. Any replica with the same
//! binding key checks the same way, after restarts.
//!
//! Otherwise (passthrough): checked against this replica's record of the upload; the
//! record is written from the store's CreateMultipartUpload answer and dropped when the
//! upload completes or is aborted.
//!
//! Either way the completion also meets the bucket's rule as it is now
//! ([`BucketPolicies::enforce_completion`]): parts were checked under the rule of their
//! time, and an upload opened before a stricter rule was loaded must not become an
//! object the rule refuses.

use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower::{Layer, Service};

use crate::config::LiveSsec;
use crate::credentials::{Credentials, LiveCredentials};
use crate::error::{BoxError, ProxyError};
use crate::layers::buffered::{Buffered, read_bounded};
use crate::layers::finish::{Finish, Next};
use crate::layers::inject::Injected;
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::policy::{BucketPolicies, Policy};
use crate::s3::sigv4::uri_encode;
use crate::s3::ssec::{self, Checked, KeyDigest};
use crate::s3::store::{LiveStore, UnknownUploads};
use crate::s3::strict::{QueryPair, edited_query};
use crate::s3::xml::{first_element, replace_first_element};
use crate::uploads::binding::Opened;
use crate::uploads::{Upload, UploadRecords};

/// Largest CreateMultipartUpload answer read whole; the part of a ListParts answer read
/// for its upload ID.
const MAX_ANSWER: usize = 64 * 1024;

/// Adds [`Multipart`].
#[derive(Clone, Debug)]
pub struct MultipartLayer {
    records: Arc<UploadRecords>,
    live: Arc<ArcSwap<LiveSsec>>,
    store: Arc<LiveStore>,
    credentials: LiveCredentials,
}

impl MultipartLayer {
    /// A layer keeping `records`, with `ssec.unknown_uploads` read from `live` (unset:
    /// the default of `store`); uploads are bound instead when `credentials` has a
    /// binding key.
    pub fn new(
        records: Arc<UploadRecords>,
        live: Arc<ArcSwap<LiveSsec>>,
        store: Arc<LiveStore>,
        credentials: LiveCredentials,
    ) -> Self {
        // The rules of the start count as ones uploads may have been opened under.
        records.opened().note(live.load_full());
        Self {
            records,
            live,
            store,
            credentials,
        }
    }
}

impl<S> Layer<S> for MultipartLayer {
    type Service = Multipart<S>;
    fn layer(&self, inner: S) -> Multipart<S> {
        Multipart {
            inner,
            records: Arc::clone(&self.records),
            live: Arc::clone(&self.live),
            store: Arc::clone(&self.store),
            credentials: Arc::clone(&self.credentials),
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct Multipart<S> {
    inner: S,
    records: Arc<UploadRecords>,
    live: Arc<ArcSwap<LiveSsec>>,
    store: Arc<LiveStore>,
    credentials: LiveCredentials,
}

/// What a successful answer changes in the record.
#[derive(Debug)]
pub enum Change {
    /// Nothing.
    None,
    /// A new upload, created with this key (or none).
    Record(Arc<UploadRecords>, String, String, Option<KeyDigest>),
    /// The upload is over.
    Forget(Arc<UploadRecords>, String, String, String),
    /// A new upload: its ID bound for bucket and object, with this key (or none).
    Bind(Arc<Credentials>, String, String, Option<KeyDigest>),
    /// ListParts of a bound upload: the client's ID in place of the store's.
    Restore(String),
}

impl<S, B, RB> Service<Request<B>> for Multipart<S>
where
    S: Service<Request<B>, Response = Response<RB>, Error = ProxyError>,
    RB: Body<Data = Bytes> + Send + Unpin + 'static,
    RB::Error: Into<BoxError>,
{
    type Response = Response<Buffered<RB>>;
    type Error = ProxyError;
    type Future = Finish<S::Future, Change, Response<RB>, Response<Buffered<RB>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let (Some(s3), Some(checked)) = (
            req.extensions().get::<S3Request>(),
            req.extensions().get::<Checked>(),
        ) else {
            return Finish::refuse(S3Error::internal());
        };
        // Only the multipart operations are this layer's; everything else passes without
        // a look at the credential table.
        if !is_multipart(s3.op) {
            return Finish::new(self.inner.call(req), Change::None, finish);
        }
        if let Some(credentials) = self.credentials.load_full()
            && credentials.binder().is_some()
        {
            let injected = injected_key(&req);
            let live = self.live.load();
            return match bound(credentials, s3, checked, &live.policies, injected) {
                Ok((store_id, change)) => {
                    if let Some(store_id) = store_id
                        && let Err(e) = with_upload_id(&mut req, &store_id)
                    {
                        return Finish::refuse(e);
                    }
                    Finish::new(self.inner.call(req), change, finish)
                }
                Err(e) => Finish::refuse(e),
            };
        }
        if let Err(e) = self.check(s3, checked, injected_key(&req)) {
            return Finish::refuse(e);
        }
        if s3.op == S3Op::CreateMultipartUpload {
            self.records.opened().note(self.live.load_full());
        }
        let change = match (s3.op, &s3.bucket, &s3.key, &s3.upload_id) {
            (S3Op::CreateMultipartUpload, Some(b), Some(k), _) => Change::Record(
                Arc::clone(&self.records),
                b.clone(),
                k.clone(),
                checked.destination,
            ),
            (
                S3Op::CompleteMultipartUpload | S3Op::AbortMultipartUpload,
                Some(b),
                Some(k),
                Some(id),
            ) => Change::Forget(Arc::clone(&self.records), b.clone(), k.clone(), id.clone()),
            _ => Change::None,
        };
        Finish::new(self.inner.call(req), change, finish)
    }
}

impl<S> Multipart<S> {
    /// Spec S9–S13 against this replica's record of the upload.
    fn check(&self, s3: &S3Request, checked: &Checked, injected: bool) -> Result<(), S3Error> {
        let (Some(bucket), Some(key), Some(id)) = (&s3.bucket, &s3.key, &s3.upload_id) else {
            return Ok(());
        };
        let part = matches!(s3.op, S3Op::UploadPart | S3Op::UploadPartCopy);
        if !part && s3.op != S3Op::CompleteMultipartUpload {
            return Ok(());
        }
        let complete = |created: Option<&dyn Fn(&KeyDigest) -> bool>| {
            check_key(created, checked.destination, part)?;
            match part {
                true => Ok(()),
                false => self
                    .live
                    .load()
                    .policies
                    .enforce_completion(bucket, created, injected),
            }
        };
        match self.records.get(bucket, key, id) {
            Upload::Plain => complete(None),
            Upload::Encrypted(d) => complete(Some(&|x| x.matches(&d))),
            Upload::Unknown if part && self.refuses_unknown(bucket) => Err(S3Error::new(
                S3ErrorCode::InvalidRequest,
                "This proxy has no record of how the multipart upload was initiated (another replica, a restart, or too long ago), so its parts cannot be checked against the upload's key. Start the upload again.",
            )
            .with_reason(Reason::UnknownUpload)),
            Upload::Unknown
                if !part && self.records.opened().rule_changed(&self.live.load(), bucket) =>
            {
                Err(S3Error::new(
                    S3ErrorCode::InvalidRequest,
                    "This proxy has no record of how the multipart upload was initiated (another replica, a restart, or too long ago), and the bucket's rule has changed since uploads were opened here, so the upload cannot be checked against it. Abort the upload and start it again.",
                )
                .with_reason(Reason::UnknownUpload))
            }
            Upload::Unknown => Ok(()),
        }
    }

    fn refuses_unknown(&self, bucket: &str) -> bool {
        let live = self.live.load();
        let unknown = live
            .unknown_uploads
            .unwrap_or_else(|| self.store.get().default_unknown_uploads());
        unknown == UnknownUploads::Reject
            && live.policies.for_bucket(Some(bucket)).policy != Policy::Forbid
    }
}

/// Resign mode's binding (module docs): the request checked against the upload ID's
/// tag; the store's upload ID to send instead of the client's, and what the answer
/// changes.
fn bound(
    credentials: Arc<Credentials>,
    s3: &S3Request,
    checked: &Checked,
    policies: &BucketPolicies,
    injected: bool,
) -> Result<(Option<String>, Change), S3Error> {
    let Some(binder) = credentials.binder() else {
        return Err(S3Error::internal());
    };
    let (Some(bucket), Some(key)) = (&s3.bucket, &s3.key) else {
        return Ok((None, Change::None));
    };
    if s3.op == S3Op::CreateMultipartUpload {
        let change = Change::Bind(
            Arc::clone(&credentials),
            bucket.clone(),
            key.clone(),
            checked.destination,
        );
        return Ok((None, change));
    }
    let Some(id) = &s3.upload_id else {
        return Ok((None, Change::None));
    };
    let part = matches!(s3.op, S3Op::UploadPart | S3Op::UploadPartCopy);
    let complete = s3.op == S3Op::CompleteMultipartUpload;
    let bound = match binder.open(bucket, key, id) {
        Opened::Bound(bound) => bound,
        Opened::Forged => return Err(no_such_upload()),
        // ListParts and Abort of an upload the proxy did not issue (ListMultipartUploads
        // shows the store's IDs): nothing is written, the store decides.
        Opened::Untagged if !part && !complete => return Ok((None, Change::None)),
        Opened::Untagged => return Err(unbound_upload()),
    };
    if part || complete {
        let same_key = |d: &KeyDigest| binder.key_matches(bucket, key, &bound, d);
        let created: Option<&dyn Fn(&KeyDigest) -> bool> = match bound.encrypted() {
            true => Some(&same_key),
            false => None,
        };
        check_key(created, checked.destination, part)?;
        if complete {
            policies.enforce_completion(bucket, created, injected)?;
        }
    }
    let change = match s3.op {
        S3Op::ListParts => Change::Restore(id.clone()),
        _ => Change::None,
    };
    Ok((Some(bound.store_id.to_owned()), change))
}

/// Spec S9–S12: a part must carry the key the upload was created with (`created`
/// tells a digest that is that key; `None`: created without SSE-C), or none if it had
/// none; a completion may leave the key out but not name another.
fn check_key(
    created: Option<&dyn Fn(&KeyDigest) -> bool>,
    destination: Option<KeyDigest>,
    part: bool,
) -> Result<(), S3Error> {
    let mismatch = || match part {
        true => ssec::parameters_mismatch(),
        false => ssec::complete_mismatch(),
    };
    match (created, destination) {
        (Some(_), None) if part => Err(ssec::part_missing_encryption()),
        (Some(same), Some(d)) if !same(&d) => Err(mismatch()),
        (None, Some(_)) => Err(mismatch()),
        _ => Ok(()),
    }
}

/// Whether the proxy filled in the request's key with the bucket's own.
fn injected_key<B>(req: &Request<B>) -> bool {
    req.extensions()
        .get::<Injected>()
        .is_some_and(|i| i.destination)
}

/// The operations this layer checks or changes.
fn is_multipart(op: S3Op) -> bool {
    matches!(
        op,
        S3Op::CreateMultipartUpload
            | S3Op::UploadPart
            | S3Op::UploadPartCopy
            | S3Op::CompleteMultipartUpload
            | S3Op::AbortMultipartUpload
            | S3Op::ListParts
    )
}

/// AWS's answer to an upload ID it does not know.
fn no_such_upload() -> S3Error {
    S3Error::new(
        S3ErrorCode::NoSuchUpload,
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
    .with_reason(Reason::ForgedUpload)
}

/// A part or completion for an upload ID the proxy did not issue.
fn unbound_upload() -> S3Error {
    S3Error::new(
        S3ErrorCode::InvalidRequest,
        "This upload ID was not issued by this proxy (ListMultipartUploads shows the store's own IDs), so the upload's key cannot be checked: its parts and completion are refused. ListParts and AbortMultipartUpload accept it; start the upload again to continue.",
    )
    .with_reason(Reason::UnboundUpload)
}

/// `req` with the `uploadId` query parameter set to the store's `store_id`; every other
/// byte of the target kept.
fn with_upload_id<B>(req: &mut Request<B>, store_id: &str) -> Result<(), S3Error> {
    if req.uri().query().is_none() {
        return Err(S3Error::internal());
    }
    *req.uri_mut() = edited_query(req.uri(), |name| match name {
        "uploadId" => QueryPair::With(format!("uploadId={}", uri_encode(store_id.as_bytes()))),
        _ => QueryPair::Keep,
    })?;
    Ok(())
}

fn finish<RB>(
    change: Change,
    result: Result<Response<RB>, ProxyError>,
) -> Next<Response<Buffered<RB>>>
where
    RB: Body<Data = Bytes> + Send + Unpin + 'static,
    RB::Error: Into<BoxError>,
{
    let response = match result {
        Ok(response) if response.status().is_success() => response,
        other => return Next::Done(other.map(|r| r.map(Buffered::new))),
    };
    match change {
        Change::None => Next::Done(Ok(response.map(Buffered::new))),
        Change::Forget(records, bucket, key, id) => {
            records.remove(&bucket, &key, &id);
            Next::Done(Ok(response.map(Buffered::new)))
        }
        Change::Bind(credentials, bucket, key, digest) => Next::Later(Box::pin(async move {
            let (parts, body) = response.into_parts();
            let read = read_bounded(body, MAX_ANSWER)
                .await
                .map_err(|e| ProxyError::BadGateway(e.into()))?;
            let (Some(binder), true) = (credentials.binder(), read.whole) else {
                return Err(ProxyError::BadGateway(
                    "createmultipartupload answer too large to bind".into(),
                ));
            };
            let bound = first_element(&read.bytes, "UploadId")
                .filter(|id| !id.is_empty())
                .map(|id| binder.bind(&bucket, &key, &id, digest.as_ref()))
                .and_then(|id| replace_first_element(&read.bytes, "UploadId", &id));
            let Some(body) = bound else {
                return Err(ProxyError::BadGateway(
                    "createmultipartupload answer has no upload id to bind".into(),
                ));
            };
            Ok(Response::from_parts(
                without_length(parts),
                read.replace(Bytes::from(body)),
            ))
        })),
        Change::Restore(client_id) => Next::Later(Box::pin(async move {
            let (parts, body) = response.into_parts();
            let read = read_bounded(body, MAX_ANSWER)
                .await
                .map_err(|e| ProxyError::BadGateway(e.into()))?;
            match replace_first_element(&read.bytes, "UploadId", &client_id) {
                Some(prefix) => Ok(Response::from_parts(
                    without_length(parts),
                    read.replace_read(Bytes::from(prefix)),
                )),
                None => {
                    tracing::warn!("listparts answer has no upload id to restore");
                    Ok(Response::from_parts(parts, read.into_body()))
                }
            }
        })),
        Change::Record(records, bucket, key, digest) => Next::Later(Box::pin(async move {
            let (parts, body) = response.into_parts();
            let read = read_bounded(body, MAX_ANSWER)
                .await
                .map_err(|e| ProxyError::BadGateway(e.into()))?;
            match first_element(&read.bytes, "UploadId").filter(|_| read.whole) {
                Some(id) if !id.is_empty() => records.insert(&bucket, &key, &id, digest),
                _ => tracing::warn!("createmultipartupload answer has no upload id to record"),
            }
            Ok(Response::from_parts(parts, read.into_body()))
        })),
    }
}

/// Response head for a body whose length changed.
fn without_length(mut parts: http::response::Parts) -> http::response::Parts {
    parts.headers.remove(http::header::CONTENT_LENGTH);
    parts
}

#[cfg(test)]
#[path = "multipart_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "multipart_bound_tests.rs"]
mod bound_tests;
