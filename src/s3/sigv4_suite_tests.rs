//! AWS's SigV4 test suite (tests/data/sigv4/, from the aws-sigv4 crate): for every case
//! that applies to S3 (no normalization, single encoding), the header and the query
//! variant must give the suite's canonical request, string to sign and signature exactly,
//! and the signed request must verify with the suite's credentials at the suite's time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use http::{HeaderMap, HeaderName, HeaderValue, Method};

use super::canonical::{Parts, canonical_request, string_to_sign};
use super::crypto::{SecretKey, SigningKey, sha256_hex};
use super::parse::{self, QueryAuth};
use super::time::AmzDate;
use super::{Request, Verifier};
use crate::s3::error::S3ErrorCode;

/// One request of the suite, parsed from its `*.txt` form.
struct Raw {
    method: Method,
    path: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// The suite's request format: a request line, `Name:value` lines, an empty line, a body.
fn parse_request(text: &str) -> Raw {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.lines();
    let line = lines.next().unwrap();
    let (method, rest) = line.split_once(' ').unwrap();
    let target = rest.strip_suffix(" HTTP/1.1").unwrap();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (target.to_owned(), None),
    };
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        headers.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    Raw {
        method: method.parse().unwrap(),
        path,
        query,
        headers,
        body: body.trim_end_matches('\n').as_bytes().to_vec(),
    }
}

struct Context {
    access_key_id: String,
    secret: String,
    region: String,
    service: String,
    time: AmzDate,
    sign_body: bool,
    omit_session_token: bool,
}

fn context(dir: &Path) -> Context {
    let text = std::fs::read_to_string(dir.join("context.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let s = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
    let stamp = s(&json["timestamp"]).replace(['-', ':'], "");
    Context {
        access_key_id: s(&json["credentials"]["access_key_id"]),
        secret: s(&json["credentials"]["secret_access_key"]),
        region: s(&json["region"]),
        service: s(&json["service"]),
        time: AmzDate::parse(stamp.as_bytes()).unwrap(),
        sign_body: json["sign_body"].as_bool().unwrap(),
        omit_session_token: json["omit_session_token"].as_bool().unwrap_or(false),
    }
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigv4/v4");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    dirs
}

/// Checks one variant (`header` or `query`) of one case.
fn check(dir: &Path, ctx: &Context, variant: &str) {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let mut raw = parse_request(&read(dir, &format!("{variant}-signed-request.txt")));
    let presigned = variant == "query";
    let (signed, signature) = if presigned {
        let auth = QueryAuth::read(raw.query.as_deref().unwrap()).unwrap();
        (auth.signed_headers.unwrap(), auth.signature.unwrap())
    } else {
        let authorization = raw.headers["authorization"].to_str().unwrap();
        let auth = parse::header_auth(parse::scheme(authorization).unwrap()).unwrap();
        (auth.signed_headers.to_owned(), auth.signature.to_owned())
    };
    let signed: Vec<&str> = signed.split(';').collect();
    let payload = match raw.headers.get("x-amz-content-sha256") {
        Some(v) => v.to_str().unwrap().to_owned(),
        None => sha256_hex(&raw.body),
    };
    // A token added after signing is not part of what was signed.
    let signed_query = raw.query.as_deref().map(|q| {
        q.split('&')
            .filter(|p| !(ctx.omit_session_token && p.starts_with("X-Amz-Security-Token=")))
            .collect::<Vec<_>>()
            .join("&")
    });
    let parts = Parts {
        method: raw.method.as_str(),
        path: &raw.path,
        query: signed_query.as_deref(),
        headers: &raw.headers,
    };
    let canonical = canonical_request(&parts, &signed, &payload, presigned).unwrap();
    let expected = read(dir, &format!("{variant}-canonical-request.txt"));
    assert_eq!(canonical, expected, "{name} {variant}: canonical request");
    let scope = format!(
        "{}/{}/{}/aws4_request",
        ctx.time.date(),
        ctx.region,
        ctx.service
    );
    let sts = string_to_sign(&ctx.time, &scope, &canonical);
    let expected = read(dir, &format!("{variant}-string-to-sign.txt"));
    assert_eq!(sts, expected, "{name} {variant}: string to sign");
    let key = SigningKey::derive(
        &SecretKey::new(&ctx.secret),
        ctx.time.date(),
        &ctx.region,
        &ctx.service,
    );
    let computed = key.sign(sts.as_bytes());
    let expected = read(dir, &format!("{variant}-signature.txt"));
    assert_eq!(
        computed.as_str(),
        expected.trim(),
        "{name} {variant}: signature"
    );
    assert_eq!(
        computed.as_str(),
        signature,
        "{name} {variant}: signed request"
    );

    if presigned && ctx.sign_body {
        // The query variant signs the body's hash without sending it; S3 reads it from
        // `x-amz-content-sha256`, which need not be signed.
        let value = HeaderValue::from_str(&payload).unwrap();
        raw.headers.insert("x-amz-content-sha256", value);
    }
    let verified = verify(ctx, &raw, ctx.time.system_time());
    match (ctx.omit_session_token, presigned) {
        (false, _) => {
            let verified = verified.unwrap_or_else(|e| panic!("{name} {variant}: {e}"));
            assert_eq!(verified.signature.as_str(), signature);
        }
        // S3 refuses an `x-amz-*` header that is not signed, and signs every query
        // parameter: a token added after signing is refused either way.
        (true, false) => assert_eq!(verified.unwrap_err().code, S3ErrorCode::AccessDenied),
        (true, true) => {
            assert_eq!(
                verified.unwrap_err().code,
                S3ErrorCode::SignatureDoesNotMatch
            );
        }
    }
}

fn verify(
    ctx: &Context,
    raw: &Raw,
    now: SystemTime,
) -> Result<super::Verified, crate::s3::error::S3Error> {
    let verifier = Verifier::generic(&ctx.region, &ctx.service);
    let mut store = HashMap::new();
    store.insert(ctx.access_key_id.clone(), SecretKey::new(&ctx.secret));
    let request = Request {
        method: &raw.method,
        path: &raw.path,
        query: raw.query.as_deref(),
        headers: &raw.headers,
    };
    verifier.verify(&request, &store, now)
}

#[test]
fn every_applicable_case_of_aws_test_suite_matches_and_verifies() {
    let cases = cases();
    assert_eq!(
        cases.len(),
        31,
        "the cases listed in tests/data/sigv4/README.md"
    );
    for dir in &cases {
        let ctx = context(dir);
        check(dir, &ctx, "header");
        check(dir, &ctx, "query");
    }
}

#[test]
fn suite_requests_fail_an_hour_later_and_with_another_secret() {
    for dir in &cases() {
        let ctx = context(dir);
        let raw = parse_request(&read(dir, "header-signed-request.txt"));
        let later = ctx.time.system_time() + std::time::Duration::from_secs(3600);
        assert_eq!(
            verify(&ctx, &raw, later).unwrap_err().code,
            S3ErrorCode::RequestTimeTooSkewed
        );
        let wrong = Context {
            secret: format!("{}x", ctx.secret),
            ..ctx
        };
        let code = verify(&wrong, &raw, wrong.time.system_time())
            .unwrap_err()
            .code;
        let expected = match wrong.omit_session_token {
            true => S3ErrorCode::AccessDenied,
            false => S3ErrorCode::SignatureDoesNotMatch,
        };
        assert_eq!(code, expected, "{}", dir.display());
    }
}
