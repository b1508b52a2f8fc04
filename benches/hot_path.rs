//! Micro-benchmarks of the per-request pure logic: SSE-C validation, S3 operation
//! classification, the aws-chunked framing check of streaming uploads, and SigV4
//! verification, re-signing and chunk signatures; resign mode's decoding and checking of a
//! signed streaming body.
//! `cargo bench --bench hot_path` prints ns per request (and per MiB of body).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Method};
use ssec_proxy::s3::checksum::{Algorithm, Announced};
use ssec_proxy::s3::chunked::{self, Decoder, Framing, Signing, encode};
use ssec_proxy::s3::headers::{SSE_C_ALGORITHM, SSE_C_KEY, SSE_C_KEY_MD5};
use ssec_proxy::s3::op::{S3Op, Target, classify};
use ssec_proxy::s3::sigv4::{self, Credentials, Parts, Request, SecretKey, Verifier};
use ssec_proxy::s3::ssec::check_request;
use ssec_proxy::s3::strict::{Addressing, HostReading, check_headers};

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
        b.iter(|| classify(black_box(&get), &suffixes, HostReading::AsBucket))
    });
    c.bench_function("classify, virtual-hosted UploadPart", |b| {
        b.iter(|| classify(black_box(&part), &suffixes, HostReading::AsBucket))
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

fn sigv4(c: &mut Criterion) {
    // A PutObject as aws-sdk-s3 signs it: SSE-C, a CRC32 checksum, the SDK's own headers.
    let mut headers = sse_c_headers();
    headers.remove("x-amz-date");
    for (name, value) in [
        ("host", "bucket.s3.example.com"),
        ("content-length", "1024"),
        ("content-type", "application/octet-stream"),
        ("x-amz-checksum-crc32", "AAAAAA=="),
        ("x-amz-sdk-checksum-algorithm", "CRC32"),
        (
            "x-amz-user-agent",
            "aws-sdk-rust/1.0 api/s3/1.0 os/linux lang/rust/1.95",
        ),
        (
            "amz-sdk-invocation-id",
            "5b0d1a5e-4c41-4e52-9b5c-3a6a4b1f0e1d",
        ),
        ("amz-sdk-request", "attempt=1; max=3"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    let parts = Parts {
        method: "PUT",
        path: "/dir/object%20name.bin",
        query: Some("x-id=PutObject"),
        headers: &headers,
    };
    let credentials = Credentials {
        access_key_id: "AKIDEXAMPLE".to_owned(),
        secret_key: SecretKey::new("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
    };
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_737_600);
    let unsigned = sigv4::UNSIGNED_PAYLOAD;
    c.bench_function("sigv4 signing, SDK-shaped PutObject", |b| {
        b.iter(|| {
            sigv4::sign(
                black_box(&parts),
                unsigned,
                &credentials,
                "us-east-1",
                "s3",
                now,
            )
        })
    });
    let signed = sigv4::sign(&parts, unsigned, &credentials, "us-east-1", "s3", now).unwrap();
    let mut received = headers.clone();
    received.insert("authorization", signed.authorization);
    received.insert("x-amz-date", signed.x_amz_date);
    received.insert("x-amz-content-sha256", signed.x_amz_content_sha256);
    let request = Request {
        method: &Method::PUT,
        path: parts.path,
        query: parts.query,
        headers: &received,
    };
    let store = std::collections::HashMap::from([(
        credentials.access_key_id.clone(),
        credentials.secret_key.clone(),
    )]);
    let verifier = Verifier::new("us-east-1");
    assert!(verifier.verify(&request, &store, now).is_ok());
    c.bench_function(
        "sigv4 verification, SDK-shaped PutObject header auth",
        |b| b.iter(|| verifier.verify(black_box(&request), &store, now)),
    );
    // Chunk signatures of 1 MiB in 64 KiB chunks: hashing and one HMAC per chunk.
    let verified = verifier.verify(&request, &store, now).unwrap();
    let chunk = vec![b'x'; 64 << 10];
    let mut previous = verified.signature;
    let expected: Vec<sigv4::Signature> = (0..16)
        .map(|_| {
            previous = next_signature(&verified, &previous, &chunk);
            previous
        })
        .collect();
    c.bench_function("sigv4 chunk signatures, 1 MiB body", |b| {
        b.iter(|| {
            let mut chain = verified.chunk_chain();
            for sig in &expected {
                chain.update(black_box(&chunk));
                chain.finish_chunk(sig.as_str().as_bytes()).unwrap();
            }
        })
    });
    resign_body(c, verified, &chunk, &expected);
}

/// Resign mode's whole per-byte work on a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body of
/// 1 MiB in 64 KiB chunks with a CRC32 header, fed in 16 KiB frames: framing, decoding,
/// chunk signatures and the checksum.
fn resign_body(
    c: &mut Criterion,
    mut verified: sigv4::Verified,
    chunk: &[u8],
    signatures: &[sigv4::Signature],
) {
    verified.payload = sigv4::PayloadMode::StreamingSigned;
    let last = next_signature(&verified, &signatures[15], b"");
    let mut body = Vec::new();
    for sig in signatures {
        body.extend_from_slice(format!("10000;chunk-signature={sig}\r\n").as_bytes());
        body.extend_from_slice(chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("0;chunk-signature={last}\r\n\r\n").as_bytes());
    let mut crc = Algorithm::Crc32.hasher();
    for _ in signatures {
        crc.update(chunk);
    }
    let announced = Announced::Header(crc.finish());
    let framing = Framing {
        signing: Signing::Hmac,
        trailer: false,
        decoded_length: Some(1 << 20),
        declared: Vec::new(),
    };
    let mut group = c.benchmark_group("resign");
    group.throughput(Throughput::Bytes(1 << 20));
    group.bench_function("decode and verify a signed streaming body, per MiB", |b| {
        b.iter(|| {
            let mut v = chunked::Verifier::new(&verified, framing.clone(), &announced);
            let mut out = 0;
            for frame in body.chunks(16 << 10) {
                v.feed(black_box(frame), |p| out += p.len()).unwrap();
            }
            v.finish().unwrap();
            out
        })
    });
    signed_plain_body(&mut group, &body);
    group.finish();
}

/// A signed plain body (`x-amz-content-sha256: <hash>`) is checked by SHA-256 alone: its
/// cost per MiB beside raw SHA-256, from aws-lc (the proxy's) and from the `sha2` crate
/// (RustCrypto), on the same 16 KiB frames.
fn signed_plain_body(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    body: &[u8],
) {
    use sha2::Digest as _;
    let body = &body[..1 << 20];
    let digest: [u8; 32] = sha2::Sha256::digest(body).into();
    group.bench_function("SHA-256 (sha2 crate), per MiB", |b| {
        b.iter(|| {
            let mut h = sha2::Sha256::new();
            for frame in body.chunks(16 << 10) {
                h.update(black_box(frame));
            }
            h.finalize()
        })
    });
    group.bench_function("SHA-256 (aws-lc), per MiB", |b| {
        b.iter(|| {
            let mut h = sigv4::Sha256::new();
            for frame in body.chunks(16 << 10) {
                h.update(black_box(frame));
            }
            h.finish()
        })
    });
    group.bench_function("verify a signed plain body, per MiB", |b| {
        b.iter(|| {
            let mut h = sigv4::PayloadHasher::new(digest);
            for frame in body.chunks(16 << 10) {
                h.update(black_box(frame));
            }
            h.finish().unwrap()
        })
    });
}

/// The signature of `chunk` after `previous`, from the chunk string to sign.
fn next_signature(
    verified: &sigv4::Verified,
    previous: &sigv4::Signature,
    chunk: &[u8],
) -> sigv4::Signature {
    let hash = |data: &[u8]| {
        let mut h = sigv4::Sha256::new();
        h.update(data);
        h.finish()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let text = format!(
        "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{previous}\n{}\n{}",
        verified.date.as_str(),
        verified.scope,
        sigv4::EMPTY_SHA256,
        hash(chunk)
    );
    verified.signing_key.sign(text.as_bytes())
}

criterion_group!(
    benches,
    validation,
    classification,
    strict_headers,
    aws_chunked,
    sigv4
);
criterion_main!(benches);
