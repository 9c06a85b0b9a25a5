//! A room's messages as the UI holds them: sorted by sequence number, grouped
//! by sender, with a row height per message and prefix sums of the heights, so
//! the list can find and lay out only the rows in view (virtual scrolling).
//!
//! Heights start as estimates from the text length and are replaced by the
//! measured height once a row has been drawn; only those two numbers are kept
//! per row, so 100,000 messages cost memory for their text and little else.

use std::ops::Range;

use chatroom_common::protocol::{ChatMessage, Seq};

/// Most messages held per room; older ones are dropped (the server keeps them).
pub const MAX_HELD: usize = 200_000;
/// A new group (avatar and name again) starts after this long a pause.
pub const GROUP_PAUSE_MS: i64 = 5 * 60 * 1000;

/// Font metrics the height estimate needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    /// Height of one line of body text.
    pub line: f32,
    /// Extra height of a group's first row (name line, avatar, gap).
    pub header: f32,
    /// Space between rows.
    pub spacing: f32,
    /// Body font size, for estimating how wide characters are.
    pub font_size: f32,
    /// Width taken by the avatar column.
    pub indent: f32,
}

/// One message and its layout bookkeeping.
#[derive(Debug, Clone)]
pub struct Row {
    /// The message.
    pub msg: ChatMessage,
    /// True when the avatar and name are shown (a new sender or a pause).
    pub group_start: bool,
    /// Estimated height for the current width; negative when not yet estimated.
    estimate: f32,
    /// Measured height for the current width; zero when not yet drawn.
    measured: f32,
}

impl Row {
    fn height(&self) -> f32 {
        if self.measured > 0.0 {
            self.measured
        } else {
            self.estimate
        }
    }
}

/// The sorted, bounded message list of one room.
#[derive(Debug, Default)]
pub struct MessageStore {
    /// Messages ascending by sequence number.
    rows: Vec<Row>,
    /// `offsets[i]` is the top of row `i`; one more entry than rows (the total).
    offsets: Vec<f32>,
    /// Offsets from this row on are stale.
    dirty_from: Option<usize>,
    /// The wrap width and metrics the heights are valid for.
    laid_out_for: Option<(f32, Metrics)>,
}

impl MessageStore {
    /// Number of messages held.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no message is held.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row at `index`.
    pub fn row(&self, index: usize) -> Option<&Row> {
        self.rows.get(index)
    }

    /// The oldest sequence number held.
    pub fn first_seq(&self) -> Option<Seq> {
        self.rows.first().map(|r| r.msg.seq)
    }

    /// Where the message `seq` is held, if it is.
    pub fn index_of(&self, seq: Seq) -> Option<usize> {
        self.rows.binary_search_by_key(&seq, |r| r.msg.seq).ok()
    }

    /// Whether a message is held.
    pub fn contains(&self, seq: Seq) -> bool {
        self.rows.binary_search_by_key(&seq, |r| r.msg.seq).is_ok()
    }

    /// The held messages in order.
    pub fn iter(&self) -> impl Iterator<Item = &ChatMessage> {
        self.rows.iter().map(|r| &r.msg)
    }

    /// Adds messages in any order, skipping ones already held; returns how many were new.
    pub fn insert(&mut self, messages: Vec<ChatMessage>) -> usize {
        let mut added = 0;
        for msg in messages {
            let at = match self.rows.last() {
                // The common case: a new message at the end.
                Some(last) if msg.seq > last.msg.seq => self.rows.len(),
                None => 0,
                Some(_) => match self.rows.binary_search_by_key(&msg.seq, |r| r.msg.seq) {
                    Ok(_) => continue,
                    Err(at) => at,
                },
            };
            self.rows.insert(
                at,
                Row {
                    msg,
                    group_start: true,
                    estimate: -1.0,
                    measured: 0.0,
                },
            );
            self.regroup(at);
            self.regroup(at + 1);
            self.mark_dirty(at);
            added += 1;
        }
        if self.rows.len() > MAX_HELD {
            let excess = self.rows.len() - MAX_HELD;
            self.rows.drain(..excess);
            self.regroup(0);
            self.mark_dirty(0);
        }
        added
    }

    /// Recomputes whether row `i` starts a group; a change invalidates its height.
    fn regroup(&mut self, i: usize) {
        let Some(row) = self.rows.get(i) else { return };
        let start = match i.checked_sub(1).and_then(|p| self.rows.get(p)) {
            None => true,
            Some(prev) => {
                prev.msg.sender != row.msg.sender
                    || row.msg.sent_at - prev.msg.sent_at > GROUP_PAUSE_MS
            }
        };
        if let Some(row) = self.rows.get_mut(i)
            && row.group_start != start
        {
            row.group_start = start;
            row.estimate = -1.0;
            row.measured = 0.0;
        }
    }

    fn mark_dirty(&mut self, from: usize) {
        self.dirty_from = Some(self.dirty_from.map_or(from, |d| d.min(from)));
    }

    /// Brings heights and offsets up to date for `width` and returns the total
    /// height. Work is proportional to the rows changed since the last call,
    /// except after a width change, when every estimate is redone once.
    pub fn layout(&mut self, width: f32, metrics: Metrics) -> f32 {
        let width = width.round().max(1.0);
        if self.laid_out_for != Some((width, metrics)) {
            for row in &mut self.rows {
                row.estimate = -1.0;
                row.measured = 0.0;
            }
            self.laid_out_for = Some((width, metrics));
            self.dirty_from = Some(0);
        }
        if let Some(from) = self.dirty_from.take() {
            let from = from
                .min(self.rows.len())
                .min(self.offsets.len().saturating_sub(1));
            self.offsets.truncate(from + 1);
            if self.offsets.is_empty() {
                self.offsets.push(0.0);
            }
            let mut y = self.offsets[from];
            for row in &mut self.rows[from..] {
                if row.estimate < 0.0 {
                    row.estimate = estimate(row, width, &metrics);
                }
                y += row.height();
                self.offsets.push(y);
            }
        }
        self.total_height()
    }

    /// Total height of all rows (as of the last [`Self::layout`]).
    pub fn total_height(&self) -> f32 {
        self.offsets.last().copied().unwrap_or(0.0)
    }

    /// Top of row `index` relative to the first row.
    pub fn offset(&self, index: usize) -> f32 {
        self.offsets.get(index).copied().unwrap_or(0.0)
    }

    /// Rows overlapping the vertical span `top..bottom` (binary search).
    pub fn visible(&self, top: f32, bottom: f32) -> Range<usize> {
        if self.offsets.is_empty() {
            return 0..0;
        }
        let n = self.rows.len().min(self.offsets.len() - 1);
        // The first row whose bottom is below `top`.
        let first = self.offsets[1..=n].partition_point(|&bottom_of_row| bottom_of_row <= top);
        let last = self.offsets[..n].partition_point(|&top_of_row| top_of_row < bottom);
        first..last.max(first)
    }

    /// Records a row's drawn height; returns true when it differed (the layout
    /// below it moves, so another frame is needed to settle).
    pub fn set_measured(&mut self, index: usize, height: f32) -> bool {
        let Some(row) = self.rows.get_mut(index) else {
            return false;
        };
        if (row.height() - height).abs() < 0.5 && row.measured > 0.0 {
            return false;
        }
        let changed = (row.height() - height).abs() >= 0.5;
        row.measured = height;
        if changed {
            self.mark_dirty(index);
        }
        changed
    }
}

/// A height guess from the text: lines after wrapping at `width`, with CJK and
/// emoji counted as wide characters.
fn estimate(row: &Row, width: f32, m: &Metrics) -> f32 {
    let wrap = (width - m.indent).max(m.font_size * 4.0);
    let mut lines = 0.0;
    for line in row.msg.text.split('\n') {
        let px: f32 = line
            .chars()
            .map(|c| {
                if (c as u32) >= 0x1100 {
                    m.font_size
                } else {
                    m.font_size * 0.5
                }
            })
            .sum();
        lines += (px / wrap).ceil().max(1.0);
    }
    if row.msg.text.is_empty() {
        lines = 0.0;
    }
    let files = crate::files::inline::estimated_height(&row.msg.attachments, m.line);
    let header = if row.group_start { m.header } else { 0.0 };
    header + lines * m.line + files + m.spacing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: Seq, sender: &str, text: &str) -> ChatMessage {
        ChatMessage {
            room: "lobby".into(),
            seq,
            sender: sender.into(),
            sender_avatar: None,
            text: text.into(),
            sent_at: seq as i64 * 1000,
            attachments: Vec::new(),
        }
    }

    const M: Metrics = Metrics {
        line: 20.0,
        header: 30.0,
        spacing: 4.0,
        font_size: 14.0,
        indent: 40.0,
    };

    #[test]
    fn sorts_dedupes_and_groups() {
        let mut s = MessageStore::default();
        assert_eq!(s.insert(vec![msg(3, "bob", "c"), msg(1, "alice", "a")]), 2);
        assert_eq!(s.insert(vec![msg(2, "alice", "b"), msg(3, "bob", "c")]), 1);
        let seqs: Vec<_> = s.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        let groups: Vec<_> = (0..3).map(|i| s.row(i).map(|r| r.group_start)).collect();
        assert_eq!(groups, vec![Some(true), Some(false), Some(true)]);
    }

    #[test]
    fn finds_visible_rows_and_settles_measured_heights() {
        let mut s = MessageStore::default();
        s.insert(
            (1..=100_000)
                .map(|i| msg(i, if i % 3 == 0 { "a" } else { "b" }, "hi"))
                .collect(),
        );
        let total = s.layout(600.0, M);
        assert!(total > 100_000.0 * 24.0, "{total}");
        let range = s.visible(total - 200.0, total);
        assert!(range.end == 100_000 && range.len() < 12, "{range:?}");
        let i = range.start;
        assert!(s.set_measured(i, 99.0));
        assert!(!s.set_measured(i, 99.0));
        let new_total = s.layout(600.0, M);
        assert!((new_total - total - (99.0 - 24.0)).abs() < 60.0);
        assert_eq!(s.visible(0.0, 1.0), 0..1);
        assert!(s.visible(total * 2.0, total * 3.0).is_empty());
    }

    #[test]
    fn memory_is_bounded() {
        let mut s = MessageStore::default();
        s.insert(
            (1..=(MAX_HELD as u64 + 10))
                .map(|i| msg(i, "a", "x"))
                .collect(),
        );
        assert_eq!(s.len(), MAX_HELD);
        assert_eq!(s.first_seq(), Some(11));
        assert!(s.row(0).is_some_and(|r| r.group_start));
    }
}
