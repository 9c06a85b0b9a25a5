//! Runs the real `chatroom-otp` binary with a piped pass phrase.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `chatroom-otp` with `args`, writing `stdin` to it, and waits for it.
fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatroom-otp"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The program may exit before reading (on bad arguments), closing the pipe.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[test]
fn md5_is_the_default() {
    let out = run(&["99", "TeSt"], "This is a test.\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "BAIL TUFT BITS GANG CHEF THY\n");
}

#[test]
fn flags_choose_the_algorithm_and_hex() {
    let out = run(&["--sha1", "--hex", "99", "alpha1"], "AbCdEfGhIjK\r\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "27BC 7103 5AAF 3DC6\n");

    let out = run(&["--md4", "1", "correct"], "OTP's are good");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "GIST AMOS MOOT AIDS FOOD SEEM\n");
}

#[test]
fn a_whole_challenge_is_accepted() {
    let out = run(&["otp-sha1 0 TeSt"], "This is a test.\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "MILT VARY MAST OK SEES WENT\n");

    // Pasted unquoted, with the RFC 2243 "ext" marker.
    let out = run(&["otp-md5", "499", "ke1234", "ext"], "This is a test.\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "BOND FOGY DRAB NE RISE MART\n");
}

#[test]
fn bad_input_exits_with_status_2() {
    let cases: &[(&[&str], &str, &str)] = &[
        (&["99", "TeSt"], "Too_short\n", "at least 10"),
        (
            &["99", "TeSt"],
            &format!("{}\n", "x".repeat(64)),
            "at most 63",
        ),
        (&["99", "TeSt"], "", "no pass phrase"),
        (&["99", "TeSt"], "\n", "no pass phrase"),
        (&["99", "Length_Okay"], "This is a test.\n", "seed"),
        (&["99", "LengthOfSeventeen"], "This is a test.\n", "seed"),
        (&["100001", "TeSt"], "This is a test.\n", "at most 100000"),
        (&["-5", "TeSt"], "This is a test.\n", ""),
        (&["99"], "This is a test.\n", "COUNT SEED"),
        (&["otp-rot13 99 TeSt"], "This is a test.\n", "algorithm"),
        (
            &["--sha1", "otp-md5 99 TeSt"],
            "This is a test.\n",
            "otp-md5",
        ),
        (&["--sha1", "--md4", "99", "TeSt"], "This is a test.\n", ""),
        (&[], "This is a test.\n", ""),
    ];
    for (args, stdin, message) in cases {
        let out = run(args, stdin);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(!err.is_empty(), "{args:?}");
    }
}
