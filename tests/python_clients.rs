//! boto3, the aws CLI and a hand-signed streaming upload (tests/clients/s3_suite.py)
//! through the real binary against real stores, plain and with SSE-C.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::{Proxy, ProxyOptions, Store, bucket_name, python, resign_tables};

fn run_suite(store: &Store, endpoint: &str, upstream: &str, sse: bool, copy_sse_status: u16) {
    let proxy = Proxy::start(ProxyOptions {
        upstream: upstream.to_owned(),
        ..ProxyOptions::endpoint(endpoint)
    });
    let when_required = store.name == "RGW";
    // Garage answers a bad signature with 403 AccessDenied; the proxy forwards it.
    let bad_signature = if store.name == "GARAGE" {
        "AccessDenied"
    } else {
        "SignatureDoesNotMatch"
    };
    run_suite_through(
        &proxy,
        store,
        Options {
            sse,
            copy_sse_status,
            when_required,
            bad_signature,
        },
    );
}

/// How the suite runs and what it expects.
struct Options {
    sse: bool,
    copy_sse_status: u16,
    /// Clients compute checksums only when required (no aws-chunked trailers).
    when_required: bool,
    /// The code of the answer to a bad signature.
    bad_signature: &'static str,
}

/// The suite with clients holding only the proxy's credentials (resign mode), with
/// every SDK default: the proxy decodes aws-chunked uploads, so RGW takes them too.
fn run_suite_resign(store: &Store, upstream: &str, sse: bool, copy_sse_status: u16) {
    const ACCESS: &str = "PYCLIENTACCESSKEY001";
    const SECRET: &str = "py-client-secret-0123456789abcdefghij";
    let (tables, _secrets) = resign_tables(store, &[(ACCESS, SECRET, None)]);
    let proxy = Proxy::start(ProxyOptions {
        upstream: upstream.to_owned(),
        tables,
        ..ProxyOptions::endpoint(&store.http)
    });
    let client = Store {
        access_key: ACCESS.to_owned(),
        secret_key: SECRET.to_owned(),
        ..store.clone()
    };
    // Every SDK default, the aws CLI's included: Garage wants a checksum with every part
    // of an upload created with a checksum algorithm, and gets the trailer's.
    run_suite_through(
        &proxy,
        &client,
        Options {
            sse,
            copy_sse_status,
            when_required: false,
            bad_signature: "SignatureDoesNotMatch",
        },
    );
}

fn run_suite_through(proxy: &Proxy, store: &Store, options: Options) {
    let Options {
        sse,
        copy_sse_status,
        when_required,
        bad_signature,
    } = options;
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
                if when_required { "1" } else { "0" }.to_owned(),
            ),
            ("BAD_SIGNATURE_CODE", bad_signature.to_owned()),
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

#[test]
fn seaweedfs_with_boto3_and_cli_sse_c_in_resign_mode() {
    let store = require_store!(seaweedfs);
    run_suite_resign(&store, "store = \"seaweedfs\"", true, 200);
}

#[test]
fn rgw_with_boto3_and_cli_sse_c_in_resign_mode() {
    let store = require_store!(rgw);
    run_suite_resign(&store, "store = \"rgw\"\nforwarded_proto = true", true, 200);
}

// Garage serves plain HTTP only; it copies with SSE-C itself.
#[test]
fn garage_with_boto3_and_cli_sse_c() {
    let store = require_store!(garage);
    run_suite(&store, &store.http, "store = \"garage\"", true, 200);
}

#[test]
fn garage_with_boto3_and_cli_plain() {
    let store = require_store!(garage);
    run_suite(&store, &store.http, "store = \"garage\"", false, 200);
}

#[test]
fn garage_with_boto3_and_cli_sse_c_in_resign_mode() {
    let store = require_store!(garage);
    run_suite_resign(&store, "store = \"garage\"", true, 200);
}
