//! Table tests for the form reader: one row per rule, each with what Go's
//! `mime/multipart` or RGW would read differently.

use super::*;

const FILE: &str = "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\nFILE BYTES\r\n--XyZ--\r\n";

fn field(name: &str, value: &str) -> String {
    format!("--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
}

fn form(fields: &[(&str, &str)], with_file: bool) -> Vec<u8> {
    let mut out = String::new();
    for (name, value) in fields {
        out.push_str(&field(name, value));
    }
    out.push_str(if with_file { FILE } else { "--XyZ--\r\n" });
    out.into_bytes()
}

/// A form whose first part has this header block (lines without their CRLF).
fn with_head(head: &str) -> Vec<u8> {
    format!("--XyZ\r\n{head}\r\n\r\nvalue\r\n{FILE}").into_bytes()
}

fn ambiguous(a: Ambiguity) -> Parsed {
    Parsed::Ambiguous(a)
}

#[test]
fn reads_fields_up_to_the_file_part_at_any_cut() {
    let body = form(
        &[
            ("key", "dir/obj"),
            ("X-Amz-Server-Side-Encryption-Customer-Algorithm", "AES256"),
            ("policy", "eyJ9"),
        ],
        true,
    );
    let file_at = body.windows(10).position(|w| w == b"FILE BYTES").unwrap();
    for cut in 0..body.len() {
        match parse(&body[..cut], "XyZ") {
            Parsed::Incomplete => assert!(cut < file_at, "cut {cut}"),
            Parsed::Fields(f) => {
                assert!(cut >= file_at, "cut {cut}");
                assert_eq!(f.file_at(), Some(file_at));
                assert_eq!(f.get("key"), Some(&b"dir/obj"[..]));
                assert_eq!(
                    f.get("x-amz-server-side-encryption-customer-algorithm"),
                    Some(&b"AES256"[..])
                );
            }
            other => panic!("cut {cut}: {other:?}"),
        }
    }
}

#[test]
fn a_form_without_file_ends_at_the_closing_delimiter() {
    let body = form(&[("key", "k")], false);
    assert!(matches!(
        parse(&body, "XyZ"),
        Parsed::Fields(f) if f.get("key") == Some(&b"k"[..]) && f.file_at().is_none()
    ));
}

#[test]
fn accepts_what_browsers_and_sdks_send() {
    let ok: &[(&str, Vec<u8>)] = &[
        ("empty value", form(&[("key", ""), ("acl", "private")], true)),
        ("value with CR and LF", form(&[("key", "a\r\nb\rc\nd")], true)),
        ("value with -XyZ (one dash)", form(&[("key", "a-XyZ")], true)),
        ("7bit", with_head("Content-Disposition: form-data; name=\"key\"\r\nContent-Transfer-Encoding: 7bit")),
        ("8bit", with_head("Content-Disposition: form-data; name=\"key\"\r\ncontent-transfer-encoding: 8BIT")),
        ("binary", with_head("Content-Disposition: form-data; name=\"key\"\r\nContent-Transfer-Encoding: binary")),
        ("unquoted name, no spaces", with_head("content-disposition:form-data;name=key")),
        ("Content-Type on a field", with_head("Content-Disposition: form-data; name=\"key\"\r\nContent-Type: text/plain; charset=utf-8")),
        ("charset UTF8, quoted", with_head("Content-Disposition: form-data; name=\"key\"\r\nContent-Type: text/plain; Charset=\"UTF8\"")),
        ("Content-Type without charset", with_head("Content-Disposition: form-data; name=\"key\"\r\nContent-Type: text/plain")),
        // The file's content is not decoded by any store.
        ("charset on the file part", b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\nContent-Type: text/plain; charset=windows-1252\r\n\r\ndata\r\n--XyZ--".to_vec()),
        ("upper-case FILE, quoted filename with spaces and UTF-8",
            "--XyZ\r\nContent-Disposition: form-data; name=\"FILE\"; filename=\"my report é.pdf\"\r\n\r\ndata\r\n--XyZ--".as_bytes().to_vec()),
        ("file without filename", b"--XyZ\r\nContent-Disposition: form-data; name=file\r\n\r\ndata\r\n--XyZ--".to_vec()),
        ("empty filename", b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\"\r\n\r\n\r\n--XyZ--".to_vec()),
    ];
    for (what, body) in ok {
        assert!(
            matches!(parse(body, "XyZ"), Parsed::Fields(_)),
            "{what}: {:?}",
            parse(body, "XyZ")
        );
    }
}

#[test]
fn refuses_what_a_store_could_read_differently() {
    use Ambiguity::*;
    let k = "x-amz-server-side-encryption-customer-key";
    let upper = k.to_ascii_uppercase();
    let rows: Vec<(&str, Vec<u8>, Parsed)> = vec![
        // Go skips a preamble; RGW reads its lines as the first part's headers.
        ("preamble", [b"preamble\r\n".as_slice(), &form(&[], true)].concat(), ambiguous(Preamble)),
        ("CRLF preamble", [b"\r\n".as_slice(), &form(&[], true)].concat(), ambiguous(Preamble)),
        // Go accepts spaces after a boundary; RGW does not skip them.
        ("LWSP after the first boundary", format!("--XyZ \r\n{}", &field("key", "v")[7..]).into_bytes(), ambiguous(DelimiterPadding)),
        ("tab after a later boundary", [field("key", "v").as_bytes(), b"--XyZ\t\r\n"].concat(), ambiguous(DelimiterPadding)),
        ("LF-only lines (Go switches modes, RGW does not)", b"--XyZ\nContent-Disposition: form-data; name=key\n\nv\n--XyZ--".to_vec(), Parsed::Malformed("a boundary followed by other bytes")),
        // Go's ReadForm files a part with a filename under files: not a field to it.
        ("field with filename", with_head(&format!("Content-Disposition: form-data; name=\"{k}\"; filename=\"k.txt\"")), ambiguous(Disposition)),
        ("field with filename*", with_head(&format!("Content-Disposition: form-data; name=\"{k}\"; filename*=UTF-8''k.txt")), ambiguous(Disposition)),
        // Go decodes RFC 2231 names and lower-cases parameter names; RGW does neither.
        ("name*", with_head(&format!("Content-Disposition: form-data; name*=UTF-8''{k}")), ambiguous(Disposition)),
        ("NAME", with_head(&format!("Content-Disposition: form-data; NAME=\"{k}\"")), ambiguous(Disposition)),
        // Go refuses repeated parameters; RGW keeps the last.
        ("repeated name", with_head(&format!("Content-Disposition: form-data; name=\"key\"; name=\"{k}\"")), ambiguous(Disposition)),
        // Go reads backslash escapes and quoted semicolons; RGW splits on ';' first.
        ("escaped quote in name", with_head("Content-Disposition: form-data; name=\"a\\\"b\""), ambiguous(Disposition)),
        ("semicolon in quoted name", with_head("Content-Disposition: form-data; name=\"a;b\""), ambiguous(Disposition)),
        ("unknown parameter", with_head("Content-Disposition: form-data; name=\"key\"; size=3"), ambiguous(Disposition)),
        ("empty name", with_head("Content-Disposition: form-data; name=\"\""), ambiguous(Disposition)),
        ("no name", with_head("Content-Disposition: form-data"), ambiguous(Disposition)),
        // Go's FormName is empty for anything but form-data (the part is skipped).
        ("attachment", with_head("Content-Disposition: attachment; name=\"key\""), ambiguous(Disposition)),
        // Go takes the first of repeated headers, RGW the last.
        ("two Content-Disposition", with_head(&format!("Content-Disposition: form-data; name=\"key\"\r\ncontent-disposition: form-data; name=\"{k}\"")), ambiguous(Disposition)),
        ("file part with ; in the filename", b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a; name=key\"\r\n\r\nd\r\n--XyZ--".to_vec(), ambiguous(Disposition)),
        ("file part named twice", format!("--XyZ\r\nContent-Disposition: form-data; name=\"file\"; name=\"{k}\"\r\n\r\nd\r\n--XyZ--").into_bytes(), ambiguous(Disposition)),
        ("no Content-Disposition", with_head("Content-Type: text/plain"), Parsed::Malformed("a part without Content-Disposition")),
        ("no headers at all", b"--XyZ\r\n\r\nv\r\n--XyZ--".to_vec(), Parsed::Malformed("a part without Content-Disposition")),
        // Go folds continuation lines; RGW trims them (or ends the block at a blank one).
        ("folded header", with_head("Content-Disposition: form-data;\r\n name=\"key\""), ambiguous(PartHeader)),
        ("whitespace-only header line", with_head("Content-Disposition: form-data; name=\"key\"\r\n  "), ambiguous(PartHeader)),
        ("space before the colon", with_head("Content-Disposition : form-data; name=\"key\""), ambiguous(PartHeader)),
        ("no colon", with_head("Content-Disposition: form-data; name=\"key\"\r\nX-Junk"), ambiguous(PartHeader)),
        ("bare LF in a header", with_head("Content-Disposition: form-data; name=\"key\"\nX: y"), ambiguous(PartHeader)),
        ("NUL in a header", with_head("Content-Disposition: form-data; name=\"key\"\0"), ambiguous(PartHeader)),
        // Go decodes quoted-printable transparently; RGW does not.
        ("quoted-printable", with_head("Content-Disposition: form-data; name=\"key\"\r\nContent-Transfer-Encoding: quoted-printable"), ambiguous(TransferEncoding)),
        ("base64", with_head("Content-Disposition: form-data; name=\"key\"\r\nContent-Transfer-Encoding: base64"), ambiguous(TransferEncoding)),
        ("quoted-printable file", b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\nContent-Transfer-Encoding: Quoted-Printable\r\n\r\n=41\r\n--XyZ--".to_vec(), ambiguous(TransferEncoding)),
        // Garage decodes a field from the charset its Content-Type names.
        ("charset windows-1252", with_head("Content-Disposition: form-data; name=\"key\"\r\nContent-Type: text/plain; charset=windows-1252"), ambiguous(FieldCharset)),
        ("charset UTF-16, second Content-Type", with_head("Content-Disposition: form-data; name=\"key\"\r\nContent-Type: text/plain\r\nContent-Type: text/plain;charset=\"utf-16\""), ambiguous(FieldCharset)),
        ("empty charset", with_head("Content-Disposition: form-data; name=\"key\"\r\nContent-Type: text/plain; charset="), ambiguous(FieldCharset)),
        // Go (as SeaweedFS reads it) takes the first value, RGW the last.
        ("duplicate field", form(&[(k, "a"), ("key", "b"), (k, "c")], true), ambiguous(DuplicateField)),
        ("duplicate field, other case", form(&[(k, "a"), (upper.as_str(), "")], true), ambiguous(DuplicateField)),
        // RGW ends a part at any --boundary, Go only at CRLF --boundary.
        ("boundary inside a value", form(&[("key", "a--XyZ\r\nb")], true), ambiguous(BoundaryInPart)),
        ("boundary inside a header", with_head("Content-Disposition: form-data; name=\"key\"\r\nX: --XyZ"), ambiguous(BoundaryInPart)),
        ("boundary right after the headers", b"--XyZ\r\nContent-Disposition: form-data; name=key\r\n\r\n--XyZ--".to_vec(), ambiguous(BoundaryInPart)),
        ("garbage after a boundary", b"--XyZjunk".to_vec(), Parsed::Malformed("a boundary followed by other bytes")),
    ];
    for (what, body, expected) in rows {
        assert_eq!(parse(&body, "XyZ"), expected, "{what}");
    }
}

#[test]
fn a_boundary_in_an_unfinished_header_block_is_refused_at_once() {
    assert_eq!(
        parse(
            b"--XyZ\r\nContent-Disposition: form-data; name=key\r\nX: --XyZ",
            "XyZ"
        ),
        ambiguous(Ambiguity::BoundaryInPart)
    );
    assert_eq!(
        parse(
            b"--XyZ\r\nContent-Disposition: form-data; name=key\r\nX: --Xy",
            "XyZ"
        ),
        Parsed::Incomplete
    );
}

#[test]
fn reads_the_boundary_parameter_both_stores_agree_on() {
    let ok = [
        ("multipart/form-data; boundary=abc", "abc"),
        ("multipart/form-data;boundary=abc", "abc"),
        (
            "Multipart/Form-Data; charset=utf-8; boundary=----WebKitFormBoundaryA1b2",
            "----WebKitFormBoundaryA1b2",
        ),
        ("multipart/form-data; Boundary=\"a:b(c)=?,/\"", "a:b(c)=?,/"),
        ("multipart/form-data; boundary=\"abc\" ", "abc"),
    ];
    for (ct, b) in ok {
        assert_eq!(boundary(ct).as_deref(), Ok(b), "{ct}");
    }
    let long = format!("multipart/form-data; boundary={}", "a".repeat(71));
    let refused = [
        (
            "multipart/form-data; boundary=a; boundary=b",
            "repeated (Go refuses, RGW takes the last)",
        ),
        (
            "multipart/form-data; boundary=a; BOUNDARY=b",
            "repeated in another case",
        ),
        (
            "multipart/form-data; boundary*=UTF-8''abc",
            "RFC 2231 (Go decodes it)",
        ),
        (
            "multipart/form-data; boundary*0=abc",
            "RFC 2231 continuation",
        ),
        ("multipart/form-data; boundary=\"a b\"", "a space"),
        (
            "multipart/form-data; boundary=\"a\\\"b\"",
            "a backslash escape",
        ),
        (
            "multipart/form-data; boundary=\"a;b\"",
            "a quoted semicolon",
        ),
        (
            "multipart/form-data; boundary=a:b",
            "a tspecial unquoted (Go stops the token there)",
        ),
        ("multipart/form-data; boundary=abc;", "an empty parameter"),
        (
            "multipart/form-data; charset; boundary=abc",
            "a parameter without a value",
        ),
        ("multipart/form-data; boundary=\"\"", "empty"),
        (
            "multipart/form-data; boundary=\"abc",
            "an unterminated quote",
        ),
        (
            "multipart/form-data; boundary=abc; x=\"a\\b\"",
            "an escape in another parameter",
        ),
        (long.as_str(), "longer than 70"),
    ];
    for (ct, why) in refused {
        assert_eq!(
            boundary(ct),
            Err(Refusal::Ambiguous(Ambiguity::ContentTypeParams)),
            "{why}: {ct}"
        );
    }
    for ct in [
        "text/plain; boundary=abc",
        "multipart/form-data",
        "multipart/form-data; charset=utf-8",
        "multipart/mixed; boundary=abc",
    ] {
        assert!(matches!(boundary(ct), Err(Refusal::Malformed(_))), "{ct}");
    }
}

#[test]
fn ambiguities_are_invalid_request_with_their_reason() {
    let e = Ambiguity::DuplicateField.to_s3();
    assert_eq!(e.code, S3ErrorCode::InvalidRequest);
    assert_eq!(e.reason, Some(crate::s3::error::Reason::AmbiguousForm));
    assert!(
        e.message.contains("a field name given twice"),
        "{}",
        e.message
    );
    let e = Ambiguity::Headers.to_s3();
    assert!(
        e.message.contains("form fields before the file"),
        "{}",
        e.message
    );
    let e = Refusal::Malformed("no boundary").to_s3();
    assert_eq!(e.code, S3ErrorCode::MalformedPOSTRequest);
    assert_eq!(e.reason, Some(crate::s3::error::Reason::MalformedPost));
}

#[test]
fn debug_prints_names_only() {
    let body = form(
        &[("x-amz-server-side-encryption-customer-key", "SECRETVALUE")],
        true,
    );
    let Parsed::Fields(f) = parse(&body, "XyZ") else {
        panic!()
    };
    assert!(!format!("{f:?}").contains("SECRETVALUE"));
}

/// Feeds `tail` in two frames split at `cut`; returns the frame index that failed.
fn feed_split(body: &[u8], cut: usize) -> (Option<usize>, Tail) {
    let mut tail = Tail::new("XyZ");
    for (i, frame) in [&body[..cut], &body[cut..]].into_iter().enumerate() {
        if tail.feed(frame).is_err() {
            return (Some(i), tail);
        }
    }
    (None, tail)
}

#[test]
fn the_tail_accepts_a_closing_delimiter_split_anywhere() {
    for body in [
        &b"content\r\n--XyZ--\r\n"[..],
        b"\r\n--XyZ--",
        b"a-XyZ --Xy\r\n-XyZ\r\n--XyZ--",
        b"data\r\n--XyZ--\r\n--XyZ\r\nContent-Disposition: form-data; name=key\r\n\r\nepilogue",
    ] {
        for cut in 0..=body.len() {
            let (failed, mut tail) = feed_split(body, cut);
            assert_eq!(
                failed,
                None,
                "cut {cut} of {:?}",
                String::from_utf8_lossy(body)
            );
            assert!(tail.is_closed());
            assert_eq!(tail.finish(), Ok(()));
        }
    }
}

#[test]
fn the_tail_refuses_a_part_after_the_file_before_forwarding_the_deciding_byte() {
    let rows: [(&[u8], Ambiguity); 5] = [
        (
            b"data\r\n--XyZ\r\nContent-Disposition: form-data; name=key\r\n\r\nv\r\n--XyZ--",
            Ambiguity::AfterFile,
        ),
        (
            b"data\r\n--XyZ \r\nContent-Disposition: form-data; name=key\r\n\r\nv\r\n--XyZ--",
            Ambiguity::AfterFile,
        ),
        (b"data\r\n--XyZ-x", Ambiguity::AfterFile),
        (b"data--XyZ--", Ambiguity::BoundaryInPart),
        (b"--XyZ--", Ambiguity::BoundaryInPart),
    ];
    for (body, why) in rows {
        let at = body.windows(5).position(|w| w == b"--XyZ").unwrap();
        // The byte that decides: the one after "--XyZ" that is not '-', or the
        // delimiter's last byte when no CRLF precedes it.
        let decisive = match why {
            Ambiguity::BoundaryInPart => at + 4,
            _ => (at + 5..body.len()).find(|&i| body[i] != b'-').unwrap(),
        };
        for cut in 0..=body.len() {
            let (failed, mut tail) = feed_split(body, cut);
            let expected = if decisive < cut { 0 } else { 1 };
            assert_eq!(
                failed,
                Some(expected),
                "cut {cut} of {:?}",
                String::from_utf8_lossy(body)
            );
            assert_eq!(tail.refused(), Some(why));
            assert_eq!(tail.feed(b"--XyZ--"), Err(why), "stays refused");
            assert_eq!(tail.finish(), Err(why));
        }
    }
}

#[test]
fn the_tail_refuses_a_body_that_ends_before_the_closing_delimiter() {
    for body in [&b"data"[..], b"data\r\n--XyZ", b"data\r\n--XyZ-"] {
        let mut tail = Tail::new("XyZ");
        assert_eq!(tail.feed(body), Ok(()));
        assert_eq!(tail.finish(), Err(Ambiguity::Unterminated));
        assert!(!tail.is_closed());
    }
}

#[test]
fn the_tail_finds_a_delimiter_fed_one_byte_at_a_time() {
    let body = b"0123456789\r\n--XyZ\r\n";
    let mut tail = Tail::new("XyZ");
    let failed = body
        .iter()
        .position(|b| tail.feed(std::slice::from_ref(b)).is_err());
    assert_eq!(failed, Some(body.len() - 2));
}

proptest::proptest! {
    #[test]
    fn never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let _ = parse(&data, "B");
        let mut tail = Tail::new("B");
        let _ = tail.feed(&data);
        let _ = tail.finish();
    }

    #[test]
    fn the_tail_does_not_depend_on_framing(
        data in proptest::collection::vec(proptest::sample::select(b"-B\r\nx".to_vec()), 0..64),
        cuts in proptest::collection::vec(0usize..64, 0..6),
    ) {
        let mut whole = Tail::new("B");
        let expected = whole.feed(&data).and_then(|()| whole.finish());
        let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c <= data.len()).collect();
        cuts.sort_unstable();
        let mut tail = Tail::new("B");
        let mut result = Ok(());
        let mut from = 0;
        for cut in cuts.into_iter().chain([data.len()]) {
            result = result.and_then(|()| tail.feed(&data[from..cut]));
            from = cut;
        }
        let result = result.and_then(|()| tail.finish());
        proptest::prop_assert_eq!(result, expected);
    }
}

proptest::proptest! {
    /// The layer parses the body as it arrives: a prefix that is not `Incomplete`
    /// must give the whole body's answer.
    #[test]
    fn a_decided_prefix_agrees_with_the_whole_body(
        pieces in proptest::collection::vec(proptest::sample::select(vec![
            "--B", "\r\n", "--", " ", "Content-Disposition: form-data; name=", "\"k\"", "file",
            "; filename=\"f\"", "Content-Transfer-Encoding: 8bit", "v", ":", "\r\n\r\n",
        ]), 0..24),
    ) {
        let body = pieces.concat().into_bytes();
        let whole = parse(&body, "B");
        for cut in 0..body.len() {
            let part = parse(&body[..cut], "B");
            if part != Parsed::Incomplete {
                proptest::prop_assert_eq!(&part, &whole, "cut {}", cut);
            }
        }
    }
}

#[test]
fn refuses_field_values_a_store_decodes() {
    for value in [
        b"a\nb".as_slice(),
        b"\x7f",
        b"\xEF\xBB\xBF/k",
        b"\xFF\xFE/\0k\0",
        b"\xFE\xFF\0/\0k",
    ] {
        let e = check_value("key", value).expect_err("refused");
        assert_eq!(e.code, S3ErrorCode::InvalidRequest, "{value:?}");
        assert_eq!(e.reason, Some(Reason::AmbiguousForm), "{value:?}");
    }
    let e = check_value("key", b"\xEF\xBB\xBF/k").expect_err("refused");
    assert!(e.message.contains("byte order mark"), "{}", e.message);
    // A byte order mark inside the value is the key's own character to every store.
    for value in [
        b"k\xEF\xBB\xBF".as_slice(),
        b"caf\xC3\xA9",
        b"\xEF\xBB",
        b"a\tb",
    ] {
        check_value("key", value).unwrap();
    }
}
