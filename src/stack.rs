//! The one place the request path is assembled, outermost first.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tower::ServiceBuilder;
use tower_http::sensitive_headers::{SetSensitiveRequestHeaders, SetSensitiveRequestHeadersLayer};

use crate::access_log::AccessLog;
use crate::config::{AuthMode, EtagMode, LiveSsec, RestartOnly as Config};
use crate::credentials::LiveCredentials;
use crate::layers::auth::{Auth, AuthLayer};
use crate::layers::aws_chunked::{AwsChunked, AwsChunkedLayer};
use crate::layers::bucket_delete::{BucketDelete, BucketDeleteLayer};
use crate::layers::classify::{Classify, ClassifyLayer, ClassifySettings};
use crate::layers::copy::{SsecCopy, SsecCopyLayer};
use crate::layers::delete_keys::{DeleteKeys, DeleteKeysLayer};
use crate::layers::error_response::{ErrorResponse, ErrorResponseLayer};
use crate::layers::etag::{Etag, EtagLayer, EtagReveal, EtagRevealLayer};
use crate::layers::inject::{Inject, InjectLayer};
use crate::layers::list_buckets::{ListBuckets, ListBucketsLayer};
use crate::layers::multipart::{Multipart, MultipartLayer};
use crate::layers::payload::{Payload, PayloadLayer};
use crate::layers::post_object::{PostObject, PostObjectLayer};
use crate::layers::resign::{Resign, ResignLayer};
use crate::layers::ssec::{Ssec, SsecLayer, SsecSettings};
use crate::layers::store_errors::{StoreErrors, StoreErrorsLayer};
use crate::layers::trace::{Trace, TraceLayer};
use crate::metrics::Metrics;
use crate::s3::headers::SENSITIVE;
use crate::s3::store::LiveStore;
use crate::s3::strict::Addressing;
use crate::uploads::UploadRecords;
use crate::upstream::Upstream;

/// The complete per-request service: `Request<Incoming>` in, an S3 response out.
pub type ProxyService = SetSensitiveRequestHeaders<
    Trace<
        ErrorResponse<
            Classify<
                Auth<
                    ListBuckets<
                        PostObject<
                            Inject<
                                Ssec<
                                    Multipart<
                                        SsecCopy<
                                            BucketDelete<
                                                StoreErrors<
                                                    Etag<
                                                        AwsChunked<
                                                            Payload<
                                                                EtagReveal<
                                                                    DeleteKeys<Resign<Upstream>>,
                                                                >,
                                                            >,
                                                        >,
                                                    >,
                                                >,
                                            >,
                                        >,
                                    >,
                                >,
                            >,
                        >,
                    >,
                >,
            >,
        >,
    >,
>;

/// The process-wide state the layers share.
#[derive(Clone)]
pub struct StackState {
    /// Multipart uploads and the key each was created with.
    pub records: Arc<UploadRecords>,
    /// The reloadable SSE-C settings.
    pub live: Arc<ArcSwap<LiveSsec>>,
    /// Request metrics.
    pub metrics: Arc<Metrics>,
    /// The access log's queue.
    pub access: AccessLog,
    /// What the store was recognised as.
    pub store: Arc<LiveStore>,
    /// Resign mode's credential table; `None` inside in passthrough mode.
    pub credentials: LiveCredentials,
}

/// Builds the stack around an upstream client.
pub fn build(config: &Config, upstream: Upstream, state: StackState) -> ProxyService {
    let StackState {
        records,
        live,
        metrics,
        access,
        store,
        credentials,
    } = state;
    ServiceBuilder::new()
        // Keys and credentials are marked sensitive before anything can log or forward
        // them: `Debug` then prints "Sensitive", and HPACK never indexes them.
        .layer(sensitive_headers())
        // Request id, span and meter first, so everything below logs inside the request
        // and the access line covers the whole exchange.
        .layer(TraceLayer::new(Arc::clone(&metrics), access))
        // Every error below becomes an S3 XML answer here, and is logged here only.
        .layer(ErrorResponseLayer)
        // Header checks and S3 classification, once; later layers read extensions.
        .layer(ClassifyLayer::new(ClassifySettings {
            addressing: Addressing {
                virtual_host_suffixes: config.server.virtual_host_suffixes.clone(),
                path_style_hosts: config.server.path_style_hosts.clone(),
            },
            max_header_bytes: config.server.max_header_bytes,
            store: Arc::clone(&store),
        }))
        // Resign mode: the client's signature verified and its bucket scope enforced
        // before anything else looks at the request (passthrough: its credential scope
        // must name S3).
        .layer(AuthLayer::new(Arc::clone(&credentials)))
        // Resign mode: a client limited to some buckets sees only those in ListBuckets
        // (it needs the verified client, so it sits below the auth layer).
        .layer(ListBucketsLayer::new(Arc::clone(&credentials)))
        // POST Object: the form fields read and left for the SSE-C layer, the rest of
        // the form watched as it streams.
        .layer(PostObjectLayer::new(config.upstream.idle_timeout))
        // Resign mode: a bucket's injected key added to requests that carry none, reads
        // under a previous key tried again with it.
        .layer(InjectLayer::new(
            Arc::clone(&credentials),
            Arc::clone(&live),
            Arc::clone(&store),
            Arc::clone(&metrics),
        ))
        // SSE-C: AWS's validation, bucket policy, store quirks; then confirmation of
        // SSE-C writes on the way back.
        .layer(SsecLayer::new(SsecSettings {
            live: Arc::clone(&live),
            store: Arc::clone(&store),
        }))
        // Multipart uploads: parts and completion checked against the upload's key;
        // resign mode binds upload IDs to it.
        .layer(MultipartLayer::new(
            records,
            live,
            Arc::clone(&store),
            Arc::clone(&credentials),
        ))
        // Resign mode: SSE-C copies the store gets wrong made by the proxy's own reads
        // and writes (below the checks above, above the store's error translation).
        .layer(SsecCopyLayer::new(
            Arc::clone(&store),
            Addressing {
                virtual_host_suffixes: config.server.virtual_host_suffixes.clone(),
                path_style_hosts: config.server.path_style_hosts.clone(),
            },
        ))
        // Resign mode: a DeleteBucket looks first on stores that delete a bucket with
        // objects in it (its listing goes through the layers below like any request).
        .layer(BucketDeleteLayer::new(Arc::clone(&store)))
        // Store errors in AWS's words.
        .layer(StoreErrorsLayer::new(Arc::clone(&store)))
        // Canonical ETags in headers and XML bodies; opaque mode hides them, and reveals
        // the conditionals' (it sits below the store-error and multipart layers, which
        // read the store's answers as they are).
        .layer(EtagLayer::new(
            config.etag.mode,
            config.auth.mode == AuthMode::Resign,
            Arc::clone(&credentials),
        ))
        // aws-chunked bodies checked against their framing as they stream.
        .layer(AwsChunkedLayer::new(Arc::clone(&store)))
        // Resign mode: bodies checked against their signature and checksum, aws-chunked
        // decoded for the store (framed again to pass on a trailer checksum), the end
        // held back until the checks pass.
        .layer(PayloadLayer::new(
            config.upstream.idle_timeout,
            Arc::clone(&store),
        ))
        // Opaque ETags: a CompleteMultipartUpload's part list revealed, after the body
        // checks read it as the client signed it.
        .layer(EtagRevealLayer)
        // SeaweedFS: the keys of a DeleteObjects list through the store's key refusals,
        // read as the store will get them; opaque ETags: no ETag conditions in it.
        .layer(DeleteKeysLayer::new(
            store,
            config.etag.mode == EtagMode::Opaque,
        ))
        // Resign mode: signed for the store as the head leaves, nothing after it changes.
        .layer(ResignLayer::new(credentials))
        // The store: pooled, streaming both ways.
        .service(upstream)
}

/// Marks `Authorization`, the SSE-C keys and the session token sensitive.
fn sensitive_headers() -> SetSensitiveRequestHeadersLayer {
    SetSensitiveRequestHeadersLayer::from_shared(Arc::from(&SENSITIVE[..]))
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http::{HeaderValue, Request};
    use tower::ServiceExt as _;

    use super::*;

    #[tokio::test]
    async fn marks_keys_and_credentials_sensitive_and_nothing_else() {
        let svc = ServiceBuilder::new().layer(sensitive_headers()).service_fn(
            |req: Request<()>| async move {
                let marked: Vec<(String, bool)> = req
                    .headers()
                    .iter()
                    .map(|(n, v)| (n.as_str().to_owned(), v.is_sensitive()))
                    .collect();
                Ok::<_, Infallible>(http::Response::new(marked))
            },
        );
        let mut req = Request::new(());
        for name in SENSITIVE.iter().chain(&[crate::s3::headers::SSE_C_KEY_MD5]) {
            req.headers_mut()
                .append(name.clone(), HeaderValue::from_static("v"));
        }
        req.headers_mut().append(
            crate::s3::headers::SSE_C_KEY,
            HeaderValue::from_static("second"),
        );
        let marked = svc.oneshot(req).await.unwrap().into_body();
        assert_eq!(marked.len(), SENSITIVE.len() + 2);
        for (name, sensitive) in marked {
            let secret = SENSITIVE.iter().any(|s| s.as_str() == name);
            assert_eq!(sensitive, secret, "{name}");
        }
    }
}
