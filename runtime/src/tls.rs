//! What the TLS clients and servers of this crate share: the crypto
//! provider, and certificates and keys read from PEM files with errors that
//! name the file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use rustls::InconsistentKeys;

/// A certificate, key or CA file that cannot be used, or settings that do not
/// fit together.
///
/// ```
/// use promdecl_runtime::TlsError;
/// let err = TlsError::File { path: "/etc/x.pem".into(), reason: "no PEM certificate in it".into() };
/// assert_eq!(err.to_string(), "cannot use /etc/x.pem: no PEM certificate in it");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A CA, certificate or key file could not be read or holds nothing
    /// usable.
    #[error("cannot use {}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The files are fine on their own but do not fit together (a key that
    /// does not match its certificate), or rustls refused the settings.
    #[error("invalid TLS settings: {0}")]
    Config(String),
}

fn file_error(path: &Path, reason: impl Into<String>) -> TlsError {
    TlsError::File { path: path.to_path_buf(), reason: reason.into() }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| file_error(path, e.to_string()))
}

/// The provider the application installed process-wide, if any (aws-lc-rs
/// with post-quantum key exchange, say); otherwise *ring*, the one this
/// crate builds with.
///
/// Which providers a build has depends on the features other crates in it
/// enable, so there may be no process-wide default, and installing one here
/// would take the choice from the application.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    if let Some(installed) = CryptoProvider::get_default() {
        return Arc::clone(installed);
    }
    // Deprecated only for lacking post-quantum key exchange; aws-lc-rs, which
    // has it, needs a C and assembler build that a metrics library should not
    // impose. An application that wants it installs it as the default.
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of a PEM file (other PEM sections are ignored).
pub(crate) fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(path, format!("not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(file_error(path, "no PEM certificate (-----BEGIN CERTIFICATE-----) in it"));
    }
    Ok(certs)
}

/// The certificates of every PEM file in a directory (the `capath` of
/// OpenSSL and of the Python client), in file name order. Files that hold no
/// certificate, such as OpenSSL's hash links to CRLs, are skipped; a
/// directory without any certificate is an error.
#[cfg(feature = "tls")]
pub(crate) fn certificates_in_dir(dir: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let entries = std::fs::read_dir(dir).map_err(|e| file_error(dir, e.to_string()))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect();
    paths.sort();
    let mut all = Vec::new();
    for path in paths {
        if let Ok(certs) = certificates(&path) {
            all.extend(certs);
        }
    }
    if all.is_empty() {
        return Err(file_error(dir, "no file in this directory holds a PEM certificate"));
    }
    Ok(all)
}

/// The private key of a PEM file: PKCS#8, PKCS#1 or SEC1.
pub(crate) fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            file_error(path, "no PEM private key (PKCS#8, PKCS#1 or SEC1) in it")
        }
        e => file_error(path, format!("not a valid PEM private key: {e}")),
    })
}

/// The certificate chain of `cert` with the private key of `key`.
///
/// rustls's own loaders would refuse X.509 v1 certificates (what
/// `openssl x509 -req` makes without an extension file), because they parse
/// the certificate with webpki to compare the keys. Peers accept such
/// certificates, so the keys are compared when the certificate can be
/// parsed, and the peer has the last word otherwise.
pub(crate) fn certified_key(provider: &CryptoProvider, cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let invalid =
        |e: rustls::Error| TlsError::Config(format!("certificate {} with key {}: {e}", cert.display(), key.display()));
    let chain = certificates(cert)?;
    let signing_key = provider.key_provider.load_private_key(private_key(key)?).map_err(invalid)?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Err(e @ rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => Err(invalid(e)),
        _ => Ok(certified),
    }
}
