//! One interpretation, or refusal (`s3::strict`, `s3::op::classify`): request heads
//! built from fuzzer bytes go through the proxy's checks as the classify layer runs them,
//! and every head the proxy accepts must read the same to the stores behind it
//! (`common/store_reading.rs`: SeaweedFS's Go `net/url` + gorilla/mux, Ceph RGW).
//!
//! Input: lines separated by `\n` (a trailing `\r` dropped):
//! 0. method: one digit `0`..`7` picks from `METHODS`, anything else is taken as it is;
//! 1. the Host header value (an empty line: no Host header);
//! 2. the request target, as on the request line (origin or absolute form);
//! 3. addressing: virtual-host suffixes, comma-separated, then optionally `|` and the
//!    path-style hosts, cleaned up as the configuration does;
//! 4. and on: header fields `name:value`, in order. A name of one character from
//!    `SHORT` stands for that S3 field, `_` and the character for its underscore
//!    spelling. Values lose surrounding blanks (as hyper's parser trims them); fields
//!    HTTP refuses are left out.
//!
//! Invariants: refusals are 400s, with a metric reason when `s3::strict` or `classify`
//! refuses; for an accepted head, each store reading that does not refuse the request
//! finds the proxy's Host placement, bucket and key, `uploadId`, `partNumber`, selector
//! parameters (those the operation needs among them) and `list-type=2`, no SSE-C in the
//! query string, a copy exactly when the proxy sees one, and, in the fields it receives
//! after the proxy's forwarding rules (which must remove what RFC 9110 removes), the
//! first and the last value of each SSE-C field, `x-amz-server-side-encryption`,
//! `x-amz-copy-source` (and its bucket) and `Content-Type` equal to the values the proxy
//! checked. A store that refuses a request cannot read it differently.

#![no_main]

use http::header::{CONTENT_TYPE, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use libfuzzer_sys::fuzz_target;
use ssec_proxy::forwarding::{
    check_header_section, request_host, strip_forwarding_claims, strip_hop_by_hop,
};
use ssec_proxy::s3::error::{Reason, S3Error, S3ErrorCode};
use ssec_proxy::s3::headers::{COPY_SOURCE, COPY_SOURCE_SSE_C_KEY, SSE_C_KEY};
use ssec_proxy::s3::op::{self, S3Op, S3Request};
use ssec_proxy::s3::policy::copy_source_bucket;
use ssec_proxy::s3::ssec::{self, Groups, RawTriple, Usage};
use ssec_proxy::s3::strict::{self, Addressing, HostReading, Query};

#[path = "../common/store_reading.rs"]
mod store_reading;

use store_reading::{Params, Placement, Target};

const METHODS: [&str; 8] = [
    "GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "COPY",
];

/// Short names: the fields the invariant is about, and `Host` and `Connection`.
const SHORT: [(u8, &str); 11] = [
    (b'0', "x-amz-server-side-encryption-customer-algorithm"),
    (b'1', "x-amz-server-side-encryption-customer-key"),
    (b'2', "x-amz-server-side-encryption-customer-key-md5"),
    (
        b'3',
        "x-amz-copy-source-server-side-encryption-customer-algorithm",
    ),
    (
        b'4',
        "x-amz-copy-source-server-side-encryption-customer-key",
    ),
    (
        b'5',
        "x-amz-copy-source-server-side-encryption-customer-key-md5",
    ),
    (b'6', "x-amz-server-side-encryption"),
    (b'7', "x-amz-copy-source"),
    (b'8', "content-type"),
    (b'9', "connection"),
    (b'h', "host"),
];

/// Largest header section the proxy takes (`server.max_header_bytes`' default).
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Query parameters that select an operation or sub-resource (AWS's API reference, and
/// RGW's `sub_resources`).
const SELECTORS: [&str; 37] = [
    "accelerate",
    "acl",
    "analytics",
    "append",
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
    "partNumber",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "renameObject",
    "replication",
    "requestPayment",
    "restore",
    "retention",
    "select",
    "session",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versioning",
    "versions",
    "website",
];

/// A request head as hyper hands it to the proxy, with its fields also in wire order.
struct Head {
    method: Method,
    uri: Uri,
    lines: Vec<(String, Vec<u8>)>,
    headers: HeaderMap,
    addressing: Addressing,
}

/// What the proxy made of an accepted head.
struct Accepted {
    /// How the store in front of which the proxy accepted it reads a Host.
    reading: HostReading,
    s3: S3Request,
    host: String,
    placement: Placement,
    names: Vec<String>,
    part_number: bool,
    list_v2: bool,
}

fuzz_target!(|data: &[u8]| {
    let Some(mut head) = Head::from_input(data) else {
        return;
    };
    // The classify layer joins a repeated Content-Encoding before any check reads it.
    strict::fold_content_encoding(&mut head.headers);
    // As in front of SeaweedFS, MinIO or Garage, then as in front of RGW or an unknown
    // store (which may read any Host as a bucket).
    for reading in [HostReading::PathStyle, HostReading::AsBucket] {
        let accepted = match proxy_reading(&head, reading) {
            Ok(accepted) => accepted,
            Err(e) => {
                if e.status() != StatusCode::NOT_IMPLEMENTED {
                    assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{e:?}");
                }
                continue;
            }
        };
        // Deterministic.
        let again = proxy_reading(&head, reading).expect("the same head is accepted twice");
        assert_eq!(again.s3, accepted.s3);
        one_interpretation(&head, &accepted);
    }
});

impl Head {
    fn from_input(data: &[u8]) -> Option<Self> {
        let mut lines = data
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let method = match lines.next()? {
            [d @ b'0'..=b'7'] => Method::from_bytes(METHODS[usize::from(d - b'0')].as_bytes()),
            other => Method::from_bytes(other),
        }
        .ok()?;
        if method == Method::CONNECT || method == Method::TRACE {
            // Refused by the classify layer before anything is read.
            return None;
        }
        let host = lines.next()?;
        let uri = Uri::try_from(lines.next()?).ok()?;
        let addressing = addressing(&String::from_utf8_lossy(lines.next().unwrap_or_default()));
        let mut head = Head {
            method,
            uri,
            lines: Vec::new(),
            headers: HeaderMap::new(),
            addressing,
        };
        if !host.is_empty() {
            head.push(b"host", host);
        }
        for line in lines {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            let long = |code: u8| SHORT.iter().find(|(c, _)| *c == code).map(|(_, n)| *n);
            let name = match name {
                [c] => long(*c).map_or_else(|| name.to_vec(), |n| n.as_bytes().to_vec()),
                [b'_', c] => {
                    long(*c).map_or_else(|| name.to_vec(), |n| n.replace('-', "_").into_bytes())
                }
                _ => name.to_vec(),
            };
            head.push(&name, value);
        }
        Some(head)
    }

    /// Appends a field the way hyper would hand it over, or leaves out one HTTP refuses.
    fn push(&mut self, name: &[u8], value: &[u8]) {
        let value = value.trim_ascii();
        let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        else {
            return;
        };
        self.lines
            .push((name.as_str().to_owned(), value.as_bytes().to_vec()));
        self.headers.append(name, value);
    }
}

/// `server.virtual_host_suffixes` and `server.path_style_hosts` as the configuration
/// leaves them: leading dots dropped, lower case, no `/`, `:` or space, and no
/// path-style host under a suffix.
fn addressing(line: &str) -> Addressing {
    let (suffixes, hosts) = line.split_once('|').unwrap_or((line, ""));
    let names = |list: &str| -> Vec<String> {
        list.split(',')
            .map(|n| n.trim_start_matches('.').to_ascii_lowercase())
            .filter(|n| !n.is_empty() && !n.contains(['/', ':', ' ']))
            .collect()
    };
    let virtual_host_suffixes = names(suffixes);
    let path_style_hosts = names(hosts)
        .into_iter()
        .filter(|h| {
            !virtual_host_suffixes
                .iter()
                .any(|s| h.ends_with(&format!(".{s}")))
        })
        .collect();
    Addressing {
        virtual_host_suffixes,
        path_style_hosts,
    }
}

/// The classify layer's checks (`layers/classify.rs`), in its order.
fn proxy_reading(head: &Head, reading: HostReading) -> Result<Accepted, S3Error> {
    check_header_section(&head.headers, MAX_HEADER_BYTES)?;
    strict::check_headers(&head.headers).map_err(refusal)?;
    let host = request_host(&head.uri, &head.headers)?;
    let host = host
        .to_str()
        .map_err(|_| {
            S3Error::new(
                S3ErrorCode::InvalidArgument,
                "The Host header is not valid.",
            )
        })?
        .to_owned();
    let target = op::Target::from_head(&head.method, &head.uri, &head.headers, &host);
    let s3 = op::classify(&target, &head.addressing, reading).map_err(refusal)?;
    let placement = match head.addressing.place(&host, reading) {
        Ok(strict::Placement::PathStyle) => Placement::Path,
        Ok(strict::Placement::VirtualHosted(b)) => Placement::Virtual(b.to_owned()),
        Err(e) => panic!("classify accepted a Host that place() refuses: {e:?}"),
    };
    let query = Query::parse(head.uri.query()).expect("classify accepted this query");
    Ok(Accepted {
        reading,
        host,
        placement,
        names: query.names().iter().map(|n| (*n).to_owned()).collect(),
        part_number: query.has_part_number(),
        list_v2: query.list_type() == Some("2"),
        s3,
    })
}

/// A refusal of `s3::strict` or `classify`: a 400 with a metric reason.
fn refusal(e: S3Error) -> S3Error {
    // RGW's `?append` is the one refusal that is not a 400: a 501 store refusal.
    if e.status() == StatusCode::NOT_IMPLEMENTED {
        assert_eq!(e.reason, Some(Reason::StoreRefusal), "{e:?}");
    } else {
        assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{e:?}");
    }
    assert!(
        e.reason.is_some_and(|r| !r.as_str().is_empty()),
        "no reason: {e:?}"
    );
    e
}

fn bytes(value: Option<&HeaderValue>) -> Option<&[u8]> {
    value.map(HeaderValue::as_bytes)
}

fn show(value: Option<&[u8]>) -> String {
    value.map_or_else(
        || "(none)".to_owned(),
        |v| format!("{:?}", v.escape_ascii().to_string()),
    )
}

/// Fails with both readings and the head.
macro_rules! disagree {
    ($head:expr, $store:expr, $what:expr, $proxy:expr, $theirs:expr) => {
        panic!(
            "{} reads {} differently from the proxy: proxy {}, store {}\nhead: {} {} Host lines {:?}\nfields: {:?}\naddressing: {:?}",
            $store,
            $what,
            $proxy,
            $theirs,
            $head.method,
            $head.uri,
            $head.headers.get_all(HOST).iter().collect::<Vec<_>>(),
            $head
                .lines
                .iter()
                .map(|(n, v)| format!("{n}: {}", v.escape_ascii()))
                .collect::<Vec<_>>(),
            $head.addressing,
        )
    };
}

fn one_interpretation(head: &Head, acc: &Accepted) {
    // What the store receives: the target as the proxy forwards it, the Host the client
    // addressed (the absolute-form authority, else the one Host field) and the fields
    // left after the proxy's forwarding rules, in the order they came.
    let forwarded = head.uri.path_and_query().map_or("/", |p| p.as_str());
    let (path, query) = forwarded.split_once('?').unwrap_or((forwarded, ""));
    let hosts = head.headers.get_all(HOST).iter().collect::<Vec<_>>();
    let host = match (head.uri.authority(), hosts.as_slice()) {
        (Some(authority), _) => authority.as_str().to_owned(),
        (None, [one]) => String::from_utf8_lossy(one.as_bytes()).into_owned(),
        (None, _) => disagree!(head, "every store", "the Host", &acc.host, "no single Host"),
    };
    if host != acc.host {
        disagree!(head, "every store", "the Host", &acc.host, &host);
    }
    let mut sent = head.headers.clone();
    strip_hop_by_hop(&mut sent);
    strip_forwarding_claims(&mut sent);
    let received: Vec<_> = head
        .lines
        .iter()
        .filter(|(n, _)| sent.contains_key(n.as_str()))
        .cloned()
        .collect();

    check_target(head, acc, &host, path.as_bytes());
    let query = query.as_bytes();
    let readings = [
        (
            "Go url.ParseQuery (SeaweedFS)",
            store_reading::go_query(query),
        ),
        (
            "gorilla/mux Queries (SeaweedFS)",
            store_reading::mux_query(query),
        ),
        ("RGW RGWHTTPArgs", store_reading::rgw_query(query)),
    ];
    for (store, params) in &readings {
        check_query(head, acc, store, params);
    }
    let part_numbers: Vec<_> = readings.iter().map(|(_, p)| p.get("partNumber")).collect();
    if part_numbers.windows(2).any(|w| w[0] != w[1]) {
        let all = part_numbers.iter().map(|p| show(*p)).collect::<Vec<_>>();
        disagree!(
            head,
            "one store or another",
            "partNumber",
            show(part_numbers[0]),
            all.join(" / ")
        );
    }
    check_fields(head, &received);
    check_copy(head, acc.s3.op, &received);
}

/// Host placement, bucket and key.
fn check_target(head: &Head, acc: &Accepted, host: &str, path: &[u8]) {
    let suffixes = &head.addressing.virtual_host_suffixes;
    let proxy = Target {
        bucket: acc.s3.bucket.as_ref().map(|b| b.as_bytes().to_vec()),
        key: acc.s3.key.as_ref().map(|k| k.as_bytes().to_vec()),
    };
    let seaweedfs = store_reading::mux_placement(host, suffixes);
    // RGW's names are the suffixes and the listed path-style hosts (the configuration
    // contract); a proxy reading unknown Hosts path-style is never in front of it.
    let rgw = match acc.reading {
        HostReading::AsBucket => {
            store_reading::rgw_placement(host, suffixes, &head.addressing.path_style_hosts)
        }
        HostReading::PathStyle => None,
    };
    let via = |placement: &Option<Placement>, read: &dyn Fn(&Placement) -> Option<Target>| {
        placement.as_ref().and_then(read)
    };
    let readings = [
        (
            "SeaweedFS",
            &seaweedfs,
            via(&seaweedfs, &|p| store_reading::go_target(path, p)),
        ),
        (
            "RGW",
            &rgw,
            via(&rgw, &|p| store_reading::rgw_target(path, p)),
        ),
        (
            "a dot-resolving reader (raw)",
            &seaweedfs,
            via(&seaweedfs, &|p| {
                store_reading::dot_resolving_target(path, p, true)
            }),
        ),
        (
            "a dot-resolving reader (decoded)",
            &seaweedfs,
            via(&seaweedfs, &|p| {
                store_reading::dot_resolving_target(path, p, false)
            }),
        ),
    ];
    // A store that refuses the request (a bad escape, a bucket no store can have) cannot
    // read it differently.
    let both = |t: &Target| format!("{} / {}", show(t.bucket.as_deref()), show(t.key.as_deref()));
    for (store, placement, target) in readings {
        if let Some(placement) = placement
            && *placement != acc.placement
        {
            let (ours, theirs) = (format!("{:?}", acc.placement), format!("{placement:?}"));
            disagree!(head, store, "the Host placement", ours, theirs);
        }
        if let Some(target) = target
            && target != proxy
        {
            disagree!(head, store, "bucket and key", both(&proxy), both(&target));
        }
    }
}

fn check_query(head: &Head, acc: &Accepted, store: &str, params: &Params) {
    let selected = |has: &dyn Fn(&str) -> bool| -> Vec<&str> {
        SELECTORS.iter().copied().filter(|s| has(s)).collect()
    };
    let proxy = selected(&|s| acc.names.iter().any(|n| n == s));
    let theirs = selected(&|s| params.has(s));
    if proxy != theirs {
        disagree!(
            head,
            store,
            "the selector parameters",
            format!("{proxy:?}"),
            format!("{theirs:?}")
        );
    }
    let upload_id = params.get("uploadId");
    if upload_id != acc.s3.upload_id.as_deref().map(str::as_bytes) {
        disagree!(
            head,
            store,
            "uploadId",
            show(acc.s3.upload_id.as_deref().map(str::as_bytes)),
            show(upload_id)
        );
    }
    if params.has("partNumber") != acc.part_number {
        disagree!(
            head,
            store,
            "whether partNumber is there",
            acc.part_number,
            params.has("partNumber")
        );
    }
    let v2 = params.get("list-type") == Some(b"2");
    let listing = matches!(acc.s3.op, S3Op::ListObjects | S3Op::ListObjectsV2);
    if listing && v2 != acc.list_v2 {
        disagree!(head, store, "list-type=2", acc.list_v2, v2);
    }
    for (name, _) in &params.pairs {
        let name = name.to_ascii_lowercase();
        if name.starts_with(b"x-amz-server-side-encryption")
            || name.starts_with(b"x-amz-copy-source")
        {
            disagree!(
                head,
                store,
                "SSE-C in the query string",
                "none",
                show(Some(&name))
            );
        }
    }
    // The operation the proxy chose is the one the store's parameters select.
    let op = acc.s3.op;
    let sub;
    let needed: &[&str] = match op {
        S3Op::GetBucketConfig(s) | S3Op::PutBucketConfig(s) | S3Op::DeleteBucketConfig(s) => {
            sub = [s.as_str()];
            &sub
        }
        _ => implied(op),
    };
    let excluded: &[&str] = match op {
        S3Op::GetObject => &[
            "uploadId",
            "acl",
            "tagging",
            "attributes",
            "retention",
            "legal-hold",
            "torrent",
        ],
        S3Op::PutObject | S3Op::CopyObject => &[
            "uploadId",
            "partNumber",
            "acl",
            "tagging",
            "retention",
            "legal-hold",
            "renameObject",
        ],
        S3Op::DeleteObject => &["uploadId", "tagging"],
        _ => &[],
    };
    let missing = needed.iter().find(|n| !params.has(n));
    let extra = excluded.iter().find(|n| params.has(n));
    if missing.is_some() || extra.is_some() {
        disagree!(
            head,
            store,
            "the operation's parameters",
            op.as_str(),
            format!("missing {missing:?}, also {extra:?}")
        );
    }
}

/// The parameters an operation is selected by.
fn implied(op: S3Op) -> &'static [&'static str] {
    match op {
        S3Op::ListParts | S3Op::CompleteMultipartUpload | S3Op::AbortMultipartUpload => {
            &["uploadId"]
        }
        S3Op::UploadPart | S3Op::UploadPartCopy => &["uploadId", "partNumber"],
        S3Op::CreateMultipartUpload | S3Op::ListMultipartUploads => &["uploads"],
        S3Op::GetObjectAcl | S3Op::PutObjectAcl => &["acl"],
        S3Op::GetObjectTagging | S3Op::PutObjectTagging | S3Op::DeleteObjectTagging => &["tagging"],
        S3Op::GetObjectAttributes => &["attributes"],
        S3Op::GetObjectRetention | S3Op::PutObjectRetention => &["retention"],
        S3Op::GetObjectLegalHold | S3Op::PutObjectLegalHold => &["legal-hold"],
        S3Op::GetObjectTorrent => &["torrent"],
        S3Op::RestoreObject => &["restore"],
        S3Op::SelectObjectContent => &["select"],
        S3Op::RenameObject => &["renameObject"],
        S3Op::ListObjectVersions => &["versions"],
        S3Op::DeleteObjects => &["delete"],
        _ => &[],
    }
}

/// The fields the proxy checked against the fields the store receives.
fn check_fields(head: &Head, received: &[(String, Vec<u8>)]) {
    let groups = Groups::from_headers(&head.headers);
    // The key is private to `RawTriple`: `Groups` reads the first value of each field,
    // which the ssec_headers target checks against these look-ups (and the digests below
    // check the key `Groups` read).
    let proxy: [(&str, Option<&[u8]>); 9] = [
        (SHORT[0].1, groups.destination.algorithm),
        (SHORT[1].1, bytes(head.headers.get(SSE_C_KEY))),
        (SHORT[2].1, groups.destination.key_md5),
        (SHORT[3].1, groups.copy_source.algorithm),
        (SHORT[4].1, bytes(head.headers.get(COPY_SOURCE_SSE_C_KEY))),
        (SHORT[5].1, groups.copy_source.key_md5),
        (SHORT[6].1, bytes(groups.sse)),
        (SHORT[7].1, bytes(groups.copy_source_path)),
        (SHORT[8].1, bytes(head.headers.get(CONTENT_TYPE))),
    ];
    let list = |values: &[&[u8]]| {
        values
            .iter()
            .map(|v| show(Some(v)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // The forwarding removes what RFC 9110 has a forwarding proxy remove.
    if let Some(rfc) = store_reading::forwarded(&head.lines) {
        for (name, _) in proxy {
            let ours = store_reading::field_values(received, name, false);
            let rfc = store_reading::field_values(&rfc, name, false);
            if ours != rfc {
                let what = format!("which {name} fields are forwarded");
                disagree!(head, "RFC 9110", what, list(&ours), list(&rfc));
            }
        }
    }
    for (store, cgi) in [
        ("Go net/http (SeaweedFS)", false),
        ("RGW (CGI variables)", true),
    ] {
        let mut firsts = Vec::new();
        for (name, value) in proxy {
            let values = store_reading::field_values(received, name, cgi);
            for (which, theirs) in [("first", values.first()), ("last", values.last())] {
                if theirs.copied() != value {
                    let what = format!("the {which} {name}");
                    disagree!(head, store, what, show(value), show(theirs.copied()));
                }
            }
            firsts.push(values.first().copied());
        }
        // What validation makes of each group, the key included.
        let digest = |t: &RawTriple<'_>| ssec::validate(t, Usage::Read).ok().map(|d| d.to_base64());
        for (group, i) in [(groups.destination, 0), (groups.copy_source, 3)] {
            let theirs = RawTriple::new(firsts[i], firsts[i + 1], firsts[i + 2]);
            if digest(&group) != digest(&theirs) {
                let (ours, theirs) = (
                    format!("{:?}", digest(&group)),
                    format!("{:?}", digest(&theirs)),
                );
                disagree!(head, store, "the SSE-C key", ours, theirs);
            }
        }
    }
}

/// Whether a write is a copy, and the source bucket the policy is applied to.
fn check_copy(head: &Head, op: S3Op, received: &[(String, Vec<u8>)]) {
    let source = store_reading::field_values(received, SHORT[7].1, false);
    if matches!(
        op,
        S3Op::PutObject | S3Op::CopyObject | S3Op::UploadPart | S3Op::UploadPartCopy
    ) {
        let copy = matches!(op, S3Op::CopyObject | S3Op::UploadPartCopy);
        for (store, theirs) in [
            (
                "SeaweedFS",
                store_reading::mux_is_copy(source.first().copied()),
            ),
            ("RGW", !source.is_empty()),
        ] {
            if theirs != copy {
                disagree!(
                    head,
                    store,
                    "whether the write is a copy",
                    op.as_str(),
                    theirs
                );
            }
        }
    }
    let Some(value) = head.headers.get(COPY_SOURCE).and_then(|v| v.to_str().ok()) else {
        return;
    };
    let Some(proxy) = copy_source_bucket(value) else {
        return; // an access point ARN: no bucket name a store could look up
    };
    let value = value.as_bytes();
    for (store, bucket) in [
        ("SeaweedFS", store_reading::go_copy_source_bucket(value)),
        ("RGW", store_reading::rgw_copy_source_bucket(value)),
    ] {
        if let Some(bucket) = bucket
            && bucket != proxy.as_bytes()
        {
            let what = "the x-amz-copy-source bucket";
            disagree!(
                head,
                store,
                what,
                show(Some(proxy.as_bytes())),
                show(Some(&bucket))
            );
        }
    }
}
