//! A send that cannot get through must not hold up what comes in (issue #14):
//! the worker's user reaches the real server through the relay, whose way up
//! is blacked out for 3 s while another user, connected directly, posts 20
//! messages. Each must reach the worker's UI queue promptly after the server
//! acknowledged it to its sender (which is after the server pushed it), while
//! the user's own messages stay pending; after the blackout they are
//! acknowledged once each, in the order they were typed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chatroom_bench::relay::Direction;
use chatroom_client::chat::{ChatHandle, Command, ConnStatus, Credentials, UiEvent};
use chatroom_client::session::new_key;
use chatroom_common::protocol::{HistoryQuery, IdempotencyKey, Seq};
use chatroom_testkit::TestRelay;
use tokio::runtime::Runtime;

use crate::{collect_until, credentials, session, start, stop, texts};

/// How long the way up is dark: well inside the QUIC idle timeout.
const BLACKOUT: Duration = Duration::from_secs(3);
/// Messages the other user posts during the blackout.
const INCOMING: usize = 20;
/// Pause between them, so they spread over the first half of the blackout.
const SPACING: Duration = Duration::from_millis(50);
/// The longest an incoming message may take from its acknowledgement to the UI queue.
const PROMPT: Duration = Duration::from_millis(300);
/// Longest wait for anything after the blackout.
const WAIT: Duration = Duration::from_secs(30);

/// Events as they reach the UI queue, each with when it was taken from it.
type Stamped = Mutex<Vec<(Instant, UiEvent)>>;

/// When `text` first reached the UI queue in a `Messages` event.
fn arrival(stamped: &[(Instant, UiEvent)], text: &str) -> Option<Instant> {
    stamped.iter().find_map(|(at, e)| match e {
        UiEvent::Messages { messages, .. } if messages.iter().any(|m| m.text == text) => Some(*at),
        _ => None,
    })
}

/// Every acknowledgement of `key`: when, and with which sequence number.
fn acks(stamped: &[(Instant, UiEvent)], key: IdempotencyKey) -> Vec<(Instant, Seq)> {
    stamped
        .iter()
        .filter_map(|(at, e)| match e {
            UiEvent::Sent { key: k, seq, .. } if *k == key => Some((*at, *seq)),
            _ => None,
        })
        .collect()
}

/// Waits until `done` holds for what was stamped so far, or panics with `what`.
fn stamped_until(stamped: &Stamped, what: &str, done: impl Fn(&[(Instant, UiEvent)]) -> bool) {
    let deadline = Instant::now() + WAIT;
    loop {
        if done(&stamped.lock().unwrap()) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn own(text: &str, key: IdempotencyKey) -> Command {
    Command::Send {
        room: "lobby".into(),
        text: text.into(),
        key,
    }
}

#[test]
fn incoming_messages_reach_the_ui_while_an_own_send_waits_out_a_blackout() {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&rt, dir.path(), "127.0.0.1:0".parse().unwrap());
    let bob = session(&rt, &server, "bob", true);
    rt.block_on(bob.join("lobby")).unwrap();

    let relay = rt.block_on(TestRelay::to(server.socket));
    let relay_addr = relay.addr.to_string();
    let control = relay.control.clone();

    let handle = ChatHandle::spawn(Arc::new(|| {})).unwrap();
    handle.send(Command::Register {
        credentials: Credentials {
            server: relay_addr,
            ..credentials(&server, "alice")
        },
        email: "alice@example.org".into(),
    });
    let mut all = Vec::new();
    collect_until(&handle, &mut all, "the lobby", |all| {
        all.iter()
            .any(|e| matches!(e, UiEvent::Joined { room, .. } if room.name == "lobby"))
    });
    // Let the login's own requests finish, so only the blackout is measured.
    std::thread::sleep(Duration::from_millis(500));
    all.extend(handle.drain());

    let (first, second) = (new_key(), new_key());
    let stamped: Stamped = Mutex::new(Vec::new());
    let collecting = AtomicBool::new(true);
    let mut acked = Vec::new();
    let mut dark_from = Instant::now();
    let mut dark_until = dark_from;
    std::thread::scope(|s| {
        // Stamps events the moment they can be taken from the queue, as the UI would.
        s.spawn(|| {
            while collecting.load(Ordering::Relaxed) {
                let batch = handle.wait(Duration::from_millis(20));
                let now = Instant::now();
                stamped
                    .lock()
                    .unwrap()
                    .extend(batch.into_iter().map(|e| (now, e)));
            }
        });
        dark_from = Instant::now();
        dark_until = control.black_out(Direction::Up, BLACKOUT).into_std();
        handle.send(own("mine 1", first));
        for i in 1..=INCOMING {
            let text = format!("from bob {i}");
            rt.block_on(bob.send("lobby", &text)).unwrap();
            acked.push((text, Instant::now()));
            if i == INCOMING / 2 {
                // Typed during the blackout, in the same room: it must follow "mine 1".
                handle.send(own("mine 2", second));
            }
            std::thread::sleep(SPACING);
        }
        stamped_until(&stamped, "bob's messages", |s| {
            acked.iter().all(|(text, _)| arrival(s, text).is_some())
        });
        stamped_until(&stamped, "both acknowledgements", |s| {
            !acks(s, first).is_empty() && !acks(s, second).is_empty()
        });
        // Long enough for a second acknowledgement to show up, if there were one.
        std::thread::sleep(Duration::from_secs(1));
        collecting.store(false, Ordering::Relaxed);
    });
    let stamped = stamped.into_inner().unwrap();

    let delays: Vec<Duration> = acked
        .iter()
        .map(|(text, ack)| {
            arrival(&stamped, text)
                .unwrap()
                .saturating_duration_since(*ack)
        })
        .collect();
    let last_in = acked
        .iter()
        .filter_map(|(text, _)| arrival(&stamped, text))
        .max()
        .unwrap();
    let (first_acks, second_acks) = (acks(&stamped, first), acks(&stamped, second));
    let mut sorted = delays.clone();
    sorted.sort();
    eprintln!(
        "stall: incoming delay (ack -> UI queue) min {:?} median {:?} max {:?}; \
         last incoming at +{:?}, own acks at +{:?} and +{:?} (blackout {BLACKOUT:?}); all: {delays:?}",
        sorted[0],
        sorted[sorted.len() / 2],
        sorted[sorted.len() - 1],
        last_in - dark_from,
        first_acks[0].0 - dark_from,
        second_acks[0].0 - dark_from,
    );
    assert!(
        delays.iter().all(|d| *d <= PROMPT),
        "incoming messages waited for the blocked send: {delays:?}"
    );
    assert!(last_in < dark_until, "all arrived during the blackout");
    // Nothing could reach the server while the way up was dark.
    assert!(first_acks[0].0 >= dark_until && second_acks[0].0 >= dark_until);
    assert_eq!(first_acks.len(), 1, "acknowledged once: {first_acks:?}");
    assert_eq!(second_acks.len(), 1, "acknowledged once: {second_acks:?}");
    assert!(
        first_acks[0].1 < second_acks[0].1,
        "stored in the order typed"
    );
    assert!(
        first_acks[0].0 <= second_acks[0].0,
        "reported in the order typed"
    );

    // The UI saw everything once (`texts` fails on a repeat), own ones in order.
    all.extend(stamped.into_iter().map(|(_, e)| e));
    let shown = texts(&all, "lobby");
    assert_eq!(shown.len(), INCOMING + 2, "{shown:?}");
    let mine: Vec<&String> = shown.iter().filter(|t| t.starts_with("mine")).collect();
    assert_eq!(mine, ["mine 1", "mine 2"]);
    // The server holds each own message once, in the order typed.
    let (history, _) = rt
        .block_on(bob.history(
            "lobby",
            HistoryQuery::After {
                after: 0,
                limit: 100,
            },
        ))
        .unwrap();
    let stored: BTreeMap<Seq, &str> = history
        .iter()
        .filter(|m| m.text.starts_with("mine"))
        .map(|m| (m.seq, m.text.as_str()))
        .collect();
    assert_eq!(
        stored.into_values().collect::<Vec<_>>(),
        ["mine 1", "mine 2"]
    );

    drop(handle);
    let stats = rt.block_on(relay.stop());
    assert!(stats.up_blacked_out > 0, "{stats:?}");
    stop(&rt, server);
}

#[test]
fn a_send_stuck_at_logout_is_dropped_and_its_late_answer_ignored() {
    let rt = Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = start(&rt, dir.path(), "127.0.0.1:0".parse().unwrap());
    let relay = rt.block_on(TestRelay::to(server.socket));
    let relay_addr = relay.addr.to_string();
    let control = relay.control.clone();
    let handle = ChatHandle::spawn(Arc::new(|| {})).unwrap();
    handle.send(Command::Register {
        credentials: Credentials {
            server: relay_addr,
            ..credentials(&server, "alice")
        },
        email: "alice@example.org".into(),
    });
    let mut all = Vec::new();
    collect_until(&handle, &mut all, "the lobby", |all| {
        all.iter().any(|e| matches!(e, UiEvent::Joined { .. }))
    });

    // A send into the dark, then a logout and a new login straight to the
    // server while the old connection's request is still unanswered.
    let dark_until = control.black_out(Direction::Up, BLACKOUT).into_std();
    let stuck = new_key();
    handle.send(own("never sent", stuck));
    // A request of another kind, whose failure would read as a lost connection.
    handle.send(Command::RefreshRooms);
    std::thread::sleep(Duration::from_millis(200));
    handle.send(Command::Logout);
    handle.send(Command::Login(credentials(&server, "alice")));
    let mut after = Vec::new();
    collect_until(&handle, &mut after, "the lobby again", |all| {
        all.iter().any(|e| matches!(e, UiEvent::Joined { .. }))
    });
    let fresh = new_key();
    handle.send(own("after the logout", fresh));
    collect_until(&handle, &mut after, "the new send", |all| {
        all.iter()
            .any(|e| matches!(e, UiEvent::Sent { key, .. } if *key == fresh))
    });
    // Past the blackout, when the old request could have been answered.
    while Instant::now() < dark_until + Duration::from_secs(1) {
        after.extend(handle.wait(Duration::from_millis(100)));
    }
    assert!(
        !after.iter().any(|e| matches!(
            e,
            UiEvent::Sent { key, .. } | UiEvent::SendFailed { key, .. } if *key == stuck
        )),
        "the old connection's answer reached the UI: {after:#?}"
    );
    assert!(
        !after
            .iter()
            .any(|e| matches!(e, UiEvent::Status(ConnStatus::Reconnecting { .. }))),
        "the old connection's failure was taken for the new one's: {after:#?}"
    );
    let bob = session(&rt, &server, "bob", true);
    let (history, _) = rt
        .block_on(bob.history(
            "lobby",
            HistoryQuery::After {
                after: 0,
                limit: 100,
            },
        ))
        .unwrap();
    let texts: Vec<&str> = history.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["after the logout"]);

    drop(handle);
    rt.block_on(relay.stop());
    stop(&rt, server);
}
