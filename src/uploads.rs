//! A bounded, per-replica record of multipart uploads and the key each was created
//! with (passthrough mode): lets the proxy refuse parts whose key differs from the
//! upload's, which some stores accept silently. Lost on restart and not shared
//! between replicas; what happens to uploads it does not know is `ssec.unknown_uploads`.

pub mod binding;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use md5::{Digest as _, Md5};

use crate::config::LiveSsec;

use crate::s3::ssec::KeyDigest;

/// How an upload was created, as far as this replica knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upload {
    /// Created through this replica without SSE-C.
    Plain,
    /// Created through this replica with this key.
    Encrypted(KeyDigest),
    /// Not created through this replica, or forgotten (capacity, age, restart).
    Unknown,
}

/// Identity of an upload: a digest of bucket, key and upload id, so memory per entry
/// is fixed whatever the object key's length.
type UploadKey = [u8; 16];

fn upload_key(bucket: &str, key: &str, upload_id: &str) -> UploadKey {
    let mut h = Md5::new();
    for part in [bucket, key, upload_id] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

#[derive(Debug)]
struct Entry {
    digest: Option<KeyDigest>,
    created: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<UploadKey, Entry>,
    /// Insertion order, for eviction; may hold keys already removed.
    order: VecDeque<(UploadKey, Instant)>,
}

/// The record. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct UploadRecords {
    inner: Mutex<Inner>,
    opened: OpenedUnder,
    capacity: usize,
    ttl: Duration,
}

impl UploadRecords {
    /// A record holding at most `capacity` uploads, each for at most `ttl`.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            opened: OpenedUnder::default(),
            capacity: capacity.max(1),
            ttl,
        }
    }

    /// The `[ssec]` versions uploads were opened under.
    pub fn opened(&self) -> &OpenedUnder {
        &self.opened
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way
        // that matters more than losing the record, so recover the guard.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers a new upload.
    pub fn insert(&self, bucket: &str, key: &str, upload_id: &str, digest: Option<KeyDigest>) {
        let id = upload_key(bucket, key, upload_id);
        let now = Instant::now();
        let mut inner = self.lock();
        inner.entries.insert(
            id,
            Entry {
                digest,
                created: now,
            },
        );
        inner.order.push_back((id, now));
        while inner.entries.len() > self.capacity {
            let Some((old, at)) = inner.order.pop_front() else {
                break;
            };
            if inner.entries.get(&old).is_some_and(|e| e.created == at) {
                inner.entries.remove(&old);
            }
        }
        // Removed entries leave stale order slots; compact when they dominate.
        if inner.order.len() > 2 * self.capacity {
            let Inner { entries, order } = &mut *inner;
            order.retain(|(k, at)| entries.get(k).is_some_and(|e| e.created == *at));
        }
    }

    /// What this replica knows about an upload.
    pub fn get(&self, bucket: &str, key: &str, upload_id: &str) -> Upload {
        let id = upload_key(bucket, key, upload_id);
        let inner = self.lock();
        match inner.entries.get(&id) {
            Some(e) if e.created.elapsed() <= self.ttl => match e.digest {
                Some(d) => Upload::Encrypted(d),
                None => Upload::Plain,
            },
            _ => Upload::Unknown,
        }
    }

    /// Forgets a completed or aborted upload.
    pub fn remove(&self, bucket: &str, key: &str, upload_id: &str) {
        let id = upload_key(bucket, key, upload_id);
        self.lock().entries.remove(&id);
    }

    /// Number of uploads remembered.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The `[ssec]` versions this process has opened uploads under (and started with), each
/// once and for every worker, to judge the completion of an upload whose record is
/// gone: evicted (`max_tracked_uploads`, which any client can fill), expired
/// (`upload_record_ttl`) or never made here. When the bucket's rule was the same in every
/// one of them, the upload met the rule of now when it was opened here; otherwise the
/// completion is refused. Reloads are rare: past `KEPT` (32) versions the oldest go and
/// every bucket counts as changed.
#[derive(Debug, Default)]
pub struct OpenedUnder {
    inner: Mutex<Versions>,
}

#[derive(Debug, Default)]
struct Versions {
    /// Oldest first.
    kept: Vec<Arc<LiveSsec>>,
    /// Some were dropped: every bucket counts as changed.
    overflowed: bool,
}

impl OpenedUnder {
    const KEPT: usize = 32;

    fn lock(&self) -> std::sync::MutexGuard<'_, Versions> {
        // Nothing here can leave the list half-changed.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// An upload is being opened under `live`.
    pub fn note(&self, live: Arc<LiveSsec>) {
        let mut versions = self.lock();
        if versions.kept.iter().any(|v| Arc::ptr_eq(v, &live)) {
            return;
        }
        if versions.kept.len() >= Self::KEPT {
            versions.kept.remove(0);
            versions.overflowed = true;
        }
        versions.kept.push(live);
    }

    /// Whether `bucket`'s rule in `now` differs from its rule in any version kept.
    pub fn rule_changed(&self, now: &LiveSsec, bucket: &str) -> bool {
        let current = now.policies.for_bucket(Some(bucket));
        let versions = self.lock();
        versions.overflowed
            || versions
                .kept
                .iter()
                .any(|v| v.policies.for_bucket(Some(bucket)) != current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(b: u8) -> KeyDigest {
        KeyDigest::of_key(&[b; 32])
    }

    #[test]
    fn remembers_forgets_and_distinguishes_objects() {
        let r = UploadRecords::new(10, Duration::from_secs(60));
        r.insert("b", "k", "u1", Some(d(1)));
        r.insert("b", "k", "u2", None);
        assert_eq!(r.get("b", "k", "u1"), Upload::Encrypted(d(1)));
        assert_eq!(r.get("b", "k", "u2"), Upload::Plain);
        assert_eq!(r.get("b", "other", "u1"), Upload::Unknown);
        assert_eq!(
            r.get("bk", "", "u1"),
            Upload::Unknown,
            "fields are length-delimited"
        );
        r.remove("b", "k", "u1");
        assert_eq!(r.get("b", "k", "u1"), Upload::Unknown);
    }

    #[test]
    fn evicts_oldest_beyond_capacity_and_stays_bounded() {
        let r = UploadRecords::new(100, Duration::from_secs(60));
        for i in 0..10_000 {
            r.insert("b", "k", &i.to_string(), Some(d(1)));
            if i % 3 == 0 {
                r.remove("b", "k", &i.to_string());
            }
        }
        assert!(r.len() <= 100);
        assert!(r.lock().order.len() <= 200);
        assert_eq!(r.get("b", "k", "9998"), Upload::Encrypted(d(1)));
        assert_eq!(r.get("b", "k", "1"), Upload::Unknown);
    }

    #[test]
    fn expires_old_entries() {
        let r = UploadRecords::new(10, Duration::from_millis(1));
        r.insert("b", "k", "u", Some(d(1)));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(r.get("b", "k", "u"), Upload::Unknown);
    }

    #[test]
    fn a_buckets_rule_changed_when_any_version_uploads_were_opened_under_differs() {
        use crate::s3::policy::{BucketPolicies, Policy, Rule};
        let version = |default: Policy| {
            Arc::new(LiveSsec {
                policies: BucketPolicies {
                    default,
                    rules: vec![Rule {
                        pattern: glob::Pattern::new("kept").unwrap(),
                        policy: Policy::Allow,
                        allowlist: None,
                    }],
                },
                unknown_uploads: None,
            })
        };
        let opened = OpenedUnder::default();
        let (allow, require) = (version(Policy::Allow), version(Policy::Require));
        assert!(!opened.rule_changed(&require, "b"), "nothing opened yet");
        opened.note(Arc::clone(&allow));
        opened.note(Arc::clone(&allow));
        assert!(!opened.rule_changed(&allow, "b"));
        assert!(opened.rule_changed(&require, "b"));
        assert!(
            !opened.rule_changed(&require, "kept"),
            "its own rule did not change"
        );
        opened.note(Arc::clone(&require));
        assert!(
            opened.rule_changed(&require, "b"),
            "allow is still among them"
        );
        // Past the versions kept, every bucket counts as changed.
        for _ in 0..OpenedUnder::KEPT {
            opened.note(version(Policy::Require));
        }
        assert!(opened.rule_changed(&require, "kept"));
    }
}
