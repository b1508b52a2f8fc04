//! ETags in canonical form (DESIGN "ETags"): the response's ETag header repaired (and
//! identical repeats collapsed); `<ETag>` elements of XML bodies rewritten as the body
//! streams; RGW's empty `<ETag></ETag>` in CompleteMultipartUploadResult filled with the
//! multipart ETag computed from the request's part list, read as the request body
//! streams to the store. Store artifacts go from the answer: SeaweedFS's `seaweed-*`
//! copies of headers, and the `aws-chunked` an object read's `Content-Encoding` names
//! when the store kept the framing of the upload as the object's coding.
//!
//! `[etag] mode = "opaque"` (resign mode): every S3 ETag the client sees is hidden with
//! the binding key's permutation for its object (`s3::opaque`): the object the request
//! names (a form upload's `key`), an upload's own for its parts, or in a listing the
//! object each entry's `<Key>` names; the ETags of `If-Match` and `If-None-Match` are
//! revealed with the request's object, the copy-source conditionals with the source's,
//! before the store sees them. The part list of a CompleteMultipartUpload body is revealed by
//! [`EtagRevealLayer`], below the body checks: the client's signature covers the body
//! as the client sent it.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::future::{Either, Ready, ready};
use http::header::{
    CONTENT_LENGTH, ETAG, Entry as HeaderMapEntry, IF_MATCH, IF_NONE_MATCH, LOCATION,
};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use md5::{Digest as _, Md5};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::config::EtagMode;
use crate::credentials::LiveCredentials;
use crate::error::ProxyError;
use crate::layers::held::{Held, HeldBody, Hold};
use crate::layers::post_object::FormKey;
use crate::layers::stream::seen;
use crate::s3::error::{S3Error, S3ErrorCode};
use crate::s3::etag::canonical_header;
use crate::s3::headers::{
    CONTENT_MD5, COPY_SOURCE, COPY_SOURCE_IF_MATCH, COPY_SOURCE_IF_NONE_MATCH, collapse_identical,
    drop_aws_chunked,
};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::opaque::{Direction, ObjectEtags, OpaqueEtags, UNMATCHED};
use crate::s3::strict::{copy_source_object, query_value};
use crate::s3::xml::{EtagRewriter, MAX_PART_LIST, PartEtagCollector, reveal_part_list};

/// The conditional headers whose entity tags are revealed in opaque mode.
const CONDITIONS: [HeaderName; 4] = [
    IF_MATCH,
    IF_NONE_MATCH,
    COPY_SOURCE_IF_MATCH,
    COPY_SOURCE_IF_NONE_MATCH,
];

/// The copy-source conditionals, and the names Ceph RGW 16.2 reads them under
/// (`x-amz-copy-if-…`; it ignores AWS's names and answers a copy as if unconditional).
const COPY_CONDITIONS: [(&str, &str); 4] = [
    ("x-amz-copy-source-if-match", "x-amz-copy-if-match"),
    (
        "x-amz-copy-source-if-none-match",
        "x-amz-copy-if-none-match",
    ),
    (
        "x-amz-copy-source-if-modified-since",
        "x-amz-copy-if-modified-since",
    ),
    (
        "x-amz-copy-source-if-unmodified-since",
        "x-amz-copy-if-unmodified-since",
    ),
];

/// Adds [`Etag`].
#[derive(Clone, Debug, Default)]
pub struct EtagLayer {
    /// The credential table holding the permutation, in opaque mode.
    opaque: Option<LiveCredentials>,
    /// Resign mode: copy-source conditionals also under RGW's names.
    copy_conditions: bool,
}

impl EtagLayer {
    /// ETags as `mode` says; opaque mode takes its permutation from `credentials`.
    /// With `resign`, the copy-source conditionals of a copy are also sent under the
    /// names RGW reads, and a copy's 304 is AWS's 412.
    pub fn new(mode: EtagMode, resign: bool, credentials: LiveCredentials) -> Self {
        Self {
            opaque: (mode == EtagMode::Opaque).then_some(credentials),
            copy_conditions: resign,
        }
    }
}

impl<S> Layer<S> for EtagLayer {
    type Service = Etag<S>;
    fn layer(&self, inner: S) -> Etag<S> {
        Etag {
            inner,
            opaque: self.opaque.clone(),
            copy_conditions: self.copy_conditions,
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct Etag<S> {
    inner: S,
    opaque: Option<LiveCredentials>,
    copy_conditions: bool,
}

impl<S, B, RB> Service<Request<B>> for Etag<S>
where
    S: Service<Request<TapBody<B>>, Response = Response<RB>, Error = ProxyError>,
{
    type Response = Response<EtagBody<RB>>;
    type Error = ProxyError;
    type Future = ResponseFuture<Either<S::Future, Ready<Result<Response<RB>, ProxyError>>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let op = req
            .extensions()
            .get::<S3Request>()
            .map_or(S3Op::Unknown, |r| r.op);
        let etags = match &self.opaque {
            None => None,
            Some(live) => match live.load().as_ref().and_then(|c| c.etags().cloned()) {
                Some(etags) => Some(Opaque::of(etags, &req)),
                // Configuration checks make this unreachable; fail closed all the same.
                None => {
                    return ResponseFuture {
                        inner: Either::Right(ready(Err(no_permutation()))),
                        op,
                        tap: None,
                        etags: None,
                        copy: false,
                        coding: false,
                    };
                }
            },
        };
        if let Some(opaque) = &etags {
            reveal_conditions(req.headers_mut(), opaque);
            if op == S3Op::CompleteMultipartUpload {
                req.extensions_mut().insert(RevealParts(opaque.part_list()));
            }
        }
        let copy = self.copy_conditions && matches!(op, S3Op::CopyObject | S3Op::UploadPartCopy);
        if copy {
            copy_conditions_for_rgw(req.headers_mut());
        }
        let tap = (op == S3Op::CompleteMultipartUpload)
            .then(|| PartTap::new(etags.as_ref().map(Opaque::part_list)));
        // An object's coding as kept, unless the client asked for one of its own.
        let coding = matches!(op, S3Op::GetObject | S3Op::HeadObject)
            && !names_parameter(req.uri().query(), "response-content-encoding");
        let body_tap = tap.clone();
        ResponseFuture {
            inner: Either::Left(self.inner.call(req.map(|inner| TapBody {
                inner,
                tap: body_tap,
            }))),
            op,
            tap,
            etags,
            copy,
            coding,
        }
    }
}

/// Sends the copy-source conditionals also under RGW's names, replacing whatever the
/// client sent under those (not S3 headers: they would bypass the mapping of opaque
/// ETags). Other stores ignore them.
fn copy_conditions_for_rgw(headers: &mut HeaderMap) {
    for (aws, rgw) in COPY_CONDITIONS {
        headers.remove(rgw);
        if let Some(value) = headers.get(aws).cloned() {
            headers.insert(HeaderName::from_static(rgw), value);
        }
    }
}

fn no_permutation() -> ProxyError {
    ProxyError::Rejected(S3Error::new(
        S3ErrorCode::InternalError,
        "ETags cannot be mapped: etag.mode = \"opaque\" has no binding key.",
    ))
}

/// The opaque ETags of one request: the permutation, the object the request names (the
/// bucket's own for a request without a key), for a request about an upload's parts
/// the upload's, and for a listing the bucket and whether its keys are percent-encoded.
#[derive(Debug)]
struct Opaque {
    etags: Arc<OpaqueEtags>,
    object: ObjectEtags,
    parts: Option<ObjectEtags>,
    listing: Option<(String, bool)>,
}

impl Opaque {
    fn of<B>(etags: Arc<OpaqueEtags>, req: &Request<B>) -> Self {
        let s3 = req.extensions().get::<S3Request>();
        let op = s3.map_or(S3Op::Unknown, |s| s.op);
        let bucket = s3.and_then(|s| s.bucket.as_deref()).unwrap_or_default();
        let key = if op == S3Op::PostObject {
            // The object a form writes is its `key` field's, whatever the path says.
            req.extensions().get::<FormKey>().map(|k| k.0.as_str())
        } else {
            s3.and_then(|s| s.key.as_deref())
        };
        // A bucket configuration too: a store that does not implement one may answer
        // it with a listing (RGW 16.2; `Store::refusal` refuses those it knows).
        let listing = matches!(
            op,
            S3Op::ListObjects
                | S3Op::ListObjectsV2
                | S3Op::ListObjectVersions
                | S3Op::GetBucketConfig(_)
        )
        .then(|| {
            (
                bucket.to_owned(),
                names_parameter(req.uri().query(), "encoding-type"),
            )
        });
        let key = key.unwrap_or_default();
        let parts = matches!(
            op,
            S3Op::UploadPart
                | S3Op::UploadPartCopy
                | S3Op::ListParts
                | S3Op::CompleteMultipartUpload
        )
        .then(|| {
            // The store's upload ID, as the layers above left it (a bound ID is the
            // store's by now), so that every spelling of one upload maps alike. The
            // classifier refused a query whose `uploadId` cannot be read.
            let upload_id = query_value(req.uri().query(), "uploadId")
                .ok()
                .flatten()
                .unwrap_or_default();
            etags.parts(bucket, key, &upload_id)
        });
        Self {
            object: etags.object(bucket, key),
            parts,
            etags,
            listing,
        }
    }

    /// The permutation of the ETags this request's answer carries, outside listings:
    /// the upload's for a part or a part list, else the object's.
    fn shown(&self, op: S3Op) -> &ObjectEtags {
        match (&self.parts, op) {
            (Some(parts), S3Op::UploadPart | S3Op::UploadPartCopy | S3Op::ListParts) => parts,
            _ => &self.object,
        }
    }

    /// The permutation of the part ETags in a CompleteMultipartUpload body (`parts` is
    /// always set for one; the object's stands in only for the type's sake).
    fn part_list(&self) -> ObjectEtags {
        self.parts.clone().unwrap_or_else(|| self.object.clone())
    }
}

/// Whether a query names the parameter `wanted` (whatever its value: which spellings a
/// store honours, for a listing's `encoding-type`, is read from its answer).
fn names_parameter(query: Option<&str>, wanted: &str) -> bool {
    query.unwrap_or_default().split('&').any(|pair| {
        pair.split('=')
            .next()
            .is_some_and(|name| name.eq_ignore_ascii_case(wanted))
    })
}

/// Reveals the entity tags of the conditional headers (every value of each): the
/// object's own with its permutation, the copy-source ones with the source's. A
/// copy-source conditional without a source the proxy can read matches nothing.
fn reveal_conditions(headers: &mut HeaderMap, opaque: &Opaque) {
    // The source's permutation only when a copy-source conditional needs it.
    let source = (headers.contains_key(COPY_SOURCE_IF_MATCH)
        || headers.contains_key(COPY_SOURCE_IF_NONE_MATCH))
    .then(|| {
        headers
            .get(COPY_SOURCE)
            .and_then(|v| v.to_str().ok())
            .and_then(copy_source_object)
            .map(|(bucket, key)| opaque.etags.object(&bucket, &key))
    })
    .flatten();
    for name in &CONDITIONS {
        let etags = if name == COPY_SOURCE_IF_MATCH || name == COPY_SOURCE_IF_NONE_MATCH {
            source.as_ref()
        } else {
            Some(&opaque.object)
        };
        let HeaderMapEntry::Occupied(mut entry) = headers.entry(name) else {
            continue;
        };
        let values: Vec<HeaderValue> = entry
            .iter()
            .map(|v| {
                // A value that is not text cannot be read as a tag by the proxy: it
                // matches nothing.
                let mapped = match (v.to_str(), etags) {
                    (Ok(text), Some(etags)) => etags.reveal_condition(text),
                    _ => UNMATCHED.to_owned(),
                };
                HeaderValue::from_str(&mapped)
                    .unwrap_or_else(|_| HeaderValue::from_static(UNMATCHED))
            })
            .collect();
        let mut values = values.into_iter();
        if let Some(first) = values.next() {
            entry.insert(first);
        }
        for v in values {
            entry.append(v);
        }
    }
}

pin_project! {
    /// Canonicalizes the response.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        op: S3Op,
        tap: Option<PartTap>,
        etags: Option<Opaque>,
        // A copy whose conditionals were also sent under RGW's names.
        copy: bool,
        // An object read whose `Content-Encoding` is the object's as the store kept it.
        coding: bool,
    }
}

impl<F, RB> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<RB>, ProxyError>>,
{
    type Output = Result<Response<EtagBody<RB>>, ProxyError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        if *this.copy && response.status() == StatusCode::NOT_MODIFIED {
            // RGW's answer to a failed `x-amz-copy-if-none-match`; AWS's is 412.
            return Poll::Ready(Err(ProxyError::Translated(S3Error::new(
                S3ErrorCode::PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold",
            ))));
        }
        let mut response = canonicalize(response, *this.op, this.tap.as_ref(), this.etags.take());
        if *this.coding {
            // SeaweedFS keeps the `aws-chunked` of an SDK upload as the object's coding.
            drop_aws_chunked(response.headers_mut());
        }
        Poll::Ready(Ok(response))
    }
}

/// Which operations answer with XML that carries ETags, and whether those are quoted.
fn xml_etags(op: S3Op) -> Option<bool> {
    match op {
        S3Op::CopyObject
        | S3Op::UploadPartCopy
        | S3Op::CompleteMultipartUpload
        | S3Op::ListObjects
        | S3Op::ListObjectsV2
        | S3Op::ListObjectVersions
        | S3Op::ListParts
        | S3Op::PostObject => Some(true),
        S3Op::GetObjectAttributes => Some(false),
        _ => None,
    }
}

fn canonicalize<RB>(
    response: Response<RB>,
    op: S3Op,
    tap: Option<&PartTap>,
    etags: Option<Opaque>,
) -> Response<EtagBody<RB>> {
    let (mut parts, inner) = response.into_parts();
    canonicalize_header(&mut parts.headers);
    drop_store_copies(&mut parts.headers);
    // A form upload's redirect: its body (Garage writes the `Location`, store's ETag
    // and all) is not sent.
    let mut discard = false;
    if let Some(opaque) = &etags {
        hide_header(&mut parts.headers, opaque.shown(op));
        if op == S3Op::PostObject {
            hide_location(&mut parts.headers, &opaque.object);
            discard = parts.status.is_redirection();
        }
    }
    if discard {
        parts
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
        return Response::from_parts(
            parts,
            EtagBody {
                inner,
                rewriter: Some(Box::new(EtagRewriter::new(true))),
                finished: true,
                trailers: None,
            },
        );
    }
    // Opaque mode reads every bucket configuration's answer as a listing could be.
    let hidden_config = matches!(op, S3Op::GetBucketConfig(_)) && etags.is_some();
    let rewriter = match xml_etags(op).or(hidden_config.then_some(true)) {
        Some(quoted) if parts.status.is_success() => {
            let mut rewriter = EtagRewriter::new(quoted);
            rewriter.replace_empty_with(tap.and_then(PartTap::result));
            match etags {
                Some(Opaque {
                    etags,
                    listing: Some((bucket, url)),
                    ..
                }) => rewriter.hide_listing_with(etags, &bucket, url),
                Some(opaque) => rewriter.hide_with(opaque.shown(op).clone()),
                None => {}
            }
            parts.headers.remove(CONTENT_LENGTH);
            Some(Box::new(rewriter))
        }
        _ => None,
    };
    Response::from_parts(
        parts,
        EtagBody {
            inner,
            rewriter,
            finished: false,
            trailers: None,
        },
    )
}

/// Collapses identical repeats of the ETag header and repairs its value.
pub fn canonicalize_header(headers: &mut HeaderMap) {
    collapse_identical(headers, ETAG);
    let fixed = headers
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .and_then(canonical_header)
        .and_then(|v| HeaderValue::from_str(&v).ok());
    if let Some(value) = fixed {
        headers.insert(ETAG, value);
    }
}

/// Removes SeaweedFS's own response headers (`seaweed-*`): `Seaweed-X-Amz-Etag` repeats
/// the stored ETag (the plaintext's MD5 for SSE-C objects, even on a 400 to a read
/// without the key), which no mode may show. They are not S3 headers.
fn drop_store_copies(headers: &mut HeaderMap) {
    let names: Vec<HeaderName> = headers
        .keys()
        .filter(|n| n.as_str().starts_with("seaweed-"))
        .cloned()
        .collect();
    for name in names {
        headers.remove(name);
    }
}

/// Hides the (canonical) ETag header's value.
fn hide_header(headers: &mut HeaderMap, etags: &ObjectEtags) {
    let Some(first) = headers.get(ETAG) else {
        return;
    };
    let hidden = first
        .to_str()
        .ok()
        .and_then(|v| etags.map_wrapped(v, Direction::Hide))
        .and_then(|v| HeaderValue::from_str(&v).ok());
    match hidden {
        // One value, the client's (another, different ETag header goes with it).
        Some(value) => {
            headers.insert(ETAG, value);
        }
        // A value that is not an S3 ETag passes, unless it could hold one.
        None if holds_hex_digest(first.as_bytes()) => {
            headers.remove(ETAG);
        }
        None => {
            let first = first.clone();
            headers.insert(ETAG, first);
        }
    }
}

/// Whether `bytes` hold 32 hex digits in a row: something a store's ETag could be.
fn holds_hex_digest(bytes: &[u8]) -> bool {
    bytes
        .split(|b| !b.is_ascii_hexdigit())
        .any(|run| run.len() >= 32)
}

/// Hides the `etag` parameter of a form upload's redirect (`success_action_redirect`:
/// stores add `bucket`, `key` and `etag` after the client's own query, so the last
/// `etag` is the store's). Only that one is mapped; any other `etag` the client put in
/// its URL is emptied (hiding values a client chooses would tell it the hidden value
/// of any content), and so is a value the proxy cannot map. A `Location` the proxy
/// cannot read as text is removed.
pub fn hide_location(headers: &mut HeaderMap, etags: &ObjectEtags) {
    let Some(value) = headers.get(LOCATION) else {
        return;
    };
    let Ok(text) = value.to_str() else {
        headers.remove(LOCATION);
        return;
    };
    let Some((base, query)) = text.split_once('?') else {
        return;
    };
    let is_etag = |pair: &&str| {
        pair.split('=')
            .next()
            .is_some_and(|name| name.eq_ignore_ascii_case("etag"))
    };
    let pairs: Vec<&str> = query.split('&').collect();
    let Some(last) = pairs.iter().rposition(&is_etag) else {
        return;
    };
    let rewritten: Vec<String> = pairs
        .iter()
        .enumerate()
        .map(|(i, pair)| {
            if !is_etag(pair) {
                return (*pair).to_owned();
            }
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let hidden = (i == last)
                .then(|| percent_decode_str(value).decode_utf8_lossy())
                .and_then(|value| etags.map_wrapped(&value, Direction::Hide))
                .map(|h| utf8_percent_encode(&h, NON_ALPHANUMERIC).to_string())
                .unwrap_or_default();
            format!("{name}={hidden}")
        })
        .collect();
    let location = format!("{base}?{}", rewritten.join("&"));
    match HeaderValue::from_str(&location) {
        Ok(value) => headers.insert(LOCATION, value),
        Err(_) => headers.remove(LOCATION),
    };
}

/// Collects the part ETags of a CompleteMultipartUpload body as it streams to the
/// store; the answer's empty `<ETag>` is filled from it.
#[derive(Clone, Debug, Default)]
pub struct PartTap(Arc<Mutex<TapState>>);

#[derive(Debug, Default)]
struct TapState {
    collector: PartEtagCollector,
    complete: bool,
}

impl PartTap {
    /// A tap that reveals opaque part ETags with `etags` before adding them up.
    fn new(etags: Option<ObjectEtags>) -> Self {
        Self(Arc::new(Mutex::new(TapState {
            collector: PartEtagCollector::revealing(etags),
            complete: false,
        })))
    }

    fn state(&self) -> MutexGuard<'_, TapState> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The multipart ETag of the listed parts, once the whole body was sent.
    fn result(&self) -> Option<String> {
        let mut state = self.state();
        if !state.complete {
            return None;
        }
        std::mem::take(&mut state.collector).finish()
    }
}

pin_project! {
    /// The request body, read by a [`PartTap`] on its way for CompleteMultipartUpload.
    pub struct TapBody<B> {
        #[pin]
        inner: B,
        tap: Option<PartTap>,
    }
}

impl<B: Body<Data = Bytes>> Body for TapBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        let polled = ready!(this.inner.as_mut().poll_frame(cx));
        if let Some(tap) = this.tap.as_ref() {
            let mut state = tap.state();
            if let Some((data, ended)) = seen(&polled, &*this.inner) {
                state.collector.feed(data);
                state.complete |= ended;
            }
        }
        Poll::Ready(polled)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// The response body; an XML body has its `<ETag>` elements made canonical on
    /// the way.
    pub struct EtagBody<B> {
        #[pin]
        inner: B,
        rewriter: Option<Box<EtagRewriter>>,
        finished: bool,
        // Trailers, sent after what the rewriter still held.
        trailers: Option<HeaderMap>,
    }
}

impl<B: Body<Data = Bytes>> Body for EtagBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let mut this = self.project();
        let Some(rewriter) = this.rewriter.as_mut() else {
            return this.inner.poll_frame(cx);
        };
        loop {
            if let Some(trailers) = this.trailers.take() {
                return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
            }
            if *this.finished {
                return Poll::Ready(None);
            }
            match ready!(this.inner.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        let out = rewriter.feed(&data);
                        if !out.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
                        }
                    }
                    Err(frame) => {
                        // Trailers end the body: what the rewriter holds goes first.
                        if let Ok(trailers) = frame.into_trailers() {
                            *this.trailers = Some(trailers);
                        }
                        *this.finished = true;
                        let rest = rewriter.finish();
                        if !rest.is_empty() {
                            return Poll::Ready(Some(Ok(Frame::data(Bytes::from(rest)))));
                        }
                    }
                },
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    *this.finished = true;
                    let rest = rewriter.finish();
                    if !rest.is_empty() {
                        return Poll::Ready(Some(Ok(Frame::data(Bytes::from(rest)))));
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self.rewriter {
            Some(_) => self.finished && self.trailers.is_none(),
            None => self.inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self.rewriter {
            // The length changes as ETags are rewritten.
            Some(_) => SizeHint::new(),
            None => self.inner.size_hint(),
        }
    }
}

/// Set by [`Etag`] on a CompleteMultipartUpload in opaque mode: the part list is to be
/// revealed by [`EtagReveal`].
#[derive(Clone, Debug)]
pub struct RevealParts(ObjectEtags);

/// Adds [`EtagReveal`].
#[derive(Clone, Copy, Debug, Default)]
pub struct EtagRevealLayer;

impl<S> Layer<S> for EtagRevealLayer {
    type Service = EtagReveal<S>;
    fn layer(&self, inner: S) -> EtagReveal<S> {
        EtagReveal { inner }
    }
}

/// Opaque mode: the part ETags of a CompleteMultipartUpload body mapped back to the
/// store's, below the checks of the client's signature. The body (small: a part list)
/// is read whole, up to [`MAX_PART_LIST`], checked and mapped (`xml::reveal_part_list`)
/// before any of it is sent; its length is kept. A `Content-MD5` is checked here against
/// the body as the client sent it, and not forwarded (the store sees another body).
/// Other requests pass untouched.
#[derive(Clone, Debug)]
pub struct EtagReveal<S> {
    inner: S,
}

impl<S, B> Service<Request<B>> for EtagReveal<S>
where
    S: Service<Request<HeldBody<B, Revealing>>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> S::Future {
        let held = req.extensions_mut().remove::<RevealParts>().map(|parts| {
            let md5 = req.headers_mut().remove(CONTENT_MD5);
            Held::new(Revealing {
                etags: parts.0,
                md5,
            })
        });
        self.inner.call(req.map(|inner| HeldBody::new(inner, held)))
    }
}

/// A part list to reveal.
#[derive(Debug)]
pub struct Revealing {
    etags: ObjectEtags,
    /// The client's `Content-MD5`.
    md5: Option<HeaderValue>,
}

impl Hold for Revealing {
    fn limit(&self) -> usize {
        MAX_PART_LIST
    }

    fn too_large(&self) -> S3Error {
        malformed(format!(
            "The part list is larger than {MAX_PART_LIST} bytes."
        ))
    }

    /// The whole body as the client sent it, checked and mapped.
    fn finish(&mut self, body: Vec<u8>) -> Result<Bytes, S3Error> {
        if let Some(expected) = self.md5.take() {
            let digest = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                Md5::digest(&body),
            );
            if digest.as_bytes() != expected.as_bytes() {
                return Err(S3Error::new(
                    S3ErrorCode::BadDigest,
                    "The Content-MD5 you specified did not match what we received.",
                ));
            }
        }
        reveal_part_list(&body, &self.etags)
            .map(Bytes::from)
            .map_err(|why| malformed(format!("The part list {why}.")))
    }
}

fn malformed(message: String) -> S3Error {
    S3Error::new(S3ErrorCode::MalformedXML, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::headers::{SSE_C_ALGORITHM, SSE_C_KEY_MD5};

    #[test]
    fn repairs_the_etag_header() {
        let mut h = HeaderMap::new();
        h.append(SSE_C_KEY_MD5, HeaderValue::from_static("m"));
        h.append(SSE_C_KEY_MD5, HeaderValue::from_static("m"));
        h.append(SSE_C_ALGORITHM, HeaderValue::from_static("AES256"));
        h.append(SSE_C_ALGORITHM, HeaderValue::from_static("AES128"));
        h.append(
            ETAG,
            HeaderValue::from_static("0123456789ABCDEF0123456789ABCDEF"),
        );
        h.append(
            ETAG,
            HeaderValue::from_static("0123456789ABCDEF0123456789ABCDEF"),
        );
        canonicalize_header(&mut h);
        assert_eq!(h.get_all(ETAG).iter().count(), 1);
        assert_eq!(h[ETAG], "\"0123456789abcdef0123456789abcdef\"");
        assert_eq!(h.get_all(SSE_C_KEY_MD5).iter().count(), 2, "not an etag");
    }
}

#[cfg(test)]
#[path = "etag_tests.rs"]
mod layer_tests;
