//! The message input, with one draft per room (and per direct conversation):
//! Enter sends the draft of the room shown and nothing else, Shift+Enter adds
//! a line. It grows with the text up to a third of the window and then
//! scrolls inside; near the size limit a byte count shows before Enter.
//! Typing `@` offers the room's members (`mention_picker`).
//!
//! Files go with the message too: attached with the 📎 button, dropped on
//! the window or pasted (a picture), they upload at once and show above the
//! text box (`files::outgoing`); Enter then sends the text with them.
//!
//! Input methods (pinyin and the like) work as egui's `TextEdit` handles
//! them: the text being composed sits in the box until committed, and egui
//! reports the caret's place to the system (`PlatformOutput::ime`) so the
//! candidate window follows it. The one thing the composer adds is Enter:
//! an Enter that reaches the app while a composition is open (some systems
//! pass it on) never sends the half-composed text.

use chatroom_common::protocol::MAX_TEXT_BYTES;
use egui::{
    Align, Event, EventFilter, ImeEvent, Key, KeyboardShortcut, Layout, Modifiers, RichText,
    TextEdit,
};

use super::file_pick::FileKind;
use super::i18n::{I18n, t};
use super::{ChatApp, files, theme};

/// The byte count shows from this size on, so it is there before the limit.
pub const COUNT_FROM: usize = MAX_TEXT_BYTES - MAX_TEXT_BYTES / 8;
/// Width of the column beside the input (the Send button and the count).
const SIDE: f32 = 100.0;

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The byte count for a draft of `len` bytes; `None` while far from the limit.
pub fn byte_count(i18n: &I18n, len: usize) -> Option<String> {
    if len < COUNT_FROM {
        return None;
    }
    let (shown, limit) = (thousands(len), thousands(MAX_TEXT_BYTES));
    Some(if len > MAX_TEXT_BYTES {
        let over = thousands(len - MAX_TEXT_BYTES);
        t!(
            i18n,
            "composer-bytes-over",
            len = shown,
            limit = limit,
            over = over
        )
    } else {
        t!(i18n, "composer-bytes", len = shown, limit = limit)
    })
}

/// Whether Enter (without Shift) was pressed this frame outside an input
/// method's composition. `composing` says whether one is open, before the
/// frame's events and after them: a non-empty pre-edit opens it, a commit or
/// an empty pre-edit closes it.
pub fn enter_to_send(events: &[Event], composing: &mut bool) -> bool {
    let mut enter = false;
    for event in events {
        match event {
            Event::Ime(ImeEvent::Preedit { text, .. }) => *composing = !text.is_empty(),
            Event::Ime(ImeEvent::Commit(_)) => *composing = false,
            Event::Key {
                key: Key::Enter,
                pressed: true,
                modifiers,
                ..
            } if !modifiers.shift && !*composing => enter = true,
            _ => {}
        }
    }
    enter
}

/// Draws the composer under the message list.
pub fn composer_ui(ui: &mut egui::Ui, app: &mut ChatApp) {
    ui.add_space(4.0);
    let Some(room) = app.model.current().map(|v| v.info.name.clone()) else {
        ui.add_enabled(
            false,
            TextEdit::multiline(&mut String::new())
                .hint_text(t!(app.i18n, "composer-join-first"))
                .desired_rows(2)
                .desired_width(f32::INFINITY),
        );
        ui.add_space(4.0);
        return;
    };
    if let Some(wait) = app.model.slow_down {
        let seconds = format!("{:.1}", wait.as_secs_f32());
        let slow = t!(app.i18n, "composer-slow-down", seconds = seconds);
        ui.colored_label(theme::warning(ui.visuals()), slow);
    }
    if let Some((for_room, error)) = &app.composer_error
        && *for_room == room
    {
        let error = app.glyphs.clean(ui.ctx(), error).into_owned();
        ui.colored_label(theme::error(ui.visuals()), error);
    }
    files::outgoing::take_incoming(ui.ctx(), app, &room);
    files::outgoing::attached_ui(ui, app, &room);
    // A third of the window at most, so the messages keep the rest.
    let cap = (ui.ctx().content_rect().height() / 3.0).max(48.0);
    let focus = std::mem::take(&mut app.model.focus_composer);
    let mut send = false;
    // Per room: the cursor and undo history belong to that room's draft.
    let edit_id = ui.make_persistent_id(("composer", room.as_str()));
    for image in files::outgoing::pasted_images(ui, edit_id) {
        app.files.paste(ui.ctx(), &room, image);
    }
    let me = app
        .model
        .me
        .as_ref()
        .map(|m| m.username.clone())
        .unwrap_or_default();
    // The mention list's keys go to it, not to the text box.
    let picking = app.mentions.is_open(&room) && ui.memory(|m| m.has_focus(edit_id));
    let chosen = if picking {
        app.mentions.keys(ui, &room)
    } else {
        None
    };
    let mut anchor = ui.cursor().min;
    // Top-aligned: a bottom-aligned row would take all the height offered
    // and grow the panel every frame.
    ui.horizontal_top(|ui| {
        let width = (ui.available_width() - SIDE).max(80.0);
        let draft = app.drafts.entry(room.clone()).or_default();
        if let Some(name) = chosen {
            app.mentions.insert(ui.ctx(), edit_id, draft, &name);
        }
        let out = egui::ScrollArea::vertical()
            .id_salt(("composer scroll", room.as_str()))
            .max_height(cap)
            .show(ui, |ui| {
                TextEdit::multiline(draft)
                    .id(edit_id)
                    .hint_text(t!(app.i18n, "composer-hint"))
                    .desired_rows(2)
                    .desired_width(width)
                    // Only Shift+Enter makes a new line; plain Enter is left for sending.
                    .return_key(KeyboardShortcut::new(Modifiers::SHIFT, Key::Enter))
                    // While the mention list is open, Tab and Esc are its
                    // keys and must not take the keyboard away.
                    .event_filter(EventFilter {
                        horizontal_arrows: true,
                        vertical_arrows: true,
                        tab: picking,
                        escape: picking,
                    })
                    .show(ui)
            });
        anchor = out.inner_rect.min;
        // The output's rect is the room offered, not the shrunk box.
        let box_height = out.content_size.y.min(out.inner_rect.height());
        let cursor = out.inner.state.cursor.char_range();
        // Screen readers (and the tests) find the input by this name.
        let response = out
            .inner
            .response
            .response
            .accessible_name(t!(app.i18n, "composer-label"));
        if focus {
            response.request_focus();
        }
        if let Some(view) = app.model.current() {
            let focused = response.has_focus() || focus;
            app.mentions
                .update(ui.ctx(), view, &me, draft, cursor, focused);
        }
        let len = draft.len();
        // Whether a composition is open is kept from frame to frame.
        let composing_id = edit_id.with("composing");
        let mut composing = ui.data(|d| d.get_temp::<bool>(composing_id).unwrap_or_default());
        let enter = ui.input(|i| enter_to_send(&i.events, &mut composing)) && response.has_focus();
        ui.data_mut(|d| d.insert_temp(composing_id, composing));
        if response.changed() {
            // The problem shown was about the text as it was.
            app.composer_error = None;
        }
        // Send sits at the bottom of the column, level with the text's last
        // line; the count, when there is one, just above it.
        ui.allocate_ui_with_layout(
            egui::vec2(SIDE, box_height),
            Layout::bottom_up(Align::Center),
            |ui| {
                let too_long = len > MAX_TEXT_BYTES;
                let clicked = ui
                    .horizontal(|ui| {
                        let attach = ui
                            .add_enabled(
                                !app.files.attach_picker.is_open(),
                                egui::Button::new("📎"),
                            )
                            .accessible_name(t!(app.i18n, "attach-button"))
                            .on_hover_text(t!(app.i18n, "attach-hover"));
                        if attach.clicked() {
                            app.files
                                .attach_picker
                                .open(ui.ctx(), &app.i18n, FileKind::Attachment);
                        }
                        ui.add_enabled(!too_long, egui::Button::new(t!(app.i18n, "composer-send")))
                            .clicked()
                    })
                    .inner;
                send = enter || clicked;
                if let Some(count) = byte_count(&app.i18n, len) {
                    let color = if too_long {
                        theme::error(ui.visuals())
                    } else {
                        ui.visuals().weak_text_color()
                    };
                    ui.add(egui::Label::new(RichText::new(count).small().color(color)).wrap());
                }
            },
        );
        if send {
            response.request_focus();
        }
    });
    if let Some(name) = app
        .mentions
        .show(ui.ctx(), anchor, &mut app.glyphs, &app.i18n)
    {
        let draft = app.drafts.entry(room.clone()).or_default();
        app.mentions.insert(ui.ctx(), edit_id, draft, &name);
        ui.memory_mut(|m| m.request_focus(edit_id));
    }
    if app.files.attach_picker.unavailable() {
        let text = t!(app.i18n, "attach-unavailable");
        ui.colored_label(theme::error(ui.visuals()), text);
    }
    if send {
        app.send_message();
    }
    ui.add_space(4.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_shows_near_the_limit_and_says_how_much_is_over() {
        let en = I18n::new(crate::i18n::Language::English);
        assert_eq!(byte_count(&en, 100), None);
        assert_eq!(byte_count(&en, COUNT_FROM - 1), None);
        assert_eq!(
            byte_count(&en, 3600).as_deref(),
            Some("3,600 / 4,096 bytes")
        );
        assert_eq!(
            byte_count(&en, 4200).as_deref(),
            Some("4,200 / 4,096 bytes: 104 too many")
        );
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn enter_during_a_composition_does_not_send() {
        let enter = Event::Key {
            key: Key::Enter,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers: Modifiers::NONE,
        };
        let preedit = |text: &str| {
            Event::Ime(ImeEvent::Preedit {
                text: text.into(),
                active_range_chars: None,
            })
        };
        let mut composing = false;
        assert!(enter_to_send(std::slice::from_ref(&enter), &mut composing));
        assert!(!enter_to_send(
            &[preedit("ni"), enter.clone()],
            &mut composing
        ));
        assert!(composing, "still open for the next frame");
        assert!(!enter_to_send(std::slice::from_ref(&enter), &mut composing));
        let commit = Event::Ime(ImeEvent::Commit("你".into()));
        assert!(enter_to_send(&[commit, enter.clone()], &mut composing));
        assert!(!composing);
        // Dismissed with an empty pre-edit: Enter sends again.
        composing = true;
        assert!(enter_to_send(&[preedit(""), enter], &mut composing));
        assert_eq!(thousands(999), "999");
    }
}
