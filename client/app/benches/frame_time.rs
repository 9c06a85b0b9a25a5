//! Frame time of the message list with 100,000 messages: the CPU side of a
//! frame (egui pass plus tessellation), which is what grows with the number
//! of messages; rasterising the visible rows costs the same for any room size.
//!
//! Run: `cargo bench -p chatroom-app --bench frame_time` (numbers go to
//! docs/performance.md). Scenarios: the first frame (every height estimated),
//! sitting at the bottom, scrolling with the mouse wheel, and a new message
//! arriving every frame.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use chatroom_app::avatars::AvatarCache;
use chatroom_app::fonts::{self, GlyphGuard};
use chatroom_app::i18n::{I18n, Language};
use chatroom_app::messages::{RowContext, list_ui};
use chatroom_app::model::RoomView;
use chatroom_common::protocol::{ChatMessage, RoomInfo, RoomKind};
use egui::{Event, Pos2, RawInput, Rect, Vec2};

const MESSAGES: u64 = 100_000;
const SIZE: Vec2 = Vec2::new(1100.0, 720.0);

fn message(seq: u64) -> ChatMessage {
    let senders = ["alice", "bob", "李雷", "carol"];
    // Runs of one sender, so grouping is exercised.
    let sender = senders[(seq / 3 % 4) as usize];
    let text = match seq % 7 {
        0 => format!("message {seq}: 大家好，这是第{seq}条消息。"),
        1 => format!("message {seq} with two lines\nthe second line 👋"),
        2 => format!(
            "message {seq}: a longer one that wraps across the width of the list, \
             because people do write paragraphs in chat rooms now and then."
        ),
        _ => format!("message {seq}"),
    };
    ChatMessage {
        room: "lobby".into(),
        seq,
        sender: sender.into(),
        sender_avatar: None,
        text,
        sent_at: 1_700_000_000_000 + seq as i64 * 20_000,
        attachments: Vec::new(),
    }
}

struct Bench {
    ctx: egui::Context,
    view: RoomView,
    glyphs: GlyphGuard,
    avatars: AvatarCache,
    files: chatroom_app::files::Files,
    /// The words around the messages.
    i18n: I18n,
    next_seq: u64,
}

impl Bench {
    fn new() -> Self {
        let ctx = egui::Context::default();
        let font = fonts::install(&ctx, true);
        eprintln!("CJK font: {font:?}");
        let mut view = RoomView::new(RoomInfo {
            member: true,
            name: "lobby".into(),
            kind: RoomKind::Public,
            latest_seq: MESSAGES,
            peer: None,
        });
        view.store.insert((1..=MESSAGES).map(message).collect());
        Self {
            ctx,
            view,
            glyphs: GlyphGuard::default(),
            avatars: AvatarCache::default(),
            files: chatroom_app::files::Files::new(None),
            i18n: I18n::new(Language::English),
            next_seq: MESSAGES + 1,
        }
    }

    /// One frame: the egui pass and tessellation, timed together.
    fn frame(&mut self, events: Vec<Event>) -> Duration {
        let input = RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, SIZE)),
            events,
            ..RawInput::default()
        };
        let start = Instant::now();
        let output = self.ctx.run_ui(input, |ui| {
            egui::CentralPanel::default().show(ui, |ui| {
                let mut cx = RowContext {
                    me: "carol",
                    glyphs: &mut self.glyphs,
                    avatars: &mut self.avatars,
                    zone: chatroom_app::messages::TimeZone::Fixed(time::UtcOffset::UTC),
                    i18n: &self.i18n,
                    files: &mut self.files,
                };
                list_ui(ui, &mut self.view, &mut cx);
            });
        });
        let primitives = self.ctx.tessellate(output.shapes, output.pixels_per_point);
        let took = start.elapsed();
        std::hint::black_box(primitives);
        took
    }
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "{name:<32} frames {:>4}  mean {:>6.2} ms  p50 {:>6.2}  p95 {:>6.2}  max {:>6.2}",
        times.len(),
        ms(mean),
        ms(p(0.5)),
        ms(p(0.95)),
        ms(*times.last().unwrap()),
    );
}

fn wheel(delta_y: f32) -> Vec<Event> {
    vec![
        Event::PointerMoved(Pos2::new(SIZE.x / 2.0, SIZE.y / 2.0)),
        Event::MouseWheel {
            unit: egui::MouseWheelUnit::Point,
            delta: Vec2::new(0.0, delta_y),
            phase: egui::TouchPhase::Move,
            modifiers: egui::Modifiers::NONE,
            source: egui::MouseWheelSource::Wheel,
        },
    ]
}

fn main() {
    let setup = Instant::now();
    let mut b = Bench::new();
    println!(
        "{MESSAGES} messages held; set-up {:.0} ms",
        setup.elapsed().as_secs_f64() * 1000.0
    );
    report("first frame (all estimated)", vec![b.frame(Vec::new())]);
    // Let measured heights settle.
    for _ in 0..5 {
        b.frame(Vec::new());
    }
    report(
        "idle at the bottom",
        (0..200).map(|_| b.frame(Vec::new())).collect(),
    );
    report(
        "wheel scrolling up (60 px/frame)",
        (0..300).map(|_| b.frame(wheel(60.0))).collect(),
    );
    report(
        "fast scrolling up (2000 px/frame)",
        (0..300).map(|_| b.frame(wheel(2000.0))).collect(),
    );
    report(
        "wheel scrolling down",
        (0..300).map(|_| b.frame(wheel(-60.0))).collect(),
    );
    // Back to the bottom, where new messages keep the view following.
    b.frame(wheel(-1.0e7));
    let arrivals: Vec<Duration> = (0..200)
        .map(|_| {
            let seq = b.next_seq;
            b.next_seq += 1;
            b.view.store.insert(vec![message(seq)]);
            b.frame(Vec::new())
        })
        .collect();
    report("a new message every frame", arrivals);
    println!("held after arrivals: {}", b.view.store.len());
}
