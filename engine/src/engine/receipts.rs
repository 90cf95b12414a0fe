//! Delivery receipts (DESIGN §3.4): each one classified and counted in its sender's health
//! window, and passed on to the pools holding the sender, which judge it under their own
//! thresholds; an opt-out signal (err-code 9) recorded for the opt-outs of §3.5. Receipts are not
//! admin changes: the windows live in memory and start empty after a restart. Opt-out signals
//! are kept like opt-outs: journaled and fsynced before the receipt is acknowledged, and in
//! snapshots.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::opt_outs::OptOutChange;
use super::{AccountData, AccountHandle, Engine, EngineError};
use crate::actors::messages::Observe;
use crate::clock::unix_now;
use crate::durability::image::{OptOutSignalImage, Record};
use numpool_core::delivery::{
    HealthFigures, HealthState, HealthTrack, HealthWindow, ReceiptClass, Thresholds,
};
use numpool_core::model::{Msisdn, OptOut, OptOutReason};

/// One receipt, classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Receipt {
    /// The owned number the message went from.
    pub(crate) sender: Msisdn,
    /// The recipient it went to.
    pub(crate) to: Msisdn,
    /// What the receipt says about the sender.
    pub(crate) class: ReceiptClass,
}

/// The account's delivery feedback, kept beside its inventory (DESIGN §3.3: the inventory owns
/// health).
#[derive(Default)]
pub(crate) struct Feedback {
    /// Health of the owned numbers that have had a receipt since the start: a number without
    /// one costs nothing (a window is 24 buckets).
    by_number: BTreeMap<Msisdn, Health>,
    /// Opt-out signals by (sender, recipient): when the last one came, Unix seconds. What the
    /// opt-outs of DESIGN §3.5 will start from; one entry per pair, so it grows with the
    /// recipients who opted out, not with receipts. Durable.
    opt_out_signals: BTreeMap<(Msisdn, Msisdn), u64>,
}

/// One number's receipts and the state they put it in.
#[derive(Default)]
struct Health {
    /// Its receipts by class over the window.
    window: HealthWindow,
    /// Its state under the default thresholds, as its receipts moved it.
    track: HealthTrack,
}

/// What `INFO` and `/metrics` show of an account's receipts and health, kept apart from the
/// admin lock so that polling never waits for an admin change (as the pool counters are).
#[derive(Default)]
pub(crate) struct DeliveryCounters {
    /// Receipts counted since the start, by class ([`ReceiptClass::ALL`]'s order).
    receipts: [AtomicU64; ReceiptClass::ALL.len()],
    /// The numbers whose state under the default thresholds is not healthy, with the track
    /// that says so: few, and read with the time of the read, so a number that went on
    /// probation since its last receipt is counted as on probation.
    not_healthy: parking_lot::Mutex<BTreeMap<Msisdn, HealthTrack>>,
}

/// An account's receipts and health as the counters saw them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// Receipts by class, in [`ReceiptClass::ALL`]'s order.
    pub receipts: [u64; ReceiptClass::ALL.len()],
    /// Owned numbers unhealthy under the default thresholds.
    pub unhealthy: u64,
    /// Owned numbers on probation under them.
    pub probation: u64,
}

impl DeliveryStats {
    /// Adds `other` into `self`.
    pub(crate) fn absorb(&mut self, other: &DeliveryStats) {
        for (sum, more) in self.receipts.iter_mut().zip(other.receipts) {
            *sum += more;
        }
        self.unhealthy += other.unhealthy;
        self.probation += other.probation;
    }

    /// Receipts of `class`.
    pub fn receipts_of(&self, class: ReceiptClass) -> u64 {
        let index = ReceiptClass::ALL.iter().position(|c| *c == class);
        index.map_or(0, |i| self.receipts[i])
    }
}

impl DeliveryCounters {
    /// Counts a receipt of `class` that left its sender with `track`.
    fn record(&self, sender: Msisdn, class: ReceiptClass, track: HealthTrack, now: u64) {
        if let Some(i) = ReceiptClass::ALL.iter().position(|c| *c == class) {
            self.receipts[i].fetch_add(1, Ordering::Relaxed);
        }
        let mut not_healthy = self.not_healthy.lock();
        if track.at(now, &Thresholds::default()).0 == HealthState::Healthy {
            not_healthy.remove(&sender);
        } else {
            not_healthy.insert(sender, track);
        }
    }

    /// Forgets a released number.
    pub(crate) fn release(&self, number: Msisdn) {
        self.not_healthy.lock().remove(&number);
    }

    /// The figures at `now`.
    pub(crate) fn stats(&self, now: u64) -> DeliveryStats {
        let mut stats = DeliveryStats::default();
        for (sum, counter) in stats.receipts.iter_mut().zip(&self.receipts) {
            *sum = counter.load(Ordering::Relaxed);
        }
        for track in self.not_healthy.lock().values() {
            match track.at(now, &Thresholds::default()).0 {
                HealthState::Healthy => {}
                HealthState::Unhealthy => stats.unhealthy += 1,
                HealthState::Probation => stats.probation += 1,
            }
        }
        stats
    }
}

impl Feedback {
    /// Feedback recovered from storage: its opt-out signals, and no health window.
    pub(crate) fn restored(opt_out_signals: BTreeMap<(Msisdn, Msisdn), u64>) -> Self {
        Feedback {
            by_number: BTreeMap::new(),
            opt_out_signals,
        }
    }

    /// The opt-out signals as a snapshot holds them.
    pub(crate) fn signal_images(&self) -> Vec<OptOutSignalImage> {
        self.opt_out_signals
            .iter()
            .map(|(&(sender, to), &at)| signal_image(sender, to, at))
            .collect()
    }

    /// Forgets a released number's window (a number owned again starts afresh).
    pub(crate) fn release(&mut self, number: Msisdn) {
        self.by_number.remove(&number);
    }
}

impl Engine {
    /// Counts `receipt` for its sender, which the account must own; an opt-out signal is
    /// recorded as well, once fsynced.
    pub(crate) async fn receipt(
        &self,
        account: &AccountHandle,
        receipt: Receipt,
    ) -> Result<(), EngineError> {
        let mut data = account.0.admin.lock().await;
        let AccountData {
            inventory,
            feedback,
            pools,
            ..
        } = &mut *data;
        if !inventory.contains_key(&receipt.sender) {
            return Err(EngineError::NumberNotOwned(receipt.sender));
        }
        let now = unix_now();
        // Cluster mode: on the receipt log first, so that every sidecar counts it.
        self.share_receipt(account, receipt, now).await?;
        if receipt.class == ReceiptClass::OptOut {
            self.journal(|| Record::OptOutSignal {
                account: account.id().to_string(),
                signal: signal_image(receipt.sender, receipt.to, now),
            })
            .await?;
            // The recipient opts out of the pools whose conversation with it is on the sender
            // (DESIGN §3.5), each fsynced before the receipt is answered.
            let opt_out = OptOut {
                at: now,
                reason: OptOutReason::Receipt,
            };
            for (pool_id, entry) in pools.iter() {
                if entry.members.contains(&receipt.sender) {
                    let change = OptOutChange {
                        to: receipt.to,
                        opt_out: Some(opt_out),
                        only_if_mapped_to: Some(receipt.sender),
                    };
                    self.change_opt_out_locked(
                        account,
                        entry.uid,
                        &entry.addr,
                        pool_id.as_str(),
                        change,
                    )
                    .await?;
                }
            }
        }
        self.apply_receipt(account, feedback, pools, receipt, now);
        Ok(())
    }

    /// Counts `receipt`, received at `now`, in its sender's health and passes it to the pools
    /// holding the sender: what every sidecar of a cluster does with every receipt.
    pub(super) fn apply_receipt(
        &self,
        account: &AccountHandle,
        feedback: &mut Feedback,
        pools: &std::collections::BTreeMap<numpool_core::model::PoolId, super::PoolEntry>,
        receipt: Receipt,
        now: u64,
    ) {
        if receipt.class == ReceiptClass::OptOut {
            feedback
                .opt_out_signals
                .insert((receipt.sender, receipt.to), now);
        }
        let health = feedback.by_number.entry(receipt.sender).or_default();
        health.window.record(receipt.class, now);
        let figures = health.window.figures(now);
        health
            .track
            .observe(receipt.class, &figures, now, &Thresholds::default());
        account
            .0
            .delivery
            .record(receipt.sender, receipt.class, health.track, now);
        // Queued before the answer, so a pick sent after it meets the pool judged.
        for entry in pools.values() {
            if entry.members.contains(&receipt.sender) {
                entry.addr.do_send(Observe {
                    number: receipt.sender,
                    class: receipt.class,
                    figures,
                    now,
                });
            }
        }
    }

    /// The health of each of `numbers`: its window up to now (zeros for a number without
    /// receipts, or not owned), its state under the default thresholds, and the recipients
    /// whose opt-out signals it has had.
    pub(crate) async fn health(
        &self,
        account: &AccountHandle,
        numbers: &[Msisdn],
    ) -> Vec<NumberHealth> {
        let data = account.0.admin.lock().await;
        let now = unix_now();
        let feedback = &data.feedback;
        numbers
            .iter()
            .map(|&n| {
                let health = feedback.by_number.get(&n);
                let (state, since) = health
                    .map(|h| h.track.at(now, &Thresholds::default()))
                    .unwrap_or_default();
                NumberHealth {
                    window: health.map(|h| h.window.figures(now)).unwrap_or_default(),
                    state,
                    since,
                    opted_out: feedback
                        .opt_out_signals
                        .range((n, Msisdn::MIN)..=(n, Msisdn::MAX))
                        .count(),
                }
            })
            .collect()
    }
}

/// An opt-out signal as persisted.
fn signal_image(sender: Msisdn, to: Msisdn, at: u64) -> OptOutSignalImage {
    OptOutSignalImage {
        sender: sender.get(),
        to: to.get(),
        at,
    }
}

/// One number's health as the inventory shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct NumberHealth {
    /// Receipts by class over the window.
    pub(crate) window: HealthFigures,
    /// Its state under the default thresholds (DESIGN §3.4: 20 receipts, 0.25, 0.75, 3600 s).
    pub(crate) state: HealthState,
    /// When it entered that state; `None` while it has never left healthy.
    pub(crate) since: Option<u64>,
    /// Recipients who signalled, through a receipt, that they want nothing more from it.
    pub(crate) opted_out: usize,
}
