//! A send that cannot get through must not freeze the screen (issue #14): the
//! app reaches the real server through the relay, whose way up is blacked out
//! for 3 s while another user, connected directly, posts 20 messages. They
//! appear while the app's own message still says "sending…"; after the
//! blackout it shows as sent, once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chatroom_app::{AppOptions, ChatApp, Settings};
use chatroom_bench::relay::Direction;
use chatroom_common::protocol::HistoryQuery;
use chatroom_testkit::TestRelay;
use egui_kittest::Harness;

use crate::harness::{
    TestServer, options, register, send, shows, shows_part, top_of, wait_for, wait_for_lobby,
};

/// How long the way up is dark: well inside the QUIC idle timeout.
const BLACKOUT: Duration = Duration::from_secs(3);
/// Messages the other user posts during the blackout.
const INCOMING: usize = 20;
/// Pause between them, so they spread over the first half of the blackout.
const SPACING: Duration = Duration::from_millis(50);
/// The own message.
const MINE: &str = "typed into the blackout";

/// The app in a window tall enough to show all of the messages at once.
fn tall_app(settings: Settings, options: AppOptions) -> Harness<'static, ChatApp> {
    Harness::builder()
        .with_size([1100.0, 1400.0])
        .build_eframe(move |cc| {
            ChatApp::with_settings(&cc.egui_ctx, settings, options).expect("app starts")
        })
}

#[test]
fn another_users_messages_show_while_the_apps_own_waits_out_a_blackout() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let bob = server.session("bob", true);
    server.rt.block_on(bob.join("lobby")).unwrap();
    let relay = server.rt.block_on(TestRelay::to(server.addr));
    let relay_addr = relay.addr.to_string();
    let control = relay.control.clone();

    // The app knows only the relay's address, pinned to the server's certificate.
    let mut settings = server.pinned_settings("alice");
    settings.server = relay_addr.clone();
    settings.set_pin(&relay_addr, &server.fingerprint);
    let mut h = tall_app(settings, options(dir.path()));
    register(&mut h, "alice@example.org");
    wait_for_lobby(&mut h);

    let dark_from = Instant::now();
    let dark_until = control.black_out(Direction::Up, BLACKOUT).into_std();
    send(&mut h, MINE);
    assert!(shows(&h, "sending…"));
    let rt = &server.rt;
    let (bob, acked, seen) = std::thread::scope(|s| {
        let posting = s.spawn(move || {
            let mut acked = Vec::new();
            for i in 1..=INCOMING {
                let text = format!("from bob {i}");
                rt.block_on(bob.send("lobby", &text)).unwrap();
                acked.push((text, Instant::now()));
                std::thread::sleep(SPACING);
            }
            (bob, acked)
        });
        // Frame by frame, as the app runs: when is each of bob's messages first on screen?
        let mut seen: BTreeMap<String, Instant> = BTreeMap::new();
        let deadline = dark_until + Duration::from_secs(30);
        while seen.len() < INCOMING && Instant::now() < deadline {
            h.step();
            let now = Instant::now();
            for i in 1..=INCOMING {
                let text = format!("from bob {i}");
                if !seen.contains_key(&text) && shows(&h, &text) {
                    seen.insert(text, now);
                }
            }
            if now < dark_until {
                assert!(shows(&h, "sending…"), "acknowledged through a dark uplink");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let (bob, acked) = posting.join().unwrap();
        (bob, acked, seen)
    });
    let delays: Vec<Duration> = acked
        .iter()
        .map(|(text, ack)| {
            seen.get(text)
                .unwrap_or_else(|| panic!("{text} never showed"))
                .saturating_duration_since(*ack)
        })
        .collect();
    let last_shown = seen.values().max().unwrap();
    eprintln!(
        "gui stall: ack -> on screen max {:?}; last shown at +{:?} (blackout {BLACKOUT:?}); all: {delays:?}",
        delays.iter().max().unwrap(),
        *last_shown - dark_from,
    );
    assert!(
        *last_shown < dark_until,
        "bob's messages waited for the blocked send: the last showed {:?} after the blackout began",
        *last_shown - dark_from
    );

    wait_for(&mut h, "the own message sent", |h| {
        shows(h, MINE) && !shows_part(h, "sending")
    });
    // Shown once, below bob's messages (it was stored after them).
    assert!(top_of(&h, &format!("from bob {INCOMING}")) < top_of(&h, MINE));
    let (history, _) = server
        .rt
        .block_on(bob.history(
            "lobby",
            HistoryQuery::After {
                after: 0,
                limit: 100,
            },
        ))
        .unwrap();
    assert_eq!(history.iter().filter(|m| m.text == MINE).count(), 1);
    assert_eq!(history.len(), INCOMING + 1);

    drop(h);
    let stats = server.rt.block_on(relay.stop());
    assert!(stats.up_blacked_out > 0, "{stats:?}");
    server.stop();
}
