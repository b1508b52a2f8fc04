//! Soak: mixed SSE-C traffic (PUT, GET, ranged GET, multipart, HEAD, DELETE) through
//! the proxy to SeaweedFS for `SSEC_SOAK_SECONDS` (60 by default; `dev/soak` runs 600),
//! with zero errors expected, and the proxy's RSS and open file descriptors sampled at
//! the start (after a warm-up) and the end, and printed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use support::s3::{HasStatus, Key, data, failure};
use support::{Proxy, Route, bucket_name, store_client, store_proxy};

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
}

macro_rules! keyed {
    ($b:expr, $k:expr) => {
        $b.sse_customer_algorithm("AES256")
            .sse_customer_key(&$k.b64)
            .sse_customer_key_md5(&$k.md5)
    };
}

/// Turns a failed SDK call into "`what`: (status, code)".
fn failed<E, R>(what: &'static str) -> impl FnOnce(SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::fmt::Debug,
    R: HasStatus + std::fmt::Debug,
{
    move |err| format!("{what}: {:?}", failure(&err))
}

/// One round of every operation on its own key; errors are returned, not panicked.
async fn round(c: &Client, bucket: &str, worker: usize, n: u64, k: &Key) -> Result<u64, String> {
    let key = format!("w{worker}/o{}", n % 16);
    let body = data(64 << 10, n);
    keyed!(
        c.put_object()
            .bucket(bucket)
            .key(&key)
            .body(ByteStream::from(body.clone())),
        k
    )
    .send()
    .await
    .map_err(failed("PUT"))?;
    let got = keyed!(c.get_object().bucket(bucket).key(&key), k)
        .send()
        .await
        .map_err(failed("GET"))?;
    let bytes = got
        .body
        .collect()
        .await
        .map_err(|err| err.to_string())?
        .into_bytes();
    if bytes != body {
        return Err(format!("GET {key}: content differs"));
    }
    let ranged = keyed!(
        c.get_object()
            .bucket(bucket)
            .key(&key)
            .range("bytes=1000-1999"),
        k
    )
    .send()
    .await
    .map_err(failed("ranged GET"))?;
    if ranged
        .body
        .collect()
        .await
        .map_err(|err| err.to_string())?
        .into_bytes()
        != body[1000..2000]
    {
        return Err("ranged GET: content differs".into());
    }
    keyed!(c.head_object().bucket(bucket).key(&key), k)
        .send()
        .await
        .map_err(failed("HEAD"))?;
    let mut moved = 3 * body.len() as u64;
    if n.is_multiple_of(8) {
        let mkey = format!("w{worker}/mpu");
        let create = keyed!(c.create_multipart_upload().bucket(bucket).key(&mkey), k)
            .send()
            .await
            .map_err(failed("CreateMultipartUpload"))?;
        let id = create.upload_id().unwrap_or_default().to_owned();
        let mut parts = Vec::new();
        for pn in 1..=2 {
            let part = data(5 << 20, n * 10 + pn as u64);
            let out = keyed!(
                c.upload_part()
                    .bucket(bucket)
                    .key(&mkey)
                    .upload_id(&id)
                    .part_number(pn)
                    .body(ByteStream::from(part)),
                k
            )
            .send()
            .await
            .map_err(failed("UploadPart"))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(pn)
                    .e_tag(out.e_tag().unwrap_or_default())
                    .build(),
            );
            moved += 5 << 20;
        }
        c.complete_multipart_upload()
            .bucket(bucket)
            .key(&mkey)
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map_err(failed("Complete"))?;
        c.delete_object()
            .bucket(bucket)
            .key(&mkey)
            .send()
            .await
            .map_err(failed("DELETE multipart"))?;
    }
    c.delete_object()
        .bucket(bucket)
        .key(&key)
        .send()
        .await
        .map_err(failed("DELETE"))?;
    Ok(moved)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seaweedfs_soak_mixed_sse_c_traffic_stays_flat() {
    let store = require_store!(seaweedfs);
    let seconds: u64 = std::env::var("SSEC_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let proxy: Arc<Proxy> = Arc::new(store_proxy(&store, Route::Http, "default = \"require\""));
    let c = store_client(&proxy, &store);
    let bucket = bucket_name("soak");
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let warmup = Duration::from_secs(seconds.min(600) / 10);
    let (ops, bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let errors = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..8 {
        let (c, bucket, ops, bytes, errors) = (
            c.clone(),
            bucket.clone(),
            ops.clone(),
            bytes.clone(),
            errors.clone(),
        );
        workers.spawn(async move {
            let k = Key::new(w as u8);
            let mut n = 0;
            while Instant::now() < deadline {
                match round(&c, &bucket, w, n, &k).await {
                    Ok(moved) => {
                        ops.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(moved, Ordering::Relaxed);
                    }
                    Err(e) => errors.lock().unwrap().push(e),
                }
                n += 1;
            }
        });
    }
    tokio::time::sleep(warmup).await;
    let (rss_start, fds_start) = (proxy.rss(), open_fds(proxy.pid()));
    let mut samples = vec![(rss_start, fds_start)];
    while Instant::now() < deadline {
        tokio::time::sleep(
            Duration::from_secs(5)
                .min(deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(1)),
        )
        .await;
        samples.push((proxy.rss(), open_fds(proxy.pid())));
    }
    while workers.join_next().await.is_some() {}
    let (rss_end, fds_end) = (proxy.rss(), open_fds(proxy.pid()));
    let peak = samples.iter().map(|s| s.0).max().unwrap_or(0).max(rss_end);
    let errors = errors.lock().unwrap().clone();
    let mib = |b: u64| b as f64 / 1048576.0;
    println!(
        "soak: {seconds} s, {} rounds ({} ops), {:.0} MiB moved, {} errors; proxy RSS {:.1} MiB after warm-up, {:.1} MiB at the end, peak {:.1} MiB; open fds {fds_start} → {fds_end}",
        ops.load(Ordering::Relaxed),
        ops.load(Ordering::Relaxed) * 6,
        mib(bytes.load(Ordering::Relaxed)),
        errors.len(),
        mib(rss_start),
        mib(rss_end),
        mib(peak)
    );
    // RSS and fds at each tenth of the measured run: a leak climbs, a warm cache levels.
    let step = (samples.len() / 10).max(1);
    let timeline: Vec<String> = samples
        .iter()
        .step_by(step)
        .chain(std::iter::once(&(rss_end, fds_end)))
        .map(|(rss, fds)| format!("{:.1}/{fds}", mib(*rss)))
        .collect();
    println!(
        "soak: RSS MiB/open fds every {} s: {}",
        step * 5,
        timeline.join(" ")
    );
    assert!(
        errors.is_empty(),
        "errors: {:?}",
        &errors[..errors.len().min(5)]
    );
    assert!(ops.load(Ordering::Relaxed) > 0);
    assert!(
        rss_end < rss_start + (16 << 20),
        "RSS grew from {} to {}",
        rss_start,
        rss_end
    );
    assert!(
        fds_end <= fds_start + 16,
        "fds grew from {fds_start} to {fds_end}"
    );
}
