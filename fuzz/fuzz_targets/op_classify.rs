//! S3 operation classification (`s3::op::classify`, `s3::op::address`) and the
//! `x-amz-copy-source` bucket (`s3::policy::copy_source_bucket`) on arbitrary request
//! targets.
//!
//! Input: lines separated by `\n` (each decoded as lossy UTF-8):
//! 0. method: one digit `0`..`9` picks from `METHODS`, anything else goes through
//!    `http::Method::from_bytes` (inputs it refuses are dropped);
//! 1. Host (or `:authority`);
//! 2. path, with the query after the first `?`;
//! 3. flags: `c` = `x-amz-copy-source` present, `f` = multipart/form-data body;
//! 4. virtual-host suffixes, comma-separated;
//! 5. the `x-amz-copy-source` value.

#![no_main]

use http::Method;
use libfuzzer_sys::fuzz_target;
use ssec_proxy::s3::op::{self, S3Op, Target};
use ssec_proxy::s3::policy;

const METHODS: [&str; 10] = [
    "GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT", "PROPFIND",
];

fuzz_target!(|data: &[u8]| {
    let mut lines = data.split(|&b| b == b'\n');
    let method = lines.next().unwrap_or_default();
    let method = match method {
        [d @ b'0'..=b'9'] => Method::from_bytes(METHODS[usize::from(d - b'0')].as_bytes()),
        other => Method::from_bytes(other),
    };
    let Ok(method) = method else {
        return;
    };
    let mut text = || String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let host = text();
    let target = text();
    let flags = text();
    let suffixes: Vec<String> = text()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let copy_source = text();

    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target.as_str(), None),
    };
    let t = Target {
        method: &method,
        path,
        query,
        host: &host,
        has_copy_source: flags.contains('c'),
        is_form: flags.contains('f'),
    };

    let (bucket, key) = op::address(&host, path, &suffixes);
    let req = op::classify(&t, &suffixes);

    // classify addresses exactly as address() does.
    assert_eq!((&req.bucket, &req.key), (&bucket, &key));
    assert!(bucket.as_deref().is_none_or(|b| !b.is_empty()));
    assert!(key.as_deref().is_none_or(|k| !k.is_empty()));
    // Without a bucket, only service-level operations.
    if bucket.is_none() {
        assert!(
            matches!(
                req.op,
                S3Op::ListBuckets | S3Op::CorsPreflight | S3Op::Unknown
            ),
            "{:?} without a bucket",
            req.op
        );
    }
    // Multipart part operations need an uploadId.
    if matches!(
        req.op,
        S3Op::UploadPart
            | S3Op::UploadPartCopy
            | S3Op::CompleteMultipartUpload
            | S3Op::AbortMultipartUpload
            | S3Op::ListParts
    ) {
        assert!(req.upload_id.is_some(), "{:?} without uploadId", req.op);
        assert!(key.is_some());
    }
    assert!(!req.op.as_str().is_empty());
    if let S3Op::GetBucketConfig(sub) | S3Op::PutBucketConfig(sub) | S3Op::DeleteBucketConfig(sub) =
        req.op
    {
        assert_ne!(sub.as_str(), "unknown");
        assert!(key.is_none());
    }
    // Deterministic.
    assert_eq!(op::classify(&t, &suffixes), req);

    if let Some(b) = policy::copy_source_bucket(&copy_source) {
        assert!(!b.is_empty());
    }
    // The copy-source line also as a whole target path, and the host as a copy source.
    let _ = policy::copy_source_bucket(&target);
    let _ = policy::copy_source_bucket(&host);
});
