//! Rooms coming and going: a new public room is announced to everyone else,
//! and leaving one reaches the user's other devices and stops its events.

use chatroom_common::protocol::{ErrorCode, Event, RoomKind};
use chatroom_testkit::{TestServer, next_event, presence, room_added, room_created, room_left};

#[tokio::test]
async fn a_new_public_room_is_announced_to_everyone_but_its_creator() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice = server.user("alice").await;
    let mut alice_phone = server.login("alice").await;
    let mut phone_events = alice_phone.take_events().unwrap();
    // Bob shares no room with alice: the news reaches him all the same.
    let mut bob = server.user("bob").await;
    let mut b_events = bob.take_events().unwrap();

    alice.create_room("design").await.unwrap();
    let news = room_created(&mut b_events).await;
    assert_eq!(news.name, "design");
    assert_eq!(news.kind, RoomKind::Public);
    assert!(!news.member, "bob has not joined it");
    bob.join(&news.name).await.unwrap();

    // Alice's other device hears that she is in it, not that it exists. Bob
    // then creates a room of his own: its announcement comes after anything
    // queued for the phone before it, so a wrong one would show up first.
    let added = room_added(&mut phone_events).await;
    assert_eq!(added.name, "design");
    assert!(added.member);
    bob.create_room("zeta").await.unwrap();
    let first = room_created(&mut phone_events).await;
    assert_eq!(first.name, "zeta", "alice was told of her own room");
    // Nor does bob hear of his own.
    alice.create_room("omega").await.unwrap();
    assert_eq!(room_created(&mut b_events).await.name, "omega");
    server.stop().await;
}

#[tokio::test]
async fn leaving_a_room_reaches_other_devices_and_stops_its_events() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut alice = server.user("alice").await;
    let mut a_events = alice.take_events().unwrap();
    let mut alice_phone = server.login("alice").await;
    let mut phone_events = alice_phone.take_events().unwrap();
    let mut bob = server.user("bob").await;
    let mut b_events = bob.take_events().unwrap();
    alice.create_room("garden").await.unwrap();
    bob.join("garden").await.unwrap();
    presence(&mut a_events, "garden", "bob", true).await;

    alice.leave("garden").await.unwrap();
    let left = room_left(&mut phone_events).await;
    assert_eq!(left, "garden");
    presence(&mut b_events, "garden", "alice", false).await;

    // No longer a member: posting is refused, and what bob posts reaches
    // neither of alice's devices (his next message in the lobby, queued after
    // it, arrives first).
    let err = alice.send("garden", "still here?").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotMember));
    let err = alice_phone.send("garden", "me too?").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotMember));
    alice.join("lobby").await.unwrap();
    bob.join("lobby").await.unwrap();
    bob.send("garden", "anyone?").await.unwrap();
    bob.send("lobby", "over here").await.unwrap();
    let first = next_event(&mut a_events, |e| match e {
        Event::Message(m) => Some(m),
        _ => None,
    })
    .await;
    assert_eq!(
        (first.room.as_str(), first.text.as_str()),
        ("lobby", "over here")
    );

    // Direct conversations cannot be left.
    let direct = alice.open_direct("bob").await.unwrap();
    let err = alice.leave(&direct.name).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidInput));
    server.stop().await;
}
