//! The credential table of `auth.mode = "resign"` (DESIGN "Two auth modes"): the
//! clients' secret keys and bucket scopes by access key, the store's credentials and
//! the binding key, read from the files `[auth]` and `[upstream.credentials]` name.
//! Loaded at start and by every reload; requests read the current snapshot through
//! [`LiveCredentials`] without locking.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwapOption;

use crate::config::{BucketScope, MIN_CLIENT_SECRET, ResignSettings, SecretSource};
use crate::inject::{BucketKeys, InjectTable, SsecKey};
use crate::s3::opaque::OpaqueEtags;
use crate::s3::sigv4::{self, CredentialStore, SecretKey, SigningKey, Verifier};
use crate::secret::{Key32, Secret, SecretError, read_key32, read_secret_access_key};
use crate::uploads::binding::Binder;

/// The running credential table, swapped whole by a reload; `None` in passthrough mode.
/// One atomic load per request: `live.load().as_ref()?.client(access_key)`.
pub type LiveCredentials = Arc<ArcSwapOption<Credentials>>;

/// Everything resign mode signs and verifies with, as read from the files at one moment.
#[derive(Debug)]
pub struct Credentials {
    region: String,
    binding_key: Option<Key32>,
    /// Upload IDs bound with `binding_key`.
    binder: Option<Binder>,
    /// `[etag] mode = "opaque"`'s permutation, keyed with `binding_key`.
    etags: Option<Arc<OpaqueEtags>>,
    clients: HashMap<String, ClientCredential>,
    store: StoreCredential,
    /// Checks clients' signatures for `region`.
    verifier: Verifier,
    /// Key injection's keys by bucket rule.
    inject: InjectTable,
    /// Which load this is: signing keys derived from another table are not reused.
    generation: u64,
}

/// Two tables are the same when they hold the same settings and secrets, whenever
/// they were read (a reload that changes nothing keeps the running table).
impl PartialEq for Credentials {
    fn eq(&self, other: &Self) -> bool {
        self.region == other.region
            && self.binding_key == other.binding_key
            && self.clients == other.clients
            && self.store == other.store
            && self.inject == other.inject
    }
}

/// Tells the loads of the table apart.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Signing keys each worker thread derived, by whose key, day and region: deriving one
/// is four HMAC-SHA256s, twice per request (the client's and the store's), and it
/// changes once a day. Per thread, so no lock on the request path; emptied when the
/// table is replaced, and when full.
struct KeyCache {
    generation: u64,
    keys: Vec<(String, String, String, SigningKey)>,
}

/// Most signing keys a thread keeps (clients × days × regions in use).
const MAX_CACHED_KEYS: usize = 64;

thread_local! {
    static SIGNING_KEYS: RefCell<KeyCache> = const {
        RefCell::new(KeyCache { generation: u64::MAX, keys: Vec::new() })
    };
}

/// The cache's name for the store's key (access keys never contain a NUL).
const STORE: &str = "\0store";

/// What a client's access key gives: the secret to verify its signatures with and the
/// buckets it may use.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientCredential {
    /// The client's secret access key.
    pub secret: Secret,
    /// `auth.clients[].buckets`.
    pub buckets: BucketScope,
    /// `auth.clients[].manage_access`.
    pub manage_access: bool,
}

/// What the proxy signs for the store with.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreCredential {
    /// `upstream.credentials.access_key`.
    pub access_key: String,
    /// The store's secret access key.
    pub secret: Secret,
    /// `upstream.credentials.region`.
    pub region: String,
}

impl Credentials {
    /// Reads every secret `settings` names (files, or inline values); the first file
    /// that cannot be used is named with its key path.
    pub fn load(settings: &ResignSettings) -> Result<Self, SecretError> {
        let binding_key = settings
            .binding_key_file
            .as_deref()
            .map(|file| read_key32(file, "auth.binding_key_file"))
            .transpose()?;
        let mut clients = HashMap::with_capacity(settings.clients.len());
        for (i, client) in settings.clients.iter().enumerate() {
            let key = format!("auth.clients[{i}].secret_key_file");
            let credential = ClientCredential {
                secret: secret(&client.secret, &key, MIN_CLIENT_SECRET)?,
                buckets: client.buckets.clone(),
                manage_access: client.manage_access,
            };
            // Access keys are unique: the configuration refuses a repeated one.
            clients.insert(client.access_key.clone(), credential);
        }
        let mut inject = Vec::with_capacity(settings.bucket_keys.len());
        for (i, rule) in settings.bucket_keys.iter().enumerate() {
            let keys = match &rule.files {
                None => None,
                Some(files) => {
                    let at = |name: &str| format!("ssec.buckets[{i}].{name}");
                    let current = SsecKey::new(read_key32(&files.current, &at("inject_key_file"))?);
                    let mut previous = Vec::with_capacity(files.previous.len());
                    for (j, file) in files.previous.iter().enumerate() {
                        let key = read_key32(file, &at(&format!("previous_key_files[{j}]")))?;
                        previous.push(SsecKey::new(key));
                    }
                    Some(Arc::new(BucketKeys {
                        current,
                        previous,
                        derive: files.derive_per_object,
                    }))
                }
            };
            inject.push((rule.pattern.clone(), keys));
        }
        let store = &settings.store;
        Ok(Self {
            inject: InjectTable::new(inject),
            region: settings.region.clone(),
            binder: binding_key.as_ref().map(|k| Binder::new(k.expose())),
            etags: binding_key
                .as_ref()
                .and_then(|k| OpaqueEtags::new(k.expose()))
                .map(Arc::new),
            binding_key,
            clients,
            store: StoreCredential {
                access_key: store.access_key.clone(),
                secret: secret(&store.secret, "upstream.credentials.secret_key_file", 1)?,
                region: store.region.clone(),
            },
            verifier: Verifier::new(settings.region.clone()),
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The verifier of clients' signatures (`auth.region`, service `s3`).
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The signing key of client `access_key` for `date` and `region` (service `s3`).
    pub fn client_signing_key(
        &self,
        access_key: &str,
        date: &str,
        region: &str,
    ) -> Option<SigningKey> {
        self.cached(access_key, date, region, || {
            let client = self.client(access_key)?;
            Some(derive(&client.secret, date, region))
        })
    }

    /// The signing key of the store's credentials for `date` (in the store's region).
    pub fn store_signing_key(&self, date: &str) -> SigningKey {
        let region = &self.store.region;
        let derived = self.cached(STORE, date, region, || {
            Some(derive(&self.store.secret, date, region))
        });
        derived.unwrap_or_else(|| derive(&self.store.secret, date, region))
    }

    /// The key `who` has for `date` and `region` in this thread's cache, or `make`'s.
    fn cached(
        &self,
        who: &str,
        date: &str,
        region: &str,
        make: impl FnOnce() -> Option<SigningKey>,
    ) -> Option<SigningKey> {
        SIGNING_KEYS.with_borrow_mut(|cache| {
            if cache.generation != self.generation || cache.keys.len() >= MAX_CACHED_KEYS {
                cache.keys.clear();
                cache.generation = self.generation;
            }
            let hit = cache
                .keys
                .iter()
                .find(|(w, d, r, _)| w == who && d == date && r == region);
            if let Some((.., key)) = hit {
                return Some(key.clone());
            }
            let key = make()?;
            cache.keys.push((
                who.to_owned(),
                date.to_owned(),
                region.to_owned(),
                key.clone(),
            ));
            Some(key)
        })
    }

    /// The client that signs with `access_key` (compared exactly, case included), if
    /// any.
    pub fn client(&self, access_key: &str) -> Option<&ClientCredential> {
        self.clients.get(access_key)
    }

    /// How many clients there are.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// `auth.region`: the region clients sign for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The keys injected into requests for `bucket` without SSE-C, if any.
    pub fn inject_keys(&self, bucket: &str) -> Option<&Arc<BucketKeys>> {
        self.inject.for_bucket(bucket)
    }

    /// Whether any bucket injects a key.
    pub fn injects(&self) -> bool {
        !self.inject.is_empty()
    }

    /// `auth.binding_key_file`'s key, if configured.
    pub fn binding_key(&self) -> Option<&Key32> {
        self.binding_key.as_ref()
    }

    /// The opaque-ETag permutation under `auth.binding_key_file`, when it is set.
    pub fn etags(&self) -> Option<&Arc<OpaqueEtags>> {
        self.etags.as_ref()
    }

    /// Multipart binding under `auth.binding_key_file`, when it is set.
    pub fn binder(&self) -> Option<&Binder> {
        self.binder.as_ref()
    }

    /// `[upstream.credentials]`.
    pub fn store(&self) -> &StoreCredential {
        &self.store
    }
}

impl CredentialStore for Credentials {
    fn secret_key(&self, access_key_id: &str) -> Option<SecretKey> {
        Some(secret_key(&self.client(access_key_id)?.secret))
    }

    fn signing_key(
        &self,
        access_key_id: &str,
        date: &str,
        region: &str,
        service: &str,
    ) -> Option<SigningKey> {
        if service != sigv4::SERVICE {
            let secret = self.secret_key(access_key_id)?;
            return Some(SigningKey::derive(&secret, date, region, service));
        }
        self.client_signing_key(access_key_id, date, region)
    }
}

/// `secret` as the signer takes it; secrets are checked to be visible ASCII when read.
fn secret_key(secret: &Secret) -> SecretKey {
    SecretKey::new(String::from_utf8_lossy(secret.expose()))
}

/// The S3 signing key of `secret` for `date` and `region`.
fn derive(secret: &Secret, date: &str, region: &str) -> SigningKey {
    SigningKey::derive(&secret_key(secret), date, region, sigv4::SERVICE)
}

/// The secret behind `source`; `key` names the file in errors.
fn secret(source: &SecretSource, key: &str, min_len: usize) -> Result<Secret, SecretError> {
    match source {
        SecretSource::File(file) => read_secret_access_key(file, key, min_len),
        SecretSource::Inline(secret) => Ok(secret.clone()),
    }
}

#[cfg(test)]
#[path = "credentials_tests.rs"]
mod tests;
