//! What a pool's picks have come to: the counters `INFO` and `/metrics` report (DESIGN §4, §5).

use super::{Pick, PickError, Reason};

/// A pool's counters since it started, or several pools' summed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PickStats {
    /// Mappings in the sticky table (live or not yet swept).
    pub sticky_entries: u64,
    /// Successful picks by reason, indexed like [`Reason::ALL`].
    picks: [u64; Reason::ALL.len()],
    /// Picks refused by the pool's rules.
    pub rejected: u64,
    /// Picks with an invalid recipient or sender.
    pub invalid: u64,
}

impl PickStats {
    /// Counts one pick's outcome.
    pub fn count(&mut self, outcome: &Result<Pick, PickError>) {
        match outcome {
            Ok(pick) => self.picks[pick.reason as usize] += 1,
            Err(PickError::Rejected(_)) => self.rejected += 1,
            Err(_) => self.invalid += 1,
        }
    }

    /// Adds `other` into `self`.
    pub fn absorb(&mut self, other: &PickStats) {
        self.sticky_entries += other.sticky_entries;
        for (mine, theirs) in self.picks.iter_mut().zip(other.picks) {
            *mine += theirs;
        }
        self.rejected += other.rejected;
        self.invalid += other.invalid;
    }

    /// Successful picks with `reason`.
    pub fn picks_for(&self, reason: Reason) -> u64 {
        self.picks[reason as usize]
    }
}
