//! What a store really holds: searches SeaweedFS volume files, Garage's block files and
//! RGW's RADOS objects for plaintext markers, so tests can show data is (or is not) encrypted at rest.

use std::path::Path;
use std::process::Command;

use bytes::Bytes;
use ssec_proxy::store_client::object_path;

use super::s3::Key;
use super::wire::direct_url;
use super::{RawClient, Store, signed};

/// Test data that does not compress: random bytes with `marker` every 200 bytes, so a
/// store cannot hide plaintext by compressing it.
pub fn marked(len: usize, marker: &str, seed: u64) -> Vec<u8> {
    let mut out = super::s3::data(len, seed);
    let m = marker.as_bytes();
    let mut at = 0;
    while at + m.len() <= out.len() {
        out[at..at + m.len()].copy_from_slice(m);
        at += 200;
    }
    out
}

/// How many times `marker` occurs at rest in the store (all buckets for SeaweedFS and
/// Garage, `bucket`'s RADOS objects for RGW).
pub fn count(store: &Store, bucket: &str, marker: &str) -> usize {
    match (&store.data_dir, &store.ceph_conf) {
        (Some(dir), _) => count_in_dir(dir, marker),
        (None, Some(conf)) => count_in_rados(conf, bucket, marker),
        (None, None) => panic!(
            "store {} has no data dir or ceph conf to inspect",
            store.name
        ),
    }
}

fn count_in_dir(dir: &Path, marker: &str) -> usize {
    let out = Command::new("grep")
        .args(["-roaF", "--", marker])
        .arg(dir)
        .output()
        .expect("grep");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

fn count_in_rados(conf: &Path, bucket: &str, marker: &str) -> usize {
    let stats = Command::new("radosgw-admin")
        .arg("-c")
        .arg(conf)
        .args(["bucket", "stats", "--bucket", bucket])
        .output()
        .expect("radosgw-admin");
    let stats: serde_json::Value = serde_json::from_slice(&stats.stdout)
        .unwrap_or_else(|_| panic!("bucket stats: {}", String::from_utf8_lossy(&stats.stderr)));
    let prefix = format!("{}_", stats["marker"].as_str().expect("bucket marker"));
    let pool = std::env::var("SSEC_TEST_RGW_DATA_POOL")
        .unwrap_or_else(|_| "default.rgw.buckets.data".into());
    let list = Command::new("rados")
        .arg("-c")
        .arg(conf)
        .args(["-p", &pool, "ls"])
        .output()
        .expect("rados ls");
    let tmp = tempfile::tempdir().unwrap();
    let mut total = 0;
    for (i, name) in String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|n| n.starts_with(&prefix))
        .enumerate()
    {
        let file = tmp.path().join(i.to_string());
        let got = Command::new("rados")
            .arg("-c")
            .arg(conf)
            .args(["-p", &pool, "get", name])
            .arg(&file)
            .status()
            .expect("rados get");
        assert!(got.success(), "rados get {name}");
        let bytes = std::fs::read(&file).unwrap();
        total += bytes
            .windows(marker.len())
            .filter(|w| *w == marker.as_bytes())
            .count();
    }
    total
}

/// What the store holds, read directly (raw: SeaweedFS repeats the key-MD5 header,
/// which the SDK cannot parse; RGW over TLS, as it takes SSE-C only there): without a
/// key refused, with `key` the plaintext `want`.
pub async fn read_encrypted(store: &Store, bucket: &str, name: &str, key: &Key, want: &[u8]) {
    let url = format!("{}{}", direct_url(store), object_path(bucket, name));
    let ca = std::fs::read_to_string(&store.ca).unwrap();
    let raw = RawClient::new(&ca, false);
    let keyless = raw
        .send(signed(store, "GET", &url, &[], Bytes::new()))
        .await;
    let status = keyless.status.as_u16();
    assert!(
        status == 400 || status == 403,
        "{name}: a keyless read of an encrypted object: {status}"
    );
    let keyed = key.headers();
    let got = raw
        .send(signed(store, "GET", &url, &keyed, Bytes::new()))
        .await;
    assert_eq!(
        got.status.as_u16(),
        200,
        "{name} with its key: {}",
        got.text()
    );
    assert!(got.body == want, "{name}: the store's plaintext differs");
}

/// The ETag the store holds for `bucket`/`name`, read directly with a HEAD (with `key`
/// for an encrypted object; raw, and RGW over TLS, as for [`read_encrypted`]).
pub async fn held_etag(store: &Store, bucket: &str, name: &str, key: Option<&Key>) -> String {
    let url = format!("{}{}", direct_url(store), object_path(bucket, name));
    let ca = std::fs::read_to_string(&store.ca).unwrap();
    let mut headers = Vec::new();
    if let Some(k) = key {
        headers = vec![
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-server-side-encryption-customer-key", k.b64.as_str()),
            (
                "x-amz-server-side-encryption-customer-key-md5",
                k.md5.as_str(),
            ),
        ];
    }
    let got = RawClient::new(&ca, false)
        .send(signed(store, "HEAD", &url, &headers, Bytes::new()))
        .await;
    assert_eq!(got.status.as_u16(), 200, "HEAD {name} at the store");
    got.headers["etag"].to_str().unwrap().to_owned()
}
