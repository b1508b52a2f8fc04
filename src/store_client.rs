//! Requests of the proxy's own to the store (resign mode): signed with
//! `[upstream.credentials]` by the same signer as forwarded traffic, and sent through the
//! same pooled client, so they get its TLS trust, timeouts and `forwarded_proto`.
//! Path-style addressing against the store's own address. Used by `ssec-proxy rekey`.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::header::HOST;
use http::{HeaderMap, HeaderValue, Method, Request, Response};
use http_body::Body;
use http_body_util::{BodyExt as _, Limited};
use tower::Service as _;

use crate::config::UpstreamConfig;
use crate::credentials::Credentials;
use crate::error::{BoxError, ProxyError};
use crate::layers::resign::resign_as_store;
use crate::s3::error::S3Error;
use crate::s3::sigv4::uri_encode;
use crate::tls::TlsError;
use crate::upstream::{Upstream, UpstreamBody};

/// A signed client of the store. Cheap to clone.
#[derive(Clone)]
pub struct StoreClient {
    upstream: Upstream,
    credentials: Arc<Credentials>,
    host: HeaderValue,
}

impl StoreClient {
    /// A client of the store `config` names, signing with `credentials`' store key.
    pub fn new(config: &UpstreamConfig, credentials: Arc<Credentials>) -> Result<Self, TlsError> {
        let host = HeaderValue::from_str(config.authority.as_str()).map_err(|e| TlsError {
            key: "upstream.endpoint",
            message: e.to_string(),
        })?;
        Ok(Self {
            upstream: Upstream::new(config)?,
            credentials,
            host,
        })
    }

    /// Sends `method target` (an origin-form path and query, already encoded) with
    /// `headers` and `body`, signed for the store (`UNSIGNED-PAYLOAD`: the body streams).
    pub async fn send<B>(
        &self,
        method: Method,
        target: &str,
        headers: HeaderMap,
        body: B,
    ) -> Result<Response<UpstreamBody>, ProxyError>
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let mut req = Request::builder()
            .method(method)
            .uri(target)
            .body(body)
            .map_err(|_| S3Error::internal())?;
        *req.headers_mut() = headers;
        req.headers_mut().insert(HOST, self.host.clone());
        resign_as_store(&mut req, &self.credentials, SystemTime::now())?;
        self.upstream.clone().call(req).await
    }
}

/// `/bucket/key` with the key encoded as SigV4 canonicalises it (`/` kept).
pub fn object_path(bucket: &str, key: &str) -> String {
    let mut path = String::with_capacity(bucket.len() + key.len() + 2);
    path.push('/');
    path.push_str(&uri_encode(bucket.as_bytes()));
    path.push('/');
    for (i, segment) in key.split('/').enumerate() {
        if i > 0 {
            path.push('/');
        }
        path.push_str(&uri_encode(segment.as_bytes()));
    }
    path
}

/// Reads a whole response body of at most `limit` bytes.
pub async fn read_body(body: UpstreamBody, limit: usize) -> Result<Bytes, BoxError> {
    Ok(Limited::new(body, limit).collect().await?.to_bytes())
}
