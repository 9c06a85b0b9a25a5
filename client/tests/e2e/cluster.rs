//! Several nodes behind one MariaDB database, fanned out through a NATS
//! server of the test's own: what is posted on one node reaches every member
//! on every node live, in order, once; avatars stored through one node are
//! served by every node.

use chatroom_common::protocol::{ChatMessage, Event};
use chatroom_server::{ClusterConfig, ClusterError, Config, ServerError};
use chatroom_testkit::mysql::MysqlDb;
use chatroom_testkit::server::config;
use chatroom_testkit::{
    NatsServer, TestServer, next_event, presence, room_added, room_created, room_left,
};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc::Receiver;

/// A node of the cluster `nats` on the shared database `db`, with the CA
/// every node under `dir`'s parent shares.
pub(crate) async fn node(
    dir: &std::path::Path,
    db: &MysqlDb,
    nats: &NatsServer,
    id: &str,
) -> TestServer {
    let certs = chatroom_testkit::cluster::shared_certs(dir.parent().unwrap_or(dir));
    chatroom_testkit::cluster::node(dir, &db.url(), &[nats.url()], id, &certs).await
}

/// Two in-process nodes, `a` and `b`, on one fresh MariaDB database and one
/// NATS server of the test's own, which live as long as the pair.
pub(crate) struct Pair {
    /// The first node.
    pub(crate) a: TestServer,
    /// The second node.
    pub(crate) b: TestServer,
    /// Their database.
    _db: MysqlDb,
    /// Their NATS server.
    _nats: NatsServer,
    /// Their data directories and CA.
    _dir: tempfile::TempDir,
}

impl Pair {
    /// Stops both nodes, then lets the database, NATS and directory go.
    pub(crate) async fn stop(self) {
        self.a.stop().await;
        self.b.stop().await;
    }
}

/// A [`Pair`]; `None` when the MySQL tests are skipped.
pub(crate) async fn pair() -> Option<Pair> {
    let db = MysqlDb::create().await?;
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let a = node(&dir.path().join("a"), &db, &nats, "a").await;
    let b = node(&dir.path().join("b"), &db, &nats, "b").await;
    Some(Pair {
        a,
        b,
        _db: db,
        _nats: nats,
        _dir: dir,
    })
}

/// The next `count` messages pushed to `events`, as (seq, sender, text).
async fn messages(events: &mut Receiver<Event>, count: usize) -> Vec<ChatMessage> {
    let mut got = Vec::with_capacity(count);
    while got.len() < count {
        got.push(
            next_event(events, |e| match e {
                Event::Message(m) => Some(m),
                _ => None,
            })
            .await,
        );
    }
    got.sort_by_key(|m| m.seq);
    got
}

#[tokio::test]
async fn messages_posted_on_one_node_reach_members_on_the_others_live() {
    let Some(pair) = pair().await else {
        return;
    };
    let (a, b) = (&pair.a, &pair.b);

    let mut alice = a.user("alice").await;
    let mut a_events = alice.take_events().unwrap();
    alice.join("lobby").await.unwrap();
    // Bob registers and chats through the other node.
    let mut bob = b.user("bob").await;
    let mut b_events = bob.take_events().unwrap();
    bob.join("lobby").await.unwrap();
    // Presence crosses nodes too: alice sees bob arrive.
    presence(&mut a_events, "lobby", "bob", true).await;

    for i in 1..=50 {
        alice.send("lobby", &format!("a{i}")).await.unwrap();
        bob.send("lobby", &format!("b{i}")).await.unwrap();
    }
    // Each sees all 100, with contiguous sequence numbers, none twice: its
    // own node's and the other node's.
    for events in [&mut a_events, &mut b_events] {
        let got = messages(events, 100).await;
        let seqs: Vec<u64> = got.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=100).collect::<Vec<u64>>());
        let from_alice: Vec<&str> = got
            .iter()
            .filter(|m| m.sender == "alice")
            .map(|m| m.text.as_str())
            .collect();
        assert_eq!(from_alice.len(), 50);
        assert_eq!(from_alice.first(), Some(&"a1"));
        assert_eq!(from_alice.last(), Some(&"a50"));
    }

    // A public room created on one node is announced on the other.
    alice.create_room("design").await.unwrap();
    let created = room_created(&mut b_events).await;
    assert_eq!(created.name, "design");

    // A room whose members are all on one node still reaches a member who
    // joins through the other: the node subscribes when its first member comes.
    bob.join("design").await.unwrap();
    alice.send("design", "welcome").await.unwrap();
    let m = messages(&mut b_events, 1).await;
    assert_eq!(
        (m[0].room.as_str(), m[0].text.as_str()),
        ("design", "welcome")
    );
    pair.stop().await;
}

#[tokio::test]
async fn a_cluster_refuses_sqlite_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap(), dir.path());
    config.cluster = Some(ClusterConfig::new(
        &["nats://127.0.0.1:4222".into()],
        None,
        None,
    ));
    let err = chatroom_server::spawn(config).await.err().expect("refused");
    assert!(
        matches!(err, ServerError::Cluster(ClusterError::NeedsSharedDatabase)),
        "{err}"
    );
    assert!(err.to_string().contains("--database mysql://"), "{err}");
}

#[tokio::test]
async fn an_unreachable_nats_server_stops_the_start_with_its_address() {
    let Some(db) = MysqlDb::create().await else {
        return;
    };
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path()).await;
    config.database = Some(db.url());
    let url = format!("nats://127.0.0.1:{port}");
    config.cluster = Some(ClusterConfig::new(std::slice::from_ref(&url), None, None));
    let err = chatroom_server::spawn(config).await.err().expect("refused");
    assert!(
        matches!(err, ServerError::Cluster(ClusterError::Connect { .. })),
        "{err}"
    );
    assert!(err.to_string().contains(&url), "{err}");
}

#[tokio::test]
async fn a_client_given_several_nodes_reaches_one_that_answers() {
    let Some(db) = MysqlDb::create().await else {
        return;
    };
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    // One CA for every node (`chatroom-server gen-certs` once, `--certs` on
    // each), so one pinned fingerprint holds whichever node answers.
    let certs = dir.path().join("certs");
    chatroom_server::tls::ensure(&certs, &["localhost".into(), "127.0.0.1".into()]).unwrap();
    let start = |name: &'static str| {
        let (dir, db, nats, certs) = (dir.path().join(name), &db, &nats, certs.clone());
        async move {
            let mut config: Config = config(&dir).await;
            config.database = Some(db.url());
            config.tls = chatroom_server::TlsSource::Dir(certs);
            config.cluster = Some(ClusterConfig::new(&[nats.url()], None, Some(name.into())));
            TestServer::start_config(config).await
        }
    };
    let a = start("a").await;
    let b = start("b").await;
    assert_eq!(a.fingerprint, b.fingerprint);
    a.user("alice").await;

    // Port 0 fails at once: a list where most entries fail still connects,
    // whatever order the shuffle gives.
    let list = format!("127.0.0.1:0, 127.0.0.1:0,127.0.0.1:0,{}", b.addr);
    for _ in 0..5 {
        let session = chatroom_client::Session::connect(&list, &a.pin)
            .await
            .unwrap();
        session.close().await;
    }
    // A node that is gone (no answer at all) makes way for the other.
    let both = format!("{},{}", a.addr, b.addr);
    a.stop().await;
    let bob = chatroom_testkit::server::user(&both, &b.pin, "bob").await;
    bob.join("lobby").await.unwrap();
    b.stop().await;
}

#[tokio::test]
async fn a_users_devices_on_other_nodes_hear_what_one_of_them_did() {
    let Some(pair) = pair().await else {
        return;
    };
    let (a, b) = (&pair.a, &pair.b);
    let alice = a.user("alice").await;
    // Alice's phone and bob are on the other node.
    let mut phone = b.login("alice").await;
    let mut phone_events = phone.take_events().unwrap();
    let mut bob = b.user("bob").await;
    let mut b_events = bob.take_events().unwrap();

    alice.create_room("garden").await.unwrap();
    let added = room_added(&mut phone_events).await;
    assert_eq!(added.name, "garden");
    phone.join("garden").await.unwrap();
    bob.join("garden").await.unwrap();

    // Opened on one node, the conversation appears for the peer on the other.
    let direct = alice.open_direct("bob").await.unwrap();
    let added = room_added(&mut b_events).await;
    assert_eq!(added.name, direct.name);

    // Left on one node: the phone hears it, and the room's events stop
    // there too (bob's next lobby message, queued after, arrives first).
    alice.leave("garden").await.unwrap();
    let left = room_left(&mut phone_events).await;
    assert_eq!(left, "garden");
    phone.join("lobby").await.unwrap();
    bob.join("lobby").await.unwrap();
    bob.send("garden", "anyone?").await.unwrap();
    bob.send("lobby", "over here").await.unwrap();
    let first = messages(&mut phone_events, 1).await;
    assert_eq!(first[0].text, "over here");
    pair.stop().await;
}

#[tokio::test]
async fn avatars_uploaded_via_node_a_are_fetched_via_node_b_byte_identical() {
    let Some(pair) = pair().await else {
        return;
    };
    let (a, b) = (&pair.a, &pair.b);
    let alice = a.user("alice").await;
    let bob = b.user("bob").await;

    // Both nodes offer one pool, the pictures in the shared database.
    let offered = alice.avatar_pool().await.unwrap();
    assert_eq!(offered.len(), 24);
    assert_eq!(bob.avatar_pool().await.unwrap(), offered);

    // An upload through node A is served by node B, byte for byte.
    let picture = image::RgbImage::from_fn(200, 160, |x, y| {
        image::Rgb([(x * 5) as u8, (y * 3) as u8, ((x ^ y) * 7) as u8])
    });
    let mut upload = std::io::Cursor::new(Vec::new());
    picture
        .write_to(&mut upload, image::ImageFormat::Png)
        .unwrap();
    let hash = alice.upload_avatar(upload.into_inner()).await.unwrap();
    let via_a = alice.avatar(hash).await.unwrap();
    let via_b = bob.avatar(hash).await.unwrap();
    assert_eq!(via_a, via_b);
    assert_eq!(Sha256::digest(&via_b).as_slice(), hash.0);
    // It is alice's picture, not one offered to everyone, on either node.
    assert!(!bob.avatar_pool().await.unwrap().contains(&hash));

    // And the other way round: bob's picture, assigned on node B, is served by A.
    let bobs = bob.user().unwrap().avatar.expect("a picture from the pool");
    assert_eq!(
        alice.avatar(bobs).await.unwrap(),
        bob.avatar(bobs).await.unwrap()
    );
    // A pool picture chosen through B is one node A offers.
    let pick = offered[3];
    assert_eq!(bob.choose_avatar(pick).await.unwrap(), pick);

    // New accounts on either node share one spread: with 24 unused
    // identicons, no two accounts get the same picture.
    let mut given = vec![alice.user().unwrap().avatar.unwrap(), bobs];
    for (i, node) in [&a, &b, &a, &b].into_iter().enumerate() {
        let session = node.user(&format!("user{i}")).await;
        given.push(session.user().unwrap().avatar.unwrap());
        session.close().await;
    }
    let distinct: std::collections::BTreeSet<_> = given.iter().collect();
    assert_eq!(distinct.len(), given.len(), "{given:?}");
    alice.close().await;
    bob.close().await;
    pair.stop().await;
}

#[tokio::test]
async fn a_file_posted_via_node_a_reaches_members_on_node_b_and_is_served_there() {
    let Some(pair) = pair().await else {
        return;
    };
    let (a, b) = (&pair.a, &pair.b);
    let alice = a.user("alice").await;
    let mut bob = b.user("bob").await;
    let mut b_events = bob.take_events().unwrap();
    alice.create_room("shared").await.unwrap();
    bob.join("shared").await.unwrap();

    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let file = alice.upload("data.bin", &bytes, |_| {}).await.unwrap();
    let attachment = chatroom_common::protocol::FileRef {
        hash: file.hash,
        name: file.name.clone(),
    };
    alice
        .send_with_files(
            "shared",
            "the data",
            chatroom_client::session::new_key(),
            vec![attachment],
        )
        .await
        .unwrap();
    let got = next_event(&mut b_events, |e| match e {
        Event::Message(m) if !m.attachments.is_empty() => Some(m.attachments),
        _ => None,
    })
    .await;
    assert_eq!(got, vec![file.clone()]);
    let fetched = bob.download(file.hash, |_, _| {}).await.unwrap();
    assert_eq!(fetched.bytes, bytes, "node B serves what node A stored");
    pair.stop().await;
}
