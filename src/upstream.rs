//! The store side: the service that forwards a classified request to the store and
//! streams the answer back, over the client connection's pinned store connection
//! (HTTP/1.1 clients) or a pooled hyper-util client (HTTP/2 clients), hyper-rustls for
//! https stores.

pub mod pinned;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::header::HOST;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri, Version};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{CaptureConnection, HttpConnector, capture_connection};
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::body::{BodyPrefix, PartTap, Progress, RequestBody, ResponseBody};
use crate::config::UpstreamConfig;
use crate::error::ProxyError;
use crate::forwarding::{strip_forwarding_claims, strip_hop_by_hop};
use crate::layers::ssec::ConnInfo;
use crate::metrics::RequestMeter;
use crate::s3::headers::X_FORWARDED_PROTO;
use crate::tls::{TlsError, upstream_client_config};
use hyper::client::conn::http1::SendRequest;
use pinned::Pinned;

/// The host the client addressed, resolved once by the classify layer.
#[derive(Clone, Debug)]
pub struct ClientHost(pub HeaderValue);

type HttpClient = Client<HttpsConnector<HttpConnector>, RequestBody>;

/// Forwards requests to the configured store. Cheap to clone.
#[derive(Clone)]
pub struct Upstream {
    inner: Arc<Inner>,
}

struct Inner {
    client: HttpClient,
    connector: HttpsConnector<HttpConnector>,
    connect_timeout: Duration,
    pool_idle_timeout: Duration,
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
            .build(connector.clone());
        Self {
            inner: Arc::new(Inner {
                client,
                connector,
                // TCP and TLS together; the TCP part alone is bounded by the connector.
                connect_timeout: config.connect_timeout * 2,
                pool_idle_timeout: config.pool_idle_timeout,
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
    fn prepare(&self, req: Request<Incoming>) -> Result<Prepared, ProxyError> {
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
        parts.headers.insert(HOST, host);
        if self.inner.forwarded_proto {
            parts
                .headers
                .insert(X_FORWARDED_PROTO, HeaderValue::from_static("https"));
        }
        let progress = Progress::new();
        let prefix = parts.extensions.remove::<BodyPrefix>().map(|p| p.0);
        let has_body = prefix.is_some() || !http_body::Body::is_end_stream(&body);
        let tap = parts.extensions.remove::<PartTap>();
        let meter = parts.extensions.get::<Arc<RequestMeter>>().cloned();
        let pinned = parts
            .extensions
            .get::<ConnInfo>()
            .and_then(|c| c.pinned.clone());
        let body = RequestBody::new(prefix, body, Arc::clone(&progress), tap, meter.clone());
        let mut request = Request::from_parts(parts, body);
        let capture = (has_body && pinned.is_none()).then(|| capture_connection(&mut request));
        Ok(Prepared {
            request,
            progress,
            capture,
            meter,
            pinned,
            has_body,
        })
    }
}

/// A request ready for the store, with what is needed to watch it.
struct Prepared {
    request: Request<RequestBody>,
    progress: Arc<Progress>,
    /// The store connection carrying a request body, so it can be retired.
    capture: Option<CaptureConnection>,
    /// Where the wait for the store is recorded.
    meter: Option<Arc<RequestMeter>>,
    /// The client connection's own store connection (HTTP/1.1 clients).
    pinned: Option<Arc<Pinned>>,
    has_body: bool,
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

impl tower::Service<Request<Incoming>> for Upstream {
    type Response = Response<ResponseBody>;
    type Error = ProxyError;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, ProxyError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), ProxyError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        let inner = Arc::clone(&self.inner);
        let prepared = self.prepare(req);
        Box::pin(async move {
            let Prepared {
                request,
                progress,
                capture,
                meter,
                pinned,
                has_body,
            } = prepared?;
            let sent = std::time::Instant::now();
            let response = match &pinned {
                Some(pinned) => {
                    inner
                        .send_pinned(pinned, request, &progress, has_body)
                        .await
                }
                None => {
                    let fut = inner.client.request(request);
                    let response = wait_for_response(
                        fut,
                        &progress,
                        inner.idle_timeout,
                        classify_client_error,
                    )
                    .await;
                    if let Ok(response) = &response {
                        retire_if_unread(capture.as_ref(), response.status());
                    }
                    response
                }
            };
            if let Some(meter) = &meter {
                meter.add_store_wait(sent.elapsed());
            }
            let response = response?;
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Ok(Response::from_parts(
                parts,
                ResponseBody::upstream(body, inner.idle_timeout),
            ))
        })
    }
}

impl Inner {
    /// Sends over the client connection's own store connection, opening it if needed;
    /// a request the store never saw (the idle connection had just closed) is sent
    /// once more on a fresh connection.
    async fn send_pinned(
        &self,
        pinned: &Pinned,
        mut request: Request<RequestBody>,
        progress: &Progress,
        has_body: bool,
    ) -> Result<Response<Incoming>, ProxyError> {
        // A connection of our own takes the request target in origin form (RFC 9112
        // §3.2.1); the pooled client converts the absolute form itself.
        let target = request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        *request.uri_mut() = Uri::from(target);
        for attempt in 0..2 {
            let mut sender = match pinned.take(self.pool_idle_timeout) {
                Some(sender) => sender,
                None => self.connect(pinned).await?,
            };
            if sender.ready().await.is_err() {
                continue;
            }
            let sent = wait_for_response(
                sender.try_send_request(request),
                progress,
                self.idle_timeout,
                |e, _| Sent::from(e),
            )
            .await;
            match sent {
                Ok(response) => {
                    // Reuse only when the store surely read the whole request (see
                    // `retire_if_unread`).
                    if response.status().is_success() || !has_body {
                        pinned.put(sender);
                    }
                    return Ok(response);
                }
                Err(Sent::Failed(e)) => return Err(e),
                Err(Sent::NotSent(e, back)) => match back {
                    Some(back) if attempt == 0 => request = *back,
                    _ => return Err(classify_hyper_error(e, progress)),
                },
            }
        }
        Err(ProxyError::BadGateway(
            "the store closed every connection offered".into(),
        ))
    }

    /// Opens a store connection for `pinned` (TCP, TLS for https stores, HTTP/1.1).
    async fn connect(&self, pinned: &Pinned) -> Result<SendRequest<RequestBody>, ProxyError> {
        let uri = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query("/")
            .build()
            .map_err(|e| ProxyError::BadGateway(Box::new(e)))?;
        let connecting = tower::ServiceExt::oneshot(self.connector.clone(), uri);
        let io = match tokio::time::timeout(self.connect_timeout, connecting).await {
            Ok(Ok(io)) => io,
            Ok(Err(e)) => return Err(ProxyError::Unreachable(e)),
            Err(_) => {
                return Err(ProxyError::Unreachable(
                    "connecting to the store timed out".into(),
                ));
            }
        };
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .handshake(io)
            .await
            .map_err(|e| ProxyError::BadGateway(Box::new(e)))?;
        if !pinned.drive(Box::pin(async move {
            let _ = conn.await;
        })) {
            return Err(ProxyError::BadGateway(
                "the client connection is gone".into(),
            ));
        }
        Ok(sender)
    }
}

/// Why a pinned exchange failed: before the store saw the request (it comes back for
/// another attempt), or after.
enum Sent {
    NotSent(hyper::Error, Option<Box<Request<RequestBody>>>),
    Failed(ProxyError),
}

impl From<ProxyError> for Sent {
    fn from(e: ProxyError) -> Self {
        Sent::Failed(e)
    }
}

/// Errors the waiting loop can meet: the exchange's own, or a timeout.
trait WaitError: Sized {
    fn timeout(client: bool) -> Self;
}

impl WaitError for ProxyError {
    fn timeout(client: bool) -> Self {
        if client {
            ProxyError::ClientTimeout
        } else {
            ProxyError::UpstreamTimeout
        }
    }
}

impl WaitError for Sent {
    fn timeout(client: bool) -> Self {
        Sent::Failed(ProxyError::timeout(client))
    }
}

impl From<hyper::client::conn::TrySendError<Request<RequestBody>>> for Sent {
    fn from(mut e: hyper::client::conn::TrySendError<Request<RequestBody>>) -> Self {
        let back = e.take_message().map(Box::new);
        Sent::NotSent(e.into_error(), back)
    }
}

/// Waits for the store's response head while bytes keep moving; gives up after
/// `idle` without progress, blaming the client when it is the one not sending.
async fn wait_for_response<F, E, R>(
    fut: F,
    progress: &Progress,
    idle: Duration,
    classify: impl FnOnce(E, &Progress) -> R,
) -> Result<Response<Incoming>, R>
where
    F: Future<Output = Result<Response<Incoming>, E>>,
    R: WaitError,
{
    tokio::pin!(fut);
    progress.touch();
    loop {
        let deadline = progress.last() + idle;
        tokio::select! {
            result = &mut fut => return result.map_err(|e| classify(e, progress)),
            () = tokio::time::sleep_until(deadline) => {
                if tokio::time::Instant::now() < progress.last() + idle {
                    continue;
                }
                return Err(R::timeout(!progress.body_done() && progress.waiting_on_client()));
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
    // A failing request body is the client's doing (abort, bad chunk framing).
    if !progress.body_done() && body_error(&err) {
        return ProxyError::ClientBody(Box::new(err));
    }
    ProxyError::BadGateway(Box::new(err))
}

fn classify_hyper_error(err: hyper::Error, progress: &Progress) -> ProxyError {
    if !progress.body_done() && body_error(&err) {
        return ProxyError::ClientBody(Box::new(err));
    }
    ProxyError::BadGateway(Box::new(err))
}

fn body_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(h) = e.downcast_ref::<hyper::Error>()
            && (h.is_body_write_aborted() || h.is_user())
        {
            return true;
        }
        next = e.source();
    }
    false
}
