//! Server certificate verification: a CA file, or a pinned SHA-256 fingerprint
//! (trust on first use). Verification is never skipped.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::ClientError;

/// How the client decides the server is the right one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Certificates (PEM) of the CAs to trust, e.g. the server's `ca.pem`.
    CaPem(Vec<u8>),
    /// The SHA-256 of the server's CA certificate (or of a self-signed server
    /// certificate): the chain must verify against exactly that certificate.
    Pin([u8; 32]),
}

impl Trust {
    /// Reads a CA file.
    pub fn ca_file(path: &Path) -> Result<Self, ClientError> {
        std::fs::read(path)
            .map(Trust::CaPem)
            .map_err(|e| ClientError::Tls(format!("reading {}: {e}", path.display())))
    }

    /// Parses a fingerprint: 64 hex digits, colons and spaces allowed.
    pub fn parse_pin(text: &str) -> Result<Self, ClientError> {
        parse_fingerprint(text).map(Trust::Pin)
    }
}

/// Parses 64 hex digits (colons and spaces ignored) into a SHA-256 fingerprint.
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], ClientError> {
    let clean: String = text.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
    let bytes = hex::decode(&clean)
        .map_err(|_| ClientError::Tls("a fingerprint is 64 hexadecimal digits".into()))?;
    bytes
        .try_into()
        .map_err(|_| ClientError::Tls("a fingerprint is 64 hexadecimal digits".into()))
}

/// Lower-case hex of a fingerprint, the form the server prints.
pub fn fingerprint_hex(fp: &[u8; 32]) -> String {
    hex::encode(fp)
}

/// SHA-256 of a certificate.
pub fn fingerprint(cert: &CertificateDer<'_>) -> [u8; 32] {
    Sha256::digest(cert.as_ref()).into()
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client configuration for `trust`.
pub fn client_config(trust: &Trust) -> Result<rustls::ClientConfig, ClientError> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| ClientError::Tls(e.to_string()))?;
    let config = match trust {
        Trust::CaPem(pem) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| ClientError::Tls(format!("bad CA file: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| ClientError::Tls(format!("bad CA certificate: {e}")))?;
            }
            if roots.is_empty() {
                return Err(ClientError::Tls("the CA file holds no certificate".into()));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        Trust::Pin(pin) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinVerifier {
                pin: *pin,
                provider,
            }))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// Where the probe verifier leaves the fingerprint it saw.
pub type SeenFingerprint = Arc<Mutex<Option<[u8; 32]>>>;

/// A configuration whose handshake always fails after noting the fingerprint of
/// the root-most certificate the server presented: how the app shows a new
/// server's fingerprint before the user decides to trust it.
pub fn probe_config() -> Result<(rustls::ClientConfig, SeenFingerprint), ClientError> {
    let seen = Arc::new(Mutex::new(None));
    let provider = provider();
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ProbeVerifier {
            seen: seen.clone(),
            provider,
        }))
        .with_no_client_auth();
    Ok((config, seen))
}

#[derive(Debug)]
struct PinVerifier {
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if fingerprint(end_entity) == self.pin {
            // The server's own certificate is pinned (a self-signed deployment).
            return Ok(ServerCertVerified::assertion());
        }
        let anchor = intermediates
            .iter()
            .find(|c| fingerprint(c) == self.pin)
            .ok_or(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))?;
        let mut roots = RootCertStore::empty();
        roots.add(anchor.clone().into_owned())?;
        let inner =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                .build()
                .map_err(|e| rustls::Error::General(e.to_string()))?;
        match inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Ok(verified) => Ok(verified),
            // The chain verified against the pinned CA, which exists for this one
            // server; the pin, not the address typed, identifies it (as with SSH
            // host keys), so a LAN address missing from the SANs is fine.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[derive(Debug)]
struct ProbeVerifier {
    seen: SeenFingerprint,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for ProbeVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let root_most = intermediates.last().unwrap_or(end_entity);
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(fingerprint(root_most));
        // Never accept: this configuration only looks.
        Err(rustls::Error::InvalidCertificate(
            CertificateError::ApplicationVerificationFailure,
        ))
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("probe only".into()))
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("probe only".into()))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
