//! `chatroom-cli`: register, chat and listen from a terminal or a script.
//!
//! # Layout
//! - `args`: the command line and its help text.
//! - `output`: what is printed, as words or as JSON lines.
//! - `send`: posting, with the flood control's "slow down" waited out.
//! - `files`: `send-file` and `get-file`, with progress and whole-file writes.
//! - this file: the passphrase, one connection per run (closed on every way
//!   out, signals included), the other commands, and `listen`.

mod args;
mod files;
mod output;
mod send;

use std::io::{BufRead, IsTerminal, Write as _};

use anyhow::{Context as _, bail};
use chatroom_client::{ClientError, Session, Trust};
use chatroom_common::protocol::{AvatarHash, ChatMessage, Event, HistoryQuery, OtpAlgorithm};
use chatroom_common::report;
use chatroom_common::timeline::Timeline;
use clap::Parser;

use crate::args::{AvatarAction, Cli, Command};
use crate::output::Output;
use crate::send::Retry;

/// How a run ended when it did not fail.
enum Finished {
    /// The command did its job.
    Done,
    /// A signal stopped it; the exit status the shell expects for that signal.
    Stopped(i32),
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let code = match run(Cli::parse()).await {
        Ok(Finished::Done) => 0,
        Ok(Finished::Stopped(code)) => code,
        Err(e) => {
            eprintln!("chatroom-cli: {}", report::one_line(e.chain()));
            match e.downcast_ref::<ClientError>() {
                Some(ClientError::Invalid(_) | ClientError::Skey(_) | ClientError::Address(_)) => 2,
                _ => 1,
            }
        }
    };
    // Exit here instead of returning: after a signal, `send --stdin` may have
    // a read of standard input pending on tokio's blocking pool, which would
    // hold the runtime's shutdown until someone pressed Enter.
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

fn passphrase() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("CHATROOM_PASSPHRASE") {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("Passphrase: ").context("reading the passphrase");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the passphrase from stdin")?;
    let line = line.trim_end_matches(['\r', '\n']).to_owned();
    if line.is_empty() {
        bail!("no passphrase: set CHATROOM_PASSPHRASE or pipe it on stdin");
    }
    Ok(line)
}

fn parse_hash(text: &str) -> anyhow::Result<AvatarHash> {
    AvatarHash::from_hex(text).ok_or_else(|| {
        anyhow::Error::new(ClientError::Invalid(
            chatroom_common::validate::ValidationError::AvatarHash,
        ))
    })
}

/// Connects, runs the command, and closes the connection however it ended.
async fn run(cli: Cli) -> anyhow::Result<Finished> {
    let trust = match (&cli.ca, &cli.pin) {
        (Some(ca), None) => Trust::ca_file(ca)?,
        (None, Some(pin)) => Trust::parse_pin(pin)?,
        _ => bail!("give --ca FILE or --pin SHA256 so the server can be verified"),
    };
    if cli.command.logs_in() && cli.user.is_none() {
        bail!("this command needs --user");
    }
    // Asked for before connecting: the prompt blocks this thread, so it must
    // come before signals are caught below (Ctrl-C at the prompt just ends
    // the program), and a typo costs no connection.
    let pass = match &cli.command {
        Command::Verify { .. } | Command::ResendVerification { .. } => None,
        _ => Some(passphrase()?),
    };
    let mut session = Session::connect(&cli.server, &trust).await?;
    let result = tokio::select! {
        result = command(&cli, &mut session, pass.as_deref().unwrap_or_default()) => {
            result.map(|()| Finished::Done)
        }
        code = stop_signal() => Ok(Finished::Stopped(code)),
    };
    // Every way out closes the connection, failures and signals included:
    // without the close frame the server would keep this user online to
    // everyone until the idle timeout.
    session.close().await;
    result
}

/// Resolves on Ctrl-C or SIGTERM with the exit status a shell gives a
/// process killed by that signal (128 + its number).
async fn stop_signal() -> i32 {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                () = ctrl_c() => 130,
                _ = term.recv() => 143,
            };
        }
    }
    ctrl_c().await;
    130
}

/// Ctrl-C; never, when its handler cannot be installed (the default action,
/// ending the process, then still applies).
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn login(cli: &Cli, session: &mut Session, pass: &str) -> anyhow::Result<()> {
    let Some(user) = &cli.user else {
        bail!("this command needs --user");
    };
    let outcome = session.login(user, pass, None).await?;
    if outcome.reinitialised {
        eprintln!(
            "one-time passwords were running low; the chain was renewed ({} left)",
            outcome.otp_remaining
        );
    }
    Ok(())
}

/// Runs one command on an open connection.
async fn command(cli: &Cli, session: &mut Session, pass: &str) -> anyhow::Result<()> {
    let out = Output { json: cli.json };
    if cli.command.logs_in() {
        login(cli, session, pass).await?;
    }
    match &cli.command {
        Command::Register {
            username,
            email,
            sha1,
        } => {
            let alg = if *sha1 {
                OtpAlgorithm::Sha1
            } else {
                OtpAlgorithm::Md5
            };
            let registered = session.register(username, email, pass, alg).await?;
            out.registered(&registered, email)?;
        }
        Command::Verify { username, code } => {
            session.verify_email(username, code).await?;
            out.verified(username)?;
        }
        Command::ResendVerification { username } => {
            session.resend_verification(username).await?;
            out.verification_sent(username)?;
        }
        Command::Rooms => {
            for room in session.rooms().await? {
                out.room(&room)?;
            }
        }
        Command::Create { room } => {
            let room = session.create_room(room).await?;
            out.created(&room)?;
        }
        Command::Send {
            room,
            text,
            stdin: _,
            no_retry,
        } => {
            let retry = if *no_retry {
                Retry::Never
            } else {
                Retry::WithinBudget
            };
            send::run(session, out, room, text.as_deref(), retry).await?;
        }
        Command::SendFile { room, files, text } => {
            files::send_files(session, out, room, files, text.as_deref()).await?;
        }
        Command::GetFile {
            hash,
            out: dest,
            force,
        } => {
            files::get_file(session, out, hash, dest, *force).await?;
        }
        Command::Listen { room, count } => listen(out, session, room, *count).await?,
        Command::History {
            room,
            before,
            limit,
        } => {
            let query = HistoryQuery::Before {
                before: *before,
                limit: *limit,
            };
            let (messages, _) = session.history(room, query).await?;
            for m in &messages {
                out.message(m)?;
            }
        }
        Command::Avatar { action } => match action {
            AvatarAction::Set { file } => {
                let image =
                    std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
                out.avatar_set(session.upload_avatar(image).await?)?;
            }
            AvatarAction::Get { hash, out: file } => {
                let hash = parse_hash(hash)?;
                let png = session.avatar(hash).await?;
                std::fs::write(file, &png)
                    .with_context(|| format!("writing {}", file.display()))?;
                out.avatar_saved(hash, file, png.len())?;
            }
            AvatarAction::Pool => {
                for hash in session.avatar_pool().await? {
                    out.pool_entry(hash)?;
                }
            }
            AvatarAction::Pick { hash } => {
                out.avatar_set(session.choose_avatar(parse_hash(hash)?).await?)?;
            }
        },
        Command::Who { room } => {
            for user in session.who(room).await? {
                out.user(&user)?;
            }
        }
    }
    Ok(())
}

/// Prints new messages strictly in sequence order, fetching any gap from history.
async fn listen(
    out: Output,
    session: &mut Session,
    room: &str,
    count: Option<usize>,
) -> anyhow::Result<()> {
    let mut events = session
        .take_events()
        .context("event stream already taken")?;
    let joined = session.join(room).await?;
    let room_name = joined.room.name.clone();
    let mut timeline = Timeline::new(100_000);
    for m in joined.history {
        timeline.insert(m);
    }
    timeline.note_latest(joined.room.latest_seq);
    let mut printed = joined.room.latest_seq;
    let mut remaining = count.unwrap_or(usize::MAX);
    if !out.json {
        eprintln!("listening to {room_name} (Ctrl-C to stop)");
    }
    while remaining > 0 {
        let Some(event) = events.recv().await else {
            bail!("the connection closed");
        };
        match event {
            Event::Message(m) if m.room == room_name => {
                timeline.insert(m);
            }
            Event::Resync { room, after_seq } if room == room_name => {
                timeline.note_latest(after_seq.saturating_add(1));
            }
            _ => continue,
        }
        // Fill gaps from history until the timeline is contiguous.
        while let Some((after, _)) = timeline.missing() {
            let (page, latest) = session
                .history(&room_name, HistoryQuery::After { after, limit: 200 })
                .await?;
            let progress = !page.is_empty();
            for m in page {
                timeline.insert(m);
            }
            timeline.note_latest(latest);
            if !progress {
                break;
            }
        }
        let ready: Vec<&ChatMessage> = timeline
            .iter()
            .filter(|m| m.seq > printed && m.seq <= timeline.contiguous_seq())
            .take(remaining)
            .collect();
        for m in ready {
            out.message(m)?;
            printed = m.seq;
            remaining -= 1;
        }
    }
    Ok(())
}
