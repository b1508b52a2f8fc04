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
//! 4. addressing: virtual-host suffixes, comma-separated, then optionally `|` and the
//!    path-style hosts, comma-separated (taken as they are: no configuration clean-up);
//! 5. the `x-amz-copy-source` value.
//!
//! Invariants: a refusal is a 400 with a metric reason; `classify` refuses whatever
//! `address` refuses and otherwise places the request exactly as `address` does; an
//! accepted request keeps the shape of its operation (a bucket for bucket and object
//! operations, an `uploadId` for part operations); the same input gives the same answer.

#![no_main]

use http::{Method, StatusCode};
use libfuzzer_sys::fuzz_target;
use ssec_proxy::s3::error::{Reason, S3Error};
use ssec_proxy::s3::op::{self, S3Op, Target};
use ssec_proxy::s3::policy;
use ssec_proxy::s3::strict::{Addressing, HostReading};

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
    let addressing = {
        let line = text();
        let (suffixes, hosts) = line.split_once('|').unwrap_or((&line, ""));
        let list = |s: &str| -> Vec<String> {
            s.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        Addressing {
            virtual_host_suffixes: list(suffixes),
            path_style_hosts: list(hosts),
        }
    };
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

    let reading = match flags.contains('r') {
        true => HostReading::AsBucket,
        false => HostReading::PathStyle,
    };
    let placed = op::address(&host, path, &addressing, reading);
    let classified = op::classify(&t, &addressing, reading);
    // Deterministic.
    assert_eq!(op::classify(&t, &addressing, reading), classified);
    for e in [placed.as_ref().err(), classified.as_ref().err()]
        .into_iter()
        .flatten()
    {
        assert_refusal(e, query);
    }
    let (bucket, key) = match placed {
        Ok(placed) => placed,
        Err(e) => {
            // classify addresses first: what address refuses, classify refuses.
            assert!(
                classified.is_err(),
                "address refused ({e:?}) but classify accepted"
            );
            return check_copy_source(&copy_source, &target, &host);
        }
    };
    let Ok(req) = classified else {
        return check_copy_source(&copy_source, &target, &host);
    };

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
    // A form body is a form upload or nothing.
    if t.is_form && method == Method::POST {
        assert_eq!(req.op, S3Op::PostObject);
    }
    check_copy_source(&copy_source, &target, &host);
});

/// Every refusal of the request head is a client error with a metric reason, except
/// RGW's `?append`, which is refused as not implemented (a store refusal).
fn assert_refusal(e: &S3Error, query: Option<&str>) {
    assert!(e.reason.is_some_and(|r| !r.as_str().is_empty()), "{e:?}");
    if e.status() == StatusCode::NOT_IMPLEMENTED {
        assert_eq!(e.reason, Some(Reason::StoreRefusal), "{e:?}");
        assert!(
            query.is_some_and(|q| q.contains("append")),
            "501 without ?append: {e:?}"
        );
    } else {
        assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{e:?}");
    }
}

fn check_copy_source(copy_source: &str, target: &str, host: &str) {
    if let Some(b) = policy::copy_source_bucket(copy_source) {
        assert!(!b.is_empty());
    }
    // The copy-source line also as a whole target path, and the host as a copy source.
    let _ = policy::copy_source_bucket(target);
    let _ = policy::copy_source_bucket(host);
}
