//! The worker's select loop and its state. The loop never waits on the
//! network: it starts every request as a task beside it (`spawn`) and goes
//! straight back to waiting for the next thing, so a pushed message reaches the
//! UI while any number of requests are in flight. It wakes for a command from
//! the UI, a server event, a finished request (`tasks::Done`), a finished
//! avatar fetch or transfer, or one of two timers (the next reconnect attempt; the
//! deferred gap check or send retry). Only the loop touches the state, so it
//! needs no locks, and the UI never waits for it: commands queue in an
//! unbounded channel.
//!
//! Requests carry the epoch they started in. The epoch moves on whenever the
//! connection is replaced or dropped (login, logout, loss, reconnect), and an
//! answer from an older epoch is dropped unread: its connection is gone, and
//! what it would have done is redone on the new one (sends keep their key, so
//! a resend gets the stored sequence number instead of posting again).

use std::future::Future;
use std::sync::Arc;

use chatroom_common::protocol::{Event, RoomKind, UserInfo};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::avatars::{AvatarFetcher, Fetched};
use super::backoff::Backoff;
use super::connect::{Live, close_in_background};
use super::notice::{About, Cause, Notice};
use super::outbox::{Outbox, PendingSend};
use super::problem::LoginProblem;
use super::sync::Rooms;
use super::tasks::{Completion, Done, DoneTx, Failure};
use super::transfers::{Finished, Transfers};
use super::{Command, Credentials, Inbox, UiEvent, WorkerOptions};
use crate::connection::probe_fingerprint;
use crate::{ClientError, Session};

/// What woke the loop.
enum Next {
    /// A command, or `None` when the UI is gone.
    Command(Option<Command>),
    /// A request finished.
    Done(Completion),
    /// A server event, or `None` when the connection closed.
    Event(Option<Event>),
    /// Time for the next reconnect attempt.
    Retry,
    /// Time for the deferred gap check and send retry.
    Tick,
    /// An avatar fetch ended.
    Avatar(Option<Fetched>),
    /// An upload or download ended.
    Transfer(Option<Finished>),
}

/// Runs until [`Command::Shutdown`] or until the UI drops its handle.
pub(super) async fn run(
    mut cmd_rx: mpsc::UnboundedReceiver<Command>,
    inbox: Inbox,
    options: WorkerOptions,
) {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel();
    let mut worker = Worker::new(inbox, options, done_tx);
    loop {
        match worker.next(&mut cmd_rx, &mut done_rx).await {
            Next::Command(None | Some(Command::Shutdown)) => break,
            Next::Command(Some(command)) => worker.command(command),
            Next::Done(completion) => worker.finished(completion),
            Next::Event(Some(event)) => worker.event(event),
            Next::Event(None) => worker.dropped().await,
            Next::Retry => worker.reconnect(),
            Next::Tick => worker.tick(),
            Next::Avatar(Some(fetched)) => worker.avatars.finished(&fetched),
            Next::Avatar(None) => {}
            Next::Transfer(Some(finished)) => worker.transfers.finished(finished, &worker.inbox),
            Next::Transfer(None) => {}
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
pub(super) struct Worker {
    /// Where events for the UI go.
    pub(super) inbox: Inbox,
    /// Who to log in again as after a drop; `None` when logged out.
    pub(super) account: Option<Credentials>,
    /// The connection, while there is one.
    pub(super) live: Option<Live>,
    /// Moves on whenever the connection is replaced or dropped; answers to
    /// requests made in an earlier epoch are ignored.
    pub(super) epoch: u64,
    /// The logged-in user (the sender of our own messages).
    pub(super) me: Option<UserInfo>,
    /// Joined rooms and their timelines; kept across reconnects.
    pub(super) rooms: Rooms,
    /// Sends waiting for an acknowledgement; kept across reconnects.
    pub(super) outbox: Outbox,
    /// Sends wait until then after the server refused one for a passing
    /// reason ("slow down", storage busy).
    pub(super) send_pause: Option<Instant>,
    /// Reconnect delays.
    pub(super) backoff: Backoff,
    /// When to try reconnecting.
    pub(super) retry_at: Option<Instant>,
    /// When to look for gaps and retry sends.
    pub(super) tick_at: Option<Instant>,
    /// Avatar pictures asked for by the UI.
    pub(super) avatars: AvatarFetcher,
    /// An account whose login waits for its e-mail verification code.
    pub(super) unverified: Option<Credentials>,
    /// Uploads and downloads running, and the thumbnails fetched.
    pub(super) transfers: Transfers,
    /// Where request tasks report.
    done_tx: DoneTx,
}

impl Worker {
    fn new(inbox: Inbox, options: WorkerOptions, done_tx: DoneTx) -> Self {
        Self {
            inbox,
            account: None,
            live: None,
            epoch: 0,
            me: None,
            rooms: Rooms::default(),
            outbox: Outbox::default(),
            send_pause: None,
            backoff: options
                .first_retry
                .map_or_else(Backoff::new, Backoff::starting_at),
            retry_at: None,
            tick_at: None,
            avatars: AvatarFetcher::new(options.avatar_dir),
            unverified: None,
            transfers: Transfers::new(),
            done_tx,
        }
    }

    async fn next(
        &mut self,
        cmd_rx: &mut mpsc::UnboundedReceiver<Command>,
        done_rx: &mut mpsc::UnboundedReceiver<Completion>,
    ) -> Next {
        let live = &mut self.live;
        let events = async {
            match live {
                Some(live) => live.events.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            // Commands first, so a flood of events never delays the user; then
            // answers, so acknowledgements are not starved by that flood either.
            biased;
            command = cmd_rx.recv() => Next::Command(command),
            // The worker holds a sender, so this channel never ends.
            Some(completion) = done_rx.recv() => Next::Done(completion),
            event = events => Next::Event(event),
            () = sleep_until(self.retry_at) => Next::Retry,
            () = sleep_until(self.tick_at) => Next::Tick,
            fetched = self.avatars.done_rx.recv() => Next::Avatar(fetched),
            finished = self.transfers.done_rx.recv() => Next::Transfer(finished),
        }
    }

    /// Runs `task` beside the loop; its result comes back as a [`Completion`]
    /// of the current epoch.
    pub(super) fn spawn(&self, task: impl Future<Output = Done> + Send + 'static) {
        let (done_tx, epoch) = (self.done_tx.clone(), self.epoch);
        tokio::spawn(async move {
            let done = task.await;
            // Fails only when the worker has stopped: nobody is left to tell.
            let _ = done_tx.send(Completion { epoch, done });
        });
    }

    /// The session to make a request on, when connected.
    pub(super) fn session(&self) -> Option<Arc<Session>> {
        self.live.as_ref().map(|live| Arc::clone(&live.session))
    }

    /// Starts a new epoch: what is in flight now belongs to a connection that
    /// is being replaced or is gone, so its answers will be ignored and its
    /// work (sends, joins, fills) may start again.
    pub(super) fn new_epoch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        self.outbox.forget_in_flight();
        self.rooms.forget_requests();
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Probe { server } => {
                // Touches no state, so it reports straight to the UI.
                let inbox = self.inbox.clone();
                tokio::spawn(async move {
                    let result = probe_fingerprint(&server)
                        .await
                        .map_err(|e| LoginProblem::from_error(&e, &server, false));
                    inbox.push(UiEvent::Probed { server, result });
                });
            }
            Command::Login(credentials) => self.login(credentials, None),
            Command::Register { credentials, email } => self.login(credentials, Some(email)),
            Command::Join { room } => self.join(room, false),
            Command::Leave { room } => self.leave(room),
            Command::CreateRoom { name } => self.create_room(name),
            Command::OpenDirect { user } => self.open_direct(user),
            Command::Send { room, text, key } => self.send(PendingSend {
                room,
                text,
                key,
                files: Vec::new(),
            }),
            Command::SendWithFiles {
                room,
                text,
                key,
                files,
            } => self.send(PendingSend {
                room,
                text,
                key,
                files,
            }),
            Command::Upload { id, name, source } => self.upload(id, name, source),
            Command::Download { id, hash, purpose } => self.download(id, hash, purpose),
            Command::CancelTransfer(id) => self.transfers.cancel(id),
            Command::LoadOlder { room, before } => self.load_older(room, before),
            Command::RefreshRooms => self.list_rooms(false),
            Command::ReconnectNow => self.reconnect_now(),
            Command::FetchAvatars(hashes) => {
                let session = self.live.as_ref().map(|l| &l.session);
                self.avatars.want(hashes, session, &self.inbox);
            }
            Command::AvatarPool => self.avatar_pool(),
            Command::ChooseAvatar(hash) => self.choose_avatar(hash),
            Command::UploadAvatar(path) => self.upload_avatar(path),
            Command::VerifyEmail { code } => self.verify_email(code),
            Command::ResendVerification => self.resend_verification(),
            Command::Logout => self.logout(),
            // Handled by the loop.
            Command::Shutdown => {}
        }
    }

    /// Applies a finished request, unless it is stale.
    fn finished(&mut self, Completion { epoch, done }: Completion) {
        if epoch != self.epoch {
            // A login that finished after a logout or another login: not wanted.
            if let Done::Connected { attempt, .. } = done
                && let Ok((live, _)) = *attempt
            {
                close_in_background(live);
            }
            return;
        }
        match done {
            Done::Connected {
                credentials,
                first,
                attempt,
            } => self.attempt_ended(credentials, first, *attempt),
            Done::Verified {
                credentials,
                result,
            } => self.verified(credentials, result),
            Done::VerificationResent(result) => match result {
                Ok(()) => self.inbox.push(UiEvent::VerificationSent),
                Err(problem) => self.inbox.push(UiEvent::Notice(Notice {
                    about: Some(About::NewCode),
                    cause: problem.code().map_or(Cause::Other, Cause::Refused),
                    detail: problem.to_string(),
                })),
            },
            Done::RoomList { rejoin, result } => self.room_list(rejoin, result),
            Done::Joined {
                asked,
                news,
                result,
            } => self.joined(&asked, news, result),
            Done::Left { room, result } => match result {
                Ok(()) => self.forget_room(&room),
                Err(failure) => self.failed(failure),
            },
            Done::Filled { room, result } => self.filled(&room, result),
            Done::Older { room, result } => match result {
                Ok(page) => super::sync::report(&self.inbox, &room, page, false),
                Err(failure) => self.failed(failure),
            },
            Done::Sent { room, key, result } => self.sent(room, key, result),
            Done::AvatarPool(result) => match result {
                Ok(pool) => self.inbox.push(UiEvent::AvatarPool(pool)),
                Err(failure) => self.failed(failure),
            },
            Done::AvatarChanged(result) => match result {
                Ok(avatar) => self.avatar_changed(avatar),
                Err(failure) => self.failed(failure),
            },
            Done::Notice(notice) => self.inbox.push(UiEvent::Notice(notice)),
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Message(message) => self.live_message(message),
            Event::Presence { room, user, online } => {
                self.inbox.push(UiEvent::Presence { room, user, online });
            }
            // The connection hands a batch's events on one by one; should one
            // come whole, it means the same (never nested, so no recursion).
            Event::Batch { events } => {
                for event in events {
                    if !matches!(event, Event::Batch { .. }) {
                        self.event(event);
                    }
                }
            }
            Event::Resync { room, after_seq } => self.resync(room, after_seq),
            // Someone opened a conversation with us: what is in it is news. A
            // public room joined on another device just appears, its history read.
            Event::RoomAdded(room) => {
                let news = room.kind == RoomKind::Direct;
                self.join(room.name, news);
            }
            Event::RoomCreated(room) => self.inbox.push(UiEvent::RoomCreated(room)),
            // Left on another device: the server already stopped its events here.
            Event::RoomLeft { room } => self.forget_room(&room),
        }
    }

    /// Asks for a tick at `at` (or sooner, if one is due sooner).
    pub(super) fn tick_at_most(&mut self, at: Instant) {
        self.tick_at = Some(self.tick_at.map_or(at, |t| t.min(at)));
    }

    /// The deferred work: gaps still open, sends that may now go through.
    fn tick(&mut self) {
        self.tick_at = None;
        self.fill_all();
        self.pump_sends();
    }

    /// Handles a failed request: a lost connection starts reconnecting, a
    /// refusal becomes a notice.
    pub(super) fn failed(&mut self, failure: Failure) {
        match failure.err {
            ClientError::Closed(_) | ClientError::Unreachable(_) | ClientError::Io(_) => {
                self.lost(failure.err.to_string());
            }
            other => self.inbox.push(UiEvent::Notice(Notice {
                about: Some(failure.about),
                cause: other.code().map_or(Cause::Other, Cause::Refused),
                detail: other.to_string(),
            })),
        }
    }

    pub(super) fn offline_notice(&mut self) {
        self.inbox.push(UiEvent::Notice(Notice::offline()));
    }

    /// The event stream ended: the connection closed. Asks it why (at once:
    /// the stream ends only after the connection has).
    async fn dropped(&mut self) {
        let Some(live) = &self.live else { return };
        let reason = live.session.connection().closed().await.to_string();
        self.lost(reason);
    }
}

#[cfg(test)]
mod tests {
    use chatroom_common::protocol::IdempotencyKey;

    use super::*;
    use crate::session::Sent;

    #[test]
    fn an_answer_from_an_older_epoch_is_ignored_and_a_send_reported_once() {
        let inbox = Inbox::new(Arc::new(|| {}));
        let (done_tx, _done_rx) = mpsc::unbounded_channel();
        let mut worker = Worker::new(inbox.clone(), WorkerOptions::default(), done_tx);
        let key = IdempotencyKey([7; 16]);
        worker.outbox.push(PendingSend {
            room: "lobby".into(),
            text: "hi".into(),
            key,
            files: Vec::new(),
        });
        assert_eq!(worker.outbox.start_ready().len(), 1);
        let acknowledged = |epoch| Completion {
            epoch,
            done: Done::Sent {
                room: "lobby".into(),
                key,
                result: Ok(Sent {
                    seq: 1,
                    sent_at: 0,
                    duplicate: false,
                }),
            },
        };
        // The connection is replaced while the send is in flight: it starts
        // again on the new one, and the old one's answer is not news.
        let old = worker.epoch;
        worker.new_epoch();
        assert_eq!(worker.outbox.start_ready().len(), 1);
        worker.finished(acknowledged(old));
        assert!(inbox.drain().is_empty());
        worker.finished(acknowledged(worker.epoch));
        assert!(matches!(inbox.drain()[..], [UiEvent::Sent { .. }]));
        worker.finished(acknowledged(worker.epoch));
        assert!(inbox.drain().is_empty(), "reported once");
    }
}
