//! The repair task against a real (SQLite) store and a real hub: a hole, a
//! lost tail and a reconnect are each filled after the grace, as live
//! pushes, once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use chatroom_common::codec;
use chatroom_common::protocol::{
    Event, IdempotencyKey, OtpAlgorithm, OtpValue, RoomKind, Seq, UserInfo,
};
use tokio::task::JoinHandle;

use super::{MAX_RECONNECT_DELAY, Repair, RepairTiming, reconnect_delay, run};
use crate::hub::Hub;
use crate::outbox::{self, OutboxReceiver};
use crate::store::sqlite::SqliteStore;
use crate::store::{MailKind, NewMail, NewMessage, NewUser, OtpState, RoomId, Store, UserId};

/// A store with alice in one room, a hub with one connection in it, and the
/// repair task running with `timing`.
struct Bench {
    /// The database directory.
    _dir: tempfile::TempDir,
    /// The store repair reads.
    store: Arc<dyn Store>,
    /// The hub repair delivers into.
    _hub: Arc<Hub>,
    /// The connection's queue.
    outbox: OutboxReceiver,
    /// The shared state.
    repair: Arc<Repair>,
    /// The room.
    room: RoomId,
    /// Its one member.
    alice: UserId,
    /// The repair task.
    task: JoinHandle<()>,
}

impl Bench {
    async fn start(timing: RepairTiming) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(
            SqliteStore::open(dir.path().join("db.sqlite"))
                .await
                .unwrap(),
        );
        let alice = store
            .create_user_with_mail(
                NewUser {
                    username: "alice".into(),
                    email: "alice@example.com".into(),
                    otp: OtpState {
                        algorithm: OtpAlgorithm::Md5,
                        seed: "ke1234".into(),
                        count: 99,
                        last: OtpValue([1; 8]),
                    },
                    avatar: None,
                    created_at: 1,
                },
                NewMail {
                    kind: MailKind::Welcome,
                    queued_at: 1,
                },
                false,
            )
            .await
            .unwrap()
            .id;
        let room = store
            .create_room("lobby", RoomKind::Public)
            .await
            .unwrap()
            .id;
        store.add_member(room, alice).await.unwrap();
        let hub = Arc::new(Hub::default());
        let (tx, outbox) = outbox::outbox(64);
        hub.connect(1, tx);
        hub.login(
            1,
            alice,
            UserInfo {
                username: "alice".into(),
                avatar: None,
            },
        );
        hub.subscribe(1, room, "lobby");
        let repair = Arc::new(Repair::default());
        let task = tokio::spawn(run(
            repair.clone(),
            store.clone(),
            Arc::downgrade(&hub),
            timing,
        ));
        repair.watch(room);
        let bench = Self {
            _dir: dir,
            store,
            _hub: hub,
            outbox,
            repair,
            room,
            alice,
            task,
        };
        // The room's head is read as soon as it is watched.
        for _ in 0..200 {
            if bench.repair.lock().unanchored().is_empty() {
                return bench;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the room's head was never read");
    }

    /// Stores a message (as another node would), delivering it nowhere.
    async fn post(&self, text: &str) -> Seq {
        self.store
            .append_message(NewMessage {
                room_id: self.room,
                sender_id: self.alice,
                text: text.into(),
                key: IdempotencyKey(rand::random::<u128>().to_be_bytes()),
                sent_at: 2,
                attachments: Vec::new(),
            })
            .await
            .unwrap()
            .seq
    }

    /// The messages pushed within `wait`, as (seq, text).
    async fn pushed(&mut self, wait: Duration) -> Vec<(Seq, String)> {
        let mut got = Vec::new();
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Some(bytes)) = tokio::time::timeout_at(deadline, self.outbox.rx.recv()).await {
            match codec::decode(&bytes, 64 * 1024).unwrap() {
                Event::Message(m) => got.push((m.seq, m.text)),
                other => panic!("pushed {other:?}"),
            }
        }
        got
    }
}

impl Drop for Bench {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn pairs(list: &[(Seq, &str)]) -> Vec<(Seq, String)> {
    list.iter().map(|&(s, t)| (s, t.to_owned())).collect()
}

#[tokio::test]
async fn a_hole_is_filled_after_the_grace_and_nothing_else_is_pushed() {
    let grace = Duration::from_millis(300);
    let mut bench = Bench::start(RepairTiming {
        grace,
        sweep: Duration::from_secs(3600),
    })
    .await;
    for text in ["a", "bb", "ccc"] {
        bench.post(text).await;
    }
    // 1 was delivered here, 3 arrived from another node, 2 never came.
    bench.repair.delivered(bench.room, 1);
    assert!(bench.repair.claim(bench.room, 3));
    let opened = std::time::Instant::now();
    let first = tokio::time::timeout(grace * 4, bench.outbox.rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(opened.elapsed() >= grace - Duration::from_millis(20));
    match codec::decode(&first, 64 * 1024).unwrap() {
        Event::Message(m) => assert_eq!((m.seq, m.text.as_str()), (2, "bb")),
        other => panic!("pushed {other:?}"),
    }
    assert_eq!(bench.pushed(grace * 2).await, [], "nothing else");
    // Repaired: a late copy is not delivered again.
    assert!(!bench.repair.claim(bench.room, 2));
}

#[tokio::test]
async fn a_lost_tail_is_found_by_the_sweep_and_pushed_once() {
    let mut bench = Bench::start(RepairTiming {
        grace: Duration::from_millis(200),
        sweep: Duration::from_millis(300),
    })
    .await;
    bench.post("a").await;
    bench.repair.delivered(bench.room, 1);
    // Two messages are stored and never reach this node: nothing after
    // them shows a gap, only the room's head does.
    bench.post("bb").await;
    bench.post("ccc").await;
    assert_eq!(
        bench.pushed(Duration::from_secs(2)).await,
        pairs(&[(2, "bb"), (3, "ccc")])
    );
    // Later sweeps find nothing more to do.
    assert_eq!(bench.pushed(Duration::from_secs(1)).await, []);
}

#[tokio::test]
async fn a_reconnect_reads_the_heads_at_once() {
    let grace = Duration::from_millis(200);
    let mut bench = Bench::start(RepairTiming {
        grace,
        sweep: Duration::from_secs(3600),
    })
    .await;
    bench.post("a").await;
    assert_eq!(bench.pushed(grace * 2).await, [], "no sweep for an hour");
    bench.repair.nats_event(async_nats::Event::Disconnected);
    bench.repair.nats_event(async_nats::Event::Connected);
    assert_eq!(bench.pushed(grace * 4).await, pairs(&[(1, "a")]));
}

#[tokio::test]
async fn messages_from_before_the_watch_are_not_repaired() {
    let grace = Duration::from_millis(100);
    let mut bench = Bench::start(RepairTiming {
        grace,
        sweep: Duration::from_millis(150),
    })
    .await;
    // Unwatched and watched again after two messages: its promise starts
    // at the head read then.
    bench.repair.unwatch(bench.room);
    bench.post("a").await;
    bench.post("bb").await;
    bench.repair.watch(bench.room);
    assert_eq!(bench.pushed(Duration::from_millis(800)).await, []);
    bench.post("ccc").await;
    assert_eq!(
        bench.pushed(Duration::from_secs(2)).await,
        pairs(&[(3, "ccc")])
    );
}

#[test]
fn reconnects_back_off_to_a_second_at_most() {
    let delays: Vec<u128> = (0..12).map(|a| reconnect_delay(a).as_millis()).collect();
    assert_eq!(
        delays,
        [0, 0, 10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]
    );
    assert_eq!(reconnect_delay(usize::MAX), MAX_RECONNECT_DELAY);
}
