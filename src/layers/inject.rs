//! Key injection (resign mode, `[[ssec.buckets]] inject_key_file`): a request for a bucket
//! whose rule injects a key, without SSE-C headers of its own, gets the bucket's current
//! key in the SSE-C headers the operation takes (a copy's source gets its own bucket's
//! key), before the SSE-C layer validates and enforces, so the policy sees a keyed
//! request. The client signed none of it; the resign layer signs for the store.
//!
//! Reads (GET and HEAD without a body) of an object written under a previous key are
//! tried again with each previous key in turn when the store says the key is wrong,
//! before anything reaches the client: at most one attempt per key, each counted.
//! Responses lose the key-MD5 echo of an injected key (the client sent none).
//! A request whose client sent any SSE-C header of a group keeps its own key.

use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use bytes::Bytes;
use futures_util::future::{BoxFuture, Either};
use http::{Method, Request, Response};
use http_body::Body;
use http_body_util::Empty;
use tower::{Layer, Service, ServiceExt as _};

use crate::config::LiveSsec;
use crate::credentials::LiveCredentials;
use crate::error::ProxyError;
use crate::inject::{BucketKeys, Group};
use crate::metrics::ActionLabels;
use crate::metrics::Metrics;
use crate::s3::error::Reason;
use crate::s3::headers::{COPY_SOURCE, SSE_C_ALGORITHM, SSE_C_KEY_MD5};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::policy::Policy;
use crate::s3::policy::requires_destination;
use crate::s3::ssec;
use crate::s3::store::{LiveStore, Store};

/// The body below this layer: the client's, or none for a read tried again.
pub type InjectBody<B> = http_body_util::Either<B, Empty<Bytes>>;

/// Which SSE-C header groups the proxy filled in, left in the request's extensions for
/// the SSE-C layer (the key did not cross the client's connection, and the bucket's own
/// key passes its policy).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Injected {
    /// `x-amz-server-side-encryption-customer-*`.
    pub destination: bool,
    /// `x-amz-copy-source-server-side-encryption-customer-*`.
    pub source: bool,
}

/// Adds [`Inject`].
#[derive(Clone)]
pub struct InjectLayer {
    credentials: LiveCredentials,
    live: Arc<ArcSwap<LiveSsec>>,
    store: Arc<LiveStore>,
    metrics: Arc<Metrics>,
}

impl InjectLayer {
    /// A layer injecting the running credential table's keys; `live` gives the bucket
    /// policies plaintext reads are judged by.
    pub fn new(
        credentials: LiveCredentials,
        live: Arc<ArcSwap<LiveSsec>>,
        store: Arc<LiveStore>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            credentials,
            live,
            store,
            metrics,
        }
    }
}

impl<S> Layer<S> for InjectLayer {
    type Service = Inject<S>;
    fn layer(&self, inner: S) -> Inject<S> {
        Inject {
            inner,
            credentials: Arc::clone(&self.credentials),
            live: Arc::clone(&self.live),
            store: Arc::clone(&self.store),
            metrics: Arc::clone(&self.metrics),
        }
    }
}

/// See the module docs.
#[derive(Clone)]
pub struct Inject<S> {
    inner: S,
    credentials: LiveCredentials,
    live: Arc<ArcSwap<LiveSsec>>,
    store: Arc<LiveStore>,
    metrics: Arc<Metrics>,
}

/// Operations that take the destination group and get the bucket's key: those that
/// write or read object data with it, and CompleteMultipartUpload, which some stores
/// require it on (RGW since 2025, Garage with checksums).
fn takes_destination(op: S3Op) -> bool {
    op != S3Op::PostObject && (requires_destination(op) || op == S3Op::CompleteMultipartUpload)
}

impl<S, B, RB> Service<Request<B>> for Inject<S>
where
    S: Service<Request<InjectBody<B>>, Response = Response<RB>, Error = ProxyError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body + Send + 'static,
    RB: Send + 'static,
{
    type Response = Response<RB>;
    type Error = ProxyError;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response<RB>, ProxyError>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let table = self.credentials.load();
        let op = req.extensions().get::<S3Request>().map(|s3| s3.op);
        let (Some(creds), Some(op)) = (table.as_deref().filter(|c| c.injects()), op) else {
            return Either::Left(self.inner.call(req.map(http_body_util::Either::Left)));
        };
        if op == S3Op::PostObject {
            // The POST Object layer put the key in the form; the answer must not name it.
            if !req
                .extensions()
                .get::<Injected>()
                .is_some_and(|i| i.destination)
            {
                return Either::Left(self.inner.call(req.map(http_body_util::Either::Left)));
            }
            let answer = self.inner.call(req.map(http_body_util::Either::Left));
            return Either::Right(Box::pin(async move {
                let mut response = answer.await?;
                response.headers_mut().remove(SSE_C_KEY_MD5);
                Ok(response)
            }));
        }
        let s3 = req.extensions().get::<S3Request>();
        let destination = s3
            .filter(|_| takes_destination(op) && !Group::Destination.sent(req.headers()))
            .and_then(|s3| Some((s3.bucket.as_deref()?, s3.key.as_deref()?)))
            .and_then(|(bucket, key)| Some(creds.inject_keys(bucket)?.for_object(bucket, key)));
        let source = req
            .headers()
            .get(COPY_SOURCE)
            .filter(|_| matches!(op, S3Op::CopyObject | S3Op::UploadPartCopy))
            .filter(|_| !Group::CopySource.sent(req.headers()))
            .and_then(|v| v.to_str().ok())
            .and_then(crate::s3::strict::copy_source_object)
            .and_then(|(bucket, key)| Some(creds.inject_keys(&bucket)?.for_object(&bucket, &key)))
            .map(|keys| keys.current.clone());
        if destination.is_none() && source.is_none() {
            return Either::Left(self.inner.call(req.map(http_body_util::Either::Left)));
        }
        let injected = Injected {
            destination: destination.is_some(),
            source: source.is_some(),
        };
        req.extensions_mut().insert(injected);
        if let Some(key) = &source {
            key.set(req.headers_mut(), Group::CopySource);
        }
        if let Some(keys) = &destination {
            keys.current.set(req.headers_mut(), Group::Destination);
        }
        // Only a read without a body can be sent again.
        let retry = destination
            .filter(|keys| !keys.previous.is_empty())
            .filter(|_| matches!(*req.method(), Method::GET | Method::HEAD))
            .filter(|_| req.body().is_end_stream());
        // An injected read must come back as SSE-C: RGW 16.2 answers a key sent for a
        // plaintext object with the plaintext, which the client could not tell.
        let store = self.store.get();
        let read = req
            .extensions()
            .get::<S3Request>()
            .filter(|s3| injected.destination && serves_data(s3.op, store))
            .cloned();
        let live = Arc::clone(&self.live);
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let metrics = Arc::clone(&self.metrics);
        Either::Right(Box::pin(async move {
            let result = match retry {
                None => {
                    let mut inner = inner;
                    inner.call(req.map(http_body_util::Either::Left)).await
                }
                Some(keys) => read_trying(inner, req, &keys, &metrics).await,
            };
            let mut response = result?;
            if injected.destination {
                response.headers_mut().remove(SSE_C_KEY_MD5);
            }
            if let Some(read) = read.filter(|_| response.status().is_success())
                && !confirms_sse_c(response.headers())
            {
                plaintext(&read, &live, &metrics)?;
            }
            Ok(response)
        }))
    }
}

/// A read with the current key, then with each previous key while the store says the
/// key is wrong; the last answer stands.
async fn read_trying<S, B, RB>(
    mut inner: S,
    req: Request<B>,
    keys: &BucketKeys,
    metrics: &Metrics,
) -> Result<Response<RB>, ProxyError>
where
    S: Service<Request<InjectBody<B>>, Response = Response<RB>, Error = ProxyError>,
{
    let head = req.method() == Method::HEAD;
    let (parts, body) = req.into_parts();
    let again = |key: &crate::inject::SsecKey| {
        let mut next =
            Request::from_parts(parts.clone(), http_body_util::Either::Right(Empty::new()));
        key.set(next.headers_mut(), Group::Destination);
        next
    };
    let mut result = inner
        .call(Request::from_parts(
            parts.clone(),
            http_body_util::Either::Left(body),
        ))
        .await;
    for key in &keys.previous {
        if !wrong_key(&result, head) {
            break;
        }
        metrics.injected_key_retries.inc();
        result = inner.ready().await?.call(again(key)).await;
    }
    result
}

/// Reads whose success answer must echo SSE-C: those that return the object's data.
/// GetObjectAttributes is one where the store reads `?attributes` as a GetObject (RGW
/// 16.2; Garage; any store not known to implement it); SeaweedFS answers it with the
/// attributes only, without an echo, as AWS does.
fn serves_data(op: S3Op, store: Store) -> bool {
    match op {
        S3Op::GetObject | S3Op::HeadObject | S3Op::GetObjectTorrent => true,
        S3Op::GetObjectAttributes => store != Store::Seaweedfs,
        _ => false,
    }
}

/// Whether a response says the object is SSE-C: the algorithm echoed, once.
fn confirms_sse_c(headers: &http::HeaderMap) -> bool {
    let mut values = headers.get_all(SSE_C_ALGORITHM).iter();
    matches!(
        (values.next(), values.next()),
        (Some(v), None) if v.as_bytes() == ssec::AES256.as_bytes()
    )
}

/// A read under an injected key that the store served as a plaintext object: refused in
/// a `require` bucket, served otherwise; counted and logged (with the object's name)
/// either way.
fn plaintext(
    read: &S3Request,
    live: &ArcSwap<LiveSsec>,
    metrics: &Metrics,
) -> Result<(), ProxyError> {
    let bucket = read.bucket.as_deref().unwrap_or_default();
    let key = read.key.as_deref().unwrap_or_default();
    let refuse = live.load().policies.for_bucket(Some(bucket)).policy == Policy::Require;
    let action = if refuse { "refused" } else { "served" };
    metrics
        .injected_plaintext_reads
        .get_or_create(&ActionLabels { action })
        .inc();
    tracing::warn!(
        bucket,
        key,
        action,
        "read with an injected key of an object the store holds without SSE-C"
    );
    if refuse {
        return Err(ProxyError::Rejected(
            ssec::not_encrypted().with_reason(Reason::InjectedPlaintext),
        ));
    }
    Ok(())
}

/// Whether the store said the key is wrong: the store errors layer's translation, or,
/// for HEAD (no body to tell), a bare 400 or 403.
fn wrong_key<RB>(result: &Result<Response<RB>, ProxyError>, head: bool) -> bool {
    match result {
        Err(ProxyError::Translated(e)) => ssec::is_wrong_key(e),
        Ok(response) => head && matches!(response.status().as_u16(), 400 | 403),
        Err(_) => false,
    }
}

#[cfg(test)]
#[path = "inject_tests.rs"]
mod tests;
