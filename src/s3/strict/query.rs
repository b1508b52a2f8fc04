//! The query string, read strictly: literal names, no repeats, one selector.

use super::{REASON_QUERY, ambiguous, decode, has_bad_escape, invalid_uri};
use crate::s3::error::S3Error;

/// Query parameters whose presence selects the operation; each must appear alone, with
/// an empty value. `uploadId` selects too but carries a value.
const FLAGS: [&str; 33] = [
    "accelerate",
    "acl",
    "analytics",
    "attributes",
    "cors",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metadataTable",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "renameObject",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "tagging",
    "torrent",
    "uploads",
    "versioning",
    "versions",
    "website",
];

/// Parameters with values the proxy reads.
const VALUED: [&str; 3] = ["uploadId", "partNumber", "list-type"];

/// The decoded value of the parameter called exactly `name` in a query string that
/// [`Query::parse`] accepted (so named at most once, its escapes valid).
pub fn value(raw: Option<&str>, name: &str) -> Result<Option<String>, S3Error> {
    raw.unwrap_or_default()
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| decode(v))
        .transpose()
}

/// What [`edited`] does with one `name=value` pair of a query.
#[derive(Debug, PartialEq, Eq)]
pub enum Pair {
    /// Kept as it is.
    Keep,
    /// Left out.
    Drop,
    /// Replaced by this text (`name=value`, already escaped).
    With(String),
}

/// `uri` with each pair of its query kept, left out or replaced as `edit` says of its
/// name; the path and every kept byte unchanged (empty pairs too), no `?` when no pair
/// is left. For a
/// query [`Query::parse`] accepted (every name a literal token).
pub fn edited(uri: &http::Uri, mut edit: impl FnMut(&str) -> Pair) -> Result<http::Uri, S3Error> {
    let query = uri.query().unwrap_or_default();
    let mut target = String::with_capacity(uri.path().len() + query.len() + 64);
    target.push_str(uri.path());
    let mut first = true;
    for pair in uri.query().map(|q| q.split('&')).into_iter().flatten() {
        let name = pair.split_once('=').map_or(pair, |(n, _)| n);
        let edit = edit(name);
        let text = match &edit {
            Pair::Keep => pair,
            Pair::Drop => continue,
            Pair::With(text) => text,
        };
        target.push(if first { '?' } else { '&' });
        target.push_str(text);
        first = false;
    }
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(target.parse().map_err(|_| S3Error::internal())?);
    http::Uri::from_parts(parts).map_err(|_| S3Error::internal())
}

/// A query string read strictly: every name a plain token, none repeated, at most one
/// selector.
#[derive(Debug, Default)]
pub struct Query<'a> {
    names: Vec<&'a str>,
    upload_id: Option<String>,
    list_type: Option<&'a str>,
    part_number: bool,
    selectors: u8,
}

impl<'a> Query<'a> {
    /// Reads `raw` (without `?`).
    ///
    /// Names must be literal `[A-Za-z0-9._~-]` tokens: stores decode names (`%75ploadId`
    /// is `uploadId` to SeaweedFS), and some drop pairs with a `;`. A repeated name is
    /// refused because stores disagree on which copy counts (Go takes the first).
    pub fn parse(raw: Option<&'a str>) -> Result<Self, S3Error> {
        let mut query = Self::default();
        let Some(raw) = raw.filter(|q| !q.is_empty()) else {
            return Ok(query);
        };
        if raw.contains(';') {
            return Err(ambiguous(REASON_QUERY, "The query string contains \";\"."));
        }
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            query.read(name, value)?;
        }
        Ok(query)
    }

    fn read(&mut self, name: &'a str, value: &'a str) -> Result<(), S3Error> {
        // Go's `url.ParseQuery` (SeaweedFS) drops a pair whose value it cannot unescape,
        // so the store would not see a parameter the proxy read.
        if has_bad_escape(value) {
            return Err(invalid_uri());
        }
        let token = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-');
        if name.is_empty() || !name.bytes().all(token) {
            return Err(ambiguous(
                REASON_QUERY,
                "A query parameter name is encoded or has characters S3 names never have.",
            ));
        }
        if self.names.contains(&name) {
            return Err(ambiguous(
                REASON_QUERY,
                "A query parameter is repeated; stores differ on which value counts.",
            ));
        }
        // Ceph RGW answers in the format this names (`json`, `html`); the proxy reads, and
        // S3 answers, XML only.
        if name.eq_ignore_ascii_case("format") {
            return Err(ambiguous(
                REASON_QUERY,
                "The format parameter selects another answer format on some stores (Ceph RGW: JSON or HTML); S3 answers in XML only.",
            ));
        }
        let lower = |prefix: &str| {
            name.get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
        };
        if lower("x-amz-server-side-encryption") || lower("x-amz-copy-source") {
            return Err(ambiguous(
                REASON_QUERY,
                "SSE-C and copy-source parameters are accepted as headers only, not in the query string.",
            ));
        }
        // A presigner may move `x-amz-*` headers into the query (aws-sdk-go-v2 does), and
        // S3 applies them there; the stores read these as headers only, so a checksum,
        // a condition or an expected size in the query would be ignored.
        let checks = [
            "x-amz-checksum-",
            "x-amz-if-",
            "x-amz-mp-object-size",
            "x-amz-write-offset-bytes",
        ];
        if checks.iter().any(|p| lower(p)) && !name.eq_ignore_ascii_case("x-amz-checksum-mode") {
            return Err(ambiguous(
                REASON_QUERY,
                "Checksums, conditions, sizes and offsets are accepted as headers only, not in the query string.",
            ));
        }
        let known = FLAGS.iter().chain(VALUED.iter());
        if let Some(canonical) = known.clone().find(|k| k.eq_ignore_ascii_case(name))
            && *canonical != name
        {
            return Err(ambiguous(
                REASON_QUERY,
                "A query parameter name differs from S3's only in case.",
            ));
        }
        match name {
            "uploadId" => {
                if value.is_empty() || value.contains('+') {
                    return Err(ambiguous(
                        REASON_QUERY,
                        "The uploadId parameter is not valid.",
                    ));
                }
                let id = decode(value)?;
                // SeaweedFS names an upload's folder after its ID: a separator or a
                // dot segment would name another folder (the store refuses them today;
                // no store issues them).
                if id.contains(['/', '\\'])
                    || id.chars().any(char::is_control)
                    || id == "."
                    || id == ".."
                {
                    return Err(ambiguous(
                        REASON_QUERY,
                        "The uploadId parameter is not valid.",
                    ));
                }
                self.upload_id = Some(id);
                self.selectors += 1;
            }
            "partNumber" => {
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ambiguous(
                        REASON_QUERY,
                        "The partNumber parameter is not a number.",
                    ));
                }
                self.part_number = true;
            }
            "list-type" => {
                // Stores decode the value (`%32` is 2 to both); only digits are taken.
                if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ambiguous(
                        REASON_QUERY,
                        "The list-type parameter is not a number.",
                    ));
                }
                self.list_type = Some(value);
            }
            _ if FLAGS.contains(&name) => {
                if !value.is_empty() {
                    return Err(ambiguous(
                        REASON_QUERY,
                        "A sub-resource parameter has a value; stores differ on whether it still selects the sub-resource.",
                    ));
                }
                self.selectors += 1;
            }
            _ => {}
        }
        if self.selectors > 1 {
            return Err(ambiguous(
                REASON_QUERY,
                "The query string names more than one sub-resource.",
            ));
        }
        self.names.push(name);
        Ok(())
    }

    /// Whether a parameter is present.
    pub fn has(&self, name: &str) -> bool {
        self.names.contains(&name)
    }

    /// The names, in order.
    pub fn names(&self) -> &[&'a str] {
        &self.names
    }

    /// The decoded `uploadId`.
    pub fn upload_id(&self) -> Option<&str> {
        self.upload_id.as_deref()
    }

    /// Takes the decoded `uploadId`.
    pub fn take_upload_id(&mut self) -> Option<String> {
        self.upload_id.take()
    }

    /// Whether `uploadId` is present.
    pub fn is_multipart(&self) -> bool {
        self.has("uploadId")
    }

    /// Whether a sub-resource selector (`uploadId` included) is present.
    pub fn has_selector(&self) -> bool {
        self.selectors > 0
    }

    /// Whether `partNumber` is present.
    pub fn has_part_number(&self) -> bool {
        self.part_number
    }

    /// The raw `list-type` value.
    pub fn list_type(&self) -> Option<&str> {
        self.list_type
    }
}
