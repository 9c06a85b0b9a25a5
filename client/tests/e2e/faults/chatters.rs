//! Honest clients for the fault tests: registered, logged in, in the lobby,
//! with every pushed event recorded as it arrives.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatroom_client::{Session, Trust};
use chatroom_common::protocol::{Event, Seq};
use tokio::task::JoinSet;

use chatroom_testkit::in_lobby;

/// A logged-in client in the lobby whose events are recorded.
#[derive(Clone)]
pub struct Chatter {
    /// The session (shared with sending tasks).
    pub session: Arc<Session>,
    /// Sequence numbers of every pushed lobby message, in arrival order.
    pub received: Arc<Mutex<Vec<Seq>>>,
    /// `Resync` notices received.
    pub resyncs: Arc<AtomicUsize>,
}

impl Chatter {
    /// Registers `name`, logs in, joins the lobby and starts recording.
    pub async fn join(addr: &str, pin: &Trust, name: &str) -> Self {
        let (session, mut events) = in_lobby(addr, pin, name).await;
        let received = Arc::new(Mutex::new(Vec::new()));
        let resyncs = Arc::new(AtomicUsize::new(0));
        let (r, n) = (received.clone(), resyncs.clone());
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                match event {
                    Event::Message(m) if m.room == "lobby" => r.lock().unwrap().push(m.seq),
                    Event::Resync { .. } => {
                        n.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
        });
        Self {
            session: Arc::new(session),
            received,
            resyncs,
        }
    }

    /// How many messages were pushed to this client so far.
    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }
}

/// `n` chatters named `{prefix}{i}`, joined one after another.
pub async fn join_all(addr: &str, pin: &Trust, prefix: &str, n: usize) -> Vec<Chatter> {
    let mut all = Vec::with_capacity(n);
    for i in 0..n {
        all.push(Chatter::join(addr, pin, &format!("{prefix}{i}")).await);
    }
    all
}

/// Waits until the chatters' total of pushed messages stops changing for a
/// second (the fan-out has drained), or `limit` passes.
pub async fn settle(chatters: &[Chatter], limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    let total = || chatters.iter().map(Chatter::count).sum::<usize>();
    let mut last = total();
    let mut still = 0;
    while still < 4 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = total();
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
}

/// Chatters posting in the lobby in the background.
pub struct Chat {
    /// Set to end the posting loops.
    stop: Arc<AtomicBool>,
    /// One loop per chatter; each returns the seqs it had acknowledged.
    tasks: JoinSet<Vec<Seq>>,
}

impl Chat {
    /// Each chatter posts a short message every `every` until [`Chat::finish`];
    /// a send that fails fails the test.
    pub fn start(chatters: &[Chatter], every: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = JoinSet::new();
        for (i, chatter) in chatters.iter().enumerate() {
            let (session, stop) = (chatter.session.clone(), stop.clone());
            tasks.spawn(async move {
                let mut acked = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let ack = session
                        .send("lobby", &format!("chatter {i} says {n}"))
                        .await
                        .expect("a chatter's send is acknowledged");
                    acked.push(ack.seq);
                    n += 1;
                    tokio::time::sleep(every).await;
                }
                acked
            });
        }
        Self { stop, tasks }
    }

    /// Stops posting and checks that every chatter was pushed every
    /// acknowledged message exactly once, without a `Resync`; returns how many
    /// messages were posted.
    pub async fn finish(mut self, chatters: &[Chatter]) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        let mut acked: Vec<Seq> = Vec::new();
        while let Some(seqs) = self.tasks.join_next().await {
            acked.extend(seqs.unwrap());
        }
        acked.sort_unstable();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while chatters.iter().any(|c| c.count() < acked.len())
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for (i, chatter) in chatters.iter().enumerate() {
            let mut got = chatter.received.lock().unwrap().clone();
            got.sort_unstable();
            assert_eq!(
                chatter.resyncs.load(Ordering::Relaxed),
                0,
                "chatter {i} fell behind"
            );
            assert_eq!(
                got, acked,
                "chatter {i} was pushed every message exactly once"
            );
        }
        acked.len()
    }
}
