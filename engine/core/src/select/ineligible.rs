//! Why a pool's numbers take no new conversation: what a rejection names (DESIGN §3.2 rule 5).

use std::fmt;

use crate::model::NumberStatus;

/// Numbers that take no new conversation, counted by why.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Ineligible {
    /// Numbers the operator suspended.
    pub suspended: u32,
    /// Numbers the operator is draining.
    pub draining: u32,
}

impl Ineligible {
    /// Counts a number with `status` if that status keeps it from new conversations.
    pub(crate) fn count(&mut self, status: NumberStatus) {
        match status {
            NumberStatus::Active => {}
            NumberStatus::Draining => self.draining += 1,
            NumberStatus::Suspended => self.suspended += 1,
        }
    }

    /// Whether no number was counted.
    pub fn is_empty(self) -> bool {
        self.suspended == 0 && self.draining == 0
    }
}

impl fmt::Display for Ineligible {
    /// The reasons that apply, for a rejection's text: `suspended`, `draining`, or both.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.suspended > 0, self.draining > 0) {
            (true, true) => f.write_str("suspended or draining"),
            (true, false) => f.write_str("suspended"),
            (false, _) => f.write_str("draining"),
        }
    }
}
