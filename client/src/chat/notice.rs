//! A failure the worker reports as a [`Notice`]: the sentence in English, and
//! beside it what failed ([`About`]) and why ([`Cause`], the server's
//! `ErrorCode` when it refused), so a front end can word it in its own
//! language and show it next to what it concerns instead of reading the
//! English sentence.

use std::fmt;
use std::path::PathBuf;

use chatroom_common::protocol::ErrorCode;

/// The request that failed (or could not be made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    /// The list of rooms asked for by the user.
    RoomList,
    /// The list of rooms after a login, to rejoin them.
    Rejoin,
    /// Joining the named room.
    Join(String),
    /// Creating the named public room.
    Create(String),
    /// Leaving the named public room.
    Leave(String),
    /// Opening the direct conversation with the named user.
    Direct(String),
    /// Filling a gap in a room's messages.
    MissedMessages,
    /// A page of older messages.
    OlderMessages,
    /// The pictures the server offers.
    PicturePool,
    /// Using a picture from the pool.
    ChoosePicture,
    /// An uploaded picture (the server refused it).
    UploadPicture,
    /// Reading an image file before uploading it.
    ReadPicture(PathBuf),
    /// Asking for a new e-mail verification code.
    NewCode,
    /// Uploading the named file.
    Upload(String),
    /// Reading a file before uploading it.
    ReadFile(PathBuf),
    /// Downloading a file.
    Download,
    /// Writing a downloaded file to this path.
    SaveFile(PathBuf),
}

impl fmt::Display for About {
    /// The English words that start the notice ("Could not join garden").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            About::RoomList => f.write_str("Could not list rooms"),
            About::Rejoin => f.write_str("Could not rejoin the rooms"),
            About::Join(room) => write!(f, "Could not join {room}"),
            About::Create(room) => write!(f, "Could not create {room}"),
            About::Leave(room) => write!(f, "Could not leave {room}"),
            About::Direct(user) => write!(f, "Could not message {user}"),
            About::MissedMessages => f.write_str("Could not fetch missed messages"),
            About::OlderMessages => f.write_str("Could not load older messages"),
            About::PicturePool => f.write_str("Could not list the pictures"),
            About::ChoosePicture => f.write_str("Could not change your picture"),
            About::UploadPicture => f.write_str("That picture was not accepted"),
            About::ReadPicture(path) => write!(f, "Could not use {}", path.display()),
            About::NewCode => f.write_str("Could not send a new code"),
            About::Upload(name) => write!(f, "Could not upload {name}"),
            About::ReadFile(path) => write!(f, "Could not read {}", path.display()),
            About::Download => f.write_str("Could not download the file"),
            About::SaveFile(path) => write!(f, "Could not save {}", path.display()),
        }
    }
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// Not connected right now: the request was not made.
    Offline,
    /// The server refused it with this code.
    Refused(ErrorCode),
    /// Anything else (a local file, a protocol failure): the English
    /// [`Notice::detail`] is all there is.
    Other,
}

/// A failure to show briefly; nothing else changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// What failed; `None` when the notice concerns no single request.
    pub about: Option<About>,
    /// Why.
    pub cause: Cause,
    /// The reason in English as the library or the server worded it (an I/O
    /// error, the server's message): the fallback for what has no words of
    /// its own in a front end's language.
    pub detail: String,
}

impl Notice {
    /// Nothing was sent: there is no connection at the moment.
    pub fn offline() -> Self {
        Self {
            about: None,
            cause: Cause::Offline,
            detail: "not connected right now; try again in a moment".into(),
        }
    }
}

impl fmt::Display for Notice {
    /// The whole notice as an English sentence, as the worker always worded it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.about, self.cause) {
            (_, Cause::Offline) => f.write_str("Not connected right now; try again in a moment."),
            (Some(about), _) => write!(f, "{about}: {}", self.detail),
            (None, _) => f.write_str(&self.detail),
        }
    }
}
