//! TLS material: PEM loading (through `rustls-pki-types`), the server configuration
//! (TLS 1.2 and 1.3, ALPN `h2` and `http/1.1`), and the client configuration used to
//! reach an https store.

mod not_after;

use std::path::Path;
use std::sync::Arc;

use md5::{Digest as _, Md5};
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A TLS configuration problem, naming the configuration key it comes from.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TlsError {
    /// Dotted configuration key (`server.tls_cert`).
    pub key: &'static str,
    /// What is wrong, with the file name.
    pub message: String,
}

impl TlsError {
    fn new(key: &'static str, message: impl Into<String>) -> Self {
        Self {
            key,
            message: message.into(),
        }
    }
}

/// The crypto provider used everywhere (aws-lc-rs), chosen explicitly so that no
/// process-wide default is needed.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads every certificate in a PEM file.
pub fn load_certs(
    path: &Path,
    key: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| TlsError::new(key, format!("{}: {e}", path.display())))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::new(key, format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(TlsError::new(
            key,
            format!("{}: no PEM certificate found", path.display()),
        ));
    }
    Ok(certs)
}

/// Loads a certificate chain and its private key and checks that they belong together.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = load_certs(cert, "server.tls_cert")?;
    let der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError::new("server.tls_key", format!("{}: {e}", key.display())))?;
    let signing = provider()
        .key_provider
        .load_private_key(der)
        .map_err(|e| TlsError::new("server.tls_key", format!("{}: {e}", key.display())))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|_| {
        TlsError::new(
            "server.tls_key",
            format!(
                "{}: does not match the certificate in {}",
                key.display(),
                cert.display()
            ),
        )
    })?;
    Ok(Arc::new(certified))
}

/// The listener's TLS material: the rustls configuration built from the certificate,
/// key and (optional) client CA files, with what reloads and metrics need to know.
pub struct TlsMaterial {
    /// TLS 1.3 and 1.2, ALPN `h2` then `http/1.1`, client certificates if configured.
    pub config: Arc<rustls::ServerConfig>,
    /// Expiry of the leaf certificate, seconds since the Unix epoch.
    pub not_after: i64,
    /// Digest of every file's content, to tell a change from a re-read.
    pub fingerprint: [u8; 16],
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// Loads the listener's TLS material from `[server]`'s files.
pub fn load_material(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<TlsMaterial, TlsError> {
    let certified = load_certified_key(cert, key)?;
    let leaf = certified.cert.first().ok_or_else(|| {
        TlsError::new(
            "server.tls_cert",
            format!("{}: no certificate", cert.display()),
        )
    })?;
    let not_after = not_after::not_after(leaf.as_ref())
        .map_err(|e| TlsError::new("server.tls_cert", format!("{}: {e}", cert.display())))?;
    let mut digest = Md5::new();
    for path in [Some(cert), Some(key), client_ca].into_iter().flatten() {
        // Read again for the digest: the parsers above consumed their own reads.
        digest.update(std::fs::read(path).unwrap_or_default());
    }
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::new("server", e.to_string()))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in load_certs(path, "server.tls_client_ca")? {
                roots.add(ca).map_err(|e| {
                    TlsError::new("server.tls_client_ca", format!("{}: {e}", path.display()))
                })?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .map_err(|e| {
                TlsError::new("server.tls_client_ca", format!("{}: {e}", path.display()))
            })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(
        Arc::unwrap_or_clone(certified),
    )));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsMaterial {
        config: Arc::new(config),
        not_after,
        fingerprint: digest.finalize().into(),
    })
}

/// The rustls client configuration for an https store: the system's trust roots plus
/// `upstream.ca_file`, HTTP/1.1 only (stores speak HTTP/1.1).
pub fn upstream_client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    // A missing or unreadable system store is not fatal: `ca_file` may be all we need.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        for cert in load_certs(path, "upstream.ca_file")? {
            roots.add(cert).map_err(|e| {
                TlsError::new("upstream.ca_file", format!("{}: {e}", path.display()))
            })?;
        }
    }
    if roots.is_empty() {
        return Err(TlsError::new(
            "upstream.ca_file",
            "no trust roots: the system has none and no ca_file is set",
        ));
    }
    // ALPN (http/1.1) is set by the hyper-rustls connector.
    Ok(rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::new("upstream", e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
