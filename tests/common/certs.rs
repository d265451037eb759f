//! A throwaway PKI for TLS tests, made with rcgen: a CA, a server
//! certificate for 127.0.0.1 and localhost, and a client certificate, all
//! written as PEM files into a temporary directory.

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};

use super::TempDir;

/// The PEM files of one test PKI; removed when dropped.
pub struct Pki {
    dir: TempDir,
}

impl Pki {
    /// A CA with a server and a client certificate, and a second CA (with
    /// its own client certificate) that the server does not trust.
    pub fn new(stem: &str) -> Pki {
        let dir = TempDir::new(stem);
        let (ca_cert, ca_issuer) = ca("promdecl test CA");
        let (other_ca, other_issuer) = ca("untrusted CA");
        std::fs::write(dir.path().join("ca.crt"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("other-ca.crt"), other_ca.pem()).unwrap();
        leaf(&dir, "server", &["127.0.0.1", "localhost"], ExtendedKeyUsagePurpose::ServerAuth, &ca_issuer);
        leaf(&dir, "client", &[], ExtendedKeyUsagePurpose::ClientAuth, &ca_issuer);
        leaf(&dir, "stranger", &[], ExtendedKeyUsagePurpose::ClientAuth, &other_issuer);
        Pki { dir }
    }

    /// `name.crt` or `name.key` in the PKI's directory: `ca.crt`,
    /// `other-ca.crt`, `server.crt`/`.key`, `client.crt`/`.key`,
    /// `stranger.crt`/`.key`.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// A rustls client that trusts the test CA, presenting the certificate
    /// `identity` (`"client"`, `"stranger"`) if given.
    pub fn client_config(&self, identity: Option<&str>) -> Arc<rustls::ClientConfig> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        #[allow(deprecated)] // ring's provider, as the crate under test uses
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(self.path("ca.crt")).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let config = match identity {
            Some(name) => {
                let chain = CertificateDer::pem_file_iter(self.path(&format!("{name}.crt")))
                    .unwrap()
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap();
                let key = PrivateKeyDer::from_pem_file(self.path(&format!("{name}.key"))).unwrap();
                builder.with_client_auth_cert(chain, key).unwrap()
            }
            None => builder.with_no_client_auth(),
        };
        Arc::new(config)
    }
}

fn ca(name: &str) -> (rcgen::Certificate, Issuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert, Issuer::new(params, key))
}

fn leaf(dir: &TempDir, name: &str, sans: &[&str], usage: ExtendedKeyUsagePurpose, issuer: &Issuer<'_, KeyPair>) {
    let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    std::fs::write(dir.path().join(format!("{name}.crt")), cert.pem()).unwrap();
    std::fs::write(dir.path().join(format!("{name}.key")), key.serialize_pem()).unwrap();
}
