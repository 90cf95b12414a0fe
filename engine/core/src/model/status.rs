//! A number's operator-set status (DESIGN §3.1, §3.4): whether it takes new conversations and
//! keeps its existing ones.

use serde::{Deserialize, Serialize};

/// What an operator allows a number to carry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberStatus {
    /// Takes new conversations and keeps its existing ones.
    #[default]
    Active,
    /// Takes no new conversation but keeps its existing ones, so a drain ends by itself.
    Draining,
    /// Takes nothing: its conversations move at their next message.
    Suspended,
}

impl NumberStatus {
    /// Every status, for parsing and error messages.
    pub const ALL: [NumberStatus; 3] = [
        NumberStatus::Active,
        NumberStatus::Draining,
        NumberStatus::Suspended,
    ];

    /// The API name (`active`, `draining`, `suspended`).
    pub fn as_str(self) -> &'static str {
        match self {
            NumberStatus::Active => "active",
            NumberStatus::Draining => "draining",
            NumberStatus::Suspended => "suspended",
        }
    }

    /// The status with API name `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether a new conversation may start on the number (DESIGN §3.2 rule 4).
    pub fn takes_new_conversations(self) -> bool {
        self == NumberStatus::Active
    }

    /// Whether an existing conversation may stay on the number (DESIGN §3.2 rule 3).
    pub fn keeps_conversations(self) -> bool {
        self != NumberStatus::Suspended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_default_is_active() {
        for status in NumberStatus::ALL {
            assert_eq!(NumberStatus::from_name(status.as_str()), Some(status));
        }
        assert_eq!(NumberStatus::from_name("paused"), None);
        assert_eq!(NumberStatus::default(), NumberStatus::Active);
    }
}
