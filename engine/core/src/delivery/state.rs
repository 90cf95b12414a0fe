//! A number's health state (DESIGN §3.4): `healthy`, `unhealthy` when its window has enough
//! receipts and they say carriers block it, `probation` once it has been unhealthy for a while,
//! until its next receipts decide.

use super::{HealthFigures, ReceiptClass};

/// When a window makes a number unhealthy, and how long before probation (DESIGN §3.4's
/// defaults are Telnyx's published thresholds).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Fewer receipts than this in the window say nothing.
    pub min_receipts: u64,
    /// Deliverability below this is unhealthy.
    pub min_deliverability: f64,
    /// A spam ratio above this is unhealthy.
    pub max_spam_ratio: f64,
    /// Seconds an unhealthy number waits before probation.
    pub probation_seconds: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            min_receipts: 20,
            min_deliverability: 0.25,
            max_spam_ratio: 0.75,
            probation_seconds: 3_600,
        }
    }
}

impl Thresholds {
    /// Whether `figures` make a number unhealthy.
    pub fn unhealthy(&self, figures: &HealthFigures) -> bool {
        figures.receipts() >= self.min_receipts
            && (figures
                .deliverability()
                .is_some_and(|d| d < self.min_deliverability)
                || figures
                    .spam_ratio()
                    .is_some_and(|s| s > self.max_spam_ratio))
    }
}

/// A health state.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum HealthState {
    /// Delivers, or has too few receipts to say otherwise.
    #[default]
    Healthy,
    /// Its receipts say carriers block it.
    Unhealthy,
    /// Was unhealthy for `probation_seconds`: on trial until its window recovers (healthy) or a
    /// sender failure comes (unhealthy again).
    Probation,
}

impl HealthState {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::Unhealthy => "unhealthy",
            HealthState::Probation => "probation",
        }
    }
}

/// A number's state as its receipts moved it, and since when.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HealthTrack {
    /// The state its last receipt left it in.
    state: HealthState,
    /// When it entered that state, Unix seconds; `None` while it has never left healthy.
    since: Option<u64>,
}

impl HealthTrack {
    /// The state at `now`, and since when: an unhealthy number is on probation once
    /// `probation_seconds` have passed.
    pub fn at(&self, now: u64, thresholds: &Thresholds) -> (HealthState, Option<u64>) {
        match (self.state, self.since) {
            (HealthState::Unhealthy, Some(since))
                if now >= since + thresholds.probation_seconds =>
            {
                (
                    HealthState::Probation,
                    Some(since + thresholds.probation_seconds),
                )
            }
            (state, since) => (state, since),
        }
    }

    /// Moves the state for a receipt of `class` at `now`, after which the window holds
    /// `figures`.
    pub fn observe(
        &mut self,
        class: ReceiptClass,
        figures: &HealthFigures,
        now: u64,
        thresholds: &Thresholds,
    ) {
        let (state, since) = self.at(now, thresholds);
        let sender_failure = matches!(class, ReceiptClass::SenderFailure | ReceiptClass::Spam);
        let next = match state {
            HealthState::Healthy if thresholds.unhealthy(figures) => HealthState::Unhealthy,
            HealthState::Probation if sender_failure => HealthState::Unhealthy,
            HealthState::Probation if !thresholds.unhealthy(figures) => HealthState::Healthy,
            unchanged => unchanged,
        };
        *self = if next == state {
            HealthTrack { state, since }
        } else {
            HealthTrack {
                state: next,
                since: Some(now),
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn figures(delivered: u64, sender_failures: u64, spam: u64) -> HealthFigures {
        HealthFigures {
            delivered,
            sender_failures: sender_failures + spam,
            spam,
            ..HealthFigures::default()
        }
    }

    #[test]
    fn too_few_receipts_say_nothing() {
        let th = Thresholds::default();
        assert!(!th.unhealthy(&figures(0, 19, 0)));
        assert!(th.unhealthy(&figures(0, 20, 0)));
    }

    #[test]
    fn low_deliverability_or_high_spam_is_unhealthy() {
        let th = Thresholds::default();
        assert!(th.unhealthy(&figures(4, 16, 0)), "deliverability 0.2");
        assert!(!th.unhealthy(&figures(5, 15, 0)), "deliverability 0.25");
        assert!(
            !th.unhealthy(&figures(14, 0, 16)),
            "deliverability 0.47, spam 0.53"
        );
        assert!(th.unhealthy(&figures(4, 0, 16)), "spam 0.8");
    }

    #[test]
    fn unhealthy_goes_on_probation_then_its_next_receipts_decide() {
        let th = Thresholds::default();
        let bad = figures(0, 20, 0);
        let mut track = HealthTrack::default();
        assert_eq!(track.at(NOW, &th), (HealthState::Healthy, None));
        track.observe(ReceiptClass::SenderFailure, &bad, NOW, &th);
        assert_eq!(
            track.at(NOW + 3_599, &th),
            (HealthState::Unhealthy, Some(NOW))
        );
        assert_eq!(
            track.at(NOW + 3_600, &th),
            (HealthState::Probation, Some(NOW + 3_600))
        );
        // A delivered receipt while the window is still bad: still on probation.
        let mut on_trial = track;
        on_trial.observe(
            ReceiptClass::Delivered,
            &figures(1, 20, 0),
            NOW + 4_000,
            &th,
        );
        assert_eq!(on_trial.at(NOW + 4_000, &th).0, HealthState::Probation);
        // A sender failure on probation: unhealthy again, from then.
        let mut failed = on_trial;
        failed.observe(ReceiptClass::SenderFailure, &bad, NOW + 5_000, &th);
        assert_eq!(
            failed.at(NOW + 5_000, &th),
            (HealthState::Unhealthy, Some(NOW + 5_000))
        );
        // The window recovered: healthy.
        on_trial.observe(
            ReceiptClass::Delivered,
            &figures(10, 20, 0),
            NOW + 6_000,
            &th,
        );
        assert_eq!(
            on_trial.at(NOW + 6_000, &th),
            (HealthState::Healthy, Some(NOW + 6_000))
        );
    }
}
