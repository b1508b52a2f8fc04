//! The payload layer in process, behind the aws-chunked layer as in the stack: a request
//! carrying `sigv4::Verified` has its body checked (signed hash, chunk and trailer
//! signatures, checksum) and aws-chunked bodies decoded, the end held back until every
//! check passed; a refused body fails before its last byte reaches the store and the
//! client gets S3's code. Requests without `Verified` pass byte for byte.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{ServiceBuilder, ServiceExt as _};

use super::*;
use crate::layers::aws_chunked::AwsChunkedLayer;
use crate::layers::test_support::streaming::{checksum, encode, verified};
use crate::layers::test_support::{Log, Seen, TestBody, answer, pieces, rejected, sized};
use crate::s3::checksum::Algorithm;
use crate::s3::error::S3ErrorCode;
use crate::s3::op::{S3Op, S3Request};
use crate::s3::sigv4::crypto::{parse_hex32, sha256};
use crate::s3::sigv4::{
    EMPTY_SHA256, PayloadMode, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER,
    STREAMING_UNSIGNED_TRAILER,
};
use crate::s3::store::{Store, StoreSetting};

/// A payload whose bytes all differ from their neighbours.
pub(super) fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// `body` in frames of `frame` bytes.
pub(super) fn framed(body: &[u8], frame: usize) -> TestBody {
    let frames: Vec<&[u8]> = body.chunks(frame.max(1)).collect();
    pieces(&frames)
}

/// A request with these headers and body, carrying `Verified` for `mode` when given.
pub(super) fn request<B>(
    method: Method,
    mode: Option<PayloadMode>,
    headers: &[(&str, &str)],
    body: B,
) -> Request<B> {
    // SigV4 header authentication, as every mode here is signed (the layers read only
    // its scheme; resign mode's verification is `Verified`).
    let mut builder = Request::builder()
        .method(method)
        .uri("/b/k")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AK/20261205/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
        );
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let mut req = builder.body(body).expect("a test request");
    if let Some(mode) = mode {
        req.extensions_mut().insert(verified(mode));
    }
    req
}

/// Sends `req` through the aws-chunked and payload layers to a recorder answering 200.
pub(super) async fn send<B>(req: Request<B>) -> (Result<Response<Full<Bytes>>, ProxyError>, Log)
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    send_to(req, Store::Generic).await
}

/// [`send`], the proxy acting for `store`.
pub(super) async fn send_to<B>(
    req: Request<B>,
    store: Store,
) -> (Result<Response<Full<Bytes>>, ProxyError>, Log)
where
    B: Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    let log = Log::default();
    let store = Arc::new(LiveStore::new(StoreSetting::Named(store)));
    let svc = ServiceBuilder::new()
        .layer(AwsChunkedLayer::new(Arc::clone(&store)))
        .layer(PayloadLayer::new(Duration::from_secs(5), store))
        .service(crate::layers::test_support::recorder(&log, |_| {
            Ok(answer(StatusCode::OK, &[], "stored"))
        }));
    (svc.oneshot(req).await, log)
}

/// The headers of a streaming upload in `mode` of `len` payload bytes, plus `extra`.
pub(super) fn streaming_headers(
    mode: &str,
    len: usize,
    encoded: usize,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut headers = vec![
        ("x-amz-content-sha256".to_owned(), mode.to_owned()),
        ("x-amz-decoded-content-length".to_owned(), len.to_string()),
        ("content-length".to_owned(), encoded.to_string()),
        ("content-encoding".to_owned(), "aws-chunked".to_owned()),
    ];
    headers.extend(
        extra
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    headers
}

pub(super) fn pairs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

/// The inner service saw a body that failed before its end: fewer bytes than the
/// `payload` (as sent, altered bytes included), then an error.
pub(super) fn cut_short(seen: &Seen, payload: &[u8]) {
    assert!(seen.body_error.is_some(), "the body did not fail");
    assert!(
        seen.body.len() < payload.len(),
        "the store saw the whole payload"
    );
}

/// The inner service saw exactly `expected` (without printing megabytes on failure).
pub(super) fn same(seen: &[u8], expected: &[u8], what: &str) {
    assert!(
        seen == expected,
        "{what}: {} bytes seen, {} expected",
        seen.len(),
        expected.len()
    );
}

/// The SDK default: unsigned chunks, a CRC trailer.
pub(super) fn sdk_upload(
    data: &[u8],
    algorithm: Algorithm,
    chunk: usize,
) -> (Vec<(String, String)>, Vec<u8>) {
    let name = algorithm.header();
    let value = checksum(algorithm, data);
    let body = encode(
        data,
        chunk,
        PayloadMode::StreamingUnsignedTrailer,
        &[(name.as_str(), &value)],
    );
    let headers = streaming_headers(
        STREAMING_UNSIGNED_TRAILER,
        data.len(),
        body.len(),
        &[
            ("x-amz-trailer", name.as_str()),
            ("x-amz-sdk-checksum-algorithm", algorithm.name()),
        ],
    );
    (headers, body)
}

#[tokio::test]
async fn decodes_signed_chunks_of_every_size_in_frames_of_every_size() {
    for (len, chunk) in [
        (0, 8192),
        (1, 1),
        (300, 1),
        (20_000, 8192),
        (200_000, 65_536),
    ] {
        let data = payload(len);
        let body = encode(&data, chunk, PayloadMode::StreamingSigned, &[]);
        let headers = streaming_headers(STREAMING_SIGNED, len, body.len(), &[]);
        let frames: &[usize] = if body.len() < 5000 {
            &[1, 7, 4096]
        } else {
            &[1000, 16_384, usize::MAX]
        };
        for &frame in frames {
            let req = request(
                Method::PUT,
                Some(PayloadMode::StreamingSigned),
                &pairs(&headers),
                framed(&body, frame),
            );
            let (result, log) = send(req).await;
            assert!(
                result.is_ok(),
                "{len} in {chunk}-byte chunks, {frame}-byte frames"
            );
            let seen = log.only();
            assert_eq!(seen.body_error, None);
            same(
                &seen.body,
                &data,
                &format!("{len} in {chunk}-byte chunks, {frame}-byte frames"),
            );
            assert_eq!(seen.headers["content-length"], len.to_string());
        }
    }
}

#[tokio::test]
async fn gives_the_store_a_plain_body_with_its_decoded_length() {
    let data = payload(100);
    let mode = PayloadMode::StreamingSigned;
    for (sent, forwarded) in [
        (Some("aws-chunked"), None),
        (Some("gzip, aws-chunked"), Some("gzip")),
        (Some("AWS-Chunked,br ,gzip"), Some("br, gzip")),
        (None, None),
    ] {
        let body = encode(&data, 64, mode, &[]);
        let mut headers = streaming_headers(STREAMING_SIGNED, 100, body.len(), &[]);
        headers.retain(|(n, _)| n != "content-encoding");
        headers.extend(sent.map(|v| ("content-encoding".to_owned(), v.to_owned())));
        headers.push(("transfer-encoding".to_owned(), "chunked".to_owned()));
        let (result, log) = send(request(
            Method::PUT,
            Some(mode),
            &pairs(&headers),
            framed(&body, 33),
        ))
        .await;
        assert!(result.is_ok());
        let seen = log.only();
        assert_eq!(
            seen.headers
                .get("content-encoding")
                .map(|v| v.to_str().unwrap()),
            forwarded,
            "{sent:?}"
        );
        assert_eq!(
            seen.headers.get_all("content-encoding").iter().count(),
            usize::from(forwarded.is_some())
        );
        assert_eq!(seen.headers["content-length"], "100");
        for gone in [
            "x-amz-decoded-content-length",
            "transfer-encoding",
            "x-amz-trailer",
        ] {
            assert!(!seen.headers.contains_key(gone), "{gone}");
        }
        assert_eq!(
            seen.headers["x-amz-content-sha256"], STREAMING_SIGNED,
            "left to the re-signer"
        );
        same(&seen.body, &data, "body");
    }
}

#[tokio::test]
async fn verifies_the_sdk_default_upload_with_each_checksum_trailer() {
    let data = payload(70_000);
    for algorithm in Algorithm::ALL {
        let (headers, body) = sdk_upload(&data, algorithm, 65_536);
        let mode = PayloadMode::StreamingUnsignedTrailer;
        let (result, log) = send(request(
            Method::PUT,
            Some(mode),
            &pairs(&headers),
            framed(&body, 5000),
        ))
        .await;
        assert!(result.is_ok(), "{algorithm:?}");
        let seen = log.only();
        same(&seen.body, &data, &format!("{algorithm:?}"));
        assert_eq!(seen.headers["content-length"], "70000");
        assert!(!seen.headers.contains_key("x-amz-trailer"));
        // The checksum it names was a trailer the store does not get.
        assert!(!seen.headers.contains_key("x-amz-sdk-checksum-algorithm"));
        assert!(!seen.headers.contains_key("content-encoding"));
    }
}

#[tokio::test]
async fn verifies_signed_chunks_and_a_signed_trailer() {
    let data = payload(10_000);
    let mode = PayloadMode::StreamingSignedTrailer;
    for algorithm in [Algorithm::Crc64Nvme, Algorithm::Sha256] {
        let name = algorithm.header();
        let value = checksum(algorithm, &data);
        let body = encode(&data, 4096, mode, &[(name.as_str(), &value)]);
        let headers = streaming_headers(
            STREAMING_SIGNED_TRAILER,
            data.len(),
            body.len(),
            &[("x-amz-trailer", name.as_str())],
        );
        let (result, log) = send(request(
            Method::PUT,
            Some(mode),
            &pairs(&headers),
            framed(&body, 1),
        ))
        .await;
        assert!(result.is_ok(), "{algorithm:?}");
        same(&log.only().body, &data, "body");
    }
}

/// A plain PUT in resign mode with these headers.
async fn plain(
    mode: PayloadMode,
    extra: &[(&str, &str)],
    body: &[u8],
    frame: usize,
) -> (Result<Response<Full<Bytes>>, ProxyError>, Log) {
    let len = body.len().to_string();
    let mut headers = vec![("content-length", len.as_str())];
    headers.extend_from_slice(extra);
    let frames: Vec<&[u8]> = body.chunks(frame.max(1)).collect();
    send(request(Method::PUT, Some(mode), &headers, pieces(&frames))).await
}

#[tokio::test]
async fn checks_a_signed_payload_as_it_streams() {
    let data = payload(50_000);
    let hash = sha256(&data);
    for frame in [1, 4096, usize::MAX] {
        let (result, log) = plain(PayloadMode::Signed(hash), &[], &data, frame).await;
        assert!(result.is_ok(), "{frame}");
        let seen = log.only();
        same(&seen.body, &data, "body");
        assert_eq!(seen.headers["content-length"], "50000");
        let mut other = data.clone();
        other[49_999] ^= 1;
        let (result, log) = plain(PayloadMode::Signed(hash), &[], &other, frame).await;
        let err = rejected(result);
        assert_eq!(err.code, S3ErrorCode::XAmzContentSHA256Mismatch, "{frame}");
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        cut_short(&log.only(), &other);
    }
}

#[tokio::test]
async fn checks_a_checksum_header_on_a_plain_body() {
    let data = payload(5000);
    let good = checksum(Algorithm::Sha1, &data);
    let bad = checksum(Algorithm::Sha1, b"x");
    for mode in [PayloadMode::Unsigned, PayloadMode::Signed(sha256(&data))] {
        let (result, log) = plain(mode, &[("x-amz-checksum-sha1", &good)], &data, 999).await;
        assert!(result.is_ok());
        same(&log.only().body, &data, "body");
        let (result, log) = plain(mode, &[("x-amz-checksum-sha1", &bad)], &data, 999).await;
        assert_eq!(rejected(result).code, S3ErrorCode::BadDigest);
        cut_short(&log.only(), &data);
    }
    // The signed hash is checked first.
    let (result, _) = plain(
        PayloadMode::Signed(sha256(b"x")),
        &[("x-amz-checksum-sha1", &bad)],
        &data,
        999,
    )
    .await;
    assert_eq!(
        rejected(result).code,
        S3ErrorCode::XAmzContentSHA256Mismatch
    );
}

#[tokio::test]
async fn a_bodyless_request_must_carry_the_empty_hash_or_unsigned_payload() {
    let empty = parse_hex32(EMPTY_SHA256.as_bytes()).unwrap();
    for mode in [PayloadMode::Signed(empty), PayloadMode::Unsigned] {
        let (result, log) = send(request(
            Method::GET,
            Some(mode),
            &[],
            Full::<Bytes>::default(),
        ))
        .await;
        assert!(result.is_ok(), "{mode:?}");
        assert_eq!(log.calls(), 1);
    }
    // S3 answers a GET signed with another body's hash XAmzContentSHA256Mismatch.
    let mode = PayloadMode::Signed(sha256(b"a body that was not sent"));
    let (result, log) = send(request(
        Method::GET,
        Some(mode),
        &[],
        Full::<Bytes>::default(),
    ))
    .await;
    assert_eq!(
        rejected(result).code,
        S3ErrorCode::XAmzContentSHA256Mismatch
    );
    assert_eq!(log.calls(), 0);
}

#[tokio::test]
async fn passthrough_streaming_bodies_go_to_the_store_byte_for_byte() {
    let data = payload(20_000);
    for mode in [
        PayloadMode::StreamingSigned,
        PayloadMode::StreamingUnsignedTrailer,
    ] {
        let (headers, body) = match mode {
            PayloadMode::StreamingSigned => {
                let body = encode(&data, 8192, mode, &[]);
                (
                    streaming_headers(STREAMING_SIGNED, data.len(), body.len(), &[]),
                    body,
                )
            }
            _ => sdk_upload(&data, Algorithm::Crc64Nvme, 8192),
        };
        let (result, log) = send(request(
            Method::PUT,
            None,
            &pairs(&headers),
            framed(&body, 3000),
        ))
        .await;
        assert!(result.is_ok());
        let seen = log.only();
        same(&seen.body, &body, &format!("{mode:?}"));
        for (name, value) in &headers {
            assert_eq!(seen.headers[name.as_str()], value.as_str(), "{name}");
        }
        // And the authorization.
        assert_eq!(seen.headers.len(), headers.len() + 1);
    }
}

/// `req` classified as `op`.
fn as_op<B>(mut req: Request<B>, op: S3Op) -> Request<B> {
    req.extensions_mut().insert(S3Request {
        op,
        bucket: Some("b".to_owned()),
        key: Some("k".to_owned()),
        upload_id: None,
    });
    req
}

#[tokio::test]
async fn passes_a_trailer_checksum_on_to_stores_that_read_trailers() {
    // 2 chunks of 64 KiB and 4,465 bytes: as the SDKs frame it, the store gets the
    // client's body byte for byte; signed chunks and trailer are framed the same way.
    let data = payload(135_537);
    for algorithm in Algorithm::ALL {
        let name = algorithm.header();
        let value = checksum(algorithm, &data);
        let store_body = encode(
            &data,
            65_536,
            PayloadMode::StreamingUnsignedTrailer,
            &[(name.as_str(), &value)],
        );
        let (sdk_headers, sdk_body) = sdk_upload(&data, algorithm, 65_536);
        assert_eq!(sdk_body, store_body);
        let signed_body = encode(
            &data,
            4096,
            PayloadMode::StreamingSignedTrailer,
            &[(name.as_str(), &value)],
        );
        let signed_headers = streaming_headers(
            STREAMING_SIGNED_TRAILER,
            data.len(),
            signed_body.len(),
            &[
                ("x-amz-trailer", name.as_str()),
                ("content-encoding", "gzip"),
                ("transfer-encoding", "chunked"),
            ],
        );
        let sent = [
            (
                PayloadMode::StreamingUnsignedTrailer,
                &sdk_headers,
                &sdk_body,
                S3Op::PutObject,
            ),
            (
                PayloadMode::StreamingSignedTrailer,
                &signed_headers,
                &signed_body,
                S3Op::UploadPart,
            ),
        ];
        let stores = [Store::Garage, Store::Seaweedfs];
        for ((mode, headers, body, op), store) in
            sent.into_iter().flat_map(|s| stores.map(|t| (s, t)))
        {
            let req = as_op(
                request(Method::PUT, Some(mode), &pairs(headers), framed(body, 5000)),
                op,
            );
            let (result, log) = send_to(req, store).await;
            assert!(result.is_ok(), "{algorithm:?} {mode:?}");
            let seen = log.only();
            assert_eq!(seen.body_error, None);
            same(&seen.body, &store_body, &format!("{algorithm:?} {mode:?}"));
            let h = &seen.headers;
            assert_eq!(h["content-length"], store_body.len().to_string());
            assert_eq!(h["x-amz-decoded-content-length"], data.len().to_string());
            assert_eq!(h["x-amz-trailer"], name.as_str());
            assert!(!h.contains_key("transfer-encoding"));
            // x-amz-content-sha256 says how it is framed, and Garage wants it named too;
            // other codings stay.
            let coding: &[&str] = match (mode, store) {
                (PayloadMode::StreamingSignedTrailer, Store::Garage) => &["aws-chunked, gzip"],
                (PayloadMode::StreamingSignedTrailer, _) => &["gzip"],
                (_, Store::Garage) => &["aws-chunked"],
                _ => &[],
            };
            assert_eq!(
                h.get_all("content-encoding").iter().collect::<Vec<_>>(),
                coding
            );
            if mode == PayloadMode::StreamingUnsignedTrailer {
                assert_eq!(h["x-amz-sdk-checksum-algorithm"], algorithm.name());
            }
            assert_eq!(
                seen.extensions.get::<StorePayload>(),
                Some(&StorePayload(STREAMING_UNSIGNED_TRAILER)),
                "signed for the store as framed"
            );
        }
    }
}

#[tokio::test]
async fn decodes_a_trailer_checksum_the_store_would_not_keep_or_read() {
    let data = payload(70_000);
    let (headers, body) = sdk_upload(&data, Algorithm::Crc32, 65_536);
    let mut unannounced = headers.clone();
    unannounced.retain(|(n, _)| n != "x-amz-decoded-content-length");
    let cases = [
        (&headers, S3Op::PutObject, Store::Rgw),
        (&headers, S3Op::PutObject, Store::Generic),
        (&headers, S3Op::UploadPart, Store::Minio),
        (&headers, S3Op::DeleteObjects, Store::Garage),
        (&unannounced, S3Op::UploadPart, Store::Garage),
    ];
    for (headers, op, store) in cases {
        let mode = PayloadMode::StreamingUnsignedTrailer;
        let req = as_op(
            request(Method::PUT, Some(mode), &pairs(headers), framed(&body, 777)),
            op,
        );
        let (result, log) = send_to(req, store).await;
        assert!(result.is_ok(), "{op:?} {store:?}");
        let seen = log.only();
        same(&seen.body, &data, &format!("{op:?} {store:?}"));
        assert!(!seen.headers.contains_key("x-amz-trailer"));
        assert!(!seen.headers.contains_key("content-encoding"));
        assert_eq!(seen.extensions.get::<StorePayload>(), None);
    }
}

#[tokio::test]
async fn a_framed_body_whose_checksum_fails_never_reaches_its_end() {
    let data = payload(100_000);
    let (headers, mut body) = sdk_upload(&data, Algorithm::Crc32c, 65_536);
    body[70_000] ^= 1;
    let mode = PayloadMode::StreamingUnsignedTrailer;
    let req = as_op(
        request(
            Method::PUT,
            Some(mode),
            &pairs(&headers),
            framed(&body, 4096),
        ),
        S3Op::PutObject,
    );
    let (result, log) = send_to(req, Store::Garage).await;
    assert_eq!(rejected(result).code, S3ErrorCode::BadDigest);
    let seen = log.only();
    assert!(seen.body_error.is_some());
    // The final chunk and its trailer (39 bytes) never go, nor the held-back payload.
    assert!(seen.body.len() + 39 < body.len(), "the end was sent");
}

#[tokio::test]
async fn maps_a_refusal_the_store_client_calls_a_bad_gateway() {
    let store = Arc::new(LiveStore::new(StoreSetting::Named(Store::Generic)));
    let svc = ServiceBuilder::new()
        .layer(PayloadLayer::new(Duration::from_secs(5), store))
        .service_fn(|req: Request<PayloadBody<TestBody>>| async move {
            let (_, error) = crate::layers::test_support::read_body(req.into_body()).await;
            let error = error.expect("the check fails the body");
            Err::<Response<Full<Bytes>>, _>(ProxyError::BadGateway(error))
        });
    let data = payload(10);
    let mode = PayloadMode::Signed(sha256(b"other"));
    let req = request(
        Method::PUT,
        Some(mode),
        &[("content-length", "10")],
        sized(&[&data]),
    );
    assert_eq!(
        rejected(svc.oneshot(req).await).code,
        S3ErrorCode::XAmzContentSHA256Mismatch
    );
}

/// The headers of `body`, `data` in signed chunks, with `value` as its
/// `x-amz-checksum-crc32`.
fn signed_with_crc32(data: &[u8], body: &[u8], value: &str) -> Vec<(String, String)> {
    streaming_headers(
        STREAMING_SIGNED,
        data.len(),
        body.len(),
        &[("x-amz-checksum-crc32", value)],
    )
}

/// A passthrough PUT of `body` (sent in frames of 3,000 bytes) with these headers, to
/// the proxy acting for `store`.
async fn passthrough(
    store: Store,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (Result<Response<Full<Bytes>>, ProxyError>, Log) {
    let req = request(Method::PUT, None, headers, framed(body, 3000));
    send_to(as_op(req, S3Op::PutObject), store).await
}

#[tokio::test]
async fn passthrough_checks_the_checksums_a_store_would_not() {
    let data = payload(20_000);
    let len = data.len().to_string();
    let (good, bad) = (
        checksum(Algorithm::Crc32, &data),
        checksum(Algorithm::Crc32, b"x"),
    );
    // A plain body with its checksum in a header.
    let plain = |value| {
        vec![
            ("content-length", len.clone()),
            ("x-amz-checksum-crc32", value),
        ]
    };
    // Signed chunks with the checksum in a header.
    let signed = encode(&data, 8192, PayloadMode::StreamingSigned, &[]);
    let chunked = |value: &str| signed_with_crc32(&data, &signed, value);
    // The SDKs' default: the checksum in a trailer.
    let (trailer_headers, trailer_good) = sdk_upload(&data, Algorithm::Crc32, 8192);
    let trailer_bad = encode(
        &data,
        8192,
        PayloadMode::StreamingUnsignedTrailer,
        &[("x-amz-checksum-crc32", &bad)],
    );
    type Case<'a> = (&'a str, Vec<(String, String)>, &'a [u8], bool);
    let to_pairs = |v: Vec<(&str, String)>| {
        v.into_iter()
            .map(|(n, v)| (n.to_owned(), v))
            .collect::<Vec<_>>()
    };
    let cases: [Case<'_>; 6] = [
        ("plain", to_pairs(plain(good.clone())), &data, true),
        ("plain", to_pairs(plain(bad.clone())), &data, false),
        ("signed chunks", chunked(&good), &signed, true),
        ("signed chunks", chunked(&bad), &signed, false),
        ("trailer", trailer_headers.clone(), &trailer_good, true),
        ("trailer", trailer_headers, &trailer_bad, false),
    ];
    for (what, headers, body, matches) in &cases {
        for store in [Store::Rgw, Store::Generic, Store::Seaweedfs, Store::Garage] {
            let (result, log) = passthrough(store, &pairs(headers), body).await;
            let seen = log.only();
            // SeaweedFS and Garage refuse a wrong checksum themselves (probed).
            if *matches || matches!(store, Store::Seaweedfs | Store::Garage) {
                // Forwarded as sent: the store checks, or the checksum matched.
                assert!(result.is_ok(), "{what} {store:?}");
                same(&seen.body, body, what);
                continue;
            }
            let err = rejected(result);
            assert_eq!(err.code, S3ErrorCode::BadDigest, "{what} {store:?}");
            assert_eq!(
                err.message,
                "The CRC32 you specified did not match the calculated checksum."
            );
            // The store never got the end of the body, so it commits nothing.
            cut_short(&seen, body);
        }
    }
}

#[tokio::test]
async fn passthrough_leaves_a_completions_checksum_and_refuses_a_malformed_one() {
    // CompleteMultipartUpload's checksum is the object's, not its body's.
    let list = b"<CompleteMultipartUpload/>";
    let len = list.len().to_string();
    let headers = [
        ("content-length", len.as_str()),
        ("x-amz-checksum-crc32", "AAAAAA=="),
    ];
    let req = request(Method::POST, None, &headers, framed(list, 3000));
    let (result, log) = send_to(as_op(req, S3Op::CompleteMultipartUpload), Store::Rgw).await;
    assert!(result.is_ok());
    same(&log.only().body, list, "list");
    // A value that is no CRC32 is refused as S3 refuses it, before the store is asked.
    let headers = [
        ("content-length", len.as_str()),
        ("x-amz-checksum-crc32", "AAAA"),
    ];
    let (result, log) = passthrough(Store::Rgw, &headers, list).await;
    let err = rejected(result);
    assert_eq!(err.code, S3ErrorCode::InvalidRequest);
    assert_eq!(
        err.message,
        "Value for x-amz-checksum-crc32 header is invalid."
    );
    assert_eq!(log.calls(), 0);
}

#[tokio::test]
async fn passthrough_holds_back_the_last_payload_until_the_checksum_matched() {
    // A store may commit once it has the announced payload, before the final chunk
    // (Ceph RGW 16.2 does): the frame with the last payload byte waits for the check.
    let data = payload(20_000);
    let body = encode(&data, 8192, PayloadMode::StreamingSigned, &[]);
    let end = body
        .windows(20)
        .rposition(|w| w == b"\r\n0;chunk-signature=")
        .unwrap();
    let with = |value: &str| signed_with_crc32(&data, &body, value);
    let (good, bad) = (
        checksum(Algorithm::Crc32, &data),
        checksum(Algorithm::Crc32, b"x"),
    );
    // Split right after the payload, within the final chunk's line, before its last
    // byte; and in frames of every size.
    let splits: Vec<Vec<&[u8]>> = [end, end + 2, end + 10, body.len() - 1]
        .iter()
        .map(|&at| vec![&body[..at], &body[at..]])
        .chain([1, 7, 3000, body.len()].map(|n| body.chunks(n).collect()))
        .collect();
    for frames in &splits {
        let what = format!("{} frames", frames.len());
        let send = |value: &str| {
            let req = request(Method::PUT, None, &pairs(&with(value)), pieces(frames));
            send_to(as_op(req, S3Op::PutObject), Store::Rgw)
        };
        let (result, log) = send(&good).await;
        assert!(result.is_ok(), "{what}");
        same(&log.only().body, &body, &what);
        let (result, log) = send(&bad).await;
        assert_eq!(rejected(result).code, S3ErrorCode::BadDigest, "{what}");
        let seen = log.only();
        assert!(seen.body_error.is_some(), "{what}");
        assert!(seen.body.len() < end, "{what}: the last payload byte went");
    }
}

#[tokio::test]
async fn passthrough_checks_the_checksum_of_an_empty_streaming_body() {
    let empty = checksum(Algorithm::Crc32, b"");
    let wrong = checksum(Algorithm::Crc32, b"x");
    for (value, refused) in [(empty.as_str(), false), (wrong.as_str(), true)] {
        let headers = [
            ("content-length", "0"),
            ("x-amz-content-sha256", STREAMING_SIGNED),
            ("x-amz-checksum-crc32", value),
        ];
        let req = request(Method::PUT, None, &headers, Full::<Bytes>::default());
        let (result, log) = send_to(as_op(req, S3Op::PutObject), Store::Rgw).await;
        if refused {
            assert_eq!(rejected(result).code, S3ErrorCode::BadDigest);
            assert_eq!(log.calls(), 0);
        } else {
            assert!(result.is_ok());
            assert_eq!(log.only().body, b"".as_slice());
        }
    }
}

#[test]
fn reads_a_content_md5_as_s3_does() {
    let headers = |values: &[&'static str]| {
        let mut h = http::HeaderMap::new();
        for v in values {
            h.append("content-md5", http::HeaderValue::from_static(v));
        }
        h
    };
    assert!(ContentMd5::from_headers(&headers(&[])).unwrap().is_none());
    // The MD5 of "x".
    let x = "ndTkYSaMgDT1yFZOFVxnpg==";
    assert!(ContentMd5::from_headers(&headers(&[x])).unwrap().is_some());
    for bad in [
        &["AAAA"][..],
        &["ndTkYSaMgDT1yFZOFVxnpg"],
        &["not base64!"],
        &[x, x],
    ] {
        let e = ContentMd5::from_headers(&headers(bad)).err().unwrap();
        assert_eq!(e.code, S3ErrorCode::InvalidDigest, "{bad:?}");
    }
    let check = |body: &[u8]| {
        let md5 = ContentMd5::from_headers(&headers(&[x])).unwrap();
        let mut check = Check::Plain {
            hash: None,
            checksum: None,
            md5,
        };
        check.feed(body, |_| {}).and_then(|()| check.finish())
    };
    check(b"x").unwrap();
    assert_eq!(check(b"y").unwrap_err().code, S3ErrorCode::BadDigest);
}
