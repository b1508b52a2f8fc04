//! Classification, once: checks the header section, resolves the addressed host, and
//! stores the request's [`S3Request`] and [`ClientHost`] in its extensions (and the
//! operation in the trace layer's [`Facts`]).

use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::{Either, Ready, ready};
use http::{Method, Request};
use tower::{Layer, Service};

use crate::error::ProxyError;
use crate::forwarding::{ClientHost, check_header_section, request_host};
use crate::layers::trace::Facts;
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::op::{S3Op, S3Request, Target, classify, is_store_entry_point};
use crate::s3::store::LiveStore;
use crate::s3::strict::{self, Addressing, HostReading};

/// Settings the classify layer needs.
#[derive(Debug)]
pub struct ClassifySettings {
    /// `server.virtual_host_suffixes` and `server.path_style_hosts`.
    pub addressing: Addressing,
    /// `server.max_header_bytes`.
    pub max_header_bytes: usize,
    /// The store: how it reads a Host decides which Hosts are path-style.
    pub store: Arc<LiveStore>,
}

/// Adds [`Classify`].
#[derive(Clone, Debug)]
pub struct ClassifyLayer {
    settings: Arc<ClassifySettings>,
}

impl ClassifyLayer {
    /// A layer with these settings.
    pub fn new(settings: ClassifySettings) -> Self {
        Self {
            settings: Arc::new(settings),
        }
    }
}

impl<S> Layer<S> for ClassifyLayer {
    type Service = Classify<S>;
    fn layer(&self, inner: S) -> Classify<S> {
        Classify {
            inner,
            settings: Arc::clone(&self.settings),
        }
    }
}

/// See the module docs.
#[derive(Clone, Debug)]
pub struct Classify<S> {
    inner: S,
    settings: Arc<ClassifySettings>,
}

impl<S, B> Service<Request<B>> for Classify<S>
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
        strict::fold_content_encoding(req.headers_mut());
        match inspect(&req, &self.settings) {
            Ok((s3, host)) => {
                let span = tracing::Span::current();
                span.record("s3.op", s3.op.as_str());
                if let Some(bucket) = &s3.bucket {
                    span.record("s3.bucket", bucket.as_str());
                }
                if let Some(facts) = req.extensions().get::<Arc<Facts>>() {
                    facts.classified(s3.op, s3.bucket.as_deref());
                }
                req.extensions_mut().insert(s3);
                req.extensions_mut().insert(host);
                Either::Right(self.inner.call(req))
            }
            Err(e) => Either::Left(ready(Err(e.into()))),
        }
    }
}

fn inspect<B>(
    req: &Request<B>,
    settings: &ClassifySettings,
) -> Result<(S3Request, ClientHost), S3Error> {
    if req.method() == Method::CONNECT || req.method() == Method::TRACE {
        return Err(S3Error::new(
            S3ErrorCode::MethodNotAllowed,
            "The specified method is not allowed against this resource.",
        )
        .with_reason(Reason::MethodNotAllowed));
    }
    check_header_section(req.headers(), settings.max_header_bytes)?;
    strict::check_headers(req.headers())?;
    let host = request_host(req.uri(), req.headers())?;
    let host_str = host.to_str().map_err(|_| {
        S3Error::new(
            S3ErrorCode::InvalidArgument,
            "The Host header is not valid.",
        )
        .with_reason(Reason::BadHost)
    })?;
    let target = Target::from_head(req.method(), req.uri(), req.headers(), host_str);
    // Under an unsettled `auto` the Host is placed as the strictest store reads it: the
    // store may be recognised before the request reaches the layers that act on the
    // placement (a form is read first), so it must hold for any store. A Host only a
    // laxer store would take gets the answer every request gets until the store is known.
    let s3 = match settings.store.pending() {
        false => classify(
            &target,
            &settings.addressing,
            settings.store.get().host_reading(),
        )?,
        true => classify(&target, &settings.addressing, HostReading::AsBucket).map_err(|e| {
            match classify(&target, &settings.addressing, HostReading::PathStyle) {
                Ok(_) => {
                    settings.store.nudge();
                    LiveStore::unsettled_refusal()
                }
                Err(_) => e,
            }
        })?,
    };
    if s3.op == S3Op::Unknown {
        // The proxy would not know what the store does with it: SeaweedFS serves IAM
        // (`POST /` with `Action=`) and S3 Tables (`POST /` with `X-Amz-Target`) on its
        // S3 port, RGW its usage log (`GET /?usage`) and STS.
        return Err(S3Error::new(
            S3ErrorCode::NotImplemented,
            "This request is not an S3 operation the proxy recognises, so it does not forward it.",
        )
        .with_reason(Reason::UnknownOperation));
    }
    if s3.bucket.as_deref().is_some_and(is_store_entry_point) {
        return Err(S3Error::new(
            S3ErrorCode::NotImplemented,
            "This bucket name is an entry point of the store's own APIs (Ceph RGW's admin and Swift APIs), which the proxy does not forward.",
        )
        .with_reason(Reason::StoreEntryPoint));
    }
    Ok((s3, ClientHost(host)))
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
