//! The config file (`--config`): the shipped example, flags over environment over file over defaults, clear errors.
//!
//! In-process tests parse with the real parser ([`Cli`]), which also reads the
//! process's environment: they assume no `CHATROOM_*` variable is set. The
//! environment's place in the order is tested through the binary, whose
//! environment each test sets for its child alone.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chatroom_server::cli::{Cli, CliError, Flags, Invocation};
use chatroom_server::config_file::{ConfigFileError, FileSettings};
use chatroom_server::{Config, StreamMode, TlsSource};
use clap::CommandFactory;

/// The example file shipped beside the server's manifest.
fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("server.example.toml")
}

/// Parses `args` (after the program name) with the real parser and layers in the file.
fn resolve(args: &[&str]) -> Result<Invocation, CliError> {
    let argv = std::iter::once("chatroom-server").chain(args.iter().copied());
    Cli::try_parse_from(argv)
        .expect("the flags parse")
        .resolve()
}

fn config(args: &[&str]) -> Config {
    resolve(args).expect("the configuration resolves").config
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config file");
    path
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// The line (from 1) of `text` that `needle` is first on.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text.find(needle).expect("needle in text");
    text[..at].matches('\n').count() + 1
}

/// The config-file key of every long flag, as the docs promise: the flag without its dashes.
fn flag_keys() -> Vec<String> {
    Flags::command()
        .get_arguments()
        .filter_map(|arg| arg.get_long())
        .filter(|long| !["config", "help", "version"].contains(long))
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------
// The example file.

#[test]
fn the_example_file_parses_and_documents_every_flag() {
    let path = example();
    let text = std::fs::read_to_string(&path).expect("read the example");
    let settings = FileSettings::load(&path).expect("the example loads");
    assert_eq!(
        settings.data_dir.as_deref(),
        Some(Path::new("/var/lib/chatroom"))
    );
    let resolved = config(&["--config", path_str(&path)]);
    assert_eq!(resolved.data_dir, Path::new("/var/lib/chatroom"));

    // docs/operations.md shows the file as it is.
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/operations.md");
    let docs = std::fs::read_to_string(docs).expect("read docs/operations.md");
    assert!(
        docs.contains(&format!("```toml\n{text}```\n")),
        "docs/operations.md's copy of the example differs from server/server.example.toml"
    );

    // Every flag appears as a key, set or commented out.
    for key in flag_keys() {
        let set = text.lines().any(|l| l.starts_with(&format!("{key} = ")));
        let commented = text.lines().any(|l| l.starts_with(&format!("# {key} = ")));
        assert!(set || commented, "the example does not mention `{key}`");
    }

    // The commented-out settings are valid too once uncommented (cert and key together).
    let dir = tempfile::tempdir().expect("temp dir");
    let commented: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| {
            flag_keys()
                .iter()
                .any(|k| l.starts_with(&format!("{k} = ")))
        })
        .collect();
    assert!(!commented.is_empty());
    let (tls_pair, single): (Vec<&str>, Vec<&str>) = commented
        .into_iter()
        .partition(|l| l.starts_with("cert = ") || l.starts_with("key = "));
    let mut files: Vec<String> = single.iter().map(|l| format!("{l}\n")).collect();
    files.push(tls_pair.join("\n"));
    for (i, body) in files.iter().enumerate() {
        let file = write(dir.path(), &format!("{i}.toml"), body);
        if let Err(e) = FileSettings::load(&file) {
            panic!("uncommented example line {body:?} does not load: {e}");
        }
    }
}

// ---------------------------------------------------------------------------
// Precedence.

/// A file setting every key to something other than its default.
const EVERY_KEY: &str = r#"
listen = "127.0.0.1:7001"
data-dir = "from-file"
database = "sqlite:///tmp/from-file.sqlite3"
tls-name = ["file.example.org", "192.0.2.1"]
name = "File Chat"
stream-mode = "single"
max-connections-per-ip = 11
outbound-queue = 12
push-window-kib = 13
push-delay-ms = 3
idle-timeout-secs = 14
send-rate = 15.5
send-burst = 16
registrations-per-hour = 17.5
registration-burst = 18
smtp-url = "smtp://file.example.org:25"
mail-from = "File <file@example.org>"
require-email-verification = true
"#;

#[test]
fn the_file_sets_every_key_and_relative_paths_follow_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(dir.path(), "server.toml", EVERY_KEY);
    let c = config(&["--config", path_str(&file)]);
    assert_eq!(
        c.listen,
        "127.0.0.1:7001".parse::<SocketAddr>().expect("addr")
    );
    assert_eq!(c.data_dir, dir.path().join("from-file"));
    assert_eq!(
        c.database.as_deref(),
        Some("sqlite:///tmp/from-file.sqlite3")
    );
    match &c.tls {
        TlsSource::Generated { extra_names } => {
            assert_eq!(extra_names, &["file.example.org", "192.0.2.1"]);
        }
        other => panic!("expected generated certificates, got {other:?}"),
    }
    assert_eq!(c.server_name, "File Chat");
    assert_eq!(c.stream_mode, StreamMode::Single);
    assert_eq!(c.limits.max_connections_per_ip, 11);
    assert_eq!(c.limits.outbound_queue, 12);
    assert_eq!(c.limits.push_window, 13 * 1024);
    assert_eq!(c.limits.push_delay, Duration::from_millis(3));
    assert_eq!(c.limits.idle_timeout, Duration::from_secs(14));
    assert_eq!(c.limits.send_rate, 15.5);
    assert_eq!(c.limits.send_burst, 16);
    assert_eq!(c.limits.registrations_per_hour, 17.5);
    assert_eq!(c.limits.registration_burst, 18);
    assert_eq!(
        c.mail.smtp_url.as_deref(),
        Some("smtp://file.example.org:25")
    );
    assert_eq!(c.mail.from, "File <file@example.org>");
    assert!(c.mail.require_verification);
}

#[test]
fn flags_override_every_key_of_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(dir.path(), "server.toml", EVERY_KEY);
    let flag_dir = dir.path().join("from-flag");
    let c = config(&[
        "--config",
        path_str(&file),
        "--listen",
        "127.0.0.1:7002",
        "--data-dir",
        path_str(&flag_dir),
        "--database",
        "sqlite:///tmp/from-flag.sqlite3",
        "--tls-name",
        "flag.example.org",
        "--name",
        "Flag Chat",
        "--stream-mode",
        "per-message",
        "--max-connections-per-ip",
        "21",
        "--outbound-queue",
        "22",
        "--push-window-kib",
        "23",
        "--push-delay-ms",
        "0",
        "--idle-timeout-secs",
        "24",
        "--send-rate",
        "25.5",
        "--send-burst",
        "26",
        "--registrations-per-hour",
        "27.5",
        "--registration-burst",
        "28",
        "--smtp-url",
        "smtp://flag.example.org:25",
        "--mail-from",
        "Flag <flag@example.org>",
    ]);
    assert_eq!(
        c.listen,
        "127.0.0.1:7002".parse::<SocketAddr>().expect("addr")
    );
    assert_eq!(c.data_dir, flag_dir);
    assert_eq!(
        c.database.as_deref(),
        Some("sqlite:///tmp/from-flag.sqlite3")
    );
    match &c.tls {
        TlsSource::Generated { extra_names } => assert_eq!(extra_names, &["flag.example.org"]),
        other => panic!("expected generated certificates, got {other:?}"),
    }
    assert_eq!(c.server_name, "Flag Chat");
    // A flag equal to the default still overrides the file.
    assert_eq!(c.stream_mode, StreamMode::PerMessage);
    assert_eq!(c.limits.max_connections_per_ip, 21);
    assert_eq!(c.limits.outbound_queue, 22);
    assert_eq!(c.limits.push_window, 23 * 1024);
    assert_eq!(c.limits.push_delay, Duration::ZERO);
    assert_eq!(c.limits.idle_timeout, Duration::from_secs(24));
    assert_eq!(c.limits.send_rate, 25.5);
    assert_eq!(c.limits.send_burst, 26);
    assert_eq!(c.limits.registrations_per_hour, 27.5);
    assert_eq!(c.limits.registration_burst, 28);
    assert_eq!(
        c.mail.smtp_url.as_deref(),
        Some("smtp://flag.example.org:25")
    );
    assert_eq!(c.mail.from, "Flag <flag@example.org>");
    // The switch can only be turned on by a flag; the file turned it on.
    assert!(c.mail.require_verification);
}

#[test]
fn without_a_file_or_flags_the_defaults_apply() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = write(dir.path(), "empty.toml", "# nothing set\n");
    let data_dir = dir.path().join("data");
    let with_empty_file = config(&[
        "--config",
        path_str(&empty),
        "--data-dir",
        path_str(&data_dir),
    ]);
    let defaults = Config::new("0.0.0.0:4433".parse().expect("addr"), data_dir.clone());
    // The flags' defaults and the library's agree, and an empty file changes nothing.
    assert_eq!(with_empty_file.listen, defaults.listen);
    assert_eq!(with_empty_file.server_name, defaults.server_name);
    assert_eq!(with_empty_file.stream_mode, defaults.stream_mode);
    assert_eq!(with_empty_file.mail.from, defaults.mail.from);
    assert_eq!(
        with_empty_file.mail.require_verification,
        defaults.mail.require_verification
    );
    assert_eq!(with_empty_file.limits.send_rate, defaults.limits.send_rate);
    assert_eq!(with_empty_file.limits.push_delay, Duration::ZERO);
    assert_eq!(defaults.limits.push_delay, Duration::ZERO);
    assert_eq!(with_empty_file.database, None);
}

#[test]
fn tls_flags_replace_the_file_s_certificate_choice_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(
        dir.path(),
        "server.toml",
        "cert = \"chain.pem\"\nkey = \"key.pem\"\n",
    );
    // From the file alone: the chain and key, relative to the file.
    match config(&["--config", path_str(&file)]).tls {
        TlsSource::Files { cert, key } => {
            assert_eq!(cert, dir.path().join("chain.pem"));
            assert_eq!(key, dir.path().join("key.pem"));
        }
        other => panic!("expected the file's chain, got {other:?}"),
    }
    // `--certs` does not meet the file's `cert` and `key`: it replaces them.
    let certs = dir.path().join("certs");
    match config(&["--config", path_str(&file), "--certs", path_str(&certs)]).tls {
        TlsSource::Dir(found) => assert_eq!(found, certs),
        other => panic!("expected the flag's directory, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Errors.

/// The error for a config file holding `text`, with the file's path.
fn file_error(text: &str) -> (ConfigFileError, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(dir.path(), "server.toml", text);
    match resolve(&["--config", path_str(&file)]) {
        Err(CliError::ConfigFile(error)) => (error, file, dir),
        Err(other) => panic!("expected a config file error, got {other}"),
        Ok(_) => panic!("{text:?} was accepted"),
    }
}

/// Asserts `error` is about `key` on `line` of `file`, and says so in words.
fn assert_names(error: &ConfigFileError, file: &Path, key: &str, line: usize, words: &str) {
    match error {
        ConfigFileError::Invalid {
            path,
            line: found_line,
            key: found_key,
            message,
        } => {
            assert_eq!(path, file);
            assert_eq!(*found_line, Some(line), "{error}");
            assert_eq!(found_key.as_deref(), Some(key), "{error}");
            assert!(message.contains(words), "{error}");
        }
        other => panic!("expected an invalid-file error, got {other}"),
    }
    let shown = error.to_string();
    for part in [
        path_str(file),
        &format!("line {line}"),
        &format!("`{key}`"),
        words,
    ] {
        assert!(shown.contains(part), "{shown:?} lacks {part:?}");
    }
}

#[test]
fn an_unknown_key_names_the_file_line_and_key() {
    let text = "listen = \"127.0.0.1:0\"\n# a typo:\nsned-rate = 5\n";
    let (error, file, _dir) = file_error(text);
    assert_names(
        &error,
        &file,
        "sned-rate",
        line_of(text, "sned-rate"),
        "unknown field",
    );
}

#[test]
fn a_table_is_an_unknown_key_too() {
    let text = "name = \"x\"\n\n[limits]\nsend-rate = 5\n";
    let (error, file, _dir) = file_error(text);
    assert_names(
        &error,
        &file,
        "limits",
        line_of(text, "limits"),
        "unknown field",
    );
}

#[test]
fn a_wrong_type_names_the_file_line_and_key() {
    let text = "name = \"x\"\nsend-burst = 10\nsend-rate = \"fast\"\n";
    let (error, file, _dir) = file_error(text);
    assert_names(
        &error,
        &file,
        "send-rate",
        line_of(text, "send-rate"),
        "invalid type",
    );

    let text = "tls-name = [\n  \"a.example.org\",\n  3,\n]\n";
    let (error, file, _dir) = file_error(text);
    assert_names(
        &error,
        &file,
        "tls-name",
        line_of(text, "3,"),
        "invalid type",
    );

    let text = "outbound-queue = -1\n";
    let (error, file, _dir) = file_error(text);
    assert_names(&error, &file, "outbound-queue", 1, "-1");
}

#[test]
fn a_value_that_does_not_parse_names_the_file_line_and_key() {
    let text = "\nstream-mode = \"multi\"\n";
    let (error, file, _dir) = file_error(text);
    assert_names(&error, &file, "stream-mode", 2, "multi");

    let text = "listen = \"localhost\"\n";
    let (error, file, _dir) = file_error(text);
    assert_names(&error, &file, "listen", 1, "address");
}

#[test]
fn a_push_delay_past_its_bound_is_refused_from_the_file_and_the_flag() {
    let text = "name = \"x\"\npush-delay-ms = 21\n";
    let (error, file, _dir) = file_error(text);
    assert_names(&error, &file, "push-delay-ms", 2, "at most 20 ms");

    // The bound itself is allowed.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write(dir.path(), "server.toml", "push-delay-ms = 20\n");
    let c = config(&["--config", path_str(&file)]);
    assert_eq!(c.limits.push_delay, Duration::from_millis(20));

    let error = Cli::try_parse_from(["chatroom-server", "--push-delay-ms", "21"])
        .expect_err("--push-delay-ms 21 was accepted");
    let shown = error.to_string();
    assert!(
        shown.contains("--push-delay-ms") && shown.contains("21"),
        "{shown}"
    );
}

#[test]
fn contradicting_tls_keys_name_the_file_line_and_key() {
    let text = "certs = \"certs\"\ncert = \"chain.pem\"\nkey = \"key.pem\"\n";
    let (error, file, _dir) = file_error(text);
    assert_names(&error, &file, "cert", 2, "certs");

    let text = "name = \"x\"\nkey = \"key.pem\"\n";
    let (error, file, _dir) = file_error(text);
    assert_names(&error, &file, "key", 2, "cert");
}

#[test]
fn broken_toml_names_the_file_and_line() {
    let text = "name = \"x\"\nlisten = \n";
    let (error, file, _dir) = file_error(text);
    match &error {
        ConfigFileError::Invalid { line, .. } => assert_eq!(*line, Some(2), "{error}"),
        other => panic!("expected an invalid-file error, got {other}"),
    }
    assert!(error.to_string().contains(path_str(&file)), "{error}");
}

#[test]
fn an_unreadable_file_is_named() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.toml");
    let not_utf8 = write(dir.path(), "binary.toml", "");
    std::fs::write(&not_utf8, b"name = \"\xff\"\n").expect("write");
    for path in [missing, dir.path().to_owned(), not_utf8] {
        match resolve(&["--config", path_str(&path)]) {
            Err(CliError::ConfigFile(error @ ConfigFileError::Read { .. })) => {
                assert!(error.to_string().contains(path_str(&path)), "{error}");
            }
            Err(other) => panic!("{}: expected a read error, got {other}", path.display()),
            Ok(_) => panic!("{} was accepted", path.display()),
        }
    }
}

// ---------------------------------------------------------------------------
// The environment's place, through the binary (each child has its own environment).

/// `chatroom-server ARGS migrate` with only `env` among the `CHATROOM_*` variables.
fn migrate(args: &[&str], env: &[(&str, &Path)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chatroom-server"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CHATROOM_") {
            command.env_remove(name);
        }
    }
    command.args(args).arg("migrate");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the server binary runs")
}

/// Which of `dirs` got the SQLite database that `migrate` creates in the data directory.
fn migrated(dirs: &[&Path]) -> Vec<PathBuf> {
    dirs.iter()
        .filter(|dir| dir.join("chatroom.sqlite3").exists())
        .map(|dir| dir.to_path_buf())
        .collect()
}

#[test]
fn the_environment_overrides_the_file_and_flags_override_both() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (file_dir, env_dir, flag_dir) = (
        dir.path().join("file"),
        dir.path().join("env"),
        dir.path().join("flag"),
    );
    let file = write(
        dir.path(),
        "server.toml",
        &format!("data-dir = {:?}\n", path_str(&file_dir)),
    );
    let all = [file_dir.as_path(), env_dir.as_path(), flag_dir.as_path()];

    let out = migrate(&["--config", path_str(&file)], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        migrated(&all),
        std::slice::from_ref(&file_dir),
        "the file alone"
    );

    std::fs::remove_dir_all(&file_dir).expect("clean up");
    let out = migrate(
        &["--config", path_str(&file)],
        &[("CHATROOM_DATA_DIR", &env_dir)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        migrated(&all),
        std::slice::from_ref(&env_dir),
        "environment over file"
    );

    std::fs::remove_dir_all(&env_dir).expect("clean up");
    let out = migrate(
        &[
            "--config",
            path_str(&file),
            "--data-dir",
            path_str(&flag_dir),
        ],
        &[("CHATROOM_DATA_DIR", &env_dir)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        migrated(&all),
        std::slice::from_ref(&flag_dir),
        "flag over environment"
    );

    // CHATROOM_CONFIG names the file as --config does.
    std::fs::remove_dir_all(&flag_dir).expect("clean up");
    let out = migrate(&[], &[("CHATROOM_CONFIG", &file)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        migrated(&all),
        std::slice::from_ref(&file_dir),
        "CHATROOM_CONFIG"
    );
}

#[test]
fn the_binary_stops_on_a_bad_file_naming_file_line_and_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = "data-dir = \"data\"\nsend-rate = \"fast\"\n";
    let file = write(dir.path(), "server.toml", text);
    let out = migrate(&["--config", path_str(&file)], &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for part in [path_str(&file), "line 2", "`send-rate`", "invalid type"] {
        assert!(stderr.contains(part), "{stderr:?} lacks {part:?}");
    }
    assert!(
        !dir.path().join("data").exists(),
        "nothing is done with a bad file"
    );
}
