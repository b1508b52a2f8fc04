//! Resign mode signs for the store with the store's own credentials, so a client that
//! could set a bucket's ACL or policy could open the bucket to anyone who reaches the
//! store directly: RGW takes anonymous PUTs into a `public-read-write` bucket, past every
//! check of the proxy. Against the real stores: a client without `manage_access` is
//! refused every ACL and policy change (operations, ACL headers on writes), and the
//! store's ACL, policy and an anonymous PUT show nothing changed; a client with it (the
//! control) changes them, and on RGW an anonymous PUT then lands in plaintext. ACLs in
//! the signed query of a presigned URL, which S3 reads as the headers they name, are
//! refused alike.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketCannedAcl, ObjectCannedAcl};
use bytes::Bytes;
use http_body_util::Full;
use support::resign::exists;
use support::resign::{APP, APP_SECRET, Resign, SCOPED, SCOPED_SECRET};
use support::s3::failure;
use support::{RawClient, Store, bucket_name};

/// A policy letting anyone write and read the bucket's objects.
fn open_policy(bucket: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":["s3:PutObject","s3:GetObject"],"Resource":["arn:aws:s3:::{bucket}/*"]}}]}}"#
    )
}

/// An unsigned PUT of `key` straight to the store: its status.
async fn anonymous_put(r: &Resign, bucket: &str, key: &str) -> u16 {
    let req = http::Request::put(format!("{}/{bucket}/{key}", r.store.http))
        .body(Full::new(Bytes::from_static(b"anonymous plaintext")))
        .unwrap();
    let resp = RawClient::new(&r.proxy.pki.ca_pem, false).send(req).await;
    resp.status.as_u16()
}

/// Whether the store's ACL of `bucket`, or of its object `key`, grants anything to a
/// group (AllUsers, AuthenticatedUsers), read directly.
async fn grants_to_groups(r: &Resign, bucket: &str, key: Option<&str>) -> bool {
    let direct = r.direct();
    let grants = match key {
        None => {
            direct
                .get_bucket_acl()
                .bucket(bucket)
                .send()
                .await
                .unwrap()
                .grants
        }
        Some(key) => {
            let acl = direct.get_object_acl().bucket(bucket).key(key).send().await;
            acl.unwrap().grants
        }
    };
    grants
        .unwrap_or_default()
        .iter()
        .any(|g| g.grantee().and_then(|g| g.uri()).is_some())
}

async fn only_clients_that_manage_access_change_acls_and_policies(store: Store) {
    let r = Resign::start(&store);
    let scoped = r.client(SCOPED, SCOPED_SECRET);
    let bucket = format!("scoped-{}", bucket_name("acl"));
    r.direct()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let denied = (403, "AccessDenied".to_owned());

    let e = scoped
        .put_bucket_acl()
        .bucket(&bucket)
        .acl(BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&e), denied, "PutBucketAcl");
    let e = scoped
        .put_bucket_policy()
        .bucket(&bucket)
        .policy(open_policy(&bucket))
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&e), denied, "PutBucketPolicy");
    let e = scoped
        .delete_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&e), denied, "DeleteBucketPolicy");
    let e = scoped
        .put_object()
        .bucket(&bucket)
        .key("k")
        .acl(ObjectCannedAcl::PublicReadWrite)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&e), denied, "PutObject with x-amz-acl");
    let e = scoped
        .put_object()
        .bucket(&bucket)
        .key("k")
        .grant_read("uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&e), denied, "PutObject with x-amz-grant-read");
    let e = scoped
        .create_bucket()
        .bucket(format!("scoped-{}", bucket_name("acl")))
        .acl(BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&e), denied, "CreateBucket with x-amz-acl");
    // A private ACL changes nothing anyone else can do.
    scoped
        .put_object()
        .bucket(&bucket)
        .key("k")
        .acl(ObjectCannedAcl::Private)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let e = scoped
        .put_object_acl()
        .bucket(&bucket)
        .key("k")
        .acl(ObjectCannedAcl::PublicRead)
        .send()
        .await
        .unwrap_err();
    assert_eq!(failure(&e), denied, "PutObjectAcl");

    // The store: no group grant, no policy, no anonymous write.
    assert!(!grants_to_groups(&r, &bucket, None).await);
    let policy = r.direct().get_bucket_policy().bucket(&bucket).send().await;
    assert!(policy.is_err(), "a policy was set: {policy:?}");
    assert_eq!(anonymous_put(&r, &bucket, "anon").await, 403);
    assert!(
        r.proxy
            .logs()
            .iter()
            .any(|l| l.contains("client_access_control")),
        "the refusals are logged with their reason"
    );

    // The control: a client with manage_access opens the bucket.
    let app = r.client(APP, APP_SECRET);
    app.put_bucket_acl()
        .bucket(&bucket)
        .acl(BucketCannedAcl::PublicReadWrite)
        .send()
        .await
        .unwrap();
    assert!(grants_to_groups(&r, &bucket, None).await);
    if store.name == "RGW" {
        // RGW then takes an unsigned PUT, in plaintext: what the refusals above prevent.
        assert_eq!(anonymous_put(&r, &bucket, "anon").await, 200);
        let got = r.direct().get_object().bucket(&bucket).key("anon").send();
        let body = got
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        assert_eq!(&body[..], b"anonymous plaintext");
    }
}

/// A presigned PUT of `key` by `client` whose signed query also carries `acl_query`: S3
/// reads `x-amz-*` query parameters of a presigned URL as the headers they name.
async fn presigned_put_with(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    acl_query: &'static str,
) -> http::Request<Full<Bytes>> {
    let put = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .customize()
        .mutate_request(move |req| {
            let uri = req.uri().to_owned();
            let sep = if uri.contains('?') { '&' } else { '?' };
            req.set_uri(format!("{uri}{sep}{acl_query}")).unwrap();
        })
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap();
    assert!(put.uri().contains(acl_query), "{}", put.uri());
    let mut req = http::Request::put(put.uri());
    for (n, v) in put.headers() {
        req = req.header(n, v);
    }
    req.body(Full::new(Bytes::from_static(b"presigned")))
        .unwrap()
}

async fn acls_in_a_presigned_urls_query_need_manage_access(store: Store) {
    let r = Resign::start(&store);
    let bucket = format!("scoped-{}", bucket_name("qacl"));
    r.direct()
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let scoped = r.client(SCOPED, SCOPED_SECRET);
    for query in [
        "x-amz-acl=public-read-write",
        "x-amz-grant-read=uri%3D%22http%3A%2F%2Facs.amazonaws.com%2Fgroups%2Fglobal%2FAllUsers%22",
    ] {
        let resp = r
            .raw()
            .send(presigned_put_with(&scoped, &bucket, "q", query).await)
            .await;
        assert_eq!(resp.status, 403, "{query}: {}", resp.text());
        assert!(
            resp.text().contains("<Code>AccessDenied</Code>"),
            "{}",
            resp.text()
        );
        assert!(
            !exists(&r.direct(), &bucket, "q").await,
            "{query}: the store holds the object"
        );
    }
    // A private ACL in the query changes nothing anyone else can do.
    let resp = r
        .raw()
        .send(presigned_put_with(&scoped, &bucket, "private", "x-amz-acl=private").await)
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    assert!(!grants_to_groups(&r, &bucket, Some("private")).await);

    // The control: the same URL made by a client with manage_access is forwarded.
    let app = r.client(APP, APP_SECRET);
    let resp = r
        .raw()
        .send(presigned_put_with(&app, &bucket, "q", "x-amz-acl=public-read-write").await)
        .await;
    assert_eq!(resp.status, 200, "{}", resp.text());
    // S3 applies an ACL sent in a presigned URL's query (boto3 puts `ACL` there when it
    // presigns); RGW 16.2 and SeaweedFS ignore it today, so the refusal above does not
    // rest on a store ignoring it.
    assert!(exists(&r.direct(), &bucket, "q").await);
}

// Garage has neither ACLs nor bucket policies (501).
per_store!(
    @stores [seaweedfs, rgw];
    only_clients_that_manage_access_change_acls_and_policies,
    acls_in_a_presigned_urls_query_need_manage_access,
);
