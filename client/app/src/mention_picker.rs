//! The names offered while an `@name` is typed in the composer: ↑/↓ move
//! through them, Enter or Tab (or a click) puts `@name ` in, Esc closes the
//! list until another `@` is typed. Letters typed after the `@` filter it.

use egui::text::{CCursor, CCursorRange};
use egui::{Align2, Id, Key, Modifiers, Pos2, Rect, RichText};

use super::fonts::GlyphGuard;
use super::i18n::{I18n, t};
use super::mentions::{complete, offer, typed_mention};
use super::model::RoomView;

/// The list while it is open.
#[derive(Debug, Clone, PartialEq)]
struct Open {
    /// The room whose draft it completes.
    room: String,
    /// Where the `@` is in the draft (a character index).
    at: usize,
    /// Where the cursor is: the end of what is replaced.
    cursor: usize,
    /// The letters typed after the `@`.
    query: String,
    /// The names offered, best first.
    names: Vec<String>,
    /// The one Enter or Tab would take.
    selected: usize,
}

/// The composer's mention list: open or closed, and which `@` Esc closed.
#[derive(Debug, Default)]
pub struct MentionPicker {
    /// The list, while an `@name` with matching names is being typed.
    open: Option<Open>,
    /// The `@` (room and position) the user closed with Esc: not offered
    /// again until the cursor leaves it.
    dismissed: Option<(String, usize)>,
    /// Where the list was drawn last frame: a click on it takes the keyboard
    /// from the composer for a moment, and must not close it.
    rect: Option<Rect>,
}

impl MentionPicker {
    /// Whether the list is open over `room`'s composer.
    pub fn is_open(&self, room: &str) -> bool {
        self.open.as_ref().is_some_and(|o| o.room == room)
    }

    /// The names offered and the one selected, while open.
    pub fn offered(&self) -> Option<(&[String], usize)> {
        self.open.as_ref().map(|o| (o.names.as_slice(), o.selected))
    }

    /// Takes the list's keys before the text box sees them (so ↑/↓ do not
    /// move the cursor, Enter does not send, Tab and Esc keep the keyboard).
    /// Returns the name chosen with Enter or Tab.
    pub fn keys(&mut self, ui: &egui::Ui, room: &str) -> Option<String> {
        let open = self.open.as_mut().filter(|o| o.room == room)?;
        let count = open.names.len();
        let (down, up, enter, tab, escape) = ui.input_mut(|i| {
            (
                i.count_and_consume_key(Modifiers::NONE, Key::ArrowDown),
                i.count_and_consume_key(Modifiers::NONE, Key::ArrowUp),
                i.consume_key(Modifiers::NONE, Key::Enter),
                i.consume_key(Modifiers::NONE, Key::Tab),
                i.consume_key(Modifiers::NONE, Key::Escape),
            )
        });
        if count == 0 {
            return None;
        }
        // Wraps around at either end.
        let step = down as isize - up as isize;
        open.selected = (open.selected as isize + step).rem_euclid(count as isize) as usize;
        if escape {
            self.dismissed = Some((open.room.clone(), open.at));
            self.open = None;
            return None;
        }
        if enter || tab {
            return open.names.get(open.selected).cloned();
        }
        None
    }

    /// Puts `@name ` in place of what was typed and the cursor after it.
    pub fn insert(&mut self, ctx: &egui::Context, edit: Id, draft: &mut String, name: &str) {
        let Some(open) = self.open.take() else {
            return;
        };
        let (text, cursor) = complete(draft, open.at, open.cursor, name);
        *draft = text;
        let mut state = egui::text_edit::TextEditState::load(ctx, edit).unwrap_or_default();
        state
            .cursor
            .set_char_range(Some(CCursorRange::one(CCursor::new(cursor))));
        state.store(ctx, edit);
    }

    /// Opens, filters or closes the list after the text box ran: open while
    /// the cursor (with nothing selected) is in an `@name` that some known
    /// member matches and the composer has the keyboard (or the pointer is on
    /// the list, being clicked).
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        view: &RoomView,
        me: &str,
        draft: &str,
        cursor: Option<CCursorRange>,
        focused: bool,
    ) {
        let room = view.info.name.as_str();
        let on_list = self
            .rect
            .zip(ctx.pointer_latest_pos())
            .is_some_and(|(rect, pos)| rect.contains(pos));
        let cursor = cursor.filter(|c| c.is_empty()).map(|c| c.primary.index.0);
        let typed = cursor.and_then(|c| typed_mention(draft, c).map(|(at, q)| (at, c, q)));
        if typed.is_none() {
            self.dismissed = None;
        }
        let Some((at, cursor, query)) = typed.filter(|_| focused || on_list) else {
            if !on_list {
                self.open = None;
            }
            return;
        };
        if self.dismissed.as_ref() == Some(&(room.to_owned(), at)) {
            self.open = None;
            return;
        }
        self.dismissed = None;
        let names = offer(view, me, &query);
        if names.is_empty() {
            self.open = None;
            return;
        }
        // The same query keeps the selection; new letters start at the top.
        let selected = match &self.open {
            Some(o) if o.room == room && o.at == at && o.query == query => {
                o.selected.min(names.len() - 1)
            }
            _ => 0,
        };
        self.open = Some(Open {
            room: room.to_owned(),
            at,
            cursor,
            query,
            names,
            selected,
        });
    }

    /// Draws the open list just above `anchor` (the text box's top left);
    /// returns the name clicked.
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        anchor: Pos2,
        glyphs: &mut GlyphGuard,
        i18n: &I18n,
    ) -> Option<String> {
        let Some(open) = &self.open else {
            self.rect = None;
            return None;
        };
        let mut clicked = None;
        let area = egui::Area::new(Id::unique("mention picker"))
            .order(egui::Order::Foreground)
            .pivot(Align2::LEFT_BOTTOM)
            .fixed_pos(anchor)
            .show(ctx, |ui| {
                egui::Frame::popup(ui.style()).show(ui, |ui| {
                    ui.set_min_width(160.0);
                    ui.label(RichText::new(t!(i18n, "mention-help")).small().weak());
                    for (i, name) in open.names.iter().enumerate() {
                        let shown = glyphs.clean(ui.ctx(), name).into_owned();
                        let item = ui
                            .add(egui::Button::selectable(
                                i == open.selected,
                                format!("@{shown}"),
                            ))
                            .accessible_name(t!(i18n, "mention-named", user = shown));
                        if item.clicked() {
                            clicked = Some(name.clone());
                        }
                    }
                });
            });
        self.rect = Some(area.response.rect);
        clicked
    }
}
