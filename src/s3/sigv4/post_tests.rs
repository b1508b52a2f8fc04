//! Form signatures: forms signed by AWS's own SDK functions verify; every refusal has
//! S3's code; what `FormScope` signs verifies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::s3::error::S3ErrorCode;
use crate::s3::sigv4::SecretKey;

const ACCESS: &str = "AKIDFORMCLIENT000001";
const SECRET: &str = "form/Secret+Key-0123456789abcdefghij";
/// 2026-11-27T00:00:00Z.
const T: u64 = 1_795_737_600;

struct Form(Vec<(String, Vec<u8>)>);

impl FormAuth for Form {
    fn field(&self, name: &str) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

impl Form {
    fn set(&mut self, name: &str, value: &[u8]) {
        self.0.retain(|(n, _)| n != name);
        self.0.push((name.to_owned(), value.to_vec()));
    }

    fn without(mut self, name: &str) -> Self {
        self.0.retain(|(n, _)| n != name);
        self
    }
}

fn table() -> HashMap<String, SecretKey> {
    HashMap::from([(ACCESS.to_owned(), SecretKey::new(SECRET))])
}

/// A form signed as AWS's SDKs sign one (`aws_sigv4`'s own functions).
fn sdk_form(region: &str) -> Form {
    let time = UNIX_EPOCH + Duration::from_secs(T);
    let policy = "eyJleHBpcmF0aW9uIjoiMjAyNi0xMS0yOFQwMDowMDowMFoiLCJjb25kaXRpb25zIjpbXX0=";
    let key = aws_sigv4::sign::v4::generate_signing_key(SECRET, time, region, "s3");
    let signature = aws_sigv4::sign::v4::calculate_signature(key, policy.as_bytes());
    let fields = [
        ("key", "a key".to_owned()),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256".to_owned()),
        (
            "x-amz-credential",
            format!("{ACCESS}/20261127/{region}/s3/aws4_request"),
        ),
        ("x-amz-date", "20261127T000000Z".to_owned()),
        ("policy", policy.to_owned()),
        ("x-amz-signature", signature),
    ];
    Form(
        fields
            .into_iter()
            .map(|(n, v)| (n.to_owned(), v.into_bytes()))
            .collect(),
    )
}

fn verify(form: &Form) -> Result<FormSigned, S3Error> {
    Verifier::new("us-east-1").verify_form(form, &table())
}

fn code(form: &Form) -> (S3ErrorCode, u16) {
    let e = verify(form).unwrap_err();
    (e.code, e.status().as_u16())
}

#[test]
fn a_form_signed_by_the_sdk_verifies() {
    let signed = verify(&sdk_form("us-east-1")).unwrap();
    assert_eq!(signed.access_key_id, ACCESS);
    assert_eq!(signed.date.as_str(), "20261127T000000Z");
}

#[test]
fn a_changed_byte_in_the_policy_or_the_signature_is_refused() {
    let good = sdk_form("us-east-1");
    for name in ["policy", "x-amz-signature"] {
        let value = good.field(name).unwrap().to_vec();
        for i in [0, value.len() / 2, value.len() - 1] {
            let mut form = sdk_form("us-east-1");
            let mut changed = value.clone();
            changed[i] = if changed[i] == b'0' { b'1' } else { b'0' };
            form.set(name, &changed);
            assert_eq!(
                code(&form),
                (S3ErrorCode::SignatureDoesNotMatch, 403),
                "{name}[{i}]"
            );
        }
    }
    let mut upper = sdk_form("us-east-1");
    let signature = upper.field("x-amz-signature").unwrap().to_ascii_uppercase();
    upper.set("x-amz-signature", &signature);
    assert_eq!(code(&upper), (S3ErrorCode::SignatureDoesNotMatch, 403));
}

#[test]
fn anonymous_and_signature_version_2_forms_are_access_denied() {
    let denied = (S3ErrorCode::AccessDenied, 403);
    assert_eq!(code(&sdk_form("us-east-1").without("policy")), denied);
    assert_eq!(
        code(&sdk_form("us-east-1").without("x-amz-signature")),
        denied
    );
    for v2 in ["awsaccesskeyid", "signature"] {
        let mut form = sdk_form("us-east-1");
        form.set(v2, b"AKIDV2");
        assert_eq!(code(&form), denied, "{v2}");
    }
}

#[test]
fn unknown_keys_wrong_scopes_and_tokens_get_s3s_codes() {
    let mut unknown = sdk_form("us-east-1");
    unknown.set(
        "x-amz-credential",
        b"AKIDUNKNOWN/20261127/us-east-1/s3/aws4_request",
    );
    assert_eq!(code(&unknown), (S3ErrorCode::InvalidAccessKeyId, 403));
    assert_eq!(
        code(&sdk_form("eu-west-1")),
        (S3ErrorCode::AuthorizationHeaderMalformed, 400)
    );
    let mut day = sdk_form("us-east-1");
    day.set("x-amz-date", b"20261128T000000Z");
    assert_eq!(code(&day), (S3ErrorCode::AuthorizationHeaderMalformed, 400));
    let mut no_date = sdk_form("us-east-1");
    no_date.set("x-amz-date", b"2026-11-27");
    assert_eq!(code(&no_date), (S3ErrorCode::AccessDenied, 403));
    let mut algorithm = sdk_form("us-east-1");
    algorithm.set("x-amz-algorithm", b"AWS4-HMAC-SHA512");
    assert_eq!(code(&algorithm), (S3ErrorCode::InvalidRequest, 400));
    let mut token = sdk_form("us-east-1");
    token.set("x-amz-security-token", b"session");
    assert_eq!(code(&token), (S3ErrorCode::InvalidToken, 400));
}

#[test]
fn what_form_scope_signs_verifies_and_matches_the_sdk() {
    let now = UNIX_EPOCH + Duration::from_secs(T + 3_725);
    let policy = b"eyJjb25kaXRpb25zIjpbXX0=";
    let secret = SecretKey::new(SECRET);
    let key_for = |day: &str| SigningKey::derive(&secret, day, "eu-west-1", "s3");
    let signed = FormScope::new(ACCESS, "eu-west-1", now);
    let signature = signed.sign(policy, &key_for);
    assert_eq!(
        signed.credential,
        format!("{ACCESS}/20261127/eu-west-1/s3/aws4_request")
    );
    assert_eq!(signed.date, "20261127T010205Z");
    let key = aws_sigv4::sign::v4::generate_signing_key(SECRET, now, "eu-west-1", "s3");
    let expected = aws_sigv4::sign::v4::calculate_signature(key, policy);
    assert_eq!(signature.as_str(), expected);
    let form = Form(vec![
        (
            "x-amz-algorithm".into(),
            signed.algorithm.as_bytes().to_vec(),
        ),
        ("x-amz-credential".into(), signed.credential.into_bytes()),
        ("x-amz-date".into(), signed.date.into_bytes()),
        ("policy".into(), policy.to_vec()),
        (
            "x-amz-signature".into(),
            signature.as_str().as_bytes().to_vec(),
        ),
    ]);
    let verified = Verifier::new("eu-west-1").verify_form(&form, &table());
    assert_eq!(verified.unwrap().access_key_id, ACCESS);
}
