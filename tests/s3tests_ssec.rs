//! The SSE-C cases of ceph/s3-tests and the SSE-C copy cases (tests/clients/s3tests_ssec.py)
//! through the proxy in resign mode, with boto3 holding only the proxy's credentials,
//! against each real store. Every case must pass except those listed in [`DIFFERS`]
//! for that store, each with the reason (upstream expecting something AWS does not do,
//! or a store feature the proxy does not provide); a listed case that passes fails the
//! test too, so the list stays true.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::collections::BTreeMap;

use support::resign::{APP, APP_SECRET, Resign};
use support::{Store, bucket_name, python};

/// Cases whose upstream expectation the proxy does not meet, per store, and why.
const DIFFERS: &[(&str, &[&str], &str)] = &[
    (
        "test_encryption_sse_c_other_key",
        ALL,
        "AWS answers a read with another key 403 AccessDenied (reference/ssec-spec.md, S2); upstream expects RGW's 400",
    ),
    (
        "test_encryption_sse_c_multipart_bad_download",
        ALL,
        "AWS answers a read with another key 403 AccessDenied (reference/ssec-spec.md, S2); upstream expects RGW's 400",
    ),
    (
        "test_encryption_sse_c_deny_algo_with_bucket_policy",
        &["seaweedfs", "rgw"],
        "the proxy validates the headers before the store reads its bucket policy: AES192 gets AWS's 400 InvalidArgument, upstream expects the policy's 403",
    ),
    (
        "test_encryption_sse_c_deny_algo_with_bucket_policy",
        &["garage"],
        "Garage 2.5 has no bucket policies (PutBucketPolicy: 501)",
    ),
    (
        "test_encryption_sse_c_enforced_with_bucket_policy",
        &["rgw"],
        "RGW 16.2 denies the SSE-C PutObject too: its policy conditions do not see s3:x-amz-server-side-encryption-customer-algorithm (the same directly at the store); [ssec] policies do this in the proxy",
    ),
    (
        "test_encryption_sse_c_enforced_with_bucket_policy",
        &["garage"],
        "Garage 2.5 has no bucket policies (PutBucketPolicy: 501)",
    ),
];

const ALL: &[&str] = &["seaweedfs", "rgw", "garage"];

async fn s3tests_ssec_cases(store: Store) {
    let r = Resign::start(&store);
    let out = python(
        "s3tests_ssec.py",
        &[
            ("S3_ENDPOINT", r.proxy.url()),
            ("S3_CA", r.proxy.pki.ca_path.display().to_string()),
            ("S3_ACCESS_KEY", APP.to_owned()),
            ("S3_SECRET_KEY", APP_SECRET.to_owned()),
            ("S3_BUCKET", bucket_name("s3t")),
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.lines().any(|l| l == "DONE"),
        "the cases did not run:\n{stdout}\n{stderr}"
    );
    let results: BTreeMap<&str, Option<&str>> = stdout
        .lines()
        .filter_map(|line| {
            if let Some(name) = line.strip_prefix("PASS ") {
                Some((name, None))
            } else {
                line.strip_prefix("FAIL ")
                    .and_then(|rest| rest.split_once(": "))
                    .map(|(name, why)| (name, Some(why)))
            }
        })
        .collect();
    let store_name = store.name.to_lowercase();
    for (name, why) in results.iter().filter_map(|(n, f)| f.map(|why| (n, why))) {
        println!("{}: {name}: {why}", store.name);
    }
    let expected = |name: &str| {
        DIFFERS
            .iter()
            .find(|(case, stores, _)| *case == name && stores.contains(&store_name.as_str()))
            .map(|(_, _, why)| *why)
    };
    let mut wrong = Vec::new();
    for (name, failure) in &results {
        match (failure, expected(name)) {
            (None, None) | (Some(_), Some(_)) => {}
            (Some(why), None) => wrong.push(format!("{name} failed: {why}")),
            (None, Some(why)) => wrong.push(format!("{name} passed, listed as differing: {why}")),
        }
    }
    let passed = results.values().filter(|f| f.is_none()).count();
    println!(
        "{}: {passed} of {} cases pass; {} differ as listed",
        store.name,
        results.len(),
        results.len() - passed - wrong.len()
    );
    assert_eq!(results.len(), 34, "not every case ran");
    assert!(
        wrong.is_empty(),
        "{}\nproxy logs:\n{}\n{stderr}",
        wrong.join("\n"),
        r.proxy.logs().join("\n")
    );
}

per_store!(s3tests_ssec_cases);
