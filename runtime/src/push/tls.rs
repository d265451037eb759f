//! The rustls client configuration: trusted roots (a CA file, or the
//! Mozilla roots), an optional client certificate, and the one exception a
//! CA file makes to the Web PKI rules.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, InconsistentKeys, OtherError, RootCertStore, SignatureScheme,
};

use super::PushError;

fn tls_file_error(path: &Path, reason: impl Into<String>) -> PushError {
    PushError::TlsFile { path: path.to_path_buf(), reason: reason.into() }
}

fn read(path: &Path) -> Result<Vec<u8>, PushError> {
    std::fs::read(path).map_err(|e| tls_file_error(path, e.to_string()))
}

/// The certificates of a PEM file (other PEM sections are ignored).
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, PushError> {
    let pem = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_file_error(path, format!("not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(tls_file_error(path, "no PEM certificate (-----BEGIN CERTIFICATE-----) in it"));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, PushError> {
    let pem = read(path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            tls_file_error(path, "no PEM private key (PKCS#8, PKCS#1 or SEC1) in it")
        }
        e => tls_file_error(path, format!("not a valid PEM private key: {e}")),
    })
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
    // has it, needs a C and assembler build that a metrics client should not
    // impose. An application that wants it installs it as the default.
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS configuration for `ca_file` (or the Mozilla roots) and an
/// optional client certificate chain and key.
pub(crate) fn client_config(
    ca_file: Option<&Path>,
    client_cert: Option<(&Path, &Path)>,
) -> Result<Arc<ClientConfig>, PushError> {
    let provider = provider();
    let mut roots = RootCertStore::empty();
    let mut pinned = Vec::new();
    match ca_file {
        Some(path) => {
            for cert in certificates(path)? {
                roots.add(cert.clone()).map_err(|e| tls_file_error(path, format!("unusable CA certificate: {e}")))?;
                pinned.push(cert);
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
        .build()
        .map_err(|e| PushError::TlsConfig(e.to_string()))?;
    let verifier = Arc::new(CaFileVerifier { webpki, pinned });
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| PushError::TlsConfig(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match client_cert {
        Some((cert, key)) => {
            let certified = certified_key(&provider, cert, key)?;
            builder.with_client_cert_resolver(Arc::new(SingleCertAndKey::from(certified)))
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The client certificate chain of `cert` with the private key of `key`.
///
/// `with_client_auth_cert` would refuse X.509 v1 certificates (what
/// `openssl x509 -req` makes without an extension file), because it parses
/// the certificate with webpki to compare the keys. Servers accept such
/// certificates, so the keys are compared when the certificate can be
/// parsed, and the server has the last word otherwise.
fn certified_key(provider: &CryptoProvider, cert: &Path, key: &Path) -> Result<CertifiedKey, PushError> {
    let invalid = |e: rustls::Error| {
        PushError::TlsConfig(format!("client certificate {} with key {}: {e}", cert.display(), key.display()))
    };
    let chain = certificates(cert)?;
    let signing_key = provider.key_provider.load_private_key(private_key(key)?).map_err(invalid)?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Err(e @ rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch)) => Err(invalid(e)),
        _ => Ok(certified),
    }
}

/// The Web PKI verifier, plus one exception: a server certificate that is
/// itself, byte for byte, one of the certificates of the CA file is
/// trusted even though it is a CA certificate.
///
/// `openssl req -x509` makes such certificates (`CA:TRUE`, self-signed),
/// and OpenSSL-based clients (the Python client among them) accept them
/// when they are in the CA file; webpki refuses a CA certificate presented
/// as a server's. The exception applies only after webpki found the
/// certificate valid in time and failed it for being a CA, and the host
/// name is still checked.
#[derive(Debug)]
struct CaFileVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

fn is_ca_used_as_end_entity(err: &rustls::Error) -> bool {
    matches!(
        err,
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(inner)))
            if matches!(inner.downcast_ref::<webpki::Error>(), Some(webpki::Error::CaUsedAsEndEntity))
    )
}

impl ServerCertVerifier for CaFileVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(e) if is_ca_used_as_end_entity(&e) && self.pinned.iter().any(|c| c == end_entity) => {
                rustls::client::verify_server_name(&ParsedCertificate::try_from(end_entity)?, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}
