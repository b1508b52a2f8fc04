//! SSE-C header validation (`s3::ssec::check_request`, `s3::ssec::validate`) on header
//! sets built from fuzzer bytes.
//!
//! Input layout (seeds in fuzz/seeds/ssec_headers are written in it):
//! - byte 0: the operation (index into `OPS`, modulo its length);
//! - byte 1: flags. bit 0: the request came over TLS. bits 1-2: how the destination
//!   group's key/MD5 are completed, bits 3-4: the same for the copy-source group
//!   (0: as sent; 1: the key line holds the *raw* key, replaced by its base64 and a
//!   matching MD5 header; 2: the key is kept and a matching MD5 of its lenient
//!   decoding is set, so the later checks (algorithm, length, canonical base64) run);
//! - then header lines `name:value`, separated by `\n`. A name of one character
//!   `0`..`8` stands for a header of `SHORT` (the SSE-C and SSE headers); any other name is
//!   taken as it is. Lines whose name or value HTTP refuses are skipped. Repeated
//!   headers are appended (the proxy reads the first value).
//!
//! Invariant: no error's `<Error>` document carries the value of a key header that is
//! longer than 24 bytes, and `<ArgumentValue>` only ever echoes the algorithm or the
//! `x-amz-server-side-encryption` header.

#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use md5::{Digest as _, Md5};
use ssec_proxy::s3::error::S3Error;
use ssec_proxy::s3::headers::{
    COPY_SOURCE, COPY_SOURCE_SSE_C_ALGORITHM, COPY_SOURCE_SSE_C_KEY, COPY_SOURCE_SSE_C_KEY_MD5,
    SSE, SSE_C_ALGORITHM, SSE_C_KEY, SSE_C_KEY_MD5, SSE_KMS_KEY_ID,
};
use ssec_proxy::s3::op::{BucketSub, S3Op};
use ssec_proxy::s3::ssec::{self, Group, RawTriple, Usage};

const OPS: &[S3Op] = &[
    S3Op::PutObject,
    S3Op::PostObject,
    S3Op::CreateMultipartUpload,
    S3Op::CopyObject,
    S3Op::UploadPart,
    S3Op::UploadPartCopy,
    S3Op::GetObject,
    S3Op::HeadObject,
    S3Op::GetObjectAttributes,
    S3Op::SelectObjectContent,
    S3Op::CompleteMultipartUpload,
    S3Op::ListParts,
    S3Op::ListBuckets,
    S3Op::CreateBucket,
    S3Op::DeleteBucket,
    S3Op::HeadBucket,
    S3Op::ListObjects,
    S3Op::ListObjectsV2,
    S3Op::ListObjectVersions,
    S3Op::ListMultipartUploads,
    S3Op::DeleteObjects,
    S3Op::GetBucketConfig(BucketSub::Encryption),
    S3Op::PutBucketConfig(BucketSub::Acl),
    S3Op::DeleteBucketConfig(BucketSub::Cors),
    S3Op::DeleteObject,
    S3Op::GetObjectAcl,
    S3Op::PutObjectAcl,
    S3Op::GetObjectTagging,
    S3Op::PutObjectTagging,
    S3Op::DeleteObjectTagging,
    S3Op::GetObjectRetention,
    S3Op::PutObjectRetention,
    S3Op::GetObjectLegalHold,
    S3Op::PutObjectLegalHold,
    S3Op::GetObjectTorrent,
    S3Op::RestoreObject,
    S3Op::RenameObject,
    S3Op::AbortMultipartUpload,
    S3Op::CorsPreflight,
    S3Op::Unknown,
];

const SHORT: [HeaderName; 9] = [
    SSE_C_ALGORITHM,
    SSE_C_KEY,
    SSE_C_KEY_MD5,
    COPY_SOURCE_SSE_C_ALGORITHM,
    COPY_SOURCE_SSE_C_KEY,
    COPY_SOURCE_SSE_C_KEY_MD5,
    SSE,
    COPY_SOURCE,
    SSE_KMS_KEY_ID,
];

const USAGES: [Usage; 5] = [
    Usage::Write,
    Usage::Part,
    Usage::Read,
    Usage::CopySource,
    Usage::Complete,
];

const RESOURCE: &str = "/fuzz-bucket/fuzz/object";
const REQUEST_ID: &str = "FUZZ0123456789AB";

fn md5_b64(bytes: &[u8]) -> String {
    STANDARD.encode(Md5::digest(bytes))
}

/// Completes one group's key and MD5 headers according to `mode`.
fn complete_group(headers: &mut HeaderMap, key: &HeaderName, md5: &HeaderName, mode: u8) {
    let Some(raw) = headers.get(key).map(|v| v.as_bytes().to_vec()) else {
        return;
    };
    let (key_value, digest) = match mode {
        1 => (Some(STANDARD.encode(&raw)), md5_b64(&raw)),
        2 => (None, md5_b64(&ssec::lenient_base64(&raw))),
        _ => return,
    };
    if let Some(k) = key_value {
        // Base64 is always a valid header value.
        if let Ok(v) = HeaderValue::from_str(&k) {
            headers.insert(key.clone(), v);
        }
    }
    if let Ok(v) = HeaderValue::from_str(&digest) {
        headers.insert(md5.clone(), v);
    }
}

fn build(data: &[u8]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in data.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        let name = match name {
            [c @ b'0'..=b'8'] => SHORT[usize::from(c - b'0')].clone(),
            _ => match HeaderName::from_bytes(name) {
                Ok(n) => n,
                Err(_) => continue,
            },
        };
        let Ok(value) = HeaderValue::from_bytes(value) else {
            continue;
        };
        headers.append(name, value);
    }
    headers
}

/// Checks one error against the no-key-echo invariant.
fn check_error(err: &S3Error, keys: &[&[u8]], echoable: &[&[u8]]) {
    // Whatever the error, its status is a client error.
    assert!(
        err.status().is_client_error(),
        "SSE-C validation produced a non-4xx error: {err:?}"
    );
    // `<ArgumentValue>` echoes only the algorithm or x-amz-server-side-encryption,
    // and nothing longer than 24 bytes.
    if let Some(value) = &err.argument_value {
        assert!(
            value.len() <= 24 && echoable.contains(&value.as_bytes()),
            "ArgumentValue {value:?} is not an echo of the algorithm or SSE header"
        );
    }
    let xml = err.to_xml(RESOURCE, REQUEST_ID);
    // The same document without the one input-derived field: the proxy's fixed text.
    let fixed = {
        let mut e = err.clone();
        e.argument_value = None;
        e.to_xml(RESOURCE, REQUEST_ID)
    };
    for key in keys.iter().filter(|k| k.len() > 24) {
        let text = String::from_utf8_lossy(key);
        let escaped = quick_escape(&text);
        for needle in [&*text, &*escaped] {
            if !xml.contains(needle) || fixed.contains(needle) {
                continue;
            }
            // Not in the proxy's fixed text, so the match overlaps `<ArgumentValue>`.
            // That is no key echo only when it is a coincidence of the (checked above)
            // algorithm/SSE echo: the needle spans the element's markup, or lies in
            // the entity-escaped form of a value that needed escaping.
            let coincidence = needle.contains(['<', '>'])
                || err
                    .argument_value
                    .as_deref()
                    .is_some_and(|v| quick_escape(v) != v && !v.contains(&*text));
            assert!(
                coincidence,
                "error document carries a key header value ({} bytes): {xml}",
                key.len()
            );
        }
    }
}

/// XML escaping as `S3Error::to_xml` does it (quick-xml `escape`).
fn quick_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let [op, flags, rest @ ..] = data else {
        return;
    };
    let op = OPS[usize::from(*op) % OPS.len()];
    let tls = flags & 1 == 1;
    let mut headers = build(rest);
    complete_group(&mut headers, &SSE_C_KEY, &SSE_C_KEY_MD5, (flags >> 1) & 3);
    complete_group(
        &mut headers,
        &COPY_SOURCE_SSE_C_KEY,
        &COPY_SOURCE_SSE_C_KEY_MD5,
        (flags >> 3) & 3,
    );

    let keys: Vec<&[u8]> = headers
        .get_all(SSE_C_KEY)
        .iter()
        .chain(headers.get_all(COPY_SOURCE_SSE_C_KEY).iter())
        .map(HeaderValue::as_bytes)
        .collect();
    let echoable: Vec<&[u8]> = headers
        .get_all(SSE_C_ALGORITHM)
        .iter()
        .chain(headers.get_all(COPY_SOURCE_SSE_C_ALGORITHM).iter())
        .chain(headers.get_all(SSE).iter())
        .map(HeaderValue::as_bytes)
        .collect();

    let checked = ssec::check_request(op, &headers, tls);
    match &checked {
        Err(err) => check_error(err, &keys, &echoable),
        Ok(c) => {
            // A request that passed carries digests only for groups the op takes.
            if c.destination.is_some() {
                assert!(ssec::usage_for(op, Group::Destination).is_some());
            }
            if c.source.is_some() {
                assert!(ssec::usage_for(op, Group::CopySource).is_some());
            }
        }
    }
    // The one-pass scan finds exactly what a look-up per name finds.
    let groups = ssec::Groups::from_headers(&headers);
    assert!(
        tls || !groups.any() || checked.is_err(),
        "SSE-C headers accepted without TLS"
    );
    assert_eq!(groups.sse, headers.get(SSE));
    assert_eq!(groups.kms_key_id, headers.get(SSE_KMS_KEY_ID));
    assert_eq!(groups.copy_source_path, headers.get(COPY_SOURCE));
    for (group, scanned) in [
        (Group::Destination, groups.destination),
        (Group::CopySource, groups.copy_source),
    ] {
        let (alg, key, md5) = match group {
            Group::Destination => (SSE_C_ALGORITHM, SSE_C_KEY, SSE_C_KEY_MD5),
            Group::CopySource => (
                COPY_SOURCE_SSE_C_ALGORITHM,
                COPY_SOURCE_SSE_C_KEY,
                COPY_SOURCE_SSE_C_KEY_MD5,
            ),
        };
        let triple = RawTriple::new(
            headers.get(&alg).map(HeaderValue::as_bytes),
            headers.get(&key).map(HeaderValue::as_bytes),
            headers.get(&md5).map(HeaderValue::as_bytes),
        );
        assert_eq!(scanned.algorithm, triple.algorithm);
        assert_eq!(scanned.key_md5, triple.key_md5);
        assert_eq!(scanned.is_present(), triple.is_present());
        assert_eq!(scanned.is_complete(), triple.is_complete());
        // The key is private to the module: compare what validation makes of it.
        let digest =
            |t: &RawTriple<'_>| ssec::validate(t, Usage::Write).ok().map(|d| d.to_base64());
        assert_eq!(digest(&scanned), digest(&triple));
        // The Debug form never prints the key.
        let _ = format!("{triple:?}");
        for usage in USAGES {
            match ssec::validate(&triple, usage) {
                Err(err) => check_error(&err, &keys, &echoable),
                Ok(digest) => {
                    let b64 = digest.to_base64();
                    let back = ssec::KeyDigest::from_base64(&b64);
                    assert!(back.is_some_and(|d| d.matches(&digest)));
                }
            }
        }
        for usage in USAGES {
            if let Err(err) = ssec::check_sse_conflict(
                headers.get(SSE),
                headers.contains_key(SSE_KMS_KEY_ID),
                usage,
                true,
            ) {
                check_error(&err, &keys, &echoable);
            }
        }
    }
});
