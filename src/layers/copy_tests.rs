use super::*;

#[test]
fn copy_ranges_are_read_as_aws_requires() {
    for (good, range) in [
        ("bytes=0-0", (0, 0)),
        ("bytes=5-10", (5, 10)),
        ("bytes=0-5368709119", (0, 5_368_709_119)),
    ] {
        let v = HeaderValue::from_static(good);
        assert_eq!(copy_range(&v).ok(), Some(range), "{good}");
    }
    for bad in [
        "bytes=10-5",
        "bytes=-5",
        "bytes=5-",
        "bytes=1-2,4-5",
        "bytes= 1-2",
        "items=1-2",
        "bytes=99999999999999999999-1",
    ] {
        let err = copy_range(&HeaderValue::from_static(bad)).unwrap_err();
        assert_eq!(err.to_s3().code, S3ErrorCode::InvalidArgument, "{bad}");
    }
}

#[test]
fn version_ids_are_forwarded_only_when_plain() {
    assert_eq!(version_id("versionId=abc.D-1_x").ok(), Some("abc.D-1_x"));
    for bad in [
        "versionId=",
        "versionId=a%20b",
        "versionId=a&x=1",
        "other=1",
        "versionId=a/b",
    ] {
        assert!(version_id(bad).is_err(), "{bad}");
    }
}

#[test]
fn own_requests_address_the_store_path_style() {
    let addressing = Addressing {
        virtual_host_suffixes: vec!["s3.example".into()],
        path_style_hosts: vec![],
    };
    let host = |h: &'static str| {
        path_style_host(
            &HeaderValue::from_static(h),
            &addressing,
            HostReading::PathStyle,
        )
    };
    assert_eq!(
        host("localhost:9000"),
        Some(HeaderValue::from_static("localhost:9000"))
    );
    assert_eq!(
        host("127.0.0.1"),
        Some(HeaderValue::from_static("127.0.0.1"))
    );
    assert_eq!(
        host("s3.example"),
        Some(HeaderValue::from_static("s3.example"))
    );
    assert_eq!(
        host("bucket.s3.example:8443"),
        Some(HeaderValue::from_static("s3.example:8443"))
    );
    assert_eq!(host("other.example"), None);
}

#[test]
fn directives() {
    let mut h = HeaderMap::new();
    assert!(!directive(&h, &METADATA_DIRECTIVE).unwrap());
    h.insert(METADATA_DIRECTIVE, HeaderValue::from_static("REPLACE"));
    assert!(directive(&h, &METADATA_DIRECTIVE).unwrap());
    h.insert(METADATA_DIRECTIVE, HeaderValue::from_static("COPY"));
    assert!(!directive(&h, &METADATA_DIRECTIVE).unwrap());
    h.insert(METADATA_DIRECTIVE, HeaderValue::from_static("replace"));
    let e = directive(&h, &METADATA_DIRECTIVE).unwrap_err().to_s3();
    assert_eq!(e.code, S3ErrorCode::InvalidArgument);
}

#[test]
fn timestamps_are_s3s() {
    let t = iso_now();
    assert_eq!(t.len(), 24, "{t}");
    assert!(t.ends_with(".000Z") && t.as_bytes()[10] == b'T', "{t}");
}

#[test]
fn metadata_is_told_from_write_options() {
    for name in ["content-type", "x-amz-meta-a", "cache-control", "expires"] {
        assert!(is_metadata(&HeaderName::from_static(name)), "{name}");
        assert!(!is_write_option(&HeaderName::from_static(name)), "{name}");
    }
    for name in [
        "x-amz-storage-class",
        "x-amz-grant-read",
        "x-amz-object-lock-mode",
    ] {
        assert!(is_write_option(&HeaderName::from_static(name)), "{name}");
        assert!(!is_metadata(&HeaderName::from_static(name)), "{name}");
    }
    // Never the client's keys or authentication.
    for name in [
        "x-amz-server-side-encryption-customer-key",
        "x-amz-copy-source-server-side-encryption-customer-key",
        "authorization",
        "x-amz-copy-source",
    ] {
        let name = HeaderName::from_static(name);
        assert!(!is_metadata(&name) && !is_write_option(&name), "{name}");
    }
}

fn answer(status: u16, content_range: Option<&'static str>) -> Response<()> {
    let mut r = Response::new(());
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    if let Some(v) = content_range {
        r.headers_mut()
            .insert(http::header::CONTENT_RANGE, HeaderValue::from_static(v));
    }
    r
}

#[test]
fn a_range_read_must_be_the_range_asked() {
    assert!(check_range(&answer(206, Some("bytes 5-9/100")), (5, 9)).is_ok());
    assert!(check_range(&answer(206, Some("bytes 0-99/100")), (0, 99)).is_ok());
    // Errors other than 416 are the store's to answer.
    assert!(check_range(&answer(404, None), (0, 1)).is_ok());
    for (got, asked) in [
        // Cut short at the end of the object.
        (answer(206, Some("bytes 500-999/1000")), (500, 99_999)),
        // The whole object, range ignored.
        (answer(200, None), (0, 9)),
        (answer(206, Some("bytes 5-9/*")), (5, 9)),
        (answer(206, None), (5, 9)),
        (answer(416, Some("bytes */1000")), (2000, 3000)),
    ] {
        let e = check_range(&got, asked).unwrap_err().to_s3();
        assert_eq!(e.code, S3ErrorCode::InvalidArgument, "{asked:?}");
    }
    let e = check_range(&answer(206, Some("bytes 500-999/1000")), (500, 99_999))
        .unwrap_err()
        .to_s3();
    assert!(e.message.ends_with("size: 1000"), "{}", e.message);
}
