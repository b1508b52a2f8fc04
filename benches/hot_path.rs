//! Micro-benchmarks of the per-request pure logic: SSE-C validation and S3 operation
//! classification. `cargo bench --bench hot_path` prints ns per request.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Method};
use ssec_proxy::s3::headers::{SSE_C_ALGORITHM, SSE_C_KEY, SSE_C_KEY_MD5};
use ssec_proxy::s3::op::{S3Op, Target, classify};
use ssec_proxy::s3::ssec::check_request;

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
    let suffixes = vec!["s3.example.com".to_owned()];
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

criterion_group!(benches, validation, classification);
criterion_main!(benches);
