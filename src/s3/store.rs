//! What each store gets wrong about SSE-C, and what the proxy does about it
//! (reference/backends.md, confirmed by probes of SeaweedFS 4.48 and Ceph RGW 16.2.15):
//! requests refused before they reach the store, writes whose success must be
//! confirmed by the store's echo, and store errors given AWS's wording.

use http::header::{IF_MATCH, IF_NONE_MATCH};
use http::{HeaderMap, HeaderName, Method};

use super::checksum::Algorithm;
use super::error::{Reason, S3Error, S3ErrorCode};
use super::headers::{
    IF_MATCH_LAST_MODIFIED_TIME, IF_MATCH_SIZE, MP_OBJECT_SIZE, WRITE_OFFSET_BYTES,
};
use super::op::{BucketSub, S3Op};
use super::ssec::{self, Checked};
use super::strict::HostReading;

/// The store behind the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Store {
    /// Unknown S3 store: trust nothing that cannot be confirmed.
    Generic,
    /// Ceph RADOS Gateway (16.2 Pacific behaviour).
    Rgw,
    /// SeaweedFS (4.48 behaviour).
    Seaweedfs,
    /// MinIO.
    Minio,
    /// Garage.
    Garage,
}

/// `upstream.store`: a store named in the configuration, or `auto` (the default):
/// recognised from its own answers, `generic` until then or when unsure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreSetting {
    /// Recognise the store ([`identify`]).
    Auto,
    /// This store.
    Named(Store),
}

impl<'de> serde::Deserialize<'de> for StoreSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if name == "auto" {
            return Ok(Self::Auto);
        }
        [
            Store::Generic,
            Store::Rgw,
            Store::Seaweedfs,
            Store::Minio,
            Store::Garage,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
        .map(Self::Named)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{name}` is not one of auto, generic, rgw, seaweedfs, minio, garage"
            ))
        })
    }
}

impl StoreSetting {
    /// `auto` or the store's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Named(store) => store.as_str(),
        }
    }
}

/// The store the proxy acts for: as configured, or as recognised under `auto`. Read
/// by every request; set at most once. Until `auto` is settled no store's behaviours
/// are known, and requests are refused ([`LiveStore::pending`]).
#[derive(Debug)]
pub struct LiveStore {
    setting: StoreSetting,
    /// The store's index in `STORES`, or `UNSETTLED`; read on every request.
    current: std::sync::atomic::AtomicU8,
    /// How the store was recognised, or why it was not; `None` while unknown.
    found: std::sync::Mutex<Option<String>>,
    /// Wakes whoever asks the store (the readiness probe) before its next round.
    nudge: tokio::sync::Notify,
}

/// `current` while `auto` has decided nothing: no store's behaviours are known.
const UNSETTLED: u8 = u8::MAX;

const STORES: [Store; 5] = [
    Store::Generic,
    Store::Rgw,
    Store::Seaweedfs,
    Store::Minio,
    Store::Garage,
];

impl LiveStore {
    /// The store as configured.
    pub fn new(setting: StoreSetting) -> Self {
        let current = match setting {
            StoreSetting::Auto => UNSETTLED,
            StoreSetting::Named(store) => store as u8,
        };
        Self {
            setting,
            current: std::sync::atomic::AtomicU8::new(current),
            found: std::sync::Mutex::new(None),
            nudge: tokio::sync::Notify::new(),
        }
    }

    /// The store whose behaviours apply now (`generic` while unsettled, when requests
    /// are refused anyway).
    pub fn get(&self) -> Store {
        let i = self.current.load(std::sync::atomic::Ordering::Relaxed);
        STORES
            .get(usize::from(i))
            .copied()
            .unwrap_or(Store::Generic)
    }

    /// Whether the store is still to be recognised.
    pub fn pending(&self) -> bool {
        self.current.load(std::sync::atomic::Ordering::Relaxed) == UNSETTLED
    }

    /// A request met an unsettled store: ask it now rather than at the next probe.
    pub fn nudge(&self) {
        self.nudge.notify_one();
    }

    /// Resolves after the next [`Self::nudge`] (at once if one came since the last).
    pub async fn nudged(&self) {
        self.nudge.notified().await;
    }

    fn found(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Settles `auto` from a store answer (its status, headers and the start of its
    /// body): the recognised store, or `generic` for good. A 5xx answer that names no
    /// known store settles nothing: a store starting, or a load balancer in front of
    /// one, says nothing about which store it is. Returns what was decided, once;
    /// `None` otherwise or when the store is named in the configuration.
    pub fn settle(
        &self,
        status: http::StatusCode,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Option<String> {
        if self.setting != StoreSetting::Auto {
            return None;
        }
        let mut found = self.found();
        if found.is_some() {
            return None;
        }
        let (store, decided) = match identify(headers, body) {
            Some(id) => (
                id.store,
                format!("{} (recognised by {})", id.store.as_str(), id.evidence),
            ),
            None if status.is_server_error() => return None,
            None => (
                Store::Generic,
                "generic (not recognised: no known Server, request-id form or error message)"
                    .to_owned(),
            ),
        };
        self.current
            .store(store as u8, std::sync::atomic::Ordering::Relaxed);
        *found = Some(decided.clone());
        Some(decided)
    }

    /// 503 for a request that arrives while `auto` is unsettled: which store's
    /// behaviours apply is not known yet, and guessing `generic` would let through
    /// what the store turns out to misread.
    pub fn unsettled_refusal() -> S3Error {
        S3Error::new(
            S3ErrorCode::ServiceUnavailable,
            "upstream.store = \"auto\" and the store has not answered yet, so which of its behaviours apply is unknown; retry shortly.",
        )
        .with_reason(Reason::StoreUnrecognised)
    }

    /// One line for logs, `/readyz` and `validate`: the setting and what applies.
    pub fn describe(&self) -> String {
        match (self.setting, self.found().as_deref()) {
            (StoreSetting::Named(store), _) => format!("{} (configured)", store.as_str()),
            (StoreSetting::Auto, Some(found)) => format!("auto: {found}"),
            (StoreSetting::Auto, None) => {
                "auto: not recognised yet (requests are refused until the store answers)".to_owned()
            }
        }
    }
}

/// How resign mode performs a CopyObject or UploadPartCopy ([`Store::copy_plan`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyPlan {
    /// The store copies, as asked.
    Native,
    /// The proxy reads the source's head with the copy-source key first; a wrong key is
    /// refused as AWS refuses it, then the store copies.
    VerifySource,
    /// The proxy reads the source (with its key, the copy's range and conditionals) and
    /// writes it as a PutObject or UploadPart, streaming.
    Stream,
}

/// What to do with a part for an upload this replica has no record of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownUploads {
    /// Refuse it: its key cannot be checked against the upload's.
    Reject,
    /// Forward it: the store checks part keys itself.
    Allow,
}

/// SeaweedFS's folder of multipart upload parts, in every bucket.
const UPLOADS_FOLDER: &str = ".uploads";

/// Whether a key or listing start is in SeaweedFS's uploads folder: its first
/// non-empty segment (SeaweedFS ignores empty ones, and reads `\` as `/`) is the
/// folder.
fn in_uploads_folder(path: &str) -> bool {
    path.split(['/', '\\']).find(|segment| !segment.is_empty()) == Some(UPLOADS_FOLDER)
}

/// Paths SeaweedFS 4.48 answers itself (its health checks: an empty 200) to GET, HEAD
/// and OPTIONS, before any bucket or object route.
const SEAWEEDFS_OWN_PATHS: [&str; 3] = ["/status", "/healthz", "/readyz"];

impl Store {
    /// Whether a DeleteBucket of a bucket holding objects may delete them: SeaweedFS
    /// 4.48 does (`204`, seen on the store), and an unknown store is not trusted not to.
    /// RGW, Garage and MinIO answer `409 BucketNotEmpty` themselves.
    pub fn deletes_full_buckets(self) -> bool {
        matches!(self, Self::Seaweedfs | Self::Generic)
    }

    /// How the store reads a Host that is not one of its own names.
    pub fn host_reading(self) -> HostReading {
        match self {
            Self::Seaweedfs | Self::Minio | Self::Garage => HostReading::PathStyle,
            Self::Rgw | Self::Generic => HostReading::AsBucket,
        }
    }

    /// The name used in configuration and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generic => "generic",
            Self::Rgw => "rgw",
            Self::Seaweedfs => "seaweedfs",
            Self::Minio => "minio",
            Self::Garage => "garage",
        }
    }

    /// Default for `ssec.unknown_uploads`: allow only where the store itself rejects
    /// parts without the upload's key (RGW, MinIO, Garage). SeaweedFS stores such parts
    /// in plaintext or under the wrong key; a generic store is not trusted.
    pub fn default_unknown_uploads(self) -> UnknownUploads {
        match self {
            Self::Rgw | Self::Minio | Self::Garage => UnknownUploads::Allow,
            Self::Generic | Self::Seaweedfs => UnknownUploads::Reject,
        }
    }

    /// A copy with copy-source conditionals (`x-amz-copy-source-if-*`) that this store
    /// would ignore, copying unconditionally. Ceph RGW 16.2 reads CopyObject's only as
    /// `x-amz-copy-if-*` (resign mode sends both names, passthrough cannot) and ignores
    /// UploadPartCopy's under any name.
    pub fn ignored_copy_conditions(
        self,
        op: S3Op,
        headers: &HeaderMap,
        checked: &Checked,
        resign: bool,
    ) -> Option<S3Error> {
        if resign && self.copy_plan(op, checked) == CopyPlan::Stream {
            // The proxy's own read of the source applies them.
            return None;
        }
        let message = match (self, op) {
            (Self::Rgw, S3Op::CopyObject) if !resign => {
                "Ceph RGW 16.2 ignores the x-amz-copy-source-if-* conditionals of a CopyObject and would copy unconditionally; in passthrough mode the proxy cannot send them under the names RGW reads, so it refuses this request."
            }
            (Self::Rgw, S3Op::UploadPartCopy) => {
                "Ceph RGW 16.2 ignores the x-amz-copy-source-if-* conditionals of an UploadPartCopy and would copy unconditionally, so the proxy refuses this request."
            }
            _ => return None,
        };
        headers
            .keys()
            .any(|name| name.as_str().starts_with("x-amz-copy-source-if-"))
            .then(|| {
                S3Error::new(S3ErrorCode::NotImplemented, message).with_reason(Reason::StoreRefusal)
            })
    }

    /// A conditional write or delete that this store ignores, writing or deleting
    /// unconditionally, or that stores read differently: S3's `If-Match` and
    /// `If-None-Match` on PutObject, CopyObject (the destination) and
    /// CompleteMultipartUpload, and `If-Match`, `x-amz-if-match-size` and
    /// `x-amz-if-match-last-modified-time` on DeleteObject. A client that asked to write
    /// only if the object is absent or unchanged would lose what is there. Probed
    /// (`tests/conditional_writes.rs`): Garage 2.5 applies none of them; Ceph RGW 16.2
    /// only PutObject's `If-Match` (its `If-None-Match: *` overwrites in a bucket with
    /// versioning on); SeaweedFS 4.48 every one but DeleteObject's size and time.
    /// MinIO applies PutObject's and CompleteMultipartUpload's
    /// (`checkPreconditionsPUT`); a generic store is trusted with none.
    ///
    /// A condition has one reading only if it is one non-empty header, an `If-Match`
    /// without a list (SeaweedFS reads an empty one as none), and `If-None-Match` is `*`, the
    /// only value S3 takes on a write (SeaweedFS and RGW write for a quoted `"*"` or a
    /// list with `*`): anything else is refused whatever the store.
    /// `proxy_writes`: resign mode performs this CopyObject itself as a read and a
    /// PutObject that carries the destination's conditionals (`CopyPlan::Stream`).
    pub fn write_condition_refusal(
        self,
        op: S3Op,
        headers: &HeaderMap,
        proxy_writes: bool,
    ) -> Option<S3Error> {
        let op = match op {
            S3Op::CopyObject if proxy_writes => S3Op::PutObject,
            op => op,
        };
        let names: &[HeaderName] = match op {
            S3Op::PutObject | S3Op::CopyObject | S3Op::CompleteMultipartUpload => {
                &[IF_MATCH, IF_NONE_MATCH]
            }
            S3Op::DeleteObject => &[IF_MATCH, IF_MATCH_SIZE, IF_MATCH_LAST_MODIFIED_TIME],
            _ => return None,
        };
        let action = match op {
            S3Op::DeleteObject => "delete",
            _ => "write",
        };
        for name in names {
            let mut values = headers.get_all(name).iter();
            let Some(value) = values.next() else {
                continue;
            };
            let value = value.as_bytes().trim_ascii();
            if name == IF_NONE_MATCH && value != b"*" {
                return Some(S3Error::new(
                    S3ErrorCode::NotImplemented,
                    format!(
                        "A {} takes only If-None-Match: *, so the proxy refuses this request.",
                        op.as_str()
                    ),
                ));
            }
            let listed = name == IF_MATCH && value.contains(&b',');
            if values.next().is_some() || value.is_empty() || listed {
                return Some(S3Error::new(
                    S3ErrorCode::InvalidArgument,
                    format!(
                        "The {} condition of a {} must be one value; stores read an empty, repeated or listed one differently.",
                        name.as_str(),
                        op.as_str()
                    ),
                ));
            }
            if !self.applies(op, name) {
                let condition = format!("{} condition of a {}", name.as_str(), op.as_str());
                return Some(self.condition_refusal(&condition, action));
            }
        }
        None
    }

    /// A PutObject that appends (`x-amz-write-offset-bytes`, S3 Express One Zone's
    /// append): no supported store implements it, and each of SeaweedFS 4.48, Ceph RGW
    /// 16.2 and Garage 2.5 stores the body as the whole object instead, replacing what
    /// was there. Refused on every store.
    pub fn append_refusal(op: S3Op, headers: &HeaderMap) -> Option<S3Error> {
        (op == S3Op::PutObject && headers.contains_key(WRITE_OFFSET_BYTES)).then(|| {
            S3Error::new(
                S3ErrorCode::NotImplemented,
                "Appending with x-amz-write-offset-bytes is not implemented by the supported stores, which store the body as the whole object, replacing it, so the proxy refuses this request.",
            )
            .with_reason(Reason::StoreRefusal)
        })
    }

    /// The conditions a DeleteObjects entry may carry (`<ETag>`, `<LastModifiedTime>`,
    /// `<Size>`, as elements of the list) that this store ignores, deleting the object
    /// unconditionally: SeaweedFS 4.48 applies `ETag` only, Ceph RGW 16.2 and Garage 2.5
    /// none; a generic store and MinIO are trusted with none.
    pub fn ignored_entry_conditions(self) -> &'static [&'static str] {
        match self {
            Self::Seaweedfs => &["LastModifiedTime", "Size"],
            _ => &["ETag", "LastModifiedTime", "Size"],
        }
    }

    /// The refusal of a DeleteObjects list with an entry condition `element` that
    /// [`Self::ignored_entry_conditions`] names.
    pub fn entry_condition_refusal(self, element: &str) -> S3Error {
        self.condition_refusal(
            &format!("<{element}> condition of a DeleteObjects entry"),
            "delete",
        )
    }

    fn condition_refusal(self, condition: &str, action: &str) -> S3Error {
        let message = match self.release() {
            Some(store) => format!(
                "{store} ignores the {condition} and would {action} unconditionally, so the proxy refuses this request."
            ),
            None => format!(
                "This store (upstream.store = \"{}\") is not known to apply the {condition}; it could {action} unconditionally, so the proxy refuses this request.",
                self.as_str()
            ),
        };
        S3Error::new(S3ErrorCode::NotImplemented, message).with_reason(Reason::StoreRefusal)
    }

    /// Whether this store was shown to apply the write condition `name` to `op`.
    fn applies(self, op: S3Op, name: &HeaderName) -> bool {
        match (self, op) {
            (
                Self::Seaweedfs,
                S3Op::PutObject | S3Op::CopyObject | S3Op::CompleteMultipartUpload,
            ) => true,
            (Self::Seaweedfs, S3Op::DeleteObject) => name == IF_MATCH,
            (Self::Rgw, S3Op::PutObject) => name == IF_MATCH,
            (Self::Minio, S3Op::PutObject | S3Op::CompleteMultipartUpload) => true,
            _ => false,
        }
    }

    /// The release whose behaviour was probed, as messages name it.
    fn release(self) -> Option<&'static str> {
        match self {
            Self::Rgw => Some("Ceph RGW 16.2"),
            Self::Seaweedfs => Some("SeaweedFS 4.48"),
            Self::Garage => Some("Garage 2.5"),
            Self::Generic | Self::Minio => None,
        }
    }

    /// How resign mode performs a copy with SSE-C on this store: as the store does it,
    /// after checking the source key, or as requests of the proxy's own.
    pub fn copy_plan(self, op: S3Op, checked: &Checked) -> CopyPlan {
        let sse_c = checked.destination.is_some() || checked.source.is_some();
        match (self, op) {
            // RGW 16.2: plaintext at rest into SSE-C destinations, 501 for SSE-C sources.
            (Self::Rgw, S3Op::CopyObject) if sse_c => CopyPlan::Stream,
            // RGW 16.2: the source decrypted with the upload's key.
            (Self::Rgw, S3Op::UploadPartCopy)
                if checked
                    .source
                    .is_some_and(|s| checked.destination.is_none_or(|d| !d.matches(&s))) =>
            {
                CopyPlan::Stream
            }
            // SeaweedFS 4.48: plaintext into SSE-C uploads, 501 for SSE-C sources.
            (Self::Seaweedfs, S3Op::UploadPartCopy) if sse_c => CopyPlan::Stream,
            // SeaweedFS 4.48 copies with any source key: garbage, or a 500.
            (Self::Seaweedfs, S3Op::CopyObject) if checked.source.is_some() => {
                CopyPlan::VerifySource
            }
            _ => CopyPlan::Native,
        }
    }

    /// A request this store is known to mishandle in a way that leaves plaintext or
    /// undecryptable data, or to read as another operation (a bucket configuration it
    /// does not implement): refused before it reaches the store. `resign`: the proxy can
    /// make requests of its own, and performs the copies of [`Store::copy_plan`] itself.
    pub fn refusal(self, op: S3Op, checked: &Checked, resign: bool) -> Option<S3Error> {
        if resign && self.copy_plan(op, checked) != CopyPlan::Native {
            return None;
        }
        let reason = match (self, op) {
            // Stores plain→SSE-C copies in plaintext; answers 501 for SSE-C sources.
            (Self::Rgw, S3Op::CopyObject)
                if checked.destination.is_some() || checked.source.is_some() =>
            {
                "Ceph RGW 16.2 stores a CopyObject into an SSE-C destination in plaintext and cannot copy an SSE-C source"
            }
            // Decrypts the copy source with the destination key, ignoring the source key.
            (Self::Rgw, S3Op::UploadPartCopy)
                if checked
                    .source
                    .is_some_and(|s| checked.destination.is_none_or(|d| !d.matches(&s))) =>
            {
                "Ceph RGW 16.2 decrypts an UploadPartCopy source with the upload's key, not the copy-source key"
            }
            // Writes plain sources into SSE-C uploads in plaintext; 501 for SSE-C sources.
            (Self::Seaweedfs, S3Op::UploadPartCopy)
                if checked.destination.is_some() || checked.source.is_some() =>
            {
                "SeaweedFS 4.48 stores an UploadPartCopy into an SSE-C upload in plaintext and cannot copy an SSE-C source"
            }
            // With a wrong source key it writes the wrongly decrypted bytes as a plain object.
            (Self::Seaweedfs, S3Op::CopyObject)
                if checked.source.is_some() && checked.destination.is_none() =>
            {
                "SeaweedFS 4.48 writes undecryptable data when a copy from an SSE-C source to a plain destination has the wrong key; copy to an SSE-C destination instead"
            }
            // Bucket configurations a store does not implement: it reads the request as
            // the bucket's own (a listing, with the store's ETags, past opaque mode).
            (
                Self::Rgw,
                S3Op::GetBucketConfig(sub)
                | S3Op::PutBucketConfig(sub)
                | S3Op::DeleteBucketConfig(sub),
            ) if RGW_UNREAD_CONFIGS.contains(&sub) => {
                "Ceph RGW 16.2 does not implement this bucket configuration and reads the request as a ListObjects, CreateBucket or DeleteBucket"
            }
            (Self::Seaweedfs, S3Op::PutBucketConfig(sub) | S3Op::DeleteBucketConfig(sub))
                if SEAWEEDFS_UNREAD_CONFIGS.contains(&sub) =>
            {
                "SeaweedFS 4.48 does not implement this bucket configuration and reads a PUT or DELETE of it as a CreateBucket or DeleteBucket"
            }
            (Self::Seaweedfs, S3Op::GetBucketConfig(BucketSub::MetadataTable)) => {
                "SeaweedFS 4.48 does not implement the bucket's metadataTable configuration and reads a GET of it with listing parameters as a ListObjectsV2"
            }
            (
                Self::Garage,
                S3Op::GetBucketConfig(BucketSub::MetadataTable)
                | S3Op::PutBucketConfig(BucketSub::MetadataTable)
                | S3Op::DeleteBucketConfig(BucketSub::MetadataTable),
            ) => {
                "Garage 2.5 does not implement the bucket's metadataTable configuration and reads the request as a ListObjects, CreateBucket or DeleteBucket"
            }
            // No store here has RenameObject; RGW 16.2 stores the body as a PutObject.
            (_, S3Op::RenameObject) => {
                "RenameObject is not implemented by the supported stores (Ceph RGW 16.2 stores the request body as a PutObject)"
            }
            _ => return None,
        };
        Some(
            S3Error::new(
                S3ErrorCode::NotImplemented,
                format!("{reason}, so the proxy refuses this request."),
            )
            .with_reason(Reason::StoreRefusal),
        )
    }

    /// An object key this store would read as something else. SeaweedFS 4.48 cleans the
    /// path: `a//b` and `a\b` are written and read as `a/b` (overwriting it), `/k` as
    /// `k`, and `/` as an object named after the bucket. It also keeps the parts of
    /// multipart uploads as objects `.uploads/<upload id>/NNNN_….part` of the bucket,
    /// so an object written there becomes a part of that upload without the upload's
    /// key (read: another client's part). Garage 2.5 stores `/k` as `k` and reads `/`
    /// as the bucket. Refused for every operation, as target, copy source or form key,
    /// with or without SSE-C: one interpretation, or refusal.
    pub fn key_refusal(self, key: &str) -> Option<S3Error> {
        let message = match self {
            Self::Seaweedfs if key.contains("//") => {
                "SeaweedFS 4.48 stores an object key with \"//\" under the key with \"/\", so the proxy refuses this request."
            }
            Self::Seaweedfs if key.contains('\\') => {
                "SeaweedFS 4.48 stores an object key with \"\\\" under the key with \"/\", so the proxy refuses this request."
            }
            Self::Seaweedfs if in_uploads_folder(key) => {
                "SeaweedFS 4.48 keeps the parts of multipart uploads as objects under \".uploads/\" in the bucket, where an object written joins an upload unchecked, so the proxy refuses object keys there."
            }
            Self::Seaweedfs if key.starts_with('/') => {
                "SeaweedFS 4.48 stores an object key that starts with \"/\" without it (the key \"/\" as an object named after the bucket), so the proxy refuses this request."
            }
            Self::Garage if key.starts_with('/') => {
                "Garage 2.5 stores an object key that starts with \"/\" without it, and reads the key \"/\" as the bucket itself, so the proxy refuses this request."
            }
            _ => return None,
        };
        Some(S3Error::new(S3ErrorCode::NotImplemented, message).with_reason(Reason::StoreRefusal))
    }

    /// A request at a path this store answers itself instead of as S3. SeaweedFS 4.48
    /// answers GET, HEAD and OPTIONS at `/status`, `/healthz` and `/readyz` (any query)
    /// with an empty 200 of its own: a HeadBucket, ListObjects or GetBucketLocation of a
    /// bucket of that name (or, virtual-hosted, a GetObject of such a key) would be
    /// answered with a success that says nothing about the bucket. `path`: the raw path
    /// the store is sent (dot segments and `//` are refused before this); SeaweedFS
    /// routes on the decoded path, so `/st%61tus` is its health check too.
    pub fn path_refusal(self, method: &Method, path: &str) -> Option<S3Error> {
        let own = |path: &str| SEAWEEDFS_OWN_PATHS.contains(&path);
        let health = self == Self::Seaweedfs
            && matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
            && (own(path)
                // Decoded only when it could spell one: each byte is at most three.
                || path.contains('%')
                    && path.len() <= 3 * SEAWEEDFS_OWN_PATHS.iter().map(|p| p.len()).max().unwrap_or(0)
                    && super::strict::decode(path).is_ok_and(|decoded| own(&decoded)));
        health.then(|| {
            S3Error::new(
                S3ErrorCode::NotImplemented,
                "SeaweedFS 4.48 answers GET, HEAD and OPTIONS at /status, /healthz and /readyz with its own health check, not as a request for the bucket or object of that name, so the proxy refuses this request.",
            )
            .with_reason(Reason::StoreRefusal)
        })
    }

    /// An `x-amz-copy-source` this store reads as another object. Garage 2.5 has no
    /// versions and decodes the whole value as the source's name: `/b/k?versionId=v`
    /// is the object `k?versionId=v` to it, while S3 (and the proxy's checks) read
    /// version `v` of `k`. A raw `?` in it is refused (`%3F` names the same key to both).
    pub fn copy_source_refusal(self, value: &str) -> Option<S3Error> {
        (self == Self::Garage && value.contains('?')).then(|| {
            S3Error::new(
                S3ErrorCode::NotImplemented,
                "Garage 2.5 reads x-amz-copy-source whole, a \"?\" and what follows as part of the source's key (it has no versions), so the proxy refuses a copy source with \"?\"; encode a \"?\" of the key as %3F.",
            )
            .with_reason(Reason::StoreRefusal)
        })
    }

    /// A write to an object key that ends with `/`, which SeaweedFS 4.48 keeps as a
    /// folder: a PutObject's data is dropped (an empty folder object stays, with no SSE-C
    /// echo), a CopyObject stores nothing, and a multipart upload completes under the
    /// key with its last segment repeated (`a/` as `a/a`). Only what the store does make
    /// passes: the folder object, an empty PutObject without SSE-C (`folder_object`).
    /// Reads, deletes and aborts are not refused.
    pub fn folder_refusal(self, op: S3Op, key: &str, folder_object: bool) -> Option<S3Error> {
        let write = match op {
            S3Op::PutObject => !folder_object,
            // The parts and completion of an upload at such a key (one made at the store
            // itself: the proxy refuses to create it) write there too.
            S3Op::CopyObject
            | S3Op::CreateMultipartUpload
            | S3Op::UploadPart
            | S3Op::UploadPartCopy
            | S3Op::CompleteMultipartUpload
            | S3Op::PostObject => true,
            _ => false,
        };
        if self != Self::Seaweedfs || !write || !key.ends_with('/') {
            return None;
        }
        Some(
            S3Error::new(
                S3ErrorCode::NotImplemented,
                "SeaweedFS 4.48 keeps an object key that ends with \"/\" as a folder and does not store the data written to it (only an empty PutObject without SSE-C makes the folder), so the proxy refuses this request.",
            )
            .with_reason(Reason::StoreRefusal),
        )
    }

    /// A listing parameter (`prefix`, `start-after`, `continuation-token`, `marker`,
    /// `key-marker`) that enters the store's own folder: SeaweedFS 4.48 hides
    /// `.uploads/` from listings, except to one that starts inside it (ignoring empty
    /// segments: `//.uploads/` too), which shows the parts of uploads (names, sizes,
    /// ETags) — a `start-after` or raw continuation token of `.uploads/` shows every
    /// upload's.
    pub fn listing_refusal(self, value: &str) -> Option<S3Error> {
        if self != Self::Seaweedfs {
            return None;
        }
        if !in_uploads_folder(value) {
            return None;
        }
        Some(
            S3Error::new(
                S3ErrorCode::NotImplemented,
                "SeaweedFS 4.48 lists the parts of multipart uploads to a listing that starts inside \".uploads/\", so the proxy refuses this listing.",
            )
            .with_reason(Reason::StoreRefusal),
        )
    }

    /// Whether the keys of a DeleteObjects body must go through [`Self::key_refusal`]
    /// before the store sees them (SeaweedFS deletes parts of other uploads by name).
    pub fn checks_deleted_keys(self) -> bool {
        self == Self::Seaweedfs
    }

    /// Whether the store was shown to read an aws-chunked body with a checksum trailer
    /// (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`) and keep the checksum, so resign mode can
    /// pass on a checksum a client sent as a trailer. Ceph RGW 16.2 cannot (it answers
    /// 411 or 400); `generic` and `minio` get the plain body every store reads.
    pub fn takes_trailer_checksums(self) -> bool {
        matches!(self, Self::Seaweedfs | Self::Garage)
    }

    /// Whether the store was shown to check the body of `op` against the
    /// `x-amz-checksum-*` header or trailer it announces, and to write nothing when they
    /// differ. SeaweedFS 4.48 and Garage 2.5 do (400 `BadDigest` / `InvalidDigest`) for
    /// the plain and aws-chunked bodies of PutObject and UploadPart, and for no other
    /// operation (a DeleteObjects list with a wrong checksum is run). Ceph RGW 16.2
    /// ignores the header on PutObject and UploadPart, plain or aws-chunked (200, the body
    /// kept as sent); MinIO, not run here, and `generic` are not relied on. Where the
    /// store is not, passthrough checks the body itself (`layers::payload`,
    /// `layers::aws_chunked`), as resign mode does everywhere.
    pub fn checks_checksums(self, op: S3Op) -> bool {
        matches!(self, Self::Seaweedfs | Self::Garage)
            && matches!(op, S3Op::PutObject | S3Op::UploadPart)
    }

    /// Whether the store was shown to check the body of `op` against its `Content-MD5`
    /// (400 `BadDigest`, nothing written): SeaweedFS 4.48, Ceph RGW 16.2 and Garage 2.5
    /// do for PutObject and UploadPart and for no other operation (a DeleteObjects list
    /// or a PutObjectTagging with a wrong one is run). The proxy checks the others.
    pub fn checks_content_md5(self, op: S3Op) -> bool {
        !matches!(self, Self::Generic | Self::Minio)
            && matches!(op, S3Op::PutObject | S3Op::UploadPart)
    }

    /// A CompleteMultipartUpload asking for a check its store would not make, `501
    /// NotImplemented`: the store would make the object anyway, and only the store could
    /// make the check.
    /// * The whole object's checksum (`x-amz-checksum-crc32`, …): Garage 2.5 checks it
    ///   (400 `InvalidDigest`, no object) for the algorithms the proxy knows, and ignores
    ///   others (`x-amz-checksum-sha512`); SeaweedFS 4.48 only for an upload created with
    ///   a checksum algorithm, which a completion does not show (200 otherwise, the object
    ///   made); Ceph RGW 16.2 never.
    /// * The object's size (`x-amz-mp-object-size`, which AWS compares with the parts'
    ///   total, 400 `InvalidRequest` when they differ): SeaweedFS 4.48, Ceph RGW 16.2 and
    ///   Garage 2.5 all ignore it (200, the object made whatever its size); MinIO and
    ///   `generic` are not relied on.
    pub fn completion_refusal(self, op: S3Op, headers: &HeaderMap) -> Option<S3Error> {
        if op != S3Op::CompleteMultipartUpload {
            return None;
        }
        let size = MP_OBJECT_SIZE;
        let name = if headers.contains_key(&size) {
            size.as_str()
        } else {
            // Garage checks the algorithms it knows, which are the proxy's.
            headers.keys().map(HeaderName::as_str).find(|name| {
                name.strip_prefix("x-amz-checksum-")
                    .is_some_and(|rest| !matches!(rest, "type" | "algorithm" | "mode"))
                    && !(self == Self::Garage && Algorithm::from_header(name.as_bytes()).is_some())
            })?
        };
        let condition = format!("{name} of a CompleteMultipartUpload");
        Some(self.condition_refusal(&condition, "complete the upload"))
    }

    /// Whether an aws-chunked body must be named in `Content-Encoding`: Garage refuses a
    /// `Content-Encoding` without `aws-chunked` on a streaming upload (400 "content-encoding
    /// does not contain aws-chunked") and does not keep it; SeaweedFS reads the framing from
    /// `x-amz-content-sha256` alone and keeps whatever coding it is sent as the object's.
    pub fn names_aws_chunked(self) -> bool {
        self == Self::Garage
    }

    /// Whether a successful SSE-C write of `op` must carry the store's echo of the
    /// algorithm and key MD5. Exempt only where the store never echoes yet was shown
    /// to encrypt (each exemption has a test checking the data at rest).
    pub fn confirms(self, op: S3Op) -> bool {
        let writes = matches!(
            op,
            S3Op::PutObject
                | S3Op::PostObject
                | S3Op::CreateMultipartUpload
                | S3Op::UploadPart
                | S3Op::UploadPartCopy
                | S3Op::CopyObject
        );
        let exempt = match self {
            Self::Seaweedfs => matches!(op, S3Op::CreateMultipartUpload | S3Op::CopyObject),
            Self::Rgw => matches!(op, S3Op::UploadPartCopy | S3Op::PostObject),
            Self::Generic | Self::Minio | Self::Garage => false,
        };
        writes && !exempt
    }

    /// Whether a failed `op` may need translating (the caller then reads the error):
    /// the reads that take the object's key (GetObjectAttributes is a GetObject to RGW
    /// 16.2 and Garage, GetObjectTorrent one to SeaweedFS), so that a read under a
    /// previous injected key is known as such and tried again.
    pub fn translates(self, op: S3Op) -> bool {
        matches!(self, Self::Rgw | Self::Seaweedfs | Self::Garage)
            && matches!(
                op,
                S3Op::GetObject
                    | S3Op::HeadObject
                    | S3Op::GetObjectAttributes
                    | S3Op::GetObjectTorrent
            )
    }

    /// AWS's answer for a store error that means the same thing in other words.
    ///
    /// `keyed` says whether the request carried an SSE-C key the proxy validated (so an
    /// MD5 complaint can only mean the wrong key). `code`/`message` are `None` for HEAD.
    pub fn translate(
        self,
        op: S3Op,
        keyed: bool,
        status: u16,
        code: Option<&str>,
        message: Option<&str>,
    ) -> Option<S3Error> {
        if !self.translates(op) {
            return None;
        }
        let md5_text =
            "The calculated MD5 hash of the key did not match the hash that was provided.";
        match (self, keyed, status, code) {
            // RGW compares the key's MD5 with the stored one: a validated key that
            // fails it is the wrong key (spec S2).
            (Self::Rgw, true, 400, None) => Some(ssec::wrong_key()),
            (Self::Rgw, true, 400, Some("InvalidArgument")) if message == Some(md5_text) => {
                Some(ssec::wrong_key())
            }
            // SeaweedFS says 403 "Access Denied." for the wrong key; its HEAD (no body to
            // read) says 403 too, with the object's ETag and Last-Modified, which AWS's
            // bare answer does not carry (the same for no key, below).
            (Self::Seaweedfs, true, 403, Some("AccessDenied") | None) => Some(ssec::wrong_key()),
            // No key for an SSE-C object (spec S1).
            (Self::Rgw | Self::Seaweedfs, false, 400, Some("InvalidArgument"))
                if message.is_some_and(|m| m.starts_with("Requests specifying Server Side Encryption with Customer provided keys must provide")) =>
            {
                Some(ssec::object_encrypted())
            }
            // SeaweedFS's HEAD without a key says 400, with the object's ETag and
            // Last-Modified.
            (Self::Seaweedfs, false, 400, None) => Some(ssec::object_encrypted()),
            // Garage says 400 InvalidRequest for all three, in words of its own (spec
            // S1, S2, S4). Its HEAD answers are a bare 400 for both S2 and S4, which
            // AWS tells apart (403, 400): those stay as the store sent them.
            (Self::Garage, false, 400, Some("InvalidRequest"))
                if message == Some("Bad request: Object is encrypted") =>
            {
                Some(ssec::object_encrypted())
            }
            (Self::Garage, true, 400, Some("InvalidRequest"))
                if message.is_some_and(|m| {
                    m.starts_with("Bad request: Invalid encryption key, could not decrypt")
                }) =>
            {
                Some(ssec::wrong_key())
            }
            (Self::Garage, true, 400, Some("InvalidRequest"))
                if message == Some("Bad request: Trying to decrypt a plaintext object") =>
            {
                Some(ssec::not_encrypted())
            }
            _ => None,
        }
    }
}

/// Bucket configurations Ceph RGW 16.2 answers as the bucket itself: a GET as a
/// ListObjects, a PUT as a CreateBucket, a DELETE as a DeleteBucket (seen on the store).
const RGW_UNREAD_CONFIGS: [BucketSub; 8] = [
    BucketSub::Accelerate,
    BucketSub::Analytics,
    BucketSub::Encryption,
    BucketSub::IntelligentTiering,
    BucketSub::Inventory,
    BucketSub::MetadataTable,
    BucketSub::Metrics,
    BucketSub::OwnershipControls,
];

/// Bucket configurations SeaweedFS 4.48 answers a PUT of as a CreateBucket and a DELETE
/// of as a DeleteBucket (seen on the store; of their GETs, only `metadataTable`'s with
/// `list-type=2` answers a listing).
const SEAWEEDFS_UNREAD_CONFIGS: [BucketSub; 10] = [
    BucketSub::Accelerate,
    BucketSub::Analytics,
    BucketSub::IntelligentTiering,
    BucketSub::Inventory,
    BucketSub::Logging,
    BucketSub::MetadataTable,
    BucketSub::Metrics,
    BucketSub::Notification,
    BucketSub::Replication,
    BucketSub::Website,
];

/// A store recognised from an answer of its own: which one, and what gave it away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identified {
    /// The store.
    pub store: Store,
    /// What identified it: a header as the store sent it, or the words of its error (no
    /// request data).
    pub evidence: String,
}

/// Recognises the store from an answer to the readiness probe's unauthenticated `GET /`:
/// its headers and the start of its body. Only signs seen on the stores this project
/// tests against count: SeaweedFS names itself in `Server`; Ceph RGW sends no `Server`
/// but numbers requests `tx<hex>-<hex>-<hex>-<zonegroup>`; Garage sends neither and
/// refuses the request in words naming itself. Anything else is `None`, and the proxy
/// stays `generic`.
pub fn identify(headers: &http::HeaderMap, body: &[u8]) -> Option<Identified> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(server) = text("server")
        && server.starts_with("SeaweedFS")
    {
        return Some(Identified {
            store: Store::Seaweedfs,
            evidence: format!("Server: {}", bounded(server)),
        });
    }
    if let Some(id) = text("x-amz-request-id")
        && text("server").is_none()
        && rgw_transaction_id(id)
    {
        return Some(Identified {
            store: Store::Rgw,
            evidence: format!(
                "x-amz-request-id: {} (Ceph RGW transaction id)",
                bounded(id)
            ),
        });
    }
    const GARAGE: &[u8] = b"<Message>Forbidden: Garage does not support anonymous access";
    if text("server").is_none()
        && text("x-amz-request-id").is_none()
        && body.windows(GARAGE.len()).any(|w| w == GARAGE)
    {
        return Some(Identified {
            store: Store::Garage,
            evidence: "its error message \"Garage does not support anonymous access\"".into(),
        });
    }
    None
}

/// `tx` + 21 hex digits, then `-<10 hex>-<hex>-<zonegroup>` (RGW's transaction id).
fn rgw_transaction_id(id: &str) -> bool {
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    let Some(rest) = id.strip_prefix("tx") else {
        return false;
    };
    let mut parts = rest.splitn(4, '-');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(seq), Some(time), Some(instance), Some(zonegroup)) => {
            seq.len() == 21
                && hex(seq)
                && time.len() == 10
                && hex(time)
                && hex(instance)
                && !zonegroup.is_empty()
                && zonegroup
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        }
        _ => false,
    }
}

/// At most 80 printable characters of a header value, for a log line.
fn bounded(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).take(80).collect()
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
