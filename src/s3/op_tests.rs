//! Table tests: one row per request syntax in AWS's S3 API reference.

use super::*;
use crate::s3::error::Reason;
use crate::s3::strict::{Addressing, HostReading};

const SUFFIXES: &[&str] = &["s3.example.com", "s3.localhost"];

fn suffixes() -> Addressing {
    Addressing {
        virtual_host_suffixes: SUFFIXES.iter().map(|s| (*s).to_owned()).collect(),
        path_style_hosts: Vec::new(),
    }
}

/// (method, host, path?query, copy-source, form) → (op, bucket, key)
#[allow(clippy::type_complexity)]
const ROWS: &[(
    &str,
    &str,
    &str,
    bool,
    bool,
    S3Op,
    Option<&str>,
    Option<&str>,
)] = &[
    // Service.
    (
        "GET",
        "s3.example.com",
        "/",
        false,
        false,
        S3Op::ListBuckets,
        None,
        None,
    ),
    // Objects, path style (AWS API reference "Request Syntax" of each operation).
    (
        "GET",
        "s3.example.com",
        "/b/k",
        false,
        false,
        S3Op::GetObject,
        Some("b"),
        Some("k"),
    ),
    (
        "GET",
        "s3.example.com",
        "/b/k?partNumber=2",
        false,
        false,
        S3Op::GetObject,
        Some("b"),
        Some("k"),
    ),
    (
        "GET",
        "s3.example.com",
        "/b/k?versionId=v1&response-content-type=x",
        false,
        false,
        S3Op::GetObject,
        Some("b"),
        Some("k"),
    ),
    (
        "GET",
        "s3.example.com",
        "/b/k?x-id=GetObject",
        false,
        false,
        S3Op::GetObject,
        Some("b"),
        Some("k"),
    ),
    (
        "HEAD",
        "s3.example.com",
        "/b/k",
        false,
        false,
        S3Op::HeadObject,
        Some("b"),
        Some("k"),
    ),
    (
        "PUT",
        "s3.example.com",
        "/b/k",
        false,
        false,
        S3Op::PutObject,
        Some("b"),
        Some("k"),
    ),
    (
        "PUT",
        "s3.example.com",
        "/b/k?x-id=PutObject",
        false,
        false,
        S3Op::PutObject,
        Some("b"),
        Some("k"),
    ),
    (
        "PUT",
        "s3.example.com",
        "/b/k",
        true,
        false,
        S3Op::CopyObject,
        Some("b"),
        Some("k"),
    ),
    (
        "DELETE",
        "s3.example.com",
        "/b/k",
        false,
        false,
        S3Op::DeleteObject,
        Some("b"),
        Some("k"),
    ),
    (
        "DELETE",
        "s3.example.com",
        "/b/k?versionId=v1",
        false,
        false,
        S3Op::DeleteObject,
        Some("b"),
        Some("k"),
    ),
    (
        "GET",
        "s3.example.com",
        "/b/k?acl",
        false,
        false,
        S3Op::GetObjectAcl,
        Some("b"),
        Some("k"),
    ),
    (
        "PUT",
        "s3.example.com",
        "/b/k?acl",
        false,
        false,
        S3Op::PutObjectAcl,
        Some("b"),
        Some("k"),
    ),
    (
        "GET",
        "s3.example.com",
        "/b/k?tagging",
        false,
        false,
        S3Op::GetObjectTagging,
        Some("b"),
        Some("k"),
    ),
    (
        "PUT",
        "s3.example.com",
        "/b/k?tagging",
        false,
        false,
        S3Op::PutObjectTagging,
        Some("b"),
        Some("k"),
    ),
    (
        "DELETE",
        "s3.example.com",
        "/b/k?tagging",
        false,
        false,
        S3Op::DeleteObjectTagging,
        Some("b"),
        Some("k"),
    ),
    (
        "GET",
        "s3.example.com",
        "/b/k?attributes",
        false,
        false,
        S3Op::GetObjectAttributes,
        Some("b"),
        Some("k"),
    ),
    (
        "GET",
        "s3.example.com",
        "/b/k?retention",
        false,
        false,
        S3Op::GetObjectRetention,
        Some("b"),
        Some("k"),
    ),
    (
        "PUT",
        "s3.example.com",
        "/b/k?retention",
        false,
        false,
        S3Op::PutObjectRetention,
        Some("b"),
        Some("k"),
    ),
    (
        "GET",
        "s3.example.com",
        "/b/k?legal-hold",
        false,
        false,
        S3Op::GetObjectLegalHold,
        Some("b"),
        Some("k"),
    ),
    (
        "PUT",
        "s3.example.com",
        "/b/k?legal-hold",
        false,
        false,
        S3Op::PutObjectLegalHold,
        Some("b"),
        Some("k"),
    ),
    (
        "GET",
        "s3.example.com",
        "/b/k?torrent",
        false,
        false,
        S3Op::GetObjectTorrent,
        Some("b"),
        Some("k"),
    ),
    (
        "POST",
        "s3.example.com",
        "/b/k?restore",
        false,
        false,
        S3Op::RestoreObject,
        Some("b"),
        Some("k"),
    ),
    (
        "POST",
        "s3.example.com",
        "/b/k?select&select-type=2",
        false,
        false,
        S3Op::SelectObjectContent,
        Some("b"),
        Some("k"),
    ),
    (
        "PUT",
        "s3.example.com",
        "/b/k?renameObject",
        false,
        false,
        S3Op::RenameObject,
        Some("b"),
        Some("k"),
    ),
    (
        "OPTIONS",
        "s3.example.com",
        "/b/k",
        false,
        false,
        S3Op::CorsPreflight,
        Some("b"),
        Some("k"),
    ),
    // Multipart uploads.
    (
        "POST",
        "s3.example.com",
        "/b/k?uploads",
        false,
        false,
        S3Op::CreateMultipartUpload,
        Some("b"),
        Some("k"),
    ),
    (
        "POST",
        "s3.example.com",
        "/b/k?uploads=",
        false,
        false,
        S3Op::CreateMultipartUpload,
        Some("b"),
        Some("k"),
    ),
    (
        "PUT",
        "s3.example.com",
        "/b/k?partNumber=1&uploadId=u1",
        false,
        false,
        S3Op::UploadPart,
        Some("b"),
        Some("k"),
    ),
    (
        "PUT",
        "s3.example.com",
        "/b/k?uploadId=u1&partNumber=10000",
        false,
        false,
        S3Op::UploadPart,
        Some("b"),
        Some("k"),
    ),
    (
        "PUT",
        "s3.example.com",
        "/b/k?partNumber=1&uploadId=u1",
        true,
        false,
        S3Op::UploadPartCopy,
        Some("b"),
        Some("k"),
    ),
    (
        "POST",
        "s3.example.com",
        "/b/k?uploadId=u1",
        false,
        false,
        S3Op::CompleteMultipartUpload,
        Some("b"),
        Some("k"),
    ),
    (
        "DELETE",
        "s3.example.com",
        "/b/k?uploadId=u1",
        false,
        false,
        S3Op::AbortMultipartUpload,
        Some("b"),
        Some("k"),
    ),
    (
        "GET",
        "s3.example.com",
        "/b/k?uploadId=u1",
        false,
        false,
        S3Op::ListParts,
        Some("b"),
        Some("k"),
    ),
    (
        "GET",
        "s3.example.com",
        "/b/k?max-parts=2&part-number-marker=1&uploadId=u1",
        false,
        false,
        S3Op::ListParts,
        Some("b"),
        Some("k"),
    ),
    // Buckets.
    (
        "PUT",
        "s3.example.com",
        "/b",
        false,
        false,
        S3Op::CreateBucket,
        Some("b"),
        None,
    ),
    (
        "PUT",
        "s3.example.com",
        "/b/",
        false,
        false,
        S3Op::CreateBucket,
        Some("b"),
        None,
    ),
    (
        "DELETE",
        "s3.example.com",
        "/b",
        false,
        false,
        S3Op::DeleteBucket,
        Some("b"),
        None,
    ),
    (
        "HEAD",
        "s3.example.com",
        "/b",
        false,
        false,
        S3Op::HeadBucket,
        Some("b"),
        None,
    ),
    (
        "GET",
        "s3.example.com",
        "/b",
        false,
        false,
        S3Op::ListObjects,
        Some("b"),
        None,
    ),
    (
        "GET",
        "s3.example.com",
        "/b?prefix=a&delimiter=%2F",
        false,
        false,
        S3Op::ListObjects,
        Some("b"),
        None,
    ),
    (
        "GET",
        "s3.example.com",
        "/b?list-type=2&prefix=a",
        false,
        false,
        S3Op::ListObjectsV2,
        Some("b"),
        None,
    ),
    (
        "GET",
        "s3.example.com",
        "/b/?list-type=2",
        false,
        false,
        S3Op::ListObjectsV2,
        Some("b"),
        None,
    ),
    (
        "GET",
        "s3.example.com",
        "/b?versions",
        false,
        false,
        S3Op::ListObjectVersions,
        Some("b"),
        None,
    ),
    (
        "GET",
        "s3.example.com",
        "/b?uploads",
        false,
        false,
        S3Op::ListMultipartUploads,
        Some("b"),
        None,
    ),
    (
        "POST",
        "s3.example.com",
        "/b?delete",
        false,
        false,
        S3Op::DeleteObjects,
        Some("b"),
        None,
    ),
    (
        "POST",
        "s3.example.com",
        "/b",
        false,
        true,
        S3Op::PostObject,
        Some("b"),
        None,
    ),
    (
        "POST",
        "s3.example.com",
        "/b",
        false,
        false,
        S3Op::Unknown,
        Some("b"),
        None,
    ),
    (
        "GET",
        "s3.example.com",
        "/b?location",
        false,
        false,
        S3Op::GetBucketConfig(BucketSub::Location),
        Some("b"),
        None,
    ),
    (
        "GET",
        "s3.example.com",
        "/b?encryption",
        false,
        false,
        S3Op::GetBucketConfig(BucketSub::Encryption),
        Some("b"),
        None,
    ),
    (
        "PUT",
        "s3.example.com",
        "/b?versioning",
        false,
        false,
        S3Op::PutBucketConfig(BucketSub::Versioning),
        Some("b"),
        None,
    ),
    (
        "PUT",
        "s3.example.com",
        "/b?policy",
        false,
        false,
        S3Op::PutBucketConfig(BucketSub::Policy),
        Some("b"),
        None,
    ),
    (
        "DELETE",
        "s3.example.com",
        "/b?cors",
        false,
        false,
        S3Op::DeleteBucketConfig(BucketSub::Cors),
        Some("b"),
        None,
    ),
    (
        "DELETE",
        "s3.example.com",
        "/b?tagging",
        false,
        false,
        S3Op::DeleteBucketConfig(BucketSub::Tagging),
        Some("b"),
        None,
    ),
    // S3 has no DELETE of these, nor a PUT of those; stores read them as a DeleteBucket
    // or a CreateBucket.
    (
        "DELETE",
        "s3.example.com",
        "/b?versioning",
        false,
        false,
        S3Op::Unknown,
        Some("b"),
        None,
    ),
    (
        "DELETE",
        "s3.example.com",
        "/b?acl",
        false,
        false,
        S3Op::Unknown,
        Some("b"),
        None,
    ),
    (
        "PUT",
        "s3.example.com",
        "/b?location",
        false,
        false,
        S3Op::Unknown,
        Some("b"),
        None,
    ),
    (
        "PUT",
        "s3.example.com",
        "/b?metadataTable",
        false,
        false,
        S3Op::Unknown,
        Some("b"),
        None,
    ),
    // Virtual-hosted style.
    (
        "GET",
        "b.s3.example.com",
        "/k",
        false,
        false,
        S3Op::GetObject,
        Some("b"),
        Some("k"),
    ),
    (
        "GET",
        "b.s3.example.com:8443",
        "/dir/k",
        false,
        false,
        S3Op::GetObject,
        Some("b"),
        Some("dir/k"),
    ),
    (
        "GET",
        "my.dotted.bucket.s3.localhost",
        "/",
        false,
        false,
        S3Op::ListObjects,
        Some("my.dotted.bucket"),
        None,
    ),
    (
        "GET",
        "b.s3.example.com",
        "/?list-type=2",
        false,
        false,
        S3Op::ListObjectsV2,
        Some("b"),
        None,
    ),
    (
        "PUT",
        "b.s3.example.com",
        "/k?partNumber=3&uploadId=u",
        false,
        false,
        S3Op::UploadPart,
        Some("b"),
        Some("k"),
    ),
    (
        "POST",
        "b.s3.example.com",
        "/",
        false,
        true,
        S3Op::PostObject,
        Some("b"),
        None,
    ),
    // A suffix itself is path style.
    (
        "GET",
        "s3.example.com:8443",
        "/x/k",
        false,
        false,
        S3Op::GetObject,
        Some("x"),
        Some("k"),
    ),
    (
        "GET",
        "127.0.0.1:9000",
        "/x/k",
        false,
        false,
        S3Op::GetObject,
        Some("x"),
        Some("k"),
    ),
    (
        "GET",
        "127.0.0.1:8443",
        "/b/k",
        false,
        false,
        S3Op::GetObject,
        Some("b"),
        Some("k"),
    ),
    (
        "GET",
        "[::1]:8443",
        "/b/k",
        false,
        false,
        S3Op::GetObject,
        Some("b"),
        Some("k"),
    ),
    // Keys are percent-decoded; slashes inside keys survive.
    (
        "GET",
        "s3.example.com",
        "/b/a%20b/c%2Fd",
        false,
        false,
        S3Op::GetObject,
        Some("b"),
        Some("a b/c/d"),
    ),
    (
        "GET",
        "s3.example.com",
        "/b//k",
        false,
        false,
        S3Op::GetObject,
        Some("b"),
        Some("/k"),
    ),
];

#[test]
fn classifies_every_documented_request_syntax() {
    let suffixes = suffixes();
    for (method, host, target, copy, form, op, bucket, key) in ROWS {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (*target, None),
        };
        let got = classify(
            &Target {
                method: &method,
                path,
                query,
                host,
                has_copy_source: *copy,
                is_form: *form,
            },
            &suffixes,
            HostReading::PathStyle,
        )
        .unwrap_or_else(|e| panic!("{method} {host}{target}: {}", e.message));
        assert_eq!(got.op, *op, "{method} {host}{target}");
        assert_eq!(got.bucket.as_deref(), *bucket, "{method} {host}{target}");
        assert_eq!(got.key.as_deref(), *key, "{method} {host}{target}");
    }
}

#[test]
fn refuses_what_a_store_could_read_as_another_target_or_operation() {
    let cases: &[(&str, &str, &str, bool)] = &[
        ("GET", "b.s3.example.com.evil", "/x/k", false),
        ("GET", "xs3.example.com", "/x/k", false),
        ("PUT", "localhost", "/req-b%2Fk", false),
        ("PUT", "localhost", "//req-b/k", false),
        ("PUT", "localhost", "/b/k?uploadId=u1", false),
        ("PUT", "localhost", "/b/k?partNumber=1", false),
        ("PUT", "localhost", "/b/k?%75ploadId=u&partNumber=1", false),
        ("POST", "localhost", "/b/k?uploads", true),
        ("POST", "localhost", "/b/k?uploadId=u", true),
        ("POST", "localhost", "/b?delete", true),
        ("POST", "localhost", "/b/k?select&select-type=2", true),
        ("GET", "localhost", "/b/k?acl&torrent", false),
        // SeaweedFS deletes the body's keys at an object path too.
        ("POST", "localhost", "/b/k?delete", false),
        ("POST", "b.s3.example.com", "/k?delete", false),
        ("DELETE", "localhost", "/b/k?delete", false),
        // A bucket's sub-resources at an object path: SeaweedFS lists uploads for
        // `GET ?uploads` and writes no object for `PUT ?policy`.
        ("GET", "localhost", "/b/k?uploads", false),
        ("DELETE", "localhost", "/b/k?uploads", false),
        ("PUT", "localhost", "/b/k?policy", false),
        ("GET", "localhost", "/b/k?versions", false),
        ("PUT", "localhost", "/b/k?versioning", false),
    ];
    for (method, host, target, form) in cases {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (path, query) = target
            .split_once('?')
            .map_or((*target, None), |(p, q)| (p, Some(q)));
        let got = classify(
            &Target {
                method: &method,
                path,
                query,
                host,
                has_copy_source: false,
                is_form: *form,
            },
            &suffixes(),
            HostReading::PathStyle,
        );
        let e = got.expect_err(&format!("{method} {host}{target}"));
        assert_eq!(e.code.as_str(), "InvalidRequest", "{method} {host}{target}");
    }
}

/// RGW's append (`PUT ?append&position=N`) stores data without SSE-C: refused for every
/// method on an object, with or without other parameters.
#[test]
fn refuses_rgws_append() {
    for (method, query) in [
        ("PUT", "append&position=0"),
        ("PUT", "append"),
        ("POST", "append&position=10"),
        ("GET", "append"),
    ] {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let e = classify(
            &Target {
                method: &method,
                path: "/b/k",
                query: Some(query),
                host: "localhost",
                has_copy_source: false,
                is_form: false,
            },
            &suffixes(),
            HostReading::PathStyle,
        )
        .expect_err(query);
        assert_eq!(e.code.as_str(), "NotImplemented", "{method} ?{query}");
        assert_eq!(e.reason, Some(crate::s3::error::Reason::StoreRefusal));
    }
}

#[test]
fn form_uploads_to_an_object_path_are_post_object() {
    let got = classify(
        &Target {
            method: &Method::POST,
            path: "/b/anything",
            query: None,
            host: "localhost",
            has_copy_source: false,
            is_form: true,
        },
        &suffixes(),
        HostReading::PathStyle,
    )
    .unwrap();
    assert_eq!(got.op, S3Op::PostObject);
    assert_eq!(got.bucket.as_deref(), Some("b"));
}

/// A request head with `content_type`, as the classify layer reads it.
fn classify_with_type(
    method: Method,
    target: &str,
    content_type: &str,
) -> Result<S3Request, S3Error> {
    let uri: http::Uri = target.parse().unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_str(content_type).unwrap(),
    );
    classify(
        &Target::from_head(&method, &uri, &headers, "localhost"),
        &Addressing::default(),
        HostReading::PathStyle,
    )
}

#[test]
fn a_content_type_naming_form_data_anywhere_is_a_form() {
    // SeaweedFS routes a POST by the unanchored pattern `multipart/form-data*` and Go's
    // reader takes any multipart body: each of these is a form upload there.
    for content_type in [
        "multipart/form-data; boundary=x",
        "multipart/mixed; boundary=XYZ; x=\"multipart/form-data\"",
        "text/plain; note=multipart/form-dat",
        "MULTIPART/FORM-DATA; boundary=x",
        " multipart/form-data;boundary=x",
    ] {
        for target in ["/b", "/b/k"] {
            let got = classify_with_type(Method::POST, target, content_type).unwrap();
            assert_eq!(got.op, S3Op::PostObject, "{target}: {content_type}");
        }
        // With a sub-resource the store could read it either way.
        let e = classify_with_type(Method::POST, "/b/k?uploads", content_type).unwrap_err();
        assert_eq!(
            e.reason,
            Some(crate::s3::error::Reason::AmbiguousForm),
            "{content_type}"
        );
    }
    for content_type in [
        "multipart/mixed; boundary=x",
        "application/xml",
        "form-data",
    ] {
        let got = classify_with_type(Method::POST, "/b/k?uploads", content_type).unwrap();
        assert_eq!(got.op, S3Op::CreateMultipartUpload, "{content_type}");
        let got = classify_with_type(Method::POST, "/b", content_type).unwrap();
        assert_eq!(got.op, S3Op::Unknown, "{content_type}");
    }
}

#[test]
fn only_list_buckets_parameters_make_a_service_get_list_buckets() {
    for target in [
        "/",
        "/?max-buckets=10&prefix=a",
        "/?continuation-token=x&bucket-region=r",
        "/?x-id=ListBuckets",
    ] {
        let got = classify_with_type(Method::GET, target, "text/plain").unwrap();
        assert_eq!(got.op, S3Op::ListBuckets, "{target}");
    }
    // Presigned, with SigV4's or SigV2's parameters.
    for target in [
        "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Date=d&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=s",
        "/?AWSAccessKeyId=a&Expires=1&Signature=s",
    ] {
        let got = classify_with_type(Method::GET, target, "text/plain").unwrap();
        assert_eq!(got.op, S3Op::ListBuckets, "{target}");
        let bucket = target.replacen('/', "/b", 1);
        let got = classify_with_type(Method::PUT, &bucket, "text/plain").unwrap();
        assert_eq!(got.op, S3Op::CreateBucket, "{bucket}");
    }
    // RGW answers `?usage` with every bucket's usage; SeaweedFS's IAM takes `Action=`.
    for target in ["/?usage", "/?Action=ListUsers", "/?max-buckets=1&usage"] {
        let got = classify_with_type(Method::GET, target, "text/plain").unwrap();
        assert_eq!(got.op, S3Op::Unknown, "{target}");
    }
}

#[test]
fn a_form_content_type_on_another_method_does_not_unlock_bucket_sub_resources() {
    let form = "text/plain; x=multipart/form-data";
    for (method, target) in [
        (Method::GET, "/b/k?uploads"),
        (Method::PUT, "/b/k?policy"),
        (Method::PUT, "/b/k?publicAccessBlock"),
        (Method::DELETE, "/b/k?delete"),
    ] {
        let e = classify_with_type(method.clone(), target, form).unwrap_err();
        assert_eq!(
            e.reason,
            Some(crate::s3::error::Reason::AmbiguousQuery),
            "{method} {target}"
        );
    }
}

#[test]
fn a_bucket_put_with_an_unknown_parameter_is_not_create_bucket() {
    let got = classify_with_type(Method::PUT, "/b", "text/plain").unwrap();
    assert_eq!(got.op, S3Op::CreateBucket);
    for target in ["/b?mdsearch", "/b?seaweedfs-quota=1"] {
        let got = classify_with_type(Method::PUT, target, "text/plain").unwrap();
        assert_eq!(got.op, S3Op::Unknown, "{target}");
    }
}

#[test]
fn extracts_upload_id_percent_decoded() {
    let got = classify(
        &Target {
            method: &Method::PUT,
            path: "/b/k",
            query: Some("partNumber=1&uploadId=a%2Bb~c"),
            host: "h",
            has_copy_source: false,
            is_form: false,
        },
        &Addressing::default(),
        HostReading::PathStyle,
    )
    .unwrap();
    assert_eq!(got.upload_id.as_deref(), Some("a+b~c"));
}

#[test]
fn an_upload_id_that_names_another_folder_is_refused() {
    let target = |query: &'static str| Target {
        method: &Method::DELETE,
        path: "/b/k",
        query: Some(query),
        host: "h",
        has_copy_source: false,
        is_form: false,
    };
    for query in [
        "uploadId=..",
        "uploadId=.",
        "uploadId=%2E%2E",
        "uploadId=a/../../other",
        "uploadId=a%2F..%2Fother",
        "uploadId=a%5Cb",
        "uploadId=a%00",
        "uploadId=a%0Ab",
    ] {
        let err = classify(
            &target(query),
            &Addressing::default(),
            HostReading::PathStyle,
        )
        .unwrap_err();
        assert_eq!(err.reason, Some(Reason::AmbiguousQuery), "{query}");
    }
    // What stores issue: RGW's `2~…`, hex, base64url, the proxy's `<id>.<tag>`.
    for query in [
        "uploadId=2~abc_DEF-1",
        "uploadId=...",
        "uploadId=0f3a.QUJD-_x",
    ] {
        classify(
            &target(query),
            &Addressing::default(),
            HostReading::PathStyle,
        )
        .unwrap_or_else(|e| panic!("{query}: {e:?}"));
    }
}

#[test]
fn op_names_are_aws_operation_names() {
    assert_eq!(S3Op::UploadPartCopy.as_str(), "UploadPartCopy");
    assert_eq!(
        S3Op::GetBucketConfig(BucketSub::Cors).as_str(),
        "GetBucketConfig"
    );
    assert_eq!(BucketSub::PublicAccessBlock.as_str(), "publicAccessBlock");
}

proptest::proptest! {
    #[test]
    fn never_panics_on_arbitrary_targets(
        path in "/[ -~]{0,64}",
        query in proptest::option::of("[ -~]{0,64}"),
        host in "[ -~]{0,64}",
        copy: bool,
        form: bool,
        m in 0usize..7,
    ) {
        let methods = [Method::GET, Method::PUT, Method::POST, Method::DELETE, Method::HEAD, Method::OPTIONS, Method::PATCH];
        let _ = classify(&Target { method: &methods[m], path: &path, query: query.as_deref(), host: &host, has_copy_source: copy, is_form: form }, &suffixes(), HostReading::PathStyle);
    }
}
