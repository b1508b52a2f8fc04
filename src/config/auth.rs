//! `[auth]`, `[[auth.clients]]` and `[upstream.credentials]` (DESIGN "Two auth modes",
//! "Configuration contract"): read as written, then checked across keys. The resign
//! keys need `auth.mode = "resign"` and are refused in passthrough mode rather than
//! ignored. Secrets are named by file; an inline `secret_key` is for tests (a warning).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use zeroize::Zeroizing;

use super::values::{AccessKey, BucketGlob, FilePath, Region};
use super::{AuthConfig, AuthMode};
use crate::secret::{Secret, secret_access_key};

/// `auth.region` when unset: what S3 clients sign for unless told otherwise.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Shortest secret key the proxy accepts for its own clients: they are the proxy's
/// credentials, chosen by the operator (AWS's are 40 characters).
pub const MIN_CLIENT_SECRET: usize = 16;

/// What `auth.mode = "resign"` reads from the configuration: who the clients are, where
/// their secrets are, and what the proxy signs for the store with. A reload applies it
/// (the secrets are read from the files by [`crate::credentials::Credentials::load`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ResignSettings {
    /// `auth.region`: the region clients sign for.
    pub region: String,
    /// `auth.binding_key_file`: 32 bytes that bind upload IDs and opaque ETags. Optional
    /// until a feature that needs it is configured; that feature requires it.
    pub binding_key_file: Option<PathBuf>,
    /// `[[auth.clients]]`, in file order, access keys unique.
    pub clients: Vec<ClientSettings>,
    /// `[upstream.credentials]`.
    pub store: StoreCredentialSettings,
    /// `[[ssec.buckets]]`' patterns with their key files, in file order; empty when no
    /// bucket injects a key.
    pub bucket_keys: Vec<BucketKeyFiles>,
}

/// One `[[ssec.buckets]]` entry as key injection reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct BucketKeyFiles {
    /// `bucket`: the first entry matching a bucket applies, as for the policy.
    pub pattern: glob::Pattern,
    /// `inject_key_file` and `previous_key_files`; `None` where the entry injects none.
    pub files: Option<InjectFiles>,
}

/// A bucket's key files.
#[derive(Clone, Debug, PartialEq)]
pub struct InjectFiles {
    /// `inject_key_file`: what requests without SSE-C get, and what writes use.
    pub current: PathBuf,
    /// `previous_key_files`: what reads try next when the store says the key is wrong.
    pub previous: Vec<PathBuf>,
    /// `inject_derive = "object"`: each object's key is derived from these
    /// ([`crate::inject::derive_object_key`]).
    pub derive_per_object: bool,
}

/// `inject_derive`: which key an object gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InjectDerive {
    /// The bucket's key itself (the default).
    #[default]
    Bucket,
    /// A key of its own, derived from the bucket's key, the bucket and the object key.
    Object,
}

/// One `[[auth.clients]]` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientSettings {
    /// `access_key`: the access key ID the client signs with.
    pub access_key: String,
    /// `secret_key_file` or `secret_key`.
    pub secret: SecretSource,
    /// `buckets`: the buckets the client may use.
    pub buckets: BucketScope,
    /// `manage_access`: whether the client may change who can reach data at the store
    /// (ACLs, bucket policies, public-access blocks, ownership controls).
    pub manage_access: bool,
}

/// `[upstream.credentials]`: what the proxy signs for the store with.
#[derive(Clone, Debug, PartialEq)]
pub struct StoreCredentialSettings {
    /// `access_key`.
    pub access_key: String,
    /// `secret_key_file` or `secret_key`.
    pub secret: SecretSource,
    /// `region`: the store's signing region; `auth.region` when unset.
    pub region: String,
}

/// Where a secret key comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum SecretSource {
    /// `secret_key_file`: read at start and on every reload.
    File(PathBuf),
    /// `secret_key`, written in the configuration (for tests; `validate` warns).
    Inline(Secret),
}

/// The buckets a client may use.
#[derive(Clone, Debug, PartialEq)]
pub enum BucketScope {
    /// `buckets` unset: every bucket.
    All,
    /// `buckets = [...]`: names or globs (`*`, `?`, `[…]`, as `ssec.buckets`), never empty.
    Only(Vec<glob::Pattern>),
}

impl BucketScope {
    /// Whether the client may use every bucket (`buckets` unset).
    pub fn allows_every_bucket(&self) -> bool {
        matches!(self, Self::All)
    }

    /// Whether the client may use `bucket`.
    pub fn allows(&self, bucket: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(patterns) => patterns.iter().any(|p| p.matches(bucket)),
        }
    }
}

/// `[auth]` as written.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthTable {
    #[serde(default)]
    mode: AuthMode,
    region: Option<Region>,
    binding_key_file: Option<FilePath>,
    clients: Option<Vec<ClientTable>>,
}

/// `[[auth.clients]]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientTable {
    access_key: AccessKey,
    secret_key_file: Option<FilePath>,
    secret_key: Option<InlineSecret>,
    buckets: Option<Vec<BucketGlob>>,
    #[serde(default)]
    manage_access: bool,
}

/// `[upstream.credentials]` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoreCredentialsTable {
    access_key: AccessKey,
    secret_key_file: Option<FilePath>,
    secret_key: Option<InlineSecret>,
    region: Option<Region>,
}

/// An inline `secret_key`: checked as a secret file's content is, never echoed.
#[derive(Deserialize)]
#[serde(try_from = "String")]
struct InlineSecret(Secret);

impl TryFrom<String> for InlineSecret {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let text = Zeroizing::new(text.into_bytes());
        secret_access_key(text.trim_ascii(), 1).map(Self)
    }
}

/// A problem found across keys: the key path and what is wrong.
pub(super) type KeyError = (String, String);

impl AuthTable {
    /// The restart-only `[auth]` and, in resign mode, the settings a reload applies;
    /// `store` is `[upstream.credentials]`, `dir` anchors relative paths.
    pub(super) fn build(
        self,
        store: Option<StoreCredentialsTable>,
        dir: Option<&Path>,
    ) -> Result<(AuthConfig, Option<ResignSettings>), KeyError> {
        let config = AuthConfig { mode: self.mode };
        match self.mode {
            AuthMode::Passthrough => {
                let set = [
                    ("auth.region", self.region.is_some()),
                    ("auth.binding_key_file", self.binding_key_file.is_some()),
                    ("auth.clients", self.clients.is_some()),
                    ("upstream.credentials", store.is_some()),
                ];
                match set.into_iter().find(|(_, set)| *set) {
                    Some((key, _)) => Err((
                        key.to_owned(),
                        "needs auth.mode = \"resign\" (the mode is \"passthrough\")".to_owned(),
                    )),
                    None => Ok((config, None)),
                }
            }
            AuthMode::Resign => Ok((config, Some(self.resign(store, dir)?))),
        }
    }

    fn resign(
        self,
        store: Option<StoreCredentialsTable>,
        dir: Option<&Path>,
    ) -> Result<ResignSettings, KeyError> {
        let region = self
            .region
            .map_or_else(|| DEFAULT_REGION.to_owned(), |Region(r)| r);
        let tables = self.clients.unwrap_or_default();
        if tables.is_empty() {
            return Err((
                "auth.clients".to_owned(),
                "auth.mode = \"resign\" needs at least one [[auth.clients]]".to_owned(),
            ));
        }
        let mut clients: Vec<ClientSettings> = Vec::with_capacity(tables.len());
        for (i, table) in tables.into_iter().enumerate() {
            let client = table.build(&format!("auth.clients[{i}]"), dir)?;
            if let Some(j) = clients
                .iter()
                .position(|c| c.access_key == client.access_key)
            {
                return Err((
                    format!("auth.clients[{i}].access_key"),
                    format!(
                        "`{}` is also auth.clients[{j}].access_key",
                        client.access_key
                    ),
                ));
            }
            clients.push(client);
        }
        let Some(store) = store else {
            return Err((
                "upstream.credentials".to_owned(),
                "is required with auth.mode = \"resign\": the proxy signs for the store with these"
                    .to_owned(),
            ));
        };
        Ok(ResignSettings {
            store: StoreCredentialSettings {
                access_key: store.access_key.0,
                secret: source(
                    "upstream.credentials",
                    store.secret_key_file,
                    store.secret_key,
                    1,
                    dir,
                )?,
                region: store.region.map_or_else(|| region.clone(), |Region(r)| r),
            },
            region,
            binding_key_file: self.binding_key_file.map(|p| p.resolve(dir)),
            clients,
            bucket_keys: Vec::new(),
        })
    }
}

impl ClientTable {
    /// The client at `path` (`auth.clients[0]`).
    fn build(self, path: &str, dir: Option<&Path>) -> Result<ClientSettings, KeyError> {
        let secret = source(
            path,
            self.secret_key_file,
            self.secret_key,
            MIN_CLIENT_SECRET,
            dir,
        )?;
        let buckets = match self.buckets {
            None => BucketScope::All,
            Some(list) if list.is_empty() => {
                return Err((
                    format!("{path}.buckets"),
                    "is empty, which allows no bucket; leave it out to allow every bucket"
                        .to_owned(),
                ));
            }
            Some(list) => BucketScope::Only(list.into_iter().map(|BucketGlob(g)| g).collect()),
        };
        Ok(ClientSettings {
            access_key: self.access_key.0,
            secret,
            buckets,
            manage_access: self.manage_access,
        })
    }
}

/// Exactly one of `{path}.secret_key_file` and `{path}.secret_key`; an inline secret of
/// at least `min_len` characters.
fn source(
    path: &str,
    file: Option<FilePath>,
    inline: Option<InlineSecret>,
    min_len: usize,
    dir: Option<&Path>,
) -> Result<SecretSource, KeyError> {
    match (file, inline) {
        (Some(file), None) => Ok(SecretSource::File(file.resolve(dir))),
        (None, Some(InlineSecret(secret))) => secret_access_key(secret.expose(), min_len)
            .map(SecretSource::Inline)
            .map_err(|problem| (format!("{path}.secret_key"), problem)),
        (Some(_), Some(_)) => Err((
            format!("{path}.secret_key"),
            "set secret_key_file or secret_key, not both".to_owned(),
        )),
        (None, None) => Err((
            format!("{path}.secret_key_file"),
            "is required (or, for tests, an inline secret_key)".to_owned(),
        )),
    }
}

impl ResignSettings {
    /// The secret files named (binding key, clients', the store's), with their key
    /// paths, in file order.
    pub fn files(&self) -> Vec<(String, &Path)> {
        let mut files = Vec::new();
        if let Some(file) = &self.binding_key_file {
            files.push(("auth.binding_key_file".to_owned(), file.as_path()));
        }
        for (i, client) in self.clients.iter().enumerate() {
            if let SecretSource::File(file) = &client.secret {
                files.push((format!("auth.clients[{i}].secret_key_file"), file.as_path()));
            }
        }
        if let SecretSource::File(file) = &self.store.secret {
            files.push((
                "upstream.credentials.secret_key_file".to_owned(),
                file.as_path(),
            ));
        }
        files.extend(self.key_files());
        files
    }

    /// The injected key files, with their key paths, in file order.
    pub fn key_files(&self) -> Vec<(String, &Path)> {
        let mut files = Vec::new();
        for (i, rule) in self.bucket_keys.iter().enumerate() {
            let Some(inject) = &rule.files else { continue };
            files.push((
                format!("ssec.buckets[{i}].inject_key_file"),
                inject.current.as_path(),
            ));
            for (j, file) in inject.previous.iter().enumerate() {
                files.push((
                    format!("ssec.buckets[{i}].previous_key_files[{j}]"),
                    file.as_path(),
                ));
            }
        }
        files
    }

    /// `auth.mode: resign (2 clients; region us-east-1; …)`: no secret, no file content.
    pub fn summary(&self) -> String {
        let n = self.clients.len();
        format!(
            "auth.mode: resign ({n} client{}; region {}; store region {}; binding key {}; key injection {})",
            if n == 1 { "" } else { "s" },
            self.region,
            self.store.region,
            if self.binding_key_file.is_some() {
                "set"
            } else {
                "unset"
            },
            match self
                .bucket_keys
                .iter()
                .filter(|b| b.files.is_some())
                .count()
            {
                0 => "off".to_owned(),
                n => format!("on {n} bucket rule{}", if n == 1 { "" } else { "s" }),
            },
        )
    }

    /// Allowed but worth a warning: secrets written in the configuration file, key files
    /// others may read, no binding key.
    pub fn warnings(&self) -> Vec<String> {
        let inline = |path: String| {
            format!(
                "{path}.secret_key: the secret is written in the configuration file; outside tests use {path}.secret_key_file (a Kubernetes Secret mount)"
            )
        };
        let clients = self.clients.iter().enumerate();
        clients
            .filter(|(_, c)| matches!(c.secret, SecretSource::Inline(_)))
            .map(|(i, _)| inline(format!("auth.clients[{i}]")))
            .chain(
                matches!(self.store.secret, SecretSource::Inline(_))
                    .then(|| inline("upstream.credentials".to_owned())),
            )
            .chain(self.binding_key_file.is_none().then(|| {
                "auth.binding_key_file: unset: multipart uploads are checked against this replica's memory only (ssec.unknown_uploads decides about parts of uploads it does not know); set a binding key, the same on every replica, to bind them to their key on any replica".to_owned()
            }))
            .chain(self.key_files().into_iter().filter_map(|(key, file)| {
                open_key_file(file).map(|mode| {
                    format!(
                        "{key}: {} is readable by others than its owner (mode {mode:04o}); make it 0600 or 0400 (Kubernetes: the Secret volume's defaultMode)",
                        file.display()
                    )
                })
            }))
            .collect()
    }
}

/// The permission bits of a key file that group or others may read or write, if so.
fn open_key_file(file: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(file).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(test)]
#[path = "auth_tests.rs"]
mod tests;
