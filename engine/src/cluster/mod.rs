//! Cluster mode (DESIGN §10): the sidecar's link to the cluster's JetStream. Admin changes go
//! through the admin log and every sidecar applies it in order (`engine::replication`); first
//! contacts are claimed in the sticky bucket and the local table caches what the bucket holds
//! (`engine::claims`). The local state is a cache of the cluster's, kept correct by both.

pub(crate) mod pending;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use numpool_cluster::Cluster;
use rustc_hash::FxHashMap;

use crate::durability::checkpoint::Checkpoints;

pub(crate) use pending::PendingClaims;

/// A sidecar's membership of a cluster.
pub(crate) struct ClusterLink {
    /// The cluster's streams and buckets.
    pub(crate) store: Cluster,
    /// This sidecar's id: the admin log's origin header, and its heartbeat key.
    pub(crate) member: String,
    /// The admin log's sequence applied here so far, in stream order: what a change waits
    /// for before it validates, and what readiness compares with the log's end.
    pub(crate) applied: tokio::sync::watch::Sender<u64>,
    /// Whether the admin replay has reached the log's end as it was at start.
    pub(crate) admin_current: AtomicBool,
    /// Whether the sticky watch has delivered every mapping the bucket held at start.
    pub(crate) sticky_current: AtomicBool,
    /// The admin log's last sequence as last read: the lag is this minus `applied`.
    pub(crate) log_end: AtomicU64,
    /// Admin changes refused because another sidecar changed the account at the same moment.
    pub(crate) conflicts: AtomicU64,
    /// First contacts that lost their claim to another sidecar and adopted its sender.
    pub(crate) claims_lost: AtomicU64,
    /// Calls answered "unavailable" because JetStream did not answer.
    pub(crate) unavailable: AtomicU64,
    /// Account tokens (as in sticky keys) to account ids, for the watch.
    pub(crate) accounts_by_token: FxHashMap<String, String>,
    /// First contacts being claimed here now, so a second pick of one waits for the first.
    pub(crate) pending: PendingClaims,
    /// First contacts answered locally during an outage (pools with `cluster_unavailable =
    /// "local"), still to be claimed.
    pub(crate) unreconciled: parking_lot::Mutex<Vec<Unreconciled>>,
    /// Local answers claimed after an outage.
    pub(crate) reconciled: AtomicU64,
    /// Local answers whose claim another sidecar had won: its sender was adopted.
    pub(crate) reconcile_conflicts: AtomicU64,
    /// Live sidecars as the heartbeats last counted them (at least 1): each number's `mps` is
    /// split evenly among them (DESIGN §10).
    pub(crate) share: AtomicU32,
    /// The data directory's checkpoints, when the sidecar has one.
    pub(crate) checkpoints: Option<Arc<Checkpoints>>,
    /// The admin log's sequence the recovered checkpoint had applied: the replay began after it.
    pub(crate) resumed_from: u64,
    /// Admin log records the replay has gone through since start (applied, or skipped as
    /// applied already when this sidecar published them).
    pub(crate) replayed: AtomicU64,
    /// The admin log's sequence the last checkpoint written holds (a restart replays after it).
    pub(crate) checkpointed: AtomicU64,
    /// Mappings written again in the bucket because they were used here: their TTL started
    /// over.
    pub(crate) refreshed: AtomicU64,
    /// Each account's last admin log record applied at start (from the checkpoint or the
    /// account's image), by account id: the replay skips the account's records up to it.
    pub(crate) start_applied: FxHashMap<String, u64>,
    /// Accounts taken at start from their images in the cluster.
    pub(crate) from_images: u64,
    /// Whether a compaction is running here: one at a time.
    pub(crate) compacting: AtomicBool,
    /// Account images written here (compaction).
    pub(crate) compactions: AtomicU64,
    /// Admin log records purged by this sidecar's compactions.
    pub(crate) compacted: AtomicU64,
    /// Set when the admin replay found a record it cannot apply: the server stops.
    pub(crate) diverged: tokio::sync::watch::Sender<Option<crate::engine::Diverged>>,
}

/// A first contact answered locally while the cluster was unreachable, to claim once it
/// answers again (`cluster_unavailable = "local"`).
pub(crate) struct Unreconciled {
    /// The account, pool and recipient, as pending claims key them.
    pub(crate) claim_key: pending::ClaimKey,
    /// The mapping's key in the bucket.
    pub(crate) key: String,
    /// The pool's actor and TTL.
    pub(crate) pool: crate::engine::ClaimPool,
    /// The sender answered.
    pub(crate) sender: numpool_core::model::Msisdn,
}

/// What `INFO`, `/healthz` and `/metrics` show of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClusterStatus {
    /// This sidecar's id.
    pub(crate) member: String,
    /// Whether the NATS connection is up.
    pub(crate) connected: bool,
    /// Whether the admin log and the sticky bucket have been caught up with since start.
    pub(crate) ready: bool,
    /// The admin log's sequence applied here.
    pub(crate) applied: u64,
    /// Records of the log not applied here yet, as far as last seen.
    pub(crate) lag: u64,
    /// Admin changes refused as concurrent.
    pub(crate) conflicts: u64,
    /// Claims lost to another sidecar.
    pub(crate) claims_lost: u64,
    /// Calls answered "unavailable".
    pub(crate) unavailable: u64,
    /// Live sidecars, among which each number's `mps` is split.
    pub(crate) members: u32,
    /// Local answers of an outage claimed since.
    pub(crate) reconciled: u64,
    /// Those whose claim another sidecar had won.
    pub(crate) reconcile_conflicts: u64,
    /// The admin log's sequence the recovered checkpoint had applied (0 without one).
    pub(crate) resumed_from: u64,
    /// Admin log records replayed since start.
    pub(crate) replayed: u64,
    /// The admin log's sequence the last checkpoint holds (the recovered one's until one is
    /// written).
    pub(crate) checkpointed: u64,
    /// Mappings refreshed in the bucket since start.
    pub(crate) refreshed: u64,
    /// Accounts taken from their images at start.
    pub(crate) from_images: u64,
    /// Account images written here.
    pub(crate) compactions: u64,
    /// Admin log records purged by compactions here.
    pub(crate) compacted: u64,
}

impl ClusterLink {
    /// A link for sidecar `member` of `store`, serving accounts `accounts`; nothing replayed
    /// yet.
    pub(crate) fn new(store: Cluster, member: String, accounts: &[String]) -> Self {
        ClusterLink {
            store,
            member,
            applied: tokio::sync::watch::channel(0).0,
            admin_current: AtomicBool::new(false),
            sticky_current: AtomicBool::new(false),
            log_end: AtomicU64::new(0),
            conflicts: AtomicU64::new(0),
            claims_lost: AtomicU64::new(0),
            unavailable: AtomicU64::new(0),
            accounts_by_token: accounts
                .iter()
                .map(|id| (numpool_cluster::token(id), id.clone()))
                .collect(),
            pending: PendingClaims::default(),
            share: AtomicU32::new(1),
            unreconciled: parking_lot::Mutex::default(),
            reconciled: AtomicU64::new(0),
            reconcile_conflicts: AtomicU64::new(0),
            checkpoints: None,
            resumed_from: 0,
            replayed: AtomicU64::new(0),
            checkpointed: AtomicU64::new(0),
            refreshed: AtomicU64::new(0),
            start_applied: FxHashMap::default(),
            from_images: 0,
            compacting: AtomicBool::new(false),
            compactions: AtomicU64::new(0),
            compacted: AtomicU64::new(0),
            diverged: tokio::sync::watch::channel(None).0,
        }
    }

    /// Starts after the admin log's record `replayed` (applied in stream order by the
    /// checkpoint), each account after its record in `applied`; `from_images` accounts were
    /// taken from their images.
    pub(crate) fn starting_from(
        mut self,
        replayed: u64,
        applied: FxHashMap<String, u64>,
        from_images: u64,
    ) -> Self {
        self.resumed_from = replayed;
        self.checkpointed = AtomicU64::new(replayed);
        self.applied.send_replace(replayed);
        self.start_applied = applied;
        self.from_images = from_images;
        self
    }

    /// Keeps checkpoints in a data directory.
    pub(crate) fn with_checkpoints(mut self, checkpoints: Checkpoints) -> Self {
        self.checkpoints = Some(Arc::new(checkpoints));
        self
    }

    /// How long a call waits for JetStream.
    pub(crate) fn timeout(&self) -> Duration {
        self.store.config().timeout
    }

    /// The figures shown of the cluster.
    pub(crate) fn status(&self) -> ClusterStatus {
        let applied = *self.applied.borrow();
        ClusterStatus {
            member: self.member.clone(),
            connected: self.store.connected(),
            ready: self.ready(),
            applied,
            lag: self.log_end.load(Ordering::Relaxed).saturating_sub(applied),
            conflicts: self.conflicts.load(Ordering::Relaxed),
            claims_lost: self.claims_lost.load(Ordering::Relaxed),
            unavailable: self.unavailable.load(Ordering::Relaxed),
            members: self.share.load(Ordering::Relaxed),
            reconciled: self.reconciled.load(Ordering::Relaxed),
            reconcile_conflicts: self.reconcile_conflicts.load(Ordering::Relaxed),
            resumed_from: self.resumed_from,
            replayed: self.replayed.load(Ordering::Relaxed),
            checkpointed: self.checkpointed.load(Ordering::Relaxed),
            refreshed: self.refreshed.load(Ordering::Relaxed),
            from_images: self.from_images,
            compactions: self.compactions.load(Ordering::Relaxed),
            compacted: self.compacted.load(Ordering::Relaxed),
        }
    }

    /// Ready to serve (`/healthz`): caught up with the admin log and the sticky bucket.
    pub(crate) fn ready(&self) -> bool {
        self.admin_current.load(Ordering::Acquire) && self.sticky_current.load(Ordering::Acquire)
    }

    /// Counts a call answered "unavailable", and returns the engine's error for it.
    pub(crate) fn unavailable(
        &self,
        err: &numpool_cluster::ClusterError,
    ) -> crate::engine::EngineError {
        self.unavailable.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(error = err as &dyn std::error::Error, "cluster call failed");
        crate::engine::EngineError::ClusterUnavailable
    }
}
