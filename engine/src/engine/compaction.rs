//! Cluster mode: compaction of the admin log (docs/cluster.md, "Compaction"). The log is kept
//! for ever, so without it a sidecar that starts without a data directory replays every
//! change ever made, opt-outs included. Now and then one sidecar writes each of its accounts
//! as an image (the account as the records built it, up to the last one applied to it) in the
//! cluster's object store, and purges the account's records below the *previous* image. A
//! sidecar that starts takes an account from its image when the image is newer than what its
//! checkpoint holds; then the records after it. Purging one image behind means that a sidecar
//! which chose its checkpoint over an image, or is applying the log a little behind, still
//! finds every record it needs when the next compaction runs; one that finds a record missing
//! (it follows a record the sidecar never applied) stops, rather than serve a state the
//! others do not hold ([`Engine::diverged`]).

use std::sync::atomic::Ordering;

use numpool_cluster::{Cluster, ClusterError};
use rustc_hash::FxHashMap;

use super::replication::topic_of;
use super::{AccountHandle, Engine};
use crate::cluster::ClusterLink;
use crate::durability::checkpoint::AccountCheckpoint;
use crate::durability::replay::WorkingState;

/// An admin log record that follows one on its account this sidecar never applied: the
/// records between were purged by a compaction it was too far behind for.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "the admin log of account {account} was compacted past what this sidecar had applied \
     (record {seq} follows {follows}; the last applied here is {applied}): restart it to take \
     the account from its image"
)]
pub struct Diverged {
    /// The account.
    pub account: String,
    /// The record that cannot be applied.
    pub seq: u64,
    /// The record it follows.
    pub follows: u64,
    /// The account's last record applied here.
    pub applied: u64,
}

/// Cluster mode, at start: each of `accounts` whose image in the cluster is newer than what
/// `state` holds of it (which had applied the admin log up to `resumed_from`) is put in
/// `state` from its image. The image's sequence of each account so taken: the account's last
/// record applied. An image this version cannot read fails the start, since the records it
/// stands for may be gone.
pub(crate) async fn take_newer_images(
    cluster: &Cluster,
    accounts: &[String],
    state: &mut WorkingState,
    resumed_from: u64,
) -> Result<FxHashMap<String, u64>, ClusterError> {
    let mut taken = FxHashMap::default();
    for account in accounts {
        let topic = topic_of(account);
        if cluster.images.seq(&topic).await? <= resumed_from {
            continue;
        }
        let Some((seq, bytes)) = cluster.images.get(&topic).await? else {
            continue;
        };
        let image = AccountCheckpoint::decode(&bytes).filter(|i| i.account.id == *account);
        let Some(image) = image else {
            return Err(ClusterError::InvalidConfig(format!(
                "the image of account {account} in the cluster does not decode: it was \
                 written by another version of numpool"
            )));
        };
        state.replace_account(image.account, &image.local_pools);
        tracing::info!(account, seq, "account taken from its image in the cluster");
        taken.insert(account.clone(), seq);
    }
    Ok(taken)
}

impl Engine {
    /// After this sidecar's admin change became record `seq` of the log: when `seq` is a
    /// multiple of `compact_every` (exactly one change is), compacts, in the background.
    pub(super) fn compact_after(&self, link: &ClusterLink, seq: u64) {
        let every = link.store.config().compact_every;
        if every == 0 || !seq.is_multiple_of(every) {
            return;
        }
        let engine = self.clone();
        tokio::spawn(async move {
            let link = engine.cluster().expect("joined").clone();
            for state in engine.inner.accounts.values() {
                let account = AccountHandle(state.clone());
                if let Err(err) = engine.compact_account(&link, &account).await {
                    tracing::warn!(
                        error = &err as &dyn std::error::Error,
                        account = %account.id(),
                        "compaction of the admin log stopped"
                    );
                    return;
                }
            }
        });
    }

    /// Writes `account`'s image, standing for the last record applied to it here, and purges
    /// its records below the previous image (kept: a publish expects the account's last).
    async fn compact_account(
        &self,
        link: &ClusterLink,
        account: &AccountHandle,
    ) -> Result<(), ClusterError> {
        let topic = topic_of(account.id().as_str());
        let previous = link.store.images.seq(&topic).await?;
        // Unchanged since its image: nothing to capture.
        if account.0.applied_seq.load(Ordering::Acquire) <= previous {
            return Ok(());
        }
        let captured = self.capture_account(account, false).await;
        let seq = captured.applied_seq;
        let image = AccountCheckpoint {
            account: captured.image,
            local_pools: captured.local_pools,
        };
        link.store.images.put(&topic, seq, &image.encode()).await?;
        link.compactions.fetch_add(1, Ordering::Relaxed);
        if previous > 0 {
            let purged = link.store.admin.purge_below(&topic, previous).await?;
            link.compacted.fetch_add(purged, Ordering::Relaxed);
            tracing::info!(account = %account.id(), seq, purged, "admin log compacted");
        }
        Ok(())
    }

    /// Resolves when the admin replay found a record it cannot apply ([`Diverged`]); never
    /// single-node. The server then stops: its state is not the cluster's.
    pub async fn diverged(&self) -> Diverged {
        let Some(link) = self.cluster() else {
            return std::future::pending().await;
        };
        let mut diverged = link.diverged.subscribe();
        let why = match diverged.wait_for(Option::is_some).await {
            Ok(why) => why.clone().expect("waited for it"),
            Err(_) => return std::future::pending().await,
        };
        why
    }
}

/// Whether a record of an account that follows record `follows` can be applied where the
/// account's last record applied is `applied` and the state held every record up to
/// `resumed_from` at start: it can unless it follows a record applied nowhere here.
pub(super) fn follows_applied(follows: u64, applied: u64, resumed_from: u64) -> bool {
    follows <= applied.max(resumed_from)
}

#[cfg(test)]
mod tests {
    use super::follows_applied;

    #[test]
    fn a_record_applies_only_after_the_one_it_follows() {
        // The account's first record, and one following the last applied.
        assert!(follows_applied(0, 0, 0));
        assert!(follows_applied(7, 7, 0));
        // Following a record the start's checkpoint held, though not the account's last.
        assert!(follows_applied(40, 12, 50));
        // Following a record never applied here: the ones between were purged.
        assert!(!follows_applied(41, 12, 40));
        assert!(!follows_applied(8, 7, 0));
    }
}
