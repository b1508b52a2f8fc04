//! The store side: a pooled hyper-util client (hyper-rustls for https stores) and the
//! service that forwards a classified request to it and streams the answer back.

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

use crate::body::{BodyPrefix, FormWatch, PartTap, Progress, RequestBody, ResponseBody};
use crate::config::UpstreamConfig;
use crate::error::ProxyError;
use crate::forwarding::{strip_forwarding_claims, strip_hop_by_hop};
use crate::metrics::RequestMeter;
use crate::s3::chunked::{ChunkedError, Framing};
use crate::s3::form::Ambiguity;
use crate::s3::headers::X_FORWARDED_PROTO;
use crate::tls::{TlsError, upstream_client_config};

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
        let form = parts.extensions.remove::<FormWatch>();
        let meter = parts.extensions.get::<Arc<RequestMeter>>().cloned();
        let framing = if has_body {
            Framing::from_headers(&parts.headers)?
        } else {
            None
        };
        let mut body = RequestBody::new(prefix, body, Arc::clone(&progress), tap, meter.clone());
        if let Some(framing) = framing {
            body = body.with_framing(framing);
        }
        if let Some(form) = form {
            body = body.with_form(form);
        }
        let mut request = Request::from_parts(parts, body);
        let capture = has_body.then(|| capture_connection(&mut request));
        Ok(Prepared {
            request,
            progress,
            capture,
            meter,
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
            } = prepared?;
            let sent = std::time::Instant::now();
            let response =
                wait_for_response(inner.client.request(request), &progress, inner.idle_timeout)
                    .await;
            if let Some(meter) = &meter {
                meter.add_store_wait(sent.elapsed());
            }
            let response = response?;
            retire_if_unread(capture.as_ref(), response.status());
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            Ok(Response::from_parts(
                parts,
                ResponseBody::upstream(body, inner.idle_timeout),
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
    // The body broke its aws-chunked framing: the client's fault, with its own answer.
    if let Some(refused) = find_source::<ChunkedError>(&err) {
        return ProxyError::Rejected(refused.to_s3());
    }
    // A POST Object form with a part after the file, stopped before it was complete.
    if let Some(refused) = find_source::<Ambiguity>(&err) {
        return ProxyError::Rejected(refused.to_s3());
    }
    // A failing request body is the client's doing (abort, bad chunk framing).
    if !progress.body_done() && body_error(&err) {
        return ProxyError::ClientBody(Box::new(err));
    }
    ProxyError::BadGateway(Box::new(err))
}

/// The error and every error below it.
fn chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(err), |e| e.source())
}

fn find_source<'a, E: std::error::Error + 'static>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a E> {
    chain(err).find_map(|e| e.downcast_ref::<E>())
}

fn body_error(err: &(dyn std::error::Error + 'static)) -> bool {
    chain(err)
        .filter_map(|e| e.downcast_ref::<hyper::Error>())
        .any(|h| h.is_body_write_aborted() || h.is_user())
}
