//! The outbox: overflow marks a resync; presence changes and room news wait
//! beside the queue, a user's latest presence in a room replacing the
//! earlier, and go out alone or as `Batch` events whose bytes are what the
//! real encoder writes.

use std::time::Duration;

use chatroom_common::protocol::{MAX_EVENT_BYTES, RoomInfo, RoomKind, UserInfo};

use super::waiting::{BATCH_BYTES, batch};
use super::*;
use crate::store::RoomId;

fn user(name: &str) -> UserInfo {
    UserInfo {
        username: name.into(),
        avatar: None,
    }
}

fn presence(room: &str, name: &str, online: bool) -> Event {
    Event::Presence {
        room: room.into(),
        user: user(name),
        online,
    }
}

fn created(name: &str) -> Event {
    Event::RoomCreated(RoomInfo {
        name: name.into(),
        kind: RoomKind::Public,
        latest_seq: 0,
        peer: None,
        member: false,
    })
}

/// A room's id and name.
const LOBBY: (RoomId, &str) = (7, "lobby");
const DESIGN: (RoomId, &str) = (8, "design");

fn change((id, room): (RoomId, &str), name: &str, online: bool) -> Arc<Waiting> {
    Waiting::presence(id, room, &user(name), online).unwrap()
}

fn news(event: &Event) -> Arc<Waiting> {
    Waiting::news(Bytes::from(codec::encode(event).unwrap()))
}

/// Every event the encoded ones carry, batches opened, in a stable order.
fn opened(events: &[Bytes]) -> Vec<String> {
    let mut all = Vec::new();
    for bytes in events {
        match codec::decode::<Event>(bytes, MAX_EVENT_BYTES).unwrap() {
            Event::Batch { events } => all.extend(events),
            event => all.push(event),
        }
    }
    let mut all: Vec<String> = all.iter().map(|e| format!("{e:?}")).collect();
    all.sort();
    all
}

fn debug(events: &[Event]) -> Vec<String> {
    let mut all: Vec<String> = events.iter().map(|e| format!("{e:?}")).collect();
    all.sort();
    all
}

#[test]
fn overflow_marks_resync_instead_of_waiting() {
    let (outbox, mut rx) = outbox(2);
    for seq in 1..=5 {
        outbox.queue("lobby", Some(seq), &Bytes::from(vec![seq as u8]));
    }
    // Presence is not a message: no resync mark, and it takes no slot.
    outbox.queue_waiting(&change(LOBBY, "bob", true));
    assert_eq!(rx.rx.try_recv().unwrap(), Bytes::from(vec![1]));
    assert_eq!(rx.rx.try_recv().unwrap(), Bytes::from(vec![2]));
    assert!(rx.rx.try_recv().is_err());
    let resyncs = rx.take_resyncs();
    assert_eq!(resyncs.len(), 1);
    let event: Event = codec::decode(&resyncs[0], 1024).unwrap();
    assert_eq!(
        event,
        Event::Resync {
            room: "lobby".into(),
            after_seq: 2
        }
    );
    assert!(rx.take_resyncs().is_empty());
    assert_eq!(
        opened(&rx.take_waiting()),
        debug(&[presence("lobby", "bob", true)])
    );
}

#[test]
fn a_batch_is_what_the_encoder_writes() {
    for n in [2, 15, 16, 200] {
        let items: Vec<_> = (0..n)
            .map(|i| change(LOBBY, &format!("u{i}"), i % 3 != 0))
            .collect();
        let want = Event::Batch {
            events: (0..n)
                .map(|i| presence("lobby", &format!("u{i}"), i % 3 != 0))
                .collect(),
        };
        let have = batch(&items);
        assert_eq!(have.as_ref(), codec::encode(&want).unwrap(), "{n} events");
    }
    let mixed = [change(DESIGN, "carol", false), news(&created("design"))];
    let want = Event::Batch {
        events: vec![presence("design", "carol", false), created("design")],
    };
    assert_eq!(batch(&mixed).as_ref(), codec::encode(&want).unwrap());
    // One event alone is itself.
    let one = change(DESIGN, "carol", false);
    let alone = codec::encode(&presence("design", "carol", false)).unwrap();
    assert_eq!(batch(std::slice::from_ref(&one)).as_ref(), alone);
    assert_eq!(one.event().as_ref(), alone);
}

#[test]
fn the_latest_presence_per_room_and_user_waits() {
    let (outbox, rx) = outbox(4);
    outbox.enable_batches();
    outbox.queue_waiting(&change(LOBBY, "bob", true));
    outbox.queue_waiting(&change(DESIGN, "bob", true));
    outbox.queue_waiting(&change(LOBBY, "carol", true));
    outbox.queue_waiting(&change(LOBBY, "bob", false));
    outbox.queue_waiting(&news(&created("design")));
    outbox.queue_waiting(&news(&created("design")));
    outbox.queue_waiting(&news(&created("books")));
    let events = rx.take_waiting();
    assert_eq!(events.len(), 1, "five events, one batch");
    assert_eq!(
        opened(&events),
        debug(&[
            presence("design", "bob", true),
            presence("lobby", "bob", false),
            presence("lobby", "carol", true),
            created("design"),
            created("books"),
        ])
    );
    assert!(rx.take_waiting().is_empty());
}

#[test]
fn without_batches_each_event_goes_alone() {
    let (outbox, rx) = outbox(4);
    for name in ["bob", "carol", "dave"] {
        outbox.queue_waiting(&change(LOBBY, name, true));
    }
    outbox.queue_waiting(&news(&created("books")));
    let events = rx.take_waiting();
    assert_eq!(events.len(), 4);
    for bytes in &events {
        let event = codec::decode::<Event>(bytes, 1024).unwrap();
        assert!(!matches!(event, Event::Batch { .. }));
    }
}

#[test]
fn a_crowd_is_split_into_batches_of_bounded_size() {
    let (outbox, rx) = outbox(4);
    outbox.enable_batches();
    for i in 0..2_000 {
        outbox.queue_waiting(&change(LOBBY, &format!("member-{i:04}"), true));
    }
    let events = rx.take_waiting();
    assert!(events.len() > 1, "2,000 changes do not fit one batch");
    assert!(events.len() < 20, "{} batches", events.len());
    for bytes in &events {
        assert!(
            bytes.len() <= BATCH_BYTES + 32,
            "a batch of {} bytes",
            bytes.len()
        );
    }
    let all = opened(&events);
    assert_eq!(all.len(), 2_000);
    assert!(all.contains(&format!("{:?}", presence("lobby", "member-1999", true))));
}

#[test]
fn only_presence_events_are_presence() {
    let bob = change(LOBBY, "bob", true);
    let again = Waiting::presence_from(9, bob.event().clone()).unwrap();
    assert_eq!(again.event(), bob.event());
    let resync = codec::encode(&Event::Resync {
        room: "lobby".into(),
        after_seq: 1,
    })
    .unwrap();
    assert!(Waiting::presence_from(7, Bytes::from(resync)).is_none());
    // The prefix alone is not enough: the rest must decode.
    let mut broken = bob.event().to_vec();
    broken.truncate(12);
    assert!(Waiting::presence_from(7, Bytes::from(broken)).is_none());
}

#[test]
fn nothing_waits_for_a_writer_that_is_gone() {
    let (outbox, rx) = outbox(4);
    outbox.queue_waiting(&change(LOBBY, "bob", true));
    let waiting = rx.waiting.clone();
    drop(rx);
    outbox.queue_waiting(&change(LOBBY, "carol", true));
    assert!(waiting.take().is_empty());
}

#[tokio::test]
async fn an_event_put_beside_wakes_the_writer() {
    let (outbox, mut rx) = outbox(4);
    let waiting = tokio::spawn(async move {
        let woke = rx.wait(None).await;
        (matches!(woke, Waited::Beside), rx.take_waiting())
    });
    tokio::task::yield_now().await;
    outbox.queue_waiting(&change(LOBBY, "bob", true));
    let (beside, events) = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("woken")
        .unwrap();
    assert!(beside);
    assert_eq!(opened(&events), debug(&[presence("lobby", "bob", true)]));
}
