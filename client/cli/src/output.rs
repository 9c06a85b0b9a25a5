//! What the CLI prints on stdout: a line of words for people, or with `--json`
//! one JSON object per line for scripts.
//!
//! The JSON shapes are this module's own structs rather than the protocol
//! types serialised as they are, for two reasons: the protocol's byte fields
//! serialise as bytes, which JSON can only spell as an array of numbers, where
//! a script wants the 64 hex digits it can pass back (`avatar get HASH`); and
//! each conversion destructures the protocol type completely, so a field added
//! there fails to compile here until someone decides how scripts see it.

use std::path::Path;

use chatroom_client::session::{Registered, Sent};
use chatroom_common::protocol::{
    Attachment, AvatarHash, ChatMessage, FileHash, ImageInfo, RoomInfo, RoomKind, Seq, UserInfo,
};
use serde::Serialize;

/// Prints results in the chosen format.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// One JSON object per line instead of words.
    pub json: bool,
}

/// A user as scripts see one.
#[derive(Serialize)]
struct UserJson<'a> {
    username: &'a str,
    /// 64 hex digits, or null when the user has no avatar.
    avatar: Option<String>,
}

impl<'a> From<&'a UserInfo> for UserJson<'a> {
    fn from(user: &'a UserInfo) -> Self {
        let UserInfo { username, avatar } = user;
        Self {
            username,
            avatar: hex(*avatar),
        }
    }
}

/// A message as scripts see one.
#[derive(Serialize)]
struct MessageJson<'a> {
    room: &'a str,
    seq: Seq,
    sender: &'a str,
    /// 64 hex digits, or null.
    sender_avatar: Option<String>,
    text: &'a str,
    /// Milliseconds since the Unix epoch, UTC.
    sent_at: i64,
    /// The files posted with it (an empty list when there are none).
    attachments: Vec<FileJson<'a>>,
}

impl<'a> From<&'a ChatMessage> for MessageJson<'a> {
    fn from(message: &'a ChatMessage) -> Self {
        let ChatMessage {
            room,
            seq,
            sender,
            sender_avatar,
            text,
            sent_at,
            attachments,
        } = message;
        Self {
            room,
            seq: *seq,
            sender,
            sender_avatar: hex(*sender_avatar),
            text,
            sent_at: *sent_at,
            attachments: attachments.iter().map(FileJson::from).collect(),
        }
    }
}

/// A file in a message as scripts see one.
#[derive(Serialize)]
struct FileJson<'a> {
    /// 64 hex digits: what `get-file` takes.
    hash: String,
    name: &'a str,
    size: u64,
    mime: &'a str,
    /// Pixel size and thumbnail hash, for pictures.
    image: Option<ImageJson>,
}

/// A picture's details as scripts see them.
#[derive(Serialize)]
struct ImageJson {
    width: u32,
    height: u32,
    /// 64 hex digits.
    thumbnail: String,
}

impl<'a> From<&'a Attachment> for FileJson<'a> {
    fn from(file: &'a Attachment) -> Self {
        let Attachment {
            hash,
            name,
            size,
            mime,
            image,
        } = file;
        Self {
            hash: hash.to_string(),
            name,
            size: *size,
            mime,
            image: image.map(
                |ImageInfo {
                     width,
                     height,
                     thumbnail,
                 }| ImageJson {
                    width,
                    height,
                    thumbnail: thumbnail.to_string(),
                },
            ),
        }
    }
}

/// A file's size in words: bytes, KiB, MiB or GiB with one decimal.
fn size_words(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// One line per file: name, size, type and the hash to fetch it by.
fn print_files(files: &[Attachment]) {
    for file in files {
        println!(
            "  file: {} ({}, {}) {}",
            file.name,
            size_words(file.size),
            file.mime,
            file.hash
        );
    }
}

/// A room as scripts see one.
#[derive(Serialize)]
struct RoomJson<'a> {
    name: &'a str,
    /// `Public` or `Direct`.
    kind: RoomKind,
    latest_seq: Seq,
    /// The other participant of a direct room.
    peer: Option<&'a str>,
    member: bool,
}

impl<'a> From<&'a RoomInfo> for RoomJson<'a> {
    fn from(room: &'a RoomInfo) -> Self {
        let RoomInfo {
            name,
            kind,
            latest_seq,
            peer,
            member,
        } = room;
        Self {
            name,
            kind: *kind,
            latest_seq: *latest_seq,
            peer: peer.as_deref(),
            member: *member,
        }
    }
}

fn hex(hash: Option<AvatarHash>) -> Option<String> {
    hash.map(|h| h.to_string())
}

/// Prints one JSON object as one line.
fn line(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

impl Output {
    /// A new account.
    pub fn registered(self, registered: &Registered, email: &str) -> anyhow::Result<()> {
        let user = &registered.user;
        if self.json {
            #[derive(Serialize)]
            struct Json<'a> {
                #[serde(flatten)]
                user: UserJson<'a>,
                verification_required: bool,
            }
            return line(&Json {
                user: user.into(),
                verification_required: registered.verification_required,
            });
        }
        println!("registered {}", user.username);
        if registered.verification_required {
            println!(
                "a code is on its way to {email}; confirm it with: chatroom-cli verify {} CODE",
                user.username
            );
        }
        Ok(())
    }

    /// An e-mail address confirmed.
    pub fn verified(self, username: &str) -> anyhow::Result<()> {
        if self.json {
            return line(&serde_json::json!({"username": username, "verified": true}));
        }
        println!("e-mail address verified; {username} can log in now");
        Ok(())
    }

    /// A new verification code on its way.
    pub fn verification_sent(self, username: &str) -> anyhow::Result<()> {
        if self.json {
            return line(&serde_json::json!({"username": username, "verification_sent": true}));
        }
        println!("a new code is on its way to {username}'s e-mail address");
        Ok(())
    }

    /// A room, listed.
    pub fn room(self, room: &RoomInfo) -> anyhow::Result<()> {
        if self.json {
            return line(&RoomJson::from(room));
        }
        println!("{} ({} messages)", room.name, room.latest_seq);
        Ok(())
    }

    /// A room, created.
    pub fn created(self, room: &RoomInfo) -> anyhow::Result<()> {
        if self.json {
            return line(&RoomJson::from(room));
        }
        println!("created {}", room.name);
        Ok(())
    }

    /// A message stored by the server.
    pub fn sent(self, room: &str, sent: &Sent) -> anyhow::Result<()> {
        if self.json {
            return line(&serde_json::json!({
                "room": room,
                "seq": sent.seq,
                "sent_at": sent.sent_at,
            }));
        }
        println!("sent #{}", sent.seq);
        Ok(())
    }

    /// A message, from history or as it arrived.
    pub fn message(self, message: &ChatMessage) -> anyhow::Result<()> {
        if self.json {
            return line(&MessageJson::from(message));
        }
        println!(
            "[{}#{}] {}: {}",
            message.room, message.seq, message.sender, message.text
        );
        print_files(&message.attachments);
        Ok(())
    }

    /// Files posted as one message.
    pub fn files_sent(self, room: &str, sent: &Sent, files: &[Attachment]) -> anyhow::Result<()> {
        if self.json {
            return line(&serde_json::json!({
                "room": room,
                "seq": sent.seq,
                "sent_at": sent.sent_at,
                "attachments": files.iter().map(FileJson::from).collect::<Vec<_>>(),
            }));
        }
        println!("sent #{}", sent.seq);
        print_files(files);
        Ok(())
    }

    /// A downloaded file written to `file` (silent without `--json`, like `cp`).
    pub fn file_saved(
        self,
        hash: FileHash,
        file: &Path,
        bytes: usize,
        mime: &str,
    ) -> anyhow::Result<()> {
        if self.json {
            return line(&serde_json::json!({
                "hash": hash.to_string(),
                "file": file.display().to_string(),
                "bytes": bytes,
                "mime": mime,
            }));
        }
        Ok(())
    }

    /// Someone online.
    pub fn user(self, user: &UserInfo) -> anyhow::Result<()> {
        if self.json {
            return line(&UserJson::from(user));
        }
        println!("{}", user.username);
        Ok(())
    }

    /// This user's avatar changed.
    pub fn avatar_set(self, hash: AvatarHash) -> anyhow::Result<()> {
        if self.json {
            return line(&serde_json::json!({"avatar": hash.to_string()}));
        }
        println!("avatar set: {hash}");
        Ok(())
    }

    /// An avatar saved to a file (silent without `--json`, like `cp`).
    pub fn avatar_saved(self, hash: AvatarHash, file: &Path, bytes: usize) -> anyhow::Result<()> {
        if self.json {
            return line(&serde_json::json!({
                "hash": hash.to_string(),
                "file": file.display().to_string(),
                "bytes": bytes,
            }));
        }
        Ok(())
    }

    /// A picture in the avatar pool.
    pub fn pool_entry(self, hash: AvatarHash) -> anyhow::Result<()> {
        if self.json {
            return line(&serde_json::json!({"hash": hash.to_string()}));
        }
        println!("{hash}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON a script reads for a message carries the avatar as hex.
    #[test]
    fn avatars_are_hex_in_json() {
        let hash = AvatarHash([0xab; 32]);
        let message = ChatMessage {
            room: "lobby".into(),
            seq: 7,
            sender: "alice".into(),
            sender_avatar: Some(hash),
            text: "hi".into(),
            sent_at: 1,
            attachments: Vec::new(),
        };
        let json = serde_json::to_value(MessageJson::from(&message)).expect("serialises");
        assert_eq!(json["sender_avatar"], "ab".repeat(32));
        let user = UserInfo {
            username: "alice".into(),
            avatar: None,
        };
        let json = serde_json::to_value(UserJson::from(&user)).expect("serialises");
        assert_eq!(json["avatar"], serde_json::Value::Null);
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(size_words(0), "0 B");
        assert_eq!(size_words(1023), "1023 B");
        assert_eq!(size_words(1536), "1.5 KiB");
        assert_eq!(size_words(25 * 1024 * 1024), "25.0 MiB");
        assert_eq!(size_words(u64::MAX), "17179869184.0 GiB");
    }
}
