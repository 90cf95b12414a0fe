//! A number's health window (DESIGN §3.4): receipts counted by class in hourly buckets over the
//! last [`WINDOW_HOURS`] hours, sliding as the hours pass.

use super::ReceiptClass;

/// Hours the window covers: the health window's default of 24 h.
pub const WINDOW_HOURS: usize = 24;

/// Seconds per bucket.
const BUCKET_SECONDS: u64 = 3_600;

/// One hour's counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Bucket {
    /// The hour it counts (Unix seconds / 3,600); a bucket of an older hour is stale and
    /// counts nothing.
    hour: u64,
    /// The hour's counts.
    counts: HealthFigures,
}

/// Receipts counted by class: one hour's, or a window's summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HealthFigures {
    /// Delivered.
    pub delivered: u64,
    /// Sender failures, anti-spam rejections included.
    pub sender_failures: u64,
    /// Recipient-side failures.
    pub recipient_failures: u64,
    /// Anti-spam rejections.
    pub spam: u64,
    /// Opt-out signals (not counted in `receipts`: they say the recipient wants no more).
    pub opt_outs: u64,
}

impl HealthFigures {
    /// Receipts that count for health: delivered, sender and recipient failures.
    pub fn receipts(&self) -> u64 {
        self.delivered + self.sender_failures + self.recipient_failures
    }

    /// delivered / (delivered + sender failures); `None` before any of either.
    pub fn deliverability(&self) -> Option<f64> {
        let judged = self.delivered + self.sender_failures;
        (judged > 0).then(|| self.delivered as f64 / judged as f64)
    }

    /// anti-spam rejections / receipts; `None` before any receipt.
    pub fn spam_ratio(&self) -> Option<f64> {
        let receipts = self.receipts();
        (receipts > 0).then(|| self.spam as f64 / receipts as f64)
    }

    fn count(&mut self, class: ReceiptClass) {
        match class {
            ReceiptClass::Delivered => self.delivered += 1,
            ReceiptClass::SenderFailure => self.sender_failures += 1,
            ReceiptClass::Spam => {
                self.sender_failures += 1;
                self.spam += 1;
            }
            ReceiptClass::RecipientFailure => self.recipient_failures += 1,
            ReceiptClass::OptOut => self.opt_outs += 1,
            ReceiptClass::Ignored => {}
        }
    }

    fn absorb(&mut self, other: &HealthFigures) {
        self.delivered += other.delivered;
        self.sender_failures += other.sender_failures;
        self.recipient_failures += other.recipient_failures;
        self.spam += other.spam;
        self.opt_outs += other.opt_outs;
    }
}

/// One number's window: a ring of hourly buckets, the hour's bucket at `hour % WINDOW_HOURS`.
/// Fixed size (24 buckets), so a number costs the same whatever its traffic.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HealthWindow {
    /// The ring.
    buckets: [Bucket; WINDOW_HOURS],
}

impl HealthWindow {
    /// Counts a receipt of `class` received at `now` (Unix seconds).
    pub fn record(&mut self, class: ReceiptClass, now: u64) {
        let hour = now / BUCKET_SECONDS;
        let bucket = &mut self.buckets[(hour % WINDOW_HOURS as u64) as usize];
        if bucket.hour != hour {
            *bucket = Bucket {
                hour,
                counts: HealthFigures::default(),
            };
        }
        bucket.counts.count(class);
    }

    /// The counts of the last [`WINDOW_HOURS`] hours up to `now`, this hour included.
    pub fn figures(&self, now: u64) -> HealthFigures {
        let hour = now / BUCKET_SECONDS;
        let mut sum = HealthFigures::default();
        for bucket in &self.buckets {
            if bucket.hour + (WINDOW_HOURS as u64) > hour && bucket.hour <= hour {
                sum.absorb(&bucket.counts);
            }
        }
        sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn figures_follow_the_definitions() {
        let mut window = HealthWindow::default();
        for class in [
            ReceiptClass::Delivered,
            ReceiptClass::Delivered,
            ReceiptClass::Delivered,
            ReceiptClass::Spam,
            ReceiptClass::RecipientFailure,
            ReceiptClass::OptOut,
            ReceiptClass::Ignored,
        ] {
            window.record(class, NOW);
        }
        let figures = window.figures(NOW);
        assert_eq!(figures.receipts(), 5);
        assert_eq!(figures.deliverability(), Some(0.75));
        assert_eq!(figures.spam_ratio(), Some(0.2));
        assert_eq!(figures.opt_outs, 1);
        assert_eq!(HealthFigures::default().deliverability(), None);
        assert_eq!(HealthFigures::default().spam_ratio(), None);
    }

    #[test]
    fn the_window_slides_hour_by_hour() {
        let mut window = HealthWindow::default();
        window.record(ReceiptClass::SenderFailure, NOW);
        window.record(ReceiptClass::Delivered, NOW + 3_600);
        assert_eq!(window.figures(NOW + 3_600).receipts(), 2);
        let last_hour_of_the_first = NOW + 23 * 3_600;
        assert_eq!(window.figures(last_hour_of_the_first).receipts(), 2);
        let after = window.figures(NOW + 24 * 3_600);
        assert_eq!((after.receipts(), after.delivered), (1, 1));
        // A day later the bucket is reused, its old counts gone.
        window.record(ReceiptClass::Spam, NOW + 24 * 3_600);
        let reused = window.figures(NOW + 24 * 3_600);
        assert_eq!((reused.sender_failures, reused.spam), (1, 1));
        assert_eq!(window.figures(NOW + 60 * 3_600).receipts(), 0);
    }
}
