//! Pushed events in tests: joining the lobby with the event stream in hand,
//! and waiting (with a generous bound, never a timing assertion) for the
//! event a test expects.

use std::time::Duration;

use chatroom_client::{Session, Trust};
use chatroom_common::protocol::{ChatMessage, Event, RoomInfo, UserInfo};
use tokio::sync::mpsc;

/// How long a test waits for an event before failing.
pub const EVENT_WAIT: Duration = Duration::from_secs(20);

/// Registers `name`, logs in and joins the lobby; the session and its events.
pub async fn in_lobby(addr: &str, trust: &Trust, name: &str) -> (Session, mpsc::Receiver<Event>) {
    let mut session = crate::server::user(addr, trust, name).await;
    let events = session.take_events().expect("events");
    session.join("lobby").await.expect("joins the lobby");
    (session, events)
}

/// Waits for the next event matching `pick`, failing after [`EVENT_WAIT`].
pub async fn next_event<T>(
    events: &mut mpsc::Receiver<Event>,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> T {
    let wait = async {
        loop {
            let event = events.recv().await.expect("event stream open");
            if let Some(t) = pick(event) {
                return t;
            }
        }
    };
    tokio::time::timeout(EVENT_WAIT, wait)
        .await
        .expect("event in time")
}

/// Waits for a presence event about `user` in `room`.
pub async fn presence(
    events: &mut mpsc::Receiver<Event>,
    room: &str,
    user: &str,
    online: bool,
) -> UserInfo {
    next_event(events, |e| match e {
        Event::Presence {
            room: r,
            user: u,
            online: o,
        } if r == room && u.username == user && o == online => Some(u),
        _ => None,
    })
    .await
}

/// The chat message in `event`, if it is one: a picker for [`next_event`].
pub fn message(event: Event) -> Option<ChatMessage> {
    match event {
        Event::Message(m) => Some(m),
        _ => None,
    }
}

/// Waits for `RoomAdded` (the user is now in a room) and returns the room.
pub async fn room_added(events: &mut mpsc::Receiver<Event>) -> RoomInfo {
    next_event(events, |e| match e {
        Event::RoomAdded(room) => Some(room),
        _ => None,
    })
    .await
}

/// Waits for `RoomCreated` (someone else made a public room) and returns the room.
pub async fn room_created(events: &mut mpsc::Receiver<Event>) -> RoomInfo {
    next_event(events, |e| match e {
        Event::RoomCreated(room) => Some(room),
        _ => None,
    })
    .await
}

/// Waits for `RoomLeft` (left on another device) and returns the room's name.
pub async fn room_left(events: &mut mpsc::Receiver<Event>) -> String {
    next_event(events, |e| match e {
        Event::RoomLeft { room } => Some(room),
        _ => None,
    })
    .await
}
