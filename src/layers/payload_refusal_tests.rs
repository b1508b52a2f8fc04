//! The payload layer refusing streaming bodies: a flipped byte, a wrong chunk or trailer
//! signature, a wrong checksum or broken framing fails the body before the store sees its
//! end, and the client gets S3's code for it.

use http::{Method, StatusCode};

use super::tests::{
    cut_short, framed, pairs, payload, request, sdk_upload, send, streaming_headers,
};
use crate::layers::test_support::streaming::{checksum, encode};
use crate::layers::test_support::{Seen, rejected};
use crate::s3::checksum::Algorithm;
use crate::s3::error::{S3Error, S3ErrorCode};
use crate::s3::sigv4::{PayloadMode, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER};

/// Sends a streaming upload whose body was altered; the refusal and what the store saw.
async fn altered(
    mode: PayloadMode,
    headers: &[(String, String)],
    body: &[u8],
    frame: usize,
) -> (S3Error, Seen) {
    let (result, log) = send(request(
        Method::PUT,
        Some(mode),
        &pairs(headers),
        framed(body, frame),
    ))
    .await;
    (rejected(result), log.only())
}

/// `body` with the first occurrence of `from` replaced by `to` (same length).
fn replace(body: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = body
        .windows(from.len())
        .position(|w| w == from)
        .expect("the text to replace");
    let mut out = body.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

#[tokio::test]
async fn refuses_a_flipped_byte_or_a_wrong_chunk_signature_before_the_store_sees_the_end() {
    let data = payload(20_000);
    let mode = PayloadMode::StreamingSigned;
    let body = encode(&data, 8192, mode, &[]);
    let headers = streaming_headers(STREAMING_SIGNED, data.len(), body.len(), &[]);
    let line_end = body.iter().position(|&b| b == b'\n').unwrap() + 1;
    let last_sig_at = body.len() - 4 - 64;
    let flipped_early = {
        let mut b = body.clone();
        b[line_end + 10] ^= 1;
        b
    };
    let flipped_late = {
        let mut b = body.clone();
        b[body.len() - 100] ^= 0x20;
        b
    };
    let wrong_first = {
        let mut b = body.clone();
        b[line_end - 3] = if b[line_end - 3] == b'0' { b'1' } else { b'0' };
        b
    };
    let wrong_final = {
        let mut b = body.clone();
        b[last_sig_at] = if b[last_sig_at] == b'a' { b'b' } else { b'a' };
        b
    };
    for (what, altered_body) in [
        ("early byte", flipped_early),
        ("late byte", flipped_late),
        ("first signature", wrong_first),
        ("final signature", wrong_final),
    ] {
        for frame in [1, 1000, usize::MAX] {
            let (err, seen) = altered(mode, &headers, &altered_body, frame).await;
            assert_eq!(
                err.code,
                S3ErrorCode::SignatureDoesNotMatch,
                "{what}, {frame}"
            );
            assert_eq!(err.status(), StatusCode::FORBIDDEN);
            cut_short(&seen, &data);
        }
    }
}

#[tokio::test]
async fn refuses_a_wrong_trailer_signature_or_checksum_before_the_store_sees_the_end() {
    let data = payload(9000);
    let good = checksum(Algorithm::Crc32, &data);
    let other = checksum(Algorithm::Crc32, b"something else");
    let trailer = [("x-amz-trailer", "x-amz-checksum-crc32")];
    // A wrong checksum, signed as such: the signatures pass, the checksum does not.
    let mode = PayloadMode::StreamingSignedTrailer;
    let body = encode(&data, 4096, mode, &[("x-amz-checksum-crc32", &other)]);
    let headers = streaming_headers(STREAMING_SIGNED_TRAILER, data.len(), body.len(), &trailer);
    for frame in [1, 4096, usize::MAX] {
        let (err, seen) = altered(mode, &headers, &body, frame).await;
        assert_eq!(err.code, S3ErrorCode::BadDigest, "{frame}");
        assert_eq!(
            err.message,
            "The CRC32 you specified did not match the calculated checksum."
        );
        cut_short(&seen, &data);
    }
    // The right checksum under a signature of another one.
    let signed_other = encode(&data, 4096, mode, &[("x-amz-checksum-crc32", &other)]);
    let swapped = replace(
        &signed_other,
        format!("x-amz-checksum-crc32:{other}").as_bytes(),
        format!("x-amz-checksum-crc32:{good}").as_bytes(),
    );
    let (err, seen) = altered(mode, &headers, &swapped, 777).await;
    assert_eq!(err.code, S3ErrorCode::SignatureDoesNotMatch);
    cut_short(&seen, &data);
    // Unsigned: a flipped payload byte is caught by the checksum.
    let (headers, body) = sdk_upload(&data, Algorithm::Crc32, 8192);
    let mut flipped = body.clone();
    flipped[20] ^= 1;
    let (err, seen) = altered(
        PayloadMode::StreamingUnsignedTrailer,
        &headers,
        &flipped,
        64,
    )
    .await;
    assert_eq!(err.code, S3ErrorCode::BadDigest);
    assert!(seen.body_error.is_some());
    assert!(seen.body.len() < data.len());
}

#[tokio::test]
async fn refuses_a_wrong_checksum_header_on_a_streaming_body() {
    let data = payload(3000);
    let mode = PayloadMode::StreamingSigned;
    let body = encode(&data, 1024, mode, &[]);
    let bad = checksum(Algorithm::Crc32c, b"not the payload");
    let headers = streaming_headers(
        STREAMING_SIGNED,
        data.len(),
        body.len(),
        &[("x-amz-checksum-crc32c", &bad)],
    );
    let (err, seen) = altered(mode, &headers, &body, 500).await;
    assert_eq!(err.code, S3ErrorCode::BadDigest);
    cut_short(&seen, &data);
}

#[tokio::test]
async fn checks_a_body_that_decodes_to_nothing_before_the_store_is_asked() {
    let mode = PayloadMode::StreamingSignedTrailer;
    let value = checksum(Algorithm::Crc32, b"");
    let body = encode(b"", 1, mode, &[("x-amz-checksum-crc32", &value)]);
    let headers = streaming_headers(
        STREAMING_SIGNED_TRAILER,
        0,
        body.len(),
        &[("x-amz-trailer", "x-amz-checksum-crc32")],
    );
    let (result, log) = send(request(
        Method::PUT,
        Some(mode),
        &pairs(&headers),
        framed(&body, 10),
    ))
    .await;
    assert!(result.is_ok());
    let seen = log.only();
    assert_eq!(seen.body, "");
    assert_eq!(seen.headers["content-length"], "0");
    // The last digit of the trailer signature.
    let mut wrong = body.clone();
    let at = wrong.len() - 5;
    wrong[at] = if wrong[at] == b'0' { b'1' } else { b'0' };
    let (result, log) = send(request(
        Method::PUT,
        Some(mode),
        &pairs(&headers),
        framed(&wrong, 10),
    ))
    .await;
    assert_eq!(rejected(result).code, S3ErrorCode::SignatureDoesNotMatch);
    assert_eq!(log.calls(), 0, "the store is never asked");
}

#[tokio::test]
async fn refuses_bodies_that_break_their_framing_as_the_framing_check_does() {
    let data = payload(100);
    let (headers, body) = sdk_upload(&data, Algorithm::Crc32, 64);
    let mode = PayloadMode::StreamingUnsignedTrailer;
    let truncated = &body[..body.len() - 10];
    let (err, seen) = altered(mode, &headers, truncated, 30).await;
    assert_eq!(err.code, S3ErrorCode::IncompleteBody);
    cut_short(&seen, &data);
    let broken = replace(&body, b"\r\n0\r\n", b"\r\nX\r\n");
    let (err, seen) = altered(mode, &headers, &broken, 30).await;
    assert_eq!(err.code, S3ErrorCode::InvalidRequest);
    cut_short(&seen, &data);
    let mut longer = headers.clone();
    longer[1].1 = "101".to_owned();
    let (err, _) = altered(mode, &longer, &body, 30).await;
    assert_eq!(err.code, S3ErrorCode::IncompleteBody);
}
