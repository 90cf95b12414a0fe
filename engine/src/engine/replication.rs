//! The admin log in cluster mode (DESIGN §10): a change validates under the account's admin
//! lock once this sidecar has applied every earlier change of the account, is published
//! expecting the account's last sequence to be the one applied here (so a sidecar behind, or
//! racing another, cannot publish), and is applied here at once; every other sidecar applies
//! it when its replay reaches it, in stream order. Single-node, all of this is a no-op.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use numpool_cluster::{ClusterError, LogEntry};

use super::compaction::Diverged;
use super::opt_outs::OptOutChange;
use super::{AccountData, AccountHandle, Engine, EngineError};
use crate::actors::messages::Upsert;
use crate::cluster::ClusterLink;
use crate::durability::convert;
use crate::durability::image::{PoolHeader, Record};
use numpool_core::model::{Mps, Msisdn, OutagePolicy, OwnedNumber};

/// The admin log's topic of an account: one subject per account, so its changes (inventory,
/// pools, members) have one total order.
pub(super) fn topic(account: &AccountHandle) -> String {
    topic_of(account.id().as_str())
}

/// The admin log's topic of the account `id` (and the name of its image).
pub(super) fn topic_of(id: &str) -> String {
    format!("account.{}", numpool_cluster::token(id))
}

/// What a published change carries: the account's id and the change's journal record.
fn encode(account: &AccountHandle, record: &Record) -> bytes::Bytes {
    let body = (account.id().to_string(), record);
    bincode::encode_to_vec(body, bincode::config::standard())
        .expect("records always encode")
        .into()
}

/// Why a replay of the admin log stopped.
enum Replay {
    /// The cluster: it starts again.
    Cluster(ClusterError),
    /// A record this sidecar cannot apply: it stops for good.
    Diverged(Diverged),
}

impl From<ClusterError> for Replay {
    fn from(err: ClusterError) -> Self {
        Replay::Cluster(err)
    }
}

impl From<Diverged> for Replay {
    fn from(why: Diverged) -> Self {
        Replay::Diverged(why)
    }
}

impl Engine {
    /// The cluster link, in cluster mode.
    pub(crate) fn cluster(&self) -> Option<&Arc<ClusterLink>> {
        self.inner.cluster.get()
    }

    /// The account's admin lock. In cluster mode, taken only once this sidecar has applied
    /// every change the admin log holds for the account (read from the stream's leader), so
    /// that what the change validates against includes them.
    pub(super) async fn admin_lock<'a>(
        &self,
        account: &'a AccountHandle,
    ) -> Result<tokio::sync::MutexGuard<'a, AccountData>, EngineError> {
        if let Some(link) = self.cluster() {
            let last = link
                .store
                .admin
                .last_on(&topic(account))
                .await
                .map_err(|err| link.unavailable(&err))?;
            let mut applied = link.applied.subscribe();
            let caught_up = tokio::time::timeout(link.timeout(), applied.wait_for(|s| *s >= last));
            if !matches!(caught_up.await, Ok(Ok(_))) {
                link.unavailable.fetch_add(1, Ordering::Relaxed);
                return Err(EngineError::ClusterUnavailable);
            }
        }
        Ok(account.0.admin.lock().await)
    }

    /// Cluster mode: publishes the change `record` builds on the admin log, under the admin
    /// lock, before it is applied here. [`EngineError::Conflict`] when another change of the
    /// account reached the log first. A no-op single-node.
    pub(super) async fn replicate(
        &self,
        account: &AccountHandle,
        record: impl FnOnce() -> Record,
    ) -> Result<(), EngineError> {
        let Some(link) = self.cluster() else {
            return Ok(());
        };
        let expected = account.0.applied_seq.load(Ordering::Acquire);
        let published = link
            .store
            .admin
            .publish(
                &topic(account),
                Some(expected),
                &link.member,
                encode(account, &record()),
            )
            .await;
        match published {
            Ok(seq) => {
                // Applied here by the caller, under the lock it holds: the replay skips it.
                account.0.applied_seq.store(seq, Ordering::Release);
                self.compact_after(link, seq);
                Ok(())
            }
            Err(ClusterError::Conflict) => {
                link.conflicts.fetch_add(1, Ordering::Relaxed);
                Err(EngineError::Conflict)
            }
            Err(err) => Err(link.unavailable(&err)),
        }
    }

    /// An account-level change: published in cluster mode, then journaled and fsynced where
    /// there is storage, before it is applied.
    pub(super) async fn commit(
        &self,
        account: &AccountHandle,
        record: impl Fn() -> Record,
    ) -> Result<(), EngineError> {
        self.replicate(account, &record).await?;
        self.journal(record).await
    }

    /// A new pool's uid. Single-node, the next of the counter snapshots keep; in cluster mode
    /// a random one (never below 2^48, above any counter), since sidecars allocate
    /// independently and a uid only has to be unique.
    pub(super) fn new_pool_uid(&self) -> u64 {
        match self.cluster() {
            None => self.inner.next_pool_uid.fetch_add(1, Ordering::Relaxed),
            Some(_) => fastrand::u64(1 << 48..u64::MAX),
        }
    }

    /// Joins the cluster of `link`: replays the admin log (after what a recovered checkpoint
    /// had applied) and watches the sticky bucket, for the process's life. Call once, before
    /// serving. Refused when the checkpoint had applied more of the admin log than it holds:
    /// the directory's state came from another log.
    pub(crate) async fn join_cluster(
        &self,
        link: ClusterLink,
    ) -> Result<Arc<ClusterLink>, ClusterError> {
        if link.resumed_from > 0 {
            let end = link.store.admin.last_seq().await?;
            if end < link.resumed_from {
                return Err(ClusterError::InvalidConfig(format!(
                    "the data directory's checkpoint applied the admin log up to {}, but the \
                     log ends at {end}: it is another cluster's, or the log was deleted",
                    link.resumed_from
                )));
            }
        }
        // Each account's last record applied at start (the checkpoint's, or its image's): the
        // next change here is published expecting it when it is still the account's last.
        for (id, seq) in &link.start_applied {
            if let Some(account) = self.account(id) {
                account.0.applied_seq.store(*seq, Ordering::Release);
            }
        }
        let link = Arc::new(link);
        if self.inner.cluster.set(link.clone()).is_err() {
            panic!("an engine joins one cluster");
        }
        let engine = self.clone();
        tokio::spawn(async move { engine.replay_admin_log().await });
        let engine = self.clone();
        tokio::spawn(async move { engine.watch_sticky().await });
        let engine = self.clone();
        tokio::spawn(async move { engine.replay_receipts().await });
        let engine = self.clone();
        tokio::spawn(async move { engine.heartbeat().await });
        let engine = self.clone();
        tokio::spawn(async move { engine.refresh_sticky().await });
        Ok(link)
    }

    /// Announces this sidecar every second for the process's life (its key expires when it
    /// stops), and counts the live ones: when their number changes, every pool's numbers get
    /// their new share of `mps`.
    async fn heartbeat(&self) {
        let link = self.cluster().expect("joined").clone();
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        loop {
            ticks.tick().await;
            if let Err(err) = link.store.members.beat(&link.member).await {
                tracing::debug!(
                    error = &err as &dyn std::error::Error,
                    "heartbeat not stored"
                );
                continue;
            }
            // The cluster answers: the local answers of an outage can be claimed now.
            if !link.unreconciled.lock().is_empty() {
                self.reconcile().await;
            }
            let Ok(live) = link.store.members.live().await else {
                continue;
            };
            let share = u32::try_from(live).unwrap_or(u32::MAX).max(1);
            if link.share.swap(share, Ordering::AcqRel) != share {
                tracing::info!(members = share, "live sidecars changed: mps split anew");
                self.reshare().await;
            }
        }
    }

    /// `number` as this sidecar's pools meter it: its `mps` split among the live sidecars in
    /// cluster mode (the burst and daily allowance stay whole), as it is single-node.
    pub(super) fn metered(&self, mut number: OwnedNumber) -> OwnedNumber {
        let share = self
            .cluster()
            .map_or(1, |link| link.share.load(Ordering::Acquire));
        if share > 1 {
            if let Some(mps) = number.limits.mps {
                number.limits.mps = Mps::new(mps.get() / f64::from(share)).ok().or(Some(mps));
            }
        }
        number
    }

    /// Every pool's numbers sent again to its actor with their current share of `mps`.
    async fn reshare(&self) {
        for state in self.inner.accounts.values() {
            let data = state.admin.lock().await;
            for entry in data.pools.values() {
                let numbers: Vec<OwnedNumber> = entry
                    .members
                    .iter()
                    .filter_map(|n| data.inventory.get(n))
                    .filter(|n| n.limits.mps.is_some())
                    .map(|n| self.metered(n.clone()))
                    .collect();
                if !numbers.is_empty() {
                    let _ = entry
                        .addr
                        .send(Upsert {
                            numbers,
                            record: None,
                        })
                        .await;
                }
            }
        }
    }

    /// Applies the admin log from the first record not applied here, for ever: after an
    /// error the replay starts again from there.
    async fn replay_admin_log(&self) {
        let link = self.cluster().expect("joined").clone();
        loop {
            match self.replay_once(&link).await {
                Ok(()) => {}
                Err(Replay::Cluster(err)) => tracing::warn!(
                    error = &err as &dyn std::error::Error,
                    "admin log replay interrupted"
                ),
                Err(Replay::Diverged(why)) => {
                    tracing::error!(
                        error = &why as &dyn std::error::Error,
                        "admin log replay stopped"
                    );
                    link.diverged.send_replace(Some(why));
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn replay_once(&self, link: &ClusterLink) -> Result<(), Replay> {
        let end = link.store.admin.last_seq().await?;
        link.log_end.fetch_max(end, Ordering::Relaxed);
        let from = *link.applied.borrow() + 1;
        if from > end {
            link.admin_current.store(true, Ordering::Release);
        }
        let mut entries = std::pin::pin!(link.store.admin.replay(from).await?);
        while let Some(entry) = entries.next().await {
            let entry = entry?;
            let seq = entry.seq;
            self.apply_entry(entry).await?;
            link.replayed.fetch_add(1, Ordering::Relaxed);
            link.log_end.fetch_max(seq, Ordering::Relaxed);
            link.applied.send_replace(seq);
            if seq >= end {
                link.admin_current.store(true, Ordering::Release);
            }
        }
        Ok(())
    }

    /// Applies one record of the log, unless this sidecar published it and applied it then.
    /// [`Diverged`] when it follows a record of its account this sidecar never applied, or
    /// does not decode.
    async fn apply_entry(&self, entry: LogEntry) -> Result<(), Diverged> {
        // The account first, alone: a record of an account served here that does not decode
        // stops the replay, one of another account is skipped.
        let config = bincode::config::standard();
        let Ok((account_id, read)) =
            bincode::decode_from_slice::<String, _>(&entry.payload, config)
        else {
            tracing::error!(seq = entry.seq, "admin log record does not decode: skipped");
            return Ok(());
        };
        let Some(account) = self.account(&account_id) else {
            tracing::warn!(seq = entry.seq, account = %account_id, "admin log record for an account not configured here: skipped");
            return Ok(());
        };
        let mut data = account.0.admin.lock().await;
        let applied = account.0.applied_seq.load(Ordering::Acquire);
        if entry.seq <= applied {
            return Ok(());
        }
        // Each account's last record applied is exact (a checkpoint's and an image's too), so
        // a record following a later one means the ones between were purged unapplied.
        if let Some(follows) = entry.follows.filter(|follows| *follows > applied) {
            return Err(Diverged::Compacted {
                account: account_id,
                seq: entry.seq,
                follows,
                applied,
            });
        }
        let Ok((record, _)) =
            bincode::decode_from_slice::<Record, _>(&entry.payload[read..], config)
        else {
            return Err(Diverged::Undecodable {
                account: account_id,
                seq: entry.seq,
            });
        };
        if let Err(err) = self.apply_record(&account, &mut data, record).await {
            tracing::error!(
                seq = entry.seq,
                error = &err as &dyn std::error::Error,
                "admin log record not applied"
            );
        }
        account.0.applied_seq.store(entry.seq, Ordering::Release);
        Ok(())
    }

    /// A pool made or changed by another sidecar, with `policy` as its `cluster_unavailable`.
    async fn apply_pool(
        &self,
        account: &AccountHandle,
        data: &mut AccountData,
        header: &PoolHeader,
        policy: OutagePolicy,
    ) -> Result<(), EngineError> {
        let Ok((new_id, mut settings)) = convert::pool_settings(header) else {
            return Ok(());
        };
        settings.cluster_unavailable = policy;
        match data.pool_id_of(header.uid) {
            Some(id) => self
                .apply_update_pool(account, data, &id, new_id, settings, header.updated_at)
                .await
                .map(drop),
            None => {
                let (uid, at) = (header.uid, header.created_at);
                self.apply_create_pool(account, data, new_id, settings, uid, at);
                Ok(())
            }
        }
    }

    /// Applies a change another sidecar published, as the call that made it applied it there.
    async fn apply_record(
        &self,
        account: &AccountHandle,
        data: &mut AccountData,
        record: Record,
    ) -> Result<(), EngineError> {
        let numbers = |numbers: &[u64]| -> Vec<Msisdn> {
            numbers
                .iter()
                .filter_map(|n| Msisdn::from_u64(*n).ok())
                .collect()
        };
        match record {
            Record::PutNumbers { numbers, .. } => {
                let owned = numbers
                    .iter()
                    .filter_map(|image| convert::owned_number(image).ok())
                    .collect();
                self.apply_upsert(account, data, owned).await.map(drop)
            }
            Record::DeleteNumber { number, .. } => match Msisdn::from_u64(number) {
                Ok(number) if data.inventory.contains_key(&number) => self
                    .apply_delete_number(account, data, number)
                    .await
                    .map(drop),
                _ => Ok(()),
            },
            Record::PutPool { header, .. } => {
                let policy = OutagePolicy::default();
                self.apply_pool(account, data, &header, policy).await
            }
            Record::PutPoolCluster {
                header,
                cluster_unavailable,
                ..
            } => {
                let policy = OutagePolicy::from_name(&cluster_unavailable).unwrap_or_default();
                self.apply_pool(account, data, &header, policy).await
            }
            Record::DeletePool { uid, .. } => {
                if let Some(id) = data.pool_id_of(uid) {
                    self.apply_delete_pool(account, data, &id).await;
                }
                Ok(())
            }
            Record::AddMembers {
                uid,
                numbers: added,
                at,
                ..
            } => match data.pool_id_of(uid) {
                Some(id) => {
                    let joining = numbers(&added);
                    self.apply_add_members(account, data, &id, &joining, at)
                        .await
                }
                None => Ok(()),
            },
            Record::RemoveMembers {
                uid,
                numbers: removed,
                at,
                ..
            } => match data.pool_id_of(uid) {
                Some(id) => {
                    let leaving = numbers(&removed);
                    self.apply_remove_members(account, data, &id, &leaving, at)
                        .await
                }
                None => Ok(()),
            },
            Record::OptOutPut { uid, opt_out } => {
                let (Some(id), Ok((to, opt_out))) =
                    (data.pool_id_of(uid), convert::opt_out(&opt_out))
                else {
                    return Ok(());
                };
                let addr = data.pools[&id].addr.clone();
                // Over the limit here is over it on the sidecar that published it too: it
                // was answered so there, and nothing changes anywhere.
                let _ = self
                    .apply_opt_out(
                        account,
                        &addr,
                        id.as_str(),
                        OptOutChange::of(to, Some(opt_out)),
                    )
                    .await;
                Ok(())
            }
            Record::OptOutRemove { uid, to } => {
                let (Some(id), Ok(to)) = (data.pool_id_of(uid), Msisdn::from_u64(to)) else {
                    return Ok(());
                };
                let addr = data.pools[&id].addr.clone();
                self.apply_opt_out(account, &addr, id.as_str(), OptOutChange::of(to, None))
                    .await
                    .map(drop)
            }
            other => {
                tracing::warn!(record = ?other, "admin log record of a kind not replicated: skipped");
                Ok(())
            }
        }
    }
}
