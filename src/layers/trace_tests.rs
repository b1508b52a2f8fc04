//! The trace layer in process: what a request's record adds to the metrics, from the
//! error layer's `Verdict`, from how far the response body was read, and from the
//! facts inner layers write; never a bucket name.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Service, ServiceBuilder, ServiceExt as _};

use super::*;
use crate::error::{BoxError, ProxyError};
use crate::layers::error_response::{ErrorBody, ErrorResponseLayer};
use crate::layers::test_support::{
    Answer, Log, Seen, answer, body_bytes, failing, no_access_log, recorder,
};
use crate::metrics::Metrics;
use crate::request_id::RequestId;
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::headers::REQUEST_ID;
use crate::s3::op::S3Op;

type Traced = Response<MeteredBody<ErrorBody<Full<Bytes>>>>;

/// Trace, then the error layer, around an inner service answering with `reply`.
fn stack<F>(
    metrics: &Arc<Metrics>,
    log: &Log,
    reply: F,
) -> impl Service<Request<Full<Bytes>>, Response = Traced, Error = Infallible> + use<F>
where
    F: Fn(&Seen) -> Answer + Send + Sync + 'static,
{
    ServiceBuilder::new()
        .layer(TraceLayer::new(Arc::clone(metrics), no_access_log()))
        .layer(ErrorResponseLayer)
        .service(recorder(log, reply))
}

fn request(method: Method) -> Request<Full<Bytes>> {
    Request::builder()
        .method(method)
        .uri("/secret-bucket-name/k")
        .body(Full::default())
        .expect("a test request")
}

async fn send(
    svc: impl Service<Request<Full<Bytes>>, Response = Traced, Error = Infallible>,
    req: Request<Full<Bytes>>,
) -> Traced {
    let Ok(response) = svc.oneshot(req).await;
    response
}

fn has(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "no line {line:?} in\n{text}"
    );
}

fn no_sample(text: &str, family: &str) {
    let prefix = format!("{family}{{");
    assert!(
        !text.lines().any(|l| l.starts_with(&prefix)),
        "a {family} sample in\n{text}"
    );
}

#[tokio::test]
async fn counts_a_refusal_as_a_rejection_with_its_code_and_reason() {
    let metrics = Metrics::new();
    let log = Log::default();
    let svc = stack(&metrics, &log, |_| {
        Err(S3Error::new(
            S3ErrorCode::AccessDenied,
            "Access Denied: SSE-C is not allowed on this bucket.",
        )
        .with_reason(Reason::PolicyForbid)
        .into())
    });
    let response = send(svc, request(Method::PUT)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response.extensions().get::<Verdict>().is_none(),
        "the trace layer takes the verdict"
    );
    // The verdict decides the outcome even when the error body is never read.
    drop(response);
    let text = metrics.encode();
    has(
        &text,
        "ssec_rejections_total{code=\"AccessDenied\",reason=\"policy_forbid\"} 1",
    );
    has(
        &text,
        "ssec_requests_total{op=\"Unknown\",outcome=\"rejected\",status_class=\"4xx\"} 1",
    );
    has(&text, "ssec_unconfirmed_writes_total 0");
}

#[tokio::test]
async fn counts_each_error_outcome_and_only_refusals_as_rejections() {
    /// The error, then the outcome and status class it is counted under.
    type Case = (fn() -> ProxyError, &'static str, &'static str);
    let cases: [Case; 8] = [
        (|| S3Error::internal().into(), "rejected", "5xx"),
        (
            || ProxyError::Translated(crate::s3::ssec::wrong_key()),
            "store_error",
            "4xx",
        ),
        (
            || ProxyError::Unreachable(Box::new(std::io::Error::other("refused"))),
            "store_unreachable",
            "5xx",
        ),
        (
            || ProxyError::BadGateway(Box::new(std::io::Error::other("reset"))),
            "store_failed",
            "5xx",
        ),
        (|| ProxyError::UpstreamTimeout, "store_timeout", "5xx"),
        (|| ProxyError::ClientTimeout, "client_timeout", "4xx"),
        (
            || ProxyError::ClientBody(Box::new(std::io::Error::other("aborted"))),
            "client_aborted",
            "4xx",
        ),
        (
            || ProxyError::Unconfirmed {
                op: "PutObject",
                store: "generic",
                missing: "x-amz-server-side-encryption-customer-algorithm: AES256, once",
            },
            "store_unconfirmed",
            "5xx",
        ),
    ];
    for (err, outcome, class) in cases {
        let metrics = Metrics::new();
        let svc = stack(&metrics, &Log::default(), move |_| Err(err()));
        drop(send(svc, request(Method::GET)).await);
        let text = metrics.encode();
        has(
            &text,
            &format!(
                "ssec_requests_total{{op=\"Unknown\",outcome=\"{outcome}\",status_class=\"{class}\"}} 1"
            ),
        );
        match outcome {
            // A refusal without a reason of its own is counted as `other`.
            "rejected" => has(
                &text,
                "ssec_rejections_total{code=\"InternalError\",reason=\"other\"} 1",
            ),
            _ => no_sample(&text, "ssec_rejections_total"),
        }
        let unconfirmed = u8::from(outcome == "store_unconfirmed");
        has(
            &text,
            &format!("ssec_unconfirmed_writes_total {unconfirmed}"),
        );
    }
}

#[tokio::test]
async fn an_answer_read_to_its_end_is_ok_and_its_bytes_counted() {
    let metrics = Metrics::new();
    let svc = stack(&metrics, &Log::default(), |_| {
        Ok(answer(StatusCode::OK, &[], "hello"))
    });
    let response = send(svc, request(Method::GET)).await;
    assert_eq!(body_bytes(response.into_body()).await, "hello");
    let text = metrics.encode();
    has(
        &text,
        "ssec_requests_total{op=\"Unknown\",outcome=\"ok\",status_class=\"2xx\"} 1",
    );
    has(&text, "ssec_body_bytes_total{direction=\"out\"} 5");
    no_sample(&text, "ssec_rejections_total");
}

#[tokio::test]
async fn an_answer_dropped_before_its_end_is_incomplete() {
    let metrics = Metrics::new();
    let svc = stack(&metrics, &Log::default(), |_| {
        Ok(answer(StatusCode::OK, &[], "hello"))
    });
    let response = send(svc, request(Method::GET)).await;
    no_sample(&metrics.encode(), "ssec_requests_total");
    drop(response);
    has(
        &metrics.encode(),
        "ssec_requests_total{op=\"Unknown\",outcome=\"incomplete\",status_class=\"2xx\"} 1",
    );
}

#[tokio::test]
async fn a_store_error_answer_read_whole_is_a_store_error() {
    let metrics = Metrics::new();
    let svc = stack(&metrics, &Log::default(), |_| {
        Ok(answer(
            StatusCode::NOT_FOUND,
            &[],
            "<Error><Code>NoSuchKey</Code></Error>",
        ))
    });
    let response = send(svc, request(Method::GET)).await;
    body_bytes(response.into_body()).await;
    let text = metrics.encode();
    has(
        &text,
        "ssec_requests_total{op=\"Unknown\",outcome=\"store_error\",status_class=\"4xx\"} 1",
    );
    no_sample(&text, "ssec_rejections_total");
}

#[tokio::test]
async fn head_and_empty_answers_are_complete_without_being_read() {
    for (method, body) in [(Method::HEAD, "never sent"), (Method::GET, "")] {
        let metrics = Metrics::new();
        let svc = stack(&metrics, &Log::default(), move |_| {
            Ok(answer(StatusCode::OK, &[], body))
        });
        drop(send(svc, request(method.clone())).await);
        has(
            &metrics.encode(),
            "ssec_requests_total{op=\"Unknown\",outcome=\"ok\",status_class=\"2xx\"} 1",
        );
    }
}

#[tokio::test]
async fn facts_written_below_reach_the_metrics_but_never_the_bucket() {
    let metrics = Metrics::new();
    let svc = ServiceBuilder::new()
        .layer(TraceLayer::new(Arc::clone(&metrics), no_access_log()))
        .layer(ErrorResponseLayer)
        .service_fn(|req: Request<Full<Bytes>>| async move {
            let facts = req
                .extensions()
                .get::<Arc<Facts>>()
                .expect("the trace layer leaves its facts")
                .clone();
            facts.classified(S3Op::PutObject, Some("secret-bucket-name"));
            // The first classification wins.
            facts.classified(S3Op::DeleteObject, Some("other-bucket"));
            facts.forwarded(1000);
            facts.forwarded(234);
            facts.waited_for_store(Duration::from_millis(5));
            assert_eq!(facts.op(), Some(S3Op::PutObject));
            Ok::<_, ProxyError>(answer(StatusCode::OK, &[], "abc"))
        });
    let Ok(response) = svc.oneshot(request(Method::PUT)).await;
    body_bytes(response.into_body()).await;
    let text = metrics.encode();
    has(
        &text,
        "ssec_requests_total{op=\"PutObject\",outcome=\"ok\",status_class=\"2xx\"} 1",
    );
    has(&text, "ssec_body_bytes_total{direction=\"in\"} 1234");
    has(&text, "ssec_body_bytes_total{direction=\"out\"} 3");
    has(
        &text,
        "ssec_store_duration_seconds_count{op=\"PutObject\"} 1",
    );
    has(
        &text,
        "ssec_proxy_duration_seconds_count{op=\"PutObject\"} 1",
    );
    assert!(!text.contains("secret-bucket-name"), "{text}");
    assert!(!text.contains("other-bucket"), "{text}");
}

#[tokio::test]
async fn a_refusal_after_classification_is_counted_under_its_operation_without_the_bucket() {
    let metrics = Metrics::new();
    let svc = ServiceBuilder::new()
        .layer(TraceLayer::new(Arc::clone(&metrics), no_access_log()))
        .layer(ErrorResponseLayer)
        .service_fn(|req: Request<Full<Bytes>>| async move {
            if let Some(facts) = req.extensions().get::<Arc<Facts>>() {
                facts.classified(S3Op::GetObject, Some("secret-bucket-name"));
            }
            Err::<Response<Full<Bytes>>, _>(ProxyError::Rejected(
                S3Error::new(S3ErrorCode::AccessDenied, "denied")
                    .with_reason(Reason::PolicyRequire),
            ))
        });
    let Ok(response) = svc.oneshot(request(Method::GET)).await;
    drop(response);
    let text = metrics.encode();
    has(
        &text,
        "ssec_requests_total{op=\"GetObject\",outcome=\"rejected\",status_class=\"4xx\"} 1",
    );
    has(
        &text,
        "ssec_rejections_total{code=\"AccessDenied\",reason=\"policy_require\"} 1",
    );
    assert!(!text.contains("secret-bucket-name"), "{text}");
}

#[tokio::test]
async fn the_error_carries_the_request_id_the_inner_service_was_given() {
    let metrics = Metrics::new();
    let log = Log::default();
    let svc = stack(&metrics, &log, |_| Err(ProxyError::UpstreamTimeout));
    let response = send(svc, request(Method::GET)).await;
    let seen = log.only();
    let id = seen
        .extensions
        .get::<RequestId>()
        .expect("the trace layer gives every request an id");
    assert!(seen.extensions.get::<Arc<Facts>>().is_some());
    assert_eq!(response.headers()[REQUEST_ID], id.as_str());
    let body = body_bytes(response.into_body()).await;
    let body = std::str::from_utf8(&body).expect("UTF-8");
    assert!(
        body.contains(&format!("<RequestId>{id}</RequestId>")),
        "{body}"
    );
}

#[tokio::test]
async fn a_failing_answer_body_is_incomplete() {
    use http_body_util::BodyExt as _;
    let metrics = Metrics::new();
    let svc = ServiceBuilder::new()
        .layer(TraceLayer::new(Arc::clone(&metrics), no_access_log()))
        .service_fn(|_req: Request<()>| async {
            let body = failing(&[b"part"], "store reset");
            Ok::<_, Infallible>(Response::new(body))
        });
    let Ok(response) = svc.oneshot(Request::new(())).await;
    let err = response.into_body().collect().await.err();
    let err: Option<BoxError> = err.map(Into::into);
    assert!(err.is_some());
    let text = metrics.encode();
    has(
        &text,
        "ssec_requests_total{op=\"Unknown\",outcome=\"incomplete\",status_class=\"2xx\"} 1",
    );
    has(&text, "ssec_body_bytes_total{direction=\"out\"} 4");
}
