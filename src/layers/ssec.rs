//! SSE-C enforcement: AWS's header validation in AWS's order, the bucket policy and the
//! store's known failures on the way in (a POST Object's form fields instead of its
//! headers); on the way out, the store's echo of the key made single-valued and SSE-C
//! writes refused unless the store confirmed the key. The rules live in `s3::ssec`,
//! `s3::policy` and `s3::store`; the result ([`Checked`]) is left in the request's
//! extensions for the layers below.

use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, HeaderName, Request, Response};
use tower::{Layer, Service};

use crate::config::LiveSsec;
use crate::error::ProxyError;
use crate::forwarding::ConnInfo;
use crate::layers::finish::{Finish, Next};
use crate::layers::inject::Injected;
use crate::s3::error::S3Error;
use crate::s3::form::Fields;
use crate::s3::headers::{SSE, SSE_C_ALGORITHM, SSE_C_KEY, SSE_C_KEY_MD5, SSE_KMS_KEY_ID};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::policy::copy_source_bucket;
use crate::s3::sigv4::Verified;
use crate::s3::ssec::{self, Checked, Groups, KeyDigest, RawTriple, Usage};
use crate::s3::store::{CopyPlan, LiveStore, Store};
use crate::s3::strict::{copy_source_object, query_value};

/// What the SSE-C layer needs.
#[derive(Debug)]
pub struct SsecSettings {
    /// Policies, swapped in place on reload.
    pub live: Arc<ArcSwap<LiveSsec>>,
    /// `upstream.store`, as configured or recognised.
    pub store: Arc<LiveStore>,
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

/// A write the store must confirm.
#[derive(Clone, Copy, Debug)]
pub struct Confirm {
    op: S3Op,
    store: Store,
    digest: KeyDigest,
}

impl<S, B, RB> Service<Request<B>> for Ssec<S>
where
    S: Service<Request<B>, Response = Response<RB>, Error = ProxyError>,
{
    type Response = Response<RB>;
    type Error = ProxyError;
    type Future = Finish<S::Future, After, Response<RB>, Response<RB>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        // Under `auto`, nothing reaches the store before it is recognised: its known
        // misreadings are refused only once the proxy knows which store it is.
        if self.settings.store.pending() {
            self.settings.store.nudge();
            return Finish::refuse(LiveStore::unsettled_refusal());
        }
        let tls = req.extensions().get::<ConnInfo>().is_some_and(|c| c.tls);
        // Classification runs first; without it nothing here can be decided.
        let Some(s3) = req.extensions().get::<S3Request>().cloned() else {
            return Finish::refuse(S3Error::internal());
        };
        let store = self.settings.store.get();
        if let Some(refusal) = store.path_refusal(req.method(), req.uri().path()) {
            return Finish::refuse(refusal);
        }
        let checked = if s3.op == S3Op::PostObject {
            // The POST Object layer read the fields; they carry the parameters.
            match req.extensions_mut().remove::<Fields>() {
                Some(fields) => {
                    let injected = req
                        .extensions()
                        .get::<Injected>()
                        .is_some_and(|i| i.destination);
                    check_form(&self.settings, &s3, &fields, tls, injected)
                }
                None => Err(S3Error::internal()),
            }
        } else {
            let injected = req.extensions().get::<Injected>().copied();
            // Resign mode: a verified signature.
            let resign = req.extensions().get::<Verified>().is_some();
            check(
                &self.settings,
                &s3,
                req.uri().query(),
                req.headers(),
                tls,
                injected.unwrap_or_default(),
                resign,
            )
        };
        let checked = match checked {
            Ok(checked) => checked,
            Err(e) => return Finish::refuse(e),
        };
        req.extensions_mut().insert(checked);
        let confirm = checked
            .destination
            .filter(|_| store.confirms(s3.op))
            .map(|digest| Confirm {
                op: s3.op,
                store,
                digest,
            });
        let after = After {
            confirm,
            sent: checked.destination,
        };
        Finish::new(self.inner.call(req), after, finish)
    }
}

/// What the response is checked against.
#[derive(Clone, Copy, Debug)]
pub struct After {
    /// The write to confirm, if any.
    confirm: Option<Confirm>,
    /// The digest of the key the request carried (sent by the client or injected).
    sent: Option<KeyDigest>,
}

/// The listing parameters that say where a listing starts.
const LISTING_START: [&str; 5] = [
    "prefix",
    "start-after",
    "continuation-token",
    "marker",
    "key-marker",
];

/// Every request-side check, in order: AWS's header validation, the bucket policy,
/// the store's known failures (`resign`: resign mode, which makes some requests of its
/// own).
fn check(
    settings: &SsecSettings,
    s3: &S3Request,
    query: Option<&str>,
    headers: &HeaderMap,
    tls: bool,
    injected: Injected,
    resign: bool,
) -> Result<Checked, S3Error> {
    let groups = Groups::from_headers(headers);
    // An injected key did not cross the client's connection: only a group the client
    // sent needs TLS.
    let client_sent = (groups.destination.is_present() && !injected.destination)
        || (groups.copy_source.is_present() && !injected.source);
    let checked = ssec::check_groups(s3.op, &groups, tls || !client_sent)?;
    let present = (
        groups.destination.is_present(),
        groups.copy_source.is_present(),
    );
    let source_bucket = groups
        .copy_source_path
        .and_then(|v| v.to_str().ok())
        .and_then(copy_source_bucket);
    settings.live.load().policies.enforce(
        s3.op,
        s3.bucket.as_deref(),
        source_bucket.as_deref(),
        present,
        (injected.destination, injected.source),
        &checked,
    )?;
    let store = settings.store.get();
    if let Some(refusal) = store.refusal(s3.op, &checked, resign) {
        return Err(refusal);
    }
    let copy_source = groups.copy_source_path.and_then(|v| v.to_str().ok());
    if let Some(refusal) = copy_source.and_then(|v| store.copy_source_refusal(v)) {
        return Err(refusal);
    }
    let source_key = copy_source.and_then(copy_source_object).map(|(_, key)| key);
    for key in s3.key.iter().chain(source_key.iter()) {
        if let Some(refusal) = store.key_refusal(key) {
            return Err(refusal);
        }
    }
    if let Some(key) = s3.key.as_deref() {
        let folder_object = checked.destination.is_none() && empty_body(headers);
        if let Some(refusal) = store.folder_refusal(s3.op, key, folder_object) {
            return Err(refusal);
        }
    }
    // Every request at a bucket path, not only those classified as listings: a store
    // picks its route by its own order of parameters (SeaweedFS's current source runs
    // `?ownershipControls&list-type=2` as ListObjectsV2; 4.48 answers it 400).
    if s3.bucket.is_some() && s3.key.is_none() {
        for name in LISTING_START {
            if let Some(refusal) = query_value(query, name)?
                .as_deref()
                .and_then(|value| store.listing_refusal(value))
            {
                return Err(refusal);
            }
        }
    }
    // Conditions, appends and completion checks the store would not apply. Resign
    // mode sends copy conditionals under the store's own names too (the etag layer), and
    // performs some copies itself, ending in a PutObject.
    let proxy_writes = resign && store.copy_plan(s3.op, &checked) == CopyPlan::Stream;
    let refusal = store
        .ignored_copy_conditions(s3.op, headers, &checked, resign)
        .or_else(|| store.write_condition_refusal(s3.op, headers, proxy_writes))
        .or_else(|| Store::append_refusal(s3.op, headers))
        .or_else(|| store.completion_refusal(s3.op, headers));
    match refusal {
        Some(refusal) => Err(refusal),
        None => Ok(checked),
    }
}

/// The POST Object form fields through the same rules as PutObject headers;
/// `injected`: the SSE-C fields are the bucket's key, added by the proxy.
fn check_form(
    settings: &SsecSettings,
    s3: &S3Request,
    fields: &Fields,
    tls: bool,
    injected: bool,
) -> Result<Checked, S3Error> {
    let raw = RawTriple::new(
        fields.get(SSE_C_ALGORITHM.as_str()),
        fields.get(SSE_C_KEY.as_str()),
        fields.get(SSE_C_KEY_MD5.as_str()),
    );
    // An injected key did not cross the client's connection.
    ssec::check_secure(raw.is_present() && !injected, tls)?;
    let mut checked = Checked::default();
    if raw.is_present() {
        checked.destination = Some(ssec::validate(&raw, Usage::Write)?);
    }
    let sse = fields
        .get(SSE.as_str())
        .and_then(|v| http::HeaderValue::from_bytes(v).ok());
    ssec::check_sse_conflict(
        sse.as_ref(),
        fields.get(SSE_KMS_KEY_ID.as_str()).is_some(),
        Usage::Write,
        checked.destination.is_some(),
    )?;
    settings.live.load().policies.enforce(
        s3.op,
        s3.bucket.as_deref(),
        None,
        (raw.is_present(), false),
        (injected, false),
        &checked,
    )?;
    let store = settings.store.get();
    let refusal = form_keys(fields).find_map(|key| {
        store
            .key_refusal(&key)
            .or_else(|| store.folder_refusal(s3.op, &key, false))
    });
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    Ok(checked)
}

/// Whether a request's body is empty: `Content-Length: 0`, by which hyper frames it (it
/// drops the header when `Transfer-Encoding` is present). An aws-chunked body's
/// `x-amz-decoded-content-length` is not read: any framed chunk makes the length > 0.
fn empty_body(headers: &HeaderMap) -> bool {
    headers.get(CONTENT_LENGTH).is_some_and(|v| v == "0")
}

/// The keys a store could write a form to: its `key` field, with `${filename}` replaced
/// by the file's name as sent and by its last `/` segment (Go's `Part.FileName` keeps
/// only that), so a file named `.uploads` or `a\b` cannot bring a key the store reads
/// otherwise past [`Store::key_refusal`](crate::s3::store::Store::key_refusal).
fn form_keys(fields: &Fields) -> impl Iterator<Item = String> {
    const FILENAME: &str = "${filename}";
    let key = fields.get("key").map(String::from_utf8_lossy);
    let name = String::from_utf8_lossy(fields.filename().unwrap_or_default());
    let last = name.rsplit('/').next().unwrap_or_default().to_owned();
    let expanded = key
        .as_ref()
        .filter(|key| key.contains(FILENAME))
        .map(|key| [key.replace(FILENAME, &name), key.replace(FILENAME, &last)]);
    key.map(std::borrow::Cow::into_owned)
        .into_iter()
        .chain(expanded.into_iter().flatten())
}

/// The echo made single-valued; an SSE-C write the store did not confirm refused.
fn finish<RB>(after: After, result: Result<Response<RB>, ProxyError>) -> Next<Response<RB>> {
    Next::Done(result.and_then(|mut response| {
        collapse_echo(response.headers_mut());
        drop_foreign_echo(response.headers_mut(), after.sent);
        let Some(c) = after.confirm.filter(|_| response.status().is_success()) else {
            return Ok(response);
        };
        match unconfirmed(response.headers(), &c.digest) {
            Some(missing) => Err(ProxyError::Unconfirmed {
                op: c.op.as_str(),
                store: c.store.as_str(),
                missing,
            }),
            None => Ok(response),
        }
    }))
}

/// SSE-C response headers a store may repeat (SeaweedFS sends the key MD5 twice).
const ECHO: [HeaderName; 3] = [SSE_C_ALGORITHM, SSE_C_KEY_MD5, SSE];

/// Collapses identical repeats of the echo; differing values stay and fail
/// confirmation.
fn collapse_echo(headers: &mut HeaderMap) {
    for name in ECHO {
        crate::s3::headers::collapse_identical(headers, name);
    }
}

/// Removes a key-MD5 echo that is not the digest of the key the request carried:
/// SeaweedFS answers a HEAD with the wrong key with the MD5 of the object's real key,
/// which AWS never shows (it tells which key, or key version, an object is under).
fn drop_foreign_echo(headers: &mut HeaderMap, sent: Option<KeyDigest>) {
    let own = |v: &http::HeaderValue| {
        let echoed = v.to_str().ok().and_then(KeyDigest::from_base64);
        matches!((echoed, sent), (Some(e), Some(s)) if e.matches(&s))
    };
    if !headers.get_all(SSE_C_KEY_MD5).iter().all(own) {
        headers.remove(SSE_C_KEY_MD5);
    }
}

/// What the store failed to echo, if anything: `AES256` and the key's MD5, each
/// exactly once.
fn unconfirmed(headers: &HeaderMap, digest: &KeyDigest) -> Option<&'static str> {
    let single = |name| {
        let mut values = headers.get_all(name).iter();
        match (values.next(), values.next()) {
            (Some(v), None) => v.to_str().ok(),
            _ => None,
        }
    };
    if single(SSE_C_ALGORITHM) != Some(ssec::AES256) {
        return Some("x-amz-server-side-encryption-customer-algorithm: AES256, once");
    }
    let echoed = single(SSE_C_KEY_MD5).and_then(KeyDigest::from_base64);
    if !echoed.is_some_and(|echoed| echoed.matches(digest)) {
        return Some("x-amz-server-side-encryption-customer-key-md5 of the request's key, once");
    }
    None
}

#[cfg(test)]
#[path = "ssec_tests.rs"]
mod tests;
