//! Prometheus metrics (text format on the admin listener), fed per request by the
//! trace layer alone (`layers::trace`). Labels are bounded: operation,
//! outcome, status class, S3 error code and reason, listener, direction — never a
//! bucket, key, client address or anything derived from a key.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::error::Outcome;
use crate::s3::error::{Reason, S3ErrorCode};
use crate::s3::op::S3Op;

/// Labels of `ssec_requests_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// S3 operation.
    pub op: &'static str,
    /// `ok`, `store_error`, `rejected`, `store_unreachable`, …
    pub outcome: &'static str,
    /// `2xx` … `5xx`.
    pub status_class: &'static str,
}

/// Labels of `ssec_rejections_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectionLabels {
    /// The S3 error code answered.
    pub code: &'static str,
    /// Why: a spec row (`V5`, `S9`), `policy_require`, `store_refusal`, …
    pub reason: &'static str,
}

/// Labels with an operation only.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpLabels {
    /// S3 operation.
    pub op: &'static str,
}

/// Labels with a listener name.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    /// `tls` or `plain`.
    pub listener: &'static str,
}

/// Labels with a body direction.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabels {
    /// `in` (client to store) or `out` (to the client).
    pub direction: &'static str,
}

/// Labels of `ssec_reloads_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    /// `certificate`, `config` or `credentials`.
    pub kind: &'static str,
    /// `ok` or `failed`.
    pub result: &'static str,
}

/// Labels of `ssec_injected_plaintext_reads_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabels {
    /// `refused` or `served`.
    pub action: &'static str,
}

/// Every metric the proxy exports.
pub struct Metrics {
    /// Distinguishes instances in the per-thread handle cache.
    id: u64,
    registry: Registry,
    /// Requests by operation, outcome and status class.
    pub requests: Family<RequestLabels, Counter>,
    /// Requests the proxy refused itself.
    pub rejections: Family<RejectionLabels, Counter>,
    /// Time to the response head spent in the proxy (total minus store wait).
    pub proxy_seconds: Family<OpLabels, Histogram>,
    /// Time waiting for the store's response head.
    pub store_seconds: Family<OpLabels, Histogram>,
    /// Body bytes moved.
    pub bytes: Family<DirectionLabels, Counter>,
    bytes_in: Counter,
    bytes_out: Counter,
    /// Open client connections.
    pub open_connections: Family<ListenerLabels, Gauge>,
    /// TLS handshakes that failed or timed out.
    pub tls_handshake_failures: Counter,
    /// Connections closed at once because `server.max_connections` were open.
    pub refused_connections: Counter,
    /// Seconds until the served certificate expires.
    pub certificate_expiry_seconds: Gauge,
    /// Certificate and configuration reloads.
    pub reloads: Family<ReloadLabels, Counter>,
    /// SSE-C writes the store did not confirm (answered 502).
    pub unconfirmed_writes: Counter,
    /// Reads sent again with a bucket's previous injected key after the store said the
    /// key was wrong.
    pub injected_key_retries: Counter,
    /// Reads with an injected key of objects the store holds without SSE-C, by what the
    /// proxy did (`refused` in a `require` bucket, `served` otherwise).
    pub injected_plaintext_reads: Family<ActionLabels, Counter>,
    /// Multipart uploads this replica remembers.
    pub tracked_uploads: Gauge,
    /// 1 when the last store probe connected, else 0.
    pub store_up: Gauge,
    /// Access lines dropped because the writer fell behind (or its output failed).
    pub access_log_dropped: Counter,
}

fn latency() -> Histogram {
    // 100 µs … ~100 s.
    Histogram::new(exponential_buckets(0.0001, 4.0, 11))
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Arc<Self> {
        static INSTANCES: AtomicU64 = AtomicU64::new(0);
        let mut registry = Registry::with_prefix("ssec");
        let m = Self {
            id: INSTANCES.fetch_add(1, Ordering::Relaxed),
            requests: Family::default(),
            rejections: Family::default(),
            proxy_seconds: Family::new_with_constructor(latency),
            store_seconds: Family::new_with_constructor(latency),
            bytes: Family::default(),
            bytes_in: Counter::default(),
            bytes_out: Counter::default(),
            open_connections: Family::default(),
            tls_handshake_failures: Counter::default(),
            refused_connections: Counter::default(),
            certificate_expiry_seconds: Gauge::default(),
            reloads: Family::default(),
            unconfirmed_writes: Counter::default(),
            injected_key_retries: Counter::default(),
            injected_plaintext_reads: Family::default(),
            tracked_uploads: Gauge::default(),
            store_up: Gauge::default(),
            access_log_dropped: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "requests",
            "Requests by operation, outcome and status class",
            m.requests.clone(),
        );
        registry.register(
            "rejections",
            "Requests refused by the proxy, by S3 error code and reason",
            m.rejections.clone(),
        );
        registry.register(
            "proxy_duration_seconds",
            "Time to the response head spent in the proxy",
            m.proxy_seconds.clone(),
        );
        registry.register(
            "store_duration_seconds",
            "Time waiting for the store's response head",
            m.store_seconds.clone(),
        );
        registry.register(
            "body_bytes",
            "Body bytes moved, by direction",
            m.bytes.clone(),
        );
        registry.register(
            "open_connections",
            "Open client connections, by listener",
            m.open_connections.clone(),
        );
        registry.register(
            "refused_connections",
            "Connections closed at once because server.max_connections were open",
            m.refused_connections.clone(),
        );
        registry.register(
            "tls_handshake_failures",
            "TLS handshakes that failed or timed out",
            m.tls_handshake_failures.clone(),
        );
        registry.register(
            "certificate_expiry_seconds",
            "Seconds until the served certificate expires",
            m.certificate_expiry_seconds.clone(),
        );
        registry.register(
            "reloads",
            "Certificate and configuration reloads, by result",
            m.reloads.clone(),
        );
        registry.register(
            "unconfirmed_writes",
            "SSE-C writes the store did not confirm",
            m.unconfirmed_writes.clone(),
        );
        registry.register(
            "injected_key_retries",
            "Reads sent again with a previous injected key after the store said the key was wrong",
            m.injected_key_retries.clone(),
        );
        registry.register(
            "injected_plaintext_reads",
            "Reads with an injected key of objects stored without SSE-C, refused or served",
            m.injected_plaintext_reads.clone(),
        );
        registry.register(
            "tracked_uploads",
            "Multipart uploads this replica remembers",
            m.tracked_uploads.clone(),
        );
        registry.register(
            "store_up",
            "Whether the last store probe connected",
            m.store_up.clone(),
        );
        registry.register(
            "access_log_dropped",
            "Access lines dropped because the writer fell behind or its output failed",
            m.access_log_dropped.clone(),
        );
        let bytes_in = m
            .bytes
            .get_or_create(&DirectionLabels { direction: "in" })
            .clone();
        let bytes_out = m
            .bytes
            .get_or_create(&DirectionLabels { direction: "out" })
            .clone();
        Arc::new(Self {
            registry,
            bytes_in,
            bytes_out,
            ..m
        })
    }

    /// The Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(8192);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Runs `f` with the series of one (operation, outcome, status class), looked up
    /// in a per-thread cache: the families hash their labels with SipHash behind a lock,
    /// which costs more than the rest of the bookkeeping of a request.
    fn with_request_handles(
        &self,
        op: &'static str,
        outcome: &'static str,
        status_class: &'static str,
        f: impl FnOnce(&RequestHandles),
    ) {
        // The label values are static strings, so their addresses identify them.
        let key = [
            self.id as usize,
            op.as_ptr() as usize,
            outcome.as_ptr() as usize,
            status_class.as_ptr() as usize,
        ];
        HANDLES.with(|cache| {
            let mut cache = cache.borrow_mut();
            let handles = cache.entry(key).or_insert_with(|| RequestHandles {
                requests: self
                    .requests
                    .get_or_create(&RequestLabels {
                        op,
                        outcome,
                        status_class,
                    })
                    .clone(),
                proxy: self.proxy_seconds.get_or_create(&OpLabels { op }).clone(),
                store: self.store_seconds.get_or_create(&OpLabels { op }).clone(),
            });
            f(handles);
        });
    }

    /// Counts one finished request: its series, its durations and its body bytes.
    pub fn request(&self, done: &FinishedRequest) {
        let status_class = match done.status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.with_request_handles(done.op.as_str(), done.outcome.as_str(), status_class, |h| {
            h.requests.inc();
            h.proxy.observe(done.proxy.as_secs_f64());
            if !done.store.is_zero() {
                h.store.observe(done.store.as_secs_f64());
            }
        });
        self.bytes_in.inc_by(done.bytes_in);
        self.bytes_out.inc_by(done.bytes_out);
        if done.outcome == Outcome::StoreUnconfirmed {
            self.unconfirmed_writes.inc();
        }
    }

    /// Counts a request the proxy refused itself.
    pub fn rejection(&self, code: S3ErrorCode, reason: Reason) {
        self.rejections
            .get_or_create(&RejectionLabels {
                code: code.as_str(),
                reason: reason.as_str(),
            })
            .inc();
    }

    /// Counts a reload.
    pub fn reload(&self, kind: &'static str, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.reloads
            .get_or_create(&ReloadLabels { kind, result })
            .inc();
    }
}

/// One finished request, as the trace layer saw it.
#[derive(Clone, Debug)]
pub struct FinishedRequest {
    /// The S3 operation (`Unknown` before classification).
    pub op: S3Op,
    /// How it ended.
    pub outcome: Outcome,
    /// The status sent.
    pub status: u16,
    /// Time to the response head spent in the proxy.
    pub proxy: Duration,
    /// Time waiting for the store's response head.
    pub store: Duration,
    /// Client body bytes read.
    pub bytes_in: u64,
    /// Response body bytes sent.
    pub bytes_out: u64,
}

/// The series one request updates.
struct RequestHandles {
    requests: Counter,
    proxy: Histogram,
    store: Histogram,
}

thread_local! {
    /// Per-thread cache of [`RequestHandles`], keyed by instance and label addresses
    /// (bounded: one entry per instance and label combination).
    static HANDLES: std::cell::RefCell<std::collections::HashMap<[usize; 4], RequestHandles, std::hash::BuildHasherDefault<AddrHasher>>> =
        std::cell::RefCell::new(std::collections::HashMap::default());
}

/// A hasher for keys made of addresses: a multiply-rotate mix, enough for a small map
/// whose keys no client chooses.
#[derive(Default)]
struct AddrHasher(u64);

impl std::hash::Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_bounded_families_in_text_format() {
        let m = Metrics::new();
        m.rejection(S3ErrorCode::AccessDenied, Reason::PolicyRequire);
        m.request(&FinishedRequest {
            op: S3Op::PutObject,
            outcome: Outcome::Rejected,
            status: 403,
            proxy: Duration::from_micros(30),
            store: Duration::ZERO,
            bytes_in: 10,
            bytes_out: 0,
        });
        m.reload("certificate", false);
        let text = m.encode();
        assert!(
            text.contains(
                "ssec_requests_total{op=\"PutObject\",outcome=\"rejected\",status_class=\"4xx\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "ssec_rejections_total{code=\"AccessDenied\",reason=\"policy_require\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("ssec_body_bytes_total{direction=\"in\"} 10"),
            "{text}"
        );
        assert!(
            text.contains("ssec_reloads_total{kind=\"certificate\",result=\"failed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("ssec_proxy_duration_seconds_bucket"),
            "{text}"
        );
    }
}
