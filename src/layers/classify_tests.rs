//! The classify layer in process: each refusal reaches no inner service; a request it
//! accepts goes on with its `S3Request`, `ClientHost` and classified `Facts`.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt as _};

use super::*;
use crate::layers::error_response::ErrorResponseLayer;
use crate::layers::test_support::{Log, body_bytes, no_access_log, ok_recorder, rejected};
use crate::layers::trace::TraceLayer;
use crate::metrics::Metrics;
use crate::s3::error::{Reason, S3ErrorCode};
use crate::s3::headers::SSE_C_KEY_MD5;
use crate::s3::op::S3Op;
use crate::s3::store::{Store, StoreSetting};

fn settings(suffixes: &[&str]) -> ClassifySettings {
    ClassifySettings {
        addressing: Addressing {
            virtual_host_suffixes: suffixes.iter().map(|s| (*s).to_owned()).collect(),
            path_style_hosts: Vec::new(),
        },
        max_header_bytes: 8192,
        store: Arc::new(LiveStore::new(StoreSetting::Named(Store::Seaweedfs))),
    }
}

fn request(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request<Full<Bytes>> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Full::new(Bytes::from_static(b"body")))
        .expect("a test request")
}

/// Sends `req` through the classify layer; the result and what reached the inner
/// service.
async fn classify_with(
    settings: ClassifySettings,
    req: Request<Full<Bytes>>,
) -> (Result<http::Response<Full<Bytes>>, ProxyError>, Log) {
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(ClassifyLayer::new(settings))
        .service(ok_recorder(&log));
    (svc.oneshot(req).await, log)
}

/// Sends `req` and expects a refusal that never reached the inner service.
async fn refuse(req: Request<Full<Bytes>>) -> S3Error {
    let (result, log) = classify_with(settings(&[]), req).await;
    let err = rejected(result);
    assert_eq!(
        log.calls(),
        0,
        "a refused request reached the inner service"
    );
    err
}

#[tokio::test]
async fn refuses_connect_and_trace() {
    for method in [Method::CONNECT, Method::TRACE] {
        let uri = match method {
            Method::CONNECT => "localhost:443",
            _ => "/b/k",
        };
        let err = refuse(request(method.clone(), uri, &[("host", "localhost")])).await;
        assert_eq!(err.code, S3ErrorCode::MethodNotAllowed, "{method}");
        assert_eq!(err.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            err.message,
            "The specified method is not allowed against this resource."
        );
        assert_eq!(err.reason, Some(Reason::MethodNotAllowed));
    }
}

#[tokio::test]
async fn refuses_a_header_section_over_the_limit() {
    let big = "v".repeat(8192);
    let err = refuse(request(
        Method::GET,
        "/b/k",
        &[("host", "localhost"), ("x-amz-meta-big", &big)],
    ))
    .await;
    assert_eq!(err.code, S3ErrorCode::RequestHeaderSectionTooLarge);
    assert_eq!(
        err.message,
        "Your request header section exceeds the maximum allowed size of 8192 bytes."
    );
    assert_eq!(err.reason, Some(Reason::HeadersTooLarge));
    // Just under the limit passes.
    let fits = "v".repeat(8192 - "host".len() - "localhost".len() - 4 - "x-amz-meta-big".len() - 4);
    let (result, log) = classify_with(
        settings(&[]),
        request(
            Method::GET,
            "/b/k",
            &[("host", "localhost"), ("x-amz-meta-big", &fits)],
        ),
    )
    .await;
    assert!(result.is_ok());
    assert_eq!(log.calls(), 1);
}

#[tokio::test]
async fn refuses_a_header_value_that_is_not_utf8() {
    let mut req = request(Method::GET, "/b/k", &[("host", "localhost")]);
    req.headers_mut().insert(
        "x-amz-meta-b",
        HeaderValue::from_bytes(b"\xff\xfe").expect("opaque bytes are a header value"),
    );
    let err = refuse(req).await;
    assert_eq!(err.code, S3ErrorCode::InvalidArgument);
    assert_eq!(
        err.message,
        "The value of header x-amz-meta-b is not valid UTF-8."
    );
    assert_eq!(err.reason, Some(Reason::NonUtf8Header));
}

#[tokio::test]
async fn refuses_a_repeated_sse_c_header() {
    let md5 = crate::layers::test_support::key_md5(1);
    let mut req = request(Method::GET, "/b/k", &[("host", "localhost")]);
    for _ in 0..2 {
        req.headers_mut()
            .append(SSE_C_KEY_MD5, HeaderValue::from_str(&md5).expect("base64"));
    }
    let err = refuse(req).await;
    assert_eq!(err.code, S3ErrorCode::InvalidRequest);
    assert_eq!(
        err.message,
        "The header x-amz-server-side-encryption-customer-key-md5 is repeated; stores differ on which value counts."
    );
    assert_eq!(err.reason, Some(Reason::AmbiguousHeader));
}

#[tokio::test]
async fn refuses_a_stores_own_request_fields() {
    for name in [
        "Seaweed-X-Amz-Version-Id",
        "seaweed-foo",
        "X-SeaweedFS-SSE-S3-Key-Data",
        "x-seaweedfs-sse-kms-base-iv",
    ] {
        let err = refuse(request(
            Method::PUT,
            "/b/k",
            &[("host", "localhost"), (name, "x")],
        ))
        .await;
        assert_eq!(err.code, S3ErrorCode::InvalidRequest, "{name}");
        assert_eq!(
            err.message,
            format!(
                "The header {} is reserved for the store's own use.",
                name.to_ascii_lowercase()
            )
        );
        assert_eq!(err.reason, Some(Reason::AmbiguousHeader));
    }
    // A name that only contains the word is an ordinary field.
    let req = request(
        Method::GET,
        "/b/k",
        &[("host", "localhost"), ("x-amz-meta-seaweed-x", "x")],
    );
    let (result, log) = classify_with(settings(&[]), req).await;
    assert!(result.is_ok());
    assert_eq!(log.calls(), 1);
}

#[tokio::test]
async fn refuses_a_connection_header_naming_an_s3_field() {
    let err = refuse(request(
        Method::PUT,
        "/b/k",
        &[
            ("host", "localhost"),
            ("connection", "x-amz-server-side-encryption-customer-key"),
        ],
    ))
    .await;
    assert_eq!(err.code, S3ErrorCode::InvalidRequest);
    assert_eq!(err.reason, Some(Reason::AmbiguousConnection));
}

#[tokio::test]
async fn refuses_paths_a_store_could_read_differently() {
    for (uri, message) in [
        (
            "/b/../k",
            "The object key has a \".\" or \"..\" segment, which stores read differently.",
        ),
        (
            "/b%2Fx/k",
            "The bucket name in the path is percent-encoded or has characters bucket names never have; send it literally.",
        ),
    ] {
        let err = refuse(request(Method::GET, uri, &[("host", "localhost")])).await;
        assert_eq!(err.code, S3ErrorCode::InvalidRequest, "{uri}");
        assert_eq!(err.message, message, "{uri}");
        assert_eq!(err.reason, Some(Reason::AmbiguousPath), "{uri}");
    }
    let err = refuse(request(Method::GET, "/b/%zz", &[("host", "localhost")])).await;
    assert_eq!(err.code, S3ErrorCode::InvalidURI);
    assert_eq!(err.reason, Some(Reason::InvalidUri));
}

#[tokio::test]
async fn refuses_a_part_upload_missing_its_part_number() {
    let err = refuse(request(
        Method::PUT,
        "/b/k?uploadId=u",
        &[("host", "localhost")],
    ))
    .await;
    assert_eq!(err.code, S3ErrorCode::InvalidRequest);
    assert_eq!(err.reason, Some(Reason::AmbiguousQuery));
}

#[tokio::test]
async fn refuses_a_form_body_on_a_post_that_is_not_a_form_upload() {
    let err = refuse(request(
        Method::POST,
        "/b/k?uploads",
        &[
            ("host", "localhost"),
            ("content-type", "multipart/form-data; boundary=x"),
        ],
    ))
    .await;
    assert_eq!(err.code, S3ErrorCode::InvalidRequest);
    assert_eq!(
        err.message,
        "A multipart/form-data body is accepted only as a POST Object form upload, without sub-resource parameters."
    );
    assert_eq!(err.reason, Some(Reason::AmbiguousForm));
}

#[tokio::test]
async fn refuses_a_missing_host() {
    let err = refuse(request(Method::GET, "/b/k", &[])).await;
    assert_eq!(err.code, S3ErrorCode::InvalidArgument);
    assert_eq!(err.message, "A Host header is required.");
    assert_eq!(err.reason, Some(Reason::BadHost));
}

#[tokio::test]
async fn refuses_an_unusable_host() {
    let err = refuse(request(
        Method::GET,
        "/b/k",
        &[("host", "localhost"), ("host", "other")],
    ))
    .await;
    assert_eq!(err.code, S3ErrorCode::InvalidArgument);
    assert_eq!(err.message, "The Host header is not valid.");
    assert_eq!(err.reason, Some(Reason::BadHost));
    let err = refuse(request(Method::GET, "/b/k", &[("host", "")])).await;
    assert_eq!(err.message, "The Host header is not valid.");
    assert_eq!(err.reason, Some(Reason::BadHost));
    // UTF-8, so past the header check, but not a host name.
    let err = refuse(request(Method::GET, "/b/k", &[("host", "bücket")])).await;
    assert_eq!(err.code, S3ErrorCode::InvalidArgument);
    assert_eq!(err.message, "The Host header is not valid.");
    assert_eq!(err.reason, Some(Reason::BadHost));
}

#[tokio::test]
async fn refuses_a_host_it_cannot_place() {
    for host in ["s3.example.com", "LOCALHOST", "localhost:x"] {
        let err = refuse(request(Method::GET, "/b/k", &[("host", host)])).await;
        assert_eq!(err.code, S3ErrorCode::InvalidRequest, "{host}");
        assert_eq!(err.reason, Some(Reason::AmbiguousHost), "{host}");
    }
}

#[tokio::test]
async fn leaves_the_classification_and_the_host_for_the_layers_below() {
    let (result, log) = classify_with(
        settings(&[]),
        request(Method::PUT, "/b/dir/a%20key", &[("host", "localhost:8443")]),
    )
    .await;
    assert_eq!(result.expect("accepted").status(), StatusCode::OK);
    let seen = log.only();
    assert_eq!(
        seen.extensions.get::<S3Request>(),
        Some(&S3Request {
            op: S3Op::PutObject,
            bucket: Some("b".into()),
            key: Some("dir/a key".into()),
            upload_id: None,
        })
    );
    let host = seen.extensions.get::<ClientHost>().expect("a client host");
    assert_eq!(host.0, "localhost:8443");
    assert_eq!(seen.body, "body", "the body passes untouched");
    assert_eq!(seen.method, Method::PUT);
    assert_eq!(seen.uri, "/b/dir/a%20key", "the target passes untouched");
}

#[tokio::test]
async fn refuses_an_absolute_target_whose_host_header_names_another_host() {
    let (result, log) = classify_with(
        settings(&["s3.example.com"]),
        request(
            Method::PUT,
            "https://other.s3.example.com:8443/k",
            &[("host", "bkt.s3.example.com:8443")],
        ),
    )
    .await;
    let e = result.expect_err("refused").to_s3();
    assert_eq!(e.code, S3ErrorCode::InvalidArgument);
    assert_eq!(e.reason, Some(Reason::BadHost));
    assert_eq!(log.calls(), 0);
}

#[tokio::test]
async fn reads_virtual_hosted_buckets_and_the_authority_of_absolute_targets() {
    let (result, log) = classify_with(
        settings(&["s3.example.com"]),
        request(
            Method::POST,
            "https://bkt.s3.example.com:8443/k?uploadId=u%2B1",
            &[("host", "bkt.s3.example.com:8443")],
        ),
    )
    .await;
    assert!(result.is_ok());
    let seen = log.only();
    assert_eq!(
        seen.extensions.get::<S3Request>(),
        Some(&S3Request {
            op: S3Op::CompleteMultipartUpload,
            bucket: Some("bkt".into()),
            key: Some("k".into()),
            upload_id: Some("u+1".into()),
        })
    );
    assert_eq!(
        seen.extensions
            .get::<ClientHost>()
            .expect("a client host")
            .0,
        "bkt.s3.example.com:8443"
    );
}

#[tokio::test]
async fn tells_the_trace_layer_the_operation_and_counts_refusals_by_reason() {
    let metrics = Metrics::new();
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(TraceLayer::new(Arc::clone(&metrics), no_access_log()))
        .layer(ErrorResponseLayer)
        .layer(ClassifyLayer::new(settings(&[])))
        .service(ok_recorder(&log));
    let accepted = request(Method::GET, "/secret-bucket/k", &[("host", "localhost")]);
    let Ok(response) = svc.clone().oneshot(accepted).await;
    body_bytes(response.into_body()).await;
    let facts = log
        .only()
        .extensions
        .get::<Arc<Facts>>()
        .expect("facts from the trace layer")
        .clone();
    assert_eq!(facts.op(), Some(S3Op::GetObject));
    let refused = request(Method::GET, "/secret-bucket/../k", &[("host", "localhost")]);
    let Ok(response) = svc.oneshot(refused).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    body_bytes(response.into_body()).await;
    assert_eq!(log.calls(), 1);
    let text = metrics.encode();
    assert!(
        text.contains(
            "ssec_requests_total{op=\"GetObject\",outcome=\"ok\",status_class=\"2xx\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "ssec_requests_total{op=\"Unknown\",outcome=\"rejected\",status_class=\"4xx\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("ssec_rejections_total{code=\"InvalidRequest\",reason=\"ambiguous_path\"} 1"),
        "{text}"
    );
    assert!(!text.contains("secret-bucket"), "{text}");
}

#[tokio::test]
async fn refuses_the_store_s_own_api_entry_points_in_any_case() {
    for (method, uri, host) in [
        (Method::PUT, "/swift/v1/app/k", "localhost"),
        (Method::GET, "/SWIFT/v1/app/k", "localhost"),
        (Method::GET, "/auth/v1.0", "localhost"),
        (Method::GET, "/admin/bucket?bucket=app", "localhost"),
        (Method::PUT, "/v1/app/k", "swift.s3.example.com"),
    ] {
        let req = request(method, uri, &[("host", host)]);
        let (result, log) = classify_with(settings(&["s3.example.com"]), req).await;
        let err = rejected(result);
        assert_eq!(log.calls(), 0, "{uri}");
        assert_eq!(err.code, S3ErrorCode::NotImplemented, "{uri}");
        assert_eq!(err.reason, Some(Reason::StoreEntryPoint), "{uri}");
    }
    // A key or a bucket that only starts with one is S3's.
    for uri in ["/app/swift/v1/k", "/swiftly/k", "/administration"] {
        let req = request(Method::GET, uri, &[("host", "localhost")]);
        let (result, log) = classify_with(settings(&[]), req).await;
        assert!(result.is_ok(), "{uri}");
        assert_eq!(log.calls(), 1, "{uri}");
    }
}

#[tokio::test]
async fn refuses_what_is_not_an_s3_operation_it_recognises() {
    for (method, uri) in [
        // SeaweedFS's IAM and S3 Tables APIs, on its S3 port.
        (Method::POST, "/"),
        // RGW's usage log.
        (Method::GET, "/?usage"),
        (Method::HEAD, "/"),
        (Method::PUT, "/"),
        // RGW's metadata search configuration.
        (Method::PUT, "/app?mdsearch"),
        (Method::POST, "/app"),
        (Method::POST, "/app/k"),
        (Method::PATCH, "/app/k"),
    ] {
        let req = request(method, uri, &[("host", "localhost")]);
        let (result, log) = classify_with(settings(&[]), req).await;
        let err = rejected(result);
        assert_eq!(log.calls(), 0, "{uri}");
        assert_eq!(err.code, S3ErrorCode::NotImplemented, "{uri}");
        assert_eq!(err.reason, Some(Reason::UnknownOperation), "{uri}");
    }
    for (method, uri) in [
        (Method::GET, "/"),
        (Method::OPTIONS, "/"),
        (Method::POST, "/app?delete"),
        (Method::POST, "/app/k?uploads"),
    ] {
        let req = request(method, uri, &[("host", "localhost")]);
        let (result, log) = classify_with(settings(&[]), req).await;
        assert!(result.is_ok(), "{uri}");
        assert_eq!(log.calls(), 1, "{uri}");
    }
}

/// Until `auto` knows the store, a Host is placed as the strictest store reads it: one
/// only SeaweedFS, MinIO or Garage would take waits for the store; the same after RGW
/// is recognised is refused as ambiguous, and one any store takes is placed at once.
#[tokio::test]
async fn an_unrecognised_store_places_hosts_as_the_strictest_reads_them() {
    let with = |store: &Arc<LiveStore>, listed: &[&str]| ClassifySettings {
        addressing: Addressing {
            virtual_host_suffixes: Vec::new(),
            path_style_hosts: listed.iter().map(|s| (*s).to_owned()).collect(),
        },
        max_header_bytes: 8192,
        store: Arc::clone(store),
    };
    let get = |host: &str| request(Method::GET, "/b/k", &[("host", host)]);
    let auto = Arc::new(LiveStore::new(StoreSetting::Auto));
    assert!(auto.pending());
    let (result, log) = classify_with(with(&auto, &[]), get("localhost:8443")).await;
    let err = rejected(result);
    assert_eq!(err.code, S3ErrorCode::ServiceUnavailable);
    assert_eq!(err.reason, Some(Reason::StoreUnrecognised));
    assert_eq!(log.calls(), 0);
    for (host, listed) in [
        ("127.0.0.1:8443", &[][..]),
        ("localhost", &["localhost"][..]),
    ] {
        let (result, log) = classify_with(with(&auto, listed), get(host)).await;
        assert!(result.is_ok(), "{host}");
        assert_eq!(log.calls(), 1, "{host}");
    }
    let (result, _) = classify_with(with(&auto, &[]), get("a.b.example")).await;
    assert_eq!(rejected(result).reason, Some(Reason::AmbiguousHost));
    let rgw = Arc::new(LiveStore::new(StoreSetting::Named(Store::Rgw)));
    let (result, _) = classify_with(with(&rgw, &[]), get("localhost")).await;
    assert_eq!(rejected(result).reason, Some(Reason::AmbiguousHost));
    let garage = Arc::new(LiveStore::new(StoreSetting::Named(Store::Garage)));
    let (result, _) = classify_with(with(&garage, &[]), get("localhost")).await;
    assert!(result.is_ok());
}
