//! The multipart layer in process: parts and completions checked against this
//! replica's record of the upload (S9–S13, unknown uploads) before the inner service
//! is called; the record written from CreateMultipartUpload's answer and dropped when
//! Complete or Abort succeeds.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt as _};

use super::*;
use crate::layers::test_support::{
    Answer, Log, Seen, TestBody, answer, body_bytes, digest, failing, live, named, recorder,
    rejected, target, upload,
};
use crate::s3::policy::Policy;
use crate::s3::ssec::KeyDigest;
use crate::s3::store::Store;

fn records() -> Arc<UploadRecords> {
    Arc::new(UploadRecords::new(100, Duration::from_secs(3600)))
}

fn reject_unknown() -> Arc<ArcSwap<LiveSsec>> {
    live(
        Policy::Allow,
        &[("public-*", Policy::Forbid)],
        UnknownUploads::Reject,
    )
}

/// A request for `s3` that the SSE-C layer checked, with this destination key.
fn request(s3: S3Request, key: Option<KeyDigest>) -> Request<Full<Bytes>> {
    let mut req = Request::builder()
        .method(Method::PUT)
        .uri("/b/k")
        .body(Full::new(Bytes::from_static(b"part")))
        .expect("a test request");
    req.extensions_mut().insert(s3);
    req.extensions_mut().insert(Checked {
        destination: key,
        source: None,
    });
    req
}

async fn send<F>(
    records: &Arc<UploadRecords>,
    live: Arc<ArcSwap<LiveSsec>>,
    req: Request<Full<Bytes>>,
    reply: F,
) -> (Result<Response<Buffered<Full<Bytes>>>, ProxyError>, Log)
where
    F: Fn(&Seen) -> Answer + Send + Sync + 'static,
{
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(MultipartLayer::new(
            Arc::clone(records),
            live,
            named(Store::Generic),
            Arc::new(arc_swap::ArcSwapOption::empty()),
        ))
        .service(recorder(&log, reply));
    (svc.oneshot(req).await, log)
}

fn ok(_: &Seen) -> Answer {
    Ok(answer(StatusCode::OK, &[], "ok"))
}

/// Sends `req` and expects a refusal before the inner service was called.
async fn refuse(records: &Arc<UploadRecords>, req: Request<Full<Bytes>>) -> S3Error {
    let (result, log) = send(records, reject_unknown(), req, ok).await;
    let err = rejected(result);
    assert_eq!(
        log.calls(),
        0,
        "a refused request reached the inner service"
    );
    err
}

/// Sends `req` and expects it to reach the inner service and succeed.
async fn pass(
    records: &Arc<UploadRecords>,
    live: Arc<ArcSwap<LiveSsec>>,
    req: Request<Full<Bytes>>,
) {
    let (result, log) = send(records, live, req, ok).await;
    let response = result.expect("passed");
    assert_eq!(body_bytes(response.into_body()).await, "ok");
    assert_eq!(log.only().body, "part");
}

const S9: &str = "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.";
const S10: &str = "The provided encryption parameters did not match the ones used originally.";
const S12: &str = "The object was stored using a form of Server Side Encryption. Correct SSE-C request parameters are required for this request when specifying checksums for each part.";

fn is(err: &S3Error, message: &str, reason: Reason) {
    assert_eq!(err.code, S3ErrorCode::InvalidRequest);
    assert_eq!(err.message, message);
    assert_eq!(err.reason, Some(reason));
}

#[tokio::test]
async fn refuses_a_request_the_layers_above_did_not_check_as_internal() {
    let records = records();
    let mut unchecked = request(upload(S3Op::UploadPart), None);
    unchecked.extensions_mut().remove::<Checked>();
    let mut unclassified = request(upload(S3Op::UploadPart), None);
    unclassified.extensions_mut().remove::<S3Request>();
    for req in [unchecked, unclassified] {
        let err = refuse(&records, req).await;
        assert_eq!(err.code, S3ErrorCode::InternalError);
        assert_eq!(
            err.message,
            "We encountered an internal error. Please try again."
        );
    }
}

#[tokio::test]
async fn refuses_a_part_without_the_key_of_an_encrypted_upload() {
    let records = records();
    records.insert("b", "k", "u", Some(digest(1)));
    for op in [S3Op::UploadPart, S3Op::UploadPartCopy] {
        is(
            &refuse(&records, request(upload(op), None)).await,
            S9,
            Reason::S9,
        );
    }
}

#[tokio::test]
async fn refuses_a_part_or_completion_with_another_key() {
    let records = records();
    records.insert("b", "k", "u", Some(digest(1)));
    let err = refuse(&records, request(upload(S3Op::UploadPart), Some(digest(2)))).await;
    is(&err, S10, Reason::S10);
    let err = refuse(
        &records,
        request(upload(S3Op::CompleteMultipartUpload), Some(digest(2))),
    )
    .await;
    is(&err, S12, Reason::S12);
    // The upload's own key passes; so does a completion without a key.
    pass(
        &records,
        reject_unknown(),
        request(upload(S3Op::UploadPart), Some(digest(1))),
    )
    .await;
    pass(
        &records,
        reject_unknown(),
        request(upload(S3Op::UploadPartCopy), Some(digest(1))),
    )
    .await;
    let (result, _) = send(
        &records,
        reject_unknown(),
        request(upload(S3Op::CompleteMultipartUpload), None),
        |_| Ok(answer(StatusCode::BAD_REQUEST, &[], "")),
    )
    .await;
    assert_eq!(result.expect("passed").status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn refuses_a_key_on_a_plain_upload() {
    let records = records();
    records.insert("b", "k", "u", None);
    let err = refuse(&records, request(upload(S3Op::UploadPart), Some(digest(1)))).await;
    is(&err, S10, Reason::S10);
    let err = refuse(
        &records,
        request(upload(S3Op::CompleteMultipartUpload), Some(digest(1))),
    )
    .await;
    is(&err, S12, Reason::S12);
    pass(
        &records,
        reject_unknown(),
        request(upload(S3Op::UploadPart), None),
    )
    .await;
}

#[tokio::test]
async fn refuses_parts_of_unknown_uploads_only_where_configured_and_sse_c_is_possible() {
    let records = records();
    let err = refuse(&records, request(upload(S3Op::UploadPart), Some(digest(1)))).await;
    assert_eq!(err.code, S3ErrorCode::InvalidRequest);
    assert!(
        err.message
            .starts_with("This proxy has no record of how the multipart upload was initiated"),
        "{}",
        err.message
    );
    assert_eq!(err.reason, Some(Reason::UnknownUpload));
    // A bucket that forbids SSE-C has no key to check.
    let forbid = target(S3Op::UploadPart, Some("public-x"), Some("k"), Some("u"));
    pass(&records, reject_unknown(), request(forbid, None)).await;
    // Completions are the store's to refuse.
    pass(
        &records,
        reject_unknown(),
        request(upload(S3Op::CompleteMultipartUpload), Some(digest(1))),
    )
    .await;
    let allow = live(Policy::Allow, &[], UnknownUploads::Allow);
    pass(
        &records,
        allow,
        request(upload(S3Op::UploadPart), Some(digest(1))),
    )
    .await;
}

const CREATED: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>up&amp;1</UploadId></InitiateMultipartUploadResult>";

fn create(key: Option<KeyDigest>) -> Request<Full<Bytes>> {
    request(
        target(S3Op::CreateMultipartUpload, Some("b"), Some("k"), None),
        key,
    )
}

#[tokio::test]
async fn records_a_created_upload_with_its_key() {
    let records = records();
    let (result, _) = send(&records, reject_unknown(), create(Some(digest(1))), |_| {
        Ok(answer(
            StatusCode::OK,
            &[("content-length", "200")],
            CREATED,
        ))
    })
    .await;
    let response = result.expect("created");
    assert_eq!(response.headers()["content-length"], "200");
    assert_eq!(body_bytes(response.into_body()).await, CREATED);
    assert_eq!(records.get("b", "k", "up&1"), Upload::Encrypted(digest(1)));
    let (result, _) = send(&records, reject_unknown(), create(None), |_| {
        Ok(answer(
            StatusCode::OK,
            &[],
            CREATED.replace("up&amp;1", "plain"),
        ))
    })
    .await;
    assert!(result.is_ok());
    assert_eq!(records.get("b", "k", "plain"), Upload::Plain);
    assert_eq!(records.len(), 2);
}

#[tokio::test]
async fn passes_an_oversized_or_idless_answer_unrecorded_and_unchanged() {
    let records = records();
    let big = format!(
        "<InitiateMultipartUploadResult><UploadId>big</UploadId>{}</InitiateMultipartUploadResult>",
        " ".repeat(70 * 1024)
    );
    let body = big.clone();
    let (result, _) = send(
        &records,
        reject_unknown(),
        create(Some(digest(1))),
        move |_| Ok(answer(StatusCode::OK, &[], body.clone())),
    )
    .await;
    let response = result.expect("passed");
    assert_eq!(body_bytes(response.into_body()).await, big);
    assert_eq!(records.get("b", "k", "big"), Upload::Unknown);
    for (status, body) in [
        (StatusCode::OK, "<InitiateMultipartUploadResult/>"),
        (
            StatusCode::OK,
            "<InitiateMultipartUploadResult><UploadId></UploadId></InitiateMultipartUploadResult>",
        ),
        (StatusCode::INTERNAL_SERVER_ERROR, CREATED),
    ] {
        let (result, _) = send(
            &records,
            reject_unknown(),
            create(Some(digest(1))),
            move |_| Ok(answer(status, &[], body)),
        )
        .await;
        let response = result.expect("passed");
        assert_eq!(response.status(), status);
        assert_eq!(body_bytes(response.into_body()).await, body);
    }
    assert!(records.is_empty(), "{} recorded", records.len());
}

#[tokio::test]
async fn a_create_answer_that_fails_to_read_is_a_bad_gateway() {
    let records = records();
    let svc = ServiceBuilder::new()
        .layer(MultipartLayer::new(
            Arc::clone(&records),
            reject_unknown(),
            named(Store::Generic),
            Arc::new(arc_swap::ArcSwapOption::empty()),
        ))
        .service_fn(|_req: Request<Full<Bytes>>| async {
            let body: TestBody = failing(&[b"<InitiateMultipartUploadResult>"], "store reset");
            Ok::<_, ProxyError>(Response::new(body))
        });
    match svc.oneshot(create(Some(digest(1)))).await {
        Err(ProxyError::BadGateway(e)) => {
            assert_eq!(crate::error::chain(&*e), "store reset");
        }
        other => panic!("not a bad gateway: {:?}", other.map(|r| r.status())),
    }
    assert!(records.is_empty());
}

#[tokio::test]
async fn forgets_an_upload_when_complete_or_abort_succeeds() {
    for op in [S3Op::CompleteMultipartUpload, S3Op::AbortMultipartUpload] {
        let records = records();
        records.insert("b", "k", "u", Some(digest(1)));
        records.insert("b", "k", "other", Some(digest(1)));
        let (result, _) = send(
            &records,
            reject_unknown(),
            request(upload(op), Some(digest(1))),
            |_| {
                Ok(answer(
                    StatusCode::OK,
                    &[],
                    "<CompleteMultipartUploadResult/>",
                ))
            },
        )
        .await;
        assert!(result.is_ok());
        assert_eq!(records.get("b", "k", "u"), Upload::Unknown, "{op:?}");
        assert_eq!(records.get("b", "k", "other"), Upload::Encrypted(digest(1)));
    }
}

#[tokio::test]
async fn keeps_an_upload_when_complete_or_abort_fails() {
    for op in [S3Op::CompleteMultipartUpload, S3Op::AbortMultipartUpload] {
        let records = records();
        records.insert("b", "k", "u", Some(digest(1)));
        let (result, _) = send(
            &records,
            reject_unknown(),
            request(upload(op), Some(digest(1))),
            |_| Ok(answer(StatusCode::INTERNAL_SERVER_ERROR, &[], "<Error/>")),
        )
        .await;
        let response = result.expect("the store's error passes");
        assert_eq!(body_bytes(response.into_body()).await, "<Error/>");
        assert_eq!(
            records.get("b", "k", "u"),
            Upload::Encrypted(digest(1)),
            "{op:?}"
        );
        let (result, _) = send(
            &records,
            reject_unknown(),
            request(upload(op), Some(digest(1))),
            |_| Err(ProxyError::UpstreamTimeout),
        )
        .await;
        assert!(matches!(result, Err(ProxyError::UpstreamTimeout)));
        assert_eq!(
            records.get("b", "k", "u"),
            Upload::Encrypted(digest(1)),
            "{op:?}"
        );
    }
}

#[tokio::test]
async fn passes_the_inner_error() {
    let records = records();
    records.insert("b", "k", "u", Some(digest(1)));
    let (result, log) = send(
        &records,
        reject_unknown(),
        request(upload(S3Op::UploadPart), Some(digest(1))),
        |_| {
            Err(ProxyError::Unreachable(Box::new(std::io::Error::other(
                "refused",
            ))))
        },
    )
    .await;
    assert!(matches!(result, Err(ProxyError::Unreachable(_))));
    assert_eq!(log.calls(), 1);
}
