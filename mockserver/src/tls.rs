//! HTTPS for the mock: the real check endpoint is https. A local certificate authority (made with rcgen, kept
//! in `server.tls_dir` so that a client trusts it once) issues a certificate for whatever host a client asks
//! for by SNI — `localhost`, `127.0.0.1`, or `api.wlc.nppa.gov.cn` when the client reaches the mock through
//! `https_proxy` (CONNECT) or a hosts-file entry.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

use crate::error::StartError;
use crate::private_file;

/// The local CA and the certificates it has issued.
pub struct LocalCa {
    ca_cert: rcgen::Certificate,
    ca_key: KeyPair,
    ca_path: PathBuf,
    provider: Arc<rustls::crypto::CryptoProvider>,
    issued: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LocalCa({})", self.ca_path.display())
    }
}

/// Host names the default certificate (no SNI, e.g. `https://127.0.0.1:8443`) covers.
const DEFAULT_NAMES: [&str; 6] =
    ["localhost", "127.0.0.1", "::1", "api.wlc.nppa.gov.cn", "api2.wlc.nppa.gov.cn", "wlc.nppa.gov.cn"];

/// Why a certificate for a client's server name could not be issued (the handshake then fails).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    #[error("{name:?} is not a DNS name or IP address")]
    Name {
        name: String,
        #[source]
        source: rcgen::Error,
    },
    #[error("cannot sign a certificate with the local CA")]
    Sign(#[source] rcgen::Error),
    #[error("rustls cannot load the certificate key")]
    Load(#[source] rustls::Error),
}

impl LocalCa {
    /// Loads `dir/ca.pem` and `dir/ca-key.pem`, or creates them (the key readable by the owner only).
    pub fn load_or_create(dir: &Path) -> Result<LocalCa, StartError> {
        let cert_path = dir.join("ca.pem");
        let key_path = dir.join("ca-key.pem");
        let (ca_cert, ca_key) = if cert_path.exists() && key_path.exists() {
            let read = |path: &Path| {
                std::fs::read_to_string(path).map_err(|source| StartError::TlsRead { path: path.to_owned(), source })
            };
            // A private key others could read is made private again (and said so), not used as it is.
            if private_file::tighten(&key_path).map_err(cannot_write(&key_path))? {
                tracing::warn!("{} was readable by others; its permissions are now 0600", key_path.display());
            }
            let ca_key = KeyPair::from_pem(&read(&key_path)?).map_err(unusable(&key_path))?;
            check_own_ca(&cert_path, &read(&cert_path)?, &ca_key)?;
            // The same name and key as the file on disk: what it signs verifies against that file.
            let ca_cert = ca_params().self_signed(&ca_key).map_err(unusable(&cert_path))?;
            (ca_cert, ca_key)
        } else {
            let ca_key = KeyPair::generate().map_err(StartError::TlsGenerate)?;
            let ca_cert = ca_params().self_signed(&ca_key).map_err(StartError::TlsGenerate)?;
            std::fs::create_dir_all(dir).map_err(cannot_write(dir))?;
            std::fs::write(&cert_path, ca_cert.pem()).map_err(cannot_write(&cert_path))?;
            private_file::write(&key_path, ca_key.serialize_pem()).map_err(cannot_write(&key_path))?;
            (ca_cert, ca_key)
        };
        Ok(LocalCa {
            ca_cert,
            ca_key,
            ca_path: cert_path,
            provider: Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
            issued: Mutex::new(HashMap::new()),
        })
    }

    /// Where the CA certificate a client must trust is.
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// A certificate for `host` (the default names when `None`), issued once and kept.
    fn certified(&self, host: Option<&str>) -> Result<Arc<CertifiedKey>, CertificateError> {
        let name = host.unwrap_or("").to_ascii_lowercase();
        if let Some(found) = self.issued.lock().unwrap_or_else(|p| p.into_inner()).get(&name) {
            return Ok(Arc::clone(found));
        }
        let names: Vec<String> = match host {
            Some(host) => vec![host.to_owned()],
            None => DEFAULT_NAMES.iter().map(|n| (*n).to_owned()).collect(),
        };
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, names[0].clone());
        params.subject_alt_names = names
            .iter()
            .map(|n| match n.parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(SanType::IpAddress(ip)),
                Err(_) => n.clone().try_into().map(SanType::DnsName),
            })
            .collect::<Result<_, _>>()
            .map_err(|source| CertificateError::Name { name: name.clone(), source })?;
        let leaf_key = KeyPair::generate().map_err(CertificateError::Sign)?;
        let leaf = params.signed_by(&leaf_key, &self.ca_cert, &self.ca_key).map_err(CertificateError::Sign)?;
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let signing_key = self.provider.key_provider.load_private_key(key_der).map_err(CertificateError::Load)?;
        let certified = Arc::new(CertifiedKey::new(vec![leaf.der().clone()], signing_key));
        self.issued.lock().unwrap_or_else(|p| p.into_inner()).insert(name, Arc::clone(&certified));
        Ok(certified)
    }

    /// A TLS acceptor that presents a certificate for whatever name the client asks for.
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, StartError> {
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(StartError::TlsConfig)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(ByServerName { ca: Arc::clone(self) }));
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// The CA's name: the same every time, so that a CA made earlier is re-created from its key alone (no X.509
/// parser needed, which would be a dozen more crates to build).
const CA_NAME: &str = "nppa-harness local CA (nppa mock)";

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params.distinguished_name.push(DnType::OrganizationName, "nppa-harness");
    params
}

/// `ca.pem` must be a CA this mock made, for `ca-key.pem`: the certificates it issues name it as their issuer.
fn check_own_ca(cert_path: &Path, pem: &str, key: &KeyPair) -> Result<(), StartError> {
    use rustls::pki_types::pem::PemObject;
    let foreign = |why: &'static str| StartError::TlsForeignCa { path: cert_path.to_owned(), why };
    let der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| foreign("it holds no PEM certificate"))?;
    let holds = |needle: &[u8]| der.windows(needle.len()).any(|w| w == needle);
    if !holds(CA_NAME.as_bytes()) {
        return Err(foreign("it was not made by nppa mock"));
    }
    if !holds(key.public_key_raw()) {
        return Err(foreign("ca-key.pem is not its key"));
    }
    Ok(())
}

fn unusable(path: &Path) -> impl FnOnce(rcgen::Error) -> StartError + '_ {
    move |source| StartError::TlsParse { path: path.to_owned(), source }
}

fn cannot_write(path: &Path) -> impl FnOnce(std::io::Error) -> StartError + '_ {
    move |source| StartError::TlsWrite { path: path.to_owned(), source }
}

#[derive(Debug)]
struct ByServerName {
    ca: Arc<LocalCa>,
}

impl ResolvesServerCert for ByServerName {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        match self.ca.certified(hello.server_name()) {
            Ok(certified) => Some(certified),
            Err(e) => {
                tracing::warn!("no certificate for {:?}: {e}", hello.server_name());
                None
            }
        }
    }
}
