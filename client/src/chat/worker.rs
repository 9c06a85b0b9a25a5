//! The worker's select loop: commands from the UI, events from the server,
//! finished avatar fetches, and two timers (the next reconnect attempt; a
//! deferred gap check or send retry).
//! It handles one thing at a time, so its state needs no locks; the UI never
//! waits for it, since commands queue in an unbounded channel.

use std::time::Duration;

use chatroom_common::protocol::{ChatMessage, ErrorCode, Event, RoomKind, UserInfo};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info};

use super::avatars::{AvatarFetcher, Fetched};
use super::backoff::Backoff;
use super::connect::{Live, connect, describe};
use super::outbox::{Outbox, PendingSend};
use super::problem::{self, LoginProblem};
use super::sync::{self, Rooms};
use super::{Command, ConnStatus, Credentials, Inbox, UiEvent, WorkerOptions};
use crate::connection::probe_fingerprint;
use crate::session::DEFAULT_CHAIN;
use crate::{ClientError, LoginOutcome, Session};

/// Messages arrive on separate streams, so a gap often closes by itself within
/// milliseconds; only a gap still open after this is fetched from history.
const GAP_GRACE: Duration = Duration::from_millis(300);
/// How soon a send refused for a passing reason (storage, rate limit) is retried.
const SEND_RETRY: Duration = Duration::from_secs(2);
/// The room every account is in.
const LOBBY: &str = "lobby";

/// What woke the loop.
enum Next {
    /// A command, or `None` when the UI is gone.
    Command(Option<Command>),
    /// A server event, or `None` when the connection closed.
    Event(Option<Event>),
    /// Time for the next reconnect attempt.
    Retry,
    /// Time for the deferred gap check and send retry.
    Tick,
    /// An avatar fetch ended.
    Avatar(Option<Fetched>),
}

/// Runs until [`Command::Shutdown`] or until the UI drops its handle.
pub(super) async fn run(
    mut cmd_rx: mpsc::UnboundedReceiver<Command>,
    inbox: Inbox,
    options: WorkerOptions,
) {
    let mut worker = Worker::new(inbox, options);
    loop {
        match worker.next(&mut cmd_rx).await {
            Next::Command(None | Some(Command::Shutdown)) => break,
            Next::Command(Some(command)) => worker.command(command).await,
            Next::Event(Some(event)) => worker.event(event).await,
            Next::Event(None) => worker.lost(None).await,
            Next::Retry => worker.reconnect().await,
            Next::Tick => worker.tick().await,
            Next::Avatar(Some(fetched)) => worker.avatars.finished(&fetched),
            Next::Avatar(None) => {}
        }
    }
    worker.shutdown().await;
}

/// Sleeps until `at`, or forever when there is nothing scheduled.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// The worker's state.
struct Worker {
    /// Where events for the UI go.
    inbox: Inbox,
    /// Who to log in again as after a drop; `None` when logged out.
    account: Option<Credentials>,
    /// The connection, while there is one.
    live: Option<Live>,
    /// The logged-in user (the sender of our own messages).
    me: Option<UserInfo>,
    /// Joined rooms and their timelines; kept across reconnects.
    rooms: Rooms,
    /// Sends waiting for an acknowledgement; kept across reconnects.
    outbox: Outbox,
    /// Reconnect delays.
    backoff: Backoff,
    /// When to try reconnecting.
    retry_at: Option<Instant>,
    /// When to look for gaps and retry sends.
    tick_at: Option<Instant>,
    /// Avatar pictures asked for by the UI.
    avatars: AvatarFetcher,
    /// An account whose login waits for its e-mail verification code.
    unverified: Option<Credentials>,
}

impl Worker {
    fn new(inbox: Inbox, options: WorkerOptions) -> Self {
        Self {
            inbox,
            account: None,
            live: None,
            me: None,
            rooms: Rooms::default(),
            outbox: Outbox::default(),
            backoff: Backoff::new(),
            retry_at: None,
            tick_at: None,
            avatars: AvatarFetcher::new(options.avatar_dir),
            unverified: None,
        }
    }

    async fn next(&mut self, cmd_rx: &mut mpsc::UnboundedReceiver<Command>) -> Next {
        let live = &mut self.live;
        let events = async {
            match live {
                Some(live) => live.events.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            // Commands first, so a flood of events never delays the user.
            biased;
            command = cmd_rx.recv() => Next::Command(command),
            event = events => Next::Event(event),
            () = sleep_until(self.retry_at) => Next::Retry,
            () = sleep_until(self.tick_at) => Next::Tick,
            fetched = self.avatars.done_rx.recv() => Next::Avatar(fetched),
        }
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Probe { server } => {
                let result = probe_fingerprint(&server)
                    .await
                    .map_err(|e| LoginProblem::from_error(&e, &server, false));
                self.inbox.push(UiEvent::Probed { server, result });
            }
            Command::Login(credentials) => self.login(credentials, None).await,
            Command::Register { credentials, email } => self.login(credentials, Some(email)).await,
            Command::Join { room } => self.join(&room, false).await,
            Command::CreateRoom { name } => {
                let Some(live) = &self.live else {
                    return self.offline_notice();
                };
                match live.session.create_room(&name).await {
                    Ok(room) => self.join(&room.name, false).await,
                    Err(e) => self.failed(&format!("Could not create {name}"), e).await,
                }
            }
            Command::OpenDirect { user } => {
                let Some(live) = &self.live else {
                    return self.offline_notice();
                };
                match live.session.open_direct(&user).await {
                    Ok(room) => self.join(&room.name, false).await,
                    Err(e) => self.failed(&format!("Could not message {user}"), e).await,
                }
            }
            Command::Send { room, text, key } => {
                self.outbox.push(PendingSend { room, text, key });
                self.flush().await;
            }
            Command::LoadOlder { room, before } => {
                let Some(live) = &self.live else {
                    return self.offline_notice();
                };
                if let Err(e) = sync::load_older(&live.session, &self.inbox, &room, before).await {
                    self.failed("Could not load older messages", e).await;
                }
            }
            Command::RefreshRooms => {
                let Some(live) = &self.live else { return };
                match live.session.rooms().await {
                    Ok(list) => self.inbox.push(UiEvent::RoomList(list)),
                    Err(e) => self.failed("Could not list rooms", e).await,
                }
            }
            Command::FetchAvatars(hashes) => {
                let session = self.live.as_ref().map(|l| &l.session);
                self.avatars.want(hashes, session, &self.inbox);
            }
            Command::AvatarPool => {
                let Some(live) = &self.live else {
                    return self.offline_notice();
                };
                match live.session.avatar_pool().await {
                    Ok(pool) => self.inbox.push(UiEvent::AvatarPool(pool)),
                    Err(e) => self.failed("Could not list the pictures", e).await,
                }
            }
            Command::ChooseAvatar(hash) => {
                let Some(live) = &self.live else {
                    return self.offline_notice();
                };
                match live.session.choose_avatar(hash).await {
                    Ok(avatar) => self.avatar_changed(avatar),
                    Err(e) => self.failed("Could not change your picture", e).await,
                }
            }
            Command::UploadAvatar(path) => self.upload_avatar(&path).await,
            Command::VerifyEmail { code } => self.verify_email(&code).await,
            Command::ResendVerification => self.resend_verification().await,
            Command::Logout => self.logout().await,
            // Handled by the loop.
            Command::Shutdown => {}
        }
    }

    /// Logs in (registering first when `email` is given), then joins the rooms.
    async fn login(&mut self, credentials: Credentials, email: Option<String>) {
        self.logout().await;
        self.inbox.push(UiEvent::Status(ConnStatus::Connecting));
        match connect(&credentials, email.as_deref()).await {
            Ok((live, outcome)) => {
                info!(user = %credentials.username, server = %credentials.server, "logged in");
                self.account = Some(credentials);
                self.connected(live, outcome).await;
            }
            Err(e) => {
                let problem = describe(&e, &credentials).await;
                if problem == LoginProblem::EmailNotVerified {
                    // Kept so the code can be entered without typing the passphrase again.
                    self.unverified = Some(credentials);
                }
                self.inbox.push(UiEvent::LoginFailed(problem));
                self.inbox.push(UiEvent::Status(ConnStatus::Offline));
            }
        }
    }

    /// Reads an image file (refusing a large one before reading it all) and uploads it.
    async fn upload_avatar(&mut self, path: &std::path::Path) {
        let Some(live) = &self.live else {
            return self.offline_notice();
        };
        let limit = chatroom_common::protocol::MAX_UPLOAD_BYTES;
        let read = match tokio::fs::metadata(path).await {
            Ok(meta) if meta.len() > limit as u64 => Err(format!(
                "it is {} KiB; pictures up to {} KiB are accepted",
                meta.len() / 1024,
                limit / 1024
            )),
            Ok(_) => tokio::fs::read(path).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let bytes = match read {
            Ok(bytes) => bytes,
            Err(why) => {
                return self.inbox.push(UiEvent::Notice(format!(
                    "Could not use {}: {why}.",
                    path.display()
                )));
            }
        };
        match live.session.upload_avatar(bytes).await {
            Ok(avatar) => self.avatar_changed(avatar),
            Err(e) => self.failed("That picture was not accepted", e).await,
        }
    }

    fn avatar_changed(&mut self, avatar: chatroom_common::protocol::AvatarHash) {
        if let Some(me) = self.me.as_mut() {
            me.avatar = Some(avatar);
        }
        self.inbox.push(UiEvent::AvatarChanged(avatar));
    }

    /// Confirms the waiting account's address with `code`, then logs it in.
    async fn verify_email(&mut self, code: &str) {
        let Some(credentials) = self.unverified.clone() else {
            return self.inbox.push(UiEvent::LoginFailed(LoginProblem::Other(
                "Log in or register first; then enter the code.".into(),
            )));
        };
        let result = async {
            let session = Session::connect(&credentials.server, &credentials.trust).await?;
            let result = session.verify_email(&credentials.username, code).await;
            session.close().await;
            result
        }
        .await;
        match result {
            Ok(()) => {
                info!(user = %credentials.username, "e-mail address confirmed");
                self.unverified = None;
                self.login(credentials, None).await;
            }
            Err(e) => {
                let problem = verification_problem(&e, &credentials).await;
                self.inbox.push(UiEvent::LoginFailed(problem));
            }
        }
    }

    /// Asks the server to mail the waiting account a new code.
    async fn resend_verification(&mut self) {
        let Some(credentials) = self.unverified.clone() else {
            return self.inbox.push(UiEvent::Notice(
                "Log in or register first; then ask for a new code.".into(),
            ));
        };
        let result = async {
            let session = Session::connect(&credentials.server, &credentials.trust).await?;
            let result = session.resend_verification(&credentials.username).await;
            session.close().await;
            result
        }
        .await;
        match result {
            Ok(()) => self.inbox.push(UiEvent::VerificationSent),
            Err(e) => {
                let problem = verification_problem(&e, &credentials).await;
                self.inbox.push(UiEvent::Notice(problem.to_string()));
            }
        }
    }

    /// A fresh connection is logged in: report, rejoin, fill gaps, resend.
    async fn connected(&mut self, live: Live, outcome: LoginOutcome) {
        // After a re-initialisation the next challenge comes from the new chain,
        // which starts below DEFAULT_CHAIN; before it, below the count answered.
        let last_count = if outcome.reinitialised {
            DEFAULT_CHAIN
        } else {
            outcome.answered_count
        };
        let Some(account) = self.account.as_mut() else {
            return;
        };
        account.last_count = Some(last_count);
        let warning = (outcome.skipped > 0).then(|| skipped_warning(outcome.skipped));
        self.inbox.push(UiEvent::LoggedIn {
            server: account.server.clone(),
            user: outcome.user.clone(),
            otp_remaining: outcome.otp_remaining,
            last_count,
            warning,
        });
        self.inbox.push(UiEvent::Status(ConnStatus::Online));
        self.me = Some(outcome.user);
        self.backoff.reset();
        self.retry_at = None;
        self.avatars.start(&live.session, &self.inbox);
        self.live = Some(live);
        if let Err(e) = self.rejoin_all().await {
            return self.failed("Could not rejoin the rooms", e).await;
        }
        self.flush().await;
    }

    /// Lists rooms, then joins the lobby, the remembered public rooms and every
    /// direct room; each join fills its room's gap from history.
    async fn rejoin_all(&mut self) -> Result<(), ClientError> {
        let (Some(live), Some(account)) = (&self.live, &self.account) else {
            return Ok(());
        };
        let list = live.session.rooms().await?;
        let mut wanted = vec![LOBBY.to_owned()];
        wanted.extend(account.rooms.iter().cloned());
        wanted.extend(self.rooms.public_names());
        // Direct rooms, and public rooms joined on another device.
        wanted.extend(
            list.iter()
                .filter(|r| r.member || r.kind == RoomKind::Direct)
                .map(|r| r.name.clone()),
        );
        self.inbox.push(UiEvent::RoomList(list));
        let mut seen = std::collections::BTreeSet::new();
        for room in wanted {
            if !seen.insert(room.to_lowercase()) {
                continue;
            }
            match sync::join(&live.session, &self.inbox, &mut self.rooms, &room, false).await {
                Ok(_) => {}
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => self
                    .inbox
                    .push(UiEvent::Notice(format!("Could not rejoin {room}: {e}"))),
            }
        }
        Ok(())
    }

    /// Joins a room; `news` marks a first join's history unread (see `sync::join`).
    async fn join(&mut self, room: &str, news: bool) {
        let Some(live) = &self.live else {
            return self.offline_notice();
        };
        if let Err(e) = sync::join(&live.session, &self.inbox, &mut self.rooms, room, news).await {
            self.failed(&format!("Could not join {room}"), e).await;
        }
    }

    async fn event(&mut self, event: Event) {
        match event {
            Event::Message(message) => self.live_message(message).await,
            Event::Presence { room, user, online } => {
                self.inbox.push(UiEvent::Presence { room, user, online });
            }
            Event::Resync { room, after_seq } => {
                let (Some(live), Some(sync)) = (&self.live, self.rooms.map.get_mut(&room)) else {
                    return;
                };
                if let Err(e) = sync::resync(&live.session, &self.inbox, sync, after_seq).await {
                    self.failed("Could not catch up", e).await;
                }
            }
            // Someone opened a conversation with us: what is in it is news. A
            // public room joined on another device just appears, its history read.
            Event::RoomAdded(room) => {
                self.join(&room.name, room.kind == RoomKind::Direct).await;
            }
        }
    }

    async fn live_message(&mut self, message: ChatMessage) {
        let room = message.room.clone();
        if !self.rooms.map.contains_key(&room) {
            // A room this account belongs to but this run has not opened yet;
            // the message that brought it up is news.
            return self.join(&room, true).await;
        }
        self.rooms.accept(&self.inbox, &room, vec![message], true);
        if self.rooms.any_missing() && self.tick_at.is_none() {
            self.tick_at = Some(Instant::now() + GAP_GRACE);
        }
    }

    /// The deferred work: gaps still open, sends that may now go through.
    async fn tick(&mut self) {
        self.tick_at = None;
        let Some(live) = &self.live else { return };
        for sync in self.rooms.map.values_mut() {
            if sync.timeline.missing().is_none() {
                continue;
            }
            if let Err(e) = sync::fill_gaps(&live.session, &self.inbox, sync).await {
                return self.failed("Could not fetch missed messages", e).await;
            }
        }
        self.flush().await;
    }

    /// Sends queued messages in order until one cannot go now.
    async fn flush(&mut self) {
        let (Some(live), Some(me)) = (&self.live, &self.me) else {
            return;
        };
        while let Some(pending) = self.outbox.front().cloned() {
            let result = live
                .session
                .send_with_key(&pending.room, &pending.text, pending.key)
                .await;
            match result {
                Ok(sent) => {
                    self.outbox.pop();
                    // Shown at once as sent; the echo from the server is then a duplicate.
                    let message = ChatMessage {
                        room: pending.room.clone(),
                        seq: sent.seq,
                        sender: me.username.clone(),
                        sender_avatar: me.avatar,
                        text: pending.text,
                        sent_at: sent.sent_at,
                    };
                    self.rooms
                        .accept(&self.inbox, &pending.room, vec![message], false);
                    self.inbox.push(UiEvent::Sent {
                        room: pending.room,
                        key: pending.key,
                        seq: sent.seq,
                    });
                }
                Err(e) if e.is_transient() => {
                    // Kept with its key; a lost connection resends after the
                    // reconnect, anything else after a pause (the server's own
                    // figure when it gave one, as it does for "slow down").
                    debug!("send deferred: {e}");
                    if let ClientError::Server(reply) = &e {
                        let wait = reply
                            .retry_after_ms
                            .map_or(SEND_RETRY, Duration::from_millis);
                        if reply.code == ErrorCode::RateLimited {
                            self.inbox.push(UiEvent::SlowDown { retry_in: wait });
                        }
                        self.tick_at = Some(Instant::now() + wait);
                    } else if !matches!(e, ClientError::Closed(_) | ClientError::Unreachable(_)) {
                        self.tick_at = Some(Instant::now() + SEND_RETRY);
                    }
                    return;
                }
                Err(e) => {
                    self.outbox.pop();
                    self.inbox.push(UiEvent::SendFailed {
                        room: pending.room,
                        key: pending.key,
                        reason: e.to_string(),
                    });
                }
            }
        }
    }

    /// Handles a failed request: a lost connection starts reconnecting, a
    /// refusal becomes a notice.
    async fn failed(&mut self, what: &str, err: ClientError) {
        match err {
            ClientError::Closed(_) | ClientError::Unreachable(_) | ClientError::Io(_) => {
                self.lost(Some(err.to_string())).await;
            }
            other => self.inbox.push(UiEvent::Notice(format!("{what}: {other}"))),
        }
    }

    fn offline_notice(&mut self) {
        self.inbox.push(UiEvent::Notice(
            "Not connected right now; try again in a moment.".into(),
        ));
    }

    /// The connection dropped: schedule a reconnect with back-off.
    async fn lost(&mut self, reason: Option<String>) {
        let Some(live) = self.live.take() else { return };
        let reason = match reason {
            Some(reason) => reason,
            None => live.session.connection().closed().await.to_string(),
        };
        info!("connection lost: {reason}");
        self.schedule_retry(reason, None);
    }

    fn schedule_retry(&mut self, reason: String, at_least: Option<Duration>) {
        let delay = self.backoff.next_delay().max(at_least.unwrap_or_default());
        self.retry_at = Some(Instant::now() + delay);
        self.inbox.push(UiEvent::Status(ConnStatus::Reconnecting {
            reason,
            attempt: self.backoff.attempt(),
            retry_in: delay,
        }));
    }

    async fn reconnect(&mut self) {
        self.retry_at = None;
        let Some(credentials) = self.account.clone() else {
            return;
        };
        match connect(&credentials, None).await {
            Ok((live, outcome)) => {
                info!("reconnected");
                self.connected(live, outcome).await;
            }
            Err(e) if problem::retryable(&e) => {
                let problem = LoginProblem::from_error(&e, &credentials.server, false);
                let wait = match &problem {
                    LoginProblem::LockedOut { retry_in } => *retry_in,
                    _ => None,
                };
                self.schedule_retry(problem.to_string(), wait);
            }
            Err(e) => {
                // Retrying cannot help (certificate changed, login refused): stop
                // and forget the passphrase; the UI returns to the login screen.
                let problem = describe(&e, &credentials).await;
                self.logout().await;
                self.inbox.push(UiEvent::LoginFailed(problem));
            }
        }
    }

    /// Closes the connection and forgets the account, rooms and queued sends.
    async fn logout(&mut self) {
        if let Some(live) = self.live.take() {
            live.session.close().await;
        }
        self.account = None;
        self.unverified = None;
        self.me = None;
        self.rooms = Rooms::default();
        self.outbox.clear();
        self.retry_at = None;
        self.tick_at = None;
        self.backoff.reset();
        self.inbox.push(UiEvent::Status(ConnStatus::Offline));
    }

    async fn shutdown(&mut self) {
        if let Some(live) = self.live.take() {
            live.session.close().await;
        }
    }
}

/// Plain words for a failed verification request. A wrong or expired code is
/// refused as "auth failed"; the server's message says which, while "wrong
/// passphrase" would mislead.
async fn verification_problem(err: &ClientError, credentials: &Credentials) -> LoginProblem {
    match err {
        ClientError::Server(reply) => LoginProblem::refused(reply),
        _ => describe(err, credentials).await,
    }
}

/// The words for one-time passwords used without this computer.
fn skipped_warning(skipped: u32) -> String {
    let what = if skipped == 1 {
        "1 one-time password was".to_owned()
    } else {
        format!("{skipped} one-time passwords were")
    };
    format!(
        "{what} used since your last login from this computer. If you did not log in \
         elsewhere, someone may be trying to impersonate the server or you."
    )
}
