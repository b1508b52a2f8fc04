//! Table tests: every reading a store could make differently is refused, and the
//! requests real clients send pass.

use http::{HeaderMap, HeaderName, HeaderValue};

use super::*;
use crate::s3::error::Reason;

fn reason(e: &S3Error) -> Option<Reason> {
    e.reason
}

#[test]
fn decodes_like_stores_and_refuses_bad_escapes() {
    assert_eq!(decode("a%2Fb%20c").unwrap(), "a/b c");
    assert_eq!(decode("plus+stays").unwrap(), "plus+stays");
    assert_eq!(decode("%e2%82%AC").unwrap(), "€");
    for bad in ["%", "%2", "%zz", "a%g0", "%ff", "%c3%28"] {
        let e = decode(bad).unwrap_err();
        assert_eq!(e.code, S3ErrorCode::InvalidURI, "{bad}");
    }
}

#[test]
fn path_style_keeps_the_bucket_literal() {
    let ok = |p: &str| path_style(p).unwrap();
    assert_eq!(ok("b/k"), (Some("b".into()), Some("k".into())));
    assert_eq!(ok("b/a%2Fk"), (Some("b".into()), Some("a/k".into())));
    assert_eq!(ok("b/dir//k"), (Some("b".into()), Some("dir//k".into())));
    assert_eq!(ok("b/"), (Some("b".into()), None));
    assert_eq!(ok("b"), (Some("b".into()), None));
    assert_eq!(ok(""), (None, None));
    for bad in [
        "req-b%2Fk",
        "req-b%2fk",
        "req%2Db/k",
        ":forbid-b/k",
        "tenant:b/k",
        "b@x/k",
        "b+/k",
        "/b/k",
        "./k",
        "../b/k",
        "b/../other/k",
        "b/%2E%2E/other/k",
        "b/a/.",
        "b/.",
        "b/%2e",
    ] {
        let e = path_style(bad).unwrap_err();
        assert_eq!(reason(&e), Some(REASON_PATH), "{bad}");
    }
}

fn addressing(suffixes: &[&str], hosts: &[&str]) -> Addressing {
    Addressing {
        virtual_host_suffixes: suffixes.iter().map(|s| (*s).to_owned()).collect(),
        path_style_hosts: hosts.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[test]
fn places_hosts_only_when_no_store_could_read_them_otherwise() {
    let none = addressing(&[], &[]);
    for host in [
        "localhost",
        "localhost:8443",
        "127.0.0.1",
        "127.0.0.1:9000",
        "[::1]:8443",
        "[::1]",
        "ssec-proxy",
    ] {
        assert_eq!(
            none.place(host, HostReading::PathStyle).unwrap(),
            Placement::PathStyle,
            "{host}"
        );
    }
    for host in [
        "req-b.localhost",
        "req-b.localhost:8443",
        "s3.example.com",
        "localhost.",
    ] {
        let e = none.place(host, HostReading::PathStyle).unwrap_err();
        assert_eq!(reason(&e), Some(REASON_HOST), "{host}");
    }
    let set = addressing(&["s3.example.com", "localhost"], &["gw.example.org"]);
    assert_eq!(
        set.place("b.s3.example.com:443", HostReading::PathStyle)
            .unwrap(),
        Placement::VirtualHosted("b")
    );
    assert_eq!(
        set.place("a.b.s3.example.com", HostReading::PathStyle)
            .unwrap(),
        Placement::VirtualHosted("a.b")
    );
    assert_eq!(
        set.place("req-b.localhost:1", HostReading::PathStyle)
            .unwrap(),
        Placement::VirtualHosted("req-b")
    );
    for host in ["s3.example.com", "localhost", "gw.example.org:8443"] {
        assert_eq!(
            set.place(host, HostReading::PathStyle).unwrap(),
            Placement::PathStyle,
            "{host}"
        );
    }
    assert!(
        set.place("other.example.org", HostReading::PathStyle)
            .is_err()
    );
    assert!(
        set.place("b%2Fx.s3.example.com", HostReading::PathStyle)
            .is_err()
    );
    // Anything but a lower-case name or an IP literal, with an optional port: SeaweedFS
    // matches its domain case-sensitively, RGW case-insensitively.
    for host in [
        "Req-B.s3.example.com",
        "public.S3.example.com",
        "LOCALHOST",
        "[x]b.s3.example.com",
        "[::1]x",
        "a:b",
        "localhost:",
        "localhost:80:80",
        "",
        "b_x.s3.example.com",
    ] {
        let e = set.place(host, HostReading::PathStyle).unwrap_err();
        assert_eq!(reason(&e), Some(REASON_HOST), "{host}");
    }
    // Two suffixes that both match: the bucket depends on which the store has.
    let nested = addressing(&["s3.example.com", "example.com"], &[]);
    assert!(
        nested
            .place("b.s3.example.com", HostReading::PathStyle)
            .is_err()
    );
    assert_eq!(
        nested
            .place("b.example.com", HostReading::PathStyle)
            .unwrap(),
        Placement::VirtualHosted("b")
    );
    // A suffix (or a path-style host) that is also `<bucket>.<another suffix>`: RGW reads
    // a host equal to one of its domains path style, a store with only the shorter
    // domain as bucket `app-data.s1.example`.
    let own = addressing(&["app-data.s1.example.com", "com"], &[]);
    let e = own
        .place("app-data.s1.example.com", HostReading::PathStyle)
        .unwrap_err();
    assert_eq!(reason(&e), Some(REASON_HOST));
    let listed = addressing(&["example.com"], &["s3.example.com"]);
    assert!(
        listed
            .place("s3.example.com", HostReading::PathStyle)
            .is_err()
    );
    assert_eq!(
        own.place("b.app-data.s1.example.com", HostReading::PathStyle)
            .unwrap_err()
            .code,
        S3ErrorCode::InvalidRequest,
        "two suffixes match"
    );
}

#[test]
fn reads_the_queries_clients_send() {
    for raw in [
        "",
        "uploads",
        "uploads=",
        "uploadId=2~abc%2Bdef&partNumber=3",
        "list-type=2&prefix=a%2Fb&delimiter=%2F&max-keys=10&encoding-type=url",
        "versionId=v1&response-content-type=text%2Fplain&x-id=GetObject",
        "tagging&versionId=v",
        "select&select-type=2",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
        "a&&b",
    ] {
        Query::parse(Some(raw)).unwrap_or_else(|e| panic!("{raw}: {}", e.message));
    }
    let q = Query::parse(Some("uploadId=2~a%7Eb&partNumber=1")).unwrap();
    assert_eq!(q.upload_id(), Some("2~a~b"));
    assert!(q.is_multipart() && q.has_part_number() && q.has_selector());
}

#[test]
fn refuses_queries_stores_read_differently() {
    for raw in [
        "%75ploadId=x&partNumber=1",
        "uploadId=x&%70artNumber=1",
        "%75ploads",
        "upload%49d=x",
        "uploadId=A&uploadId=B",
        "partNumber=1&partNumber=2",
        "prefix=a&prefix=b",
        "UploadId=x",
        "uploadid=x",
        "Tagging",
        "uploads;x=1",
        "x=1;uploadId=2",
        "upload+Id=x",
        "=x",
        "uploadId=a+b",
        "uploadId=",
        "partNumber=1a",
        "list-type=%32",
        "list-type=",
        "partNumber=",
        "tagging=x",
        "acl=1",
        "acl&torrent",
        "uploads&uploadId=x",
        "uploadId=x&tagging",
        "versioning&policy",
        "x-amz-server-side-encryption-customer-algorithm=AES256",
        "X-Amz-Server-Side-Encryption-Customer-Key=a",
        "x-amz-server-side-encryption=AES256",
        "x-amz-copy-source=b%2Fk",
        // Checks and conditions the stores read as headers only.
        "uploadId=u&x-amz-mp-object-size=999",
        "uploadId=u&X-Amz-Mp-Object-Size=999",
        "x-amz-checksum-crc32=AAAAAA%3D%3D",
        "X-Amz-Checksum-Sha256=AAAA",
        "x-amz-checksum-algorithm=CRC32",
        "x-amz-if-match-size=1",
        "x-amz-if-match-last-modified-time=x",
        "x-amz-write-offset-bytes=100",
        // Go's ParseQuery drops a pair it cannot unescape: SeaweedFS would not see it.
        "list-type=2&append=dir%2partNumberF",
        "prefix=%",
        "prefix=a%4",
        "versionId=%zz",
        // RGW answers in the format named: JSON or HTML, not XML.
        "list-type=2&format=json",
        "format=html",
        "Format=xml",
    ] {
        let e = Query::parse(Some(raw)).err();
        assert!(
            e.as_ref().is_some_and(
                |e| reason(e) == Some(REASON_QUERY) || e.code == S3ErrorCode::InvalidURI
            ),
            "{raw}"
        );
    }
    // Asking for the stored checksum in the answer is read alike, or ignored alike.
    assert!(Query::parse(Some("x-amz-checksum-mode=ENABLED")).is_ok());
    // `torrent=` has an empty value: still a flag.
    assert!(Query::parse(Some("torrent=")).unwrap().has("torrent"));
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

#[test]
fn accepts_the_headers_clients_send() {
    let h = headers(&[
        ("host", "localhost"),
        ("connection", "keep-alive, TE"),
        ("te", "trailers"),
        ("x-amz-meta-a", "1"),
        ("x-amz-meta-a", "2"),
        ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
        ("content-type", "application/octet-stream"),
        ("x-amz-copy-source", "/src-b/dir%2Fk%20x?versionId=v"),
        ("x_custom_thing", "1"),
        ("accept-encoding", "gzip"),
        ("accept-encoding", "br"),
    ]);
    check_headers(&h).unwrap();
    check_headers(&headers(&[("connection", "close")])).unwrap();
    // Types RGW answers XML for: lists (a browser's), XML, anything.
    for accept in [
        "*/*",
        "application/xml",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "application/json, text/plain",
    ] {
        check_headers(&headers(&[("accept", accept)])).unwrap();
    }
}

#[test]
fn refuses_headers_stores_read_differently() {
    let sse = "x-amz-server-side-encryption-customer-algorithm";
    let key = "x-amz-server-side-encryption-customer-key";
    let cases: &[(&[(&str, &str)], Reason)] = &[
        (&[(sse, "AES256"), (sse, "AES256")], REASON_HEADER),
        (&[(key, "a"), (key, "")], REASON_HEADER),
        (
            &[
                ("x-amz-copy-source-server-side-encryption-customer-key", "a"),
                ("x-amz-copy-source-server-side-encryption-customer-key", "b"),
            ],
            REASON_HEADER,
        ),
        (
            &[
                ("content-type", "text/plain"),
                ("content-type", "multipart/form-data; boundary=x"),
            ],
            REASON_HEADER,
        ),
        (
            &[("x-amz-copy-source", "a/k"), ("x-amz-copy-source", "b/k")],
            REASON_HEADER,
        ),
        (
            &[
                ("x-amz-server-side-encryption", "AES256"),
                ("x-amz-server-side-encryption", "aws:kms"),
            ],
            REASON_HEADER,
        ),
        (
            &[
                ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"),
                ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
            ],
            REASON_HEADER,
        ),
        (
            &[("x_amz_server_side_encryption_customer_key", "a")],
            REASON_HEADER,
        ),
        (&[("X-Amz-Server-Side_Encryption", "AES256")], REASON_HEADER),
        (&[("content_type", "multipart/form-data")], REASON_HEADER),
        (&[("if_match", "\"a\"")], REASON_HEADER),
        (&[("If_None_Match", "*")], REASON_HEADER),
        (&[("connection", sse), (sse, "AES256")], REASON_CONNECTION),
        (
            &[
                (
                    "connection",
                    "keep-alive, X-Amz-Server-Side-Encryption-Customer-Key",
                ),
                (key, "a"),
            ],
            REASON_CONNECTION,
        ),
        (
            &[("connection", "content-type"), ("content-type", "a/b")],
            REASON_CONNECTION,
        ),
        (
            &[
                ("connection", "close"),
                ("connection", "x-amz-copy-source"),
                ("x-amz-copy-source", "b/k"),
            ],
            REASON_CONNECTION,
        ),
        (&[("x-amz-copy-source", "req-b%2Fk")], REASON_HEADER),
        (&[("x-amz-copy-source", "/src%2Db/k")], REASON_HEADER),
        (&[("x-amz-copy-source", "b/../c/k")], REASON_HEADER),
        (&[("x-amz-copy-source", ":vault/k")], REASON_HEADER),
        (
            &[("x-amz-copy-source", "arn:aws:s3:::nothing")],
            REASON_HEADER,
        ),
        (
            &[(
                "x-amz-copy-source",
                "arn:aws:s3:us-east-1:1:accesspoint/ap/object/k",
            )],
            REASON_HEADER,
        ),
        (&[("x-amz-copy-source", "b")], REASON_HEADER),
        (&[("x-amz-copy-source", "//b/k")], REASON_HEADER),
        (&[("trailer", "x-amz-checksum-crc32")], REASON_HEADER),
        (&[("Trailer", "x-amz-meta-a, expires")], REASON_HEADER),
        // As HTTP/2 can carry them: whitespace around a value, of any field.
        (
            &[(
                "x-amz-content-sha256",
                " STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            )],
            REASON_HEADER,
        ),
        (&[(sse, "\tAES256")], REASON_HEADER),
        (&[("content-type", "a/b ")], REASON_HEADER),
        (
            &[("x-amz-meta-a", "1"), ("x-amz-meta-a", " 2")],
            REASON_HEADER,
        ),
        // RGW answers JSON or HTML for these; a repeat is read too.
        (&[("accept", "application/json")], REASON_HEADER),
        (&[("accept", "text/html")], REASON_HEADER),
        (&[("accept", "Application/JSON ;q=1")], REASON_HEADER),
        (
            &[("accept", "*/*"), ("accept", "text/html;level=1")],
            REASON_HEADER,
        ),
    ];
    for (pairs, want) in cases {
        let e = check_headers(&headers(pairs)).unwrap_err();
        assert_eq!(reason(&e), Some(*want), "{pairs:?}");
        assert_eq!(e.code, S3ErrorCode::InvalidRequest, "{pairs:?}");
    }
}

mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the bytes, the readers answer without panicking, and a query they
        /// accept has no name twice.
        #[test]
        fn never_panics_and_never_accepts_repeats(raw in "[a-zA-Z0-9%&=;+~._-]{0,64}") {
            if let Ok(q) = Query::parse(Some(&raw)) {
                let names = q.names();
                for (i, n) in names.iter().enumerate() {
                    prop_assert!(!names[i + 1..].contains(n));
                    prop_assert!(!n.contains('%'));
                }
            }
            let _ = path_style(&raw);
            let _ = decode(&raw);
            let _ = addressing(&["s3.example.com"], &[]).place(&raw, HostReading::PathStyle);
        }
    }
}

#[test]
fn refuses_a_copy_source_with_raw_bytes_outside_visible_ascii() {
    for raw in [
        &b"/other/secr\xc3\xa9t"[..],
        b"/other/secret?versionId=null&\xc3\xa9",
        b"/other/sec ret",
        b"/other/secret\t",
    ] {
        let mut h = HeaderMap::new();
        h.insert("x-amz-copy-source", HeaderValue::from_bytes(raw).unwrap());
        let e = check_headers(&h).unwrap_err();
        assert_eq!(reason(&e), Some(REASON_HEADER), "{raw:?}");
    }
    check_headers(&headers(&[(
        "x-amz-copy-source",
        "/other/secr%C3%A9t?versionId=v",
    )]))
    .unwrap();
}

#[test]
fn a_store_reading_unknown_hosts_as_buckets_gets_only_listed_single_names() {
    let none = addressing(&[], &[]);
    for host in ["localhost", "localhost:8443", "ssec-proxy", "backups:9000"] {
        let e = none.place(host, HostReading::AsBucket).unwrap_err();
        assert_eq!(reason(&e), Some(REASON_HOST), "{host}");
        assert!(e.message.contains("server.path_style_hosts"), "{host}");
    }
    for host in ["127.0.0.1:9000", "[::1]", "[::1]:8443"] {
        let placed = none.place(host, HostReading::AsBucket).unwrap();
        assert_eq!(placed, Placement::PathStyle, "{host}");
    }
    let listed = addressing(&["localhost"], &["ssec-proxy", "gw.example.org"]);
    for host in ["localhost:1", "ssec-proxy", "gw.example.org", "127.0.0.1"] {
        let placed = listed.place(host, HostReading::AsBucket).unwrap();
        assert_eq!(placed, Placement::PathStyle, "{host}");
    }
    assert!(listed.place("backups", HostReading::AsBucket).is_err());
    assert_eq!(
        listed.place("b.localhost", HostReading::AsBucket).unwrap(),
        Placement::VirtualHosted("b")
    );
}

#[test]
fn a_listed_host_under_another_listed_host_is_refused() {
    // RGW tries its names in sorted order: with `example.com` among them,
    // `s3.example.com` is bucket `s3`, listed or not.
    for (listed, host) in [
        (["example.com", "s3.example.com"], "s3.example.com:8443"),
        (["s3.example.com", "t.s3.example.com"], "t.s3.example.com"),
    ] {
        let set = addressing(&[], &listed);
        for reading in [HostReading::AsBucket, HostReading::PathStyle] {
            let e = set.place(host, reading).unwrap_err();
            assert_eq!(reason(&e), Some(REASON_HOST), "{host}");
            assert!(e.message.contains("another"), "{host}");
        }
        assert_eq!(
            set.place(listed[0], HostReading::AsBucket).unwrap(),
            Placement::PathStyle
        );
    }
}

#[test]
fn a_virtual_host_that_also_ends_with_a_listed_host_is_refused() {
    // RGW reads `s3.example.com` under its name `com` (sorted first) as bucket
    // `s3.example`, and `b.s3.example.com` under `example.com` as bucket `b.s3`.
    for (suffixes, listed, host) in [
        (&["example.com"][..], &["com"][..], "s3.example.com:8443"),
        (&["s3.example.com"], &["example.com"], "b.s3.example.com"),
    ] {
        let set = addressing(suffixes, listed);
        for reading in [HostReading::AsBucket, HostReading::PathStyle] {
            let e = set.place(host, reading).unwrap_err();
            assert_eq!(reason(&e), Some(REASON_HOST), "{host}");
            assert!(e.message.contains("also ends with"), "{host}");
        }
    }
    // Names that do not nest, or one name in both lists, place as before.
    for listed in ["localhost", "s3.example.com"] {
        let set = addressing(&["s3.example.com"], &[listed]);
        assert_eq!(
            set.place("b.s3.example.com", HostReading::AsBucket)
                .unwrap(),
            Placement::VirtualHosted("b")
        );
    }
}

#[test]
fn an_ip_address_ending_with_a_listed_host_is_refused() {
    // RGW matches its names as suffixes of any Host: with `1` among them, `17.0.0.1` is
    // bucket `17.0.0`; with `0.1`, bucket `17.0`.
    for listed in ["1", "0.1", "0.0.1"] {
        let set = addressing(&[], &[listed]);
        for reading in [HostReading::AsBucket, HostReading::PathStyle] {
            let e = set.place("17.0.0.1:9000", reading).unwrap_err();
            assert_eq!(reason(&e), Some(REASON_HOST), "{listed}");
            assert!(e.message.contains("IP address"), "{listed}");
        }
        assert_eq!(
            set.place("[::1]", HostReading::AsBucket).unwrap(),
            Placement::PathStyle
        );
    }
    let own = addressing(&[], &["127.0.0.1"]);
    assert_eq!(
        own.place("127.0.0.1", HostReading::AsBucket).unwrap(),
        Placement::PathStyle
    );
}

#[test]
fn an_edited_query_keeps_every_other_byte() {
    let edit = |target: &str| {
        let uri: http::Uri = target.parse().unwrap();
        edited_query(&uri, |name| match name {
            "drop" => QueryPair::Drop,
            "swap" => QueryPair::With("swap=new%2F".to_owned()),
            _ => QueryPair::Keep,
        })
        .unwrap()
        .to_string()
    };
    assert_eq!(
        edit("/b/k%20x?a=1&drop=2&swap=old&c"),
        "/b/k%20x?a=1&swap=new%2F&c"
    );
    assert_eq!(edit("/?drop=1"), "/");
    assert_eq!(edit("/?drop=1&drop2=&&x=%41"), "/?drop2=&&x=%41");
    assert_eq!(edit("/b"), "/b");
    assert_eq!(
        edit("https://h:1/b?swap=1&drop"),
        "https://h:1/b?swap=new%2F"
    );
}
