//! The server's TOML configuration file (`--config FILE`): one key per command-line flag.
//!
//! Keys are the long flags without their dashes, in kebab-case as the flags
//! are spelt (`--data-dir` is `data-dir`, `--tls-name` is `tls-name`, a list),
//! all at the top level. Flags and environment variables override the file,
//! and the file overrides the built-in defaults; `crate::cli` does the layering.
//! Relative paths in the file are taken relative to the file's own directory,
//! so a file means the same whichever directory the server starts in.
//!
//! A mistake is reported with the file, the line and the key: an unknown key
//! (a typo must not be silently ignored), a value of the wrong type, a value
//! that does not parse, or TLS keys that contradict each other.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

use crate::config::{MAX_PUSH_DELAY_MS, StreamMode};

/// Errors reading a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file could not be read (missing, unreadable, not UTF-8).
    #[error("cannot read config file {}", .path.display())]
    Read {
        /// The file named by `--config` or `CHATROOM_CONFIG`.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file is not valid TOML, or a key is unknown, mistyped or contradicts another.
    #[error("config file {}{}: {message}", .path.display(), location(*.line, .key.as_deref()))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The line (from 1) the problem is on, when known.
        line: Option<usize>,
        /// The key concerned, when the problem belongs to one.
        key: Option<String>,
        /// What is wrong, in the TOML parser's words or ours.
        message: String,
    },
}

/// `, line 3, key `send-rate`` (either part only when known).
fn location(line: Option<usize>, key: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(line) = line {
        out.push_str(&format!(", line {line}"));
    }
    if let Some(key) = key {
        out.push_str(&format!(", key `{key}`"));
    }
    out
}

/// The settings a configuration file may hold; every field is optional, and
/// each is the command-line flag of the same name.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileSettings {
    /// `--listen`: UDP address to listen on.
    pub listen: Option<SocketAddr>,
    /// `--data-dir`: the data directory.
    pub data_dir: Option<PathBuf>,
    /// `--database`: the database URL.
    pub database: Option<String>,
    /// `--certs`: a directory with `ca.pem`, `server.pem` and `server.key`.
    pub certs: Option<PathBuf>,
    /// `--cert`: an existing certificate chain (needs `key`).
    pub cert: Option<PathBuf>,
    /// `--key`: the private key for `cert`.
    pub key: Option<PathBuf>,
    /// `--tls-name` (repeatable): extra names for the generated certificate.
    pub tls_name: Option<Vec<String>>,
    /// `--name`: the name shown to clients.
    pub name: Option<String>,
    /// `--stream-mode`: `per-message` (the protocol) or `single` (benchmark only).
    #[serde(default, deserialize_with = "parsed")]
    pub stream_mode: Option<StreamMode>,
    /// `--max-connections-per-ip`.
    pub max_connections_per_ip: Option<usize>,
    /// `--outbound-queue`: events queued per connection before a resync.
    pub outbound_queue: Option<usize>,
    /// `--push-window-kib`: KiB of pushed events in flight per connection.
    pub push_window_kib: Option<u64>,
    /// `--push-delay-ms`: how long a writer holds an event after a quiet spell (0–20).
    #[serde(default, deserialize_with = "push_delay_ms")]
    pub push_delay_ms: Option<u64>,
    /// `--idle-timeout-secs`.
    pub idle_timeout_secs: Option<u64>,
    /// `--send-rate`: messages per user per second, sustained.
    pub send_rate: Option<f64>,
    /// `--send-burst`.
    pub send_burst: Option<u32>,
    /// `--max-file-mib`: the largest attachment.
    pub max_file_mib: Option<u64>,
    /// `--daily-upload-mib`: new files per user per 24 hours.
    pub daily_upload_mib: Option<u64>,
    /// `--registrations-per-hour`, per source address.
    pub registrations_per_hour: Option<f64>,
    /// `--registration-burst`.
    pub registration_burst: Option<u32>,
    /// `--smtp-url`: the SMTP relay for registration mail (may hold a password).
    pub smtp_url: Option<String>,
    /// `--mail-from`: the sender of registration mail.
    pub mail_from: Option<String>,
    /// `--require-email-verification`.
    pub require_email_verification: Option<bool>,
    /// `--cluster`: NATS servers of the cluster this node joins.
    pub cluster: Option<Vec<String>>,
    /// `--node-id`: this node's name in the cluster.
    pub node_id: Option<String>,
    /// `--cluster-name`: the cluster's name.
    pub cluster_name: Option<String>,
}

/// Deserializes a string through the type's `FromStr`, whose message becomes
/// the error (the parser adds the value's position).
fn parsed<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    let text = String::deserialize(deserializer)?;
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

/// `push-delay-ms`, held to the flag's range (the parser adds the value's position).
fn push_delay_ms<'de, D>(deserializer: D) -> Result<Option<u64>, D::Error>
where
    D: Deserializer<'de>,
{
    let ms = u64::deserialize(deserializer)?;
    if ms > MAX_PUSH_DELAY_MS {
        return Err(serde::de::Error::custom(format!(
            "{ms} ms is too long: a push waits at most {MAX_PUSH_DELAY_MS} ms"
        )));
    }
    Ok(Some(ms))
}

impl FileSettings {
    /// Reads and checks the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut settings: Self = toml::from_str(&text).map_err(|error| {
            let at = error.span().map(|span| span.start);
            ConfigFileError::Invalid {
                path: path.to_owned(),
                line: at.map(|at| line_of(&text, at)),
                key: at.and_then(|at| key_at(&text, at)),
                message: error.message().trim().to_owned(),
            }
        })?;
        settings.check_tls(path, &text)?;
        let base = path.parent().unwrap_or(Path::new(""));
        for setting in [
            &mut settings.data_dir,
            &mut settings.certs,
            &mut settings.cert,
            &mut settings.key,
        ]
        .into_iter()
        .flatten()
        {
            if setting.is_relative() {
                *setting = base.join(&*setting);
            }
        }
        Ok(settings)
    }

    /// Whether the file sets any of the TLS keys (`certs`, `cert`, `key`).
    pub fn sets_tls(&self) -> bool {
        self.certs.is_some() || self.cert.is_some() || self.key.is_some()
    }

    /// `certs` excludes `cert` and `key`, and those two go together, as for the flags.
    fn check_tls(&self, path: &Path, text: &str) -> Result<(), ConfigFileError> {
        let problem = match (&self.certs, &self.cert, &self.key) {
            (Some(_), Some(_), _) => Some(("cert", "`cert` cannot be used with `certs`")),
            (Some(_), None, Some(_)) => Some(("key", "`key` cannot be used with `certs`")),
            (None, Some(_), None) => Some(("cert", "`cert` needs `key`")),
            (None, None, Some(_)) => Some(("key", "`key` needs `cert`")),
            _ => None,
        };
        match problem {
            None => Ok(()),
            Some((key, message)) => Err(ConfigFileError::Invalid {
                path: path.to_owned(),
                line: key_lines(text).get(key).copied(),
                key: Some(key.to_owned()),
                message: message.to_owned(),
            }),
        }
    }
}

/// The line (from 1) holding byte offset `at` of `text`.
fn line_of(text: &str, at: usize) -> usize {
    let before = text.as_bytes().get(..at).unwrap_or(text.as_bytes());
    before.iter().filter(|&&b| b == b'\n').count() + 1
}

/// The top-level key whose entry (key or value) covers byte offset `at`.
fn key_at(text: &str, at: usize) -> Option<String> {
    let table = toml::de::DeTable::parse(text).ok()?;
    table
        .get_ref()
        .iter()
        .find(|(key, value)| key.span().start <= at && at < value.span().end)
        .map(|(key, _)| key.get_ref().to_string())
}

/// Each top-level key's line (from 1).
fn key_lines(text: &str) -> BTreeMap<String, usize> {
    let Ok(table) = toml::de::DeTable::parse(text) else {
        return BTreeMap::new();
    };
    table
        .get_ref()
        .keys()
        .map(|key| (key.get_ref().to_string(), line_of(text, key.span().start)))
        .collect()
}
