//! Multipart key consistency (spec S9–S13): every part and the completion must carry
//! the key the upload was created with, checked against this replica's record of the
//! upload; the record is written from the store's CreateMultipartUpload answer and
//! dropped when the upload completes or is aborted.

use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower::{Layer, Service};

use crate::config::LiveSsec;
use crate::error::{BoxError, ProxyError};
use crate::layers::buffered::{Buffered, read_bounded};
use crate::layers::finish::{Finish, Next};
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::policy::Policy;
use crate::s3::ssec::{self, Checked, KeyDigest};
use crate::s3::store::{LiveStore, UnknownUploads};
use crate::s3::xml::first_element;
use crate::uploads::{Upload, UploadRecords};

/// Largest CreateMultipartUpload answer read whole.
const MAX_ANSWER: usize = 64 * 1024;

/// Adds [`Multipart`].
#[derive(Clone, Debug)]
pub struct MultipartLayer {
    records: Arc<UploadRecords>,
    live: Arc<ArcSwap<LiveSsec>>,
    store: Arc<LiveStore>,
}

impl MultipartLayer {
    /// A layer keeping `records`, with `ssec.unknown_uploads` read from `live` (unset:
    /// the default of `store`).
    pub fn new(
        records: Arc<UploadRecords>,
        live: Arc<ArcSwap<LiveSsec>>,
        store: Arc<LiveStore>,
    ) -> Self {
        Self {
            records,
            live,
            store,
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

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (Some(s3), Some(checked)) = (
            req.extensions().get::<S3Request>(),
            req.extensions().get::<Checked>(),
        ) else {
            return Finish::refuse(S3Error::internal());
        };
        if let Err(e) = self.check(s3, checked) {
            return Finish::refuse(e);
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
    fn check(&self, s3: &S3Request, checked: &Checked) -> Result<(), S3Error> {
        let (Some(bucket), Some(key), Some(id)) = (&s3.bucket, &s3.key, &s3.upload_id) else {
            return Ok(());
        };
        let part = matches!(s3.op, S3Op::UploadPart | S3Op::UploadPartCopy);
        if !part && s3.op != S3Op::CompleteMultipartUpload {
            return Ok(());
        }
        let mismatch = || match part {
            true => ssec::parameters_mismatch(),
            false => ssec::complete_mismatch(),
        };
        match (self.records.get(bucket, key, id), checked.destination) {
            (Upload::Encrypted(_), None) if part => Err(ssec::part_missing_encryption()),
            (Upload::Encrypted(d), Some(x)) if !x.matches(&d) => Err(mismatch()),
            (Upload::Plain, Some(_)) => Err(mismatch()),
            (Upload::Unknown, _) if part && self.refuses_unknown(bucket) => Err(S3Error::new(
                S3ErrorCode::InvalidRequest,
                "This proxy has no record of how the multipart upload was initiated (another replica, a restart, or too long ago), so its parts cannot be checked against the upload's key. Start the upload again.",
            )
            .with_reason(Reason::UnknownUpload)),
            _ => Ok(()),
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

#[cfg(test)]
#[path = "multipart_tests.rs"]
mod tests;
