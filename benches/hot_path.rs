//! Micro-benchmarks of the per-request pure logic: SSE-C validation, S3 operation
//! classification, and the aws-chunked framing check of streaming uploads.
//! `cargo bench --bench hot_path` prints ns per request (and per MiB of body).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Method};
use ssec_proxy::s3::chunked::{Decoder, Framing, Signing, encode};
use ssec_proxy::s3::headers::{SSE_C_ALGORITHM, SSE_C_KEY, SSE_C_KEY_MD5};
use ssec_proxy::s3::op::{S3Op, Target, classify};
use ssec_proxy::s3::ssec::check_request;
use ssec_proxy::s3::strict::{Addressing, check_headers};

fn sse_c_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(SSE_C_ALGORITHM, HeaderValue::from_static("AES256"));
    h.insert(
        SSE_C_KEY,
        HeaderValue::from_static("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="),
    );
    h.insert(
        SSE_C_KEY_MD5,
        HeaderValue::from_static("tP/LI3N87DFaSk0aoqYgzg=="),
    );
    h.insert("x-amz-date", HeaderValue::from_static("20261127T000000Z"));
    h.insert(
        "x-amz-content-sha256",
        HeaderValue::from_static("UNSIGNED-PAYLOAD"),
    );
    h
}

fn validation(c: &mut Criterion) {
    let headers = sse_c_headers();
    assert!(
        check_request(S3Op::PutObject, &headers, true)
            .unwrap()
            .destination
            .is_some()
    );
    c.bench_function("sse-c validation, PutObject with a valid key", |b| {
        b.iter(|| check_request(black_box(S3Op::PutObject), black_box(&headers), true))
    });
    c.bench_function("sse-c validation, GetObject with a valid key", |b| {
        b.iter(|| check_request(black_box(S3Op::GetObject), black_box(&headers), true))
    });
    let plain = HeaderMap::new();
    c.bench_function("sse-c validation, request without SSE-C", |b| {
        b.iter(|| check_request(black_box(S3Op::GetObject), black_box(&plain), true))
    });
}

fn classification(c: &mut Criterion) {
    let suffixes = Addressing {
        virtual_host_suffixes: vec!["s3.example.com".to_owned()],
        path_style_hosts: Vec::new(),
    };
    let get = Target {
        method: &Method::GET,
        path: "/bucket/dir/object.bin",
        query: Some("x-id=GetObject"),
        host: "127.0.0.1:8443",
        has_copy_source: false,
        is_form: false,
    };
    let part = Target {
        method: &Method::PUT,
        path: "/object.bin",
        query: Some("partNumber=7&uploadId=2~abcdefghijklmnopqrstuvwxyz012345"),
        host: "bucket.s3.example.com",
        has_copy_source: false,
        is_form: false,
    };
    c.bench_function("classify, path-style GetObject", |b| {
        b.iter(|| classify(black_box(&get), &suffixes))
    });
    c.bench_function("classify, virtual-hosted UploadPart", |b| {
        b.iter(|| classify(black_box(&part), &suffixes))
    });
}

fn aws_chunked(c: &mut Criterion) {
    // 1 MiB in the SDKs' 64 KiB chunks with a checksum trailer, fed in 16 KiB frames as
    // a TLS connection delivers them.
    let payload = vec![b'x'; 1 << 20];
    let crc = ("x-amz-checksum-crc32", "AAAAAA==");
    let body = encode(&payload, &[64 << 10; 16], Signing::Unsigned, &[crc]);
    let framing = Framing {
        signing: Signing::Unsigned,
        trailer: true,
        decoded_length: Some(payload.len() as u64),
        declared: vec![crc.0.to_owned()],
    };
    c.bench_function("aws-chunked framing check, 1 MiB body", |b| {
        b.iter(|| {
            let mut d = Decoder::new(framing.clone());
            for frame in body.chunks(16 << 10) {
                d.feed(black_box(frame), |_| {}).unwrap();
            }
            d.finish().unwrap()
        })
    });
}

fn strict_headers(c: &mut Criterion) {
    let mut headers = sse_c_headers();
    for (name, value) in [
        ("host", "127.0.0.1:8443"),
        (
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AK/20261127/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=00",
        ),
        ("user-agent", "aws-sdk-rust/1.0"),
        ("accept-encoding", "identity"),
        ("content-length", "1024"),
        ("content-type", "application/octet-stream"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    assert!(check_headers(&headers).is_ok());
    c.bench_function(
        "strict header check, SDK-shaped PutObject with SSE-C",
        |b| b.iter(|| check_headers(black_box(&headers))),
    );
}

criterion_group!(
    benches,
    validation,
    classification,
    strict_headers,
    aws_chunked
);
criterion_main!(benches);
