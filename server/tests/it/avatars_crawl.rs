//! Tests of the avatar crawler against a real HTTP/1.1 server on 127.0.0.1 serving generated pages and images.

mod command;
mod fixture;
mod new_users;

use std::time::{Duration, Instant};

use chatroom_common::protocol::AvatarHash;
use chatroom_server::avatars::crawl::{
    CrawlConfig, CrawlError, CrawlReport, NoProgress, RejectReason, scrape, summary,
};
use chatroom_server::avatars::{AVATAR_SIZE, AvatarKind, AvatarPool, sha256_hex};
use fixture::{Framing, Reply, Site, encode, picture, png, png_claiming, six_mib};
use image::ImageFormat;
use tempfile::TempDir;

// ---------------------------------------------------------------------------
// Helpers.

fn config(site: &Site, path: &str) -> CrawlConfig {
    let mut cfg = CrawlConfig::new(site.url(path));
    // Politeness delays would only slow the tests down; one test checks the delay itself.
    cfg.per_host_delay = Duration::ZERO;
    cfg.timeout = Duration::from_secs(20);
    cfg
}

fn page(body: &str) -> Reply {
    Reply::ok(
        "text/html; charset=utf-8",
        format!("<!doctype html><html><head><title>t</title></head><body>{body}</body></html>")
            .into_bytes(),
    )
}

/// The rejection reason recorded for `url`, if any.
fn rejection<'a>(report: &'a CrawlReport, url: &str) -> Option<&'a RejectReason> {
    report
        .rejected
        .iter()
        .find(|(u, _)| u == url)
        .map(|(_, reason)| reason)
}

/// A pool on a fresh SQLite database in a temporary directory.
async fn pool() -> (TempDir, AvatarPool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("chat.db").display());
    let store = chatroom_server::store::open(&url)
        .await
        .expect("open store");
    (dir, AvatarPool::new(store))
}

async fn assert_pool_holds(pool: &AvatarPool, report: &CrawlReport) {
    for (url, hash) in &report.accepted {
        let hash_bytes = AvatarHash::from_hex(hash).expect("hex hash");
        let png = pool
            .get(hash_bytes)
            .await
            .expect("get")
            .expect("accepted image is stored");
        assert_eq!(
            pool.kind(hash_bytes).await.expect("kind"),
            Some(AvatarKind::Crawled)
        );
        assert_eq!(&sha256_hex(&png), hash, "{url}");
        let decoded = image::load_from_memory_with_format(&png, ImageFormat::Png).expect("png");
        assert_eq!(
            (decoded.width(), decoded.height()),
            (AVATAR_SIZE, AVATAR_SIZE)
        );
    }
    assert_eq!(pool.len().await.expect("len"), report.accepted.len());
}

// ---------------------------------------------------------------------------
// Tests.

#[tokio::test]
async fn crawl_accepts_good_images_and_rejects_every_kind_of_bad_one() {
    let good_png = png(200, 150, 1);
    let good_webp = encode(&picture(100, 80, 4), ImageFormat::WebP);
    let html = r#"
        <img src="/img/good.png" alt="png">
        <img src="/img/good.jpg"><img src="/img/good.gif"><img src="/img/good.webp">
        <img src="/img/fallback.png" srcset="/img/set-1x.png 1x, /img/set-2x.png 2x">
        <img src="../img/rel.png"><img src="pics/local.png">
        <img src="/copies/same-as-good.png">
        <img src="/img/text.png"><img src="/img/truncated.png"><img src="/img/tiny.png">
        <img src="/big/honest.png"><img src="/big/no-length.png">
        <img src="/big/chunked.png"><img src="/big/lying.png">
        <img src="/img/bomb.png"><img src="/img/missing.png">
        <img src="/loop/a"><img src="/hop/0"><img src="/go/redirected">
        <img src="/private/secret.png">
        <img src="data:image/png;base64,iVBORw0KGgo=">
    "#;
    let mut routes = vec![
        (
            "/robots.txt",
            Reply::ok(
                "text/plain",
                b"User-agent: *\nDisallow: /private/\n".to_vec(),
            ),
        ),
        ("/img/good.png", Reply::ok("image/png", good_png.clone())),
        (
            "/img/good.jpg",
            Reply::ok(
                "image/jpeg",
                encode(&picture(160, 160, 2), ImageFormat::Jpeg),
            ),
        ),
        (
            "/img/good.gif",
            Reply::ok("image/gif", encode(&picture(64, 64, 3), ImageFormat::Gif)),
        ),
        ("/img/good.webp", Reply::ok("image/webp", good_webp.clone())),
        ("/img/fallback.png", Reply::ok("image/png", png(40, 40, 11))),
        ("/img/set-1x.png", Reply::ok("image/png", png(64, 64, 5))),
        ("/img/set-2x.png", Reply::ok("image/png", png(128, 128, 6))),
        ("/img/og.png", Reply::ok("image/png", png(300, 300, 7))),
        ("/img/rel.png", Reply::ok("image/png", png(50, 90, 8))),
        (
            "/gallery/pics/local.png",
            Reply::ok("image/png", png(90, 50, 9)),
        ),
        (
            "/copies/same-as-good.png",
            Reply::ok("image/png", good_png.clone()),
        ),
        (
            "/img/text.png",
            Reply::ok("image/png", b"this is not a picture at all\n".to_vec()),
        ),
        (
            "/img/truncated.png",
            Reply::ok("image/png", good_png[..good_png.len() / 2].to_vec()),
        ),
        ("/img/tiny.png", Reply::ok("image/png", png(8, 8, 12))),
        ("/big/honest.png", Reply::ok("image/png", six_mib())),
        (
            "/big/no-length.png",
            Reply::ok("image/png", six_mib()).framing(Framing::CloseDelimited),
        ),
        (
            "/big/chunked.png",
            Reply::ok("image/png", six_mib()).framing(Framing::Chunked),
        ),
        (
            // Claims 1000 bytes and sends 6 MiB: the client must stop at the claim.
            "/big/lying.png",
            Reply::ok("image/png", six_mib()).framing(Framing::LyingLength(1000)),
        ),
        (
            "/img/bomb.png",
            Reply::ok("image/png", png_claiming(100_000, 100_000)),
        ),
        ("/loop/a", Reply::redirect("/loop/b")),
        ("/loop/b", Reply::redirect("/loop/a")),
        (
            "/go/redirected",
            Reply::redirect("/img/after-redirect.webp"),
        ),
        (
            "/img/after-redirect.webp",
            Reply::ok(
                "image/webp",
                encode(&picture(70, 70, 10), ImageFormat::WebP),
            ),
        ),
        (
            "/private/secret.png",
            Reply::ok("image/png", png(64, 64, 13)),
        ),
    ];
    let hops: Vec<(String, Reply)> = (0..8)
        .map(|i| {
            (
                format!("/hop/{i}"),
                Reply::redirect(&format!("/hop/{}", i + 1)),
            )
        })
        .collect();
    routes.extend(hops.iter().map(|(p, r)| (p.as_str(), r.clone())));
    let site = Site::start(routes).await;
    // The og:image URL is absolute, so the page is added once the port is known.
    site.route(
        "/gallery/index.html",
        page(&format!(
            r#"<meta property="og:image" content="{}">{html}"#,
            site.url("/img/og.png")
        )),
    );

    let (_dir, pool) = pool().await;
    let report = scrape(config(&site, "/gallery/index.html"), &pool, NoProgress)
        .await
        .expect("crawl runs");
    println!("{}", summary(&report));

    let accepted: Vec<&str> = report.accepted.iter().map(|(u, _)| u.as_str()).collect();
    for path in [
        "/img/og.png",
        "/img/good.jpg",
        "/img/good.gif",
        "/img/good.webp",
        "/img/fallback.png",
        "/img/set-1x.png",
        "/img/set-2x.png",
        "/img/rel.png",
        "/gallery/pics/local.png",
        "/go/redirected",
    ] {
        assert!(
            accepted.contains(&site.url(path).as_str()),
            "{path} not accepted: {report:#?}"
        );
    }
    // The same picture under two URLs: one is accepted, the other is a duplicate.
    let twins = [
        site.url("/img/good.png"),
        site.url("/copies/same-as-good.png"),
    ];
    assert_eq!(report.duplicates.len(), 1, "{report:#?}");
    assert!(twins.contains(&report.duplicates[0]));
    assert_eq!(
        accepted
            .iter()
            .filter(|u| twins.iter().any(|t| t == *u))
            .count(),
        1
    );
    assert_eq!(report.accepted.len(), 11);

    let expect = |path: &str, wanted: fn(&RejectReason) -> bool| {
        let reason = rejection(&report, &site.url(path));
        assert!(reason.is_some_and(wanted), "{path}: got {reason:?}");
    };
    expect("/img/text.png", |r| *r == RejectReason::NotAnImage);
    expect("/img/truncated.png", |r| *r == RejectReason::Truncated);
    expect("/img/tiny.png", |r| {
        *r == RejectReason::TooSmall {
            width: 8,
            height: 8,
        }
    });
    for big in ["/big/honest.png", "/big/no-length.png", "/big/chunked.png"] {
        expect(big, |r| matches!(r, RejectReason::TooLarge { .. }));
    }
    // Only the 1000 claimed bytes are read, and those are not a whole PNG.
    expect("/big/lying.png", |r| *r == RejectReason::Truncated);
    expect("/img/bomb.png", |r| *r == RejectReason::DecompressionBomb);
    expect("/img/missing.png", |r| *r == RejectReason::HttpStatus(404));
    expect("/loop/a", |r| *r == RejectReason::RedirectLoop);
    expect("/hop/0", |r| *r == RejectReason::TooManyRedirects(5));
    expect("/private/secret.png", |r| {
        *r == RejectReason::DisallowedByRobots
    });
    assert_eq!(report.rejected.len(), 12, "{report:#?}");

    // robots.txt is fetched once, the disallowed image never, and the crawler says who it is.
    assert_eq!(site.hits("/robots.txt"), 1);
    assert_eq!(site.hits("/private/secret.png"), 0);
    assert_eq!(
        site.hits("/hop/6"),
        0,
        "no more than 5 redirects are followed"
    );
    assert!(
        site.user_agents()
            .iter()
            .all(|ua| ua.starts_with("chatroom-avatar-crawler/") && ua.contains("operator-run")),
        "{:?}",
        site.user_agents()
    );
    assert_pool_holds(&pool, &report).await;
    assert!(summary(&report).starts_with("11 accepted, 1 duplicates, 12 rejected"));

    // A second run finds nothing new: every good picture is now a duplicate.
    let again = scrape(config(&site, "/gallery/index.html"), &pool, NoProgress)
        .await
        .expect("second crawl runs");
    assert!(again.accepted.is_empty(), "{again:#?}");
    assert_eq!(again.duplicates.len(), 12);
    assert_pool_holds(&pool, &report).await;
}

/// A site with a page of `n` distinct good images at `/img/{i}.png`, each answered after `delay`.
async fn gallery(n: u32, delay: Duration) -> Site {
    let mut routes = Vec::new();
    let mut html = String::new();
    let paths: Vec<String> = (0..n).map(|i| format!("/img/{i}.png")).collect();
    for (i, path) in paths.iter().enumerate() {
        html.push_str(&format!(r#"<img src="{path}">"#));
        let seed = 100 + u32::try_from(i).expect("small");
        routes.push((
            path.as_str(),
            Reply::ok("image/png", png(48, 48, seed)).delayed(delay),
        ));
    }
    let index = page(&html);
    routes.push(("/", index));
    Site::start(routes).await
}

#[tokio::test]
async fn limit_stops_after_enough_new_avatars() {
    let site = gallery(6, Duration::ZERO).await;
    let (_dir, pool) = pool().await;
    let mut cfg = config(&site, "/");
    cfg.limit = Some(2);
    cfg.concurrency = 1;
    // Spawning also proves the crawl future is `Send`, as a server task needs.
    let report = tokio::spawn({
        let (cfg, pool) = (cfg.clone(), pool.clone());
        async move { scrape(cfg, &pool, NoProgress).await }
    })
    .await
    .expect("task")
    .expect("crawl runs");
    assert_eq!(report.accepted.len(), 2, "{report:#?}");
    assert_pool_holds(&pool, &report).await;

    cfg.limit = Some(0);
    let report = scrape(cfg, &pool, NoProgress).await.expect("crawl runs");
    assert_eq!(report, CrawlReport::default());
}

#[tokio::test]
async fn downloads_are_bounded_by_the_concurrency_setting() {
    let site = gallery(6, Duration::from_millis(150)).await;
    let (_dir, pool) = pool().await;
    let mut cfg = config(&site, "/");
    cfg.concurrency = 2;
    let report = scrape(cfg, &pool, NoProgress).await.expect("crawl runs");
    assert_eq!(report.accepted.len(), 6);
    assert_eq!(site.max_in_flight(), 2);
}

#[tokio::test]
async fn requests_to_one_host_are_spaced_by_the_delay() {
    let site = gallery(3, Duration::ZERO).await;
    let (_dir, pool) = pool().await;
    let delay = Duration::from_millis(150);
    let mut cfg = config(&site, "/");
    cfg.per_host_delay = delay;
    let started = Instant::now();
    let report = scrape(cfg, &pool, NoProgress).await.expect("crawl runs");
    // robots.txt, the page and three images: five requests, so four gaps.
    assert_eq!(report.accepted.len(), 3);
    assert!(started.elapsed() >= delay * 4, "{:?}", started.elapsed());
}

#[tokio::test]
async fn only_http_and_https_start_urls_are_crawled() {
    let (_dir, pool) = pool().await;
    for (url, scheme) in [
        ("ftp://example.test/", "ftp"),
        ("file:///etc/passwd", "file"),
    ] {
        let error = scrape(CrawlConfig::new(url), &pool, NoProgress)
            .await
            .expect_err("refused");
        assert!(
            matches!(&error, CrawlError::UnsupportedScheme(s) if s == scheme),
            "{error:?}"
        );
        assert!(error.to_string().contains("only http and https"));
    }
    let error = scrape(CrawlConfig::new("not a url"), &pool, NoProgress)
        .await
        .expect_err("refused");
    assert!(matches!(error, CrawlError::InvalidUrl { .. }), "{error:?}");
}

#[tokio::test]
async fn page_failures_are_reported_as_crawl_errors() {
    let (_dir, pool) = pool().await;

    let site = Site::start(vec![]).await;
    let error = scrape(config(&site, "/nowhere"), &pool, NoProgress)
        .await
        .expect_err("404 page");
    assert!(
        matches!(
            &error,
            CrawlError::Page {
                reason: RejectReason::HttpStatus(404),
                ..
            }
        ),
        "{error:?}"
    );

    // RFC 9309: an unreachable robots.txt (5xx) means "assume everything is disallowed".
    let site = Site::start(vec![("/robots.txt", Reply::status(503)), ("/", page(""))]).await;
    let error = scrape(config(&site, "/"), &pool, NoProgress)
        .await
        .expect_err("robots unreachable");
    assert!(
        matches!(
            &error,
            CrawlError::Page {
                reason: RejectReason::DisallowedByRobots,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(site.hits("/"), 0);

    // A group naming our crawler applies even when the `*` group allows everything.
    let robots =
        "User-agent: *\nAllow: /\n\nUser-agent: chatroom-avatar-crawler\nDisallow: /img/\n";
    let site = Site::start(vec![
        (
            "/robots.txt",
            Reply::ok("text/plain", robots.as_bytes().to_vec()),
        ),
        ("/", page(r#"<img src="/img/a.png">"#)),
        ("/img/a.png", Reply::ok("image/png", png(64, 64, 1))),
    ])
    .await;
    let report = scrape(config(&site, "/"), &pool, NoProgress)
        .await
        .expect("crawl runs");
    assert_eq!(
        report.rejected,
        vec![(site.url("/img/a.png"), RejectReason::DisallowedByRobots)]
    );
    assert_eq!(site.hits("/img/a.png"), 0);
}
