//! Mail in tests: a real SMTP server (Debian's `python3 -m aiosmtpd`) on
//! loopback, the mails it or the server's file outbox received, and the
//! 6-digit verification code in a mail.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chatroom_server::MailConfig;
use mail_parser::MessageParser;

/// How long a mail may take to arrive.
pub const MAIL_WAIT: Duration = Duration::from_secs(60);

/// A real SMTP server on 127.0.0.1, killed when dropped.
pub struct SmtpServer {
    /// The aiosmtpd process.
    child: Child,
}

impl SmtpServer {
    /// Starts aiosmtpd on `port`, delivering into the Maildir `maildir`, and
    /// waits until it accepts connections.
    pub fn start(port: u16, maildir: &Path) -> Self {
        // Debian's interpreter, where apt installed aiosmtpd (a pyenv one may be first on PATH).
        let python = if Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        };
        let child = Command::new(python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3-aiosmtpd must be installed (scripts/apt-packages.txt)");
        let mut server = Self { child };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("aiosmtpd exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback TCP port nobody listens on (now).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    listener.local_addr().expect("a bound address").port()
}

/// Mail settings for an SMTP server on `port`, with short retries.
pub fn smtp_mail(port: u16) -> MailConfig {
    MailConfig {
        smtp_url: Some(format!("smtp://127.0.0.1:{port}")),
        from: "Chatroom Test <chat@example.org>".into(),
        retry_first: Duration::from_millis(200),
        retry_max: Duration::from_secs(1),
        ..MailConfig::default()
    }
}

/// The raw mails in a Maildir (`new/`, `cur/`) or a directory of `.eml`
/// files (the server's file outbox), oldest first.
pub fn raw_mails(dir: &Path) -> Vec<Vec<u8>> {
    let dirs = [dir.join("new"), dir.join("cur"), dir.to_owned()];
    let mut paths = Vec::new();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() && (d != dir || path.extension().is_some_and(|e| e == "eml")) {
                paths.push(path);
            }
        }
    }
    paths.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// The first `To:` address of a raw mail.
pub fn to_address(raw: &[u8]) -> Option<String> {
    let message = MessageParser::default().parse(raw)?;
    Some(message.to()?.first()?.address()?.to_owned())
}

/// The verification code in a mail's text: the line that is six digits.
pub fn code_in(raw: &[u8]) -> Option<String> {
    let message = MessageParser::default().parse(raw)?;
    let text = message.body_text(0)?.into_owned();
    text.lines()
        .map(str::trim)
        .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned)
}

/// The verification codes mailed into `dir` so far, oldest first.
pub fn codes(dir: &Path) -> Vec<String> {
    raw_mails(dir)
        .iter()
        .filter_map(|raw| code_in(raw))
        .collect()
}

/// Waits (blocking, bounded) until `n` codes were mailed into `dir`; the newest.
pub fn wait_for_code(dir: &Path, n: usize) -> String {
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        let found = codes(dir);
        if found.len() >= n
            && let Some(code) = found.last()
        {
            return code.clone();
        }
        assert!(Instant::now() < deadline, "{n} code(s) never came");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits (bounded) until there are at least `count` mails to `recipient` in `dir`.
pub async fn mails_to(dir: &Path, recipient: &str, count: usize) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + MAIL_WAIT;
    loop {
        let mails: Vec<Vec<u8>> = raw_mails(dir)
            .into_iter()
            .filter(|raw| to_address(raw).as_deref() == Some(recipient))
            .collect();
        if mails.len() >= count {
            return mails;
        }
        assert!(
            Instant::now() < deadline,
            "{count} mail(s) to {recipient} did not arrive in {MAIL_WAIT:?} (got {})",
            mails.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
