//! Cluster mode: compaction of the admin log (docs/cluster.md, "Compaction of the admin log").
//! The log is kept for ever, so without it a sidecar that starts without a data directory
//! replays every change ever made, opt-outs included. Now and then a sidecar writes each of its
//! accounts as an image (the account as its records built it, up to the last one applied to
//! it) in the cluster's object store, and purges the account's records below the *previous*
//! image. A sidecar that starts takes an account from its image when the image is newer than
//! what its checkpoint holds of it; then the records after it. Purging one image behind means
//! that a sidecar which chose its checkpoint over an image, or is applying the log a little
//! behind, still finds every record it needs when the next compaction runs; one that finds a
//! record missing (it follows a record of its account never applied there) stops, rather than
//! serve a state the others do not hold ([`Engine::diverged`]).

use std::sync::atomic::Ordering;

use numpool_cluster::{Cluster, ClusterError};

use super::replication::topic_of;
use super::{AccountHandle, Engine};
use crate::cluster::ClusterLink;
use crate::durability::checkpoint::{AccountCheckpoint, Resumed};
use crate::durability::StorageError;

/// How long the chunks no image names must have been left alone before a compaction purges
/// them: a put cut short (its sidecar died, a chunk's publish failed, another put of the
/// image won) leaves its chunks unnamed for ever, while one still under way elsewhere names
/// them within moments (an image is a few MB at most).
const ORPHANED_AFTER: std::time::Duration = std::time::Duration::from_secs(3600);

/// Why a compaction stopped (it is tried again at the next multiple).
#[derive(Debug, thiserror::Error)]
enum CompactionError {
    /// The cluster did not answer.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// A pool's actor did not answer the capture, although the pool is still there.
    #[error("pool {0}'s actor did not answer the capture")]
    PoolUnanswered(u64),
    /// The encoding task failed.
    #[error("the image's encoding task failed")]
    Encoding,
}

/// Why the admin replay stopped for good: the sidecar's state can no longer become the
/// cluster's by applying the log, so the server stops rather than serve it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Diverged {
    /// A record follows one of its account this sidecar never applied: the records between
    /// were purged by a compaction it was too far behind for.
    #[error(
        "the admin log of account {account} was compacted past what this sidecar had applied \
         (record {seq} follows {follows}; the last applied here is {applied}): restart it to \
         take the account from its image"
    )]
    Compacted {
        /// The account.
        account: String,
        /// The record that cannot be applied.
        seq: u64,
        /// The record it follows.
        follows: u64,
        /// The account's last record applied here.
        applied: u64,
    },
    /// A record of an account served here does not decode: a newer numpool wrote it.
    #[error(
        "admin log record {seq} of account {account} does not decode: it was written by \
         another version of numpool"
    )]
    Undecodable {
        /// The account.
        account: String,
        /// The record.
        seq: u64,
    },
}

/// Why the accounts newer in their images could not be taken from them at start.
#[derive(Debug, thiserror::Error)]
pub enum ImagesError {
    /// The cluster did not answer.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    /// An image does not decode, and the records it stands for may be gone.
    #[error(
        "the image of account {0} does not decode: it was written by another version of numpool"
    )]
    Undecodable(String),
    /// The state they make does not restore.
    #[error("the state does not restore")]
    Restore(#[source] StorageError),
}

/// Cluster mode, at start: each of `accounts` whose image in the cluster stands for a later
/// record than `resumed` holds of it is put in `resumed` from its image, the image's record
/// becoming the account's last applied. How many were.
pub(crate) async fn take_newer_images(
    cluster: &Cluster,
    accounts: &[String],
    resumed: &mut Resumed,
) -> Result<u64, ImagesError> {
    let mut taken = 0;
    for account in accounts {
        let applied = resumed.applied.get(account).copied().unwrap_or(0);
        let topic = topic_of(account);
        // Its sequence first, so that an image no newer than the checkpoint is not read.
        if cluster.images.seq(&topic).await? <= applied {
            continue;
        }
        // The image read may be a later one (a compaction ran meanwhile): its own sequence
        // is the one taken.
        let Some((seq, bytes)) = cluster.images.get(&topic).await? else {
            continue;
        };
        if seq <= applied {
            continue;
        }
        let image = AccountCheckpoint::decode(&bytes).filter(|i| i.account.id == *account);
        let Some(image) = image else {
            return Err(ImagesError::Undecodable(account.clone()));
        };
        resumed
            .state
            .replace_account(image.account, &image.local_pools);
        resumed.applied.insert(account.clone(), seq);
        tracing::info!(account, seq, "account taken from its image in the cluster");
        taken += 1;
    }
    Ok(taken)
}

impl Engine {
    /// After this sidecar's admin change became record `seq` of the log: when `seq` is a
    /// multiple of `compact_every`, compacts, in the background, unless a compaction is
    /// running here already.
    pub(super) fn compact_after(&self, link: &ClusterLink, seq: u64) {
        let every = link.store.config().compact_every;
        if every == 0 || !seq.is_multiple_of(every) || link.compacting.swap(true, Ordering::AcqRel)
        {
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
                    break;
                }
            }
            match link.store.images.sweep(ORPHANED_AFTER).await {
                Ok(0) => {}
                Ok(swept) => tracing::info!(swept, "image chunks no image names purged"),
                Err(err) => tracing::warn!(
                    error = &err as &dyn std::error::Error,
                    "sweep of the image store stopped"
                ),
            }
            link.compacting.store(false, Ordering::Release);
        });
    }

    /// Writes `account`'s image, standing for the last record applied to it here, and purges
    /// its records below the previous image (kept: a publish expects the account's last).
    async fn compact_account(
        &self,
        link: &ClusterLink,
        account: &AccountHandle,
    ) -> Result<(), CompactionError> {
        let topic = topic_of(account.id().as_str());
        let images = &link.store.images;
        let previous = images.seq(&topic).await?;
        // Unchanged since its image: nothing to capture.
        if account.0.applied_seq.load(Ordering::Acquire) <= previous {
            return Ok(());
        }
        let captured = self.capture_account(account, false).await;
        if let Some(uid) = self.still_there(account, &captured.unanswered).await {
            return Err(CompactionError::PoolUnanswered(uid));
        }
        let seq = captured.applied_seq;
        let image = AccountCheckpoint {
            account: captured.image,
            local_pools: captured.local_pools,
        };
        let bytes = tokio::task::spawn_blocking(move || image.encode())
            .await
            .map_err(|_| CompactionError::Encoding)?;
        // Another sidecar's compaction may have run meanwhile: an image never goes back.
        let previous = images.seq(&topic).await?.max(previous);
        if seq <= previous {
            return Ok(());
        }
        images.put(&topic, seq, &bytes).await?;
        link.compactions.fetch_add(1, Ordering::Relaxed);
        if previous > 0 {
            let purged = link.store.admin.purge_below(&topic, previous).await?;
            link.compacted.fetch_add(purged, Ordering::Relaxed);
            tracing::info!(account = %account.id(), seq, purged, "admin log compacted");
        }
        Ok(())
    }

    /// The first of `uids` (pools whose actor did not answer the capture) that is still a
    /// pool of the account: its image would lack the pool's opt-outs.
    async fn still_there(&self, account: &AccountHandle, uids: &[u64]) -> Option<u64> {
        if uids.is_empty() {
            return None;
        }
        let data = account.0.admin.lock().await;
        uids.iter()
            .copied()
            .find(|uid| data.pool_id_of(*uid).is_some())
    }

    /// Resolves when the admin replay has found a record it cannot apply; never single-node.
    /// The server then stops: its state is not the cluster's ([`Engine::divergence`] says why).
    pub async fn diverged(&self) {
        if let Some(link) = self.cluster() {
            if link
                .diverged
                .subscribe()
                .wait_for(Option::is_some)
                .await
                .is_ok()
            {
                return;
            }
        }
        std::future::pending().await
    }

    /// Why the admin replay stopped for good, if it did.
    pub fn divergence(&self) -> Option<Diverged> {
        self.cluster()?.diverged.borrow().clone()
    }
}
