//! The aws-chunked layer in process: headers announcing a framing the proxy cannot
//! check are refused before the store is asked; a body that breaks its framing fails
//! before its last byte reaches the store, and the store client's report of that failure
//! becomes the framing's own S3 error; other bodies and errors pass unchanged.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt as _};

use super::*;
use crate::layers::test_support::{
    Log, TestBody, answer, body_bytes, failing, pieces, read_body, recorder, rejected, sized,
};
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::store::{Store, StoreSetting};

const SIG: &str = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
const HMAC: &str = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
const KEY_NAME: &str = "x-amz-server-side-encryption-customer-key";

/// The layer, in front of `store`.
fn layer(store: Store) -> AwsChunkedLayer {
    AwsChunkedLayer::new(Arc::new(LiveStore::new(StoreSetting::Named(store))))
}

fn chunk(payload: &str) -> String {
    format!("{:x};chunk-signature={SIG}\r\n{payload}\r\n", payload.len())
}

fn last() -> String {
    format!("0;chunk-signature={SIG}\r\n\r\n")
}

/// The `Authorization` of a SigV4-signed request (the layer reads only its scheme).
const SIGV4: &str = "AWS4-HMAC-SHA256 Credential=AK/20261205/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00";

/// A PUT with these headers and body, SigV4-signed unless `headers` name an
/// `authorization`.
fn put<B>(headers: &[(&str, &str)], body: B) -> Request<B> {
    let mut builder = Request::builder().method(Method::PUT).uri("/b/k");
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
    {
        builder = builder.header("authorization", SIGV4);
    }
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).expect("a test request")
}

fn signed(decoded_length: &str) -> Vec<(&'static str, String)> {
    vec![
        ("x-amz-content-sha256", HMAC.to_owned()),
        ("x-amz-decoded-content-length", decoded_length.to_owned()),
    ]
}

fn pairs<'a>(headers: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    headers.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

/// Sends `req` to a recorder answering 200; the result and what it saw.
async fn send<B>(req: Request<B>) -> (Result<Response<Full<Bytes>>, ProxyError>, Log)
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(layer(Store::Generic))
        .service(recorder(&log, |_| {
            Ok(answer(StatusCode::OK, &[], "stored"))
        }));
    (svc.oneshot(req).await, log)
}

fn invalid_argument(err: &S3Error, message: &str, argument: &str, reason: Reason) {
    assert_eq!(err.code, S3ErrorCode::InvalidArgument);
    assert_eq!(err.message, message);
    assert_eq!(err.argument_name, Some(argument));
    assert_eq!(err.reason, Some(reason));
}

#[tokio::test]
async fn refuses_a_framing_it_cannot_check_before_calling_the_store() {
    let body = || Full::new(Bytes::from(chunk("abc") + &last()));
    /// Headers, then the refusal's message, argument name and reason.
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str, Reason);
    let cases: [Case<'_>; 3] = [
        (
            &[("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA512-PAYLOAD")],
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING- mode S3 supports, or a valid sha256 value.",
            "x-amz-content-sha256",
            Reason::AwsChunkedMode,
        ),
        (
            &[
                ("x-amz-content-sha256", HMAC),
                ("x-amz-decoded-content-length", "-3"),
            ],
            "x-amz-decoded-content-length must be a non-negative integer.",
            "x-amz-decoded-content-length",
            Reason::AwsChunkedLength,
        ),
        (
            &[
                ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
                (
                    "x-amz-trailer",
                    "x-amz-checksum-crc32, X-Amz-Checksum-CRC32",
                ),
            ],
            "x-amz-trailer must list distinct trailer field names.",
            "x-amz-trailer",
            Reason::AwsChunkedTrailer,
        ),
    ];
    for (headers, message, argument, reason) in cases {
        let (result, log) = send(put(headers, body())).await;
        invalid_argument(&rejected(result), message, argument, reason);
        assert_eq!(log.calls(), 0, "{message}");
    }
}

#[tokio::test]
async fn does_not_check_the_headers_of_an_empty_body() {
    let (result, log) = send(put(
        &[("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA512-PAYLOAD")],
        Full::<Bytes>::default(),
    ))
    .await;
    assert!(result.is_ok());
    assert_eq!(log.only().body, "");
}

#[tokio::test]
async fn passes_a_well_framed_body_unchanged() {
    let whole = chunk("hello ") + &chunk("world") + &last();
    let cut = whole.len() / 2;
    let headers = signed("11");
    let (result, log) = send(put(
        &pairs(&headers),
        pieces(&[&whole.as_bytes()[..cut], &whole.as_bytes()[cut..]]),
    ))
    .await;
    let response = result.expect("a well-framed body");
    assert_eq!(body_bytes(response.into_body()).await, "stored");
    let seen = log.only();
    assert_eq!(seen.body, whole.as_bytes());
    assert_eq!(seen.body_error, None);
    assert_eq!(seen.headers["x-amz-content-sha256"], HMAC);
}

#[tokio::test]
async fn passes_bodies_that_announce_no_framing_unchanged() {
    for sha256 in [
        None,
        Some("UNSIGNED-PAYLOAD"),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ] {
        let headers: Vec<(&str, &str)> = sha256
            .map(|v| vec![("x-amz-content-sha256", v)])
            .unwrap_or_default();
        // Would break aws-chunked framing at once.
        let (result, log) = send(put(&headers, pieces(&[b"3\r\nabcX", b"not chunked"]))).await;
        assert!(result.is_ok(), "{sha256:?}");
        assert_eq!(log.only().body, "3\r\nabcXnot chunked", "{sha256:?}");
    }
}

#[tokio::test]
async fn refuses_a_body_that_breaks_its_framing_before_its_last_byte() {
    let first = format!("3;chunk-signature={SIG}\r\nabc");
    let rest = format!("X\r\n{}", last());
    let headers = signed("3");
    let (result, log) = send(put(
        &pairs(&headers),
        pieces(&[first.as_bytes(), rest.as_bytes()]),
    ))
    .await;
    let err = rejected(result);
    assert_eq!(err.code, S3ErrorCode::InvalidRequest);
    assert_eq!(
        err.message,
        "The aws-chunked request body is malformed: chunk payload is longer than its size or not followed by CRLF."
    );
    assert_eq!(err.reason, Some(Reason::AwsChunkedFraming));
    let seen = log.only();
    assert_eq!(
        seen.body,
        first.as_bytes(),
        "the breaking frame is held back"
    );
    assert!(seen.body_error.is_some());
}

#[tokio::test]
async fn refuses_a_payload_of_another_length_without_forwarding_its_end() {
    let headers = signed("5");
    let body = Full::new(Bytes::from(chunk("abc") + &last()));
    let (result, log) = send(put(&pairs(&headers), body)).await;
    let err = rejected(result);
    assert_eq!(err.code, S3ErrorCode::IncompleteBody);
    assert_eq!(
        err.message,
        "You did not provide the number of bytes specified by the x-amz-decoded-content-length HTTP header."
    );
    assert_eq!(err.reason, Some(Reason::AwsChunkedLength));
    assert_eq!(log.only().body, "", "the only frame was the last one");
}

#[tokio::test]
async fn refuses_a_body_that_ends_before_its_final_chunk() {
    let headers = signed("3");
    let partial = format!("3;chunk-signature={SIG}\r\nab");
    let (result, log) = send(put(&pairs(&headers), pieces(&[partial.as_bytes()]))).await;
    let err = rejected(result);
    assert_eq!(err.code, S3ErrorCode::IncompleteBody);
    assert_eq!(
        err.message,
        "The request body ended before the final chunk of its aws-chunked encoding."
    );
    assert_eq!(err.reason, Some(Reason::AwsChunkedTruncated));
    assert!(log.only().body_error.is_some());
    // A body that says it ended with its last frame: that frame is held back.
    let (result, log) = send(put(&pairs(&headers), sized(&[partial.as_bytes()]))).await;
    assert_eq!(rejected(result).reason, Some(Reason::AwsChunkedTruncated));
    let seen = log.only();
    assert_eq!(seen.body, "");
    assert!(seen.body_error.is_some());
}

#[tokio::test]
async fn refuses_a_trailer_that_was_not_announced() {
    let headers = [
        ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ("x-amz-trailer", "x-amz-checksum-crc32"),
    ];
    let body = "3\r\nabc\r\n0\r\nx-amz-checksum-sha256:AAAA\r\n\r\n";
    let (result, _) = send(put(&headers, pieces(&[body.as_bytes()]))).await;
    let err = rejected(result);
    assert_eq!(err.code, S3ErrorCode::MalformedTrailerError);
    assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    assert_eq!(err.reason, Some(Reason::AwsChunkedTrailer));
}

#[tokio::test]
async fn forwards_a_trailer_section_only_when_it_is_one_checksum() {
    let body = "3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n";
    // With a checksum header too when `in_header`.
    let request = |in_header: bool, trailer: &str| {
        let mut headers = vec![
            ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ("x-amz-decoded-content-length", "3"),
            ("x-amz-trailer", trailer),
        ];
        if in_header {
            headers.push(("x-amz-checksum-crc32", "NSRBwg=="));
        }
        put(&headers, pieces(&[body.as_bytes()]))
    };
    let unsupported = "The value specified in the x-amz-trailer header is not supported";
    let multiple =
        "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.";
    // A field a store could read as a header, or more than one checksum: refused before
    // the store is called, whatever the body carries.
    let cases = [
        (false, KEY_NAME, unsupported),
        (false, "x-amz-meta-note", unsupported),
        (
            false,
            "x-amz-checksum-crc32, x-amz-checksum-sha256",
            multiple,
        ),
        (false, "x-amz-checksum-md5", unsupported),
        (
            true,
            "x-amz-checksum-crc32",
            "Expecting a single x-amz-checksum- header",
        ),
    ];
    for (in_header, trailer, message) in cases {
        let (result, log) = send(request(in_header, trailer)).await;
        let err = rejected(result);
        assert_eq!(err.code, S3ErrorCode::InvalidRequest, "{trailer}");
        assert_eq!(err.message, message, "{trailer}");
        assert_eq!(err.reason, Some(Reason::ChecksumHeader), "{trailer}");
        assert_eq!(log.calls(), 0, "{trailer}");
    }
    // Announced on a body that is not aws-chunked: a store reading the body as framed
    // (by its coding, say) would find fields the proxy never read.
    let plain = put(
        &[
            ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
            ("content-encoding", "aws-chunked"),
            ("x-amz-trailer", KEY_NAME),
        ],
        pieces(&[body.as_bytes()]),
    );
    let (result, log) = send(plain).await;
    assert_eq!(rejected(result).code, S3ErrorCode::MalformedTrailerError);
    assert_eq!(log.calls(), 0);
    // The one checksum, in any case, goes on byte for byte.
    for trailer in ["x-amz-checksum-crc32", "X-Amz-Checksum-CRC32"] {
        let (result, log) = send(request(false, trailer)).await;
        assert!(result.is_ok(), "{trailer}");
        assert_eq!(log.only().body, body.as_bytes(), "{trailer}");
    }
}

#[tokio::test]
async fn maps_a_framing_failure_the_store_client_calls_a_bad_gateway() {
    let svc = ServiceBuilder::new()
        .layer(layer(Store::Generic))
        .service_fn(|req: Request<FramedBody<TestBody>>| async move {
            let (_, error) = read_body(req.into_body()).await;
            let error = error.expect("the framing check fails the body");
            Err::<Response<Full<Bytes>>, _>(ProxyError::BadGateway(error))
        });
    let headers = signed("3");
    let body = pieces(&[format!("3;chunk-signature={SIG}\r\nabcX").as_bytes()]);
    let err = rejected(svc.oneshot(put(&pairs(&headers), body)).await);
    assert_eq!(err.reason, Some(Reason::AwsChunkedFraming));
}

#[tokio::test]
async fn passes_unrelated_errors_unchanged() {
    // The client's own body failure, inside a framed body.
    let headers = signed("3");
    let partial = format!("3;chunk-signature={SIG}\r\nab");
    let (result, log) = send(put(
        &pairs(&headers),
        failing(&[partial.as_bytes()], "client reset"),
    ))
    .await;
    match result {
        Err(ProxyError::ClientBody(e)) => assert_eq!(crate::error::chain(&*e), "client reset"),
        other => panic!("not the client's failure: {:?}", other.map(|r| r.status())),
    }
    assert_eq!(log.only().body, partial.as_bytes());
    // The store's failure.
    let log = Log::default();
    let svc = ServiceBuilder::new()
        .layer(layer(Store::Generic))
        .service(recorder(&log, |_| Err(ProxyError::UpstreamTimeout)));
    let body = Full::new(Bytes::from(chunk("abc") + &last()));
    let result = svc.oneshot(put(&pairs(&signed("3")), body)).await;
    assert!(matches!(result, Err(ProxyError::UpstreamTimeout)));
}

#[tokio::test]
async fn refuses_aws_chunked_bodies_without_sigv4_header_authentication() {
    // A store reading a SigV2 or presigned request ignores the framing and keeps the
    // body as sent, which is not what the proxy would have checked.
    let body = || Full::new(Bytes::from(chunk("abc") + &last()));
    let headers = signed("3");
    for authorization in [None, Some("AWS AK:c2lnbmF0dXJl"), Some("Bearer x")] {
        let mut all = pairs(&headers);
        // `put` adds SigV4 unless one is named: an empty name stands for none.
        all.push(("authorization", authorization.unwrap_or_default()));
        let (result, log) = send(put(&all, body())).await;
        let err = rejected(result);
        assert_eq!(err.code, S3ErrorCode::InvalidRequest, "{authorization:?}");
        assert_eq!(err.reason, Some(Reason::AwsChunkedMode));
        assert_eq!(log.calls(), 0);
    }
    let (result, log) = send(put(&pairs(&headers), body())).await;
    assert!(result.is_ok());
    assert_eq!(log.only().body, (chunk("abc") + &last()).as_bytes());
}
