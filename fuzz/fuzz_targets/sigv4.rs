//! SigV4 verification (`s3::sigv4`) and POST policy documents (`s3::form::policy`) on
//! fuzzer bytes: the request head a client controls goes through the verifier, which
//! must refuse it with a 400 or 403 S3 error and never panic; the same head signed by
//! the proxy's own signer must never be refused as `SignatureDoesNotMatch` where its path
//! reads the same as sent and decoded (signer and verifier then build one canonical
//! request; the signer signs the stores' reading, the verifier S3's); any bytes as a POST policy must decode or be
//! refused, never panic.
//!
//! Input: lines separated by `\n`: 0. method; 1. path (a `/` is put in front when
//! missing); 2. query (empty: none); 3. and on: header fields `name:value`.

#![no_main]

use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use ssec_proxy::s3::error::S3ErrorCode;
use ssec_proxy::s3::form::policy::PostPolicy;
use ssec_proxy::s3::sigv4::{self, SecretKey, UNSIGNED_PAYLOAD, Verifier};

const ACCESS: &str = "FUZZACCESSKEY0000001";
const SECRET: &str = "fuzz-secret-0123456789abcdefghijklmn";

fuzz_target!(|data: &[u8]| {
    let _ = PostPolicy::decode(data);
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let method =
        Method::from_bytes(lines.next().unwrap_or("GET").as_bytes()).unwrap_or(Method::GET);
    let path = lines.next().unwrap_or("/");
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let query = lines.next().filter(|q| !q.is_empty());
    let mut headers = HeaderMap::new();
    for line in lines.take(32) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let credentials = |key: &str| (key == ACCESS).then(|| SecretKey::new(SECRET));
    let verifier = Verifier::new("us-east-1");
    let request = sigv4::Request {
        method: &method,
        path: &path,
        query,
        headers: &headers,
    };
    if let Err(e) = verifier.verify(&request, &credentials, now) {
        let status = e.code.status().as_u16();
        assert!(
            matches!(status, 400 | 403 | 501),
            "{:?} is {status}",
            e.code
        );
    }

    // The same head signed by the proxy's signer.
    headers.remove(http::header::AUTHORIZATION);
    if !headers.contains_key(http::header::HOST) {
        headers.insert(http::header::HOST, HeaderValue::from_static("fuzz.test"));
    }
    let parts = sigv4::Parts {
        method: method.as_str(),
        path: &path,
        query,
        headers: &headers,
    };
    let signer = sigv4::Credentials {
        access_key_id: ACCESS.into(),
        secret_key: SecretKey::new(SECRET),
    };
    let Ok(signed) = sigv4::sign(&parts, UNSIGNED_PAYLOAD, &signer, "us-east-1", "s3", now) else {
        return;
    };
    headers.insert(http::header::AUTHORIZATION, signed.authorization);
    headers.insert("x-amz-date", signed.x_amz_date);
    headers.insert("x-amz-content-sha256", signed.x_amz_content_sha256);
    let request = sigv4::Request {
        method: &method,
        path: &path,
        query,
        headers: &headers,
    };
    // The signer signs the path as the stores read it (decoded, then encoded once), the
    // verifier the path as sent, as S3 does: they agree only where the two readings do.
    let reading = |canonical: fn(&str, &mut String) -> Result<(), _>| {
        let mut out = String::new();
        canonical(&path, &mut out).map(|()| out).ok()
    };
    let same_reading = reading(sigv4::canonical_uri) == reading(sigv4::decoded_canonical_uri);
    if let Err(e) = verifier.verify(&request, &credentials, now)
        && same_reading
    {
        assert_ne!(
            e.code,
            S3ErrorCode::SignatureDoesNotMatch,
            "the signer's own request: {}",
            e.message
        );
    }
});
