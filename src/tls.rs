//! TLS material: PEM loading (through `rustls-pki-types`), the server configuration
//! (TLS 1.2 and 1.3, ALPN `h2` and `http/1.1`), and the client configuration used to
//! reach an https store.

use std::path::Path;
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
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

/// Serves the current certificate; replaced in place when the files change.
#[derive(Debug)]
pub struct CertResolver {
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertResolver {
    /// A resolver serving `key`.
    pub fn new(key: Arc<CertifiedKey>) -> Self {
        Self {
            current: RwLock::new(key),
        }
    }

    /// Replaces the served certificate; handshakes already running keep the old one.
    pub fn replace(&self, key: Arc<CertifiedKey>) {
        match self.current.write() {
            Ok(mut guard) => *guard = key,
            Err(poisoned) => *poisoned.into_inner() = key,
        }
    }

    /// The certificate currently served.
    pub fn current(&self) -> Arc<CertifiedKey> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

/// The listener's rustls configuration: TLS 1.3 and 1.2, ALPN `h2` then `http/1.1`.
pub fn server_config(resolver: Arc<CertResolver>) -> Result<rustls::ServerConfig, TlsError> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| TlsError::new("server", e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
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
