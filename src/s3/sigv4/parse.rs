//! Reading what a SigV4 request claims: the `Authorization: AWS4-HMAC-SHA256 …` header,
//! the `X-Amz-*` parameters of a presigned URL (AWS S3 API reference, "Authenticating
//! Requests: Using the Authorization Header" and "…: Using Query Parameters"), and the
//! credential scope both carry. Strict: what S3 would refuse is refused with its answer.

use http::HeaderMap;
use http::header::{AUTHORIZATION, CONTENT_TYPE};

use super::canonical::{ALGORITHM, decode_query_component};
use super::refuse::{self, Location};
use crate::s3::error::{Reason, S3Error, S3ErrorCode};
use crate::s3::headers::is_tchar;

/// The scheme of SigV4a, which S3 takes and the proxy does not verify.
const ECDSA_ALGORITHM: &str = "AWS4-ECDSA-P256-SHA256";
/// The credential scope's last element.
const TERMINATOR: &str = "aws4_request";
/// The longest `X-Amz-Expires`: a week (604800 was served and 604801 refused by S3).
pub const MAX_EXPIRES: u64 = 604_800;

/// The three components of an `Authorization` header, as sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderAuth<'a> {
    /// `Credential=`: `AK/yyyymmdd/region/service/aws4_request`.
    pub credential: &'a str,
    /// `SignedHeaders=`: lower-case names separated by `;`.
    pub signed_headers: &'a str,
    /// `Signature=`: 64 hex digits, compared as sent.
    pub signature: &'a str,
}

/// Checks an `Authorization` header's scheme and returns what follows it. Every value is
/// either SigV4 or refused with S3's answer for its scheme: no space after it, Signature
/// Version 2 or SigV4a (not verified here), or a scheme S3 does not know.
pub fn scheme(value: &str) -> Result<&str, S3Error> {
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Err(refuse::no_space());
    };
    if scheme.eq_ignore_ascii_case("AWS") || scheme.eq_ignore_ascii_case(ECDSA_ALGORITHM) {
        return Err(refuse::unsupported_mechanism());
    }
    if !scheme.eq_ignore_ascii_case(ALGORITHM) {
        return Err(refuse::unsupported_type());
    }
    Ok(rest)
}

/// Reads the three components that follow the scheme.
pub fn header_auth(rest: &str) -> Result<HeaderAuth<'_>, S3Error> {
    components(rest).ok_or_else(refuse::header_components)
}

/// `Credential=…, SignedHeaders=…, Signature=…`: each exactly once, in any order,
/// separated by a comma and any number of spaces (S3 takes both `,` and `, `).
fn components(rest: &str) -> Option<HeaderAuth<'_>> {
    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (name, value) = part.trim_start_matches(' ').split_once('=')?;
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => return None,
        };
        if slot.replace(value).is_some() || value.is_empty() {
            return None;
        }
    }
    Some(HeaderAuth {
        credential: credential?,
        signed_headers: signed_headers?,
        signature: signature?,
    })
}

/// A credential's parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credential<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// `yyyymmdd`.
    pub date: &'a str,
    /// The region.
    pub region: &'a str,
    /// The service (`s3`).
    pub service: &'a str,
}

impl Credential<'_> {
    /// `yyyymmdd/region/service/aws4_request`.
    pub fn scope(&self) -> String {
        scope(self.date, self.region, self.service)
    }
}

/// `yyyymmdd/region/service/aws4_request`, built without the formatting machinery (one
/// is built for every request verified and every request signed).
pub fn scope(date: &str, region: &str, service: &str) -> String {
    let mut out = String::with_capacity(date.len() + region.len() + service.len() + 16);
    for part in [date, region, service] {
        out.push_str(part);
        out.push('/');
    }
    out.push_str(TERMINATOR);
    out
}

/// Splits and checks a credential in S3's order: five parts, the date's format, the
/// region (non-empty, then this endpoint's), the service, the terminator.
pub fn credential<'a>(
    text: &'a str,
    location: Location,
    region: &str,
    service: &str,
) -> Result<Credential<'a>, S3Error> {
    let mut parts = text.split('/');
    let (Some(access_key_id), Some(date), Some(got_region), Some(got_service), Some(end), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(refuse::credential_format(location));
    };
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        let detail = format!(
            "incorrect date format \"{date}\". This date in the credential must be in the \
             format \"yyyyMMdd\"."
        );
        return Err(refuse::malformed(location, detail));
    }
    if got_region.is_empty() {
        let detail = "a non-empty region must be provided in the credential.";
        return Err(refuse::malformed(location, detail));
    }
    if got_region != region {
        let detail = format!("the region '{got_region}' is wrong; expecting '{region}'");
        return Err(refuse::malformed(location, detail));
    }
    if got_service != service {
        let detail =
            format!("incorrect service \"{got_service}\". This endpoint belongs to \"{service}\".");
        return Err(refuse::malformed(location, detail));
    }
    if end != TERMINATOR {
        let detail = format!("incorrect terminal \"{end}\". This endpoint uses \"{TERMINATOR}\".");
        return Err(refuse::malformed(location, detail));
    }
    Ok(Credential {
        access_key_id,
        date,
        region: got_region,
        service: got_service,
    })
}

/// The `SignedHeaders` list: non-empty lower-case names, strictly ascending (the order the
/// canonical headers are written in; SigV4 sorts them and a list in another order, or with
/// a repeat, could not come from a conforming signer).
pub fn signed_headers(text: &str, location: Location) -> Result<Vec<&str>, S3Error> {
    let names: Vec<&str> = text.split(';').collect();
    let well_formed = names
        .iter()
        .all(|n| !n.is_empty() && n.bytes().all(|b| is_tchar(b) && !b.is_ascii_uppercase()))
        && names.windows(2).all(|w| w[0] < w[1]);
    if well_formed {
        return Ok(names);
    }
    Err(match location {
        Location::Header => refuse::header_components(),
        Location::Query => refuse::query_parameters(
            "X-Amz-SignedHeaders must be lower-case header names separated by ';', sorted.",
        ),
    })
}

/// The `X-Amz-*` parameters of a presigned URL, decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryAuth {
    /// `X-Amz-Algorithm`.
    pub algorithm: Option<String>,
    /// `X-Amz-Credential`.
    pub credential: Option<String>,
    /// `X-Amz-Date`.
    pub date: Option<String>,
    /// `X-Amz-Expires`.
    pub expires: Option<String>,
    /// `X-Amz-SignedHeaders`.
    pub signed_headers: Option<String>,
    /// `X-Amz-Signature`.
    pub signature: Option<String>,
    /// `X-Amz-Security-Token`.
    pub security_token: Option<String>,
    /// Whether a Signature Version 2 `Signature` parameter is present.
    pub v2_signature: bool,
    /// Whether a parameter above appears more than once.
    pub repeated: bool,
}

impl QueryAuth {
    /// Collects the authentication parameters of a raw query string.
    pub fn read(query: &str) -> Result<Self, S3Error> {
        let mut auth = Self::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "X-Amz-Algorithm" => &mut auth.algorithm,
                "X-Amz-Credential" => &mut auth.credential,
                "X-Amz-Date" => &mut auth.date,
                "X-Amz-Expires" => &mut auth.expires,
                "X-Amz-SignedHeaders" => &mut auth.signed_headers,
                "X-Amz-Signature" => &mut auth.signature,
                "X-Amz-Security-Token" => &mut auth.security_token,
                "Signature" => {
                    auth.v2_signature = true;
                    continue;
                }
                _ => continue,
            };
            let value = String::from_utf8(decode_query_component(value)?)
                .map_err(|_| refuse::invalid_uri())?;
            auth.repeated |= slot.replace(value).is_some();
        }
        Ok(auth)
    }

    /// Whether the query asks for SigV4 query authentication.
    pub fn is_presigned(&self) -> bool {
        self.algorithm.is_some()
    }
}

/// `X-Amz-Expires` as S3 reads it: a decimal number (an optional sign), not negative, at
/// most a week.
pub fn expires(text: &str) -> Result<u64, S3Error> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse::query_parameters("X-Amz-Expires should be a number"));
    }
    let digits = digits.trim_start_matches('0');
    if negative && !digits.is_empty() {
        return Err(refuse::query_parameters(
            "X-Amz-Expires must be non-negative",
        ));
    }
    match digits.parse::<u64>() {
        Ok(n) if n <= MAX_EXPIRES => Ok(n),
        _ if digits.is_empty() => Ok(0),
        _ => Err(refuse::query_parameters(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given \
             X-Amz-Expires must be less than 604800 seconds",
        )),
    }
}

/// The `X-Amz-Algorithm` check: SigV4 only.
pub fn query_algorithm(algorithm: &str) -> Result<(), S3Error> {
    match algorithm {
        ALGORITHM => Ok(()),
        ECDSA_ALGORITHM => Err(refuse::unsupported_mechanism()),
        _ => Err(refuse::query_parameters(
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"",
        )),
    }
}

/// Passthrough mode forwards the client's signature, and a store may route a request by
/// the service its credential scope names: SeaweedFS serves its S3 Tables API at
/// `/buckets`, `/namespaces/…` and `/tables/…` for requests signed for `s3tables`, which
/// the proxy would read as S3 operations on buckets of those names. So the scope must
/// name `s3` wherever a store could look for it, read leniently, as a store might: every
/// `…/<service>/aws4_request` and every `Credential =` in any `Authorization` value (any
/// scheme, any case, any spacing), every `X-Amz-Credential` parameter (any case). An
/// anonymous request must not carry the content type of AWS's JSON protocol, which
/// SeaweedFS routes the same way.
pub fn check_forwarded_scope(headers: &HeaderMap, query: Option<&str>) -> Result<(), S3Error> {
    let mut signed = false;
    for value in headers.get_all(AUTHORIZATION) {
        signed = true;
        authorization_names_s3(value.as_bytes())?;
    }
    for pair in query.unwrap_or("").split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode_query_component(name)?;
        if name.eq_ignore_ascii_case(b"X-Amz-Credential") {
            signed = true;
            let value = decode_query_component(value)?;
            scope_names_s3(&String::from_utf8_lossy(&value), Location::Query)?;
        }
    }
    let json_protocol = headers.get_all(CONTENT_TYPE).iter().any(|v| {
        v.as_bytes()
            .get(..JSON_PROTOCOL.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(JSON_PROTOCOL))
    });
    if !signed && json_protocol {
        return Err(S3Error::new(
            S3ErrorCode::NotImplemented,
            "An anonymous request with the content type of AWS's JSON protocol is not an S3 operation the proxy forwards.",
        )
        .with_reason(Reason::UnknownOperation));
    }
    Ok(())
}

/// Every `…/<service>/aws4_request`, then every `Credential =`, in one `Authorization`
/// value, found in any case. Read as bytes, jumping from one `/` or `c` to the next
/// (memchr's vector search): the value is read on every forwarded request, so neither a
/// lossy or lower-cased copy nor a substring searcher is built.
fn authorization_names_s3(value: &[u8]) -> Result<(), S3Error> {
    const TERMINATOR_MARK: &[u8] = b"/aws4_request";
    const CREDENTIAL_MARK: &[u8] = b"credential";
    for at in memchr::memchr_iter(b'/', value) {
        let rest = &value[at..];
        if rest
            .get(..TERMINATOR_MARK.len())
            .is_some_and(|m| m.eq_ignore_ascii_case(TERMINATOR_MARK))
        {
            let before = &value[..at];
            let service = before
                .iter()
                .rposition(|&b| b == b'/')
                .map_or(before, |slash| &before[slash + 1..]);
            if service != super::SERVICE.as_bytes() {
                return Err(wrong_service(
                    &String::from_utf8_lossy(service),
                    Location::Header,
                ));
            }
        }
    }
    for at in memchr::memchr2_iter(b'c', b'C', value) {
        let rest = &value[at..];
        if rest
            .get(..CREDENTIAL_MARK.len())
            .is_some_and(|m| m.eq_ignore_ascii_case(CREDENTIAL_MARK))
        {
            // A header value's only whitespace is space and tab.
            let after = rest[CREDENTIAL_MARK.len()..].trim_ascii_start();
            let Some(after) = after.strip_prefix(b"=") else {
                continue;
            };
            let after = after.trim_ascii_start();
            let end = after
                .iter()
                .position(|&b| matches!(b, b',' | b' ' | b'\t'))
                .unwrap_or(after.len());
            scope_names_s3(&String::from_utf8_lossy(&after[..end]), Location::Header)?;
        }
    }
    Ok(())
}

/// The content type of AWS's JSON protocol (`application/x-amz-json-1.0`, `-1.1`).
const JSON_PROTOCOL: &[u8] = b"application/x-amz-json";

/// A credential scope's service, the part before the terminator in both SigV4
/// (`AK/date/region/service/aws4_request`) and SigV4a (`AK/date/service/aws4_request`),
/// must be `s3`.
fn scope_names_s3(credential: &str, location: Location) -> Result<(), S3Error> {
    let mut parts = credential.rsplit('/');
    let (Some(_terminator), Some(service), Some(_), Some(_)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(refuse::credential_format(location));
    };
    if service != super::SERVICE {
        return Err(wrong_service(service, location));
    }
    Ok(())
}

/// S3's answer to a scope that names another service.
fn wrong_service(service: &str, location: Location) -> S3Error {
    let detail = format!(
        "incorrect service \"{service}\". This endpoint belongs to \"{}\".",
        super::SERVICE
    );
    refuse::malformed(location, detail)
}
