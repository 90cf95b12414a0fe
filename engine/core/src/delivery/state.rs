//! A number's health state (DESIGN §3.4): `healthy`, `unhealthy` when its window has enough
//! receipts and they say carriers block it, `probation` once it has been unhealthy for a while,
//! until its next receipts decide.

use super::{HealthFigures, ReceiptClass};
use crate::model::InvalidInput;

/// Most receipts a pool may ask for before judging: a window holds at most a day of them.
const MAX_MIN_RECEIPTS: u64 = 1_000_000;
/// Longest probation wait: a year.
const MAX_PROBATION_SECONDS: u64 = 31_536_000;

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
    /// Thresholds a pool asks for, each checked against its range.
    pub fn new(
        min_receipts: u64,
        min_deliverability: f64,
        max_spam_ratio: f64,
        probation_seconds: u64,
    ) -> Result<Self, InvalidInput> {
        let patch = ThresholdsPatch::new(
            Some(min_receipts),
            Some(min_deliverability),
            Some(max_spam_ratio),
            Some(probation_seconds),
        )?;
        Ok(patch.apply(&Thresholds::default()))
    }

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

/// A change of some thresholds (a pool's `PATCH`, or a create that gives only some): each
/// given value checked against its range, so applying it cannot fail.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ThresholdsPatch {
    /// A new `min_receipts`.
    min_receipts: Option<u64>,
    /// A new `min_deliverability`.
    min_deliverability: Option<f64>,
    /// A new `max_spam_ratio`.
    max_spam_ratio: Option<f64>,
    /// A new `probation_seconds`.
    probation_seconds: Option<u64>,
}

impl ThresholdsPatch {
    /// A patch of the given values, each checked.
    pub fn new(
        min_receipts: Option<u64>,
        min_deliverability: Option<f64>,
        max_spam_ratio: Option<f64>,
        probation_seconds: Option<u64>,
    ) -> Result<Self, InvalidInput> {
        let out_of = |field, range| InvalidInput::Threshold { field, range };
        let ratio = |value: Option<f64>, field| match value {
            Some(v) if !(0.0..=1.0).contains(&v) => Err(out_of(field, "a number from 0 to 1")),
            _ => Ok(value),
        };
        if min_receipts.is_some_and(|n| !(1..=MAX_MIN_RECEIPTS).contains(&n)) {
            return Err(out_of("min_receipts", "an integer from 1 to 1000000"));
        }
        if probation_seconds.is_some_and(|s| s > MAX_PROBATION_SECONDS) {
            return Err(out_of("probation_seconds", "an integer from 0 to 31536000"));
        }
        Ok(ThresholdsPatch {
            min_receipts,
            min_deliverability: ratio(min_deliverability, "min_deliverability")?,
            max_spam_ratio: ratio(max_spam_ratio, "max_spam_ratio")?,
            probation_seconds,
        })
    }

    /// `base` with the patch's values in place of its own.
    pub fn apply(&self, base: &Thresholds) -> Thresholds {
        Thresholds {
            min_receipts: self.min_receipts.unwrap_or(base.min_receipts),
            min_deliverability: self.min_deliverability.unwrap_or(base.min_deliverability),
            max_spam_ratio: self.max_spam_ratio.unwrap_or(base.max_spam_ratio),
            probation_seconds: self.probation_seconds.unwrap_or(base.probation_seconds),
        }
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

    /// When the state moves from unhealthy to probation by itself, if it is unhealthy.
    pub fn probation_from(&self, thresholds: &Thresholds) -> Option<u64> {
        match (self.state, self.since) {
            (HealthState::Unhealthy, Some(since)) => Some(since + thresholds.probation_seconds),
            _ => None,
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
    fn thresholds_out_of_range_are_refused() {
        assert_eq!(
            Thresholds::new(20, 0.25, 0.75, 3_600).unwrap(),
            Thresholds::default()
        );
        for (bad, field) in [
            (Thresholds::new(0, 0.25, 0.75, 3_600), "min_receipts"),
            (Thresholds::new(20, 1.5, 0.75, 3_600), "min_deliverability"),
            (Thresholds::new(20, 0.25, f64::NAN, 3_600), "max_spam_ratio"),
            (
                Thresholds::new(20, 0.25, 0.75, 40_000_000),
                "probation_seconds",
            ),
        ] {
            assert!(
                matches!(bad, Err(InvalidInput::Threshold { field: f, .. }) if f == field),
                "{field}"
            );
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
