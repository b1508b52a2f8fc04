//! The POST Object layer in process: the header rules and the reading of the fields
//! refuse before the inner service is called; the inner service gets the exact bytes
//! the client sent and the fields; the rest of the form is watched until its closing
//! delimiter, and a part after the file or an early success is refused.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt as _};

use super::*;
use crate::layers::test_support::{
    Log, Seen, TestBody, answer, body_bytes, failing, ok_recorder, pieces, recorder, rejected,
    sized, stalled, target,
};
use crate::s3::error::{Reason, S3ErrorCode};
use crate::s3::headers::{SSE_C_ALGORITHM, SSE_C_KEY_MD5};

const CONTENT_TYPE_FORM: &str = "multipart/form-data; boundary=XyZ";

/// The fields and the file part's headers, up to the file's first byte.
const PREFIX: &str = "--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"x-amz-server-side-encryption-customer-algorithm\"\r\n\r\nAES256\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n";

const CLOSE: &str = "\r\n--XyZ--\r\n";

/// A part after the file, carrying a field the proxy never read.
const LATE_PART: &str = "\r\n--XyZ\r\nContent-Disposition: form-data; name=\"x-amz-server-side-encryption-customer-key-md5\"\r\n\r\nAAAA\r\n--XyZ--\r\n";

/// A POST Object request over TLS with the form's Content-Type.
fn form(body: TestBody) -> Request<TestBody> {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/b")
        .header("content-type", CONTENT_TYPE_FORM)
        .body(body)
        .expect("a test request");
    req.extensions_mut()
        .insert(target(S3Op::PostObject, Some("b"), None, None));
    req.extensions_mut().insert(ConnInfo {
        tls: true,
        client: None,
    });
    req
}

fn layer() -> PostObjectLayer {
    PostObjectLayer::new(Duration::from_secs(10))
}

/// Sends `req` to a recorder answering 204; the result and what the recorder saw.
async fn post(req: Request<TestBody>) -> (Result<Response<Full<Bytes>>, ProxyError>, Log) {
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(layer())
        .service(recorder(&log, |_| {
            Ok(answer(StatusCode::NO_CONTENT, &[], ""))
        }));
    (svc.oneshot(req).await, log)
}

/// Sends `req` and expects a refusal before the inner service was called.
async fn refuse(req: Request<TestBody>) -> S3Error {
    let (result, log) = post(req).await;
    let err = rejected(result);
    assert_eq!(log.calls(), 0, "a refused form reached the inner service");
    err
}

fn malformed(err: &S3Error, why: &str) {
    assert_eq!(err.code, S3ErrorCode::MalformedPOSTRequest);
    assert_eq!(
        err.message,
        format!("The body of your POST request is not well-formed multipart/form-data: {why}.")
    );
    assert_eq!(err.reason, Some(Reason::MalformedPost));
}

fn ambiguous(err: &S3Error, what: &str) {
    assert_eq!(err.code, S3ErrorCode::InvalidRequest);
    assert!(err.message.contains(what), "{}", err.message);
    assert_eq!(err.reason, Some(Reason::AmbiguousForm));
}

#[tokio::test]
async fn passes_other_requests_untouched() {
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(layer())
        .service(recorder(&log, |_| {
            Ok(answer(StatusCode::CREATED, &[("etag", "\"e\"")], "answer"))
        }));
    // A PutObject with headers a form upload may not have, over plain HTTP.
    let mut put = Request::builder()
        .method(Method::PUT)
        .uri("/b/k")
        .header("x-amz-server-side-encryption", "AES256")
        .body(pieces(&[b"ab", b"cd"]))
        .expect("a test request");
    put.extensions_mut()
        .insert(target(S3Op::PutObject, Some("b"), Some("k"), None));
    let response = svc.clone().oneshot(put).await.expect("passed through");
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["etag"], "\"e\"");
    assert_eq!(body_bytes(response.into_body()).await, "answer");
    // No classification at all: passes too.
    let unclassified = Request::builder()
        .method(Method::POST)
        .uri("/b")
        .body(pieces(&[b"--XyZ"]))
        .expect("a test request");
    svc.oneshot(unclassified).await.expect("passed through");
    let seen = log.all();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, "abcd");
    assert_eq!(seen[0].headers["x-amz-server-side-encryption"], "AES256");
    assert!(seen[0].extensions.get::<form::Fields>().is_none());
    assert_eq!(seen[1].body, "--XyZ");
}

#[tokio::test]
async fn refuses_sse_c_headers_on_the_plain_listener_as_v0() {
    for tls in [Some(false), None] {
        let mut req = form(pieces(&[PREFIX.as_bytes(), CLOSE.as_bytes()]));
        req.extensions_mut().remove::<ConnInfo>();
        if let Some(tls) = tls {
            req.extensions_mut().insert(ConnInfo { tls, client: None });
        }
        req.headers_mut().insert(
            SSE_C_KEY_MD5,
            HeaderValue::from_static("AAAAAAAAAAAAAAAAAAAAAA=="),
        );
        let err = refuse(req).await;
        assert_eq!(err.code, S3ErrorCode::InvalidArgument);
        assert_eq!(
            err.message,
            "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection."
        );
        assert_eq!(err.reason, Some(Reason::V0));
    }
}

#[tokio::test]
async fn refuses_encryption_and_copy_source_headers_on_a_form() {
    for name in [
        "x-amz-server-side-encryption",
        "x-amz-server-side-encryption-aws-kms-key-id",
        "x-amz-server-side-encryption-customer-algorithm",
        "x-amz-copy-source",
    ] {
        let mut req = form(pieces(&[PREFIX.as_bytes(), CLOSE.as_bytes()]));
        req.headers_mut().insert(
            http::HeaderName::from_static(name),
            HeaderValue::from_static("AES256"),
        );
        let err = refuse(req).await;
        assert_eq!(err.code, S3ErrorCode::InvalidRequest, "{name}");
        assert_eq!(
            err.message,
            "A form upload (POST Object) takes SSE-C as form fields before the file: x-amz-server-side-encryption* and x-amz-copy-source* headers are refused on it, because a store could use them instead of the fields.",
            "{name}"
        );
        assert_eq!(err.reason, Some(Reason::AmbiguousForm), "{name}");
    }
}

#[tokio::test]
async fn refuses_a_form_without_a_multipart_content_type() {
    let mut req = form(pieces(&[PREFIX.as_bytes()]));
    req.headers_mut().remove("content-type");
    malformed(&refuse(req).await, "no Content-Type");
    for (content_type, why) in [
        ("text/plain", "the Content-Type is not multipart/form-data"),
        ("multipart/form-data", "no boundary"),
    ] {
        let mut req = form(pieces(&[PREFIX.as_bytes()]));
        req.headers_mut()
            .insert("content-type", HeaderValue::from_static(content_type));
        malformed(&refuse(req).await, why);
    }
    let mut req = form(pieces(&[PREFIX.as_bytes()]));
    req.headers_mut().insert(
        "content-type",
        HeaderValue::from_bytes("multipart/form-data; boundary=é".as_bytes())
            .expect("UTF-8 is a header value"),
    );
    malformed(&refuse(req).await, "a Content-Type that is not ASCII");
    let mut req = form(pieces(&[PREFIX.as_bytes()]));
    req.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("multipart/form-data; boundary=XyZ; boundary=Abc"),
    );
    ambiguous(
        &refuse(req).await,
        "a Content-Type parameter that is repeated",
    );
}

#[tokio::test]
async fn refuses_fields_larger_than_the_prefix_limit() {
    let head = b"--XyZ\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\n";
    let chunk = vec![b'a'; 16 * 1024];
    let mut body: Vec<&[u8]> = vec![head];
    body.extend(std::iter::repeat_n(&chunk[..], 20));
    let err = refuse(form(pieces(&body))).await;
    malformed(&err, "form fields before the file are too large");
}

#[tokio::test]
async fn refuses_a_body_that_ends_inside_the_fields() {
    let err = refuse(form(pieces(&[b"--XyZ\r\nContent-Disp", b"osition: form"]))).await;
    malformed(&err, "the body ended early");
}

#[tokio::test]
async fn refuses_an_ambiguous_or_malformed_field_section() {
    let err = refuse(form(pieces(&[b"preamble\r\n", PREFIX.as_bytes()]))).await;
    ambiguous(&err, "bytes before the first boundary");
    let err = refuse(form(pieces(&[b"--XyZ\r\nX-Other: 1\r\n\r\nv\r\n--XyZ--"]))).await;
    malformed(&err, "a part without Content-Disposition");
}

#[tokio::test]
async fn refuses_a_field_value_with_a_line_break_in_passthrough_too() {
    // RGW stores the text after the line break as a header it sends on every read.
    for value in ["a\r\nContent-Type: text/html", "a\nb", "a\u{7f}"] {
        let fields = format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"x-amz-meta-note\"\r\n\r\n{value}\r\n{PREFIX}"
        );
        let err = refuse(form(pieces(&[
            fields.as_bytes(),
            b"data",
            CLOSE.as_bytes(),
        ])))
        .await;
        ambiguous(&err, "control character");
    }
    // A tab is text.
    let fields = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"x-amz-meta-note\"\r\n\r\na\tb\r\n{PREFIX}"
    );
    let (result, log) = post(form(pieces(&[
        fields.as_bytes(),
        b"data",
        CLOSE.as_bytes(),
    ])))
    .await;
    assert!(result.is_ok());
    assert_eq!(log.calls(), 1);
}

#[tokio::test]
async fn answers_request_timeout_when_the_client_stalls_in_the_fields() {
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(PostObjectLayer::new(Duration::from_millis(50)))
        .service(ok_recorder(&log));
    let result = svc
        .oneshot(form(stalled(&[b"--XyZ\r\nContent-Disposition: form-data"])))
        .await;
    assert!(
        matches!(result, Err(ProxyError::ClientTimeout)),
        "{:?}",
        result.err()
    );
    assert_eq!(log.calls(), 0);
}

#[tokio::test]
async fn a_client_body_failing_in_the_fields_is_a_client_body_error() {
    let (result, log) = post(form(failing(&[b"--XyZ\r\n"], "client reset"))).await;
    match result {
        Err(ProxyError::ClientBody(e)) => {
            assert_eq!(crate::error::chain(&*e), "client reset");
        }
        other => panic!("not a client body error: {:?}", other.err()),
    }
    assert_eq!(log.calls(), 0);
}

#[tokio::test]
async fn forwards_the_exact_bytes_and_leaves_the_fields_for_the_ssec_layer() {
    let whole = format!("{PREFIX}FILE BYTES{CLOSE}");
    // Split inside a field, inside the file part's headers, inside the file and inside
    // the closing delimiter.
    let cuts = [30, PREFIX.len() - 10, PREFIX.len() + 4, whole.len() - 5];
    let mut frames: Vec<&[u8]> = Vec::new();
    let mut at = 0;
    for cut in cuts.into_iter().chain([whole.len()]) {
        frames.push(&whole.as_bytes()[at..cut]);
        at = cut;
    }
    for body in [pieces(&frames), sized(&frames)] {
        let (result, log) = post(form(body)).await;
        assert_eq!(
            result.expect("a well-formed form").status(),
            StatusCode::NO_CONTENT
        );
        let seen = log.only();
        assert_eq!(seen.body, whole.as_bytes());
        assert_eq!(seen.body_error, None);
        let fields = seen
            .extensions
            .get::<form::Fields>()
            .expect("the fields are left in the extensions");
        assert_eq!(fields.get("key"), Some(&b"k"[..]));
        assert_eq!(fields.get(SSE_C_ALGORITHM.as_str()), Some(&b"AES256"[..]));
        assert_eq!(fields.file_at(), Some(PREFIX.len()));
    }
}

#[tokio::test]
async fn refuses_a_form_without_a_key_field_or_a_file_part_as_aws() {
    // Every store refuses a form without `key` in words of its own; RGW stores an empty
    // object from a form without a file.
    let no_file = "--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk\r\n--XyZ--\r\n";
    let no_key = format!(
        "{}data{CLOSE}",
        PREFIX.replacen("name=\"key\"", "name=\"x-amz-meta-k\"", 1)
    );
    for (body, argument, message) in [
        (
            no_file.to_owned(),
            "file",
            "POST requires exactly one file upload per request.",
        ),
        (
            no_key,
            "key",
            "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
        ),
    ] {
        let err = refuse(form(pieces(&[body.as_bytes()]))).await;
        assert_eq!(err.code, S3ErrorCode::InvalidArgument);
        assert_eq!(err.message, message);
        assert_eq!(err.argument_name, Some(argument));
        assert_eq!(err.reason, Some(Reason::MalformedPost));
    }
}

#[tokio::test]
async fn refuses_a_part_after_the_file_before_its_last_byte_reaches_the_store() {
    let first = format!("{PREFIX}FILE");
    let (result, log) = post(form(pieces(&[
        first.as_bytes(),
        b" BYTES",
        LATE_PART.as_bytes(),
    ])))
    .await;
    ambiguous(&rejected(result), "a part after the file part");
    let seen = log.only();
    assert_eq!(
        seen.body,
        format!("{PREFIX}FILE BYTES"),
        "the late part is held back"
    );
    assert!(
        seen.body_error
            .as_deref()
            .is_some_and(|e| e.contains("a part after the file part")),
        "{:?}",
        seen.body_error
    );
}

#[tokio::test]
async fn refuses_a_part_after_the_file_already_in_the_fields_read() {
    let whole = format!("{PREFIX}FILE BYTES{LATE_PART}");
    let err = refuse(form(pieces(&[whole.as_bytes()]))).await;
    ambiguous(&err, "a part after the file part");
}

#[tokio::test]
async fn refuses_a_form_that_ends_without_its_closing_delimiter() {
    let first = format!("{PREFIX}FILE");
    let (result, log) = post(form(pieces(&[first.as_bytes(), b" BYTES\r\n--XyZ"]))).await;
    ambiguous(
        &rejected(result),
        "no closing delimiter after the file part",
    );
    assert!(log.only().body_error.is_some());
    // A body that says it ended with its last frame: that frame is held back.
    let (result, log) = post(form(sized(&[first.as_bytes(), b" BYTES\r\n--XyZ"]))).await;
    ambiguous(
        &rejected(result),
        "no closing delimiter after the file part",
    );
    let seen = log.only();
    assert_eq!(seen.body, first.as_bytes());
    assert!(seen.body_error.is_some());
    // Ended within the fields read: refused before the store is asked.
    let whole = format!("{PREFIX}FILE BYTES");
    let err = refuse(form(sized(&[whole.as_bytes()]))).await;
    ambiguous(&err, "no closing delimiter after the file part");
}

#[tokio::test]
async fn refuses_a_success_answered_before_the_closing_delimiter() {
    let log = Log::default();
    let svc = ServiceBuilder::new().layer(layer()).service_fn({
        let log = log.clone();
        move |req: Request<FormBody<TestBody>>| {
            let log = log.clone();
            async move {
                // The store answers without reading the rest of the form.
                let (parts, _body) = req.into_parts();
                log.push(Seen {
                    method: parts.method,
                    uri: parts.uri,
                    headers: parts.headers,
                    extensions: parts.extensions,
                    body: Bytes::new(),
                    body_error: None,
                });
                let status = match log.calls() {
                    1 => StatusCode::OK,
                    _ => StatusCode::FORBIDDEN,
                };
                Ok::<_, ProxyError>(answer(status, &[], "<Error/>"))
            }
        }
    });
    let body = || form(stalled(&[PREFIX.as_bytes(), b"FILE"]));
    let err = rejected(svc.clone().oneshot(body()).await);
    ambiguous(&err, "no closing delimiter after the file part");
    // An error answer is the store's refusal: it passes.
    let response = svc.oneshot(body()).await.expect("the store's error");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(body_bytes(response.into_body()).await, "<Error/>");
    assert_eq!(log.calls(), 2);
}

#[tokio::test]
async fn passes_the_inner_error_of_a_checked_form() {
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(layer())
        .service(recorder(&log, |_| Err(ProxyError::UpstreamTimeout)));
    let whole = format!("{PREFIX}FILE BYTES{CLOSE}");
    let result = svc.oneshot(form(pieces(&[whole.as_bytes()]))).await;
    assert!(
        matches!(result, Err(ProxyError::UpstreamTimeout)),
        "{:?}",
        result.err()
    );
    assert_eq!(log.only().body, whole);
}
