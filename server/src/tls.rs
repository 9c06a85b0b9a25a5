//! TLS material: a local CA and server certificate generated with rcgen on first
//! start (or on demand), loading of existing PEM files, and fingerprints.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

/// Why TLS material could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing a file failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// Which file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A PEM file held no usable certificate or key.
    #[error("{path}: {what}")]
    Pem {
        /// Which file.
        path: PathBuf,
        /// What was wrong.
        what: String,
    },
    /// Certificate generation failed (for example an invalid DNS name).
    #[error("generating certificates: {0}")]
    Generate(#[from] rcgen::Error),
}

/// Where a server's certificate files are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPaths {
    /// The CA certificate clients import (`ca.pem`).
    pub ca: PathBuf,
    /// The server certificate chain (`server.pem`: server certificate, then the CA).
    pub cert: PathBuf,
    /// The server's private key (`server.key`, readable by the owner only).
    pub key: PathBuf,
}

impl CertPaths {
    /// The standard file names inside `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        }
    }

    fn ca_key(&self) -> PathBuf {
        self.ca.with_file_name("ca.key")
    }

    fn names_file(&self) -> PathBuf {
        self.cert.with_file_name("server.names")
    }
}

/// The names every generated server certificate carries, plus `extra`.
pub fn server_names(extra: &[String]) -> Vec<String> {
    let mut names: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    if let Some(host) = host_name() {
        names.push(host);
    }
    for name in extra {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

fn host_name() -> Option<String> {
    // The kernel's host name, if it is a usable DNS label; certificates need valid names.
    let raw = fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("COMPUTERNAME").ok())?;
    let name = raw.trim().to_lowercase();
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    valid.then_some(name)
}

/// Makes sure `dir` holds a CA and a server certificate covering `names`,
/// generating what is missing. Existing files are reused, so clients that
/// trusted the CA keep trusting the server.
pub fn ensure(dir: &Path, names: &[String]) -> Result<CertPaths, TlsError> {
    let paths = CertPaths::in_dir(dir);
    let have_all = paths.ca.exists() && paths.cert.exists() && paths.key.exists();
    if have_all {
        let covered = fs::read_to_string(paths.names_file())
            .map(|s| names.iter().all(|n| s.lines().any(|l| l == n)))
            .unwrap_or(true);
        if covered || !paths.ca_key().exists() {
            return Ok(paths);
        }
    }
    generate(dir, names)
}

/// Generates (or regenerates) the server certificate in `dir`, creating the CA
/// first if `dir` has none.
pub fn generate(dir: &Path, names: &[String]) -> Result<CertPaths, TlsError> {
    let paths = CertPaths::in_dir(dir);
    fs::create_dir_all(dir).map_err(|source| TlsError::Io {
        action: "creating",
        path: dir.to_owned(),
        source,
    })?;
    let ca_params = ca_params()?;
    let ca_key = if paths.ca.exists() && paths.ca_key().exists() {
        let pem = read(&paths.ca_key())?;
        KeyPair::from_pem(&pem)?
    } else {
        let key = KeyPair::generate()?;
        let cert = ca_params.self_signed(&key)?;
        write_file(&paths.ca, cert.pem().as_bytes(), false)?;
        write_file(&paths.ca_key(), key.serialize_pem().as_bytes(), true)?;
        key
    };
    let ca_pem = read(&paths.ca)?;
    let issuer = Issuer::new(ca_params, &ca_key);

    let mut params = CertificateParams::new(names.to_vec())?;
    params.is_ca = IsCa::NoCa;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Chatroom server");
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    write_file(&paths.key, key.serialize_pem().as_bytes(), true)?;
    write_file(
        &paths.cert,
        format!("{}{}", cert.pem(), ca_pem).as_bytes(),
        false,
    )?;
    write_file(&paths.names_file(), names.join("\n").as_bytes(), false)?;
    Ok(paths)
}

fn ca_params() -> Result<CertificateParams, TlsError> {
    // The CA is rebuilt from the same parameters when only its key is loaded,
    // so the issuer name in new server certificates matches the saved CA.
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Chatroom local CA");
    params.distinguished_name = dn;
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_after = rcgen::date_time_ymd(2100, 1, 1);
    Ok(params)
}

/// Loads a certificate chain and its private key from PEM files.
pub fn load(
    cert: &Path,
    key: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), TlsError> {
    let chain = load_certs(cert)?;
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Pem {
        path: key.to_owned(),
        what: format!("no private key: {e}"),
    })?;
    Ok((chain, key_der))
}

/// Loads every certificate of a PEM file; an empty file is an error.
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Pem {
            path: path.to_owned(),
            what: format!("unreadable certificate: {e}"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: path.to_owned(),
            what: "no certificate in file".into(),
        });
    }
    Ok(certs)
}

/// SHA-256 over a certificate's DER bytes: what clients pin.
pub fn fingerprint(cert: &CertificateDer<'_>) -> [u8; 32] {
    Sha256::digest(cert.as_ref()).into()
}

/// A fingerprint as lower-case hex, the form `--pin` accepts.
pub fn fingerprint_hex(cert: &CertificateDer<'_>) -> String {
    hex::encode(fingerprint(cert))
}

fn read(path: &Path) -> Result<String, TlsError> {
    fs::read_to_string(path).map_err(|source| TlsError::Io {
        action: "reading",
        path: path.to_owned(),
        source,
    })
}

fn write_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), TlsError> {
    let io = |source| TlsError::Io {
        action: "writing",
        path: path.to_owned(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let names = server_names(&[]);
        let first = ensure(dir.path(), &names).unwrap();
        let ca1 = fs::read(&first.ca).unwrap();
        let second = ensure(dir.path(), &names).unwrap();
        assert_eq!(fs::read(&second.ca).unwrap(), ca1);
        let (chain, _key) = load(&second.cert, &second.key).unwrap();
        assert_eq!(chain.len(), 2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&second.key).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "key must be private");
        }
        // A new name regenerates the server certificate under the same CA.
        let more = server_names(&["chat.example.org".into()]);
        ensure(dir.path(), &more).unwrap();
        assert_eq!(fs::read(&first.ca).unwrap(), ca1);
        let names_file = fs::read_to_string(dir.path().join("server.names")).unwrap();
        assert!(names_file.contains("chat.example.org"));
    }

    #[test]
    fn empty_pem_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.pem");
        fs::write(&p, "nothing").unwrap();
        assert!(matches!(load_certs(&p), Err(TlsError::Pem { .. })));
    }
}
