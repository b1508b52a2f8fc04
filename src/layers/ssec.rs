//! SSE-C enforcement: header validation in AWS's order, the bucket policy, the store's
//! known failures, multipart key consistency and POST Object form fields on the way in;
//! confirmation of SSE-C writes, multipart records and AWS-shaped store errors on the
//! way out. The rules live in `s3::ssec`, `s3::policy` and `s3::store`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::{Bytes, BytesMut};
use futures_util::future::{BoxFuture, Either, Ready};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, Method, Request, Response};
use http_body::Body;
use http_body_util::BodyExt as _;
use pin_project_lite::pin_project;
use tower::{Layer, Service, ServiceExt as _};

use crate::body::{BodyPrefix, BoundedRead, FormWatch, ResponseBody};
use crate::error::{BoxError, ProxyError};
use crate::s3::error::{S3Error, S3ErrorCode};
use crate::s3::form::{self, Ambiguity, Parsed, Refusal};
use crate::s3::headers::{COPY_SOURCE, SSE, SSE_C_ALGORITHM, SSE_C_KEY, SSE_C_KEY_MD5};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::policy::{BucketPolicies, Policy, copy_source_bucket};
use crate::s3::ssec::{self, Checked, Groups, KeyDigest, RawTriple, Usage};
use crate::s3::store::{Store, UnknownUploads};
use crate::s3::xml::first_element;
use crate::uploads::{Upload, UploadRecords};

/// Largest store answer read whole (CreateMultipartUpload results, errors to translate).
const MAX_SMALL_BODY: usize = 64 * 1024;

/// Whether the request arrived over TLS. Request extension set by the listener; a
/// request without it counts as plaintext.
#[derive(Clone, Copy, Debug)]
pub struct ConnInfo {
    /// TLS listener (true) or the plain listener (false).
    pub tls: bool,
}

/// The part of `[ssec]` that reloads without a restart.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveSsec {
    /// `ssec.default` and `ssec.buckets`.
    pub policies: BucketPolicies,
    /// `ssec.unknown_uploads`.
    pub unknown_uploads: UnknownUploads,
}

/// What the SSE-C layer needs.
#[derive(Debug)]
pub struct SsecSettings {
    /// Policies, swapped in place on reload.
    pub live: Arc<ArcSwap<LiveSsec>>,
    /// `upstream.store`.
    pub store: Store,
    /// The multipart record of this replica.
    pub records: Arc<UploadRecords>,
    /// How long a POST Object client may take to send the form fields.
    pub form_timeout: Duration,
}

/// Adds [`Ssec`].
#[derive(Clone, Debug)]
pub struct SsecLayer {
    settings: Arc<SsecSettings>,
}

impl SsecLayer {
    /// A layer with these settings.
    pub fn new(settings: SsecSettings) -> Self {
        Self {
            settings: Arc::new(settings),
        }
    }
}

impl<S> Layer<S> for SsecLayer {
    type Service = Ssec<S>;
    fn layer(&self, inner: S) -> Ssec<S> {
        Ssec {
            inner,
            settings: Arc::clone(&self.settings),
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct Ssec<S> {
    inner: S,
    settings: Arc<SsecSettings>,
}

/// What the response side needs to know about the request.
#[derive(Clone, Debug)]
struct Ctx {
    s3: S3Request,
    checked: Checked,
    head: bool,
}

type Resp = Response<ResponseBody>;

impl<S, B> Service<Request<B>> for Ssec<S>
where
    S: Service<Request<B>, Response = Resp, Error = ProxyError> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Resp;
    type Error = ProxyError;
    type Future = Either<Ready<Result<Resp, ProxyError>>, ResponseFuture<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let settings = Arc::clone(&self.settings);
        let tls = req.extensions().get::<ConnInfo>().is_some_and(|c| c.tls);
        let Some(s3) = req.extensions().get::<S3Request>().cloned() else {
            // Classification runs first; without it nothing here can be decided.
            let e = S3Error::new(
                S3ErrorCode::InternalError,
                "We encountered an internal error. Please try again.",
            );
            return Either::Left(futures_util::future::ready(Err(e.into())));
        };
        if s3.op == S3Op::PostObject {
            // The form fields must be read before deciding; take the ready service.
            let clone = self.inner.clone();
            let inner = std::mem::replace(&mut self.inner, clone);
            return Either::Right(ResponseFuture::Async {
                fut: Box::pin(post_object(inner, settings, tls, s3, req)),
            });
        }
        let head = req.method() == Method::HEAD;
        match check(&settings, &s3, req.headers(), tls) {
            Ok(checked) => {
                req.extensions_mut().insert(checked);
                Either::Right(ResponseFuture::Forward {
                    inner: self.inner.call(req),
                    ctx: Some(Ctx { s3, checked, head }),
                    settings,
                })
            }
            Err(e) => Either::Left(futures_util::future::ready(Err(e.into()))),
        }
    }
}

/// Every request-side check, in order: AWS's header validation, the bucket policy,
/// the store's known failures, multipart key consistency.
fn check(
    settings: &SsecSettings,
    s3: &S3Request,
    headers: &HeaderMap,
    tls: bool,
) -> Result<Checked, S3Error> {
    let live = settings.live.load();
    let groups = Groups::from_headers(headers);
    let checked = ssec::check_groups(s3.op, &groups, tls)?;
    let present = (
        groups.destination.is_present(),
        groups.copy_source.is_present(),
    );
    let source_bucket = groups
        .copy_source_path
        .and_then(|v| v.to_str().ok())
        .and_then(copy_source_bucket);
    live.policies.enforce(
        s3.op,
        s3.bucket.as_deref(),
        source_bucket.as_deref(),
        present,
        &checked,
    )?;
    if let Some(refusal) = settings.store.refusal(s3.op, &checked) {
        return Err(refusal);
    }
    check_upload(settings, &live, s3, &checked)?;
    Ok(checked)
}

/// Spec S9–S13 against this replica's record of the upload.
fn check_upload(
    settings: &SsecSettings,
    live: &LiveSsec,
    s3: &S3Request,
    checked: &Checked,
) -> Result<(), S3Error> {
    let (Some(bucket), Some(key), Some(id)) = (&s3.bucket, &s3.key, &s3.upload_id) else {
        return Ok(());
    };
    let part = matches!(s3.op, S3Op::UploadPart | S3Op::UploadPartCopy);
    if !part && s3.op != S3Op::CompleteMultipartUpload {
        return Ok(());
    }
    let upload = settings.records.get(bucket, key, id);
    match (upload, checked.destination) {
        (Upload::Encrypted(_), None) if part => Err(ssec::part_missing_encryption()),
        (Upload::Encrypted(d), Some(x)) if !x.matches(&d) => Err(match part {
            true => ssec::parameters_mismatch(),
            false => ssec::complete_mismatch(),
        }),
        (Upload::Plain, Some(_)) => Err(match part {
            true => ssec::parameters_mismatch(),
            false => ssec::complete_mismatch(),
        }),
        (Upload::Unknown, _)
            if part
                && live.unknown_uploads == UnknownUploads::Reject
                && live.policies.for_bucket(Some(bucket)).policy != Policy::Forbid =>
        {
            Err(S3Error::new(
                S3ErrorCode::InvalidRequest,
                "This proxy has no record of how the multipart upload was initiated (another replica, a restart, or too long ago), so its parts cannot be checked against the upload's key. Start the upload again.",
            )
            .with_reason("unknown_upload"))
        }
        _ => Ok(()),
    }
}

/// POST Object: reads the form fields before the file part, checks them like the
/// headers of a PutObject, then forwards the fields read and streams the rest, watched
/// until the closing delimiter so no part after the file reaches the store complete.
async fn post_object<S, B>(
    inner: S,
    settings: Arc<SsecSettings>,
    tls: bool,
    s3: S3Request,
    req: Request<B>,
) -> Result<Resp, ProxyError>
where
    S: Service<Request<B>, Response = Resp, Error = ProxyError>,
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let boundary = form_boundary(req.headers(), tls)?;
    let (mut parts, mut body) = req.into_parts();
    let mut read = BytesMut::new();
    let fields = loop {
        match form::parse(&read, &boundary) {
            Parsed::Fields(fields) => break fields,
            Parsed::Malformed(why) => return Err(Refusal::Malformed(why).to_s3().into()),
            Parsed::Ambiguous(a) => return Err(a.to_s3().into()),
            Parsed::Incomplete if read.len() > form::MAX_PREFIX => {
                let why = "form fields before the file are too large";
                return Err(Refusal::Malformed(why).to_s3().into());
            }
            Parsed::Incomplete => {}
        }
        match tokio::time::timeout(settings.form_timeout, body.frame()).await {
            Err(_) => return Err(ProxyError::ClientTimeout),
            Ok(None) => return Err(Refusal::Malformed("the body ended early").to_s3().into()),
            Ok(Some(Err(e))) => return Err(ProxyError::ClientBody(e.into())),
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    read.extend_from_slice(data);
                }
            }
        }
    };
    let watch = watch_file(&boundary, &fields, &read, body.is_end_stream())?;
    let checked = check_form(&settings, &s3, &fields, tls)?;
    parts.extensions.insert(BodyPrefix(read.freeze()));
    parts.extensions.insert(checked);
    if let Some(watch) = &watch {
        parts.extensions.insert(watch.clone());
    }
    let ctx = Ctx {
        s3,
        checked,
        head: false,
    };
    let response = inner.oneshot(Request::from_parts(parts, body)).await?;
    if let Some(watch) = &watch {
        // The body check failed the upload, or the store answered success before the
        // closing delimiter went by: either way the store may have read a form this
        // proxy did not check whole, so it is not reported as a success.
        let early = response.status().is_success() && !watch.is_closed();
        if let Some(a) = watch.refused().or(early.then_some(Ambiguity::Unterminated)) {
            return Err(a.to_s3().into());
        }
    }
    match finish(ctx, &settings, response) {
        Next::Done(result) => result,
        Next::Later(fut) => fut.await,
    }
}

/// The form's boundary, after the header rules of a form upload: SSE-C headers on the
/// plain listener are V0; SSE-C, SSE and copy-source headers are refused (a store may
/// read them instead of the fields); the Content-Type (a repeat never gets here).
fn form_boundary(headers: &HeaderMap, tls: bool) -> Result<String, S3Error> {
    let groups = Groups::from_headers(headers);
    ssec::check_secure(
        groups.destination.is_present() || groups.copy_source.is_present(),
        tls,
    )?;
    let forbidden = |name: &http::HeaderName| {
        let name = name.as_str();
        name.starts_with(SSE.as_str()) || name.starts_with(COPY_SOURCE.as_str())
    };
    if headers.keys().any(forbidden) {
        return Err(Ambiguity::Headers.to_s3());
    }
    // A repeated Content-Type never gets here: the classify layer refuses it
    // (`s3::strict::check_headers`).
    let content_type = headers
        .get(CONTENT_TYPE)
        .ok_or_else(|| Refusal::Malformed("no Content-Type").to_s3())?
        .to_str()
        .map_err(|_| Refusal::Malformed("a Content-Type that is not ASCII").to_s3())?;
    form::boundary(content_type).map_err(Refusal::to_s3)
}

/// Starts the check of the file part's content (from its first byte, already in
/// `read`) up to the closing delimiter. `None` when the form had no file part.
fn watch_file(
    boundary: &str,
    fields: &form::Fields,
    read: &[u8],
    ended: bool,
) -> Result<Option<FormWatch>, S3Error> {
    let Some(at) = fields.file_at() else {
        return Ok(None);
    };
    let mut tail = form::Tail::new(boundary);
    let checked = tail
        .feed(read.get(at..).unwrap_or_default())
        .and_then(|()| if ended { tail.finish() } else { Ok(()) });
    checked.map_err(Ambiguity::to_s3)?;
    Ok(Some(FormWatch::new(tail)))
}

/// The POST Object form fields through the same rules as PutObject headers.
fn check_form(
    settings: &SsecSettings,
    s3: &S3Request,
    fields: &form::Fields,
    tls: bool,
) -> Result<Checked, S3Error> {
    let raw = RawTriple::new(
        fields.get(SSE_C_ALGORITHM.as_str()),
        fields.get(SSE_C_KEY.as_str()),
        fields.get(SSE_C_KEY_MD5.as_str()),
    );
    ssec::check_secure(raw.is_present(), tls)?;
    let mut checked = Checked::default();
    if raw.is_present() {
        checked.destination = Some(ssec::validate(&raw, Usage::Write)?);
    }
    let sse = fields
        .get(SSE.as_str())
        .and_then(|v| http::HeaderValue::from_bytes(v).ok());
    ssec::check_sse_conflict(sse.as_ref(), Usage::Write, checked.destination.is_some())?;
    settings.live.load().policies.enforce(
        s3.op,
        s3.bucket.as_deref(),
        None,
        (raw.is_present(), false),
        &checked,
    )?;
    Ok(checked)
}

pin_project! {
    /// The response side of [`Ssec`].
    #[project = ResponseFutureProj]
    pub enum ResponseFuture<F> {
        /// Waiting for the store, then checking its answer.
        Forward {
            #[pin]
            inner: F,
            ctx: Option<Ctx>,
            settings: Arc<SsecSettings>,
        },
        /// Work that reads bodies (POST forms, small store answers).
        Async { fut: BoxFuture<'static, Result<Resp, ProxyError>> },
    }
}

impl<F> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Resp, ProxyError>>,
{
    type Output = Result<Resp, ProxyError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let next = match self.as_mut().project() {
            ResponseFutureProj::Async { fut } => return fut.as_mut().poll(cx),
            ResponseFutureProj::Forward {
                inner,
                ctx,
                settings,
            } => {
                let response = ready!(inner.poll(cx))?;
                let Some(ctx) = ctx.take() else {
                    return Poll::Ready(Err(ProxyError::from(S3Error::new(
                        S3ErrorCode::InternalError,
                        "We encountered an internal error. Please try again.",
                    ))));
                };
                finish(ctx, settings, response)
            }
        };
        match next {
            Next::Done(result) => Poll::Ready(result),
            Next::Later(fut) => {
                self.set(ResponseFuture::Async { fut });
                self.poll(cx)
            }
        }
    }
}

/// What to do with the store's answer.
enum Next {
    Done(Result<Resp, ProxyError>),
    Later(BoxFuture<'static, Result<Resp, ProxyError>>),
}

fn finish(ctx: Ctx, settings: &Arc<SsecSettings>, response: Resp) -> Next {
    let status = response.status();
    let store = settings.store;
    if status.is_success() {
        if let Some(digest) = ctx.checked.destination
            && store.confirms(ctx.s3.op)
            && !confirmed(response.headers(), &digest)
        {
            return Next::Done(Err(ProxyError::Unconfirmed(ctx.s3.op.as_str())));
        }
        return match ctx.s3.op {
            S3Op::CreateMultipartUpload => {
                Next::Later(Box::pin(record_upload(ctx, Arc::clone(settings), response)))
            }
            S3Op::CompleteMultipartUpload | S3Op::AbortMultipartUpload => {
                if let (Some(b), Some(k), Some(id)) =
                    (&ctx.s3.bucket, &ctx.s3.key, &ctx.s3.upload_id)
                {
                    settings.records.remove(b, k, id);
                }
                Next::Done(Ok(response))
            }
            _ => Next::Done(Ok(response)),
        };
    }
    if !store.translates(ctx.s3.op) || !(status.is_client_error()) {
        return Next::Done(Ok(response));
    }
    let keyed = ctx.checked.destination.is_some();
    if ctx.head {
        return Next::Done(
            match store.translate(ctx.s3.op, keyed, status.as_u16(), None, None) {
                Some(e) => Err(e.into()),
                None => Ok(response),
            },
        );
    }
    Next::Later(Box::pin(async move {
        let (parts, body) = response.into_parts();
        let bytes = match body.read_bounded(MAX_SMALL_BODY).await {
            Ok(bytes) => bytes,
            Err(BoundedRead::TooLarge(read, rest)) => {
                return Ok(Response::from_parts(parts, ResponseBody::chain(read, rest)));
            }
            Err(BoundedRead::Failed(e)) => return Err(ProxyError::BadGateway(e)),
        };
        let code = first_element(&bytes, "Code");
        let message = first_element(&bytes, "Message");
        match store.translate(
            ctx.s3.op,
            keyed,
            status.as_u16(),
            code.as_deref(),
            message.as_deref(),
        ) {
            Some(e) => Err(e.into()),
            None => Ok(Response::from_parts(parts, ResponseBody::full(bytes))),
        }
    }))
}

/// Whether the store echoed `AES256` and the key's MD5, each exactly once.
fn confirmed(headers: &HeaderMap, digest: &KeyDigest) -> bool {
    let single = |name| {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (Some(v), None) => v.to_str().ok(),
            _ => None,
        }
    };
    single(SSE_C_ALGORITHM) == Some(ssec::AES256)
        && single(SSE_C_KEY_MD5)
            .and_then(KeyDigest::from_base64)
            .is_some_and(|echoed| echoed.matches(digest))
}

/// Remembers a new multipart upload and the key it was created with.
async fn record_upload(
    ctx: Ctx,
    settings: Arc<SsecSettings>,
    response: Resp,
) -> Result<Resp, ProxyError> {
    let (parts, body) = response.into_parts();
    let bytes = match body.read_bounded(MAX_SMALL_BODY).await {
        Ok(bytes) => bytes,
        Err(BoundedRead::TooLarge(read, rest)) => {
            tracing::warn!("createmultipartupload answer too large to record");
            return Ok(Response::from_parts(parts, ResponseBody::chain(read, rest)));
        }
        Err(BoundedRead::Failed(e)) => return Err(ProxyError::BadGateway(e)),
    };
    match (
        first_element(&bytes, "UploadId"),
        &ctx.s3.bucket,
        &ctx.s3.key,
    ) {
        (Some(id), Some(bucket), Some(key)) if !id.is_empty() => {
            settings
                .records
                .insert(bucket, key, &id, ctx.checked.destination);
        }
        _ => tracing::warn!("createmultipartupload answer has no upload id"),
    }
    Ok(Response::from_parts(parts, ResponseBody::full(bytes)))
}
