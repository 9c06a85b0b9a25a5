//! `send`: one message, or each line of standard input, posted in order; a
//! "slow down" from the server's flood control is waited out and the message
//! retried with the same idempotency key, so it is stored exactly once.

use std::time::Duration;

use anyhow::{Context as _, bail};
use chatroom_client::session::new_key;
use chatroom_client::{ClientError, Sent, Session};
use chatroom_common::protocol::{ErrorCode, FileRef, IdempotencyKey};
use tokio::io::AsyncBufReadExt as _;
use tokio::time::Instant;

use crate::output::Output;

/// How long one message may wait for the flood control before the CLI gives
/// up: long enough for any burst a script makes (the server's default refills
/// five messages a second), short enough that a wedged script fails visibly.
pub const RETRY_BUDGET: Duration = Duration::from_secs(30);
/// The wait when the server says to slow down without saying for how long.
const DEFAULT_WAIT: Duration = Duration::from_secs(1);

/// Whether to wait out "slow down" answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Wait as the server asks and retry, up to [`RETRY_BUDGET`] per message.
    WithinBudget,
    /// Fail at the first "slow down".
    Never,
}

/// Posts `text`, or each line of standard input when `text` is `None`,
/// printing each acknowledgement as it comes.
pub async fn run(
    session: &Session,
    out: Output,
    room: &str,
    text: Option<&str>,
    retry: Retry,
) -> anyhow::Result<()> {
    if let Some(text) = text {
        let sent = send_one(session, room, text, Vec::new(), new_key(), retry).await?;
        return out.sent(room, &sent);
    }
    // tokio's stdin reads through the same buffer as std's, so a passphrase
    // taken from the first line earlier is not read again here.
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut number = 0u64;
    while let Some(line) = lines
        .next_line()
        .await
        .context("reading messages from stdin")?
    {
        number += 1;
        let text = line.trim_end_matches('\r');
        if text.trim().is_empty() {
            continue;
        }
        let sent = send_one(session, room, text, Vec::new(), new_key(), retry)
            .await
            .with_context(|| format!("line {number} was not sent"))?;
        out.sent(room, &sent)?;
    }
    Ok(())
}

/// Posts one message (with `files`, uploaded already) under one idempotency
/// key, however often it is retried.
pub async fn send_one(
    session: &Session,
    room: &str,
    text: &str,
    files: Vec<FileRef>,
    key: IdempotencyKey,
    retry: Retry,
) -> Result<Sent, anyhow::Error> {
    let deadline = Instant::now() + RETRY_BUDGET;
    loop {
        let err = match session
            .send_with_files(room, text, key, files.clone())
            .await
        {
            Ok(sent) => return Ok(sent),
            Err(err) => err,
        };
        let ClientError::Server(reply) = &err else {
            return Err(err.into());
        };
        if reply.code != ErrorCode::RateLimited || retry == Retry::Never {
            return Err(err.into());
        }
        let wait = reply
            .retry_after_ms
            .map_or(DEFAULT_WAIT, Duration::from_millis);
        // A wait past the budget fails now rather than being slept through
        // only to fail; comparing durations cannot overflow on a huge hint.
        if deadline.saturating_duration_since(Instant::now()) < wait {
            bail!(
                "{err}; waiting longer would pass the {} s this command allows",
                RETRY_BUDGET.as_secs()
            );
        }
        tokio::time::sleep(wait).await;
    }
}
