//! The credential table of `auth.mode = "resign"` (DESIGN "Two auth modes"): the
//! clients' secret keys and bucket scopes by access key, the store's credentials and
//! the binding key, read from the files `[auth]` and `[upstream.credentials]` name.
//! Loaded at start and by every reload; requests read the current snapshot through
//! [`LiveCredentials`] without locking.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwapOption;

use crate::config::{BucketScope, MIN_CLIENT_SECRET, ResignSettings, SecretSource};
use crate::secret::{Key32, Secret, SecretError, read_key32, read_secret_access_key};

/// The running credential table, swapped whole by a reload; `None` in passthrough mode.
/// One atomic load per request: `live.load().as_ref()?.client(access_key)`.
pub type LiveCredentials = Arc<ArcSwapOption<Credentials>>;

/// Everything resign mode signs and verifies with, as read from the files at one moment.
#[derive(Debug, PartialEq)]
pub struct Credentials {
    region: String,
    binding_key: Option<Key32>,
    clients: HashMap<String, ClientCredential>,
    store: StoreCredential,
}

/// What a client's access key gives: the secret to verify its signatures with and the
/// buckets it may use.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientCredential {
    /// The client's secret access key.
    pub secret: Secret,
    /// `auth.clients[].buckets`.
    pub buckets: BucketScope,
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
            };
            // Access keys are unique: the configuration refuses a repeated one.
            clients.insert(client.access_key.clone(), credential);
        }
        let store = &settings.store;
        Ok(Self {
            region: settings.region.clone(),
            binding_key,
            clients,
            store: StoreCredential {
                access_key: store.access_key.clone(),
                secret: secret(&store.secret, "upstream.credentials.secret_key_file", 1)?,
                region: store.region.clone(),
            },
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

    /// `auth.binding_key_file`'s key, if configured.
    pub fn binding_key(&self) -> Option<&Key32> {
        self.binding_key.as_ref()
    }

    /// `[upstream.credentials]`.
    pub fn store(&self) -> &StoreCredential {
        &self.store
    }
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
