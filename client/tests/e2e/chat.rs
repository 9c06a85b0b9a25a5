//! Chatting: ordered delivery, history, presence, direct rooms, fan-out, restarts.

use chatroom_client::session::new_key;
use chatroom_common::protocol::{ErrorCode, Event, HistoryQuery, RoomKind};
use chatroom_common::timeline::Timeline;

use chatroom_testkit::{TestServer, next_event, presence, room_added};

#[tokio::test]
async fn two_users_chat_and_see_ordered_messages() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let mut a_events = alice.take_events().unwrap();
    let mut b_events = bob.take_events().unwrap();
    alice.join("lobby").await.unwrap();
    bob.join("lobby").await.unwrap();
    for i in 0..10 {
        let (who, text) = if i % 2 == 0 {
            (&alice, "from alice")
        } else {
            (&bob, "from bob")
        };
        who.send("lobby", &format!("{text} {i}")).await.unwrap();
    }
    for events in [&mut a_events, &mut b_events] {
        let mut timeline = Timeline::new(100);
        while timeline.contiguous_seq() < 10 {
            let m = next_event(events, |e| match e {
                Event::Message(m) => Some(m),
                _ => None,
            })
            .await;
            timeline.insert(m);
        }
        let texts: Vec<_> = timeline.iter().map(|m| m.text.clone()).collect();
        assert_eq!(texts[0], "from alice 0");
        assert_eq!(texts[9], "from bob 9");
        assert_eq!(timeline.len(), 10);
    }
    server.stop().await;
}

#[tokio::test]
async fn history_on_join_and_paging() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice = server.user("alice").await;
    alice.create_room("books").await.unwrap();
    for i in 1..=120 {
        let sent = alice.send("books", &format!("m{i}")).await.unwrap();
        assert_eq!(sent.seq, i);
    }
    let bob = server.user("bob").await;
    let joined = bob.join("books").await.unwrap();
    assert_eq!(joined.history.len(), 50);
    assert_eq!(joined.history.first().unwrap().seq, 71);
    assert_eq!(joined.history.last().unwrap().text, "m120");
    assert_eq!(joined.room.latest_seq, 120);
    let (page, latest) = bob
        .history(
            "books",
            HistoryQuery::Before {
                before: Some(71),
                limit: 50,
            },
        )
        .await
        .unwrap();
    assert_eq!(latest, 120);
    assert_eq!(page.first().unwrap().seq, 21);
    assert_eq!(page.last().unwrap().seq, 70);
    let (page, _) = bob
        .history(
            "books",
            HistoryQuery::After {
                after: 115,
                limit: 50,
            },
        )
        .await
        .unwrap();
    let seqs: Vec<_> = page.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![116, 117, 118, 119, 120]);
    let err = bob
        .history("nowhere", HistoryQuery::After { after: 0, limit: 5 })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NoSuchRoom));
    server.stop().await;
}

#[tokio::test]
async fn presence_events_and_who() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut alice = server.user("alice").await;
    let mut a_events = alice.take_events().unwrap();
    alice.join("lobby").await.unwrap();
    let bob = server.user("bob").await;
    presence(&mut a_events, "lobby", "bob", true).await;
    let online: Vec<_> = alice
        .who("lobby")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(online, vec!["alice", "bob"]);
    bob.close().await;
    presence(&mut a_events, "lobby", "bob", false).await;
    let online: Vec<_> = alice
        .who("lobby")
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(online, vec!["alice"]);
    server.stop().await;
}

#[tokio::test]
async fn direct_messages_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    let carol = server.user("carol").await;
    let mut b_events = bob.take_events().unwrap();
    let room = alice.open_direct("Bob").await.unwrap();
    assert_eq!(room.kind, RoomKind::Direct);
    assert_eq!(room.peer.as_deref(), Some("bob"));
    let added = room_added(&mut b_events).await;
    assert_eq!(added.name, room.name);
    assert_eq!(added.peer.as_deref(), Some("alice"));
    alice.send(&room.name, "psst").await.unwrap();
    let m = next_event(&mut b_events, |e| match e {
        Event::Message(m) => Some(m),
        _ => None,
    })
    .await;
    assert_eq!(m.text, "psst");
    // Carol can neither read nor post there, nor see it listed.
    let err = carol.send(&room.name, "hi").await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotMember));
    let err = carol
        .history(&room.name, HistoryQuery::After { after: 0, limit: 5 })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::NotMember));
    assert!(
        carol
            .rooms()
            .await
            .unwrap()
            .iter()
            .all(|r| r.name != room.name)
    );
    assert!(
        bob.rooms()
            .await
            .unwrap()
            .iter()
            .any(|r| r.name == room.name)
    );
    assert_eq!(
        alice.open_direct("alice").await.unwrap_err().code(),
        Some(ErrorCode::InvalidInput)
    );
    assert_eq!(
        alice.open_direct("nobody").await.unwrap_err().code(),
        Some(ErrorCode::NoSuchUser)
    );
    server.stop().await;
}

#[tokio::test]
async fn twenty_clients_each_receive_every_message_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut clients = Vec::new();
    for i in 0..20 {
        let mut s = server.user(&format!("user{i:02}")).await;
        let events = s.take_events().unwrap();
        s.join("lobby").await.unwrap();
        clients.push((std::sync::Arc::new(s), events));
    }
    let per_client = 5;
    // Everyone posts at once.
    let mut sends = tokio::task::JoinSet::new();
    for (i, (s, _)) in clients.iter().enumerate() {
        let s = s.clone();
        sends.spawn(async move {
            for j in 0..per_client {
                s.send("lobby", &format!("{i}-{j}")).await.unwrap();
            }
        });
    }
    while let Some(r) = sends.join_next().await {
        r.unwrap();
    }
    let total = 20 * per_client as u64;
    for (_, events) in &mut clients {
        let mut timeline = Timeline::new(1000);
        while timeline.contiguous_seq() < total {
            let m = next_event(events, |e| match e {
                Event::Message(m) => Some(m),
                _ => None,
            })
            .await;
            timeline.insert(m);
        }
        let seqs: Vec<u64> = timeline.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=total).collect::<Vec<_>>());
    }
    server.stop().await;
}

#[tokio::test]
async fn chinese_and_emoji_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut zhang = server.user("张伟").await;
    let mut events = zhang.take_events().unwrap();
    zhang.create_room("闲聊").await.unwrap();
    let text = "你好，世界！🎉👩‍💻 多行\n第二行";
    zhang.send("闲聊", text).await.unwrap();
    let m = next_event(&mut events, |e| match e {
        Event::Message(m) => Some(m),
        _ => None,
    })
    .await;
    assert_eq!(m.text, text);
    assert_eq!(m.sender, "张伟");
    assert_eq!(m.room, "闲聊");
    let (page, _) = zhang
        .history(
            "闲聊",
            HistoryQuery::Before {
                before: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(page[0].text, text);
    server.stop().await;
}

#[tokio::test]
async fn a_retried_send_posts_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice = server.user("alice").await;
    let key = new_key();
    let first = alice.send_with_key("lobby", "once", key).await.unwrap();
    let again = alice.send_with_key("lobby", "once", key).await.unwrap();
    assert_eq!(first.seq, again.seq);
    assert!(!first.duplicate);
    assert!(again.duplicate);
    let next = alice.send("lobby", "twice?").await.unwrap();
    assert_eq!(next.seq, first.seq + 1);
    server.stop().await;
}

/// A retry is answered with the first seq and pushes nothing: every member
/// connection (the sender's own included) gets one `Message` stream for it.
#[tokio::test]
async fn a_retried_send_pushes_nothing_to_anyone() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut alice = server.user("alice").await;
    let mut bob = server.user("bob").await;
    // Alice's second device, logged in as the same user.
    let mut phone = server.login("alice").await;
    let mut streams = Vec::new();
    for s in [&mut alice, &mut bob, &mut phone] {
        streams.push(s.take_events().unwrap());
        s.join("lobby").await.unwrap();
    }
    let key = new_key();
    let first = alice.send_with_key("lobby", "once", key).await.unwrap();
    for _ in 0..3 {
        let again = alice.send_with_key("lobby", "once", key).await.unwrap();
        assert!(again.duplicate);
        assert_eq!(again.seq, first.seq);
    }
    let marker = alice.send("lobby", "after the retries").await.unwrap();
    for events in &mut streams {
        let mut pushed = 0;
        // Everything queued before the marker has been pushed once the marker
        // is read; a short drain after it catches a stream that raced it.
        loop {
            let m = next_event(events, |e| match e {
                Event::Message(m) => Some(m),
                _ => None,
            })
            .await;
            pushed += usize::from(m.seq == first.seq);
            if m.seq == marker.seq {
                break;
            }
        }
        let drain = tokio::time::sleep(std::time::Duration::from_millis(300));
        tokio::pin!(drain);
        loop {
            tokio::select! {
                _ = &mut drain => break,
                e = events.recv() => match e {
                    Some(Event::Message(m)) => pushed += usize::from(m.seq == first.seq),
                    Some(_) => {}
                    None => break,
                },
            }
        }
        assert_eq!(pushed, 1, "one pushed stream per member for the message");
    }
    server.stop().await;
}

#[tokio::test]
async fn restart_keeps_users_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let alice = server.user("alice").await;
    alice.create_room("keep").await.unwrap();
    alice.send("keep", "before restart").await.unwrap();
    alice.close().await;
    server.stop().await;

    let server = TestServer::start(dir.path()).await;
    let alice = server.login("alice").await;
    let joined = alice.join("keep").await.unwrap();
    assert_eq!(joined.history.len(), 1);
    assert_eq!(joined.history[0].text, "before restart");
    let sent = alice.send("keep", "after restart").await.unwrap();
    assert_eq!(sent.seq, 2);
    server.stop().await;
}
