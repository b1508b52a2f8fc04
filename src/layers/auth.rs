//! Resign mode's gate (DESIGN "Two auth modes"): every request's SigV4 signature, header
//! or presigned, is verified against the proxy's own credential table, and the client's
//! bucket scope is enforced, before anything reaches the store (a scoped client's
//! ListBuckets answer is cut down by `layers::list_buckets`). The [`Verified`] result
//! is left in the request's extensions: the body layers check what the body still owes
//! against it, and the resign layer signs for the store only what carries it. A POST
//! Object form carries its signature in its fields: it passes with [`FormAuthPending`]
//! instead, for the post_object layer to verify (the resign layer refuses it unless
//! that layer did). In passthrough mode (no credential table) requests pass untouched.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use futures_util::future::{Either, Ready, ready};
use http::header::HOST;
use http::{HeaderMap, Request};
use tower::{Layer, Service};

use crate::credentials::{ClientCredential, Credentials, LiveCredentials};
use crate::error::ProxyError;
use crate::forwarding::ClientHost;
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::headers::{COPY_SOURCE, DECODED_CONTENT_LENGTH};
use crate::s3::op::{BucketSub, S3Op, S3Request};
use crate::s3::policy::copy_source_bucket;
use crate::s3::sigv4::{self, Verified, check_forwarded_scope};

/// Adds [`Auth`].
#[derive(Clone, Debug)]
pub struct AuthLayer {
    credentials: LiveCredentials,
}

impl AuthLayer {
    /// A layer reading the running credential table; `None` in it means passthrough.
    pub fn new(credentials: LiveCredentials) -> Self {
        Self { credentials }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Auth<S>;
    fn layer(&self, inner: S) -> Auth<S> {
        Auth {
            inner,
            credentials: Arc::clone(&self.credentials),
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct Auth<S> {
    inner: S,
    credentials: LiveCredentials,
}

impl<S, B> Service<Request<B>> for Auth<S>
where
    S: Service<Request<B>, Error = ProxyError>,
{
    type Response = S::Response;
    type Error = ProxyError;
    type Future = Either<Ready<Result<S::Response, ProxyError>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let Some(credentials) = self.credentials.load_full() else {
            // Passthrough: the store verifies the client's signature, and must read it
            // as one for S3.
            return match check_forwarded_scope(req.headers(), req.uri().query()) {
                Ok(()) => Either::Right(self.inner.call(req)),
                Err(e) => Either::Left(ready(Err(e.into()))),
            };
        };
        let s3 = req.extensions().get::<S3Request>();
        if s3.is_some_and(|s3| s3.op == S3Op::PostObject) {
            return match check_forwardable(s3) {
                Ok(()) => {
                    req.extensions_mut().insert(FormAuthPending(credentials));
                    Either::Right(self.inner.call(req))
                }
                Err(e) => Either::Left(ready(Err(e.into()))),
            };
        }
        match authenticate(&req, &credentials, SystemTime::now()) {
            Ok(verified) => {
                req.extensions_mut().insert(verified);
                Either::Right(self.inner.call(req))
            }
            Err(e) => Either::Left(ready(Err(e.into()))),
        }
    }
}

/// Resign mode's mark on a POST Object form: its signature and policy are in its
/// fields, to be verified against this table (the one the request started with) once
/// they are read.
#[derive(Clone, Debug)]
pub struct FormAuthPending(pub Arc<Credentials>);

/// Verifies the request head and the client's scope; the verified signature on success.
pub fn authenticate<B>(
    req: &Request<B>,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<Verified, S3Error> {
    let s3 = req.extensions().get::<S3Request>();
    check_forwardable(s3)?;
    // The host the request is classified and forwarded by is the one the signature must
    // cover (HTTP/2 carries it in `:authority`; the classify layer has refused a Host
    // that differs from it).
    let with_host;
    let headers = match req.extensions().get::<ClientHost>() {
        Some(ClientHost(host)) if req.headers().get(HOST) != Some(host) => {
            let mut headers = req.headers().clone();
            headers.insert(HOST, host.clone());
            with_host = headers;
            &with_host
        }
        _ => req.headers(),
    };
    let request = sigv4::Request {
        method: req.method(),
        path: req.uri().path(),
        query: req.uri().query(),
        headers,
    };
    let verified = credentials.verifier().verify(&request, credentials, now)?;
    check_scope(
        credentials,
        &verified.access_key_id,
        s3,
        req.headers(),
        req.uri().query(),
    )?;
    if verified.payload.is_streaming() && !req.headers().contains_key(DECODED_CONTENT_LENGTH) {
        return Err(S3Error::new(
            S3ErrorCode::MissingContentLength,
            "You must provide the Content-Length HTTP header.",
        )
        .with_reason(Reason::AwsChunkedLength));
    }
    Ok(verified)
}

/// Only S3 operations the proxy recognises are signed for the store: anything else
/// (SeaweedFS's IAM `Action=` forms, RGW's admin API) would run with the store's
/// credentials rather than the client's. The classify layer refuses both first, in both
/// modes; this check keeps the auth layer from signing them on its own.
fn check_forwardable(s3: Option<&S3Request>) -> Result<(), S3Error> {
    let refuse = |message: &'static str| {
        Err(S3Error::new(S3ErrorCode::NotImplemented, message)
            .with_reason(Reason::ResignUnsupported))
    };
    match s3 {
        None => refuse("This request is not an S3 operation the proxy signs for the store."),
        Some(s3) if s3.op == S3Op::Unknown => {
            refuse("This request is not an S3 operation the proxy signs for the store.")
        }
        Some(s3)
            if s3
                .bucket
                .as_deref()
                .is_some_and(crate::s3::op::is_store_entry_point) =>
        {
            refuse(
                "This bucket name is an entry point of the store's own APIs, which the proxy does not sign for.",
            )
        }
        Some(_) => Ok(()),
    }
}

/// A client limited to some buckets may address only those, as target and as copy
/// source. Of the bucketless operations it may list buckets (the answer is cut down to
/// its buckets by `layers::list_buckets`); any other is refused to it.
pub fn check_scope(
    credentials: &Credentials,
    access_key_id: &str,
    s3: Option<&S3Request>,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(), S3Error> {
    let Some(client) = credentials.client(access_key_id) else {
        // Not reached: the signature verified against this same table.
        return Err(S3Error::new(
            S3ErrorCode::InvalidAccessKeyId,
            "The AWS Access Key Id you provided does not exist in our records.",
        ));
    };
    let target = s3.and_then(|s3| s3.bucket.as_deref());
    // Fails closed: a copy source with no readable bucket is outside every scope but
    // "all buckets" (the strict header check refuses one anyway).
    let source = headers.get(COPY_SOURCE).map(|v| {
        v.to_str()
            .ok()
            .and_then(copy_source_bucket)
            .unwrap_or_default()
    });
    let allowed = match target {
        Some(bucket) => client.buckets.allows(bucket),
        None => {
            client.buckets.allows_every_bucket() || s3.is_some_and(|s3| s3.op == S3Op::ListBuckets)
        }
    } && source.is_none_or(|bucket| client.buckets.allows(&bucket));
    if !allowed {
        return Err(S3Error::new(S3ErrorCode::AccessDenied, "Access Denied")
            .with_reason(Reason::ClientScope));
    }
    let grants = headers
        .iter()
        .any(|(name, value)| grants_access(name.as_str(), value.as_bytes()))
        || query.is_some_and(query_grants_access);
    check_access_control(client, s3, grants)
}

/// Whether a query string carries an ACL as [`grants_access`] reads one: presigned URLs
/// may carry `x-amz-*` headers as query parameters, and AWS applies them.
fn query_grants_access(query: &str) -> bool {
    query.split('&').any(|pair| {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_encoding::percent_decode_str(s).collect::<Vec<u8>>();
        let name = String::from_utf8_lossy(&decode(name)).to_ascii_lowercase();
        name.starts_with("x-amz-") && grants_access(&name, &decode(value))
    })
}

/// Refuses, to a client without `manage_access`, a request that would change who can
/// reach data at the store itself: signed with the store's credentials, a public
/// ACL or a bucket policy naming `"*"` lets anyone who can reach the store write
/// plaintext there, or read listings and ETags, past every check of the proxy (RGW
/// takes anonymous PUTs into a `public-read-write` bucket). `grants`: the request
/// carries an ACL other than the owner's own ([`grants_access`]).
pub fn check_access_control(
    client: &ClientCredential,
    s3: Option<&S3Request>,
    grants: bool,
) -> Result<(), S3Error> {
    if client.manage_access || !(grants || s3.is_some_and(|s3| changes_access(s3.op))) {
        return Ok(());
    }
    Err(S3Error::new(S3ErrorCode::AccessDenied, "Access Denied")
        .with_reason(Reason::ClientAccessControl))
}

/// Operations that set who may reach a bucket or an object at the store (on Garage, a
/// website configuration makes a bucket readable by anyone).
fn changes_access(op: S3Op) -> bool {
    use BucketSub::{Acl, OwnershipControls, Policy, PublicAccessBlock, Website};
    matches!(
        op,
        S3Op::PutObjectAcl
            | S3Op::PutBucketConfig(Acl | Policy | PublicAccessBlock | OwnershipControls | Website)
            | S3Op::DeleteBucketConfig(Policy | PublicAccessBlock | OwnershipControls)
    )
}

/// Whether a request header (lower-case name) grants access beyond the owner: a canned
/// ACL other than `private` and the bucket owner's own, or any `x-amz-grant-*`.
pub fn grants_access(name: &str, value: &[u8]) -> bool {
    const OWNER_ONLY: [&[u8]; 3] = [
        b"private",
        b"bucket-owner-read",
        b"bucket-owner-full-control",
    ];
    match name {
        "x-amz-acl" => !OWNER_ONLY.contains(&value),
        _ => name.starts_with("x-amz-grant-"),
    }
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
