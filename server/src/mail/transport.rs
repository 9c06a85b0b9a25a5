//! Where mail goes: an SMTP relay named by a URL (lettre's `AsyncSmtpTransport`,
//! rustls with ring), or, when none is configured, `.eml` files in
//! `<data_dir>/outbox/` (lettre's `AsyncFileTransport`), so that registration
//! works on a fresh machine and an operator can read what would have been sent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::MailError;
use crate::config::MailConfig;
use crate::store::redact_url;

/// A configured mail transport.
pub enum Transport {
    /// An SMTP relay.
    Smtp {
        /// lettre's transport; one connection per mail (no pool: mail is rare).
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// The URL without its password, for logs.
        target: String,
    },
    /// `.eml` files in a directory.
    Files {
        /// lettre's transport.
        transport: AsyncFileTransport<Tokio1Executor>,
        /// The directory, for logs.
        dir: PathBuf,
    },
}

/// Why one delivery attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The SMTP dialogue failed (connect, TLS, authentication or a refusal).
    #[error("SMTP: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    /// The file could not be written.
    #[error("writing the mail file: {0}")]
    File(#[from] lettre::transport::file::Error),
    /// The whole attempt took longer than the send timeout.
    #[error("no delivery within {0:?}")]
    Timeout(Duration),
}

impl SendError {
    /// A refusal that repeating will not change (an SMTP 5xx answer, such as
    /// an unknown recipient); everything else is worth retrying.
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Smtp(e) if e.is_permanent())
    }
}

impl Transport {
    /// The transport the settings name: SMTP with `smtp_url`, else files in `outbox_dir`
    /// (created here).
    pub fn new(config: &MailConfig, outbox_dir: &Path) -> Result<Self, MailError> {
        match &config.smtp_url {
            Some(url) => {
                let target = redact_url(url);
                let url = normalize_smtp_url(url).map_err(|reason| MailError::SmtpUrl {
                    url: target.clone(),
                    reason,
                })?;
                let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                    .map_err(|e| MailError::SmtpUrl {
                        url: target.clone(),
                        reason: e.to_string(),
                    })?
                    .timeout(Some(config.send_timeout))
                    .build();
                Ok(Transport::Smtp { transport, target })
            }
            None => {
                std::fs::create_dir_all(outbox_dir).map_err(|source| MailError::OutboxDir {
                    path: outbox_dir.to_owned(),
                    source,
                })?;
                Ok(Transport::Files {
                    transport: AsyncFileTransport::<Tokio1Executor>::new(outbox_dir),
                    dir: outbox_dir.to_owned(),
                })
            }
        }
    }

    /// Where mail goes, for the log.
    pub fn describe(&self) -> String {
        match self {
            Transport::Smtp { target, .. } => format!("through the SMTP relay {target}"),
            Transport::Files { dir, .. } => format!(
                "as .eml files into {} (no SMTP relay configured)",
                dir.display()
            ),
        }
    }

    /// Delivers one message within `timeout`; returns where it went, for the log.
    pub async fn send(&self, message: Message, timeout: Duration) -> Result<String, SendError> {
        let attempt = async {
            match self {
                Transport::Smtp { transport, target } => {
                    let response = transport.send(message).await?;
                    Ok(format!(
                        "accepted by {target} ({} {})",
                        response.code(),
                        response.first_line().unwrap_or_default()
                    ))
                }
                Transport::Files { transport, dir } => {
                    let id = transport.send(message).await?;
                    Ok(format!(
                        "written to {}",
                        dir.join(format!("{id}.eml")).display()
                    ))
                }
            }
        };
        tokio::time::timeout(timeout, attempt)
            .await
            .unwrap_or(Err(SendError::Timeout(timeout)))
    }
}

/// Accepts `tls=starttls` as another name for lettre's `tls=required` (STARTTLS
/// that must succeed), and checks the scheme, so a typo fails at start.
fn normalize_smtp_url(url: &str) -> Result<String, String> {
    let mut parsed = url::Url::parse(url).map_err(|e| e.to_string())?;
    if !matches!(parsed.scheme(), "smtp" | "smtps") {
        return Err(format!(
            "the scheme must be smtp:// or smtps://, not {}://",
            parsed.scheme()
        ));
    }
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "tls" && v == "starttls" {
                "required".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if !pairs.is_empty() {
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    Ok(parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starttls_is_an_alias_of_required() {
        assert_eq!(
            normalize_smtp_url("smtp://mail.example.org:587?tls=starttls").as_deref(),
            Ok("smtp://mail.example.org:587?tls=required")
        );
        assert_eq!(
            normalize_smtp_url("smtps://u:p@mail.example.org:465").as_deref(),
            Ok("smtps://u:p@mail.example.org:465")
        );
        assert!(normalize_smtp_url("http://mail.example.org").is_err());
        assert!(normalize_smtp_url("not a url").is_err());
    }

    #[test]
    fn every_url_style_builds_a_transport() {
        let dir = std::env::temp_dir();
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://mail.example.org:587?tls=starttls",
            "smtp://mail.example.org:587?tls=opportunistic",
            "smtps://user:secret@mail.example.org:465",
        ] {
            let config = MailConfig {
                smtp_url: Some(url.to_owned()),
                ..MailConfig::default()
            };
            let transport = Transport::new(&config, &dir).expect(url);
            assert!(!transport.describe().contains("secret"), "{url}");
        }
        let config = MailConfig {
            smtp_url: Some("smtp://mail.example.org?tls=sometimes".to_owned()),
            ..MailConfig::default()
        };
        assert!(matches!(
            Transport::new(&config, &dir),
            Err(MailError::SmtpUrl { .. })
        ));
    }
}
