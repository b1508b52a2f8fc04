//! Resign mode's signer (DESIGN "Two auth modes"): a request the auth layer verified
//! leaves the proxy signed with the store's credentials (`[upstream.credentials]`)
//! instead of the client's. The client's `Authorization`, `x-amz-date`,
//! `x-amz-content-sha256`, security token and presigned query parameters never reach the
//! store; the path, the rest of the query and every header are forwarded as verified.
//! The body streams: the store is told `UNSIGNED-PAYLOAD`, as the proxy has already
//! checked what the client's signature said about the body (the body layers), or
//! `STREAMING-UNSIGNED-PAYLOAD-TRAILER` when the payload layer framed it again to pass
//! on a trailer checksum ([`StorePayload`]).
//! A POST Object form the post_object layer verified (`sigv4::FormSigned`) carries the
//! store's signature in its fields: its head loses the client's authentication and gets
//! none. Fails closed: in resign mode a request with neither mark is refused.
//! Sits just above the store client, so it signs the head exactly as it is sent.

use std::task::{Context, Poll};
use std::time::SystemTime;

use futures_util::future::{Either, Ready, ready};
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use http::uri::PathAndQuery;
use http::{HeaderName, Request, Uri};
use tower::{Layer, Service};

use crate::credentials::{Credentials, LiveCredentials};
use crate::error::ProxyError;
use crate::forwarding::ClientHost;
use crate::s3::error::S3Error;
use crate::s3::headers::{AMZ_DATE, CONTENT_MD5, CONTENT_SHA256, SECURITY_TOKEN};
use crate::s3::sigv4::{self, FormSigned, Signer, UNSIGNED_PAYLOAD, Verified};

/// What the store is told of the body (`x-amz-content-sha256`) when it is not
/// `UNSIGNED-PAYLOAD`: set by the layer that framed the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StorePayload(pub &'static str);

/// Adds [`Resign`].
#[derive(Clone, Debug)]
pub struct ResignLayer {
    credentials: LiveCredentials,
}

impl ResignLayer {
    /// A layer signing with the running credential table's store credentials.
    pub fn new(credentials: LiveCredentials) -> Self {
        Self { credentials }
    }
}

impl<S> Layer<S> for ResignLayer {
    type Service = Resign<S>;
    fn layer(&self, inner: S) -> Resign<S> {
        Resign {
            inner,
            credentials: std::sync::Arc::clone(&self.credentials),
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct Resign<S> {
    inner: S,
    credentials: LiveCredentials,
}

impl<S, B> Service<Request<B>> for Resign<S>
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
        let verified = req.extensions().get::<Verified>().is_some();
        let form = req.extensions().get::<FormSigned>().is_some();
        let Some(credentials) = self.credentials.load_full() else {
            if verified || form {
                return Either::Left(ready(Err(ProxyError::Rejected(S3Error::internal()))));
            }
            // Passthrough: the client's signature goes to the store untouched.
            return Either::Right(self.inner.call(req));
        };
        if !verified {
            // Nothing unverified reaches the store with its credentials.
            let result = if form {
                strip_client_auth(&mut req)
            } else {
                Err(S3Error::internal())
            };
            return match result {
                Ok(()) => Either::Right(self.inner.call(req)),
                Err(e) => Either::Left(ready(Err(e.into()))),
            };
        }
        match resign_as_store(&mut req, &credentials, SystemTime::now()) {
            Ok(()) => Either::Right(self.inner.call(req)),
            Err(e) => Either::Left(ready(Err(e.into()))),
        }
    }
}

/// [`resign`] with the store's credentials (`[upstream.credentials]`).
pub fn resign_as_store<B>(
    req: &mut Request<B>,
    credentials: &Credentials,
    now: SystemTime,
) -> Result<(), S3Error> {
    let store = credentials.store();
    let signer = Signer {
        access_key_id: &store.access_key,
        region: &store.region,
        service: sigv4::SERVICE,
        key_for: &|date: &str| credentials.store_signing_key(date),
    };
    resign(req, &signer, now)
}

/// Replaces the client's authentication of `req` with a signature by `signer`.
pub fn resign<B>(
    req: &mut Request<B>,
    signer: &Signer<'_>,
    now: SystemTime,
) -> Result<(), S3Error> {
    // `Authorization`, `x-amz-date` and `x-amz-content-sha256` are not signed (the
    // signature makes its own) and are replaced below.
    strip_all_but_replaced(req)?;
    let payload = req
        .extensions()
        .get::<StorePayload>()
        .map_or(UNSIGNED_PAYLOAD, |p| p.0);
    let parts = sigv4::Parts {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.uri().query(),
        headers: req.headers(),
    };
    let signed = sigv4::sign_with(&parts, is_signed_for_store, payload, signer, now)?;
    let headers = req.headers_mut();
    headers.insert(AUTHORIZATION, signed.authorization);
    headers.insert(AMZ_DATE, signed.x_amz_date);
    headers.insert(CONTENT_SHA256, signed.x_amz_content_sha256);
    Ok(())
}

/// Removes the client's authentication (headers and presigned parameters) and sets the
/// Host the request was verified with.
fn strip_client_auth<B>(req: &mut Request<B>) -> Result<(), S3Error> {
    strip_all_but_replaced(req)?;
    let headers = req.headers_mut();
    for name in [AUTHORIZATION, AMZ_DATE, CONTENT_SHA256] {
        headers.remove(name);
    }
    Ok(())
}

/// [`strip_client_auth`] but for the three headers a signature for the store replaces
/// (`Authorization`, `x-amz-date`, `x-amz-content-sha256`): the presigned parameters and
/// the session token removed, the verified Host set.
fn strip_all_but_replaced<B>(req: &mut Request<B>) -> Result<(), S3Error> {
    if let Some(query) = req.uri().query()
        && has_presign_params(query)
    {
        let path_and_query = without_presign_params(req.uri().path(), query);
        *req.uri_mut() = Uri::from(path_and_query.map_err(|_| S3Error::internal())?);
    }
    let host = req.extensions().get::<ClientHost>().map(|h| h.0.clone());
    let headers = req.headers_mut();
    headers.remove(SECURITY_TOKEN);
    if let Some(host) = host {
        headers.insert(HOST, host);
    }
    Ok(())
}

/// What the store's signature covers: `host`, `content-md5`, `content-type` and every
/// `x-amz-*` field; the others may be rewritten on the way (hop-by-hop fields).
fn is_signed_for_store(name: &HeaderName) -> bool {
    name == HOST
        || name == CONTENT_MD5
        || name == CONTENT_TYPE
        || name.as_str().starts_with("x-amz-")
}

fn is_presign_param(pair: &str) -> bool {
    let name = pair.split_once('=').map_or(pair, |(name, _)| name);
    sigv4::PRESIGN_PARAMS.contains(&name)
}

fn has_presign_params(query: &str) -> bool {
    query.split('&').any(is_presign_param)
}

/// `path?query` without the presigned-authentication parameters; every other parameter
/// is kept byte for byte, in order.
fn without_presign_params(path: &str, query: &str) -> Result<PathAndQuery, http::uri::InvalidUri> {
    let mut out = String::with_capacity(path.len() + query.len() + 1);
    out.push_str(path);
    let mut first = true;
    for pair in query.split('&').filter(|p| !is_presign_param(p)) {
        out.push(if first { '?' } else { '&' });
        first = false;
        out.push_str(pair);
    }
    PathAndQuery::try_from(out)
}

#[cfg(test)]
#[path = "resign_tests.rs"]
mod tests;
