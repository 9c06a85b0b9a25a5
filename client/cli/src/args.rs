//! The command line: flags, subcommands and the help text (clap derive).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Shown after the flags in `-h` and `--help`: the commands a first-time user
/// and a script writer reach for, ready to copy.
const EXAMPLES: &str = "\
Examples:
  export CHATROOM_SERVER=chat.example.org:4433 CHATROOM_PIN=<fingerprint the server printed>
  chatroom-cli register alice alice@example.org       # asks for a passphrase
  chatroom-cli --user alice send lobby 'hello, everyone'
  chatroom-cli --user alice listen lobby              # until Ctrl-C
  make 2>&1 | CHATROOM_PASSPHRASE=... chatroom-cli --user ci send builds --stdin
  chatroom-cli --user alice send-file lobby photo.jpg --text 'the view'
  chatroom-cli --user alice get-file <hash from the message> --out photo.jpg
  chatroom-cli --user alice --json history lobby --limit 20 | jq -r .text";

/// Chat on a Chatroom server from a terminal or a script: register, send,
/// listen, read history, see who is online.
///
/// Each run opens one verified QUIC connection to the server (--ca FILE or
/// --pin FINGERPRINT; verification is never skipped), logs in with an S/KEY
/// one-time password computed here from your passphrase (the passphrase never
/// leaves this computer), does its one job, and closes the connection, so the
/// others see you go offline at once.
///
/// The passphrase comes from CHATROOM_PASSPHRASE, else the first line of
/// standard input, else a prompt. The send command waits and retries, with
/// the same idempotency key, when the server says to slow down (up to 30 s
/// per message; --no-retry fails instead), so a retried message is stored
/// once. With --json every result is one JSON object per line, avatar hashes
/// as 64 hex digits.
///
/// Exit status: 0 on success; 2 for bad input (address, username, e-mail,
/// passphrase, message text); 130 or 143 after Ctrl-C or SIGTERM (the
/// connection is closed first); 1 for anything else, explained on stderr.
#[derive(Debug, Parser)]
#[command(version, verbatim_doc_comment, after_help = EXAMPLES)]
pub struct Cli {
    /// Server address, HOST:PORT.
    #[arg(long, env = "CHATROOM_SERVER")]
    pub server: String,
    /// CA certificate file to verify the server with (the server's ca.pem).
    #[arg(long, env = "CHATROOM_CA", conflicts_with = "pin")]
    pub ca: Option<PathBuf>,
    /// SHA-256 fingerprint of the server's CA certificate (printed by the server at start).
    #[arg(long, env = "CHATROOM_PIN")]
    pub pin: Option<String>,
    /// Username for commands that log in.
    #[arg(long, env = "CHATROOM_USER")]
    pub user: Option<String>,
    /// Print one JSON object per line (avatar hashes as hex strings).
    #[arg(long)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
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
    /// Post a message, or each line of standard input with --stdin.
    Send {
        /// Room name.
        room: String,
        /// The text.
        #[arg(required_unless_present = "stdin", conflicts_with = "stdin")]
        text: Option<String>,
        /// Post each line of standard input as a message of its own, in order,
        /// as the lines arrive (empty lines are skipped). Set
        /// CHATROOM_PASSPHRASE: otherwise the first line is the passphrase.
        #[arg(long)]
        stdin: bool,
        /// Fail at once when the server says to slow down, instead of waiting
        /// and retrying with the same idempotency key (up to 30 s per message).
        #[arg(long)]
        no_retry: bool,
    },
    /// Post files (pictures, documents, anything up to the server's limit)
    /// in a room, as one message with an optional text.
    SendFile {
        /// Room name.
        room: String,
        /// The files, in the order they are shown (at most 10).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Text to post with the files.
        #[arg(long)]
        text: Option<String>,
    },
    /// Download a file posted in a room you are in (or one you uploaded).
    GetFile {
        /// The file's SHA-256 (64 hex digits, as messages show it).
        hash: String,
        /// Where to write it; `-` for standard output.
        #[arg(long)]
        out: PathBuf,
        /// Replace the file at --out if there is one.
        #[arg(long)]
        force: bool,
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
        /// What to do with it.
        #[command(subcommand)]
        action: AvatarAction,
    },
}

impl Command {
    /// Whether the command runs as a logged-in user (and so needs a passphrase).
    pub fn logs_in(&self) -> bool {
        !matches!(
            self,
            Command::Register { .. } | Command::Verify { .. } | Command::ResendVerification { .. }
        )
    }
}

/// The `avatar` subcommands.
#[derive(Debug, Subcommand)]
pub enum AvatarAction {
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
