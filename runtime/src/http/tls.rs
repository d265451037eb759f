//! The server's TLS settings: its certificate, and the CAs whose client
//! certificates it accepts.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::sign::SingleCertAndKey;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::tls::{certificates, certificates_in_dir, certified_key, provider};
use crate::TlsError;

/// Where the client CAs are.
#[derive(Debug, Clone)]
pub(crate) enum ClientCa {
    File(PathBuf),
    Dir(PathBuf),
}

/// What [`ServerBuilder`](super::ServerBuilder) was told about TLS.
#[derive(Debug, Default)]
pub(crate) struct TlsSettings {
    pub(crate) identity: Option<(PathBuf, PathBuf)>,
    pub(crate) client_ca: Option<ClientCa>,
    pub(crate) client_auth_required: bool,
}

impl TlsSettings {
    /// Reads the files and makes the acceptor.
    pub(crate) fn acceptor(&self) -> Result<TlsAcceptor, TlsError> {
        let Some((cert, key)) = &self.identity else {
            return Err(TlsError::Config(
                "client certificates need TLS: give the server's certificate and key with .tls(cert, key)".into(),
            ));
        };
        let provider = provider();
        let certified = certified_key(&provider, cert, key)?;
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let builder = match &self.client_ca {
            None if self.client_auth_required => {
                return Err(TlsError::Config(
                    "client_auth_required needs the CAs to check client certificates against: \
                     give client_ca_file or client_ca_dir"
                        .into(),
                ))
            }
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let (path, certs) = match ca {
                    ClientCa::File(path) => (path, certificates(path)?),
                    ClientCa::Dir(path) => (path, certificates_in_dir(path)?),
                };
                let mut roots = RootCertStore::empty();
                for cert in certs {
                    roots.add(cert).map_err(|e| TlsError::File {
                        path: path.clone(),
                        reason: format!("unusable CA certificate: {e}"),
                    })?;
                }
                let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
                let verifier = if self.client_auth_required { verifier } else { verifier.allow_unauthenticated() };
                builder.with_client_cert_verifier(verifier.build().map_err(|e| TlsError::Config(e.to_string()))?)
            }
        };
        let mut config = builder.with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}
