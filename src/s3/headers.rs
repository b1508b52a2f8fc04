//! Header names the proxy reads or writes, one constant each.
//!
//! Spellings follow AWS's S3 API reference; HTTP matches names case-insensitively,
//! so the lower-case form is canonical here.

use http::header::CONTENT_ENCODING;
use http::{HeaderMap, HeaderName, HeaderValue};

/// Algorithm of the customer-provided key (`AES256`).
pub const SSE_C_ALGORITHM: HeaderName =
    HeaderName::from_static("x-amz-server-side-encryption-customer-algorithm");
/// Base64 of the 256-bit customer key. Secret.
pub const SSE_C_KEY: HeaderName =
    HeaderName::from_static("x-amz-server-side-encryption-customer-key");
/// Base64 of the MD5 of the raw customer key.
pub const SSE_C_KEY_MD5: HeaderName =
    HeaderName::from_static("x-amz-server-side-encryption-customer-key-md5");
/// Copy-source algorithm (CopyObject, UploadPartCopy).
pub const COPY_SOURCE_SSE_C_ALGORITHM: HeaderName =
    HeaderName::from_static("x-amz-copy-source-server-side-encryption-customer-algorithm");
/// Copy-source customer key. Secret.
pub const COPY_SOURCE_SSE_C_KEY: HeaderName =
    HeaderName::from_static("x-amz-copy-source-server-side-encryption-customer-key");
/// Copy-source customer key MD5.
pub const COPY_SOURCE_SSE_C_KEY_MD5: HeaderName =
    HeaderName::from_static("x-amz-copy-source-server-side-encryption-customer-key-md5");
/// Server-side encryption with store-managed keys (`AES256`, `aws:kms`, `aws:kms:dsse`).
pub const SSE: HeaderName = HeaderName::from_static("x-amz-server-side-encryption");
/// KMS key id that goes with `x-amz-server-side-encryption: aws:kms`.
pub const SSE_KMS_KEY_ID: HeaderName =
    HeaderName::from_static("x-amz-server-side-encryption-aws-kms-key-id");
/// Source of CopyObject and UploadPartCopy.
pub const COPY_SOURCE: HeaderName = HeaderName::from_static("x-amz-copy-source");
/// `x-amz-copy-source-if-match`.
pub const COPY_SOURCE_IF_MATCH: HeaderName = HeaderName::from_static("x-amz-copy-source-if-match");
/// `x-amz-copy-source-if-none-match`.
pub const COPY_SOURCE_IF_NONE_MATCH: HeaderName =
    HeaderName::from_static("x-amz-copy-source-if-none-match");
/// DeleteObject's condition on the object's size.
pub const IF_MATCH_SIZE: HeaderName = HeaderName::from_static("x-amz-if-match-size");
/// DeleteObject's condition on the object's modification time.
pub const IF_MATCH_LAST_MODIFIED_TIME: HeaderName =
    HeaderName::from_static("x-amz-if-match-last-modified-time");
/// PutObject's append offset (S3 Express One Zone).
pub const WRITE_OFFSET_BYTES: HeaderName = HeaderName::from_static("x-amz-write-offset-bytes");
/// Request id the store (and the proxy, for its own errors) returns.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-amz-request-id");
/// Payload hash the client signed (`UNSIGNED-PAYLOAD`, `STREAMING-…`, or a hex SHA-256).
pub const CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");
/// Length of the payload inside an aws-chunked body.
pub const DECODED_CONTENT_LENGTH: HeaderName =
    HeaderName::from_static("x-amz-decoded-content-length");
/// Trailer fields an aws-chunked body ends with (`x-amz-checksum-crc32`, …).
pub const AMZ_TRAILER: HeaderName = HeaderName::from_static("x-amz-trailer");
/// Base64 MD5 of the body (RFC 1864); S3 requires it on some requests.
pub const CONTENT_MD5: HeaderName = HeaderName::from_static("content-md5");
/// The SigV4 request time, `yyyyMMddTHHmmssZ`.
pub const AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
/// The `Content-Encoding` coding of an aws-chunked upload body (compared without case).
pub const AWS_CHUNKED: &[u8] = b"aws-chunked";
/// Prefix of the flexible-checksum headers (`x-amz-checksum-crc32`, …, and the two below).
pub const CHECKSUM_PREFIX: &str = "x-amz-checksum-";
/// Base64 of the big-endian CRC-32 (ISO-HDLC) of the object or part.
pub const CHECKSUM_CRC32: HeaderName = HeaderName::from_static("x-amz-checksum-crc32");
/// Base64 of the big-endian CRC-32C (Castagnoli) of the object or part.
pub const CHECKSUM_CRC32C: HeaderName = HeaderName::from_static("x-amz-checksum-crc32c");
/// Base64 of the big-endian CRC-64/NVME of the object or part.
pub const CHECKSUM_CRC64NVME: HeaderName = HeaderName::from_static("x-amz-checksum-crc64nvme");
/// Base64 of the SHA-1 of the object or part.
pub const CHECKSUM_SHA1: HeaderName = HeaderName::from_static("x-amz-checksum-sha1");
/// Base64 of the SHA-256 of the object or part.
pub const CHECKSUM_SHA256: HeaderName = HeaderName::from_static("x-amz-checksum-sha256");
/// Algorithm of a multipart upload's checksums (CreateMultipartUpload).
pub const CHECKSUM_ALGORITHM: HeaderName = HeaderName::from_static("x-amz-checksum-algorithm");
/// `FULL_OBJECT` or `COMPOSITE` (CreateMultipartUpload, CompleteMultipartUpload).
pub const CHECKSUM_TYPE: HeaderName = HeaderName::from_static("x-amz-checksum-type");
/// The object size a CompleteMultipartUpload expects (AWS compares it with the parts').
pub const MP_OBJECT_SIZE: HeaderName = HeaderName::from_static("x-amz-mp-object-size");
/// `ENABLED` asks GetObject and HeadObject for the stored checksum.
pub const CHECKSUM_MODE: HeaderName = HeaderName::from_static("x-amz-checksum-mode");
/// The algorithm an SDK used for the checksum it sends in a header or trailer.
pub const SDK_CHECKSUM_ALGORITHM: HeaderName =
    HeaderName::from_static("x-amz-sdk-checksum-algorithm");
/// Session token of temporary credentials. Secret.
pub const SECURITY_TOKEN: HeaderName = HeaderName::from_static("x-amz-security-token");

/// RFC 7239 forwarding header; a client's copy is never trusted.
pub const FORWARDED: HeaderName = HeaderName::from_static("forwarded");
/// De-facto forwarding header read by RGW's `rgw_trust_forwarded_https`.
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
/// Prefix of the de-facto `X-Forwarded-*` family, all stripped from client requests.
pub const X_FORWARDED_PREFIX: &str = "x-forwarded-";
/// Legacy hop-by-hop header (RFC 9110 §7.6.1).
pub const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
/// Hop-by-hop header (RFC 9110 §7.6.1).
pub const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// Headers whose values are secret: never logged, never echoed.
pub const SENSITIVE: [HeaderName; 4] = [
    http::header::AUTHORIZATION,
    SSE_C_KEY,
    COPY_SOURCE_SSE_C_KEY,
    SECURITY_TOKEN,
];

/// Removes `aws-chunked` from `Content-Encoding`, keeping the other codings in order;
/// the header goes when nothing is left. A header without it is left as sent.
///
/// `aws-chunked` names the framing of one upload, never an object's coding: S3 drops it
/// from what it keeps, so an answer naming it shows a store that kept it.
pub fn drop_aws_chunked(headers: &mut HeaderMap) {
    let codings: Vec<&[u8]> = headers
        .get_all(CONTENT_ENCODING)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|c| !c.is_empty())
        .collect();
    if !codings.iter().any(|c| c.eq_ignore_ascii_case(AWS_CHUNKED)) {
        return;
    }
    let kept: Vec<&[u8]> = codings
        .into_iter()
        .filter(|c| !c.eq_ignore_ascii_case(AWS_CHUNKED))
        .collect();
    let joined = kept.join(&b", "[..]);
    match HeaderValue::from_bytes(&joined) {
        Ok(value) if !joined.is_empty() => {
            headers.insert(CONTENT_ENCODING, value);
        }
        _ => {
            headers.remove(CONTENT_ENCODING);
        }
    }
}

/// Collapses identical repeats of a single-valued header into one; differing values
/// are all kept, for the caller to refuse.
pub fn collapse_identical(headers: &mut HeaderMap, name: HeaderName) {
    let mut values = headers.get_all(&name).iter();
    let (Some(first), Some(_)) = (values.next(), values.next()) else {
        return;
    };
    if headers.get_all(&name).iter().all(|v| v == first) {
        let first = first.clone();
        headers.insert(name, first);
    }
}

/// RFC 9110 `tchar`, the bytes of a header name or token, as a table: header names,
/// SigV4's `SignedHeaders`, aws-chunked trailer names and form part names are checked
/// byte by byte against it.
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

/// Whether `b` is an RFC 9110 `tchar`.
pub fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}
