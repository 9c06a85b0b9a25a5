//! Where one room's message list is scrolled and what it does next: follow
//! the newest message, or stay put while the user reads further up (counting
//! what arrives meanwhile for the "N new messages ⬇" button), jump to the
//! "New" divider on entering a room, or move by a page.
//!
//! The list sets the scroll offset itself rather than relying on the scroll
//! area's own stick-to-bottom, which lets go as soon as the viewport changes
//! size under it (a banner, a growing composer). While the user reads, the
//! row at the top of the view is the anchor: whatever changes above it (an
//! older page, "Load older messages" going away, heights measured for the
//! first time), that row stays where it is on the screen.

use chatroom_common::protocol::Seq;

/// A move the list makes at its next frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jump {
    /// To the newest message, and follow from then on.
    Bottom,
    /// One page up.
    PageUp,
    /// One page down.
    PageDown,
    /// To the "New" divider (or the bottom when it is on the last page).
    Divider,
}

/// A row and where its top is (or is to be), measured from the top of the view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowAt {
    /// The row's message.
    pub seq: Seq,
    /// Its top, from the top of the view (negative when partly scrolled off).
    pub y: f32,
}

/// How a room's list is scrolled; kept per room, so each keeps its place.
#[derive(Debug, Clone, PartialEq)]
pub struct ScrollState {
    /// Showing the newest message and staying with it as more arrive.
    pub follow: bool,
    /// Messages that arrived below the view while the user read further up.
    pub unseen: usize,
    /// The first message that was unread when the room was entered; the
    /// "New" divider is drawn above it until the user leaves the room.
    pub divider: Option<Seq>,
    /// The first message that arrived unread while another room was shown.
    pub first_unread: Option<Seq>,
    /// A move asked for (keys, buttons, entering the room).
    pub jump: Option<Jump>,
    /// The row at the top of the view at the end of the last frame.
    pub top_row: Option<RowAt>,
    /// A page jump in progress: the row to bring to a place. The rows a page
    /// passes over may not have been measured yet, so the jump frame moves by
    /// estimates and the next frame corrects with measured heights.
    pub page_to: Option<(RowAt, u8)>,
    /// This frame's offset came from a jump rather than from following.
    jumped: bool,
    /// The scroll offset at the end of the last frame.
    pub offset: f32,
    /// The list's width at the last frame, so heights are computed for the
    /// width the rows are drawn at before the scroll area is shown.
    pub width: f32,
    /// Height of the pending rows at the last frame (they are measured as drawn).
    pub pending_height: f32,
}

impl Default for ScrollState {
    fn default() -> Self {
        Self {
            follow: true,
            unseen: 0,
            divider: None,
            first_unread: None,
            jump: None,
            top_row: None,
            page_to: None,
            jumped: false,
            offset: 0.0,
            width: 0.0,
            pending_height: 0.0,
        }
    }
}

/// Distance from the bottom that still counts as "at the bottom".
const AT_BOTTOM: f32 = 4.0;

/// How far a page moves: most of the viewport, so a line stays for context.
pub fn page(viewport: f32) -> f32 {
    (viewport * 0.85).max(20.0)
}

/// Where things are in the list this frame, in content coordinates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tops {
    /// The offset that shows the newest message.
    pub bottom: f32,
    /// The viewport's height.
    pub viewport: f32,
    /// Where the divider's row starts.
    pub divider: Option<f32>,
    /// Where the last frame's top row starts now.
    pub top_row: Option<f32>,
    /// Where the row of a page jump starts now.
    pub page_row: Option<f32>,
}

impl ScrollState {
    /// Turns a page key into a row to move: the row at the top of the view
    /// goes a page down (Page Up) or up (Page Down); without rows, Page Down
    /// simply goes to the bottom.
    pub fn begin_page(&mut self, viewport: f32) {
        let up = match self.jump {
            Some(Jump::PageUp) => true,
            Some(Jump::PageDown) => false,
            _ => return,
        };
        self.jump = None;
        match self.top_row {
            Some(row) => {
                let shift = if up { page(viewport) } else { -page(viewport) };
                let to = RowAt {
                    seq: row.seq,
                    y: row.y + shift,
                };
                self.page_to = Some((to, 2));
            }
            None if !up => self.jump = Some(Jump::Bottom),
            None => {}
        }
    }

    /// The offset to show this frame; `None` leaves the scroll area alone.
    pub fn target(&mut self, at: Tops) -> Option<f32> {
        self.jumped = false;
        let bottom = at.bottom.max(0.0);
        if let Some((to, frames)) = self.page_to {
            if let (Some(top), None) = (at.page_row, self.jump) {
                let wanted = top - to.y;
                let target = wanted.clamp(0.0, bottom);
                // At an end there is nothing to correct; and an older page
                // arriving next frame must not be taken for a correction.
                let more = frames > 1 && target == wanted;
                self.page_to = more.then_some((to, frames - 1));
                self.jumped = true;
                return Some(target);
            }
            self.page_to = None;
        }
        match self.jump {
            Some(Jump::Bottom) => {
                self.follow = true;
                Some(bottom)
            }
            Some(Jump::Divider) => match at.divider {
                Some(top) if top < bottom => {
                    self.jumped = true;
                    Some(top)
                }
                _ => {
                    self.follow = true;
                    Some(bottom)
                }
            },
            // Pages without rows to measure by: plain distances.
            Some(Jump::PageUp) => {
                self.jumped = true;
                Some((self.offset - page(at.viewport)).max(0.0))
            }
            Some(Jump::PageDown) => {
                self.jumped = true;
                Some((self.offset + page(at.viewport)).min(bottom))
            }
            None if self.follow => Some(bottom),
            None => at
                .top_row
                .zip(self.top_row)
                .map(|(top, row)| (top - row.y).clamp(0.0, bottom)),
        }
    }

    /// Records where the list ended up: `offset` after the frame, `max` the
    /// largest offset, `target` what [`Self::target`] asked for, `top_row`
    /// the row now at the top of the view.
    pub fn settle(&mut self, offset: f32, max: f32, target: Option<f32>, top_row: Option<RowAt>) {
        let at_bottom = offset >= max - AT_BOTTOM;
        self.jump = None;
        let jumped = std::mem::take(&mut self.jumped);
        // The user scrolled when the list is not where it was put (or left).
        let moved = match target {
            Some(t) => (offset - t.min(max)).abs() > 1.0,
            None => (offset - self.offset).abs() > 0.5,
        };
        if jumped || moved || at_bottom {
            self.follow = at_bottom;
        }
        if self.follow {
            self.unseen = 0;
        }
        self.offset = offset;
        self.top_row = top_row;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(bottom: f32) -> Tops {
        Tops {
            bottom,
            viewport: 300.0,
            ..Tops::default()
        }
    }

    #[test]
    fn follows_until_the_user_scrolls_up_then_stays_until_the_bottom() {
        let mut s = ScrollState::default();
        let t = s.target(at(500.0));
        assert_eq!(t, Some(500.0));
        s.settle(500.0, 500.0, t, None);
        assert!(s.follow);
        // New content: still following, to the new bottom.
        let t = s.target(at(560.0));
        s.settle(560.0, 560.0, t, None);
        // The wheel moved it up; row 7 is now at the top, 5 points scrolled off.
        let t = s.target(at(560.0));
        let row = RowAt { seq: 7, y: -5.0 };
        s.settle(400.0, 560.0, t, Some(row));
        assert!(!s.follow);
        // Messages arrive below: the view stays on row 7.
        let t = s.target(Tops {
            top_row: Some(405.0),
            ..at(700.0)
        });
        assert_eq!(t, Some(410.0));
        s.settle(410.0, 700.0, t, Some(row));
        assert!(!s.follow && s.unseen == 0);
        // An older page above moves row 7 down by 200: so does the view.
        let t = s.target(Tops {
            top_row: Some(605.0),
            ..at(900.0)
        });
        assert_eq!(t, Some(610.0));
        s.settle(610.0, 900.0, t, Some(row));
        assert!(!s.follow);
        // Page Down twice reaches the end and follows again.
        s.jump = Some(Jump::PageDown);
        s.begin_page(300.0);
        let t = s.target(Tops {
            page_row: Some(605.0),
            ..at(900.0)
        });
        assert_eq!(t, Some(865.0));
        s.settle(865.0, 900.0, t, Some(RowAt { seq: 20, y: 0.0 }));
        assert!(!s.follow);
        s.jump = Some(Jump::PageDown);
        let t = s.target(at(900.0));
        s.settle(900.0, 900.0, t, None);
        assert!(s.follow);
    }

    #[test]
    fn the_divider_is_shown_unless_it_is_on_the_last_page() {
        let mut s = ScrollState {
            jump: Some(Jump::Divider),
            ..ScrollState::default()
        };
        let t = s.target(Tops {
            divider: Some(400.0),
            ..at(1000.0)
        });
        assert_eq!(t, Some(400.0));
        s.settle(400.0, 1000.0, t, None);
        assert!(!s.follow);
        s.jump = Some(Jump::Divider);
        let t = s.target(Tops {
            divider: Some(1100.0),
            ..at(1000.0)
        });
        assert_eq!(t, Some(1000.0));
        assert!(s.follow);
    }

    #[test]
    fn a_page_jump_is_corrected_once_the_rows_are_measured() {
        let mut s = ScrollState {
            follow: false,
            offset: 1000.0,
            jump: Some(Jump::PageUp),
            top_row: Some(RowAt { seq: 71, y: 0.0 }),
            ..ScrollState::default()
        };
        s.begin_page(400.0);
        // By estimates row 71 starts at 1000: the view starts at 660.
        let t = s.target(Tops {
            page_row: Some(1000.0),
            ..at(2000.0)
        });
        assert_eq!(t, Some(660.0));
        s.settle(660.0, 2000.0, t, None);
        // Measured, the rows above grew: row 71 starts at 1040 now.
        let t = s.target(Tops {
            page_row: Some(1040.0),
            ..at(2040.0)
        });
        assert_eq!(t, Some(700.0));
        s.settle(700.0, 2040.0, t, None);
        assert!(s.page_to.is_none() && !s.follow);
    }
}
