//! Streaming proof: 1 GiB up and down through the proxy to SeaweedFS with aws-sdk-s3,
//! content verified by digest, the proxy's peak RSS measured from /proc and printed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use md5::{Digest, Md5};
use support::s3::{Key, failure};
use support::{Proxy, ProxyOptions, bucket_name, s3_client};

const SIZE: u64 = 1 << 30;
const CHUNK: usize = 256 * 1024;
/// The peak resident set the proxy may reach while moving 1 GiB each way.
const RSS_LIMIT: u64 = 64 << 20;

/// A body that generates `remaining` deterministic bytes without holding them.
struct Generated {
    remaining: u64,
    counter: u64,
}

fn block(counter: u64) -> Bytes {
    let mut buf = vec![0u8; CHUNK];
    for (i, word) in buf.chunks_exact_mut(8).enumerate() {
        word.copy_from_slice(
            &(counter.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i as u64).to_le_bytes(),
        );
    }
    Bytes::from(buf)
}

impl http_body::Body for Generated {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let mut data = block(self.counter);
        let n = usize::try_from(self.remaining.min(CHUNK as u64)).unwrap();
        data.truncate(n);
        self.counter += 1;
        self.remaining -= n as u64;
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }
}

fn expected_digest() -> Vec<u8> {
    let mut md5 = Md5::new();
    let mut left = SIZE;
    let mut counter = 0;
    while left > 0 {
        let b = block(counter);
        let n = usize::try_from(left.min(CHUNK as u64)).unwrap();
        md5.update(&b[..n]);
        left -= n as u64;
        counter += 1;
    }
    md5.finalize().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seaweedfs_one_gib_put_and_get_stream_with_bounded_proxy_memory() {
    let store = require_store!(seaweedfs);
    let proxy = Proxy::start(ProxyOptions {
        upstream: "store = \"seaweedfs\"".into(),
        tables: String::new(),
        ..ProxyOptions::endpoint(store.http.clone())
    });
    let c = s3_client(
        &proxy.url(),
        &proxy.pki.ca_pem,
        &store.access_key,
        &store.secret_key,
        false,
    );
    let bucket = bucket_name("stream");
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = Key::new(0);
    let idle_rss = proxy.rss();

    let started = Instant::now();
    c.put_object()
        .bucket(&bucket)
        .key("big")
        .content_length(i64::try_from(SIZE).unwrap())
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&key.b64)
        .sse_customer_key_md5(&key.md5)
        .body(ByteStream::from_body_1_x(Generated {
            remaining: SIZE,
            counter: 0,
        }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT: {:?}", failure(&e)));
    let put_secs = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let out = c
        .get_object()
        .bucket(&bucket)
        .key("big")
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&key.b64)
        .sse_customer_key_md5(&key.md5)
        .send()
        .await
        .unwrap();
    let mut body = out.body;
    let mut md5 = Md5::new();
    let mut total = 0u64;
    while let Some(chunk) = body.try_next().await.unwrap() {
        total += chunk.len() as u64;
        md5.update(&chunk);
    }
    let get_secs = started.elapsed().as_secs_f64();
    let peak = proxy.peak_rss();
    c.delete_object()
        .bucket(&bucket)
        .key("big")
        .send()
        .await
        .unwrap();

    let mib = (SIZE >> 20) as f64;
    println!(
        "streaming: 1 GiB SSE-C PUT {:.1} s ({:.0} MiB/s), GET {:.1} s ({:.0} MiB/s); proxy RSS idle {:.1} MiB, peak {:.1} MiB (limit {} MiB)",
        put_secs,
        mib / put_secs,
        get_secs,
        mib / get_secs,
        idle_rss as f64 / 1048576.0,
        peak as f64 / 1048576.0,
        RSS_LIMIT >> 20
    );
    assert_eq!(total, SIZE);
    assert_eq!(
        md5.finalize().to_vec(),
        expected_digest(),
        "content round-trips"
    );
    assert!(peak > 0, "peak RSS was measured");
    assert!(
        peak < RSS_LIMIT,
        "proxy peak RSS {peak} bytes exceeds {RSS_LIMIT}"
    );
}
