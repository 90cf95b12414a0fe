//! Delivery feedback (DESIGN §3.4): what a delivery receipt says about the number that sent the
//! message ([`classify`](ReceiptClass::of)), and each number's health over a sliding window of
//! hourly buckets ([`HealthWindow`]) and the state it puts the number in ([`HealthTrack`]). Pure values: the caller passes the time in.

mod classify;
mod state;
mod window;

pub use classify::{DlrStatus, ReceiptClass};
pub use state::{HealthState, HealthTrack, Thresholds, ThresholdsPatch};
pub use window::{HealthFigures, HealthWindow, WINDOW_HOURS};
