//! `chatroom-otp`: an RFC 2289 one-time password calculator, like `opiekey`.
//!
//! ```text
//! chatroom-otp [--md5|--sha1|--md4] [--hex] COUNT SEED
//! chatroom-otp [--hex] "otp-md5 499 ke1234"
//! ```
//!
//! The pass phrase is read without echo when standard input is a terminal,
//! otherwise as one line from standard input. Bad input exits with status 2.

use std::io::{BufRead, IsTerminal, Read};
use std::process::ExitCode;

use anyhow::{Context, bail};
use chatroom_common::protocol::{Challenge, OtpAlgorithm};
use chatroom_common::report;
use chatroom_common::skey::{self, SkeyError};
use clap::Parser;

/// Longest pass phrase line read from a pipe, in bytes; the pass phrase limit
/// is 63 characters, so anything longer is refused anyway.
const MAX_LINE_BYTES: u64 = 1024;

/// Computes the one-time password that answers an S/KEY challenge.
#[derive(Parser, Debug)]
#[command(
    name = "chatroom-otp",
    version,
    after_help = "Examples:\n  chatroom-otp 499 ke1234\n  chatroom-otp --sha1 --hex 499 ke1234\n  chatroom-otp \"otp-md5 499 ke1234\""
)]
struct Args {
    /// Use MD5 (the default).
    #[arg(long, conflicts_with_all = ["sha1", "md4"])]
    md5: bool,
    /// Use SHA-1.
    #[arg(long, conflicts_with = "md4")]
    sha1: bool,
    /// Use MD4.
    #[arg(long)]
    md4: bool,
    /// Print the password as hex instead of six words.
    #[arg(long)]
    hex: bool,
    /// COUNT SEED, or a whole challenge such as "otp-md5 499 ke1234".
    #[arg(required = true, num_args = 1..=4, value_name = "COUNT SEED | CHALLENGE")]
    challenge: Vec<String>,
}

/// Input the user must fix; it makes the program exit with status 2, like a usage error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadInput(String);

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(answer) => {
            println!("{answer}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("chatroom-otp: {}", report::one_line(err.chain()));
            let is_bad_input = err
                .chain()
                .any(|cause| cause.is::<SkeyError>() || cause.is::<BadInput>());
            ExitCode::from(if is_bad_input { 2 } else { 1 })
        }
    }
}

/// Works out the challenge, reads the pass phrase and returns the formatted answer.
fn run(args: &Args) -> anyhow::Result<String> {
    let challenge = challenge(args)?;
    let passphrase = read_passphrase()?;
    let value = skey::otp(
        challenge.algorithm,
        &challenge.seed,
        &passphrase,
        challenge.count,
    )?;
    Ok(if args.hex {
        skey::to_hex(value)
    } else {
        skey::to_words(value)
    })
}

/// The algorithm a flag asks for, if any.
fn flagged_algorithm(args: &Args) -> Option<OtpAlgorithm> {
    if args.sha1 {
        Some(OtpAlgorithm::Sha1)
    } else if args.md4 {
        Some(OtpAlgorithm::Md4)
    } else if args.md5 {
        Some(OtpAlgorithm::Md5)
    } else {
        None
    }
}

/// Builds the challenge from `COUNT SEED` plus the flags, or parses a whole
/// challenge (given as one argument or several).
fn challenge(args: &Args) -> anyhow::Result<Challenge> {
    let flagged = flagged_algorithm(args);
    let first = args
        .challenge
        .first()
        .map(String::as_str)
        .unwrap_or_default();
    let starts_with_count = first.bytes().all(|b| b.is_ascii_digit());
    if starts_with_count {
        let [count, seed] = args.challenge.as_slice() else {
            return Err(BadInput("expected COUNT SEED, like: 499 ke1234".to_owned()).into());
        };
        let count = skey::parse_count(count).context("reading COUNT")?;
        let seed = skey::normalize_seed(seed).context("reading SEED")?;
        return Ok(Challenge {
            algorithm: flagged.unwrap_or(OtpAlgorithm::Md5),
            count,
            seed,
        });
    }
    let text = args.challenge.join(" ");
    let challenge = skey::parse_challenge(&text).context("reading the challenge")?;
    if let Some(flagged) = flagged
        && flagged != challenge.algorithm
    {
        return Err(BadInput(format!(
            "the challenge asks for {} but the flags ask for {flagged}",
            challenge.algorithm
        ))
        .into());
    }
    Ok(challenge)
}

/// Reads the pass phrase: without echo from a terminal, else one line from stdin.
fn read_passphrase() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let mut line = if stdin.is_terminal() {
        rpassword::prompt_password("Enter secret pass phrase: ")
            .context("reading the pass phrase from the terminal")?
    } else {
        let mut line = String::new();
        stdin
            .lock()
            .take(MAX_LINE_BYTES)
            .read_line(&mut line)
            .context("reading the pass phrase from standard input")?;
        line
    };
    // Only the line ending goes: spaces are part of a pass phrase.
    let end = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(end);
    if line.is_empty() {
        bail!(BadInput("no pass phrase given".to_owned()));
    }
    Ok(line)
}
