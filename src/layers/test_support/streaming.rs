//! Streaming uploads as a client sends them in resign mode: the `sigv4::Verified` the
//! auth layer leaves in the request, and aws-chunked bodies whose chunk and trailer
//! signatures come from aws-sigv4 (`sign_chunk` / `sign_trailer`), an implementation
//! independent of the proxy's own chain.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials as AwsCredentials;
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;

use crate::s3::checksum::Algorithm;
use crate::s3::sigv4::{AmzDate, Location, PayloadMode, SecretKey, SigningKey, Verified};

const ACCESS_KEY: &str = "AKIDSTREAMING";
const SECRET: &str = "streaming/secret+key";
const REGION: &str = "us-east-1";

/// The signed request time of every test upload.
fn time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

/// What the auth layer inserts for a request signed in `mode`.
pub(crate) fn verified(mode: PayloadMode) -> Verified {
    let date = AmzDate::from_system_time(time());
    let key = SigningKey::derive(&SecretKey::new(SECRET), date.date(), REGION, "s3");
    let signature = key.sign(b"the request's own string to sign");
    Verified {
        access_key_id: ACCESS_KEY.to_owned(),
        location: Location::Header,
        scope: format!("{}/{REGION}/s3/aws4_request", date.date()),
        signing_key: key,
        date,
        signature,
        signed_header_list: "host;x-amz-content-sha256".to_owned(),
        payload: mode,
    }
}

/// An aws-chunked body of `payload` in chunks of `chunk` bytes (the last takes the rest),
/// then `trailers`; chunks signed when `mode` signs them, the trailer too when it does.
pub(crate) fn encode(
    payload: &[u8],
    chunk: usize,
    mode: PayloadMode,
    trailers: &[(&str, &str)],
) -> Vec<u8> {
    let identity: Identity = AwsCredentials::new(ACCESS_KEY, SECRET, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("s3")
        .time(time())
        .settings(())
        .build()
        .expect("signing parameters");
    let mut previous = verified(mode).signature.as_str().to_owned();
    let mut out = Vec::with_capacity(payload.len() + 256);
    let pieces = payload.chunks(chunk.max(1)).chain(std::iter::once(&[][..]));
    for piece in pieces {
        out.extend_from_slice(format!("{:x}", piece.len()).as_bytes());
        if mode.signs_chunks() {
            let signed = v4::sign_chunk(&Bytes::copy_from_slice(piece), &previous, &params)
                .expect("a chunk signature");
            previous = signed.signature().to_owned();
            out.extend_from_slice(format!(";chunk-signature={previous}").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if !piece.is_empty() {
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
    }
    let mut fields = aws_smithy_runtime_api::http::Headers::new();
    for (name, value) in trailers {
        out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
        fields.insert(name.to_string(), value.to_string());
    }
    if mode.signs_trailer() {
        let signed = v4::sign_trailer(&fields, &previous, &params).expect("a trailer signature");
        out.extend_from_slice(
            format!("x-amz-trailer-signature:{}\r\n", signed.signature()).as_bytes(),
        );
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The header (and trailer) value of `payload`'s checksum in `algorithm`.
pub(crate) fn checksum(algorithm: Algorithm, payload: &[u8]) -> String {
    let mut hasher = algorithm.hasher();
    hasher.update(payload);
    hasher.finish().to_base64()
}
