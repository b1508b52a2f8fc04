//! The store side: a pooled hyper-util client (hyper-rustls for https stores) and the
//! service that forwards a classified request to it and streams the answer back.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::header::{EXPECT, HOST};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri, Version};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{CaptureConnection, HttpConnector, capture_connection};
use hyper_util::rt::{TokioExecutor, TokioTimer};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use crate::config::UpstreamConfig;
use crate::error::{BoxError, ProxyError};
use crate::forwarding::{ClientHost, strip_forwarding_claims, strip_hop_by_hop};
use crate::layers::stream::seen;
use crate::layers::trace::Facts;
use crate::s3::headers::X_FORWARDED_PROTO;
use crate::tls::{TlsError, upstream_client_config};

/// The request body as the store client takes it: whatever the layers made of the
/// client's body, watched for progress.
type StoreBody = UnsyncBoxBody<Bytes, BoxError>;

type HttpClient = Client<HttpsConnector<HttpConnector>, Primed>;

/// Forwards requests to the configured store. Cheap to clone.
#[derive(Clone)]
pub struct Upstream {
    inner: Arc<Inner>,
}

struct Inner {
    client: HttpClient,
    scheme: Scheme,
    authority: Authority,
    forwarded_proto: bool,
    idle_timeout: Duration,
}

impl Upstream {
    /// Builds a pooled client with its own trust configuration.
    pub fn new(config: &UpstreamConfig) -> Result<Self, TlsError> {
        Ok(Self::with_tls(
            config,
            upstream_client_config(config.ca_file.as_deref())?,
        ))
    }

    /// Builds a pooled client (one per worker thread) around a prepared TLS client
    /// configuration.
    pub fn with_tls(config: &UpstreamConfig, tls: rustls::ClientConfig) -> Self {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(config.pool_max_idle)
            .build(connector);
        Self {
            inner: Arc::new(Inner {
                client,
                scheme: config.scheme.clone(),
                authority: config.authority.clone(),
                forwarded_proto: config.forwarded_proto,
                idle_timeout: config.idle_timeout,
            }),
        }
    }

    /// Rewrites the request for the store: same method, path, query, `Host` and
    /// end-to-end fields; the store's scheme and address; hop-by-hop and forwarding
    /// fields removed; `X-Forwarded-Proto: https` added when configured.
    fn prepare<B>(&self, req: Request<B>) -> Result<Prepared, ProxyError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let (mut parts, body) = req.into_parts();
        let host = match parts.extensions.remove::<ClientHost>() {
            Some(ClientHost(host)) => host,
            None => crate::forwarding::request_host(&parts.uri, &parts.headers)?,
        };
        let path = parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        parts.uri = Uri::builder()
            .scheme(self.inner.scheme.clone())
            .authority(self.inner.authority.clone())
            .path_and_query(path)
            .build()
            .map_err(|e| ProxyError::BadGateway(Box::new(e)))?;
        parts.version = Version::HTTP_11;
        strip_hop_by_hop(&mut parts.headers);
        strip_forwarding_claims(&mut parts.headers);
        // The client's `Expect: 100-continue` was answered by this proxy, which sends the
        // body without waiting. Forwarded, it would make Ceph RGW 16.2 skip discarding a
        // body its operation does not read (a GET's, a ListBuckets'): it reads that body
        // as the next request on the connection and runs it, unchecked by the proxy.
        // A client that signed `expect` (no SDK does) gets the store's signature error.
        parts.headers.remove(EXPECT);
        parts.headers.insert(HOST, host);
        if self.inner.forwarded_proto {
            parts
                .headers
                .insert(X_FORWARDED_PROTO, HeaderValue::from_static("https"));
        }
        let progress = Arc::new(Progress::new());
        let has_body = !body.is_end_stream();
        let facts = parts.extensions.get::<Arc<Facts>>().cloned();
        let body = Watched {
            inner: body,
            progress: Arc::clone(&progress),
            facts: facts.clone(),
        };
        Ok(Prepared {
            request: Request::from_parts(parts, body.boxed_unsync()),
            has_body,
            progress,
            facts,
        })
    }
}

/// A request ready for the store, with what is needed to watch it.
struct Prepared {
    request: Request<StoreBody>,
    /// Whether the request has a body to wait for and, once sent, to retire the
    /// store connection for.
    has_body: bool,
    progress: Arc<Progress>,
    /// Where the wait for the store is recorded.
    facts: Option<Arc<Facts>>,
}

/// The request body with its first frame read before the store is asked.
///
/// SeaweedFS 4.48 stores an empty object, over the one it had, when a request head
/// with a Content-Length is followed by the end of the connection before any body
/// byte: what hyper does when the body fails before its first frame (a client that
/// hangs up, a layer that refuses a body it holds back whole). The store is not
/// sent the head until the client has sent the first bytes and the layers have let
/// them through; a body that fails before that never reaches the store. (After the
/// first byte, a store that sees the connection end short commits nothing.)
struct Primed {
    first: Option<Frame<Bytes>>,
    rest: StoreBody,
}

impl Primed {
    /// Reads `body` up to its first frame that is not empty data (or its end), giving
    /// up after `idle` without a frame.
    async fn read(mut rest: StoreBody, idle: Duration) -> Result<Self, ProxyError> {
        while !rest.is_end_stream() {
            match tokio::time::timeout(idle, rest.frame()).await {
                Err(_) => return Err(ProxyError::ClientTimeout),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(ProxyError::ClientBody(e)),
                Ok(Some(Ok(frame))) => {
                    if frame.data_ref().is_some_and(Bytes::is_empty) {
                        continue;
                    }
                    return Ok(Self {
                        first: Some(frame),
                        rest,
                    });
                }
            }
        }
        Ok(Self { first: None, rest })
    }
}

impl Body for Primed {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if let Some(frame) = self.first.take() {
            return Poll::Ready(Some(Ok(frame)));
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && self.rest.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let first = self
            .first
            .as_ref()
            .and_then(Frame::data_ref)
            .map_or(0, |d| d.len() as u64);
        let rest = self.rest.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower().saturating_add(first));
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper.saturating_add(first));
        }
        hint
    }
}

/// Keeps a store connection out of the pool after an answer that may have left the
/// request body unread. Some stores (Ceph RGW 16.2 among them) reject a request
/// without reading its body and keep the connection open; reusing it would make the
/// leftover body bytes the start of the next client's request.
fn retire_if_unread(capture: Option<&CaptureConnection>, status: http::StatusCode) {
    if status.is_success() {
        return;
    }
    if let Some(capture) = capture
        && let Some(connected) = capture.connection_metadata().as_ref()
    {
        connected.poison();
    }
}

impl<B> tower::Service<Request<B>> for Upstream
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<UpstreamBody>;
    type Error = ProxyError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<UpstreamBody>, ProxyError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let inner = Arc::clone(&self.inner);
        let prepared = self.prepare(req);
        Box::pin(async move {
            let Prepared {
                request,
                has_body,
                progress,
                facts,
            } = prepared?;
            let (parts, body) = request.into_parts();
            let body = if has_body {
                Primed::read(body, inner.idle_timeout).await?
            } else {
                Primed {
                    first: None,
                    rest: body,
                }
            };
            let mut request = Request::from_parts(parts, body);
            let capture = has_body.then(|| capture_connection(&mut request));
            let sent = std::time::Instant::now();
            let response =
                wait_for_response(inner.client.request(request), &progress, inner.idle_timeout)
                    .await;
            if let Some(facts) = &facts {
                facts.waited_for_store(sent.elapsed());
            }
            let response = response?;
            retire_if_unread(capture.as_ref(), response.status());
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Ok(Response::from_parts(
                parts,
                UpstreamBody::new(body, inner.idle_timeout),
            ))
        })
    }
}

/// Waits for the store's response head while bytes keep moving; gives up after
/// `idle` without progress, blaming the client when it is the one not sending.
async fn wait_for_response<F>(
    fut: F,
    progress: &Progress,
    idle: Duration,
) -> Result<Response<Incoming>, ProxyError>
where
    F: Future<Output = Result<Response<Incoming>, hyper_util::client::legacy::Error>>,
{
    tokio::pin!(fut);
    progress.touch();
    loop {
        let deadline = progress.last() + idle;
        tokio::select! {
            result = &mut fut => return result.map_err(|e| classify_client_error(e, progress)),
            () = tokio::time::sleep_until(deadline) => {
                if tokio::time::Instant::now() < progress.last() + idle {
                    continue;
                }
                return Err(if !progress.body_done() && progress.waiting_on_client() {
                    ProxyError::ClientTimeout
                } else {
                    ProxyError::UpstreamTimeout
                });
            }
        }
    }
}

fn classify_client_error(
    err: hyper_util::client::legacy::Error,
    progress: &Progress,
) -> ProxyError {
    if err.is_connect() {
        return ProxyError::Unreachable(Box::new(err));
    }
    // A failing request body is the client's doing (an abort, or a body a layer
    // refused; that layer gives it its own answer).
    if !progress.body_done() && body_error(&err) {
        return ProxyError::ClientBody(Box::new(err));
    }
    ProxyError::BadGateway(Box::new(err))
}

fn body_error(err: &(dyn std::error::Error + 'static)) -> bool {
    crate::error::sources(err)
        .filter_map(|e| e.downcast_ref::<hyper::Error>())
        .any(|h| h.is_body_write_aborted() || h.is_user())
}

/// Shared record of a request's progress, read by the timeout logic.
#[derive(Debug)]
struct Progress {
    start: Instant,
    last_ms: AtomicU64,
    body_done: AtomicBool,
    waiting_on_client: AtomicBool,
}

impl Progress {
    /// Starts the clock now.
    fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            body_done: AtomicBool::new(false),
            waiting_on_client: AtomicBool::new(false),
        }
    }

    /// Records that bytes moved.
    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// When bytes last moved.
    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    /// Whether the whole request body has been read from the client.
    fn body_done(&self) -> bool {
        self.body_done.load(Ordering::Relaxed)
    }

    /// Whether the proxy is currently waiting for the client to send body bytes.
    fn waiting_on_client(&self) -> bool {
        self.waiting_on_client.load(Ordering::Relaxed)
    }
}

pin_project! {
    /// The request body on its way to the store, its progress recorded for the idle
    /// timeout and its bytes counted.
    struct Watched<B> {
        #[pin]
        inner: B,
        progress: Arc<Progress>,
        facts: Option<Arc<Facts>>,
    }
}

impl<B> Body for Watched<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        let progress = &**this.progress;
        let Poll::Ready(polled) = this.inner.as_mut().poll_frame(cx) else {
            progress.waiting_on_client.store(true, Ordering::Relaxed);
            return Poll::Pending;
        };
        progress.waiting_on_client.store(false, Ordering::Relaxed);
        progress.touch();
        // A request's HTTP trailers have no meaning in S3 and the proxy checks none of
        // them (`strict::check_headers` refuses a `Trailer` field): they end the body
        // here and never reach the store.
        let polled = match polled {
            Some(Ok(frame)) if frame.is_trailers() => None,
            other => other,
        };
        if let Some((data, ended)) = seen(&polled, &*this.inner) {
            if let Some(facts) = this.facts.as_ref() {
                facts.forwarded(data.len());
            }
            if ended {
                progress.body_done.store(true, Ordering::Relaxed);
            }
        }
        Poll::Ready(polled.map(|r| r.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project! {
    /// The store's body, streamed, failing if it stalls for the idle timeout.
    pub struct UpstreamBody {
        #[pin]
        inner: Incoming,
        idle: Duration,
        last: Instant,
        timer: Option<Pin<Box<Sleep>>>,
    }
}

impl UpstreamBody {
    fn new(inner: Incoming, idle: Duration) -> Self {
        Self {
            inner,
            idle,
            last: Instant::now(),
            timer: None,
        }
    }
}

/// The store's body stalled longer than `upstream.idle_timeout`.
#[derive(Debug, thiserror::Error)]
#[error("store body stalled")]
pub struct BodyStalled;

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            *this.last = Instant::now();
            return Poll::Ready(frame.map(|f| f.map_err(BoxError::from)));
        }
        // Re-arm lazily: the timer only moves when it fires, not on every frame.
        loop {
            let deadline = *this.last + *this.idle;
            let sleep = this
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if sleep.deadline() != deadline {
                sleep.as_mut().reset(deadline);
            }
            ready!(sleep.as_mut().poll(cx));
            if Instant::now() >= *this.last + *this.idle {
                return Poll::Ready(Some(Err(Box::new(BodyStalled))));
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use http_body_util::Full;

    use super::*;
    use crate::config::Config;
    use crate::s3::headers::{SENSITIVE, SSE_C_KEY_MD5};

    fn upstream() -> Upstream {
        let text = "[server]\nlisten = \"127.0.0.1:8443\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n\
                    [upstream]\nendpoint = \"http://127.0.0.1:9\"\nforwarded_proto = true\n";
        let config = Config::parse(text, Path::new("/etc/ssec/proxy.toml")).unwrap();
        Upstream::new(&config.restart.upstream).unwrap()
    }

    /// A request body fed by the test, frame by frame.
    struct Fed(tokio::sync::mpsc::UnboundedReceiver<Result<Bytes, BoxError>>);

    impl Body for Fed {
        type Data = Bytes;
        type Error = BoxError;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
            self.0.poll_recv(cx).map(|f| f.map(|r| r.map(Frame::data)))
        }
    }

    /// A PUT with a 12-byte body fed through the returned sender, to a store at
    /// `store`.
    fn fed_put(
        store: std::net::SocketAddr,
    ) -> (
        Upstream,
        Request<Fed>,
        tokio::sync::mpsc::UnboundedSender<Result<Bytes, BoxError>>,
    ) {
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:8443\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n\
             [upstream]\nendpoint = \"http://{store}\"\n"
        );
        let config = Config::parse(&text, Path::new("/etc/ssec/proxy.toml")).unwrap();
        let upstream = Upstream::new(&config.restart.upstream).unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let req = Request::put("/b/k")
            .header("host", "h")
            .header("content-length", "12")
            .body(Fed(rx))
            .unwrap();
        (upstream, req, tx)
    }

    /// SeaweedFS stores an empty object when a request head is followed by the end of
    /// the connection: a body that fails before its first bytes never reaches the store,
    /// not even its head.
    #[tokio::test]
    async fn a_body_failing_before_its_first_bytes_never_reaches_the_store() {
        let store = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut upstream, req, tx) = fed_put(store.local_addr().unwrap());
        tx.send(Ok(Bytes::new())).unwrap();
        tx.send(Err("the client hung up".into())).unwrap();
        let result = tower::Service::call(&mut upstream, req).await;
        assert!(matches!(result, Err(ProxyError::ClientBody(_))));
        let accepted = tokio::time::timeout(Duration::from_millis(300), store.accept()).await;
        assert!(accepted.is_err(), "the store was connected to");
    }

    /// The head leaves with the first bytes, not before.
    #[tokio::test]
    async fn the_store_is_asked_once_the_first_bytes_arrive() {
        use tokio::io::AsyncReadExt as _;
        let store = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut upstream, req, tx) = fed_put(store.local_addr().unwrap());
        let call = tokio::spawn(async move { tower::Service::call(&mut upstream, req).await });
        let early = tokio::time::timeout(Duration::from_millis(300), store.accept()).await;
        assert!(
            early.is_err(),
            "the store was connected to before any body byte"
        );
        tx.send(Ok(Bytes::from_static(b"hello "))).unwrap();
        let (mut conn, _) = store.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.ends_with(b"hello ") {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "{}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
        assert!(seen.starts_with(b"PUT /b/k HTTP/1.1\r\n"));
        tx.send(Ok(Bytes::from_static(b"world!"))).unwrap();
        drop(tx);
        drop(conn);
        let _ = call.await.unwrap();
    }

    /// A request's HTTP trailers end its body: the store gets the chunked body and its
    /// end, no trailer field, even when a `Trailer` field announced them.
    #[tokio::test]
    async fn http_trailers_never_reach_the_store() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let store = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = store.local_addr().unwrap();
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:8443\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n\
             [upstream]\nendpoint = \"http://{addr}\"\n"
        );
        let config = Config::parse(&text, Path::new("/etc/ssec/proxy.toml")).unwrap();
        let mut upstream = Upstream::new(&config.restart.upstream).unwrap();
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-amz-checksum-crc32", HeaderValue::from_static("AAAAAA=="));
        trailers.insert("x-amz-meta-late", HeaderValue::from_static("1"));
        let frames: Vec<Result<Frame<Bytes>, BoxError>> = vec![
            Ok(Frame::data(Bytes::from_static(b"hello"))),
            Ok(Frame::trailers(trailers)),
        ];
        let body = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
        let req = Request::put("/b/k")
            .header("host", "h")
            .header("trailer", "x-amz-checksum-crc32, x-amz-meta-late")
            .body(body)
            .unwrap();
        let call = tokio::spawn(async move { tower::Service::call(&mut upstream, req).await });
        let (mut conn, _) = store.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        // To the end of the chunked body: its last chunk and the (empty or not) trailer
        // section.
        let last_chunk = |s: &[u8]| s.windows(5).any(|w| w == b"\r\n0\r\n");
        while !(last_chunk(&seen) && seen.ends_with(b"\r\n\r\n")) {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0, "{}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
        let seen = String::from_utf8_lossy(&seen).to_ascii_lowercase();
        assert!(seen.ends_with("\r\n\r\n5\r\nhello\r\n0\r\n\r\n"), "{seen}");
        assert!(
            !seen.contains("aaaaaa==") && !seen.contains("x-amz-meta-late:"),
            "{seen}"
        );
        conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(call.await.unwrap().unwrap().status(), 200);
    }

    /// What the store client gets: the key and credential fields still marked
    /// sensitive (kept out of `Debug` and HPACK tables), hop-by-hop and forwarding
    /// fields gone, the client's Host and the store's address.
    #[test]
    fn forwards_keys_still_sensitive_and_nothing_hop_by_hop() {
        let mut req = Request::builder()
            .method("PUT")
            .uri("/bucket/key?x=1")
            .header("host", "bucket.s3.example")
            .header("connection", "keep-alive")
            .header("x-forwarded-for", "10.0.0.1")
            .header(SSE_C_KEY_MD5, "md5")
            .body(Full::new(Bytes::from_static(b"data")))
            .unwrap();
        for name in &SENSITIVE {
            let mut value = HeaderValue::from_static("secret");
            value.set_sensitive(true);
            req.headers_mut().insert(name.clone(), value);
        }
        let prepared = upstream().prepare(req).unwrap();
        let sent = &prepared.request;
        assert_eq!(sent.uri(), "http://127.0.0.1:9/bucket/key?x=1");
        assert_eq!(sent.headers()[HOST], "bucket.s3.example");
        assert_eq!(sent.headers()[X_FORWARDED_PROTO], "https");
        assert!(sent.headers().get("connection").is_none());
        assert!(sent.headers().get("x-forwarded-for").is_none());
        for name in &SENSITIVE {
            assert!(sent.headers()[name].is_sensitive(), "{name}");
        }
        assert!(!sent.headers()[SSE_C_KEY_MD5].is_sensitive());
        assert!(prepared.has_body, "a body's connection can be retired");
        let debug = format!("{:?}", sent.headers());
        assert!(!debug.contains("secret"), "{debug}");
    }
}
