//! What a store really holds: searches SeaweedFS volume files, Garage's block files and
//! RGW's RADOS objects for plaintext markers, so tests can show data is (or is not) encrypted at rest.

use std::path::Path;
use std::process::Command;

use super::Store;

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
