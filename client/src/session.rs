//! A logged-in (or about to be) session: registration with a locally computed
//! S/KEY chain, login by challenge and response, and every chat request.
//! The passphrase is used here, on this computer, and never sent.

use chatroom_common::protocol::{
    Attachment, AvatarHash, Challenge, ChatMessage, Event, FileHash, FileRef, HistoryQuery,
    IdempotencyKey, MAX_UPLOAD_BYTES, OtpAlgorithm, Reply, Request, RoomInfo, Seq, Timestamp,
    UserInfo,
};
use chatroom_common::{skey, validate};
use rand::Rng;
use sha2::Digest;
use tokio::sync::mpsc;

use crate::ClientError;
use crate::connection::{self, Connection, unexpected};
use crate::tls::Trust;
use crate::transfer::Downloaded;

/// Length of a new chain: one login each, re-initialised when it runs low.
pub const DEFAULT_CHAIN: u32 = 1000;
/// Below this many remaining one-time passwords the client re-initialises.
pub const REINIT_BELOW: u32 = 10;

/// What a successful login tells the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginOutcome {
    /// The account.
    pub user: UserInfo,
    /// One-time passwords left in the chain (after any re-initialisation).
    pub otp_remaining: u32,
    /// True when the chain ran low and was replaced during this login.
    pub reinitialised: bool,
    /// The challenge count that was answered (clients remember it to detect a
    /// server that asks for a count again: the small-n attack).
    pub answered_count: u32,
    /// How many one-time passwords were used since the `last_count` given to
    /// [`Session::login`] besides this one: logins from elsewhere, or a server
    /// probing for a count an attacker could use (the small-n attack). Zero
    /// when nothing was skipped or no `last_count` was given.
    pub skipped: u32,
}

/// What a successful registration tells the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The new account.
    pub user: UserInfo,
    /// True when the account cannot log in before the 6-digit code from the
    /// registration mail is entered ([`Session::verify_email`]).
    pub verification_required: bool,
}

/// The answer to `JoinRoom`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    /// The room.
    pub room: RoomInfo,
    /// Its latest messages, ascending.
    pub history: Vec<ChatMessage>,
    /// Members online now.
    pub online: Vec<UserInfo>,
}

/// An acknowledged (stored) message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// Its sequence number in the room.
    pub seq: Seq,
    /// When the server stored it.
    pub sent_at: Timestamp,
    /// True when the key had been used: this was a retry of a stored message.
    pub duplicate: bool,
}

/// A fresh random seed in the RFC's style: two letters and four digits.
pub fn new_seed() -> String {
    let mut rng = rand::rng();
    let a = char::from(b'a' + rng.random_range(0..26u8));
    let b = char::from(b'a' + rng.random_range(0..26u8));
    format!("{a}{b}{:04}", rng.random_range(0..10_000u32))
}

/// A fresh idempotency key for a send.
pub fn new_key() -> IdempotencyKey {
    IdempotencyKey(rand::random())
}

/// A connection plus the logged-in user.
pub struct Session {
    /// The connection.
    conn: Connection,
    /// Who is logged in.
    user: Option<UserInfo>,
}

impl Session {
    /// Connects and says hello.
    pub async fn connect(server: &str, trust: &Trust) -> Result<Self, ClientError> {
        Ok(Self {
            conn: connection::connect(server, trust).await?,
            user: None,
        })
    }

    /// Connects with options (a shared endpoint, the server's event stream mode).
    pub async fn connect_with(
        server: &str,
        trust: &Trust,
        options: &connection::ConnectOptions,
    ) -> Result<Self, ClientError> {
        Ok(Self {
            conn: connection::connect_with(server, trust, options).await?,
            user: None,
        })
    }

    /// The underlying connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The stream of server events (once).
    pub fn take_events(&mut self) -> Option<mpsc::Receiver<Event>> {
        self.conn.take_events()
    }

    /// The logged-in user.
    pub fn user(&self) -> Option<&UserInfo> {
        self.user.as_ref()
    }

    /// Creates an account. The S/KEY chain is computed here from the
    /// passphrase; only its starting value goes to the server.
    pub async fn register(
        &self,
        username: &str,
        email: &str,
        passphrase: &str,
        algorithm: OtpAlgorithm,
    ) -> Result<Registered, ClientError> {
        validate::username_key(username)?;
        validate::email(email)?;
        skey::validate_passphrase(passphrase)?;
        let otp = skey::init(algorithm, &new_seed(), passphrase, DEFAULT_CHAIN)?;
        let request = Request::Register {
            username: username.to_owned(),
            email: email.to_owned(),
            otp,
        };
        match self.conn.request(&request).await? {
            Reply::Registered {
                user,
                verification_required,
            } => Ok(Registered {
                user,
                verification_required,
            }),
            other => Err(unexpected(&other)),
        }
    }

    /// Confirms the account's e-mail address with the code from the mail
    /// (spaces and dashes in it are fine); needed before the first login when
    /// the server requires verification.
    pub async fn verify_email(&self, username: &str, code: &str) -> Result<(), ClientError> {
        validate::username_key(username)?;
        let request = Request::VerifyEmail {
            username: username.to_owned(),
            code: code.to_owned(),
        };
        match self.conn.request(&request).await? {
            Reply::EmailVerified => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// Asks the server to mail a new verification code (earlier codes stop
    /// working); the server allows one request a minute per account.
    pub async fn resend_verification(&self, username: &str) -> Result<(), ClientError> {
        validate::username_key(username)?;
        let request = Request::ResendVerification {
            username: username.to_owned(),
        };
        match self.conn.request(&request).await? {
            Reply::VerificationSent => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// Asks for the user's current challenge.
    pub async fn challenge(&self, username: &str) -> Result<Challenge, ClientError> {
        let request = Request::LoginStart {
            username: username.to_owned(),
        };
        match self.conn.request(&request).await? {
            Reply::Challenge(challenge) => Ok(challenge),
            other => Err(unexpected(&other)),
        }
    }

    /// Logs in: answers the challenge with the OTP computed locally, and
    /// re-initialises the chain when fewer than [`REINIT_BELOW`] remain.
    ///
    /// `last_count` is the challenge count this client answered last time for
    /// this user; a challenge at or above it is refused, since answering a count
    /// twice would hand an attacker a valid password (the small-n attack).
    pub async fn login(
        &mut self,
        username: &str,
        passphrase: &str,
        last_count: Option<u32>,
    ) -> Result<LoginOutcome, ClientError> {
        skey::validate_passphrase(passphrase)?;
        let challenge = self.challenge(username).await?;
        if let Some(last) = last_count
            && challenge.count >= last
        {
            return Err(ClientError::Protocol(format!(
                "the server asked for one-time password {} but {} was used already; refusing (possible attack)",
                challenge.count, last
            )));
        }
        // The next count after `last` is `last - 1`; anything lower means
        // passwords were used without this client: worth a warning, not a refusal,
        // since the user may simply have logged in from another computer.
        let skipped = last_count.map_or(0, |last| {
            last.saturating_sub(1).saturating_sub(challenge.count)
        });
        let response = skey::otp(
            challenge.algorithm,
            &challenge.seed,
            passphrase,
            challenge.count,
        )?;
        let request = Request::LoginFinish {
            username: username.to_owned(),
            response,
        };
        let (user, mut remaining) = match self.conn.request(&request).await? {
            Reply::LoggedIn {
                user,
                otp_remaining,
            } => (user, otp_remaining),
            other => return Err(unexpected(&other)),
        };
        self.user = Some(user.clone());
        let mut reinitialised = false;
        if remaining < REINIT_BELOW {
            remaining = self.reinit(passphrase, challenge.algorithm).await?;
            reinitialised = true;
        }
        Ok(LoginOutcome {
            user,
            otp_remaining: remaining,
            reinitialised,
            answered_count: challenge.count,
            skipped,
        })
    }

    /// Replaces the chain with a new seed (inside the authenticated session).
    pub async fn reinit(
        &self,
        passphrase: &str,
        algorithm: OtpAlgorithm,
    ) -> Result<u32, ClientError> {
        let otp = skey::init(algorithm, &new_seed(), passphrase, DEFAULT_CHAIN)?;
        match self.conn.request(&Request::ReinitOtp { otp }).await? {
            Reply::OtpReinitialised { otp_remaining } => Ok(otp_remaining),
            other => Err(unexpected(&other)),
        }
    }

    /// Public rooms and the user's direct rooms.
    pub async fn rooms(&self) -> Result<Vec<RoomInfo>, ClientError> {
        match self.conn.request(&Request::ListRooms).await? {
            Reply::Rooms(rooms) => Ok(rooms),
            other => Err(unexpected(&other)),
        }
    }

    /// Creates a public room and joins it.
    pub async fn create_room(&self, name: &str) -> Result<RoomInfo, ClientError> {
        validate::room_name(name)?;
        let request = Request::CreateRoom {
            name: name.to_owned(),
        };
        match self.conn.request(&request).await? {
            Reply::Room(room) => Ok(room),
            other => Err(unexpected(&other)),
        }
    }

    /// Joins a room: recent history and who is online.
    pub async fn join(&self, room: &str) -> Result<Joined, ClientError> {
        let request = Request::JoinRoom {
            room: room.to_owned(),
        };
        match self.conn.request(&request).await? {
            Reply::Joined {
                room,
                history,
                online,
            } => Ok(Joined {
                room,
                history,
                online,
            }),
            other => Err(unexpected(&other)),
        }
    }

    /// Leaves a public room.
    pub async fn leave(&self, room: &str) -> Result<(), ClientError> {
        let request = Request::LeaveRoom {
            room: room.to_owned(),
        };
        match self.conn.request(&request).await? {
            Reply::Left => Ok(()),
            other => Err(unexpected(&other)),
        }
    }

    /// Opens the direct conversation with another user.
    pub async fn open_direct(&self, user: &str) -> Result<RoomInfo, ClientError> {
        let request = Request::OpenDirect {
            user: user.to_owned(),
        };
        match self.conn.request(&request).await? {
            Reply::Room(room) => Ok(room),
            other => Err(unexpected(&other)),
        }
    }

    /// Who is online in a room.
    pub async fn who(&self, room: &str) -> Result<Vec<UserInfo>, ClientError> {
        let request = Request::Who {
            room: room.to_owned(),
        };
        match self.conn.request(&request).await? {
            Reply::Online(users) => Ok(users),
            other => Err(unexpected(&other)),
        }
    }

    /// Posts a message with a fresh idempotency key.
    pub async fn send(&self, room: &str, text: &str) -> Result<Sent, ClientError> {
        self.send_with_key(room, text, new_key()).await
    }

    /// Posts a message with the caller's key; retrying with the same key after a
    /// lost connection never posts twice.
    pub async fn send_with_key(
        &self,
        room: &str,
        text: &str,
        key: IdempotencyKey,
    ) -> Result<Sent, ClientError> {
        self.send_with_files(room, text, key, Vec::new()).await
    }

    /// Posts a message with uploaded files attached (see [`Session::upload`]);
    /// the text may be empty when files come with it.
    pub async fn send_with_files(
        &self,
        room: &str,
        text: &str,
        key: IdempotencyKey,
        attachments: Vec<FileRef>,
    ) -> Result<Sent, ClientError> {
        validate::message(text, attachments.len())?;
        let request = Request::Send {
            room: room.to_owned(),
            text: text.to_owned(),
            key,
            attachments,
        };
        match self.conn.request(&request).await? {
            Reply::Sent {
                seq,
                sent_at,
                duplicate,
            } => Ok(Sent {
                seq,
                sent_at,
                duplicate,
            }),
            other => Err(unexpected(&other)),
        }
    }

    /// Uploads a file (at most the server's limit, 25 MiB by default) on a
    /// low-priority stream of its own; `progress` hears the bytes sent so far.
    pub async fn upload(
        &self,
        name: &str,
        bytes: &[u8],
        progress: impl FnMut(u64),
    ) -> Result<Attachment, ClientError> {
        let name = validate::file_name(name)?;
        self.conn.upload(&name, bytes, progress).await
    }

    /// Downloads a file or thumbnail posted where this user can see it;
    /// `progress` hears (bytes received, bytes expected).
    pub async fn download(
        &self,
        hash: FileHash,
        progress: impl FnMut(u64, u64),
    ) -> Result<Downloaded, ClientError> {
        self.conn.download(hash, 0, progress).await
    }

    /// A page of history, ascending; also returns the room's latest sequence number.
    pub async fn history(
        &self,
        room: &str,
        query: HistoryQuery,
    ) -> Result<(Vec<ChatMessage>, Seq), ClientError> {
        let request = Request::History {
            room: room.to_owned(),
            query,
        };
        match self.conn.request(&request).await? {
            Reply::History {
                messages,
                latest_seq,
            } => Ok((messages, latest_seq)),
            other => Err(unexpected(&other)),
        }
    }

    /// Fetches an avatar's PNG bytes and checks that they hash to `hash`.
    pub async fn avatar(&self, hash: AvatarHash) -> Result<Vec<u8>, ClientError> {
        match self.conn.request(&Request::AvatarGet { hash }).await? {
            Reply::Avatar { png, .. } if sha2::Sha256::digest(&png).as_slice() == hash.0 => Ok(png),
            Reply::Avatar { .. } => Err(ClientError::Protocol(
                "the avatar's bytes do not match its hash".into(),
            )),
            other => Err(unexpected(&other)),
        }
    }

    /// The pictures the server offers to pick from.
    pub async fn avatar_pool(&self) -> Result<Vec<AvatarHash>, ClientError> {
        match self.conn.request(&Request::AvatarPool).await? {
            Reply::AvatarPool(list) => Ok(list),
            other => Err(unexpected(&other)),
        }
    }

    /// Uses a pool picture as this user's avatar.
    pub async fn choose_avatar(&self, hash: AvatarHash) -> Result<AvatarHash, ClientError> {
        match self.conn.request(&Request::AvatarChoose { hash }).await? {
            Reply::AvatarChanged { avatar } => Ok(avatar),
            other => Err(unexpected(&other)),
        }
    }

    /// Uploads an image file's bytes as this user's avatar.
    pub async fn upload_avatar(&self, image: Vec<u8>) -> Result<AvatarHash, ClientError> {
        if image.len() > MAX_UPLOAD_BYTES {
            return Err(ClientError::Protocol(format!(
                "the image is {} bytes; uploads are limited to {MAX_UPLOAD_BYTES} bytes",
                image.len()
            )));
        }
        match self.conn.request(&Request::AvatarUpload { image }).await? {
            Reply::AvatarChanged { avatar } => Ok(avatar),
            other => Err(unexpected(&other)),
        }
    }

    /// Closes the connection politely.
    pub async fn close(&self) {
        self.conn.close().await;
    }
}
