//! What this node delivered, per room it watches: the bookkeeping behind
//! repair, pure and synchronous (no I/O, and the time comes from the caller),
//! so every rule is unit-tested.
//!
//! A room's record is a watermark, `through` (every `seq` at or below it is
//! settled here), and a window of flags for the `seq`s above it delivered out
//! of order. `owed` is the highest `seq` known to exist (seen live, or the
//! room's head in the store); the room has a hole while `owed > through`.
//! `floor` is where this node's promise starts: `seq`s at or below it came
//! before the node watched the room, so repair never delivers them, and when
//! one arrives live it is passed on (the room's new connection may lack it).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use chatroom_common::protocol::Seq;

use crate::store::RoomId;

/// The widest hole a room's window tracks. A `seq` further ahead than this
/// gives the hole up: the watermark jumps, and clients fill the gap from
/// history themselves when they see it, as they did before servers repaired.
/// It bounds a room's record to about this many bytes.
pub(super) const MAX_WINDOW: u64 = 64 * 1024;

/// One watched room.
#[derive(Debug, Default)]
struct Room {
    /// Every `seq` at or below it is settled here.
    through: Seq,
    /// Out-of-order deliveries above `through`: index `i` is `through + 1 + i`.
    /// Its front is never `true` (such a run is folded into `through`), so it
    /// is empty while messages arrive in order, and it keeps its capacity
    /// when it empties: no allocation per message.
    above: VecDeque<bool>,
    /// The highest `seq` known to exist in the room.
    owed: Seq,
    /// `seq`s at or below it came before this node watched the room.
    floor: Seq,
    /// Whether anything was recorded or the store's head read since the room
    /// was watched (before that, the numbers above mean nothing).
    started: bool,
    /// Whether `floor` comes from the store's head (read as soon after the
    /// watch as the repair task can) rather than from the first `seq` seen.
    anchored: bool,
    /// Which watch of the room this record is for, so a repair begun for an
    /// earlier one (the room emptied and filled again meanwhile) changes
    /// nothing.
    epoch: u64,
}

impl Room {
    /// Starts the record just above `seq`.
    fn start_at(&mut self, seq: Seq) {
        self.through = seq;
        self.floor = seq;
        self.owed = self.owed.max(seq);
        self.started = true;
    }

    /// Whether `seq` is settled here: delivered, or at or below the watermark.
    fn has(&self, seq: Seq) -> bool {
        seq <= self.through
            || usize::try_from(seq - self.through - 1)
                .ok()
                .and_then(|i| self.above.get(i))
                .is_some_and(|&delivered| delivered)
    }

    /// Moves the floor (and the watermark) down to `floor`: the `seq`s in
    /// between become this node's concern, not delivered. Skipped when the
    /// window would grow too wide.
    fn lower(&mut self, floor: Seq) {
        if floor >= self.floor {
            return;
        }
        let missing = self.floor - floor;
        let delivered = self.through - self.floor;
        if missing + delivered + self.above.len() as u64 >= MAX_WINDOW {
            return;
        }
        for _ in 0..delivered {
            self.above.push_front(true);
        }
        for _ in 0..missing {
            self.above.push_front(false);
        }
        self.through = floor;
        self.floor = floor;
    }

    /// Records `seq` (at least 1) as delivered. Returns `false` when a hole
    /// too wide to track was given up.
    fn record(&mut self, seq: Seq) -> bool {
        if !self.started {
            self.start_at(seq - 1);
        } else if !self.anchored && seq <= self.floor {
            // An earlier message than the first one seen, before the store
            // was asked where the room stood: the promise starts lower.
            self.lower(seq - 1);
        }
        self.owed = self.owed.max(seq);
        if seq <= self.through {
            return true;
        }
        // The hot path: the next message, in order.
        if seq == self.through + 1 && self.above.is_empty() {
            self.through = seq;
            return true;
        }
        let index = seq - self.through - 1;
        if index >= MAX_WINDOW {
            self.above.clear();
            self.through = seq;
            return false;
        }
        // Below MAX_WINDOW, so it fits in usize.
        let index = index as usize;
        if index >= self.above.len() {
            self.above.resize(index + 1, false);
        }
        self.above[index] = true;
        self.fold();
        true
    }

    /// Folds a run of delivered `seq`s at the window's front into `through`.
    fn fold(&mut self) {
        while self.above.front() == Some(&true) {
            self.above.pop_front();
            self.through += 1;
        }
    }

    /// Takes in the store's head of the room. The first one anchors the
    /// record: this node's promise starts at what the store held then, or
    /// lower if an earlier message was seen live already.
    fn learn_head(&mut self, head: Seq) {
        if !self.anchored {
            self.anchored = true;
            if self.started {
                self.lower(head);
            } else {
                self.start_at(head);
            }
        }
        self.owed = self.owed.max(head);
    }

    /// Settles everything through `upto` (a repair read the store that far).
    fn settle(&mut self, upto: Seq) {
        if upto <= self.through {
            return;
        }
        let step = upto - self.through;
        match usize::try_from(step) {
            Ok(step) if step < self.above.len() => {
                self.above.drain(..step);
            }
            _ => self.above.clear(),
        }
        self.through = upto;
        self.fold();
    }

    /// Whether something is owed that was not delivered.
    fn has_hole(&self) -> bool {
        self.owed > self.through
    }
}

/// Every watched room's record, and the rooms with a hole since when.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    /// Rooms with a connection on this node.
    rooms: HashMap<RoomId, Room>,
    /// Rooms with a hole, and when it opened. Kept apart so looking for due
    /// holes costs the holes, not the rooms.
    holes: HashMap<RoomId, Instant>,
    /// Holes given up as too wide since the last report (for the log).
    given_up: u64,
    /// The epoch of the next record.
    next_epoch: u64,
}

/// A hole in a room that is due for repair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Due {
    /// The room.
    pub(super) room: RoomId,
    /// Everything at or below it is settled here.
    pub(super) after: Seq,
    /// The highest `seq` known to exist.
    pub(super) upto: Seq,
    /// The record's epoch.
    epoch: u64,
}

impl Ledger {
    /// Starts a record for `room` (its first connection here came).
    pub(super) fn watch(&mut self, room: RoomId) {
        if let Entry::Vacant(slot) = self.rooms.entry(room) {
            self.next_epoch += 1;
            slot.insert(Room {
                epoch: self.next_epoch,
                ..Room::default()
            });
        }
    }

    /// Drops the record of `room` (its last connection here went).
    pub(super) fn unwatch(&mut self, room: RoomId) {
        self.rooms.remove(&room);
        self.holes.remove(&room);
    }

    /// Records a `seq` this node delivered itself (a local broadcast).
    /// Returns whether this opened the first hole (the repair task then has a
    /// deadline to keep). Rooms not watched, and `seq` 0, are ignored.
    pub(super) fn delivered(&mut self, room: RoomId, seq: Seq, now: impl Fn() -> Instant) -> bool {
        self.claim(room, seq, now).1
    }

    /// Claims `seq` for delivery: `true` (and recorded) unless it was
    /// delivered here already. Also returns whether this opened the first
    /// hole. A room not watched claims everything (nothing is known about
    /// it), as does `seq` 0 (no message has it); a `seq` at or below an
    /// anchored room's floor is passed on unrecorded.
    pub(super) fn claim(
        &mut self,
        room: RoomId,
        seq: Seq,
        now: impl Fn() -> Instant,
    ) -> (bool, bool) {
        let Some(record) = self.rooms.get_mut(&room) else {
            return (true, false);
        };
        if seq == 0 || (record.anchored && seq <= record.floor) {
            return (true, false);
        }
        if record.started && seq > record.floor && record.has(seq) {
            return (false, false);
        }
        if !record.record(seq) {
            self.given_up += 1;
        }
        let hole = record.has_hole();
        (true, self.note_hole(room, hole, now))
    }

    /// Takes in the store's heads of rooms (a sweep, or the first reading of
    /// newly watched rooms). Returns whether the first hole opened.
    pub(super) fn learn_heads(&mut self, heads: &[(RoomId, Seq)], now: Instant) -> bool {
        let mut first = false;
        for &(room, head) in heads {
            let Some(record) = self.rooms.get_mut(&room) else {
                continue;
            };
            record.learn_head(head);
            let hole = record.has_hole();
            first |= self.note_hole(room, hole, || now);
        }
        first
    }

    /// Rooms whose head was not read yet.
    pub(super) fn unanchored(&self) -> Vec<RoomId> {
        self.rooms
            .iter()
            .filter(|(_, r)| !r.anchored)
            .map(|(&id, _)| id)
            .collect()
    }

    /// Every watched room.
    pub(super) fn watched(&self) -> Vec<RoomId> {
        self.rooms.keys().copied().collect()
    }

    /// When the oldest hole becomes due, `grace` after it opened.
    pub(super) fn next_due(&self, grace: Duration) -> Option<Instant> {
        self.holes.values().min().map(|&opened| opened + grace)
    }

    /// Holes open for at least `grace` at `now`.
    pub(super) fn due(&self, now: Instant, grace: Duration) -> Vec<Due> {
        self.holes
            .iter()
            .filter(|&(_, &opened)| opened + grace <= now)
            .filter_map(|(&room, _)| {
                let record = self.rooms.get(&room)?;
                Some(Due {
                    room,
                    after: record.through,
                    upto: record.owed,
                    epoch: record.epoch,
                })
            })
            .collect()
    }

    /// Claims `seq` for a repair of `hole`: `true` (and recorded) only when
    /// it is above the floor and not delivered, so repair never delivers a
    /// `seq` twice or one this node had already.
    pub(super) fn claim_missing(&mut self, hole: Due, seq: Seq, now: Instant) -> bool {
        let Some(record) = record_for(&mut self.rooms, hole) else {
            return false;
        };
        if !record.started || seq <= record.floor || record.has(seq) {
            return false;
        }
        if !record.record(seq) {
            self.given_up += 1;
        }
        let hole_left = record.has_hole();
        self.note_hole(hole.room, hole_left, || now);
        true
    }

    /// A repair read the store through `hole.upto`: what it did not deliver
    /// does not exist or came live meanwhile, so everything up to it is
    /// settled. A hole that remains (newer messages) waits again from `now`.
    pub(super) fn settle(&mut self, hole: Due, now: Instant) {
        let Some(record) = record_for(&mut self.rooms, hole) else {
            return;
        };
        record.settle(hole.upto);
        let hole_left = record.has_hole();
        self.holes.remove(&hole.room);
        if hole_left {
            self.holes.insert(hole.room, now);
        }
    }

    /// A repair failed: the hole waits `grace` again before the next try.
    pub(super) fn retry_later(&mut self, hole: Due, now: Instant) {
        if record_for(&mut self.rooms, hole).is_some()
            && let Some(opened) = self.holes.get_mut(&hole.room)
        {
            *opened = now;
        }
    }

    /// Holes given up since the last call (for the log).
    pub(super) fn take_given_up(&mut self) -> u64 {
        std::mem::take(&mut self.given_up)
    }

    /// Keeps `holes` in step with whether `room` has one; returns whether
    /// this opened the first.
    fn note_hole(&mut self, room: RoomId, hole: bool, now: impl Fn() -> Instant) -> bool {
        if !hole {
            // Most of the time there is no hole anywhere: skip the lookup.
            if !self.holes.is_empty() {
                self.holes.remove(&room);
            }
            return false;
        }
        let first = self.holes.is_empty();
        match self.holes.entry(room) {
            Entry::Occupied(_) => false,
            Entry::Vacant(slot) => {
                slot.insert(now());
                first
            }
        }
    }
}

/// The record a repair was begun for, if the room is still watched by the
/// same watch.
fn record_for(rooms: &mut HashMap<RoomId, Room>, hole: Due) -> Option<&mut Room> {
    rooms.get_mut(&hole.room).filter(|r| r.epoch == hole.epoch)
}

#[cfg(test)]
mod tests;
