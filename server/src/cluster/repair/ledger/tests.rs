//! The ledger's rules: watermark, window, floor, holes and their timing.

use super::*;

const ROOM: RoomId = 7;

fn ledger() -> Ledger {
    let mut ledger = Ledger::default();
    ledger.watch(ROOM);
    ledger
}

fn claim(ledger: &mut Ledger, seq: Seq) -> bool {
    ledger.claim(ROOM, seq, Instant::now).0
}

fn dues(ledger: &Ledger) -> Vec<(Seq, Seq)> {
    ledger
        .due(
            Instant::now() + Duration::from_secs(10),
            Duration::from_secs(1),
        )
        .into_iter()
        .map(|d| (d.after, d.upto))
        .collect()
}

#[test]
fn messages_in_order_leave_no_hole_and_repeats_are_refused() {
    let mut ledger = ledger();
    ledger.learn_heads(&[(ROOM, 4)], Instant::now());
    for seq in 5..=9 {
        assert!(claim(&mut ledger, seq));
    }
    assert!(!claim(&mut ledger, 7));
    assert!(!claim(&mut ledger, 9));
    assert!(dues(&ledger).is_empty());
    assert_eq!(ledger.rooms[&ROOM].above.capacity(), 0, "no allocation");
}

#[test]
fn a_hole_opens_once_is_due_after_the_grace_and_closes_when_filled() {
    let mut ledger = ledger();
    ledger.learn_heads(&[(ROOM, 0)], Instant::now());
    let t0 = Instant::now();
    assert_eq!(ledger.claim(ROOM, 1, || t0), (true, false));
    assert_eq!(ledger.claim(ROOM, 3, || t0), (true, true));
    assert_eq!(ledger.claim(ROOM, 5, || t0), (true, false));
    let grace = Duration::from_secs(1);
    assert_eq!(ledger.next_due(grace), Some(t0 + grace));
    assert!(ledger.due(t0, grace).is_empty());
    let due = ledger.due(t0 + grace, grace);
    assert_eq!(dues(&ledger), [(1, 5)]);
    // What a repair reads: 2 and 4 are missing, 3 and 5 are not, and
    // nothing is delivered twice.
    let now = Instant::now();
    assert!(ledger.claim_missing(due[0], 2, now));
    assert!(!ledger.claim_missing(due[0], 2, now));
    assert!(!ledger.claim_missing(due[0], 3, now));
    assert!(claim(&mut ledger, 4), "live, before the repair reads it");
    assert!(!ledger.claim_missing(due[0], 4, now));
    assert!(!ledger.claim_missing(due[0], 5, now));
    assert!(
        !claim(&mut ledger, 2),
        "repaired: a late copy is not delivered"
    );
    assert_eq!(ledger.next_due(grace), None);
    assert_eq!(ledger.rooms[&ROOM].through, 5);
}

#[test]
fn the_head_in_the_store_reveals_what_never_came() {
    let mut ledger = ledger();
    ledger.learn_heads(&[(ROOM, 10)], Instant::now());
    assert!(claim(&mut ledger, 11));
    assert!(ledger.learn_heads(&[(ROOM, 13)], Instant::now()));
    assert_eq!(dues(&ledger), [(11, 13)]);
    let due = ledger.due(
        Instant::now() + Duration::from_secs(1),
        Duration::from_secs(1),
    );
    ledger.settle(due[0], Instant::now());
    assert!(dues(&ledger).is_empty());
    assert!(
        !claim(&mut ledger, 12),
        "settled: a late copy is not delivered"
    );
}

#[test]
fn the_first_head_anchors_the_floor_and_older_messages_pass_unrecorded() {
    let mut ledger = ledger();
    ledger.learn_heads(&[(ROOM, 20)], Instant::now());
    assert!(dues(&ledger).is_empty(), "what came before is not owed");
    assert!(claim(&mut ledger, 19), "older, late: passed on");
    assert!(claim(&mut ledger, 19), "and not recorded");
    // A later head only raises what is owed.
    ledger.learn_heads(&[(ROOM, 22)], Instant::now());
    assert_eq!(dues(&ledger), [(20, 22)]);
}

#[test]
fn a_head_read_after_live_messages_owes_what_came_between() {
    // 12 arrives live before the store is asked; the store says 9: the
    // promise starts at 9, so 10 and 11 are owed, 12 is not.
    let mut ledger = ledger();
    assert!(claim(&mut ledger, 12));
    assert!(claim(&mut ledger, 13));
    ledger.learn_heads(&[(ROOM, 9)], Instant::now());
    assert_eq!(dues(&ledger), [(9, 13)]);
    assert!(claim(&mut ledger, 10));
    assert!(claim(&mut ledger, 11));
    assert!(!claim(&mut ledger, 12));
    assert!(!claim(&mut ledger, 13));
    assert!(dues(&ledger).is_empty());
    // Read later, the head leaves the floor where the first message put it.
    let mut ledger = self::ledger();
    assert!(claim(&mut ledger, 12));
    ledger.learn_heads(&[(ROOM, 14)], Instant::now());
    assert_eq!(dues(&ledger), [(12, 14)]);
    assert!(claim(&mut ledger, 11), "before the floor: passed on");
}

#[test]
fn an_earlier_message_before_the_anchor_lowers_the_floor() {
    let mut ledger = ledger();
    assert!(claim(&mut ledger, 12));
    assert!(claim(&mut ledger, 10));
    assert!(!claim(&mut ledger, 10));
    assert!(!claim(&mut ledger, 12));
    ledger.learn_heads(&[(ROOM, 12)], Instant::now());
    assert_eq!(dues(&ledger), [(10, 12)], "11 is owed");
    assert!(claim(&mut ledger, 11));
    assert!(dues(&ledger).is_empty());
}

#[test]
fn a_repair_for_an_earlier_watch_changes_nothing() {
    let mut ledger = ledger();
    ledger.learn_heads(&[(ROOM, 0)], Instant::now());
    let t0 = Instant::now();
    ledger.learn_heads(&[(ROOM, 2)], t0);
    let due = ledger.due(t0 + Duration::from_secs(1), Duration::from_secs(1));
    ledger.unwatch(ROOM);
    ledger.watch(ROOM);
    assert!(!ledger.claim_missing(due[0], 1, Instant::now()));
    ledger.settle(due[0], Instant::now());
    assert!(claim(&mut ledger, 1), "the new record is untouched");
}

#[test]
fn a_hole_too_wide_is_given_up() {
    let mut ledger = ledger();
    ledger.learn_heads(&[(ROOM, 0)], Instant::now());
    assert!(claim(&mut ledger, 1));
    assert!(claim(&mut ledger, 2 + MAX_WINDOW));
    assert_eq!(ledger.take_given_up(), 1);
    assert!(dues(&ledger).is_empty());
    assert!(ledger.rooms[&ROOM].above.is_empty());
}

#[test]
fn unwatched_rooms_and_seq_zero_pass_and_unwatching_forgets() {
    let mut ledger = ledger();
    assert_eq!(ledger.claim(99, 5, Instant::now), (true, false));
    assert!(claim(&mut ledger, 0));
    assert!(claim(&mut ledger, 3));
    assert!(claim(&mut ledger, 5));
    ledger.unwatch(ROOM);
    assert!(ledger.watched().is_empty());
    assert_eq!(ledger.next_due(Duration::ZERO), None);
    ledger.watch(ROOM);
    assert_eq!(ledger.unanchored(), [ROOM]);
    assert!(claim(&mut ledger, 5), "a fresh record");
}

#[test]
fn a_failed_repair_waits_again() {
    let mut ledger = ledger();
    ledger.learn_heads(&[(ROOM, 0)], Instant::now());
    let t0 = Instant::now();
    ledger.learn_heads(&[(ROOM, 3)], t0);
    let due = ledger.due(t0 + Duration::from_secs(1), Duration::from_secs(1));
    let later = t0 + Duration::from_secs(5);
    ledger.retry_later(due[0], later);
    assert_eq!(
        ledger.next_due(Duration::from_secs(1)),
        Some(later + Duration::from_secs(1))
    );
    // A repair of it leaves what was posted since owed, waiting anew.
    ledger.learn_heads(&[(ROOM, 5)], later);
    ledger.settle(due[0], later);
    assert_eq!(dues(&ledger), [(3, 5)]);
    assert_eq!(
        ledger.next_due(Duration::from_secs(1)),
        Some(later + Duration::from_secs(1))
    );
}
