//! The resign layer: a verified request leaves signed by the store's credentials, with
//! the client's authentication removed and everything else as verified; a passthrough
//! request is not touched; in resign mode nothing unverified is forwarded, and a verified
//! form leaves with no header signature.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::SystemTime;

use http::{HeaderValue, Method};

use super::*;
use crate::s3::sigv4::{PayloadMode, SecretKey, SigningKey, Verifier};

const STORE_SECRET: &str = "store-secret-0123456789";

fn store_key(date: &str) -> SigningKey {
    SigningKey::derive(&SecretKey::new(STORE_SECRET), date, "us-east-1", "s3")
}

fn store() -> Signer<'static> {
    Signer {
        access_key_id: "STOREKEY",
        region: "us-east-1",
        service: "s3",
        key_for: &store_key,
    }
}

/// The store's own check: the request as the store receives it verifies with the
/// store's secret.
fn store_verifies(req: &Request<()>) -> sigv4::Verified {
    let table: HashMap<String, SecretKey> =
        HashMap::from([("STOREKEY".to_owned(), SecretKey::new(STORE_SECRET))]);
    let request = sigv4::Request {
        method: req.method(),
        path: req.uri().path(),
        query: req.uri().query(),
        headers: req.headers(),
    };
    Verifier::new("us-east-1")
        .verify(&request, &table, SystemTime::now())
        .unwrap()
}

fn client_request(uri: &str) -> Request<()> {
    Request::builder()
        .method(Method::PUT)
        .uri(uri)
        .header(HOST, "proxy.test")
        .header(
            AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=CLIENT/20261130/us-east-1/s3/aws4_request",
        )
        .header(AMZ_DATE, "20261130T000000Z")
        .header(CONTENT_SHA256, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        .header(SECURITY_TOKEN, "client-token")
        .header("x-amz-server-side-encryption-customer-algorithm", "AES256")
        .header("content-type", "text/plain")
        .header("user-agent", "test")
        .body(())
        .unwrap()
}

#[test]
fn the_store_sees_its_own_signature_and_none_of_the_clients() {
    let mut req = client_request("/b/a%20key+%2B~?tagging&x=1");
    req.extensions_mut()
        .insert(ClientHost(HeaderValue::from_static("proxy.test")));
    resign(&mut req, &store(), SystemTime::now()).unwrap();
    let verified = store_verifies(&req);
    assert_eq!(verified.access_key_id, "STOREKEY");
    assert_eq!(verified.payload, PayloadMode::Unsigned);
    let h = req.headers();
    assert!(!h.contains_key(SECURITY_TOKEN));
    assert!(
        !h.get(AUTHORIZATION)
            .unwrap()
            .to_str()
            .unwrap()
            .contains("CLIENT")
    );
    assert_eq!(
        h["x-amz-server-side-encryption-customer-algorithm"],
        "AES256"
    );
    assert_eq!(req.uri().to_string(), "/b/a%20key+%2B~?tagging&x=1");
    assert!(
        verified
            .signed_headers()
            .any(|h| h == "x-amz-server-side-encryption-customer-algorithm")
    );
    assert!(!verified.signed_headers().any(|h| h == "user-agent"));
}

#[test]
fn presigned_parameters_are_removed_and_the_rest_of_the_query_kept_in_order() {
    let mut req = client_request(
        "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&partNumber=2&X-Amz-Credential=C%2F1&X-Amz-Date=20261130T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&uploadId=a%2Bb&X-Amz-Signature=00&X-Amz-Security-Token=t",
    );
    resign(&mut req, &store(), SystemTime::now()).unwrap();
    assert_eq!(req.uri().to_string(), "/b/k?partNumber=2&uploadId=a%2Bb");
    store_verifies(&req);
}

#[test]
fn a_query_of_only_presigned_parameters_leaves_none() {
    let mut req = client_request("/b/k?X-Amz-Signature=00&X-Amz-Date=1");
    resign(&mut req, &store(), SystemTime::now()).unwrap();
    assert_eq!(req.uri().to_string(), "/b/k");
}

#[tokio::test]
async fn a_request_without_verification_is_forwarded_untouched() {
    use tower::{Layer as _, ServiceExt as _};

    use crate::layers::test_support::{Log, ok_recorder};

    let log = Log::default();
    let credentials = std::sync::Arc::new(arc_swap::ArcSwapOption::empty());
    let svc = ResignLayer::new(credentials).layer(ok_recorder(&log));
    let req = client_request("/b/k?X-Amz-Signature=00")
        .map(|()| http_body_util::Empty::<bytes::Bytes>::new());
    svc.oneshot(req).await.unwrap();
    let seen = log.only();
    assert_eq!(seen.uri.to_string(), "/b/k?X-Amz-Signature=00");
    assert_eq!(seen.headers[SECURITY_TOKEN], "client-token");
    assert!(
        seen.headers[AUTHORIZATION]
            .to_str()
            .unwrap()
            .contains("CLIENT")
    );
}

/// Resign mode's table, with one client.
fn resign_mode() -> crate::credentials::LiveCredentials {
    use crate::config::{
        BucketScope, ClientSettings, ResignSettings, SecretSource, StoreCredentialSettings,
    };
    let secret =
        |s: &str| SecretSource::Inline(crate::secret::secret_access_key(s.as_bytes(), 1).unwrap());
    let settings = ResignSettings {
        region: "us-east-1".into(),
        binding_key_file: None,
        clients: vec![ClientSettings {
            access_key: "CLIENT".into(),
            secret: secret("client-secret-0123456789abcdefghij"),
            buckets: BucketScope::All,
            manage_access: false,
        }],
        store: StoreCredentialSettings {
            access_key: "STOREKEY".into(),
            secret: secret(STORE_SECRET),
            region: "us-east-1".into(),
        },
        bucket_keys: Vec::new(),
    };
    let table = crate::credentials::Credentials::load(&settings).unwrap();
    std::sync::Arc::new(arc_swap::ArcSwapOption::from_pointee(table))
}

#[tokio::test]
async fn in_resign_mode_a_request_verified_by_no_layer_is_refused() {
    use tower::{Layer as _, ServiceExt as _};

    use crate::layers::test_support::{Log, ok_recorder};

    let log = Log::default();
    let svc = ResignLayer::new(resign_mode()).layer(ok_recorder(&log));
    let req = client_request("/b/k").map(|()| http_body_util::Empty::<bytes::Bytes>::new());
    let e = svc.oneshot(req).await.unwrap_err();
    assert_eq!(e.to_s3().code, crate::s3::error::S3ErrorCode::InternalError);
    assert_eq!(log.calls(), 0);
}

#[tokio::test]
async fn a_verified_form_leaves_without_the_clients_authentication_and_unsigned() {
    use tower::{Layer as _, ServiceExt as _};

    use crate::layers::test_support::{Log, ok_recorder};
    use crate::s3::sigv4::AmzDate;

    let log = Log::default();
    let svc = ResignLayer::new(resign_mode()).layer(ok_recorder(&log));
    let mut req = client_request("/b?X-Amz-Signature=00&x=1")
        .map(|()| http_body_util::Empty::<bytes::Bytes>::new());
    req.extensions_mut().insert(FormSigned {
        access_key_id: "CLIENT".into(),
        date: AmzDate::from_system_time(SystemTime::now()),
    });
    svc.oneshot(req).await.unwrap();
    let seen = log.only();
    assert_eq!(seen.uri.to_string(), "/b?x=1");
    for name in [AUTHORIZATION, AMZ_DATE, CONTENT_SHA256, SECURITY_TOKEN] {
        assert!(!seen.headers.contains_key(&name), "{name}");
    }
    assert_eq!(seen.headers["content-type"], "text/plain");
}
