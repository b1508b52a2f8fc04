//! aws-sigv4 as the oracle, configured as aws-sdk-s3 configures it (single encoding, no
//! path normalization, `x-amz-content-sha256`): random requests it signs, in the header
//! and in the query, must verify, and the proxy's signer must write the same signature.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation,
    SigningSettings, UriPathNormalizationMode, sign as aws_sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;

use super::*;

pub(super) const ACCESS_KEY: &str = "AKIDORACLE";
pub(super) const SECRET: &str = "oracle/Secret+Key";
pub(super) const HOST: &str = "bucket.s3.example.com";

/// What aws-sdk-s3 leaves unencoded in a key (its "greedy label"): RFC 3986's unreserved
/// bytes and `/`.
pub(super) const KEY_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');
/// Query names and values: the unreserved bytes only.
const QUERY_SET: &AsciiSet = &KEY_SET.add(b'/');

/// A request to sign.
#[derive(Clone, Debug)]
pub(super) struct Spec {
    pub method: Method,
    /// The path as sent, already encoded.
    pub path: String,
    /// The query as sent, already encoded.
    pub query: Option<String>,
    /// Headers to sign, `host` among them.
    pub headers: Vec<(String, String)>,
    /// `x-amz-content-sha256` of header auth.
    pub payload: String,
    pub region: String,
    pub time: SystemTime,
}

/// A signed request as it would arrive.
#[derive(Clone, Debug)]
pub(super) struct Wire {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub signature: String,
}

impl Wire {
    pub fn request(&self) -> Request<'_> {
        Request {
            method: &self.method,
            path: &self.path,
            query: self.query.as_deref(),
            headers: &self.headers,
        }
    }
}

pub(super) fn store() -> HashMap<String, SecretKey> {
    HashMap::from([(ACCESS_KEY.to_owned(), SecretKey::new(SECRET))])
}

/// Signs `spec` with aws-sigv4: in the header, or presigned for `expires`.
pub(super) fn sdk_sign(spec: &Spec, expires: Option<Duration>) -> Wire {
    let identity: Identity = AwsCredentials::new(ACCESS_KEY, SECRET, None, None, "test").into();
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    if let Some(expires) = expires {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(expires);
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&spec.region)
        .name("s3")
        .time(spec.time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let uri = match &spec.query {
        Some(q) => format!("https://{HOST}{}?{q}", spec.path),
        None => format!("https://{HOST}{}", spec.path),
    };
    let body = match expires {
        Some(_) => SignableBody::UnsignedPayload,
        None => SignableBody::Precomputed(spec.payload.clone()),
    };
    let headers = spec.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let signable = SignableRequest::new(spec.method.as_str(), uri.clone(), headers, body).unwrap();
    let (instructions, signature) = aws_sign(signable, &params).unwrap().into_parts();
    let mut request = http::Request::builder()
        .method(spec.method.clone())
        .uri(&uri);
    for (name, value) in &spec.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let mut request = request.body(()).unwrap();
    instructions.apply_to_request_http1x(&mut request);
    Wire {
        method: spec.method.clone(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().map(str::to_owned),
        headers: request.headers().clone(),
        signature,
    }
}

/// Signs `spec` with this module's signer.
pub(super) fn own_sign(spec: &Spec) -> (Wire, Signed) {
    let mut headers = HeaderMap::new();
    for (name, value) in &spec.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
        headers.append(name, HeaderValue::from_str(value).unwrap());
    }
    let parts = Parts {
        method: spec.method.as_str(),
        path: &spec.path,
        query: spec.query.as_deref(),
        headers: &headers,
    };
    let credentials = Credentials {
        access_key_id: ACCESS_KEY.to_owned(),
        secret_key: SecretKey::new(SECRET),
    };
    let signed = sign(
        &parts,
        &spec.payload,
        &credentials,
        &spec.region,
        SERVICE,
        spec.time,
    )
    .unwrap();
    headers.insert(http::header::AUTHORIZATION, signed.authorization.clone());
    headers.insert("x-amz-date", signed.x_amz_date.clone());
    headers.insert("x-amz-content-sha256", signed.x_amz_content_sha256.clone());
    let wire = Wire {
        method: spec.method.clone(),
        path: spec.path.clone(),
        query: spec.query.clone(),
        headers,
        signature: signed.signature.as_str().to_owned(),
    };
    (wire, signed)
}

pub(super) fn key_strategy() -> impl Strategy<Value = String> {
    // Spaces, unicode, `+`, `%`, `~`, `//`, `=`, `&` and friends.
    proptest::collection::vec(
        prop_oneof![
            "[a-zA-Z0-9._-]{1,6}",
            Just(" ".to_owned()),
            Just("+".to_owned()),
            Just("%".to_owned()),
            Just("~".to_owned()),
            Just("//".to_owned()),
            Just("/".to_owned()),
            Just("=".to_owned()),
            Just("&".to_owned()),
            Just("é".to_owned()),
            Just("ሴ".to_owned()),
            Just("!*'();:@$,?#[]".to_owned()),
        ],
        1..8,
    )
    .prop_map(|parts| parts.concat())
}

fn query_strategy() -> impl Strategy<Value = Option<String>> {
    let param = (
        "[a-zA-Z][a-zA-Z0-9 +%=&~é-]{0,6}",
        "[a-zA-Z0-9 +%=&~/é-]{0,8}",
    );
    proptest::option::of(proptest::collection::vec(param, 1..5)).prop_map(|params| {
        params.map(|ps| {
            ps.iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        utf8_percent_encode(k, QUERY_SET),
                        utf8_percent_encode(v, QUERY_SET)
                    )
                })
                .collect::<Vec<_>>()
                .join("&")
        })
    })
}

fn headers_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    let names = prop_oneof![
        Just("content-type"),
        Just("x-amz-meta-a"),
        Just("x-amz-meta-b"),
        Just("x-amz-storage-class"),
        Just("x-custom"),
        Just("content-md5"),
        Just("cache-control"),
    ];
    // Values with odd whitespace: leading, trailing and repeated spaces, and tabs.
    let value = "[ \t]{0,2}[a-zA-Z0-9/+=]{1,5}([ \t]{1,3}[a-zA-Z0-9,;]{1,4}){0,3} {0,2}";
    proptest::collection::btree_map(names, value, 0..5)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

pub(super) fn spec_strategy() -> impl Strategy<Value = Spec> {
    let method = prop_oneof![
        Just(Method::GET),
        Just(Method::PUT),
        Just(Method::POST),
        Just(Method::DELETE),
        Just(Method::HEAD)
    ];
    let payload = prop_oneof![
        Just(UNSIGNED_PAYLOAD.to_owned()),
        Just(STREAMING_SIGNED.to_owned()),
        Just(STREAMING_UNSIGNED_TRAILER.to_owned()),
        any::<[u8; 32]>().prop_map(|d| String::from_utf8(crypto::hex(&d).to_vec()).unwrap()),
    ];
    let region = prop_oneof![Just("us-east-1"), Just("eu-west-3"), Just("local")];
    (
        method,
        key_strategy(),
        query_strategy(),
        headers_strategy(),
        payload,
        region,
        946_684_800u64..4_102_444_800,
    )
        .prop_map(|(method, key, query, mut headers, payload, region, secs)| {
            headers.push(("host".to_owned(), HOST.to_owned()));
            Spec {
                method,
                path: format!("/{}", utf8_percent_encode(&key, KEY_SET)),
                query,
                headers,
                payload,
                region: region.to_owned(),
                time: UNIX_EPOCH + Duration::from_secs(secs),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn requests_aws_sigv4_signs_in_the_header_verify(spec in spec_strategy(), skew in -900i64..=900) {
        let wire = sdk_sign(&spec, None);
        let now = UNIX_EPOCH + Duration::from_secs(
            spec.time.duration_since(UNIX_EPOCH).unwrap().as_secs().checked_add_signed(skew).unwrap(),
        );
        let verifier = Verifier::new(&spec.region);
        let verified = verifier.verify(&wire.request(), &store(), now).unwrap();
        prop_assert_eq!(verified.signature.as_str(), wire.signature.as_str());
        prop_assert_eq!(verified.access_key_id, ACCESS_KEY);
        prop_assert_eq!(verified.location, Location::Header);
        prop_assert_eq!(verified.payload, PayloadMode::parse(spec.payload.as_bytes()).unwrap());
    }

    #[test]
    fn urls_aws_sigv4_presigns_verify_until_they_expire(spec in spec_strategy(), expires in 1u64..=604_800) {
        let wire = sdk_sign(&spec, Some(Duration::from_secs(expires)));
        let verifier = Verifier::new(&spec.region);
        let verified = verifier.verify(&wire.request(), &store(), spec.time + Duration::from_secs(expires)).unwrap();
        prop_assert_eq!(verified.signature.as_str(), wire.signature.as_str());
        prop_assert_eq!(verified.location, Location::Query);
        prop_assert_eq!(verified.payload, PayloadMode::Unsigned);
        let late = spec.time + Duration::from_secs(expires + 1);
        let err = verifier.verify(&wire.request(), &store(), late).unwrap_err();
        prop_assert_eq!(err.message.as_ref(), "Request has expired");
    }

    #[test]
    fn the_signer_writes_what_aws_sigv4_writes(spec in spec_strategy()) {
        let sdk = sdk_sign(&spec, None);
        let (own, signed) = own_sign(&spec);
        prop_assert_eq!(&own.headers["authorization"], &sdk.headers["authorization"]);
        prop_assert_eq!(&own.headers["x-amz-date"], &sdk.headers["x-amz-date"]);
        prop_assert_eq!(&own.headers["x-amz-content-sha256"], &sdk.headers["x-amz-content-sha256"]);
        let verified = Verifier::new(&spec.region).verify(&own.request(), &store(), spec.time).unwrap();
        prop_assert_eq!(verified.signature, signed.signature);
        prop_assert_eq!(verified.scope, signed.scope);
    }
}

/// A coding as clients write one: a token, maybe with spaces around or inside a list.
fn coding_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("aws-chunked".to_owned()),
        Just("gzip".to_owned()),
        "[ ]{0,2}[a-z0-9-]{0,8}(,[ ]{0,2}[a-z0-9-]{1,8}){0,2}[ ]{0,2}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The one line the proxy joins a repeated `Content-Encoding` into
    /// (`strict::fold_content_encoding`) carries the signature made over the lines.
    #[test]
    fn a_folded_content_encoding_keeps_the_signature(
        mut spec in spec_strategy(),
        codings in prop::collection::vec(coding_strategy(), 2..4),
    ) {
        for coding in &codings {
            spec.headers.push(("content-encoding".to_owned(), coding.clone()));
        }
        let mut wire = sdk_sign(&spec, None);
        let verifier = Verifier::new(&spec.region);
        let before = verifier.verify(&wire.request(), &store(), spec.time).unwrap();
        crate::s3::strict::fold_content_encoding(&mut wire.headers);
        let lines: Vec<_> = wire.headers.get_all("content-encoding").iter().collect();
        prop_assert_eq!(lines.len(), 1);
        let after = verifier.verify(&wire.request(), &store(), spec.time).unwrap();
        prop_assert_eq!(after.signature, before.signature);
    }
}
