//! Streaming signatures: AWS's published examples ("Example: PUT Object" of
//! sigv4-streaming.html and the trailer example of sigv4-streaming-trailers.html), and
//! aws-sigv4's `sign_chunk` / `sign_trailer` as an oracle on random chunks.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use proptest::prelude::*;

use super::*;
use crate::s3::error::S3ErrorCode;

const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// 2013-05-24T00:00:00Z, the time of AWS's examples.
const EXAMPLE_TIME: u64 = 1_369_353_600;

fn store() -> HashMap<String, SecretKey> {
    HashMap::from([(ACCESS_KEY.to_owned(), SecretKey::new(SECRET))])
}

/// The headers of AWS's streaming examples, signed with `seed`.
fn example_headers(mode: &str, signed: &str, seed: &str, extra: &[(&str, &str)]) -> HeaderMap {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20130524/us-east-1/s3/aws4_request,\
         SignedHeaders={signed},Signature={seed}"
    );
    let mut headers = HeaderMap::new();
    let pairs = [
        ("host", "s3.amazonaws.com"),
        ("x-amz-date", "20130524T000000Z"),
        ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ("authorization", authorization.as_str()),
        ("x-amz-content-sha256", mode),
        ("content-encoding", "aws-chunked"),
        ("x-amz-decoded-content-length", "66560"),
    ];
    for (name, value) in pairs.iter().chain(extra) {
        let name = http::HeaderName::from_bytes(name.as_bytes()).unwrap();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
    }
    headers
}

fn verify_example(headers: &HeaderMap) -> Verified {
    let request = Request {
        method: &Method::PUT,
        path: "/examplebucket/chunkObject.txt",
        query: None,
        headers,
    };
    let now = UNIX_EPOCH + Duration::from_secs(EXAMPLE_TIME);
    Verifier::new("us-east-1")
        .verify(&request, &store(), now)
        .unwrap()
}

/// Feeds `len` bytes of `a` in uneven pieces, as a body arrives.
fn feed_a(chain: &mut ChunkChain, len: usize) {
    let data = vec![b'a'; len];
    for piece in data.chunks(1000) {
        chain.update(piece);
    }
}

#[test]
fn aws_put_object_example_verifies_its_seed_and_every_chunk() {
    let signed = "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;\
                  x-amz-decoded-content-length;x-amz-storage-class";
    let seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    let headers = example_headers(
        STREAMING_SIGNED,
        signed,
        seed,
        &[("content-length", "66824")],
    );
    let verified = verify_example(&headers);
    assert_eq!(verified.payload, PayloadMode::StreamingSigned);
    assert_eq!(verified.signature.as_str(), seed);
    assert_eq!(verified.scope, "20130524/us-east-1/s3/aws4_request");
    let mut chain = verified.chunk_chain();
    let chunks = [
        (
            65_536,
            "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        ),
        (
            1_024,
            "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        ),
        (
            0,
            "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
        ),
    ];
    for (len, signature) in chunks {
        feed_a(&mut chain, len);
        chain.finish_chunk(signature.as_bytes()).unwrap();
        assert_eq!(chain.previous().as_str(), signature);
    }
}

#[test]
fn aws_trailer_example_verifies_its_chunks_and_trailer() {
    let signed = "content-encoding;host;x-amz-content-sha256;x-amz-date;\
                  x-amz-decoded-content-length;x-amz-storage-class;x-amz-trailer";
    let seed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e";
    let trailer = [("x-amz-trailer", "x-amz-checksum-crc32c")];
    let headers = example_headers(STREAMING_SIGNED_TRAILER, signed, seed, &trailer);
    let verified = verify_example(&headers);
    assert_eq!(verified.payload, PayloadMode::StreamingSignedTrailer);
    let mut chain = verified.chunk_chain();
    let chunks = [
        (
            65_536,
            "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        ),
        (
            1_024,
            "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        ),
        (
            0,
            "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
        ),
    ];
    for (len, signature) in chunks {
        feed_a(&mut chain, len);
        chain.finish_chunk(signature.as_bytes()).unwrap();
    }
    let trailer_signature = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435";
    let mut wrong = verified.chunk_chain();
    chain
        .finish_trailer(
            [("x-amz-checksum-crc32c", "sOO8/Q==")],
            trailer_signature.as_bytes(),
        )
        .unwrap();
    // The same trailer out of its place in the chain does not verify.
    let err = wrong
        .finish_trailer(
            [("x-amz-checksum-crc32c", "sOO8/Q==")],
            trailer_signature.as_bytes(),
        )
        .unwrap_err();
    assert_eq!(err.code, S3ErrorCode::SignatureDoesNotMatch);
}

#[test]
fn a_changed_byte_a_skipped_chunk_or_an_upper_case_signature_breaks_the_chain() {
    let signed = "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;\
                  x-amz-decoded-content-length;x-amz-storage-class";
    let seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";
    let headers = example_headers(
        STREAMING_SIGNED,
        signed,
        seed,
        &[("content-length", "66824")],
    );
    let verified = verify_example(&headers);
    let first = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
    let second = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";

    let mut chain = verified.chunk_chain();
    let mut data = vec![b'a'; 65_536];
    data[40_000] = b'b';
    chain.update(&data);
    let err = chain.finish_chunk(first.as_bytes()).unwrap_err();
    assert_eq!(err.code, S3ErrorCode::SignatureDoesNotMatch);

    let mut chain = verified.chunk_chain();
    feed_a(&mut chain, 1_024);
    assert!(chain.finish_chunk(second.as_bytes()).is_err());

    let mut chain = verified.chunk_chain();
    feed_a(&mut chain, 65_536);
    assert!(chain.finish_chunk(first.to_uppercase().as_bytes()).is_err());
    assert!(chain.finish_chunk(&first.as_bytes()[..63]).is_err());
}

#[test]
fn payload_hasher_accepts_the_signed_body_and_refuses_another() {
    let body = b"hello, world";
    let digest = crypto::sha256(body);
    let mode = PayloadMode::parse(&crypto::hex(&digest)).unwrap();
    let mut hasher = mode.hasher().unwrap();
    hasher.update(&body[..5]);
    hasher.update(&body[5..]);
    hasher.finish().unwrap();
    let mut hasher = PayloadHasher::new(digest);
    hasher.update(b"hello, world!");
    let err = hasher.finish().unwrap_err();
    assert_eq!(err.code, S3ErrorCode::XAmzContentSHA256Mismatch);
    assert_eq!(err.status(), http::StatusCode::BAD_REQUEST);
    assert!(PayloadMode::Unsigned.hasher().is_none());
}

fn oracle_params(identity: &Identity, time: SystemTime) -> v4::SigningParams<'_, ()> {
    v4::SigningParams::builder()
        .identity(identity)
        .region("eu-west-3")
        .name("s3")
        .time(time)
        .settings(())
        .build()
        .unwrap()
}

proptest! {
    #[test]
    fn chunk_and_trailer_chains_equal_aws_sigv4s(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 1..6),
        secs in 1_000_000_000u64..2_000_000_000,
        value in "[A-Za-z0-9+/=]{0,12}",
    ) {
        let time = UNIX_EPOCH + Duration::from_secs(secs);
        let identity: Identity =
            AwsCredentials::new("AKIDORACLE", "oracle/secret+key", None, None, "test").into();
        let params = oracle_params(&identity, time);
        let date = AmzDate::from_system_time(time);
        let key = SigningKey::derive(&SecretKey::new("oracle/secret+key"), date.date(), "eu-west-3", "s3");
        let scope = format!("{}/eu-west-3/s3/aws4_request", date.date());
        let seed = key.sign(b"any seed");
        let mut chain = ChunkChain::new(key, date, scope, seed);
        let mut previous = seed.as_str().to_owned();
        for chunk in chunks.iter().chain(std::iter::once(&Vec::new())) {
            let expected = v4::sign_chunk(&Bytes::from(chunk.clone()), &previous, &params)
                .unwrap()
                .signature()
                .to_owned();
            chain.update(chunk);
            chain.finish_chunk(expected.as_bytes()).unwrap();
            previous = expected;
        }
        let mut trailers = aws_smithy_runtime_api::http::Headers::new();
        trailers.insert("x-amz-checksum-crc32", value.clone());
        let expected = v4::sign_trailer(&trailers, &previous, &params).unwrap().signature().to_owned();
        chain.finish_trailer([("x-amz-checksum-crc32", value.as_str())], expected.as_bytes()).unwrap();
    }
}
