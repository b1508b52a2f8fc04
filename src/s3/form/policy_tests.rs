//! Table tests for POST policies: AWS's own SigV4 example and botocore's, every condition
//! kind, every answer with S3's message, and arbitrary bytes as a policy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;

use super::*;

/// AWS's example ("Example: Browser-Based Upload using HTTP POST (Using AWS Signature
/// Version 4)"): the policy exactly as the page gives it, CRLF line ends included.
const AWS_EXAMPLE: &str = "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgICB7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNlci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaXJlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2FkLmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LWFtei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRpb24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgICB7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7IngtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";

/// botocore's `generate_presigned_post("sigv4examplebucket", "user/user1/photo.jpg")` at
/// 2015-12-29T00:00:00Z with the example credentials.
const BOTOCORE: &str = "eyJleHBpcmF0aW9uIjogIjIwMTUtMTItMjlUMDE6MDA6MDBaIiwgImNvbmRpdGlvbnMiOiBbeyJidWNrZXQiOiAic2lndjRleGFtcGxlYnVja2V0In0sIHsia2V5IjogInVzZXIvdXNlcjEvcGhvdG8uanBnIn0sIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwgeyJ4LWFtei1jcmVkZW50aWFsIjogIkFLSUFJT1NGT0ROTjdFWEFNUExFLzIwMTUxMjI5L3VzLWVhc3QtMS9zMy9hd3M0X3JlcXVlc3QifSwgeyJ4LWFtei1kYXRlIjogIjIwMTUxMjI5VDAwMDAwMFoifV19";

const CREDENTIAL: &str = "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request";

/// 2015-12-29T00:00:00Z.
fn dec29() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_451_347_200)
}

fn fields(pairs: &[(&str, &str)]) -> Fields {
    Fields {
        fields: pairs
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.as_bytes().to_vec()))
            .collect(),
        file_at: Some(0),
        ..Fields::default()
    }
}

fn policy(json: &str) -> PostPolicy {
    PostPolicy::decode(STANDARD.encode(json).as_bytes()).unwrap()
}

/// A policy valid until 2100 with these conditions.
fn with(conditions: &str) -> PostPolicy {
    policy(&format!(
        r#"{{"expiration": "2100-01-01T00:00:00Z", "conditions": [{conditions}]}}"#
    ))
}

fn decode_err(json: &str) -> String {
    match PostPolicy::decode(STANDARD.encode(json).as_bytes()) {
        Err(PolicyError::Document(why)) => why,
        other => panic!("{json}: {other:?}"),
    }
}

fn check(policy: &PostPolicy, pairs: &[(&str, &str)]) -> Result<(), PolicyError> {
    policy.check(&fields(pairs), "b", None, dec29())
}

fn failed(text: &str) -> Result<(), PolicyError> {
    Err(PolicyError::Condition(text.to_owned()))
}

#[test]
fn accepts_aws_sigv4_example_form_and_exposes_the_text_it_signs() {
    let form = fields(&[
        ("key", "user/user1/${filename}"),
        ("acl", "public-read"),
        (
            "success_action_redirect",
            "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html",
        ),
        ("Content-Type", "image/jpeg"),
        ("x-amz-meta-uuid", "14365123651274"),
        ("x-amz-server-side-encryption", "AES256"),
        ("X-Amz-Credential", CREDENTIAL),
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Date", "20151229T000000Z"),
        ("x-amz-meta-tag", ""),
        ("Policy", AWS_EXAMPLE),
        (
            "X-Amz-Signature",
            "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e",
        ),
    ]);
    assert_eq!(encoded(&form), Some(AWS_EXAMPLE.as_bytes()));
    let policy = PostPolicy::decode(AWS_EXAMPLE.as_bytes()).unwrap();
    let file = Some(&b"C:\\photos\\MyPicture.jpg"[..]);
    assert_eq!(
        policy.check(&form, "sigv4examplebucket", file, dec29()),
        Ok(())
    );
    assert_eq!(
        policy.check(&form, "otherbucket", file, dec29()),
        failed(r#"["eq", "$bucket", "sigv4examplebucket"]"#)
    );
    assert_eq!(
        policy.length_range(),
        LengthRange {
            min: 0,
            max: u64::MAX
        }
    );
    assert_eq!(
        policy.expiration(),
        UNIX_EPOCH + Duration::from_secs(1_451_476_800)
    );
}

#[test]
fn accepts_botocore_presigned_post_until_its_expiration() {
    let policy = PostPolicy::decode(BOTOCORE.as_bytes()).unwrap();
    let form = fields(&[
        ("key", "user/user1/photo.jpg"),
        ("x-amz-algorithm", "AWS4-HMAC-SHA256"),
        ("x-amz-credential", CREDENTIAL),
        ("x-amz-date", "20151229T000000Z"),
        ("policy", BOTOCORE),
        (
            "x-amz-signature",
            "3364624b39010d9b06f5d9b8c9a18a6e478d261c048159c92f2fd6fa885f14e6",
        ),
    ]);
    let hour = dec29() + Duration::from_secs(3600);
    let bucket = "sigv4examplebucket";
    assert_eq!(policy.check(&form, bucket, None, hour), Ok(()));
    let late = hour + Duration::from_millis(1);
    assert_eq!(
        policy.check(&form, bucket, None, late),
        Err(PolicyError::Expired)
    );
}

#[test]
fn tests_each_condition_kind() {
    type Row<'a> = (&'a str, &'a [(&'a str, &'a str)], Result<(), PolicyError>);
    let table: Vec<Row> = vec![
        (r#"{"key": "a"}"#, &[("key", "a")], Ok(())),
        (
            r#"{"key": "a"}"#,
            &[("key", "A")],
            failed(r#"["eq", "$key", "a"]"#),
        ),
        (r#"{"key": "a"}"#, &[], failed(r#"["eq", "$key", "a"]"#)),
        (r#"["eq", "$key", "a"]"#, &[("key", "a")], Ok(())),
        (
            r#"["eq", "$key", "a"]"#,
            &[("key", "ab")],
            failed(r#"["eq", "$key", "a"]"#),
        ),
        (r#"["eq", "$key", ""]"#, &[("key", "")], Ok(())),
        (
            r#"["starts-with", "$key", "user/"]"#,
            &[("key", "user/x")],
            Ok(()),
        ),
        (
            r#"["starts-with", "$key", "user/"]"#,
            &[("key", "user/")],
            Ok(()),
        ),
        (
            r#"["starts-with", "$key", "user/"]"#,
            &[("key", "User/x")],
            failed(r#"["starts-with", "$key", "user/"]"#),
        ),
        (
            r#"["starts-with", "$key", ""]"#,
            &[("key", "anything")],
            Ok(()),
        ),
        // An absent field fails even an empty prefix (S3, s3_direct_upload#29).
        (
            r#"["starts-with", "$Content-Type", ""]"#,
            &[],
            failed(r#"["starts-with", "$Content-Type", ""]"#),
        ),
        // A Content-Type is a list whose every item must match; other fields are strings.
        (
            r#"["starts-with", "$Content-Type", "image/"]"#,
            &[("Content-Type", "image/jpg,image/png")],
            Ok(()),
        ),
        (
            r#"["starts-with", "$Content-Type", "image/"]"#,
            &[("Content-Type", "image/jpg,text/plain")],
            failed(r#"["starts-with", "$Content-Type", "image/"]"#),
        ),
        (
            r#"["starts-with", "$x-amz-meta-a", "x"]"#,
            &[("x-amz-meta-a", "x,y")],
            Ok(()),
        ),
        // bucket is the bucket posted to, whatever a field says.
        (r#"{"bucket": "b"}"#, &[("bucket", "other")], Ok(())),
        (
            r#"["eq", "$bucket", "c"]"#,
            &[("bucket", "c")],
            failed(r#"["eq", "$bucket", "c"]"#),
        ),
        // Names compare without case, in the policy and in the form; values with case.
        (r#"{"AcL": "private"}"#, &[("aCl", "private")], Ok(())),
        (
            r#"["StArTs-WiTh", "$KeY", "foo"]"#,
            &[("kEy", "foo.txt")],
            Ok(()),
        ),
        (
            r#"["EQ", "$x-amz-meta-TEST-2", "v"]"#,
            &[("X-Amz-Meta-Test-2", "v")],
            Ok(()),
        ),
        // A name without `$` is read, and never met.
        (
            r#"["eq", "key", "a"]"#,
            &[("key", "a")],
            failed(r#"["eq", "key", "a"]"#),
        ),
        // The policy's spelling, with JSON escapes, as S3 prints it.
        (
            r#"["eq", "$Content-Disposition", "filename=\"a.png\""]"#,
            &[("content-disposition", "x")],
            failed(r#"["eq", "$Content-Disposition", "filename=\"a.png\""]"#),
        ),
        // The range is not a field condition.
        (r#"["content-length-range", 1, 2]"#, &[], Ok(())),
        (
            r#"["content-length-range", "test", "10"]"#,
            &[],
            failed(r#"["content-length-range", "test", "10"]"#),
        ),
    ];
    for (conditions, form, want) in table {
        assert_eq!(
            check(&with(conditions), form),
            want,
            "{conditions} {form:?}"
        );
    }
}

#[test]
fn reports_the_first_failed_condition_in_policy_order() {
    let policy = with(r#"{"acl": "private"}, ["starts-with", "$key", "u/"]"#);
    assert_eq!(
        check(&policy, &[("acl", "public-read"), ("key", "x")]),
        failed(r#"["eq", "$acl", "private"]"#)
    );
    assert_eq!(
        check(&policy, &[("acl", "private"), ("key", "x")]),
        failed(r#"["starts-with", "$key", "u/"]"#)
    );
}

#[test]
fn every_field_but_the_exempt_ones_needs_a_condition() {
    let policy = with(r#"["starts-with", "$key", ""]"#);
    let exempt = [
        ("key", "k"),
        ("Policy", "…"),
        ("X-Amz-Signature", "s"),
        ("AWSAccessKeyId", "a"),
        ("signature", "s"),
        ("x-ignore-flash", "y"),
        ("X-Ignore-Other", "z"),
    ];
    assert_eq!(check(&policy, &exempt), Ok(()));
    let extra = [("key", "k"), ("x-amz-meta-note", "n"), ("Filename", "f")];
    assert_eq!(
        check(&policy, &extra),
        Err(PolicyError::ExtraField("x-amz-meta-note".into()))
    );
    // A range condition covers no field; bucket needs its condition like any field.
    let range = with(r#"["starts-with", "$key", ""], ["content-length-range", 0, 9]"#);
    assert_eq!(
        check(&range, &[("key", "k"), ("bucket", "b")]),
        Err(PolicyError::ExtraField("bucket".into()))
    );
}

#[test]
fn expires_after_its_expiration_instant() {
    for (expiration, at) in [
        ("2015-12-29T00:00:00Z", 0),
        ("2015-12-29T00:00:00.000Z", 0),
        ("2015-12-29T00:00:00.5Z", 500),
        ("2015-12-29T00:00:00.123456789Z", 123),
    ] {
        let policy = policy(&format!(
            r#"{{"expiration": "{expiration}", "conditions": []}}"#
        ));
        let instant = dec29() + Duration::from_millis(at);
        assert_eq!(
            policy.check(&fields(&[]), "b", None, instant),
            Ok(()),
            "{expiration}"
        );
        let after = instant + Duration::from_millis(1);
        assert_eq!(
            policy.check(&fields(&[]), "b", None, after),
            Err(PolicyError::Expired),
            "{expiration}"
        );
    }
}

#[test]
fn checks_the_file_length_inclusively_and_as_it_streams() {
    let range = with(r#"["content-length-range", 5, 10]"#).length_range();
    assert_eq!(range, LengthRange { min: 5, max: 10 });
    assert_eq!(
        range.check(4),
        Err(PolicyError::TooSmall { length: 4, min: 5 })
    );
    assert_eq!(range.check(5), Ok(()));
    assert_eq!(range.check(10), Ok(()));
    assert_eq!(
        range.check(11),
        Err(PolicyError::TooLarge {
            length: 11,
            max: 10
        })
    );
    assert_eq!(range.check_running(0), Ok(()));
    assert_eq!(range.check_running(10), Ok(()));
    assert_eq!(
        range.check_running(11),
        Err(PolicyError::TooLarge {
            length: 11,
            max: 10
        })
    );
    let strings = with(r#"["content-length-range", "5", "10"]"#).length_range();
    assert_eq!(strings, LengthRange { min: 5, max: 10 });
    let both = with(r#"["content-length-range", 0, 10], ["content-length-range", 3, 20]"#);
    assert_eq!(both.length_range(), LengthRange { min: 3, max: 10 });
    let zero = with(r#"["content-length-range", 0, 0]"#).length_range();
    assert_eq!(zero.check(0), Ok(()));
    assert!(zero.check(1).is_err());
}

#[test]
fn answers_with_s3_codes_and_messages() {
    use S3ErrorCode::{AccessDenied, EntityTooLarge, EntityTooSmall, InvalidPolicyDocument};
    let table = [
        (
            PolicyError::Expired,
            AccessDenied,
            "Invalid according to Policy: Policy expired.",
        ),
        (
            PolicyError::Condition(r#"["eq", "$key", "x"]"#.into()),
            AccessDenied,
            r#"Invalid according to Policy: Policy Condition failed: ["eq", "$key", "x"]"#,
        ),
        (
            PolicyError::ExtraField("dzuuid".into()),
            AccessDenied,
            "Invalid according to Policy: Extra input fields: dzuuid",
        ),
        (
            PolicyError::TooSmall { length: 1, min: 5 },
            EntityTooSmall,
            "Your proposed upload is smaller than the minimum allowed size",
        ),
        (
            PolicyError::TooLarge {
                length: 12,
                max: 10,
            },
            EntityTooLarge,
            "Your proposed upload exceeds the maximum allowed size",
        ),
        (
            PolicyError::Document("Invalid JSON.".into()),
            InvalidPolicyDocument,
            "Invalid Policy: Invalid JSON.",
        ),
    ];
    for (error, code, message) in table {
        let s3 = error.to_s3();
        assert_eq!((s3.code, s3.message.as_ref()), (code, message));
        let reason = match code {
            InvalidPolicyDocument => Reason::PostPolicyDocument,
            _ => Reason::PostPolicy,
        };
        assert_eq!(s3.reason, Some(reason));
    }
    assert_eq!(AccessDenied.status(), http::StatusCode::FORBIDDEN);
    for code in [EntityTooLarge, EntityTooSmall, InvalidPolicyDocument] {
        assert_eq!(code.status(), http::StatusCode::BAD_REQUEST);
    }
}

#[test]
fn refuses_malformed_documents_with_s3_messages() {
    let exp = r#""expiration": "2100-01-01T00:00:00Z""#;
    let simple =
        "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.";
    let table = [
        ("not json".to_owned(), "Invalid JSON."),
        ("[]".to_owned(), "Invalid JSON."),
        (format!("{{{exp}}}"), "Policy missing conditions."),
        (
            r#"{"conditions": []}"#.to_owned(),
            "Policy missing expiration.",
        ),
        (
            format!(r#"{{{exp}, "CONDITIONS": []}}"#),
            "Unexpected: 'conditions'",
        ),
        (
            format!(r#"{{"Statement": [], {exp}, "conditions": []}}"#),
            "Unexpected: 'statement'",
        ),
        (
            format!(r#"{{{exp}, {exp}, "conditions": []}}"#),
            "Invalid JSON.",
        ),
        (
            format!(r#"{{{exp}, "conditions": [], "conditions": []}}"#),
            "Invalid JSON.",
        ),
        (
            format!(r#"{{{exp}, "conditions": {{}}}}"#),
            "Invalid 'conditions' value: must be a List.",
        ),
        (
            format!(r#"{{{exp}, "conditions": "x"}}"#),
            "Invalid 'conditions' value: must be a List.",
        ),
        (format!(r#"{{{exp}, "conditions": [{{}}]}}"#), simple),
        (
            format!(r#"{{{exp}, "conditions": [{{"a": "x", "b": "y"}}]}}"#),
            simple,
        ),
        (
            format!(r#"{{{exp}, "conditions": [{{"a": "x", "a": "x"}}]}}"#),
            simple,
        ),
        (
            format!(r#"{{{exp}, "conditions": [{{"Content-Length": 6199034}}]}}"#),
            "Invalid Simple-Condition: value must be a string.",
        ),
        (
            format!(r#"{{{exp}, "conditions": [{{"a": null}}]}}"#),
            "Invalid JSON.",
        ),
        (
            format!(r#"{{{exp}, "conditions": [[]]}}"#),
            "Invalid Condition: missing operation identifier.",
        ),
        (
            format!(r#"{{{exp}, "conditions": [[1, "$a", "b"]]}}"#),
            "Invalid Condition: missing operation identifier.",
        ),
        (
            format!(r#"{{{exp}, "conditions": [["ends-with", "$key", "a"]]}}"#),
            "Invalid Condition: unknown operation 'ends-with'.",
        ),
        (
            format!(r#"{{{exp}, "conditions": [["eq", "$key"]]}}"#),
            "Invalid eq: wrong number of arguments.",
        ),
        (
            format!(r#"{{{exp}, "conditions": [["content-length-range", 0]]}}"#),
            "Invalid content-length-range: wrong number of arguments.",
        ),
        (
            format!(r#"{{{exp}, "conditions": [["content-length-range", -1, 0]]}}"#),
            "Invalid content-length-range: the bounds must not be negative.",
        ),
        (
            format!(r#"{{{exp}, "conditions": [["content-length-range", 0, 512.0]]}}"#),
            "Invalid JSON.",
        ),
        (
            format!(r#"{{{exp}, "conditions": [["eq", "$key", 1]]}}"#),
            "Invalid JSON.",
        ),
        (
            format!(r#"{{{exp}, "conditions": ["key"]}}"#),
            "Invalid condition test: must be a List or Object.",
        ),
        (
            r#"{"expiration": "2011-09-13T07:52:58+02:00", "conditions": []}"#.to_owned(),
            "Invalid 'expiration' value: '2011-09-13T07:52:58+02:00'",
        ),
        (
            r#"{"expiration": "2015-10-17 03:15:59Z", "conditions": []}"#.to_owned(),
            "Invalid 'expiration' value: '2015-10-17 03:15:59Z'",
        ),
        (
            r#"{"expiration": 1451347200, "conditions": []}"#.to_owned(),
            "Invalid 'expiration' value: '1451347200'",
        ),
        (
            r#"{"expiration": "2015-13-01T00:00:00Z", "conditions": []}"#.to_owned(),
            "Invalid 'expiration' value: '2015-13-01T00:00:00Z'",
        ),
    ];
    for (json, want) in table {
        assert_eq!(decode_err(&json), want, "{json}");
    }
}

#[test]
fn refuses_bad_base64_and_oversized_policies() {
    let doc = |why: &str| Err(PolicyError::Document(why.to_owned()));
    let text = STANDARD.encode(r#"{"expiration": "2100-01-01T00:00:00Z", "conditions": []}"#);
    assert!(PostPolicy::decode(text.as_bytes()).is_ok());
    let unpadded = text.trim_end_matches('=');
    assert_ne!(unpadded, text, "the sample needs padding for this test");
    for bad in [unpadded, "!!!!", "eyJ9 "] {
        assert_eq!(
            PostPolicy::decode(bad.as_bytes()).map(|_| ()),
            doc("invalid Base64 encoding."),
            "{bad}"
        );
    }
    assert_eq!(
        PostPolicy::decode(STANDARD.encode([0xff, 0xfe, b'{']).as_bytes()).map(|_| ()),
        doc("Invalid JSON.")
    );
    let many = vec![r#"["starts-with", "$key", ""]"#; MAX_CONDITIONS + 1].join(",");
    assert_eq!(
        PostPolicy::decode(
            STANDARD
                .encode(format!(
                    r#"{{"expiration": "2100-01-01T00:00:00Z", "conditions": [{many}]}}"#
                ))
                .as_bytes()
        )
        .map(|_| ()),
        doc("Policy has more than 256 conditions.")
    );
    let enough = vec![r#"{"key": "k"}"#; MAX_CONDITIONS].join(",");
    assert!(
        PostPolicy::decode(
            STANDARD
                .encode(format!(
                    r#"{{"expiration": "2100-01-01T00:00:00Z", "conditions": [{enough}]}}"#
                ))
                .as_bytes()
        )
        .is_ok()
    );
    let padding = " ".repeat(MAX_POLICY);
    let long = STANDARD.encode(format!(
        r#"{{"expiration": "2100-01-01T00:00:00Z", "conditions": []{padding}}}"#
    ));
    assert_eq!(
        PostPolicy::decode(long.as_bytes()).map(|_| ()),
        doc("the policy is longer than 20480 bytes.")
    );
}

#[test]
fn never_prints_a_secret_a_failed_condition_names() {
    let policy = with(
        r#"{"x-amz-server-side-encryption-customer-key": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI="}"#,
    );
    let err = check(
        &policy,
        &[("x-amz-server-side-encryption-customer-key", "other")],
    )
    .unwrap_err();
    let message = err.to_s3().message.into_owned();
    assert!(!message.contains("c2VjcmV0"), "{message}");
    assert_eq!(
        err,
        PolicyError::Condition(
            r#"["eq", "$x-amz-server-side-encryption-customer-key", "…"]"#.into()
        )
    );
    let token = with(r#"["eq", "$X-Amz-Security-Token", "dG9rZW4="]"#);
    let err = check(&token, &[]).unwrap_err();
    assert_eq!(
        err,
        PolicyError::Condition(r#"["eq", "$X-Amz-Security-Token", "…"]"#.into())
    );
}

#[test]
fn expands_the_filename_variable_in_every_field_before_checking() {
    let policy = with(r#"{"key": "u/photo.jpg"}, {"x-amz-meta-name": "photo.jpg!"}"#);
    let form = fields(&[
        ("key", "u/${filename}"),
        ("x-amz-meta-name", "${filename}!"),
    ]);
    for name in [&b"photo.jpg"[..], b"dir/photo.jpg", b"C:\\dir\\photo.jpg"] {
        assert_eq!(policy.check(&form, "b", Some(name), dec29()), Ok(()));
    }
    // Without a filename parameter, S3 keeps the variable as it is.
    assert_eq!(
        policy.check(&form, "b", None, dec29()),
        failed(r#"["eq", "$key", "u/photo.jpg"]"#)
    );
    let empty = with(r#"{"key": "u/"}, ["starts-with", "$x-amz-meta-name", ""]"#);
    assert_eq!(empty.check(&form, "b", Some(b""), dec29()), Ok(()));
}

proptest! {
    #[test]
    fn arbitrary_bytes_as_a_policy_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = PostPolicy::decode(&bytes);
        if let Ok(policy) = PostPolicy::decode(STANDARD.encode(&bytes).as_bytes()) {
            let _ = policy.check(&fields(&[("key", "k")]), "b", Some(b"f"), dec29());
        }
    }

    #[test]
    fn arbitrary_conditions_never_panic(
        items in proptest::collection::vec(
            prop_oneof![
                Just("\"$key\"".to_owned()),
                Just("\"eq\"".to_owned()),
                Just("\"starts-with\"".to_owned()),
                Just("\"content-length-range\"".to_owned()),
                Just("null".to_owned()),
                Just("{}".to_owned()),
                Just("[]".to_owned()),
                any::<i64>().prop_map(|n| n.to_string()),
                any::<f64>().prop_map(|n| format!("{n:?}")),
                "[a-z$\"\\\\]{0,8}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            ],
            0..5,
        ),
        object in any::<bool>(),
    ) {
        let condition = if object && !items.is_empty() {
            format!("{{\"k\": {}}}", items[0])
        } else {
            format!("[{}]", items.join(", "))
        };
        let json = format!(r#"{{"expiration": "2100-01-01T00:00:00Z", "conditions": [{condition}]}}"#);
        if let Ok(policy) = PostPolicy::decode(STANDARD.encode(json).as_bytes()) {
            let _ = policy.check(&fields(&[("key", "k")]), "b", None, dec29());
            let _ = policy.length_range().check(7);
        }
    }
}
