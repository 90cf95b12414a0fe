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
    /// Active numbers a pool that acts on health judges unhealthy.
    pub unhealthy: u32,
    /// Active numbers that have used their allowance of new conversations for the UTC day.
    pub at_allowance: u32,
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

    /// Counts an active number judged unhealthy.
    pub(crate) fn count_unhealthy(&mut self) {
        self.unhealthy += 1;
    }

    /// Counts an active number at its daily allowance.
    pub(crate) fn count_at_allowance(&mut self) {
        self.at_allowance += 1;
    }

    /// Whether no number was counted.
    pub fn is_empty(self) -> bool {
        self.suspended == 0 && self.draining == 0 && self.unhealthy == 0 && self.at_allowance == 0
    }
}

impl fmt::Display for Ineligible {
    /// The reasons that apply, for a rejection's text: `suspended`, `draining`, `unhealthy`,
    /// `at its daily allowance`, joined as `a, b or c`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reasons = [
            (self.suspended, "suspended"),
            (self.draining, "draining"),
            (self.unhealthy, "unhealthy"),
            (self.at_allowance, "at its daily allowance"),
        ];
        let mut left = reasons.iter().filter(|(n, _)| *n > 0).count();
        for (_, name) in reasons.iter().filter(|(n, _)| *n > 0) {
            f.write_str(name)?;
            left -= 1;
            f.write_str(match left {
                0 => "",
                1 => " or ",
                _ => ", ",
            })?;
        }
        Ok(())
    }
}
