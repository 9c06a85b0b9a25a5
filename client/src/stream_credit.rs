//! How many pushed streams the server may have open towards this client at
//! once: a small credit that doubles while bursts use most of it.
//!
//! quinn allocates a slot for every stream the credit allows, up front, so a
//! fixed credit of thousands cost each connection that many slots whether or
//! not it ever received a burst (the benchmark holds thousands of
//! connections in one process). A credit of a hundred or so, on the other
//! hand, stalls a busy room's burst: the server pushes that many streams and
//! then waits a round trip for more credit. So the credit starts small and
//! grows with what the connection actually receives.
//!
//! The signal: the server opens streams only as far as the credit reaches,
//! so when the reader takes three quarters of the credit in one run, each
//! stream already there when it asked, the server was (or was close to)
//! waiting for credit. A paced connection, whose reader waits between
//! streams, never grows; a burst doubles the credit once per run, up to
//! [`MAX`]. It never shrinks: a room that was busy once is likely to be busy
//! again, and the slots of an idle connection cost far less than a stall.

/// The credit a connection starts with.
pub(crate) const INITIAL: u32 = 128;
/// The most the credit grows to.
pub(crate) const MAX: u32 = 4096;

/// The credit granted so far and the current run of streams that were
/// already there when the reader asked for them.
#[derive(Debug)]
pub(crate) struct StreamCredit {
    credit: u32,
    run: u32,
}

impl StreamCredit {
    /// A fresh connection's credit, [`INITIAL`].
    pub(crate) fn new() -> Self {
        Self {
            credit: INITIAL,
            run: 0,
        }
    }

    /// The credit currently granted (the connection keeps its own copy for
    /// callers; this one is for the tests).
    #[cfg(test)]
    pub(crate) fn credit(&self) -> u32 {
        self.credit
    }

    /// Counts one accepted stream; `waited` says whether the reader had to
    /// wait for it (which ends a run). Returns the new, larger credit when
    /// it should be granted now.
    pub(crate) fn accepted(&mut self, waited: bool) -> Option<u32> {
        if waited {
            self.run = 0;
        }
        self.run += 1;
        if self.credit >= MAX || self.run < self.credit / 4 * 3 {
            return None;
        }
        self.credit = (self.credit * 2).min(MAX);
        self.run = 0;
        Some(self.credit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_paced_connection_keeps_the_initial_credit() {
        let mut credit = StreamCredit::new();
        for _ in 0..100_000 {
            assert_eq!(credit.accepted(true), None);
        }
        assert_eq!(credit.credit(), INITIAL);
    }

    #[test]
    fn short_bursts_do_not_grow_it() {
        let mut credit = StreamCredit::new();
        for _ in 0..1_000 {
            assert_eq!(credit.accepted(true), None);
            for _ in 1..INITIAL / 4 * 3 - 1 {
                assert_eq!(credit.accepted(false), None);
            }
        }
        assert_eq!(credit.credit(), INITIAL);
    }

    #[test]
    fn a_run_of_three_quarters_doubles_it() {
        let mut credit = StreamCredit::new();
        assert_eq!(credit.accepted(true), None);
        for _ in 1..INITIAL / 4 * 3 - 1 {
            assert_eq!(credit.accepted(false), None);
        }
        assert_eq!(credit.accepted(false), Some(INITIAL * 2));
        // The run starts over at the new credit.
        for _ in 0..INITIAL * 2 / 4 * 3 - 1 {
            assert_eq!(credit.accepted(false), None);
        }
        assert_eq!(credit.accepted(false), Some(INITIAL * 4));
    }

    #[test]
    fn an_endless_burst_stops_at_the_maximum() {
        let mut credit = StreamCredit::new();
        let grants: Vec<u32> = (0..100_000)
            .filter_map(|_| credit.accepted(false))
            .collect();
        assert_eq!(grants, [256, 512, 1024, 2048, 4096]);
        assert_eq!(credit.credit(), MAX);
    }
}
