//! Chinese text: with no CJK font the app must not panic (kittest turns a
//! missing glyph into a panic), and with one the text shows unchanged.

use chatroom_app::fonts;
use egui_kittest::kittest::Queryable;

use crate::harness::{
    PASS, TestServer, app, have_cjk_font, log_in, options, shows, wait_for, wait_for_lobby,
};

const CHINESE: &str = "你好，世界！这是中文。";

#[test]
fn chinese_without_a_cjk_font_is_replaced_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let lilei = server.session("李雷", true);
    server.rt.block_on(lilei.join("lobby")).unwrap();
    drop(server.session("grace", true));
    let mut opts = options(dir.path());
    opts.search_cjk_font = false;
    let mut h = app(server.pinned_settings("grace"), opts);
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    server.rt.block_on(lilei.send("lobby", CHINESE)).unwrap();
    // The sender's name and the text are drawn with stand-ins for the glyphs
    // no font has; the ASCII-free text keeps its length in characters.
    // (Full-width punctuation may be kept: egui's emoji font covers some.)
    wait_for(&mut h, "the cleaned message", |h| {
        h.query_all(egui_kittest::kittest::by().predicate(|n| {
            n.value().or_else(|| n.label()).is_some_and(|v| {
                // Whether the emoji font's "！" counts as a glyph has varied
                // between runs; either way the ideographs are replaced.
                !v.contains('你')
                    && (v.contains('！') || v.chars().count() == CHINESE.chars().count())
            })
        }))
        .next()
        .is_some()
    });
    assert!(!shows(&h, CHINESE));
    drop(h);
    server.stop();
}

#[test]
fn chinese_with_a_cjk_font_shows_unchanged() {
    if !have_cjk_font() {
        return;
    }
    let (path, _) = fonts::find_cjk().expect("a CJK font");
    eprintln!("using {}", path.display());
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let lilei = server.session("李雷", true);
    server.rt.block_on(lilei.join("lobby")).unwrap();
    drop(server.session("heidi", true));
    let mut opts = options(dir.path());
    opts.search_cjk_font = true;
    let mut h = app(server.pinned_settings("heidi"), opts);
    assert!(h.state().cjk_font.is_some());
    log_in(&mut h, PASS);
    wait_for_lobby(&mut h);
    server.rt.block_on(lilei.send("lobby", CHINESE)).unwrap();
    wait_for(&mut h, "the message", |h| shows(h, CHINESE));
    drop(h);
    server.stop();
}
