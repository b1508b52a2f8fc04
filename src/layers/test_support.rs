//! Shared pieces of the layer tests: requests carrying what the classify layer leaves
//! in their extensions, an inner service that records what reached it (and reads the
//! body as the store client would), bodies that arrive in pieces, fail or stall, and
//! customer keys.

pub(crate) mod streaming;

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::{Bytes, BytesMut};
use http::{Extensions, HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Uri};
use http_body::{Body, Frame};
use http_body_util::{BodyExt as _, Full};
use tower::Service;

use crate::access_log::AccessLog;
use crate::config::LiveSsec;
use crate::error::{BoxError, ProxyError, chain};
use crate::s3::error::S3Error;
use crate::s3::headers::{
    COPY_SOURCE_SSE_C_ALGORITHM, COPY_SOURCE_SSE_C_KEY, COPY_SOURCE_SSE_C_KEY_MD5, SSE_C_ALGORITHM,
    SSE_C_KEY, SSE_C_KEY_MD5,
};
use crate::s3::op::{S3Op, S3Request};
use crate::s3::policy::{BucketPolicies, Policy, Rule};
use crate::s3::ssec::KeyDigest;
use crate::s3::store::{LiveStore, Store, StoreSetting, UnknownUploads};

/// What the inner service received.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub method: Method,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub extensions: Extensions,
    /// The body bytes read, up to its end or its first error.
    pub body: Bytes,
    /// The body's error (its source chain on one line), if it failed.
    pub body_error: Option<String>,
}

/// Every request the inner service received, in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    fn lock(&self) -> MutexGuard<'_, Vec<Seen>> {
        self.0
            .lock()
            .expect("a test thread panicked while recording")
    }

    /// How many requests reached the inner service.
    pub fn calls(&self) -> usize {
        self.lock().len()
    }

    /// The one request that reached the inner service.
    pub fn only(&self) -> Seen {
        let seen = self.lock();
        assert_eq!(
            seen.len(),
            1,
            "the inner service was called {} times",
            seen.len()
        );
        seen[0].clone()
    }

    /// Every request the inner service received.
    pub fn all(&self) -> Vec<Seen> {
        self.lock().clone()
    }

    /// Records a request (for inner services written in a test).
    pub fn push(&self, seen: Seen) {
        self.lock().push(seen);
    }
}

/// The inner service's answer to a request it read whole.
pub(crate) type Answer = Result<Response<Full<Bytes>>, ProxyError>;

/// An inner service that reads the whole request body, records the request, and
/// answers with `reply`; a body that fails is answered `ClientBody(error)`, as the
/// store client does.
pub(crate) fn recorder<B, F>(
    log: &Log,
    reply: F,
) -> impl Service<
    http::Request<B>,
    Response = Response<Full<Bytes>>,
    Error = ProxyError,
    Future: Send + 'static,
>
+ Clone
+ Send
+ 'static
+ use<B, F>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
    F: Fn(&Seen) -> Answer + Send + Sync + 'static,
{
    let log = log.clone();
    let reply = Arc::new(reply);
    tower::service_fn(move |req: http::Request<B>| {
        let log = log.clone();
        let reply = Arc::clone(&reply);
        async move {
            let (parts, body) = req.into_parts();
            let (bytes, error) = read_body(body).await;
            let seen = Seen {
                method: parts.method,
                uri: parts.uri,
                headers: parts.headers,
                extensions: parts.extensions,
                body: bytes,
                body_error: error.as_ref().map(|e| chain(&**e)),
            };
            log.push(seen.clone());
            match error {
                Some(e) => Err(ProxyError::ClientBody(e)),
                None => reply(&seen),
            }
        }
    })
}

/// A recorder answering `200 OK` with an empty body.
pub(crate) fn ok_recorder<B>(
    log: &Log,
) -> impl Service<
    http::Request<B>,
    Response = Response<Full<Bytes>>,
    Error = ProxyError,
    Future: Send + 'static,
>
+ Clone
+ Send
+ 'static
+ use<B>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    recorder(log, |_| Ok(answer(StatusCode::OK, &[], "")))
}

/// A response with these headers and body.
pub(crate) fn answer(
    status: StatusCode,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    for (name, value) in headers {
        response.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).expect("a test header name"),
            HeaderValue::from_str(value).expect("a test header value"),
        );
    }
    response
}

/// Reads a body to its end or its first error, as a connection does (it stops polling
/// once the body says it ended): the bytes before, and the error.
pub(crate) async fn read_body<B>(body: B) -> (Bytes, Option<BoxError>)
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(body);
    let mut read = BytesMut::new();
    while !body.is_end_stream()
        && let Some(frame) = body.frame().await
    {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    read.extend_from_slice(data);
                }
            }
            Err(e) => return (read.freeze(), Some(e.into())),
        }
    }
    (read.freeze(), None)
}

/// The whole body of a response, which must not fail.
pub(crate) async fn body_bytes<B>(body: B) -> Bytes
where
    B: Body<Data = Bytes>,
    B::Error: std::fmt::Debug,
{
    body.collect()
        .await
        .expect("the response body fails")
        .to_bytes()
}

/// The operation and target the classify layer would have found.
pub(crate) fn target(
    op: S3Op,
    bucket: Option<&str>,
    key: Option<&str>,
    upload_id: Option<&str>,
) -> S3Request {
    S3Request {
        op,
        bucket: bucket.map(str::to_owned),
        key: key.map(str::to_owned),
        upload_id: upload_id.map(str::to_owned),
    }
}

/// An operation on object `k` of bucket `b`.
pub(crate) fn object(op: S3Op) -> S3Request {
    target(op, Some("b"), Some("k"), None)
}

/// An operation on upload `u` of object `k` in bucket `b`.
pub(crate) fn upload(op: S3Op) -> S3Request {
    target(op, Some("b"), Some("k"), Some("u"))
}

/// A body in the sense of these tests: frames, then the end, an error or a stall.
#[derive(Debug)]
pub(crate) struct TestBody {
    frames: VecDeque<Bytes>,
    then: Then,
    /// Whether it says it ended once its last frame is out, as a body with a
    /// Content-Length does; otherwise only its `None` tells (chunked uploads).
    reports_end: bool,
}

#[derive(Clone, Copy, Debug)]
enum Then {
    End,
    Fail(&'static str),
    Stall,
}

impl TestBody {
    fn new(pieces: &[&[u8]], then: Then, reports_end: bool) -> Self {
        Self {
            frames: pieces.iter().map(|p| Bytes::copy_from_slice(p)).collect(),
            then,
            reports_end,
        }
    }
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(data) = self.frames.pop_front() {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        match self.then {
            Then::End => Poll::Ready(None),
            Then::Fail(message) => {
                self.then = Then::End;
                Poll::Ready(Some(Err(std::io::Error::other(message))))
            }
            // Never woken: only a timeout ends the wait.
            Then::Stall => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.reports_end && self.frames.is_empty() && matches!(self.then, Then::End)
    }
}

/// A body that arrives in these pieces and tells its end only by ending.
pub(crate) fn pieces(pieces: &[&[u8]]) -> TestBody {
    TestBody::new(pieces, Then::End, false)
}

/// A body that arrives in these pieces and says it ended with the last one.
pub(crate) fn sized(pieces: &[&[u8]]) -> TestBody {
    TestBody::new(pieces, Then::End, true)
}

/// A body that sends these pieces, then fails with `message`.
pub(crate) fn failing(pieces: &[&[u8]], message: &'static str) -> TestBody {
    TestBody::new(pieces, Then::Fail(message), false)
}

/// A body that sends these pieces, then nothing, ever.
pub(crate) fn stalled(pieces: &[&[u8]]) -> TestBody {
    TestBody::new(pieces, Then::Stall, false)
}

/// The S3 error of a refusal; panics on anything else.
pub(crate) fn rejected<T>(result: Result<T, ProxyError>) -> S3Error {
    match result {
        Err(ProxyError::Rejected(e)) => e,
        Err(other) => panic!("not a refusal: {other:?}"),
        Ok(_) => panic!("not a refusal: the request succeeded"),
    }
}

/// The raw customer key number `seed`.
fn raw_key(seed: u8) -> [u8; 32] {
    [seed; 32]
}

/// The digest of key `seed`.
pub(crate) fn digest(seed: u8) -> KeyDigest {
    KeyDigest::of_key(&raw_key(seed))
}

/// The base64 MD5 of key `seed`, as in `…-key-MD5`.
pub(crate) fn key_md5(seed: u8) -> String {
    digest(seed).to_base64()
}

/// Key `seed` in base64, as in `…-key`.
pub(crate) fn key_base64(seed: u8) -> String {
    STANDARD.encode(raw_key(seed))
}

/// Adds the three SSE-C headers for key `seed`.
pub(crate) fn with_key<B>(req: http::Request<B>, seed: u8) -> http::Request<B> {
    add_key(req, [SSE_C_ALGORITHM, SSE_C_KEY, SSE_C_KEY_MD5], seed)
}

/// Adds the three copy-source SSE-C headers for key `seed`.
pub(crate) fn with_source_key<B>(req: http::Request<B>, seed: u8) -> http::Request<B> {
    let names = [
        COPY_SOURCE_SSE_C_ALGORITHM,
        COPY_SOURCE_SSE_C_KEY,
        COPY_SOURCE_SSE_C_KEY_MD5,
    ];
    add_key(req, names, seed)
}

fn add_key<B>(mut req: http::Request<B>, names: [HeaderName; 3], seed: u8) -> http::Request<B> {
    let [algorithm, key, md5] = names;
    for (name, value) in [
        (algorithm, "AES256".to_owned()),
        (key, key_base64(seed)),
        (md5, key_md5(seed)),
    ] {
        req.headers_mut().append(
            name,
            HeaderValue::from_str(&value).expect("base64 is a header value"),
        );
    }
    req
}

/// Live SSE-C settings: `default`, then `rules` (bucket glob, policy) in order.
pub(crate) fn live(
    default: Policy,
    rules: &[(&str, Policy)],
    unknown_uploads: UnknownUploads,
) -> Arc<ArcSwap<LiveSsec>> {
    let rules = rules
        .iter()
        .map(|(pattern, policy)| Rule {
            pattern: glob::Pattern::new(pattern).expect("a test glob"),
            policy: *policy,
            allowlist: None,
        })
        .collect();
    Arc::new(ArcSwap::from_pointee(LiveSsec {
        policies: BucketPolicies { default, rules },
        unknown_uploads: Some(unknown_uploads),
    }))
}

/// `upstream.store` named in the configuration.
pub(crate) fn named(store: Store) -> Arc<LiveStore> {
    Arc::new(LiveStore::new(StoreSetting::Named(store)))
}

/// An access log that writes nowhere.
pub(crate) fn no_access_log() -> AccessLog {
    AccessLog::start(
        Box::new(std::io::sink()),
        crate::config::LogFormat::Json,
        16,
        prometheus_client::metrics::counter::Counter::default(),
    )
    .expect("an access log writer thread")
}
