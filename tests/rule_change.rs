//! A bucket's rule applies to the multipart uploads it finds open when it is loaded:
//! uploads created while a bucket was `allow` are refused at completion once the bucket
//! is `forbid` (an SSE-C upload), `require` (a plaintext one) or has an allow-list
//! without the upload's key, on every store and in both modes. What the store holds is
//! read directly: nothing was written for the refused completions, and an upload the new
//! rule admits still completes, encrypted under its key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use support::s3::{Key, WithKey, create_upload, data, failure, object_names};
use support::wire::{direct_client, route};
use support::{Mode, Store, bucket_name, store_client, store_proxy_mode};

/// One part (the last, so any size) of `upload` with `key` or none; its ETag.
async fn part(
    client: &Client,
    bucket: &str,
    name: &str,
    upload: &str,
    key: Option<&Key>,
) -> String {
    let mut req = client
        .upload_part()
        .bucket(bucket)
        .key(name)
        .upload_id(upload)
        .part_number(1)
        .body(ByteStream::from(data(1000, 7)));
    if let Some(k) = key {
        req = req.with_key(k);
    }
    let out = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("UploadPart {name}: {:?}", failure(&e)));
    out.e_tag().unwrap().to_owned()
}

/// CompleteMultipartUpload of the one part, with `key` or none (AWS and the stores
/// take an SSE-C upload's completion without it, so the request itself names no key
/// a rule could refuse): Ok, or the refusal's status and code.
async fn complete(
    client: &Client,
    bucket: &str,
    name: &str,
    upload: &str,
    etag: &str,
    key: Option<&Key>,
) -> Result<(), (u16, String)> {
    let parts = CompletedMultipartUpload::builder()
        .parts(CompletedPart::builder().part_number(1).e_tag(etag).build())
        .build();
    let mut req = client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(name)
        .upload_id(upload)
        .multipart_upload(parts);
    if let Some(k) = key {
        req = req.with_key(k);
    }
    req.send().await.map(|_| ()).map_err(|e| failure(&e))
}

/// Rewrites the `[ssec]` lines and waits for the proxy's `n`th policy reload.
fn reload(proxy: &support::Proxy, ssec: &str, n: usize) {
    proxy.rewrite_config(|text| {
        let start = text.find("[ssec]\n").unwrap() + "[ssec]\n".len();
        // Up to the next table that is not part of `[ssec]`.
        let end = text[start..]
            .match_indices("\n[")
            .find(|(i, _)| !text[start + i + 1..].starts_with("[[ssec."))
            .map_or(text.len(), |(i, _)| start + i);
        format!("{}{ssec}{}", &text[..start], &text[end..])
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let reloads = || {
        proxy
            .logs()
            .iter()
            .filter(|l| l.contains("ssec policy reloaded"))
            .count()
    };
    while reloads() < n {
        assert!(Instant::now() < deadline, "no policy reload {n}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn uploads_opened_under_allow_meet_the_rule_loaded_since(store: Store, mode: Mode) {
    let proxy = store_proxy_mode(&store, route(&store), "default = \"allow\"", mode);
    let client = store_client(&proxy, &proxy.client);
    let direct = direct_client(&store);
    let bucket = bucket_name("rule");
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let (k1, k2) = (Key::new(70), Key::new(71));

    // Under `allow`: a plaintext upload and two SSE-C ones, each with its part.
    let plain = create_upload(&client, &bucket, "plain", None).await;
    let plain_etag = part(&client, &bucket, "plain", &plain, None).await;
    let one = create_upload(&client, &bucket, "one", Some(&k1)).await;
    let one_etag = part(&client, &bucket, "one", &one, Some(&k1)).await;
    let two = create_upload(&client, &bucket, "two", Some(&k2)).await;
    let two_etag = part(&client, &bucket, "two", &two, Some(&k2)).await;

    // `forbid`: the SSE-C upload is refused at completion (sent keyless, as a client
    // evading the rule would).
    reload(&proxy, "default = \"forbid\"", 1);
    assert_eq!(
        complete(&client, &bucket, "one", &one, &one_etag, None).await,
        Err((403, "AccessDenied".to_owned())),
        "an SSE-C upload completed in a forbid bucket"
    );

    // `require` with an allow-list of K1: the plaintext upload and K2's are refused.
    let rule = format!(
        "default = \"allow\"\n[[ssec.buckets]]\nbucket = \"{bucket}\"\npolicy = \"require\"\nkey_md5_allowlist = [\"{}\"]",
        k1.md5
    );
    reload(&proxy, &rule, 2);
    assert_eq!(
        complete(&client, &bucket, "plain", &plain, &plain_etag, None).await,
        Err((403, "AccessDenied".to_owned())),
        "a plaintext upload completed in a require bucket"
    );
    assert_eq!(
        complete(&client, &bucket, "two", &two, &two_etag, None).await,
        Err((403, "AccessDenied".to_owned())),
        "an upload under a key off the allow-list completed"
    );
    // The store holds none of them.
    assert!(
        object_names(&direct, &bucket).await.is_empty(),
        "the store holds objects of refused completions"
    );

    // K1's upload meets the new rule and completes, encrypted under K1.
    complete(&client, &bucket, "one", &one, &one_etag, Some(&k1))
        .await
        .unwrap();
    assert_eq!(object_names(&direct, &bucket).await, ["one"]);
    support::at_rest::read_encrypted(&store, &bucket, "one", &k1, &data(1000, 7)).await;

    for (name, id) in [("plain", &plain), ("two", &two)] {
        client
            .abort_multipart_upload()
            .bucket(&bucket)
            .key(name)
            .upload_id(id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("AbortMultipartUpload {name}: {:?}", failure(&e)));
    }
}

/// Passthrough: an upload whose record is gone (here evicted by `max_tracked_uploads`,
/// which any client can fill with uploads of its own) cannot be checked against the
/// bucket's rule; its completion is refused when that rule changed since uploads were
/// opened, and goes through where it did not.
async fn a_forgotten_upload_is_refused_once_its_buckets_rule_changed(store: Store) {
    let (changed, kept) = (bucket_name("forgot"), bucket_name("kept"));
    let ssec = |default: &str| {
        format!(
            "default = \"{default}\"\nmax_tracked_uploads = 1\n[[ssec.buckets]]\nbucket = \"{kept}\"\npolicy = \"allow\""
        )
    };
    let proxy = support::store_proxy(&store, route(&store), &ssec("allow"));
    let client = store_client(&proxy, &store);
    let direct = direct_client(&store);
    for bucket in [&changed, &kept] {
        client.create_bucket().bucket(bucket).send().await.unwrap();
    }
    // Two plaintext uploads; the second evicts the first's record.
    let p = create_upload(&client, &changed, "p", None).await;
    let p_etag = part(&client, &changed, "p", &p, None).await;
    let q = create_upload(&client, &kept, "q", None).await;
    let q_etag = part(&client, &kept, "q", &q, None).await;

    reload(&proxy, &ssec("require"), 1);
    // An SSE-C upload the new rule admits evicts the second's record too.
    let k = Key::new(72);
    let fresh = create_upload(&client, &changed, "fresh", Some(&k)).await;
    assert_eq!(
        complete(&client, &changed, "p", &p, &p_etag, None).await,
        Err((400, "InvalidRequest".to_owned())),
        "a forgotten plaintext upload completed in a bucket now require"
    );
    assert!(object_names(&direct, &changed).await.is_empty());
    // The bucket whose rule did not change completes its forgotten upload.
    complete(&client, &kept, "q", &q, &q_etag, None)
        .await
        .unwrap();
    assert_eq!(object_names(&direct, &kept).await, ["q"]);
    for (name, id) in [("p", &p), ("fresh", &fresh)] {
        client
            .abort_multipart_upload()
            .bucket(&changed)
            .key(name)
            .upload_id(id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("AbortMultipartUpload {name}: {:?}", failure(&e)));
    }
}

per_store_and_mode!(uploads_opened_under_allow_meet_the_rule_loaded_since);
/// Passthrough keeps records of uploads; resign mode binds them.
mod passthrough_records {
    use super::a_forgotten_upload_is_refused_once_its_buckets_rule_changed;
    crate::per_store!(a_forgotten_upload_is_refused_once_its_buckets_rule_changed);
}
