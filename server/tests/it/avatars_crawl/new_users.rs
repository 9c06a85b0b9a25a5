//! New accounts get crawled pictures first, spread evenly, through a real crawl and a real server.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chatroom_server::avatars::crawl::{CrawlReport, NoProgress, scrape};
use chatroom_server::avatars::{AvatarPool, identicon};
use chatroom_testkit::TestServer;

use super::{config, gallery};

/// Crawls a gallery of `n` distinct pictures into the pool in the database at
/// `database` (as `chatroom-server avatars scrape` does, with a store of its
/// own); the hashes the crawler accepted.
async fn crawl_into(database: &str, n: u32) -> BTreeSet<String> {
    let site = gallery(n, Duration::ZERO).await;
    let store = chatroom_server::store::open(database)
        .await
        .expect("open the server's database");
    let pool = AvatarPool::new(store);
    let report: CrawlReport = scrape(config(&site, "/"), &pool, NoProgress)
        .await
        .expect("crawl runs");
    assert_eq!(report.accepted.len(), n as usize, "{report:#?}");
    report.accepted.into_iter().map(|(_, hash)| hash).collect()
}

/// Registers `names` and returns each one's assigned avatar (hex).
async fn register(server: &TestServer, names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut avatars = Vec::new();
    for name in names {
        let session = server.user(&name).await;
        let avatar = session
            .user()
            .and_then(|user| user.avatar)
            .expect("a new account gets a picture");
        avatars.push(avatar.to_string());
        session.close().await;
    }
    avatars
}

/// How many accounts got each picture.
fn tally(avatars: &[String]) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for avatar in avatars {
        *counts.entry(avatar.as_str()).or_insert(0) += 1;
    }
    counts
}

/// The server's default identicons, as `AvatarPool::ensure_defaults` seeds them.
fn default_identicons(n: usize) -> BTreeSet<String> {
    (0..n)
        .map(|i| identicon(&format!("chatroom-default-{i}")).hash_hex())
        .collect()
}

/// Asserts that every one of `pictures` was given out and no two counts differ by more than one.
fn assert_even(avatars: &[String], pictures: &BTreeSet<String>) {
    let counts = tally(avatars);
    for picture in pictures {
        assert!(
            counts.contains_key(picture.as_str()),
            "{picture} never given out: {counts:?}"
        );
    }
    let (fewest, most) = (counts.values().min(), counts.values().max());
    assert!(
        most.zip(fewest)
            .is_some_and(|(most, fewest)| most - fewest <= 1),
        "uneven spread: {counts:?}"
    );
}

#[tokio::test]
async fn new_accounts_get_crawled_pictures_evenly_and_the_pool_still_offers_identicons() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server_config = chatroom_testkit::server::config(dir.path()).await;
    let crawled = crawl_into(&server_config.database_url(), 5).await;
    let server = TestServer::start_config(server_config).await;

    let avatars = register(&server, (0..17).map(|i| format!("user{i}"))).await;
    for avatar in &avatars {
        assert!(
            crawled.contains(avatar),
            "{avatar} is not a crawled picture"
        );
    }
    assert_even(&avatars, &crawled);

    // Browsing is unchanged: the pool still holds the crawled pictures topped
    // up with identicons to the default 24, and any of them can be picked.
    let browser = server.login("user0").await;
    let offered: BTreeSet<String> = browser
        .avatar_pool()
        .await
        .expect("pool listing")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(offered.len(), 24);
    assert!(offered.is_superset(&crawled));
    let identicons = default_identicons(24);
    assert!(
        offered.difference(&crawled).all(|h| identicons.contains(h)),
        "the rest are the default identicons"
    );
    browser.close().await;
    server.stop().await;
}

#[tokio::test]
async fn without_crawled_pictures_new_accounts_get_identicons_evenly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server_config = chatroom_testkit::server::config(dir.path()).await;
    // A small pool keeps the number of registrations down.
    server_config.default_avatars = 4;
    let server = TestServer::start_config(server_config).await;

    let avatars = register(&server, (0..9).map(|i| format!("user{i}"))).await;
    let browser = server.login("user0").await;
    let pool: BTreeSet<String> = browser
        .avatar_pool()
        .await
        .expect("pool listing")
        .iter()
        .map(ToString::to_string)
        .collect();
    browser.close().await;
    assert_eq!(pool, default_identicons(4), "only identicons");
    for avatar in &avatars {
        assert!(pool.contains(avatar), "{avatar} is not in the pool");
    }
    assert_even(&avatars, &pool);
    server.stop().await;
}

#[tokio::test]
async fn a_crawl_while_the_server_runs_is_used_at_once_and_the_spread_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server_config = chatroom_testkit::server::config(dir.path()).await;
    let database = server_config.database_url();
    let server = TestServer::start_config(server_config.clone()).await;
    let before = register(&server, ["early".to_owned()]).await;
    assert!(default_identicons(24).contains(&before[0]));

    // The operator crawls into the running server's pool; the next accounts get those pictures.
    let crawled = crawl_into(&database, 5).await;
    let mut avatars = register(&server, (0..4).map(|i| format!("user{i}"))).await;
    server.stop().await;

    // After a restart the counts carry on: the one crawled picture nobody
    // has yet is the one the next account gets.
    let server = TestServer::start_config(server_config).await;
    let given: BTreeSet<String> = avatars.iter().cloned().collect();
    let unused: Vec<&String> = crawled.difference(&given).collect();
    assert_eq!(unused.len(), 1, "four accounts, four different pictures");
    let unused = unused[0].clone();
    let after = register(&server, ["late".to_owned()]).await;
    assert_eq!(after, [unused]);
    avatars.extend(after);
    assert_eq!(avatars.iter().cloned().collect::<BTreeSet<_>>(), crawled);
    server.stop().await;
}
