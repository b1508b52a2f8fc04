//! `auth.mode = "resign"`: the request body checked against what its verified signature
//! and its checksum announce as it streams to the store, aws-chunked bodies decoded into
//! plain ones (S3 API reference, "Authenticating Requests (AWS Signature Version 4)" and
//! its streaming pages; User Guide, "Checking object integrity"). Requests without a
//! `sigv4::Verified` (passthrough) pass unchanged. A checksum sent as a trailer goes on
//! to a store that reads trailers: the payload of a PutObject or UploadPart is framed
//! again for it (`s3::chunked::Encoder`) with the verified checksum as its trailer.

mod body;

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body::Body;
use http_body_util::BodyExt as _;
use tower::{Layer, Service, ServiceExt as _};

pub use body::{BodyRefused, ContentMd5, PayloadBody};

use crate::error::{BoxError, ProxyError};
use crate::layers::finish::{Finish, Next};
use crate::layers::resign::StorePayload;
use crate::s3::checksum::{self, Algorithm, Announced};
use crate::s3::chunked::{self, Encoder, Framing};
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::headers::{
    AMZ_TRAILER, AWS_CHUNKED, DECODED_CONTENT_LENGTH, SDK_CHECKSUM_ALGORITHM, drop_aws_chunked,
};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::sigv4::{STREAMING_UNSIGNED_TRAILER, Verified};
use crate::s3::store::{LiveStore, Store};
use body::Check;

/// Adds [`Payload`].
#[derive(Clone, Debug)]
pub struct PayloadLayer {
    idle_timeout: Duration,
    store: Arc<LiveStore>,
}

impl PayloadLayer {
    /// A layer giving clients `idle_timeout` to send each piece of a body it must read
    /// before the store is asked (a body that decodes to nothing); `store` says whether
    /// trailer checksums can be passed on.
    pub fn new(idle_timeout: Duration, store: Arc<LiveStore>) -> Self {
        Self {
            idle_timeout,
            store,
        }
    }
}

impl<S> Layer<S> for PayloadLayer {
    type Service = Payload<S>;
    fn layer(&self, inner: S) -> Payload<S> {
        Payload {
            inner,
            idle_timeout: self.idle_timeout,
            store: Arc::clone(&self.store),
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct Payload<S> {
    inner: S,
    idle_timeout: Duration,
    store: Arc<LiveStore>,
}

impl<S, B, RB> Service<Request<B>> for Payload<S>
where
    S: Service<Request<PayloadBody<B>>, Response = Response<RB>, Error = ProxyError>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
    RB: Send + 'static,
{
    type Response = Response<RB>;
    type Error = ProxyError;
    type Future = Finish<S::Future, (), Response<RB>, Response<RB>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let check = match req.extensions().get::<Verified>() {
            None => self.passthrough_check(&req),
            Some(verified) => check_for(verified, &req, self.store.get()),
        };
        let mut check = match check {
            Ok(Some(check)) => check,
            Ok(None) => return Finish::new(self.inner.call(req.map(PayloadBody::new)), (), finish),
            Err(e) => return Finish::refuse(e),
        };
        let encoder = match &check {
            Check::Chunked(v) => self.store_framing(&req, v),
            Check::Plain { .. } => None,
        };
        let (mut parts, body) = req.into_parts();
        if let Some(encoder) = &encoder {
            let named = self.store.get().names_aws_chunked();
            framed_headers(&mut parts.headers, encoder, named);
            parts
                .extensions
                .insert(StorePayload(STREAMING_UNSIGNED_TRAILER));
        } else if let Check::Chunked(v) = &check {
            decoded_headers(
                &mut parts.headers,
                v.decoded_length(),
                v.trailer_algorithm().is_some(),
            );
        }
        if body.is_end_stream() {
            // Nothing to stream: the checks are decided now.
            if let Err(e) = check.finish() {
                return Finish::refuse(e);
            }
            let req = Request::from_parts(parts, PayloadBody::new(body));
            return Finish::new(self.inner.call(req), (), finish);
        }
        if forwards_nothing(&parts.headers) {
            // The store would act on the head alone, before the body is checked: the
            // body is checked first (it holds nothing to forward), then the store asked.
            let clone = self.inner.clone();
            let inner = std::mem::replace(&mut self.inner, clone);
            let timeout = self.idle_timeout;
            return Finish::later(Box::pin(async move {
                let body = check_first(body, &mut check, timeout).await?;
                let req = Request::from_parts(parts, PayloadBody::ended(body));
                inner.oneshot(req).await.map_err(refused_body)
            }));
        }
        let req = Request::from_parts(parts, PayloadBody::checked(body, check, encoder));
        Finish::new(self.inner.call(req), (), finish)
    }
}

impl<S> Payload<S> {
    /// Passthrough: what the store would not check of a plain body, checked here before
    /// the store commits it: its `x-amz-checksum-*` header (`Store::checks_checksums`)
    /// and its `Content-MD5` (`Store::checks_content_md5`). An aws-chunked body's
    /// checksum is checked by `layers::aws_chunked`, which sees its payload, unless the
    /// body is empty (no payload, and no trailer to carry a checksum). Checksum headers
    /// are read (and refused when malformed) on every store.
    fn passthrough_check<B: Body>(&self, req: &Request<B>) -> Result<Option<Check>, S3Error> {
        let store = self.store.get();
        let op = op_of(req);
        let md5 = match store.checks_content_md5(op) {
            true => None,
            false => ContentMd5::from_headers(req.headers())?,
        };
        let framing = Framing::from_headers(req.headers())?;
        if framing.is_some() && !req.body().is_end_stream() {
            return match md5 {
                None => Ok(None),
                Some(_) => Err(md5_with_aws_chunked()),
            };
        }
        let checksum = match covers_body(req) {
            true => {
                let announced = checksum::announced(req.headers(), framing.as_ref())?;
                match store.checks_checksums(op) {
                    true => None,
                    false => checksum::Verifier::new(&announced),
                }
            }
            false => None,
        };
        Ok(
            (checksum.is_some() || md5.is_some()).then_some(Check::Plain {
                hash: None,
                checksum,
                md5,
            }),
        )
    }

    /// The store's framing of a decoded aws-chunked body whose checksum came as a
    /// trailer: for the writes whose checksum the store keeps (PutObject, UploadPart), of
    /// a length announced in advance, to a store that reads trailers.
    fn store_framing<B>(&self, req: &Request<B>, verifier: &chunked::Verifier) -> Option<Encoder> {
        let algorithm = verifier.trailer_algorithm()?;
        let length = verifier.decoded_length()?;
        let write = req
            .extensions()
            .get::<S3Request>()
            .is_some_and(|s3| matches!(s3.op, S3Op::PutObject | S3Op::UploadPart));
        (write && self.store.get().takes_trailer_checksums())
            .then(|| Encoder::new(length, algorithm))
    }
}

/// A failure caused by the body checks is the client's, with its own answer.
fn finish<T>((): (), result: Result<T, ProxyError>) -> Next<T> {
    Next::Done(result.map_err(refused_body))
}

fn refused_body(e: ProxyError) -> ProxyError {
    match e.body_failure::<BodyRefused>() {
        Some(refused) => refused.0.clone().into(),
        None => e,
    }
}

/// What the body of a verified request must be checked for; `None` when nothing (an
/// `UNSIGNED-PAYLOAD` body without a checksum).
fn check_for<B>(
    verified: &Verified,
    req: &Request<B>,
    store: Store,
) -> Result<Option<Check>, S3Error> {
    let headers = req.headers();
    let md5 = match store.checks_content_md5(op_of(req)) {
        true => None,
        false => ContentMd5::from_headers(headers)?,
    };
    let framing = match verified.payload.is_streaming() {
        false => None,
        // Both read `x-amz-content-sha256`: a streaming mode has a framing.
        true => Some(Framing::from_headers(headers)?.ok_or_else(S3Error::internal)?),
    };
    let announced = match covers_body(req) || framing.is_some() {
        true => checksum::announced(headers, framing.as_ref())?,
        false => Announced::None,
    };
    if let Some(framing) = framing {
        if md5.is_some() {
            return Err(md5_with_aws_chunked());
        }
        let verifier = chunked::Verifier::new(verified, framing, &announced);
        return Ok(Some(Check::Chunked(verifier)));
    }
    let hash = verified.payload.hasher();
    let checksum = checksum::Verifier::new(&announced);
    let any = hash.is_some() || checksum.is_some() || md5.is_some();
    Ok(any.then_some(Check::Plain {
        hash,
        checksum,
        md5,
    }))
}

/// The operation of a classified request (`Unknown` when it is not one).
fn op_of<B>(req: &Request<B>) -> S3Op {
    req.extensions()
        .get::<S3Request>()
        .map_or(S3Op::Unknown, |s3| s3.op)
}

/// A `Content-MD5` the proxy would check, on an aws-chunked body: SDKs send it on
/// PutObject and UploadPart only, where the store checks it.
fn md5_with_aws_chunked() -> S3Error {
    S3Error::new(
        S3ErrorCode::NotImplemented,
        "A Content-MD5 with an aws-chunked body is supported on PutObject and UploadPart only.",
    )
    .with_reason(Reason::AwsChunkedMode)
}

/// Whether a request's `x-amz-checksum-*` header is its body's: CompleteMultipartUpload's
/// checksum is the whole object's, a form upload's is a field.
pub fn covers_body<B>(req: &Request<B>) -> bool {
    !req.extensions()
        .get::<S3Request>()
        .is_some_and(|s3| matches!(s3.op, S3Op::CompleteMultipartUpload | S3Op::PostObject))
}

/// The headers of a body decoded from aws-chunked: its length (when announced), no
/// `aws-chunked` coding, no trailer announcement, and no SDK checksum algorithm when the
/// checksum it names was a trailer the store will not see.
fn decoded_headers(headers: &mut HeaderMap, decoded_length: Option<u64>, in_trailer: bool) {
    headers.remove(DECODED_CONTENT_LENGTH);
    headers.remove(AMZ_TRAILER);
    headers.remove(TRANSFER_ENCODING);
    match decoded_length {
        Some(n) => {
            headers.insert(CONTENT_LENGTH, HeaderValue::from(n));
        }
        // The HTTP client frames a body of unknown length itself.
        None => {
            headers.remove(CONTENT_LENGTH);
        }
    }
    if in_trailer {
        headers.remove(SDK_CHECKSUM_ALGORITHM);
    }
    drop_aws_chunked(headers);
}

/// The headers of a body framed again for the store by `encoder`: its encoded length,
/// the payload's length, the one trailer it carries. `x-amz-content-sha256` (the resign
/// layer's `STREAMING-UNSIGNED-PAYLOAD-TRAILER`) says how it is framed; `aws-chunked`
/// leads `Content-Encoding` only where the store wants it `named` (Garage, which drops
/// it from what it keeps; SeaweedFS keeps any coding it is sent as the object's).
/// `x-amz-sdk-checksum-algorithm` stays: the trailer has the checksum it names.
fn framed_headers(headers: &mut HeaderMap, encoder: &Encoder, named: bool) {
    headers.remove(TRANSFER_ENCODING);
    headers.insert(CONTENT_LENGTH, HeaderValue::from(encoder.encoded_length()));
    headers.insert(
        DECODED_CONTENT_LENGTH,
        HeaderValue::from(encoder.payload_length()),
    );
    headers.insert(AMZ_TRAILER, trailer_name(encoder.algorithm()));
    drop_aws_chunked(headers);
    if !named {
        return;
    }
    let mut value = AWS_CHUNKED.to_vec();
    if let Some(rest) = headers.get(CONTENT_ENCODING) {
        value.extend_from_slice(b", ");
        value.extend_from_slice(rest.as_bytes());
    }
    // Built from a valid value and a token: valid too.
    if let Ok(value) = HeaderValue::from_bytes(&value) {
        headers.insert(CONTENT_ENCODING, value);
    }
}

/// `x-amz-trailer` naming `algorithm`'s checksum field.
fn trailer_name(algorithm: Algorithm) -> HeaderValue {
    HeaderValue::from_name(algorithm.header())
}

/// Whether the request as forwarded announces an empty body (`Content-Length: 0`).
fn forwards_nothing(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() == b"0")
}

/// Reads a body that forwards nothing to its end through `check`, before the store is
/// asked; the body is handed back, ended.
async fn check_first<B>(mut body: B, check: &mut Check, timeout: Duration) -> Result<B, ProxyError>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    while !body.is_end_stream() {
        let frame = match tokio::time::timeout(timeout, body.frame()).await {
            Err(_) => return Err(ProxyError::ClientTimeout),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(ProxyError::ClientBody(e.into())),
            Ok(Some(Ok(frame))) => frame,
        };
        if let Some(data) = frame.data_ref() {
            check.feed(data, |_| {})?;
        }
    }
    check.finish()?;
    Ok(body)
}

#[cfg(test)]
#[path = "payload_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "payload_refusal_tests.rs"]
mod refusal_tests;
