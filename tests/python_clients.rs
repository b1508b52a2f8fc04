//! boto3, the aws CLI and a hand-signed streaming upload (tests/clients/s3_suite.py)
//! through the real binary against real stores, plain and with SSE-C.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{Proxy, ProxyOptions, Store, bucket_name, python};

fn run_suite(store: &Store, endpoint: &str, upstream: &str, sse: bool, copy_sse_status: u16) {
    let proxy = Proxy::start(ProxyOptions {
        upstream: upstream.to_owned(),
        ..ProxyOptions::endpoint(endpoint)
    });
    let out = python(
        "s3_suite.py",
        &[
            ("S3_ENDPOINT", proxy.url()),
            ("S3_CA", proxy.pki.ca_path.display().to_string()),
            ("S3_ACCESS_KEY", store.access_key.clone()),
            ("S3_SECRET_KEY", store.secret_key.clone()),
            ("S3_BUCKET", bucket_name("py")),
            ("SSE", if sse { "1" } else { "0" }.to_owned()),
            ("COPY_SSE_STATUS", copy_sse_status.to_string()),
            (
                "WHEN_REQUIRED",
                if store.name == "RGW" { "1" } else { "0" }.to_owned(),
            ),
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success() && stdout.contains("ALL OK"),
        "suite failed:\n{stdout}\n{stderr}\nproxy logs:\n{}",
        proxy.logs().join("\n")
    );
}

#[test]
fn seaweedfs_with_boto3_and_cli_plain() {
    let store = require_store!(seaweedfs);
    run_suite(&store, &store.http, "store = \"seaweedfs\"", false, 200);
}

#[test]
fn seaweedfs_with_boto3_and_cli_sse_c() {
    let store = require_store!(seaweedfs);
    run_suite(&store, &store.http, "store = \"seaweedfs\"", true, 200);
}

#[test]
fn rgw_with_boto3_and_cli_sse_c_over_its_tls_endpoint() {
    let store = require_store!(rgw);
    let upstream = format!(
        "store = \"rgw\"\nca_file = {:?}",
        store.ca.display().to_string()
    );
    run_suite(&store, &store.https, &upstream, true, 501);
}

#[test]
fn rgw_with_boto3_and_cli_sse_c_over_http_forwarded_proto() {
    let store = require_store!(rgw);
    run_suite(
        &store,
        &store.http,
        "store = \"rgw\"\nforwarded_proto = true",
        true,
        501,
    );
}

#[test]
fn rgw_with_boto3_and_cli_plain() {
    let store = require_store!(rgw);
    run_suite(&store, &store.http, "store = \"rgw\"", false, 200);
}
