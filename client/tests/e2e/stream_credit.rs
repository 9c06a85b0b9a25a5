//! The pushed-stream credit: it starts small, stays small while events come
//! one at a time, grows when a burst finds it too small, and loses nothing.

use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use chatroom_common::timeline::Timeline;

use chatroom_testkit::{TestServer, message, next_event};

/// Messages posted one at a time, each waited for.
const PACED: u64 = 20;
/// Messages posted while the receiver is stalled: more than the initial
/// credit, so the server's writer runs out of it.
const BURST: u64 = 600;
/// Bursts posted at most. One grows the credit when the receiver's QUIC
/// driver hands it the burst in one go; on a loaded machine the driver can
/// yield part-way (quinn bounds its time per turn), the reader then finds
/// no stream waiting and the run starts over, so a later burst may be the
/// one that shows it.
const ROUNDS: usize = 4;

/// What the receiver reports to the test.
enum Report {
    Joined,
    Got(u64),
    Credit(u32),
    Stalling,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_push_credit_starts_small_and_grows_with_a_burst() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let mut sender = server.user("sender").await;
    let mut sender_events = sender.take_events().unwrap();
    sender.join("lobby").await.unwrap();

    // The receiver runs on a runtime of its own with one thread, so the test
    // can stall it (its QUIC driver included) while the burst is pushed.
    let (report_tx, report) = std_mpsc::channel();
    let (resume_tx, resume) = std_mpsc::channel::<()>();
    let (addr, pin) = (server.addr.clone(), server.pin.clone());
    let receiver = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let mut session = chatroom_testkit::server::user(&addr, &pin, "receiver").await;
            let mut events = session.take_events().unwrap();
            session.join("lobby").await.unwrap();
            report_tx.send(Report::Joined).unwrap();
            let mut timeline = Timeline::new(10_000);
            while timeline.contiguous_seq() < PACED {
                timeline.insert(next_event(&mut events, message).await);
                let got = timeline.contiguous_seq();
                report_tx.send(Report::Got(got)).unwrap();
            }
            let credit = session.connection().push_credit();
            report_tx.send(Report::Credit(credit)).unwrap();
            // Each round blocks this runtime's only thread until a burst is
            // posted, then reads it all; it stops once the credit has grown.
            let mut expected = PACED;
            for _ in 0..ROUNDS {
                report_tx.send(Report::Stalling).unwrap();
                resume.recv().unwrap();
                expected += BURST;
                while timeline.contiguous_seq() < expected {
                    timeline.insert(next_event(&mut events, message).await);
                }
                let credit = session.connection().push_credit();
                report_tx.send(Report::Credit(credit)).unwrap();
                if credit > 128 {
                    break;
                }
            }
            let seqs: Vec<u64> = timeline.iter().map(|m| m.seq).collect();
            assert_eq!(seqs, (1..=expected).collect::<Vec<_>>());
        });
    });
    let wait = |report: &std_mpsc::Receiver<Report>| {
        report
            .recv_timeout(Duration::from_secs(60))
            .expect("the receiver reports")
    };
    assert!(matches!(wait(&report), Report::Joined));

    for i in 1..=PACED {
        sender.send("lobby", &format!("paced {i}")).await.unwrap();
        assert!(matches!(wait(&report), Report::Got(n) if n == i));
    }
    match wait(&report) {
        Report::Credit(credit) => assert_eq!(credit, 128, "one event at a time needs no more"),
        _ => panic!("expected the receiver's credit"),
    }
    let mut posted = PACED;
    let mut credit = 128;
    for _ in 0..ROUNDS {
        assert!(matches!(wait(&report), Report::Stalling));
        for i in 1..=BURST {
            sender.send("lobby", &format!("burst {i}")).await.unwrap();
        }
        posted += BURST;
        // Resumed only once the server has pushed the whole burst to the
        // sender: the receiver's writer, fed the same events at the same
        // moments, has had as long to fill the receiver's credit, so the
        // burst is there waiting (a `Sent` reply alone says nothing of the
        // pushes, which a loaded machine can hold back).
        while next_event(&mut sender_events, message).await.seq < posted {}
        resume_tx.send(()).unwrap();
        credit = match wait(&report) {
            Report::Credit(credit) => credit,
            _ => panic!("expected the receiver's credit"),
        };
        if credit > 128 {
            break;
        }
    }
    assert!(
        credit > 128,
        "{ROUNDS} bursts of {BURST} arriving at once grow the credit (still {credit})"
    );
    receiver
        .join()
        .expect("the receiver got every message in order");
    server.stop().await;
}
