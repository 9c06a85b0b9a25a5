//! `chatroom-cli`: register, chat and listen from a terminal.

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use chatroom_client::{ClientError, Session, Trust};
use chatroom_common::protocol::{AvatarHash, ChatMessage, Event, HistoryQuery, OtpAlgorithm};
use chatroom_common::timeline::Timeline;
use clap::{Parser, Subcommand};

/// Chatroom command-line client.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Server address, HOST:PORT.
    #[arg(long, env = "CHATROOM_SERVER")]
    server: String,
    /// CA certificate file to verify the server with (the server's ca.pem).
    #[arg(long, env = "CHATROOM_CA", conflicts_with = "pin")]
    ca: Option<PathBuf>,
    /// SHA-256 fingerprint of the server's CA certificate (printed by the server at start).
    #[arg(long, env = "CHATROOM_PIN")]
    pin: Option<String>,
    /// Username for commands that log in.
    #[arg(long, env = "CHATROOM_USER")]
    user: Option<String>,
    /// Print one JSON object per line.
    #[arg(long)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an account (passphrase from CHATROOM_PASSPHRASE or stdin).
    Register {
        /// Username.
        username: String,
        /// E-mail address.
        email: String,
        /// Use otp-sha1 instead of otp-md5.
        #[arg(long)]
        sha1: bool,
    },
    /// Confirm your e-mail address with the 6-digit code from the registration mail.
    Verify {
        /// Username.
        username: String,
        /// The code from the mail.
        code: String,
    },
    /// Ask for a new verification code by mail.
    ResendVerification {
        /// Username.
        username: String,
    },
    /// List rooms.
    Rooms,
    /// Create a public room.
    Create {
        /// Room name.
        room: String,
    },
    /// Post a message.
    Send {
        /// Room name.
        room: String,
        /// The text.
        text: String,
    },
    /// Print a room's messages as they arrive, in order.
    Listen {
        /// Room name.
        room: String,
        /// Exit after this many new messages.
        #[arg(long)]
        count: Option<usize>,
    },
    /// Print a page of history.
    History {
        /// Room name.
        room: String,
        /// Only messages before this sequence number.
        #[arg(long)]
        before: Option<u64>,
        /// Page size.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Who is online in a room.
    Who {
        /// Room name.
        room: String,
    },
    /// Show or change your avatar.
    Avatar {
        #[command(subcommand)]
        action: AvatarAction,
    },
}

#[derive(Debug, Subcommand)]
enum AvatarAction {
    /// Upload an image (PNG, JPEG, GIF, WebP) as your avatar.
    Set {
        /// The image file.
        file: PathBuf,
    },
    /// Save an avatar's PNG by hash.
    Get {
        /// The avatar's SHA-256 (64 hex digits).
        hash: String,
        /// Where to write the PNG.
        #[arg(long)]
        out: PathBuf,
    },
    /// List the pictures you can pick from.
    Pool,
    /// Use a picture from the pool.
    Pick {
        /// The picture's hash.
        hash: String,
    },
}

fn parse_hash(text: &str) -> anyhow::Result<AvatarHash> {
    AvatarHash::from_hex(text).ok_or_else(|| {
        anyhow::Error::new(ClientError::Invalid(
            chatroom_common::validate::ValidationError::AvatarHash,
        ))
    })
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
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("chatroom-cli: {e:#}");
        let code = match e.downcast_ref::<ClientError>() {
            Some(ClientError::Invalid(_) | ClientError::Skey(_) | ClientError::Address(_)) => 2,
            _ => 1,
        };
        std::process::exit(code);
    }
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

async fn login(cli: &Cli, session: &mut Session) -> anyhow::Result<()> {
    let Some(user) = &cli.user else {
        bail!("this command needs --user");
    };
    let pass = passphrase()?;
    let outcome = session.login(user, &pass, None).await?;
    if outcome.reinitialised {
        eprintln!(
            "one-time passwords were running low; the chain was renewed ({} left)",
            outcome.otp_remaining
        );
    }
    Ok(())
}

fn print_message(json: bool, m: &ChatMessage) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string(m)?);
    } else {
        println!("[{}#{}] {}: {}", m.room, m.seq, m.sender, m.text);
    }
    Ok(())
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let trust = match (&cli.ca, &cli.pin) {
        (Some(ca), None) => Trust::ca_file(ca)?,
        (None, Some(pin)) => Trust::parse_pin(pin)?,
        _ => bail!("give --ca FILE or --pin SHA256 so the server can be verified"),
    };
    let mut session = Session::connect(&cli.server, &trust).await?;
    match &cli.command {
        Command::Register {
            username,
            email,
            sha1,
        } => {
            let pass = passphrase()?;
            let alg = if *sha1 {
                OtpAlgorithm::Sha1
            } else {
                OtpAlgorithm::Md5
            };
            let registered = session.register(username, email, &pass, alg).await?;
            let user = registered.user;
            if cli.json {
                let mut value = serde_json::to_value(&user)?;
                value["verification_required"] = registered.verification_required.into();
                println!("{value}");
            } else {
                println!("registered {}", user.username);
                if registered.verification_required {
                    println!(
                        "a code is on its way to {email}; confirm it with: chatroom-cli verify {} CODE",
                        user.username
                    );
                }
            }
        }
        Command::Verify { username, code } => {
            session.verify_email(username, code).await?;
            println!("e-mail address verified; {username} can log in now");
        }
        Command::ResendVerification { username } => {
            session.resend_verification(username).await?;
            println!("a new code is on its way to {username}'s e-mail address");
        }
        Command::Rooms => {
            login(&cli, &mut session).await?;
            for room in session.rooms().await? {
                if cli.json {
                    println!("{}", serde_json::to_string(&room)?);
                } else {
                    println!("{} ({} messages)", room.name, room.latest_seq);
                }
            }
        }
        Command::Create { room } => {
            login(&cli, &mut session).await?;
            let room = session.create_room(room).await?;
            println!("created {}", room.name);
        }
        Command::Send { room, text } => {
            login(&cli, &mut session).await?;
            let sent = session.send(room, text).await?;
            if cli.json {
                println!(
                    "{}",
                    serde_json::json!({"room": room, "seq": sent.seq, "sent_at": sent.sent_at})
                );
            } else {
                println!("sent #{}", sent.seq);
            }
        }
        Command::Listen { room, count } => {
            login(&cli, &mut session).await?;
            listen(&cli, &mut session, room, *count).await?;
        }
        Command::History {
            room,
            before,
            limit,
        } => {
            login(&cli, &mut session).await?;
            let query = HistoryQuery::Before {
                before: *before,
                limit: *limit,
            };
            let (messages, _) = session.history(room, query).await?;
            for m in &messages {
                print_message(cli.json, m)?;
            }
        }
        Command::Avatar { action } => {
            login(&cli, &mut session).await?;
            match action {
                AvatarAction::Set { file } => {
                    let image = std::fs::read(file)
                        .with_context(|| format!("reading {}", file.display()))?;
                    let hash = session.upload_avatar(image).await?;
                    println!("avatar set: {hash}");
                }
                AvatarAction::Get { hash, out } => {
                    let png = session.avatar(parse_hash(hash)?).await?;
                    std::fs::write(out, png)
                        .with_context(|| format!("writing {}", out.display()))?;
                }
                AvatarAction::Pool => {
                    for hash in session.avatar_pool().await? {
                        println!("{hash}");
                    }
                }
                AvatarAction::Pick { hash } => {
                    let hash = session.choose_avatar(parse_hash(hash)?).await?;
                    println!("avatar set: {hash}");
                }
            }
        }
        Command::Who { room } => {
            login(&cli, &mut session).await?;
            for user in session.who(room).await? {
                if cli.json {
                    println!("{}", serde_json::to_string(&user)?);
                } else {
                    println!("{}", user.username);
                }
            }
        }
    }
    session.close().await;
    Ok(())
}

/// Prints new messages strictly in sequence order, fetching any gap from history.
async fn listen(
    cli: &Cli,
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
    if !cli.json {
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
                timeline.note_latest(after_seq + 1);
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
            print_message(cli.json, m)?;
            printed = m.seq;
            remaining -= 1;
        }
    }
    Ok(())
}
