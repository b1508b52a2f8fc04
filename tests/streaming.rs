//! Streaming proof: a large SSE-C object up and down through the proxy with aws-sdk-s3,
//! content verified by digest, the proxy's peak RSS measured from /proc and printed.
//! SeaweedFS in passthrough mode moves 1 GiB; the other runs (RGW, and resign mode,
//! where the proxy also decodes aws-chunked and checks checksums) move 256 MiB, four
//! times the memory limit, which keeps the suite's time reasonable on two cores.

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
use support::{Mode, Route, Store, bucket_name, s3_client, store_proxy_mode};

/// What SeaweedFS in passthrough mode moves each way.
const FULL: u64 = 1 << 30;
/// What the other runs move each way: still four times [`RSS_LIMIT`].
const SHORT: u64 = 256 << 20;
/// What Garage's runs move each way: its debug build (dev/install-deps) encrypts at
/// about 1 MiB/s here, so 1.5 times [`RSS_LIMIT`], still more than the proxy may hold.
const GARAGE: u64 = 96 << 20;
const CHUNK: usize = 256 * 1024;
/// The peak resident set the proxy may reach, whatever it moves.
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

fn expected_digest(size: u64) -> Vec<u8> {
    let mut md5 = Md5::new();
    let mut left = size;
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

/// One `#[tokio::test]` per store and mode, on two worker threads (the client generates
/// and hashes while it streams).
macro_rules! per_store_and_mode {
    ($($test:ident: $store:ident, $mode:ident, $size:expr;)*) => {
        $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $test() {
            let store = require_store!($store);
            put_and_get_stream_with_bounded_proxy_memory(store, Mode::$mode, $size).await;
        })*
    };
}

per_store_and_mode! {
    seaweedfs_one_gib_put_and_get_stream_with_bounded_proxy_memory: seaweedfs, Passthrough, FULL;
    seaweedfs_put_and_get_stream_with_bounded_proxy_memory_in_resign_mode: seaweedfs, Resign, SHORT;
    rgw_put_and_get_stream_with_bounded_proxy_memory: rgw, Passthrough, SHORT;
    rgw_put_and_get_stream_with_bounded_proxy_memory_in_resign_mode: rgw, Resign, SHORT;
    garage_put_and_get_stream_with_bounded_proxy_memory: garage, Passthrough, GARAGE;
    garage_put_and_get_stream_with_bounded_proxy_memory_in_resign_mode: garage, Resign, GARAGE;
}

/// `size` bytes with SSE-C up and down through the proxy in `mode`, the client holding
/// the credentials of that mode. The SDK keeps its defaults (aws-chunked with a checksum
/// trailer) except in front of RGW in passthrough mode: RGW 16.2 cannot read those
/// bodies, and in passthrough mode they reach it as sent.
async fn put_and_get_stream_with_bounded_proxy_memory(store: Store, mode: Mode, size: u64) {
    // RGW takes SSE-C over plain HTTP from a proxy it trusts to have had TLS; plain
    // HTTP keeps TLS to the store out of what is measured.
    let route = match store.name {
        "RGW" => Route::HttpForwardedProto,
        _ => Route::Http,
    };
    let proxy = store_proxy_mode(&store, route, "default = \"allow\"", mode);
    let c = s3_client(
        &proxy.url(),
        &proxy.pki.ca_pem,
        &proxy.client.access_key,
        &proxy.client.secret_key,
        store.name == "RGW" && mode == Mode::Passthrough,
    );
    let bucket = bucket_name("stream");
    c.create_bucket().bucket(&bucket).send().await.unwrap();
    let key = Key::new(0);
    let idle_rss = proxy.rss();

    let started = Instant::now();
    c.put_object()
        .bucket(&bucket)
        .key("big")
        .content_length(i64::try_from(size).unwrap())
        .sse_customer_algorithm("AES256")
        .sse_customer_key(&key.b64)
        .sse_customer_key_md5(&key.md5)
        .body(ByteStream::from_body_1_x(Generated {
            remaining: size,
            counter: 0,
        }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PUT: {:?}\n{}", failure(&e), proxy.logs().join("\n")));
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
    c.delete_bucket().bucket(&bucket).send().await.unwrap();

    let mib = (size >> 20) as f64;
    println!(
        "streaming ({} {mode:?}): {mib} MiB SSE-C PUT {:.1} s ({:.0} MiB/s), GET {:.1} s ({:.0} MiB/s); proxy RSS idle {:.1} MiB, peak {:.1} MiB (limit {} MiB)",
        store.name,
        put_secs,
        mib / put_secs,
        get_secs,
        mib / get_secs,
        idle_rss as f64 / 1048576.0,
        peak as f64 / 1048576.0,
        RSS_LIMIT >> 20
    );
    assert_eq!(total, size);
    assert_eq!(
        md5.finalize().to_vec(),
        expected_digest(size),
        "content round-trips"
    );
    assert!(peak > 0, "peak RSS was measured");
    assert!(
        peak < RSS_LIMIT,
        "proxy peak RSS {peak} bytes exceeds {RSS_LIMIT}"
    );
}
