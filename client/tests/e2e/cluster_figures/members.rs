//! Members of one room spread over a cluster's nodes, for the scale-out
//! figures: each is a session whose pushed messages are recorded by `seq`,
//! repairs a gap from history when a later message reveals it (as the app's
//! timeline does), and — given the list of nodes — logs in again elsewhere
//! when its node goes away, as the app's chat worker does.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatroom_client::{ClientError, Session, Trust};
use chatroom_common::protocol::{ChatMessage, Event, HistoryQuery, MAX_HISTORY_PAGE, Seq};
use chatroom_testkit::PASS;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What a member has seen so far.
#[derive(Default)]
pub struct Seen {
    /// Every message of the room, by `seq`: (sender, text).
    pub messages: BTreeMap<Seq, (String, String)>,
    /// Of those, the ones pushed live (the rest came from history).
    pub live: BTreeSet<Seq>,
    /// Pushes of a `seq` already held.
    pub duplicates: u64,
    /// The current session, while connected and in the room.
    pub session: Option<Arc<Session>>,
    /// The node the current session is on.
    pub node: Option<SocketAddr>,
    /// When each session joined the room.
    pub joined_at: Vec<Instant>,
    /// When each session's connection was found gone.
    pub lost_at: Vec<Instant>,
    /// Presence events for the room: (user, online, when).
    pub presence: Vec<(String, bool, Instant)>,
}

impl Seen {
    /// The highest `seq` up to which nothing is missing.
    pub fn contiguous(&self) -> Seq {
        let mut upto = 0;
        for &seq in self.messages.keys() {
            if seq != upto + 1 {
                break;
            }
            upto = seq;
        }
        upto
    }
}

/// A member of the room, recorded by a task of its own.
pub struct Member {
    /// The user name.
    pub name: String,
    /// What it saw (shared with its task).
    pub seen: Arc<Mutex<Seen>>,
    /// Receives, repairs and reconnects.
    task: JoinHandle<()>,
}

impl Member {
    /// Registers `name` on `server` (one node), joins `room` and starts
    /// recording. With `reconnect_to` (a comma-separated node list) it logs in
    /// again through one of those whenever its connection is lost.
    pub async fn join(
        server: &str,
        trust: &Trust,
        name: &str,
        room: &str,
        reconnect_to: Option<String>,
    ) -> Self {
        let mut session = chatroom_testkit::server::user(server, trust, name).await;
        let events = session.take_events().expect("events");
        let seen = Arc::new(Mutex::new(Seen::default()));
        enter(session, room, &seen).await.expect("joins the room");
        let (trust, name_owned, room) = (trust.clone(), name.to_owned(), room.to_owned());
        let task = tokio::spawn(run(
            events,
            seen.clone(),
            trust,
            name_owned,
            room,
            reconnect_to,
        ));
        Self {
            name: name.to_owned(),
            seen,
            task,
        }
    }

    /// The current session (waits up to `limit` for one while reconnecting).
    pub async fn session(&self, limit: Duration) -> Option<Arc<Session>> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(session) = self.seen.lock().unwrap().session.clone() {
                return Some(session);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits until `done` holds for every member, polling; false after `limit`.
pub async fn wait_all(members: &[&Member], limit: Duration, done: impl Fn(&Seen) -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if members.iter().all(|m| done(&m.seen.lock().unwrap())) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Joins `room` with a logged-in session, records its recent history and
/// fills what is missing up to the room's latest message, then publishes the
/// session as the member's current one.
async fn enter(session: Session, room: &str, seen: &Mutex<Seen>) -> Result<(), ClientError> {
    let joined = session.join(room).await?;
    let node = session.connection().quic().remote_address();
    let session = Arc::new(session);
    record(seen, joined.history, false);
    repair(&session, room, seen, joined.room.latest_seq).await?;
    let mut seen = seen.lock().unwrap();
    seen.session = Some(session);
    seen.node = Some(node);
    seen.joined_at.push(Instant::now());
    Ok(())
}

/// Adds messages; `live` ones are also counted as pushed (and repeats of
/// those as duplicates).
fn record(seen: &Mutex<Seen>, messages: Vec<ChatMessage>, live: bool) {
    let mut seen = seen.lock().unwrap();
    for m in messages {
        if live && !seen.live.insert(m.seq) {
            seen.duplicates += 1;
        }
        seen.messages.entry(m.seq).or_insert((m.sender, m.text));
    }
}

/// Fetches from history whatever is missing below `upto` (the app's gap fill).
async fn repair(
    session: &Session,
    room: &str,
    seen: &Mutex<Seen>,
    upto: Seq,
) -> Result<(), ClientError> {
    loop {
        let after = seen.lock().unwrap().contiguous();
        if after >= upto {
            return Ok(());
        }
        let query = HistoryQuery::After {
            after,
            limit: MAX_HISTORY_PAGE,
        };
        let (page, _) = session.history(room, query).await?;
        if page.is_empty() {
            return Ok(());
        }
        record(seen, page, false);
    }
}

/// Records pushed messages and presence; on a gap, repairs; when the
/// connection is gone, logs in again through `reconnect_to` (if given).
async fn run(
    mut events: tokio::sync::mpsc::Receiver<Event>,
    seen: Arc<Mutex<Seen>>,
    trust: Trust,
    name: String,
    room: String,
    reconnect_to: Option<String>,
) {
    loop {
        while let Some(event) = events.recv().await {
            match event {
                Event::Message(m) if m.room == room => {
                    let (seq, gap) = {
                        let s = seen.lock().unwrap();
                        (m.seq, m.seq > s.contiguous() + 1)
                    };
                    record(&seen, vec![m], true);
                    let session = seen.lock().unwrap().session.clone();
                    if let (true, Some(session)) = (gap, session) {
                        // A failed repair is retried on the next gap or after
                        // a reconnect; the test's waits catch a lasting hole.
                        let _ = repair(&session, &room, &seen, seq).await;
                    }
                }
                Event::Presence {
                    room: r,
                    user,
                    online,
                } if r == room => {
                    let now = Instant::now();
                    seen.lock()
                        .unwrap()
                        .presence
                        .push((user.username, online, now));
                }
                _ => {}
            }
        }
        {
            let mut s = seen.lock().unwrap();
            s.session = None;
            s.node = None;
            s.lost_at.push(Instant::now());
        }
        let Some(servers) = &reconnect_to else {
            return;
        };
        events = loop {
            match login(servers, &trust, &name).await {
                Ok(mut session) => {
                    let Some(events) = session.take_events() else {
                        return;
                    };
                    if enter(session, &room, &seen).await.is_ok() {
                        break events;
                    }
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
    }
}

/// Connects to one of `servers` and logs in.
async fn login(servers: &str, trust: &Trust, name: &str) -> Result<Session, ClientError> {
    let mut session = Session::connect(servers, trust).await?;
    session.login(name, PASS, None).await?;
    Ok(session)
}
