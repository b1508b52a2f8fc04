//! Resign mode's SSE-C copies on stores that get them wrong (`Store::copy_plan`): the
//! proxy signs for the store, so it can make requests of its own.
//!
//! * Verify the source: SeaweedFS copies with any copy-source key (a wrong one gives a
//!   500, or undecryptable data in a plain destination). The proxy first reads the
//!   source's head with that key and answers a wrong one as AWS does (400
//!   `InvalidRequest`, spec S6); then the store copies.
//! * Stream: Ceph RGW 16.2 stores an SSE-C CopyObject in plaintext or refuses it, and
//!   decrypts an UploadPartCopy's source with the upload's key; SeaweedFS refuses or
//!   writes plaintext into SSE-C uploads. The proxy reads the source (its key, the
//!   copy's range, the copy-source conditionals as the read's own) and writes the body as
//!   it arrives as a PutObject or UploadPart of the destination, then answers with
//!   CopyObject's or UploadPartCopy's result. Memory stays bounded: the body is never
//!   held. Metadata and content headers come from the source, or from the request with
//!   `x-amz-metadata-directive: REPLACE`.
//!
//! The layer sits below the SSE-C and multipart layers (the request is validated, the
//! store's upload ID restored) and above the store-error and ETag layers, which treat
//! the proxy's reads and writes like any other: errors in AWS's words, ETags canonical
//! or opaque, every request signed for the store. Passthrough requests and every other
//! copy pass untouched.

use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::TryFutureExt as _;
use futures_util::future::{BoxFuture, Either, MapOk};
use http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_LANGUAGE, CONTENT_LENGTH,
    CONTENT_TYPE, ETAG, EXPIRES, HOST, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH,
    IF_UNMODIFIED_SINCE, RANGE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use http_body::Body;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt as _, Empty, Full};
use tower::{Layer, Service, ServiceExt as _};

use crate::error::{BoxError, ProxyError};
use crate::forwarding::ClientHost;
use crate::inject::Group;
use crate::s3::error::{S3Error, S3ErrorCode};
use crate::s3::headers::{
    CONTENT_SHA256, COPY_SOURCE, COPY_SOURCE_IF_MATCH, COPY_SOURCE_IF_NONE_MATCH, REQUEST_ID, SSE,
    SSE_C_ALGORITHM, SSE_C_KEY_MD5,
};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::sigv4::{PayloadMode, UNSIGNED_PAYLOAD, Verified};
use crate::s3::ssec::{self, Checked, KeyDigest};
use crate::s3::store::{CopyPlan, LiveStore};
use crate::s3::strict::{Addressing, HostReading, Placement, copy_source_object};
use crate::store_client::object_path;

/// The largest object CopyObject copies, and the largest part (S3 API reference).
const MAX_COPY: u64 = 5 * 1024 * 1024 * 1024;

const COPY_SOURCE_IF_MODIFIED_SINCE: HeaderName =
    HeaderName::from_static("x-amz-copy-source-if-modified-since");
const COPY_SOURCE_IF_UNMODIFIED_SINCE: HeaderName =
    HeaderName::from_static("x-amz-copy-source-if-unmodified-since");
const COPY_SOURCE_RANGE: HeaderName = HeaderName::from_static("x-amz-copy-source-range");
const COPY_SOURCE_VERSION_ID: HeaderName = HeaderName::from_static("x-amz-copy-source-version-id");
const METADATA_DIRECTIVE: HeaderName = HeaderName::from_static("x-amz-metadata-directive");
const TAGGING_DIRECTIVE: HeaderName = HeaderName::from_static("x-amz-tagging-directive");
const TAGGING_COUNT: HeaderName = HeaderName::from_static("x-amz-tagging-count");
const VERSION_ID: HeaderName = HeaderName::from_static("x-amz-version-id");
const ID_2: HeaderName = HeaderName::from_static("x-amz-id-2");

/// The request body below this layer: the client's, or the proxy's own.
pub type CopyBody<B> = http_body_util::Either<B, UnsyncBoxBody<Bytes, ProxyError>>;

/// The response body above this layer: the store's, or a copy result the proxy wrote.
pub type CopyResponseBody<RB> = http_body_util::Either<RB, Full<Bytes>>;

/// Adds [`SsecCopy`].
#[derive(Clone)]
pub struct SsecCopyLayer {
    store: std::sync::Arc<LiveStore>,
    addressing: std::sync::Arc<Addressing>,
}

impl SsecCopyLayer {
    /// A layer copying per the recognised store's plan; `addressing` places the Host of
    /// a request, so the proxy's own requests name their bucket the same way.
    pub fn new(store: std::sync::Arc<LiveStore>, addressing: Addressing) -> Self {
        Self {
            store,
            addressing: std::sync::Arc::new(addressing),
        }
    }
}

impl<S> Layer<S> for SsecCopyLayer {
    type Service = SsecCopy<S>;
    fn layer(&self, inner: S) -> SsecCopy<S> {
        SsecCopy {
            inner,
            store: std::sync::Arc::clone(&self.store),
            addressing: std::sync::Arc::clone(&self.addressing),
        }
    }
}

/// See the module docs.
#[derive(Clone)]
pub struct SsecCopy<S> {
    inner: S,
    store: std::sync::Arc<LiveStore>,
    addressing: std::sync::Arc<Addressing>,
}

type Passed<F, RB> = MapOk<F, fn(Response<RB>) -> Response<CopyResponseBody<RB>>>;

fn passed<RB>(response: Response<RB>) -> Response<CopyResponseBody<RB>> {
    response.map(http_body_util::Either::Left)
}

impl<S, B, RB> Service<Request<B>> for SsecCopy<S>
where
    S: Service<Request<CopyBody<B>>, Response = Response<RB>, Error = ProxyError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    RB: Body<Data = Bytes> + Send + 'static,
    RB::Error: Into<BoxError>,
{
    type Response = Response<CopyResponseBody<RB>>;
    type Error = ProxyError;
    type Future = Either<
        Passed<S::Future, RB>,
        BoxFuture<'static, Result<Response<CopyResponseBody<RB>>, ProxyError>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let plan = match (
            req.extensions().get::<S3Request>(),
            req.extensions().get::<Checked>(),
            req.extensions().get::<Verified>(),
        ) {
            (Some(s3), Some(checked), Some(_)) => self.store.get().copy_plan(s3.op, checked),
            _ => CopyPlan::Native,
        };
        if plan == CopyPlan::Native {
            let f: fn(Response<RB>) -> Response<CopyResponseBody<RB>> = passed;
            return Either::Left(
                self.inner
                    .call(req.map(http_body_util::Either::Left))
                    .map_ok(f),
            );
        }
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let addressing = std::sync::Arc::clone(&self.addressing);
        let reading = self.store.get().host_reading();
        Either::Right(Box::pin(async move {
            let (parts, body) = req.into_parts();
            let source = Source::read(&parts, &addressing, reading)?;
            match plan {
                CopyPlan::VerifySource => {
                    verify_source(inner.clone(), &parts, &source).await?;
                    let req = Request::from_parts(parts, http_body_util::Either::Left(body));
                    inner.oneshot(req).await.map(passed)
                }
                _ => {
                    if !body.is_end_stream() {
                        return Err(ProxyError::Rejected(S3Error::new(
                            S3ErrorCode::InvalidRequest,
                            "A copy request has no body.",
                        )));
                    }
                    stream(inner, parts, source).await
                }
            }
        }))
    }
}

/// Where the proxy's own requests go: the copy source, path-style, with the Host of
/// the request's store endpoint.
struct Source {
    bucket: String,
    key: String,
    /// `/bucket/key` as the store reads it, `?versionId=…` included.
    path_and_query: String,
    /// The Host the store reads path-style.
    host: HeaderValue,
    /// Whether a version is named.
    versioned: bool,
}

impl Source {
    fn read(
        parts: &http::request::Parts,
        addressing: &Addressing,
        reading: HostReading,
    ) -> Result<Self, ProxyError> {
        let internal = || ProxyError::Rejected(S3Error::internal());
        let value = parts
            .headers
            .get(COPY_SOURCE)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(internal)?;
        let (bucket, key) = copy_source_object(value).ok_or_else(internal)?;
        let version = match value.split_once('?') {
            None => None,
            Some((_, query)) => Some(version_id(query)?),
        };
        let mut path_and_query = object_path(&bucket, &key);
        if let Some(version) = version {
            path_and_query.push_str("?versionId=");
            path_and_query.push_str(version);
        }
        let client_host = client_host(parts)?;
        let host = path_style_host(&client_host, addressing, reading).ok_or_else(internal)?;
        Ok(Self {
            bucket,
            key,
            path_and_query,
            host,
            versioned: version.is_some(),
        })
    }

    /// A request of the proxy's own for the source, carrying what the store's
    /// signature and the layers below need of the client's request.
    fn request(
        &self,
        method: Method,
        parts: &http::request::Parts,
        op: S3Op,
    ) -> Result<http::request::Builder, ProxyError> {
        let uri = Uri::try_from(self.path_and_query.as_str())
            .map_err(|_| ProxyError::Rejected(S3Error::internal()))?;
        let s3 = S3Request {
            op,
            bucket: Some(self.bucket.clone()),
            key: Some(self.key.clone()),
            upload_id: None,
        };
        Ok(own_request(method, uri, parts, s3, self.host.clone()))
    }
}

/// The Host the client addressed, as the layers below send it to the store.
pub(super) fn client_host(parts: &http::request::Parts) -> Result<HeaderValue, ProxyError> {
    parts
        .extensions
        .get::<ClientHost>()
        .map(|h| h.0.clone())
        .or_else(|| parts.headers.get(HOST).cloned())
        .ok_or_else(|| ProxyError::Rejected(S3Error::internal()))
}

/// `versionId=…` of an `x-amz-copy-source`: the one parameter it may carry, with the
/// characters version IDs have (the store's own, forwarded as sent).
fn version_id(query: &str) -> Result<&str, ProxyError> {
    query
        .strip_prefix("versionId=")
        .filter(|v| {
            !v.is_empty()
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        })
        .ok_or_else(|| {
            ProxyError::Rejected(S3Error::new(
                S3ErrorCode::InvalidArgument,
                "The x-amz-copy-source version is not one the proxy can read.",
            ))
        })
}

/// The Host that addresses the store path-style: the client's own when it named the
/// bucket in the path, the endpoint suffix when it named it in the Host.
fn path_style_host(
    client_host: &HeaderValue,
    addressing: &Addressing,
    reading: HostReading,
) -> Option<HeaderValue> {
    let host = client_host.to_str().ok()?;
    match addressing.place(host, reading).ok()? {
        Placement::PathStyle => Some(client_host.clone()),
        Placement::VirtualHosted(bucket) => {
            let rest = host.get(bucket.len()..)?.strip_prefix('.')?;
            HeaderValue::from_str(rest).ok()
        }
    }
}

/// A request of the proxy's own: the client's extensions (its verified signature marks
/// it for the store's), an unsigned body, and the classification of what it is.
pub(super) fn own_request(
    method: Method,
    uri: Uri,
    parts: &http::request::Parts,
    s3: S3Request,
    host: HeaderValue,
) -> http::request::Builder {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(extensions) = builder.extensions_mut() {
        *extensions = parts.extensions.clone();
        extensions.insert(s3);
        extensions.insert(ClientHost(host.clone()));
        if let Some(verified) = extensions.get_mut::<Verified>() {
            // The proxy's own body: checked by nothing the client signed.
            verified.payload = PayloadMode::Unsigned;
        }
    }
    builder
        .header(HOST, host)
        .header(CONTENT_SHA256, HeaderValue::from_static(UNSIGNED_PAYLOAD))
}

pub(super) fn empty<B>() -> CopyBody<B> {
    http_body_util::Either::Right(
        Empty::<Bytes>::new()
            .map_err(|never| match never {})
            .boxed_unsync(),
    )
}

/// The copy-source key as the destination group of a read of the source.
fn source_key(parts: &http::request::Parts, headers: &mut HeaderMap) {
    let [from_alg, from_key, from_md5] = Group::CopySource.names();
    let [to_alg, to_key, to_md5] = Group::Destination.names();
    for (from, to) in [(from_alg, to_alg), (from_key, to_key), (from_md5, to_md5)] {
        if let Some(v) = parts.headers.get(&from) {
            headers.insert(to, v.clone());
        }
    }
}

/// Whether the store's answer to a read of the source says the key is wrong.
fn wrong_source_key<RB>(result: &Result<Response<RB>, ProxyError>, head: bool) -> bool {
    match result {
        Err(ProxyError::Translated(e)) => ssec::is_wrong_key(e),
        Ok(response) => head && matches!(response.status().as_u16(), 400 | 403 | 500),
        Err(_) => false,
    }
}

/// SeaweedFS: the source's head read with the copy-source key; a key the store refuses
/// is AWS's answer to a wrong copy-source key. Anything else (a missing source, a plain
/// one) is left to the store's copy to answer.
async fn verify_source<S, B, RB>(
    inner: S,
    parts: &http::request::Parts,
    source: &Source,
) -> Result<(), ProxyError>
where
    S: Service<Request<CopyBody<B>>, Response = Response<RB>, Error = ProxyError>,
{
    let mut req = source
        .request(Method::HEAD, parts, S3Op::HeadObject)?
        .body(empty::<B>())
        .map_err(|_| ProxyError::Rejected(S3Error::internal()))?;
    source_key(parts, req.headers_mut());
    if let Some(checked) = req.extensions_mut().get_mut::<Checked>() {
        *checked = Checked {
            destination: checked.source,
            source: None,
        };
    }
    let result = inner.oneshot(req).await;
    if wrong_source_key(&result, true) {
        return Err(ProxyError::Rejected(ssec::parameters_mismatch()));
    }
    result.map(drop)
}

/// The copy as a read of the source and a write of the destination.
async fn stream<S, B, RB>(
    inner: S,
    parts: http::request::Parts,
    source: Source,
) -> Result<Response<CopyResponseBody<RB>>, ProxyError>
where
    S: Service<Request<CopyBody<B>>, Response = Response<RB>, Error = ProxyError> + Clone,
    B: Body<Data = Bytes> + Send + 'static,
    RB: Body<Data = Bytes> + Send + 'static,
    RB::Error: Into<BoxError>,
{
    let op = parts
        .extensions
        .get::<S3Request>()
        .map_or(S3Op::Unknown, |s3| s3.op);
    let checked = parts
        .extensions
        .get::<Checked>()
        .copied()
        .unwrap_or_default();
    let part = op == S3Op::UploadPartCopy;
    let replace = directive(&parts.headers, &METADATA_DIRECTIVE)?;
    let replace_tags = directive(&parts.headers, &TAGGING_DIRECTIVE)?;
    if !part && unchanged_in_place(&parts, &source, &checked, replace) {
        return Err(ProxyError::Rejected(S3Error::new(
            S3ErrorCode::InvalidRequest,
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        )));
    }
    let range = match parts.headers.get(COPY_SOURCE_RANGE).filter(|_| part) {
        Some(value) => Some(copy_range(value)?),
        None => None,
    };

    // The read: the source key, the range, the conditionals as the read's own.
    let mut read = source
        .request(Method::GET, &parts, S3Op::GetObject)?
        .body(empty::<B>())
        .map_err(|_| ProxyError::Rejected(S3Error::internal()))?;
    source_key(&parts, read.headers_mut());
    for (from, to) in [
        (COPY_SOURCE_IF_MATCH, IF_MATCH),
        (COPY_SOURCE_IF_NONE_MATCH, IF_NONE_MATCH),
        (COPY_SOURCE_IF_MODIFIED_SINCE, IF_MODIFIED_SINCE),
        (COPY_SOURCE_IF_UNMODIFIED_SINCE, IF_UNMODIFIED_SINCE),
    ] {
        for v in parts.headers.get_all(&from) {
            read.headers_mut().append(to.clone(), v.clone());
        }
    }
    if let Some((first, last)) = range {
        let value = HeaderValue::from_str(&format!("bytes={first}-{last}"))
            .map_err(|_| ProxyError::Rejected(S3Error::internal()))?;
        read.headers_mut().insert(RANGE, value);
    }
    if let Some(c) = read.extensions_mut().get_mut::<Checked>() {
        *c = Checked {
            destination: checked.source,
            source: None,
        };
    }
    let result = inner.clone().oneshot(read).await;
    if wrong_source_key(&result, false) {
        return Err(ProxyError::Rejected(ssec::parameters_mismatch()));
    }
    let got = result?;
    if let Some(asked) = range {
        check_range(&got, asked)?;
    }
    if got.status() == StatusCode::NOT_MODIFIED || got.status() == StatusCode::PRECONDITION_FAILED {
        return Err(ProxyError::Rejected(S3Error::new(
            S3ErrorCode::PreconditionFailed,
            "At least one of the pre-conditions you specified did not hold",
        )));
    }
    if !got.status().is_success() {
        return Ok(passed(got));
    }
    check_read(&got, checked.source)?;
    let length = got
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| {
            ProxyError::BadGateway(
                "the store's answer to a read of a copy source has no length".into(),
            )
        })?;
    if length > MAX_COPY {
        return Err(ProxyError::Rejected(S3Error::new(
            S3ErrorCode::InvalidRequest,
            "The specified copy source is larger than the maximum allowable size for a copy source: 5368709120",
        )));
    }
    if !part && !replace_tags && tagged(got.headers()) {
        return Err(ProxyError::Rejected(
            S3Error::new(
                S3ErrorCode::NotImplemented,
                "The proxy copies an SSE-C object on this store itself and does not copy its tags; send x-amz-tagging-directive: REPLACE.",
            )
            .with_reason(crate::s3::error::Reason::StoreRefusal),
        ));
    }

    // The write: the destination as the request names it, the body as it arrives.
    let (got_parts, got_body) = got.into_parts();
    let write_op = if part {
        S3Op::UploadPart
    } else {
        S3Op::PutObject
    };
    let s3 = parts
        .extensions
        .get::<S3Request>()
        .cloned()
        .map(|s3| S3Request { op: write_op, ..s3 })
        .ok_or_else(|| ProxyError::Rejected(S3Error::internal()))?;
    let host = client_host(&parts)?;
    let mut write = own_request(Method::PUT, parts.uri.clone(), &parts, s3, host)
        .header(CONTENT_LENGTH, length)
        .body(http_body_util::Either::Right(
            got_body
                .map_err(|e| ProxyError::BadGateway(e.into()))
                .boxed_unsync(),
        ))
        .map_err(|_| ProxyError::Rejected(S3Error::internal()))?;
    let headers = write.headers_mut();
    let [alg, key, md5] = Group::Destination.names();
    for name in [alg, key, md5] {
        if let Some(v) = parts.headers.get(&name) {
            headers.insert(name, v.clone());
        }
    }
    // The destination's own conditionals (If-Match, If-None-Match) hold for the write.
    copy_headers(&parts.headers, headers, |name| {
        name == IF_MATCH || name == IF_NONE_MATCH
    });
    if !part {
        let metadata = if replace {
            &parts.headers
        } else {
            &got_parts.headers
        };
        copy_headers(metadata, headers, is_metadata);
        copy_headers(&parts.headers, headers, |name| {
            is_write_option(name) || (replace_tags && name == "x-amz-tagging")
        });
    }
    if let Some(c) = write.extensions_mut().get_mut::<Checked>() {
        *c = Checked {
            destination: checked.destination,
            source: None,
        };
    }
    let written = inner.oneshot(write).await?;
    if !written.status().is_success() {
        return Ok(passed(written));
    }
    Ok(result_response(&written, &got_parts.headers, part))
}

/// `x-amz-copy-source-range`: `bytes=first-last`, as AWS requires.
fn copy_range(value: &HeaderValue) -> Result<(u64, u64), ProxyError> {
    let parsed = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.split_once('-'))
        .and_then(|(first, last)| {
            let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            (digits(first) && digits(last)).then_some((first.parse::<u64>(), last.parse::<u64>()))
        })
        .and_then(|(first, last)| Some((first.ok()?, last.ok()?)))
        .filter(|(first, last)| first <= last);
    if let Some(range) = parsed {
        return Ok(range);
    }
    Err(ProxyError::Rejected(
        S3Error::new(
            S3ErrorCode::InvalidArgument,
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
        )
        .with_argument_name("x-amz-copy-source-range"),
    ))
}

/// The read of a range must be exactly that range of the source: a 206 whose
/// `Content-Range` is `bytes first-last/total` with `last < total`. A range past the
/// end would otherwise come back cut short (RGW, SeaweedFS) and be written as the part.
fn check_range<RB>(got: &Response<RB>, (first, last): (u64, u64)) -> Result<(), ProxyError> {
    let content_range = got
        .headers()
        .get(http::header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes "))
        .and_then(|v| v.split_once('/'));
    let total = content_range.and_then(|(_, total)| total.parse::<u64>().ok());
    let exact = got.status() == StatusCode::PARTIAL_CONTENT
        && content_range.is_some_and(|(span, _)| span == format!("{first}-{last}"))
        && total.is_some_and(|total| last < total);
    let refused =
        got.status() == StatusCode::RANGE_NOT_SATISFIABLE || (got.status().is_success() && !exact);
    if !refused {
        return Ok(());
    }
    let message = match total {
        Some(total) => format!("Range specified is not valid for source object of size: {total}"),
        None => "Range specified is not valid for the source object".to_owned(),
    };
    Err(ProxyError::Rejected(
        S3Error::new(S3ErrorCode::InvalidArgument, message)
            .with_argument_name("x-amz-copy-source-range"),
    ))
}

/// AWS refuses a CopyObject of an object onto itself that changes nothing: same
/// object and version, same key (or none), metadata copied, no new storage class,
/// redirect location or encryption.
fn unchanged_in_place(
    parts: &http::request::Parts,
    source: &Source,
    checked: &Checked,
    replace: bool,
) -> bool {
    let same_object = parts.extensions.get::<S3Request>().is_some_and(|s3| {
        s3.bucket.as_deref() == Some(source.bucket.as_str())
            && s3.key.as_deref() == Some(source.key.as_str())
    });
    let same_key = match (checked.source, checked.destination) {
        (Some(s), Some(d)) => s.matches(&d),
        (None, None) => true,
        _ => false,
    };
    let changes = [
        "x-amz-storage-class",
        "x-amz-website-redirect-location",
        "x-amz-server-side-encryption",
    ]
    .iter()
    .any(|name| parts.headers.contains_key(*name));
    same_object && !source.versioned && same_key && !replace && !changes
}

/// Whether a directive says `REPLACE` (else `COPY`, the default); anything else is
/// refused as AWS does.
fn directive(headers: &HeaderMap, name: &HeaderName) -> Result<bool, ProxyError> {
    match headers.get(name).map(HeaderValue::as_bytes) {
        None | Some(b"COPY") => Ok(false),
        Some(b"REPLACE") => Ok(true),
        Some(_) => Err(ProxyError::Rejected(
            S3Error::new(S3ErrorCode::InvalidArgument, format!("Unknown {name}"))
                .with_argument_name(if *name == METADATA_DIRECTIVE {
                    "x-amz-metadata-directive"
                } else {
                    "x-amz-tagging-directive"
                }),
        )),
    }
}

/// Whether the source has tags (`x-amz-tagging-count` above zero).
fn tagged(headers: &HeaderMap) -> bool {
    headers
        .get(TAGGING_COUNT)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > 0)
}

/// The read must have come back as the copy-source key says: decrypted with it when
/// one was sent (RGW 16.2 serves a plaintext object to a read with a key).
fn check_read<RB>(got: &Response<RB>, source: Option<KeyDigest>) -> Result<(), ProxyError> {
    let Some(digest) = source else {
        return Ok(());
    };
    let echoed = got
        .headers()
        .get(SSE_C_ALGORITHM)
        .map(HeaderValue::as_bytes)
        == Some(ssec::AES256.as_bytes())
        && got
            .headers()
            .get(SSE_C_KEY_MD5)
            .and_then(|v| v.to_str().ok())
            .and_then(KeyDigest::from_base64)
            .is_some_and(|d| d.matches(&digest));
    match echoed {
        true => Ok(()),
        false => Err(ProxyError::Rejected(ssec::not_encrypted())),
    }
}

/// An object's metadata and content headers, which `x-amz-metadata-directive` selects.
fn is_metadata(name: &HeaderName) -> bool {
    [
        CONTENT_TYPE,
        CACHE_CONTROL,
        CONTENT_DISPOSITION,
        CONTENT_ENCODING,
        CONTENT_LANGUAGE,
        EXPIRES,
    ]
    .contains(name)
        || name.as_str().starts_with("x-amz-meta-")
}

/// What a CopyObject request says about the destination beyond its metadata.
fn is_write_option(name: &HeaderName) -> bool {
    let name = name.as_str();
    matches!(
        name,
        "x-amz-storage-class"
            | "x-amz-acl"
            | "x-amz-website-redirect-location"
            | "x-amz-server-side-encryption"
    ) || name.starts_with("x-amz-grant-")
        || name.starts_with("x-amz-object-lock-")
}

fn copy_headers(from: &HeaderMap, to: &mut HeaderMap, pick: impl Fn(&HeaderName) -> bool) {
    for (name, value) in from.iter().filter(|(name, _)| pick(name)) {
        to.append(name.clone(), value.clone());
    }
}

/// CopyObject's or UploadPartCopy's answer for a write the proxy made: the ETag the
/// write got, the time, the echo of the destination key and the versions.
fn result_response<RB>(
    written: &Response<RB>,
    read: &HeaderMap,
    part: bool,
) -> Response<CopyResponseBody<RB>> {
    let etag = written
        .headers()
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let element = if part {
        "CopyPartResult"
    } else {
        "CopyObjectResult"
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{element} xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LastModified>{}</LastModified><ETag>{}</ETag></{element}>",
        iso_now(),
        xml_escape(etag),
    );
    let mut response = Response::new(http_body_util::Either::Right(Full::new(Bytes::from(body))));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/xml"));
    for name in [SSE_C_ALGORITHM, SSE_C_KEY_MD5, SSE, REQUEST_ID, ID_2] {
        if let Some(v) = written.headers().get(&name) {
            headers.insert(name, v.clone());
        }
    }
    if !part && let Some(v) = written.headers().get(VERSION_ID) {
        headers.insert(VERSION_ID, v.clone());
    }
    if let Some(v) = read.get(VERSION_ID) {
        headers.insert(COPY_SOURCE_VERSION_ID, v.clone());
    }
    response
}

/// Now as S3's XML timestamps: `yyyy-MM-ddTHH:mm:ss.000Z`.
fn iso_now() -> String {
    let date = crate::s3::sigv4::AmzDate::from_system_time(SystemTime::now());
    let t = date.as_str();
    let at = |a: usize, b: usize| t.get(a..b).unwrap_or("00");
    format!(
        "{}-{}-{}T{}:{}:{}.000Z",
        at(0, 4),
        at(4, 6),
        at(6, 8),
        at(9, 11),
        at(11, 13),
        at(13, 15)
    )
}

fn xml_escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;
