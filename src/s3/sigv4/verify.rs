//! The two verification flows, header and presigned query, with their checks in the order
//! S3 answers them (so a request with two faults gets S3's error for the first), then the
//! shared end: unsigned headers, session token, access key, signature. The order, codes and
//! messages follow S3's answers as recorded from live responses; AWS documents the 15-minute
//! skew and the one-week `X-Amz-Expires` limit ("Authenticating Requests: Using Query
//! Parameters").

use std::time::SystemTime;

use http::header::{AUTHORIZATION, DATE};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::canonical::{self, Parts, PathReading, string_to_sign, write_canonical};
use super::crypto::EMPTY_SHA256;
use super::parse::{self, Credential, QueryAuth};
use super::payload::{PayloadMode, UNSIGNED_PAYLOAD};
use super::refuse::{self, Location};
use super::time::AmzDate;
use super::{CredentialStore, MAX_SKEW_SECS, Profile, Request, Verified, Verifier};
use crate::s3::error::S3Error;
use crate::s3::headers::{AMZ_DATE, CONTENT_SHA256, SECURITY_TOKEN};

/// What a request claims, once read and checked for shape, scope and time.
struct Claim<'a> {
    location: Location,
    credential: Credential<'a>,
    signed: Vec<&'a str>,
    /// `signed` as sent, joined by `;` (what `parse::signed_headers` accepts is exactly that).
    signed_list: &'a str,
    signature: &'a str,
    date: AmzDate,
    payload_line: &'a str,
    payload: PayloadMode,
    token: bool,
}

/// Picks the mechanism: header, presigned query, both (refused), or none (refused).
pub fn verify(
    verifier: &Verifier,
    request: &Request<'_>,
    credentials: &dyn CredentialStore,
    now: SystemTime,
) -> Result<Verified, S3Error> {
    let query = QueryAuth::read(request.query.unwrap_or(""))?;
    let query_signed = query.is_presigned() || query.v2_signature;
    let authorization =
        single(request.headers, &AUTHORIZATION).map_err(|()| refuse::header_components())?;
    let claim = match authorization {
        Some(_) if query_signed => return Err(refuse::two_mechanisms()),
        Some(value) => header_claim(verifier, request, value, now)?,
        None if query.is_presigned() && query.v2_signature => {
            return Err(refuse::two_mechanisms());
        }
        None if query.v2_signature => return Err(refuse::unsupported_mechanism()),
        None if query.is_presigned() => query_claim(verifier, request, &query, now)?,
        None => return Err(refuse::anonymous()),
    };
    finish(verifier, request, credentials, claim)
}

/// `Authorization: AWS4-HMAC-SHA256 …`: the scheme, the payload hash, the date and its
/// skew, the components, the scope, the scope's date.
fn header_claim<'a>(
    verifier: &Verifier,
    request: &Request<'a>,
    authorization: &'a str,
    now: SystemTime,
) -> Result<Claim<'a>, S3Error> {
    let rest = parse::scheme(authorization)?;
    let (payload_line, payload) =
        payload(verifier, request.headers)?.ok_or_else(refuse::missing_content_sha256)?;
    let date = request_date(request.headers)?;
    if date.seconds_after(now).unsigned_abs() > MAX_SKEW_SECS {
        return Err(refuse::skewed());
    }
    let auth = parse::header_auth(rest)?;
    let location = Location::Header;
    let credential = parse::credential(
        auth.credential,
        location,
        &verifier.region,
        &verifier.service,
    )?;
    if credential.date != date.date() {
        let detail = "Invalid credential date. Date is not the same as X-Amz-Date.";
        return Err(refuse::malformed(location, detail));
    }
    Ok(Claim {
        location,
        credential,
        signed: parse::signed_headers(auth.signed_headers, location)?,
        signed_list: auth.signed_headers,
        signature: auth.signature,
        date,
        payload_line,
        payload,
        token: request.headers.contains_key(SECURITY_TOKEN),
    })
}

/// The request time of header auth: `x-amz-date` when sent (readable or not), else `Date`.
fn request_date(headers: &HeaderMap) -> Result<AmzDate, S3Error> {
    if let Some(value) = single(headers, &AMZ_DATE).map_err(|()| refuse::no_date())? {
        return AmzDate::parse(value.as_bytes()).ok_or_else(refuse::no_date);
    }
    let date = single(headers, &DATE).map_err(|()| refuse::no_date())?;
    date.and_then(AmzDate::from_http_date)
        .ok_or_else(refuse::no_date)
}

/// `?X-Amz-Algorithm=…`: the algorithm, the six parameters, the date, the expiry's
/// number, not-yet-valid, expired, the scope, the scope's date.
fn query_claim<'a>(
    verifier: &Verifier,
    request: &Request<'a>,
    query: &'a QueryAuth,
    now: SystemTime,
) -> Result<Claim<'a>, S3Error> {
    parse::query_algorithm(query.algorithm.as_deref().unwrap_or(""))?;
    let (Some(credential), Some(date), Some(expires), Some(signed), Some(signature), false) = (
        query.credential.as_deref(),
        query.date.as_deref(),
        query.expires.as_deref(),
        query.signed_headers.as_deref(),
        query.signature.as_deref(),
        query.repeated,
    ) else {
        return Err(refuse::query_missing());
    };
    let date_text = date;
    let date = AmzDate::parse(date.as_bytes()).ok_or_else(|| {
        refuse::query_parameters(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
        )
    })?;
    let expires = parse::expires(expires)?;
    let age = date.seconds_after(now);
    if age > 0 && age.unsigned_abs() > MAX_SKEW_SECS {
        return Err(refuse::not_yet_valid());
    }
    if age < 0 && age.unsigned_abs() > expires {
        return Err(refuse::expired());
    }
    let location = Location::Query;
    let credential = parse::credential(credential, location, &verifier.region, &verifier.service)?;
    if credential.date != date.date() {
        return Err(refuse::query_parameters(format!(
            "Invalid credential date \"{}\". This date is not the same as X-Amz-Date: \"{}\".",
            credential.date,
            date_text.get(..8).unwrap_or(date_text)
        )));
    }
    // A presigned URL signs `UNSIGNED-PAYLOAD` unless the request says otherwise.
    let (payload_line, payload) =
        payload(verifier, request.headers)?.unwrap_or((UNSIGNED_PAYLOAD, PayloadMode::Unsigned));
    Ok(Claim {
        location,
        credential,
        signed: parse::signed_headers(signed, location)?,
        signed_list: signed,
        signature,
        date,
        payload_line,
        payload,
        token: query.security_token.is_some(),
    })
}

/// `x-amz-content-sha256` as sent and as read; `None` when absent (S3), the empty body's
/// hash when absent (plain SigV4).
fn payload<'a>(
    verifier: &Verifier,
    headers: &'a HeaderMap,
) -> Result<Option<(&'a str, PayloadMode)>, S3Error> {
    match single(headers, &CONTENT_SHA256) {
        Ok(Some(value)) => Ok(Some((value, PayloadMode::parse(value.as_bytes())?))),
        Ok(None) if verifier.profile != Profile::S3 => {
            let mode = PayloadMode::parse(EMPTY_SHA256.as_bytes())?;
            Ok(Some((EMPTY_SHA256, mode)))
        }
        Ok(None) => Ok(None),
        Err(()) => Err(refuse::bad_content_sha256()),
    }
}

/// The checks both flows end with: the session token, the headers S3 requires signed, the
/// access key, and the signature itself.
fn finish(
    verifier: &Verifier,
    request: &Request<'_>,
    credentials: &dyn CredentialStore,
    claim: Claim<'_>,
) -> Result<Verified, S3Error> {
    let values = signed_values(request.headers, &claim.signed)?;
    if claim.token && verifier.profile == Profile::S3 {
        return Err(refuse::invalid_token());
    }
    let access_key_id = claim.credential.access_key_id;
    let key = credentials
        .signing_key(
            access_key_id,
            claim.credential.date,
            &verifier.region,
            &verifier.service,
        )
        .ok_or_else(refuse::unknown_key)?;
    let parts = Parts {
        method: request.method.as_str(),
        path: request.path,
        query: request.query,
        headers: request.headers,
    };
    let skip_signature = claim.location == Location::Query;
    let canonical = write_canonical(
        &parts,
        PathReading::AsSent,
        &claim.signed,
        &values,
        claim.payload_line,
        skip_signature,
    )?;
    let scope = claim.credential.scope();
    let signature = key.sign(string_to_sign(&claim.date, &scope, &canonical).as_bytes());
    if !signature.matches(claim.signature.as_bytes()) {
        return Err(refuse::signature_mismatch());
    }
    Ok(Verified {
        access_key_id: access_key_id.to_owned(),
        location: claim.location,
        signing_key: key,
        scope,
        date: claim.date,
        signature,
        signed_header_list: claim.signed_list.to_owned(),
        payload: claim.payload,
    })
}

/// The signed headers' values, for the canonical request. S3 refuses a request carrying,
/// unsigned, a header it requires signed: `host` (which must always be signed),
/// `content-md5`, and every `x-amz-*` header but `x-amz-content-sha256`, whose value is
/// the canonical request's last line anyway.
fn signed_values<'h>(
    headers: &'h HeaderMap,
    signed: &[&str],
) -> Result<Vec<(usize, &'h HeaderValue)>, S3Error> {
    let must_sign = |name: &str| {
        name == "host"
            || name == "content-md5"
            || (name.starts_with("x-amz-") && name != CONTENT_SHA256.as_str())
    };
    if signed.binary_search(&"host").is_err() {
        return Err(refuse::unsigned_headers());
    }
    canonical::signed_values(headers, signed, must_sign)
}

/// The one value of a header as text; `Err` when it is repeated or not visible ASCII.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, ()> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => value.to_str().map(Some).map_err(|_| ()),
        (Some(_), Some(_)) => Err(()),
    }
}
