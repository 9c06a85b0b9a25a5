//! A reader that cannot keep up while a crowd comes, goes and makes rooms:
//! no presence change or room news is lost, and a client that asked for
//! them gets what piled up in `Batch` events, a user's latest presence in a
//! room replacing the earlier.

use std::collections::BTreeSet;
use std::time::Duration;

use chatroom_common::protocol::{Event, Reply, Request};
use chatroom_testkit::TestServer;

use super::raw::RawClient;

/// Users who join the lobby while the observers read nothing.
const CROWD: usize = 40;
/// Of those, how many leave again before the observers read.
const LEAVING: usize = 10;
/// Of those who stay, how many make a public room of their own.
const MAKERS: usize = 5;

/// What an observer saw once it read again.
#[derive(Default)]
struct Seen {
    /// Crowd members it believes are in the lobby.
    online: BTreeSet<String>,
    /// Public rooms it was told of.
    rooms: BTreeSet<String>,
    /// Presence changes about the crowd, and room news, it was given.
    changes: usize,
    /// `Batch` events among the streams.
    batches: usize,
}

impl Seen {
    fn apply(&mut self, event: Event) {
        match event {
            Event::Presence { room, user, online } if user.username.starts_with("crowd") => {
                assert_eq!(room, "lobby");
                self.changes += 1;
                if online {
                    self.online.insert(user.username);
                } else {
                    self.online.remove(&user.username);
                }
            }
            Event::RoomCreated(room) => {
                self.changes += 1;
                self.rooms.insert(room.name);
            }
            Event::Batch { events } => {
                self.batches += 1;
                for event in events {
                    assert!(!matches!(event, Event::Batch { .. }), "nested");
                    self.apply(event);
                }
            }
            _ => {}
        }
    }
}

/// Reads an observer's pushed events until it has seen `online` in the lobby
/// and every room of `rooms`. (The observers' news of each other is left out.)
async fn watch(observer: &RawClient, online: &BTreeSet<String>, rooms: &BTreeSet<String>) -> Seen {
    let mut events = observer.read_events();
    let mut seen = Seen::default();
    let wait = async {
        while seen.online != *online || seen.rooms != *rooms {
            seen.apply(events.recv().await.expect("events"));
        }
    };
    if tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .is_err()
    {
        panic!(
            "the observer never caught up: has {:?} and rooms {:?}",
            seen.online, seen.rooms
        );
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_reader_gets_every_presence_change_and_room_batched() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    // Each observer lets the server open one pushed stream and reads none
    // yet: its writer is stuck on the first event and the rest wait.
    let mut observers = Vec::new();
    for (name, batches) in [("batcher", true), ("oldclient", false)] {
        let observer = RawClient::connect_with(&server.addr, &server.pin, 1, batches).await;
        observer.register(name).await;
        observer.login(name).await;
        observer.join("lobby").await;
        observers.push(observer);
    }

    let mut crowd = Vec::new();
    for i in 0..CROWD {
        let session = server.user(&format!("crowd{i:02}")).await;
        session.join("lobby").await.unwrap();
        crowd.push(session);
    }
    for session in crowd.drain(..LEAVING) {
        session.close().await;
    }
    let mut rooms = BTreeSet::new();
    for (i, session) in crowd.iter().take(MAKERS).enumerate() {
        let name = format!("made-{i}");
        session.create_room(&name).await.unwrap();
        rooms.insert(name);
    }
    let online: BTreeSet<String> = (LEAVING..CROWD).map(|i| format!("crowd{i:02}")).collect();
    // The server's own view first, so the observers are checked against a
    // settled lobby (the leavers' offline changes are waiting by then).
    let who = async {
        loop {
            let request = Request::Who {
                room: "lobby".into(),
            };
            match observers[0].request(&request).await {
                Ok(Reply::Online(users)) if users.len() == online.len() + 2 => return users,
                _ => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    };
    let users = tokio::time::timeout(Duration::from_secs(20), who)
        .await
        .expect("the lobby settles");
    let mut everyone = online.clone();
    everyone.extend(["batcher".to_string(), "oldclient".to_string()]);
    assert_eq!(
        users
            .into_iter()
            .map(|u| u.username)
            .collect::<BTreeSet<_>>(),
        everyone
    );

    let seen = watch(&observers[0], &online, &rooms).await;
    assert!(
        seen.batches >= 1,
        "what piled up came in {} batches",
        seen.batches
    );
    // Every step would be CROWD + LEAVING presence changes and MAKERS rooms;
    // a leaver's coming and going collapses to its going while both wait.
    assert!(
        seen.changes < CROWD + LEAVING + MAKERS,
        "{} events: a user's latest presence in a room waited, not every step",
        seen.changes
    );
    let seen = watch(&observers[1], &online, &rooms).await;
    assert_eq!(seen.batches, 0, "a client that did not ask gets no batch");
    for observer in observers {
        observer.close().await;
    }
}
