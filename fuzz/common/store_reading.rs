//! How S3 stores read a request head, written from the stores' sources and independent of
//! the proxy: Go's `net/url` and gorilla/mux routes (SeaweedFS; MinIO reads the same way)
//! and Ceph RGW (`url_decode`, `RGWHTTPArgs::parse`, CGI header names, `hostnames`). The
//! `request_head` target compares these readings with the proxy's (`#[path]`-included,
//! not a target itself).

/// Where a store finds the bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// In the first path segment.
    Path,
    /// In the Host.
    Virtual(String),
}

/// The bucket and object key a store reads; bytes, as a decoded path need not be UTF-8.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub bucket: Option<Vec<u8>>,
    pub key: Option<Vec<u8>>,
}

/// Query parameters in order, decoded, and which copy of a repeated name counts.
#[derive(Clone, Debug)]
pub struct Params {
    pub pairs: Vec<(Vec<u8>, Vec<u8>)>,
    pub last_wins: bool,
}

impl Params {
    /// The value that counts for `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        let mut values = self
            .pairs
            .iter()
            .filter(|(n, _)| n == name.as_bytes())
            .map(|(_, v)| v.as_slice());
        match self.last_wins {
            true => values.last(),
            false => values.next(),
        }
    }

    /// Whether `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name.as_bytes())
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn split_once(s: &[u8], at: u8) -> (&[u8], &[u8]) {
    match s.iter().position(|&b| b == at) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    }
}

/// Go's `url.unescape`: `%` must start two hex digits, else the whole string is an error;
/// in a query (`QueryUnescape`) `+` is a space, in a path (`PathUnescape`) it stays.
pub fn go_unescape(s: &[u8], query: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b'%' => {
                out.push(hex(*s.get(i + 1)?)? << 4 | hex(*s.get(i + 2)?)?);
                i += 3;
            }
            b'+' if query => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Some(out)
}

/// RGW's `url_decode`: a `%` with fewer than two bytes after it ends the string, bad hex
/// empties it, and `+` is a space once in the query (or after a literal `?`).
pub fn rgw_url_decode(s: &[u8], mut in_query: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b != b'%' {
            if in_query && b == b'+' {
                out.push(b' ');
            } else {
                in_query |= b == b'?';
                out.push(b);
            }
            i += 1;
            continue;
        }
        if s.len() - i < 3 {
            break;
        }
        match (hex(s[i + 1]), hex(s[i + 2])) {
            (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
            _ => return Vec::new(),
        }
        i += 3;
    }
    out
}

/// Go's `url.ParseQuery` (what `r.URL.Query().Get` reads): pairs split on `&`, a pair
/// with `;` dropped, names and values unescaped (a pair that does not unescape dropped),
/// the first value counts.
pub fn go_query(raw: &[u8]) -> Params {
    go_pairs(raw.split(|&b| b == b'&').filter(|p| !p.contains(&b';')))
}

/// gorilla/mux `Queries` matching (`findFirstQueryKey`): pairs split on `&` and `;`,
/// the first that unescapes counts.
pub fn mux_query(raw: &[u8]) -> Params {
    go_pairs(raw.split(|&b| b == b'&' || b == b';'))
}

/// Go's unescaping of each non-empty `name=value` pair; pairs that do not unescape
/// are dropped, and the first value counts.
fn go_pairs<'a>(raw_pairs: impl Iterator<Item = &'a [u8]>) -> Params {
    let pairs = raw_pairs
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (name, value) = split_once(pair, b'=');
            Some((go_unescape(name, true)?, go_unescape(value, true)?))
        })
        .collect();
    Params {
        pairs,
        last_wins: false,
    }
}

/// RGW's `RGWHTTPArgs::parse`: pairs split on `&`, each url-decoded whole *before* it is
/// split at its first `=`, names containing `X-Amz-` lower-cased, the last value counts.
pub fn rgw_query(raw: &[u8]) -> Params {
    let raw = raw.strip_prefix(b"?").unwrap_or(raw);
    let mut pairs = Vec::new();
    if !raw.is_empty() {
        for pair in raw.split(|&b| b == b'&') {
            let decoded = rgw_url_decode(pair, true);
            let (name, value) = split_once(&decoded, b'=');
            let mut name = name.to_vec();
            if name.windows(6).any(|w| w == b"X-Amz-") {
                name.make_ascii_lowercase();
            }
            pairs.push((name, value.to_vec()));
        }
    }
    Params {
        pairs,
        last_wins: true,
    }
}

/// SeaweedFS's routers (`-domainName`): `{bucket:.+}.<suffix>` against the Host cut at
/// its first `:`, for each name in the order configured; gorilla/mux matches
/// case-sensitively. `None`: the bucket is one no store can have (SeaweedFS answers
/// `InvalidBucketName`).
pub fn mux_placement(host: &str, suffixes: &[String]) -> Option<Placement> {
    let name = host.split(':').next().unwrap_or(host);
    for suffix in suffixes {
        let bucket = name
            .strip_suffix(suffix.as_str())
            .and_then(|b| b.strip_suffix('.'))
            .filter(|b| !b.is_empty());
        if let Some(bucket) = bucket {
            return possible_bucket(bucket.as_bytes())
                .then(|| Placement::Virtual(bucket.to_owned()));
        }
    }
    Some(Placement::Path)
}

/// RGW's `RGWREST::preprocess`: the Host without its port (`[v6]` loses its brackets),
/// then `rgw_find_host_in_domains` over the hostnames in case-insensitive sorted order:
/// the first that ends the Host decides (the Host itself: path-style; `<sub>.<name>`:
/// virtual-hosted; anything else: the next name), then its fallback for a Host that is
/// none of them. `hosts` are names the configuration says RGW has besides `suffixes`.
/// `None`: the bucket is one no store can have.
pub fn rgw_placement(host: &str, suffixes: &[String], hosts: &[String]) -> Option<Placement> {
    let bracketed = host.starts_with('[');
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.find(']').map_or(host, |end| &rest[..end]),
        None => host.split(':').next().unwrap_or(host),
    };
    let mut sorted: Vec<String> = suffixes
        .iter()
        .chain(hosts)
        .map(|s| s.to_ascii_lowercase())
        .collect();
    sorted.sort();
    sorted.dedup();
    for suffix in &sorted {
        let Some(pos) = name.len().checked_sub(suffix.len()) else {
            continue;
        };
        if !name.as_bytes()[pos..].eq_ignore_ascii_case(suffix.as_bytes()) {
            continue;
        }
        if pos == 0 {
            return Some(Placement::Path);
        }
        if name.as_bytes()[pos - 1] != b'.' {
            continue;
        }
        return match &name[..pos - 1] {
            "" => Some(Placement::Path),
            sub => possible_bucket(sub.as_bytes()).then(|| Placement::Virtual(sub.to_owned())),
        };
    }
    // The CNAME fallback (`RGWREST::preprocess`): with any name configured, a Host (its
    // port dropped, brackets kept) that is none of them and not an IPv4 address is the
    // bucket when `RGWHandler_REST::validate_bucket_name` takes it (3 to 255 bytes, no
    // `/`); a bracketed IPv6 literal is then a bucket no store can have.
    let whole = match bracketed {
        true => host.rsplit_once(':').filter(|(h, _)| h.ends_with(']')).map_or(host, |(h, _)| h),
        false => name,
    };
    let ip = whole.parse::<std::net::Ipv4Addr>().is_ok();
    if !sorted.is_empty() && !ip && (3..=255).contains(&whole.len()) {
        return possible_bucket(whole.as_bytes()).then(|| Placement::Virtual(whole.to_owned()));
    }
    Some(Placement::Path)
}

/// Whether a bucket of that name can exist: S3's names (lower case, digits, `.`, `-`)
/// and the legacy ones (upper case, `_`). A store answers any other with
/// `InvalidBucketName` or `NoSuchBucket`, so reading one is refusing the request.
pub fn possible_bucket(name: &[u8]) -> bool {
    !name.is_empty()
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

fn non_empty(s: &[u8]) -> Option<Vec<u8>> {
    (!s.is_empty()).then(|| s.to_vec())
}

/// Splits a decoded path the way gorilla/mux routes it: `/{bucket}` (`[^/]+`) as a
/// prefix, then `/{object:(?s).+}`; a virtual-hosted request routes the whole path as
/// `/{object:(?s).+}`.
fn mux_split(decoded: &[u8], placement: &Placement) -> Target {
    match placement {
        Placement::Virtual(bucket) => Target {
            bucket: Some(bucket.as_bytes().to_vec()),
            key: decoded.strip_prefix(b"/").and_then(non_empty),
        },
        Placement::Path => {
            let Some(rest) = decoded.strip_prefix(b"/") else {
                return Target {
                    bucket: None,
                    key: None,
                };
            };
            let (bucket, key) = match rest.iter().position(|&b| b == b'/') {
                Some(i) => (&rest[..i], non_empty(&rest[i + 1..])),
                None => (rest, None),
            };
            match bucket.is_empty() {
                true => Target {
                    bucket: None,
                    key: None,
                },
                false => Target {
                    bucket: Some(bucket.to_vec()),
                    key,
                },
            }
        }
    }
}

/// SeaweedFS: Go's request-URI parsing (`PathUnescape`; a bad escape refuses the
/// request), then mux routing on the decoded path (`SkipClean`: no dot-segment or `//`
/// clean-up; every route hangs under `PathPrefix("/")`, so `*` finds none). `None`: the
/// store refuses.
pub fn go_target(path: &[u8], placement: &Placement) -> Option<Target> {
    if !path.starts_with(b"/") {
        return None;
    }
    Some(mux_split(&go_unescape(path, false)?, placement))
}

/// A store or intermediary that resolves `.` and `..` segments (RFC 3986 §5.2.4), before
/// decoding (`raw`) or after it.
pub fn dot_resolving_target(path: &[u8], placement: &Placement, raw: bool) -> Option<Target> {
    if !path.starts_with(b"/") {
        return None;
    }
    let decoded = match raw {
        true => go_unescape(&remove_dot_segments(path), false)?,
        false => remove_dot_segments(&go_unescape(path, false)?),
    };
    Some(mux_split(&decoded, placement))
}

/// RFC 3986 §5.2.4 on an absolute path.
pub fn remove_dot_segments(path: &[u8]) -> Vec<u8> {
    let segments: Vec<&[u8]> = path.split(|&b| b == b'/').skip(1).collect();
    let mut out: Vec<&[u8]> = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            b"." => {}
            b".." => {
                out.pop();
            }
            s => {
                out.push(s);
                continue;
            }
        }
        if last {
            out.push(b"");
        }
    }
    let mut joined = Vec::with_capacity(path.len());
    for segment in out {
        joined.push(b'/');
        joined.extend_from_slice(segment);
    }
    if joined.is_empty() {
        joined.push(b'/');
    }
    joined
}

/// RGW: a virtual-hosted bucket is put in front of the raw URI, the URI is
/// `url_decode`d (a NUL refuses the request), then `init_from_header` splits the decoded
/// path at its first `/` (`tenant:bucket` is `bucket`). `None`: the store refuses.
pub fn rgw_target(path: &[u8], placement: &Placement) -> Option<Target> {
    let mut uri = Vec::with_capacity(path.len() + 64);
    if let Placement::Virtual(bucket) = placement {
        uri.push(b'/');
        uri.extend_from_slice(bucket.as_bytes());
        if path.first() != Some(&b'/') {
            uri.push(b'/');
        }
    }
    uri.extend_from_slice(path);
    let decoded = rgw_url_decode(&uri, false);
    if decoded.contains(&0) {
        return None;
    }
    let none = Target {
        bucket: None,
        key: None,
    };
    let Some(rest) = decoded.strip_prefix(b"/").filter(|r| !r.is_empty()) else {
        return Some(none);
    };
    let (bucket, key) = match rest.iter().position(|&b| b == b'/') {
        Some(i) => (&rest[..i], non_empty(&rest[i + 1..])),
        None => (rest, None),
    };
    Some(Target {
        bucket: non_empty(rgw_bucket(bucket)),
        key,
    })
}

/// RGW's `rgw_parse_url_bucket`: `tenant:bucket` names `bucket` of `tenant`.
fn rgw_bucket(segment: &[u8]) -> &[u8] {
    match segment.iter().position(|&b| b == b':') {
        Some(i) => &segment[i + 1..],
        None => segment,
    }
}

/// The bucket of `x-amz-copy-source` as SeaweedFS reads it: `QueryUnescape` of the whole
/// value (the raw value when that fails), `?versionId=` cut off, one leading `/` trimmed,
/// the bucket up to the first `/` (`None`: one no store can have).
pub fn go_copy_source_bucket(value: &[u8]) -> Option<Vec<u8>> {
    let decoded = go_unescape(value, true).unwrap_or_else(|| value.to_vec());
    let path = match decoded.windows(11).position(|w| w == b"?versionId=") {
        Some(i) => &decoded[..i],
        None => &decoded[..],
    };
    let path = path.strip_prefix(b"/").unwrap_or(path);
    let bucket = split_once(path, b'/').0;
    possible_bucket(bucket).then(|| bucket.to_vec())
}

/// Whether SeaweedFS routes a write as a copy: its CopyObject and UploadPartCopy routes
/// take `x-amz-copy-source` values matching `.*?(\/|%2F).*?`; any other value is a plain
/// PutObject or UploadPart.
pub fn mux_is_copy(value: Option<&[u8]>) -> bool {
    value.is_some_and(|v| v.contains(&b'/') || v.windows(3).any(|w| w == b"%2F"))
}

/// The bucket of `x-amz-copy-source` as RGW reads it (`parse_copy_location`): cut at the
/// first `?` before decoding, one leading `/` trimmed, `url_decode`d, the bucket up to
/// the first `/`, `tenant:bucket` being `bucket` (`None`: no `/`, refused, or a bucket no
/// store can have).
pub fn rgw_copy_source_bucket(value: &[u8]) -> Option<Vec<u8>> {
    let name = split_once(value, b'?').0;
    let name = name.strip_prefix(b"/").unwrap_or(name);
    let decoded = rgw_url_decode(name, false);
    let slash = decoded.iter().position(|&b| b == b'/')?;
    let bucket = rgw_bucket(&decoded[..slash]);
    possible_bucket(bucket).then(|| bucket.to_vec())
}

/// Hop-by-hop fields a forwarding proxy removes (RFC 9110 §7.6.1), besides the fields
/// the `Connection` header names.
const HOP_BY_HOP: [&str; 6] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "transfer-encoding",
    "upgrade",
];

/// The header lines a forwarding proxy passes on (RFC 9110 §7.6.1): `Connection`, the
/// fields it names (comma-separated tokens, OWS trimmed, any case) and the hop-by-hop
/// fields removed, the rest in order. `None` when a `Connection` value is not ASCII
/// text, which has no tokens to read.
pub fn forwarded(lines: &[(String, Vec<u8>)]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut named = Vec::new();
    for (_, value) in lines
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
    {
        let text = std::str::from_utf8(value)
            .ok()
            .filter(|v| v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)))?;
        named.extend(
            text.split(',')
                .map(|t| t.trim_matches([' ', '\t']).to_ascii_lowercase())
                .filter(|t| !t.is_empty()),
        );
    }
    Some(
        lines
            .iter()
            .filter(|(n, _)| {
                let n = n.to_ascii_lowercase();
                !HOP_BY_HOP.contains(&n.as_str()) && !named.contains(&n)
            })
            .cloned()
            .collect(),
    )
}

/// The values of a field: by its name, case-insensitively (Go's canonical keys), or by
/// its CGI variable (`HTTP_` + upper case, `-` and `_` both `_`: RGW's frontends, where
/// `x_amz_foo` and `x-amz-foo` are one variable).
pub fn field_values<'a>(lines: &'a [(String, Vec<u8>)], name: &str, cgi: bool) -> Vec<&'a [u8]> {
    let variable = |n: &str| n.to_ascii_uppercase().replace('-', "_");
    lines
        .iter()
        .filter(|(n, _)| match cgi {
            true => variable(n) == variable(name),
            false => n.eq_ignore_ascii_case(name),
        })
        .map(|(_, v)| v.as_slice())
        .collect()
}
