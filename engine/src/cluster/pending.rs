//! First contacts being claimed: while a sidecar's claim for a recipient is in flight, its
//! actor already holds the tentative mapping, and a second pick of that recipient would hit
//! it. Such a pick waits for the claim's outcome instead, so it never answers a sender the
//! cluster did not commit.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use numpool_core::model::Msisdn;
use parking_lot::Mutex;
use rustc_hash::FxHashMap;
use tokio::sync::watch;

/// Which claim: account id, pool id, recipient.
pub(crate) type ClaimKey = (Arc<str>, Arc<str>, Msisdn);

/// The outcome a waiting pick adopts: the committed sender, or `None` when the claim failed.
pub(crate) type Outcome = Option<Msisdn>;

/// The claims in flight.
#[derive(Default)]
pub(crate) struct PendingClaims {
    /// Claims in flight, each with the channel its outcome is sent on.
    claims: Mutex<FxHashMap<ClaimKey, watch::Receiver<Option<Outcome>>>>,
    /// How many there are: a sticky hit checks this, and the map only when it is not 0.
    count: AtomicUsize,
}

impl PendingClaims {
    /// Whether no claim is in flight: the common case, one atomic load.
    pub(crate) fn is_empty(&self) -> bool {
        self.count.load(Ordering::Acquire) == 0
    }

    /// Registers a claim for `key`: the sender to publish its outcome with, or, when one is
    /// already in flight, a receiver of that one's.
    pub(crate) fn begin(
        &self,
        key: ClaimKey,
    ) -> Result<ClaimGuard<'_>, watch::Receiver<Option<Outcome>>> {
        let mut claims = self.claims.lock();
        if let Some(existing) = claims.get(&key) {
            return Err(existing.clone());
        }
        let (tx, rx) = watch::channel(None);
        claims.insert(key.clone(), rx);
        self.count.fetch_add(1, Ordering::AcqRel);
        Ok(ClaimGuard {
            claims: self,
            key,
            tx,
        })
    }

    /// The receiver of the claim in flight for `key`, if any.
    pub(crate) fn waiting(&self, key: &ClaimKey) -> Option<watch::Receiver<Option<Outcome>>> {
        self.claims.lock().get(key).cloned()
    }
}

/// A claim in flight; dropping it ends it (with no outcome, if none was sent).
pub(crate) struct ClaimGuard<'a> {
    /// Where it is registered.
    claims: &'a PendingClaims,
    /// Its key.
    key: ClaimKey,
    /// Its outcome's channel.
    tx: watch::Sender<Option<Outcome>>,
}

impl ClaimGuard<'_> {
    /// The claim's key.
    pub(crate) fn key(&self) -> &ClaimKey {
        &self.key
    }

    /// Publishes the outcome to the picks waiting for it.
    pub(crate) fn resolve(self, outcome: Outcome) {
        self.tx.send_replace(Some(outcome));
    }
}

impl Drop for ClaimGuard<'_> {
    fn drop(&mut self) {
        if self.tx.borrow().is_none() {
            self.tx.send_replace(Some(None));
        }
        self.claims.claims.lock().remove(&self.key);
        self.claims.count.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Waits for a claim's outcome.
pub(crate) async fn outcome(mut rx: watch::Receiver<Option<Outcome>>) -> Outcome {
    match rx.wait_for(Option::is_some).await {
        Ok(value) => value.expect("waited for Some"),
        Err(_) => None,
    }
}
