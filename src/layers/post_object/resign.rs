//! A POST Object form in `auth.mode = "resign"` (AWS S3 API reference, "Browser-Based
//! Uploads Using POST (AWS Signature Version 4)", "POST Policy"): the form's signature
//! verified against the credential table, the client's bucket scope, the policy checked
//! (the file's length as it streams), and the form's start rewritten for the store
//! (`s3::form::rewrite`).

use std::time::SystemTime;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN};
use http::{HeaderMap, HeaderName};

use crate::credentials::Credentials;
use crate::layers::auth::{check_access_control, check_scope, grants_access};
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::form::policy::{self, LengthRange, PostPolicy};
use crate::s3::form::rewrite::{self, StoreSigner};
use crate::s3::form::{self, Fields, Refusal};
use crate::s3::op::S3Request;
use crate::s3::sigv4::FormSigned;

/// The request headers a form keeps on its way to the store: no signature covers any
/// header, and SeaweedFS stores `Cache-Control`, `Content-Disposition`,
/// `Content-Encoding`, `Content-Language` and `Expires` from the POST's own headers on
/// the object, outside the policy. Only the fields say what the object gets.
const KEPT_HEADERS: [HeaderName; 4] = [HOST, CONTENT_TYPE, CONTENT_LENGTH, ORIGIN];

/// A form that may go to the store.
struct Authorized {
    /// Who signed it.
    signed: FormSigned,
    /// The lengths its policy allows the file.
    range: LengthRange,
    /// The form's start for the store, in place of the bytes read.
    prefix: Vec<u8>,
    /// The store's fields, when the bucket's key was injected into them.
    injected: Option<Fields>,
}

impl std::fmt::Debug for Authorized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The prefix holds the form's fields, SSE-C key fields among them: never shown.
        f.debug_struct("Authorized")
            .field("signed", &self.signed)
            .field("range", &self.range)
            .field("prefix_len", &self.prefix.len())
            .field("injected", &self.injected.is_some())
            .finish()
    }
}

/// The key of the object a form upload writes (`${filename}` replaced), for the layers
/// below that name the object (opaque ETags).
#[derive(Clone, Debug)]
pub struct FormKey(pub String);

/// The form read so far: its fields, the bytes they came in, the boundary.
pub(super) struct Form<'a> {
    pub fields: &'a Fields,
    pub read: &'a [u8],
    pub boundary: &'a str,
}

/// Authorizes the form ([`authorize`]; `x-amz-*` request headers, which nothing signs,
/// are refused) and readies the request for the store: the start of the form to send
/// in place of the bytes read, the Content-Length to match, no header but
/// [`KEPT_HEADERS`], [`FormSigned`] for the resign layer. Returns the start, the
/// file's allowed lengths, and the store's fields when the bucket's key was injected.
pub(super) fn for_store(
    credentials: &Credentials,
    form: &Form<'_>,
    parts: &mut http::request::Parts,
    now: SystemTime,
) -> Result<(Bytes, LengthRange, Option<Fields>), S3Error> {
    if parts
        .headers
        .keys()
        .any(|n| n.as_str().starts_with("x-amz-"))
    {
        // No signature covers the request's own headers, and a store could apply
        // them to the object with its own credentials.
        return Err(S3Error::new(
            S3ErrorCode::AccessDenied,
            "There were headers present in the request which were not signed",
        )
        .with_reason(Reason::SigV4UnsignedHeader));
    }
    let s3 = parts.extensions.get::<S3Request>();
    let authorized = authorize(
        credentials,
        form,
        s3,
        (&parts.headers, parts.uri.query()),
        now,
    )?;
    adjust_length(&mut parts.headers, form.read.len(), authorized.prefix.len())?;
    let unsigned: Vec<HeaderName> = (parts.headers.keys())
        .filter(|n| !KEPT_HEADERS.contains(n))
        .cloned()
        .collect();
    for name in unsigned {
        parts.headers.remove(name);
    }
    parts.extensions.insert(authorized.signed);
    if let Some(key) = form.fields.object_key() {
        parts.extensions.insert(FormKey(key));
    }
    Ok((
        Bytes::from(authorized.prefix),
        authorized.range,
        authorized.injected,
    ))
}

/// Verifies the form's signature, the client's scope over the bucket, the `key` field,
/// the file part and the policy (all but the file's length), then writes the form for
/// the store.
fn authorize(
    credentials: &Credentials,
    form: &Form<'_>,
    s3: Option<&S3Request>,
    (headers, query): (&HeaderMap, Option<&str>),
    now: SystemTime,
) -> Result<Authorized, S3Error> {
    let fields = form.fields;
    let signed = credentials.verifier().verify_form(fields, credentials)?;
    let bucket = s3.and_then(|s3| s3.bucket.as_deref()).ok_or_else(|| {
        S3Error::new(S3ErrorCode::AccessDenied, "Access Denied").with_reason(Reason::ClientScope)
    })?;
    check_scope(credentials, &signed.access_key_id, s3, headers, query)?;
    if let Some(client) = credentials.client(&signed.access_key_id) {
        // A form's `acl` field is the `x-amz-acl` header of a PUT; the others, as
        // `x-amz-grant-*`, carry their header's name (fields are read lower-cased).
        let grants = fields.iter().any(|(name, value)| {
            let name = if name == "acl" { "x-amz-acl" } else { name };
            grants_access(name, value)
        });
        check_access_control(client, s3, grants)?;
    }
    form::check_required(fields)?;
    let encoded = policy::encoded(fields).unwrap_or_default();
    let policy = PostPolicy::decode(encoded).map_err(|e| e.to_s3())?;
    policy
        .check(fields, bucket, fields.filename(), now)
        .map_err(|e| e.to_s3())?;
    let range = policy.length_range();
    let store = credentials.store();
    let key_for = |date: &str| credentials.store_signing_key(date);
    let signer = StoreSigner {
        access_key_id: &store.access_key,
        region: &store.region,
        key_for: &key_for,
    };
    let (prefix, injected) = rewrite::for_store(
        form.read,
        form.boundary,
        fields,
        bucket,
        range,
        &signer,
        now,
        credentials.inject_keys(bucket),
    )?;
    Ok(Authorized {
        signed,
        range,
        prefix,
        injected,
    })
}

/// The Content-Length of the body once `read` bytes are replaced by `prefix` bytes; a
/// body without one stays chunked.
fn adjust_length(headers: &mut HeaderMap, read: usize, prefix: usize) -> Result<(), S3Error> {
    let Some(value) = headers.get(CONTENT_LENGTH) else {
        return Ok(());
    };
    let length = value
        .to_str()
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .and_then(|n| n.checked_sub(read as u64))
        .and_then(|n| n.checked_add(prefix as u64))
        .ok_or_else(|| Refusal::Malformed("a Content-Length shorter than the form").to_s3())?;
    headers.insert(CONTENT_LENGTH, length.into());
    Ok(())
}
