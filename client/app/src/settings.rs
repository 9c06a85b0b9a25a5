//! What the app remembers between runs (eframe persistence): the server and
//! username last used, pinned certificates, per-account bookkeeping, and
//! whether to show desktop notifications (and for which rooms not), and the
//! language picked.
//! Never the passphrase: it lives in memory only (see `chat::Secret`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The key under which eframe stores [`Settings`].
pub const STORAGE_KEY: &str = "chatroom-settings";

/// Persisted settings. Serialized because they cross the process boundary
/// (to disk and back); `#[serde(default)]` lets old files load after changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The server address last used, `host:port`.
    pub server: String,
    /// The username last used.
    pub username: String,
    /// Path of a CA file to trust instead of a pinned fingerprint.
    pub ca_file: String,
    /// Pinned SHA-256 fingerprints (hex) by server address: trust on first use.
    pub pins: BTreeMap<String, String>,
    /// Per account ([`account_key`]): the last challenge count answered,
    /// to refuse a server that asks for a used count again (not a secret).
    pub last_counts: BTreeMap<String, u32>,
    /// Per account: the public rooms joined, rejoined at the next login.
    pub rooms: BTreeMap<String, Vec<String>>,
    /// Desktop notifications for direct messages and mentions that arrive
    /// while the window is in the background (on unless turned off).
    pub notifications: bool,
    /// Per account: the rooms (and direct conversations) muted, which never
    /// notify and do not count in the window title.
    pub muted: BTreeMap<String, BTreeSet<String>>,
    /// The language the user picked, by tag ("en", "zh-CN"); `None` follows
    /// the system. A tag this version does not know (written by a newer
    /// one) also follows the system, instead of failing the whole file.
    pub language: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: String::new(),
            username: String::new(),
            ca_file: String::new(),
            pins: BTreeMap::new(),
            last_counts: BTreeMap::new(),
            rooms: BTreeMap::new(),
            // Files from before the setting existed load with it on, too.
            notifications: true,
            muted: BTreeMap::new(),
            language: None,
        }
    }
}

/// The key for per-account entries: server address and case-folded username.
pub fn account_key(server: &str, username: &str) -> String {
    format!(
        "{}|{}",
        server.trim().to_lowercase(),
        username.trim().to_lowercase()
    )
}

/// The key for a server's pin: the address as typed, trimmed and lower-cased.
pub fn server_key(server: &str) -> String {
    server.trim().to_lowercase()
}

impl Settings {
    /// The pinned fingerprint for a server, if any.
    pub fn pin(&self, server: &str) -> Option<&str> {
        self.pins.get(&server_key(server)).map(String::as_str)
    }

    /// Pins a server's fingerprint.
    pub fn set_pin(&mut self, server: &str, fingerprint_hex: &str) {
        self.pins
            .insert(server_key(server), fingerprint_hex.to_owned());
    }

    /// Forgets a server's pin (after the user checked a new fingerprint).
    pub fn forget_pin(&mut self, server: &str) {
        self.pins.remove(&server_key(server));
    }

    /// Whether an account muted a room.
    pub fn is_muted(&self, server: &str, username: &str, room: &str) -> bool {
        self.muted
            .get(&account_key(server, username))
            .is_some_and(|rooms| rooms.contains(room))
    }

    /// Mutes or unmutes a room for an account.
    pub fn set_muted(&mut self, server: &str, username: &str, room: &str, muted: bool) {
        let key = account_key(server, username);
        let rooms = self.muted.entry(key.clone()).or_default();
        if muted {
            rooms.insert(room.to_owned());
        } else {
            rooms.remove(room);
            if rooms.is_empty() {
                self.muted.remove(&key);
            }
        }
    }

    /// Remembers a public room joined by an account.
    pub fn remember_room(&mut self, server: &str, username: &str, room: &str) {
        let rooms = self.rooms.entry(account_key(server, username)).or_default();
        if !rooms.iter().any(|r| r == room) {
            rooms.push(room.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_missing_fields() {
        let mut s = Settings {
            server: "Example.org:4433".into(),
            username: "alice".into(),
            ..Settings::default()
        };
        s.set_pin("Example.org:4433 ", "ab");
        s.remember_room("example.org:4433", "Alice", "books");
        s.remember_room("example.org:4433", "alice", "books");
        s.last_counts
            .insert(account_key("example.org:4433", "ALICE"), 98);
        let json = serde_json::to_string(&s).unwrap_or_default();
        assert!(!json.to_lowercase().contains("passphrase"));
        let back: Settings = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, s);
        assert_eq!(back.pin("example.org:4433"), Some("ab"));
        assert_eq!(
            back.rooms["example.org:4433|alice"],
            vec!["books".to_owned()]
        );
        let old: Settings = serde_json::from_str(r#"{"server":"h:1"}"#).unwrap_or_default();
        assert_eq!(old.server, "h:1");
        assert!(old.notifications, "notifications are on unless turned off");
        assert_eq!(
            old.language, None,
            "the system's language unless one was picked"
        );
    }

    #[test]
    fn muted_rooms_are_per_account_and_persist() {
        let mut s = Settings::default();
        s.set_muted("example.org:4433", "Alice", "books", true);
        assert!(s.is_muted("EXAMPLE.org:4433 ", "alice", "books"));
        assert!(!s.is_muted("example.org:4433", "bob", "books"));
        assert!(!s.is_muted("example.org:4433", "alice", "lobby"));
        s.notifications = false;
        let json = serde_json::to_string(&s).unwrap_or_default();
        let back: Settings = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, s);
        s.set_muted("example.org:4433", "alice", "books", false);
        assert!(s.muted.is_empty());
    }
}
