//! The engine's async API: what the REST API, the RESP sidecar and the loaders call. It holds
//! the configured accounts; each account's inventory and pool records sit behind one async
//! mutex (admin changes are rare and must not interleave), while the route from pool id to
//! `PoolActor` sits behind a read-mostly lock that picks take for a moment only.

mod claims;
mod compaction;
mod conversations;
mod inbound;
mod inventory;
mod limits;
mod opt_outs;
mod persist;
mod picks;
mod pools;
mod receipt_log;
mod receipts;
mod replication;
mod sticky_refresh;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use actix::Addr;
use parking_lot::RwLock;
use rustc_hash::FxHashMap;
use thiserror::Error;

pub(crate) use claims::ClaimPool;
pub(crate) use compaction::take_newer_images;
pub use compaction::{Diverged, ImagesError};
pub(crate) use conversations::PerPool;
pub(crate) use inbound::{Inbound, InboundOutcome, Part, Thread};
pub use limits::{AccountLimits, Limit, LimitExceeded};
pub use persist::{SnapshotReport, SnapshotSchedule};
pub(crate) use picks::PickFailure;
pub use pools::{AddOutcome, PoolUpdate, RemoveOutcome};
pub use receipts::DeliveryStats;
pub(crate) use receipts::{NumberHealth, Receipt};

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::actors::{Placement, PoolActor, PoolHandle, PoolJournal};
use crate::clock::unix_now;
use crate::cluster::ClusterLink;
use crate::durability::image::Record;
use crate::durability::replay::{WorkingAccount, WorkingState};
use crate::durability::{Durability, FsyncPolicy, StorageError, StorageFailure};
use crate::metrics::{Metrics, PickLatency};
use numpool_core::model::{
    Account, AccountId, Msisdn, OwnedNumber, PoolId, PoolRecord, PoolSettings,
};
use numpool_core::select::PickStats;

/// Why an engine call failed: each names what was missing or in the way.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    /// The account has no pool with this id.
    #[error("pool '{0}' not found")]
    NoSuchPool(String),
    /// The account already has a pool with this id.
    #[error("pool '{0}' already exists")]
    PoolExists(PoolId),
    /// The number is not in the account's inventory.
    #[error("number {0} is not in the account's inventory")]
    NumberNotOwned(Msisdn),
    /// The pool's actor did not answer.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// The change could not be made durable, so it was not made.
    #[error("storage failed")]
    Storage(#[source] StorageFailure),
    /// The change would pass one of the account's limits, so none of it was made.
    #[error(transparent)]
    Limit(#[from] LimitExceeded),
    /// Cluster mode: JetStream could not take the change, so it was not made (or, after a
    /// timeout, may yet be: every change sets state, so repeating it is harmless).
    #[error("the cluster is unavailable")]
    ClusterUnavailable,
    /// Cluster mode: another sidecar changed the account at the same moment; nothing of this
    /// change was made.
    #[error("a concurrent change to the account came first: retry")]
    Conflict,
}

impl From<StorageError> for EngineError {
    fn from(err: StorageError) -> Self {
        EngineError::Storage(StorageFailure::new(err))
    }
}

/// A pool's actor that did not take or answer a message: its mailbox is closed because the
/// engine is shutting down. The same error wherever a pool is asked something, so a caller
/// never mistakes it for a missing pool.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("pool '{0}' is unavailable")]
pub struct Unavailable(pub(crate) String);

impl Unavailable {
    /// The error for pool `pool_id`, as the `map_err` of a mailbox send.
    fn of(pool_id: &str) -> impl FnOnce(actix::MailboxError) -> Unavailable + '_ {
        move |_| Unavailable(pool_id.to_owned())
    }
}

/// An authenticated account: what `Engine::authenticate` returns and every account-scoped
/// call takes. Holding one proves the account exists, so no call on it can fail with "no such
/// account"; the servers keep it for the connection or request.
#[derive(Clone)]
pub struct AccountHandle(Arc<AccountState>);

impl AccountHandle {
    /// The account's id (its `api_key`).
    pub(crate) fn id(&self) -> &AccountId {
        &self.0.account.id
    }
}

impl std::fmt::Debug for AccountHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret: only the id.
        f.debug_tuple("AccountHandle").field(self.id()).finish()
    }
}

/// Whether changes can be stored.
#[derive(Debug, Clone)]
pub(crate) enum StorageState {
    /// No data directory: nothing is stored, by the operator's choice.
    InMemory,
    /// Changes are stored.
    Ok,
    /// A storage fault: every change is refused until it ends.
    Failed(StorageFailure),
}

impl StorageState {
    /// The state's name in `/healthz`, `INFO` and `/metrics`.
    pub(crate) fn as_str(&self) -> &'static str {
        match self {
            StorageState::InMemory => "in_memory",
            StorageState::Ok => "ok",
            StorageState::Failed(_) => "failed",
        }
    }
}

/// A page request: `limit` items from `offset`, in id order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Items to skip.
    pub offset: usize,
    /// Most items to return.
    pub limit: usize,
}

/// One page of a listing and the size of the whole listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paged<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// How many items the whole listing has.
    pub total: usize,
}

impl<T> Paged<T> {
    fn of<'a, I>(iter: I, total: usize, page: Page) -> Self
    where
        I: Iterator<Item = T> + 'a,
    {
        Paged {
            items: iter.skip(page.offset).take(page.limit).collect(),
            total,
        }
    }
}

/// What is counted in one account, or in several summed: for `INFO` (the caller's account)
/// and `/metrics` (all of them, and each when asked).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Pools.
    pub(crate) pools: u64,
    /// Owned numbers.
    pub(crate) numbers: u64,
    /// Pool counters summed (sticky entries, picks by reason, rejections).
    pub pool_totals: PickStats,
    /// Receipts by class and numbers by health state.
    pub delivery: DeliveryStats,
}

impl EngineStats {
    /// Owned numbers healthy under the default thresholds (with no receipt, or good ones).
    pub fn healthy(&self) -> u64 {
        self.numbers
            .saturating_sub(self.delivery.unhealthy + self.delivery.probation)
    }
}

impl EngineStats {
    /// Adds `other` into `self`.
    fn absorb(&mut self, other: &EngineStats) {
        self.pools += other.pools;
        self.numbers += other.numbers;
        self.pool_totals.absorb(&other.pool_totals);
        self.delivery.absorb(&other.delivery);
    }
}

/// The engine. Cheap to clone: clones share one state.
#[derive(Clone)]
pub struct Engine {
    /// Shared state.
    inner: Arc<Inner>,
}

struct Inner {
    /// The configured accounts; fixed for the process's life.
    accounts: FxHashMap<AccountId, Arc<AccountState>>,
    /// The journal and data directory; `None` keeps state in memory only.
    storage: Option<Arc<Durability>>,
    /// The next pool uid: journal records name pools by uid, which survives renames.
    next_pool_uid: AtomicU64,
    /// One snapshot at a time.
    snapshotting: tokio::sync::Mutex<()>,
    /// Where pool actors run.
    placement: Placement,
    /// What each account may hold.
    limits: AccountLimits,
    /// Latency and connection measurements the servers record.
    metrics: Metrics,
    /// The cluster this sidecar is a member of (`--cluster`), once joined.
    cluster: std::sync::OnceLock<Arc<ClusterLink>>,
}

/// One account's state.
struct AccountState {
    /// Its identity and credentials.
    account: Account,
    /// Inventory and pool records; admin changes hold it across their actor round trips so
    /// that two changes to one account never interleave.
    admin: tokio::sync::Mutex<AccountData>,
    /// Pool id → actor and its published counters: what every pick reads, and what stats
    /// sum without the admin lock.
    routes: RwLock<FxHashMap<PoolId, PoolHandle>>,
    /// The inventory's size, kept beside it under the admin lock so stats need not take it.
    owned: AtomicU64,
    /// Latency of the account's picks, for its `INFO`.
    latency: PickLatency,
    /// Its receipts by class and numbers by health state, for `INFO` and `/metrics`.
    delivery: receipts::DeliveryCounters,
    /// Parts of concatenated inbound messages still awaiting the rest.
    partial: parking_lot::Mutex<inbound::PartialMessages>,
    /// Cluster mode: the admin log's sequence of the account's last change applied here,
    /// changed under the admin lock only. A change published expects it to still be the
    /// account's last, so a sidecar behind, or racing another, cannot publish.
    applied_seq: AtomicU64,
}

impl AccountState {
    /// The account's figures, from what its actors published: no actor message, no admin
    /// lock (the route table's read lock, for a sum over its pools).
    fn stats(&self) -> EngineStats {
        let routes = self.routes.read();
        let mut stats = EngineStats {
            pools: routes.len() as u64,
            numbers: self.owned.load(Ordering::Relaxed),
            pool_totals: PickStats::default(),
            delivery: self.delivery.stats(unix_now()),
        };
        for pool in routes.values() {
            pool.counters.add_to(&mut stats.pool_totals);
        }
        stats
    }
}

/// An account's inventory and pools: the admin view, and the source of truth for both.
#[derive(Default)]
struct AccountData {
    /// Owned numbers.
    inventory: BTreeMap<Msisdn, OwnedNumber>,
    /// Pools by id.
    pools: BTreeMap<PoolId, PoolEntry>,
    /// What delivery receipts said about the inventory's numbers (in memory only).
    feedback: receipts::Feedback,
}

/// A pool's admin record; its selection state lives in its actor.
struct PoolEntry {
    /// Stable id for the journal.
    uid: u64,
    /// Its settings, as last set.
    settings: PoolSettings,
    /// Creation time, seconds since the Unix epoch.
    created_at: u64,
    /// Last change of settings or numbers.
    updated_at: u64,
    /// Its numbers in order, for paging and for removing a number from every pool holding it.
    members: BTreeSet<Msisdn>,
    /// Its actor.
    addr: Addr<PoolActor>,
}

impl AccountData {
    /// The id of the pool whose uid is `uid`: journal and cluster records, and sticky keys,
    /// name pools by uid, which survives renames.
    fn pool_id_of(&self, uid: u64) -> Option<PoolId> {
        self.pools
            .iter()
            .find(|(_, entry)| entry.uid == uid)
            .map(|(id, _)| id.clone())
    }
}

impl PoolEntry {
    fn record(&self, pool_id: &PoolId) -> PoolRecord {
        PoolRecord {
            pool_id: pool_id.clone(),
            settings: self.settings.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
            number_count: self.members.len(),
        }
    }
}

impl Engine {
    /// Starts an in-memory engine for `accounts`, each held to `limits`, its pools spread over
    /// `workers` arbiters. Must run inside an actix `System` (for example under
    /// `#[actix_web::main]` or `#[actix::test]`).
    pub(crate) fn start(accounts: Vec<Account>, limits: AccountLimits, workers: usize) -> Self {
        Engine::with_placement(accounts, limits, Placement::start(workers))
    }

    /// Starts an in-memory engine whose pools run on `placement`.
    pub(crate) fn with_placement(
        accounts: Vec<Account>,
        limits: AccountLimits,
        placement: Placement,
    ) -> Self {
        Engine::build(accounts, limits, placement, None, WorkingState::default())
            .expect("an empty state always builds")
    }

    /// Starts an engine whose state lives in `dir`: recovers it (newest valid snapshot plus
    /// journal), then journals every change with sticky assignments under `policy`, its pools
    /// spread over `workers` arbiters. Recovered accounts keep what they hold even over
    /// `limits`; only additions are refused.
    pub fn open(
        accounts: Vec<Account>,
        limits: AccountLimits,
        dir: &Path,
        policy: FsyncPolicy,
        workers: usize,
    ) -> Result<Self, StorageError> {
        let (storage, state) = Durability::open(dir, policy)?;
        Engine::build(
            accounts,
            limits,
            Placement::start(workers),
            Some(Arc::new(storage)),
            state,
        )
    }

    /// Starts a cluster sidecar's engine from its recovered checkpoint `state`: nothing is
    /// journaled (the cluster holds every change), its pools spread over `workers` arbiters.
    pub(crate) fn resume(
        accounts: Vec<Account>,
        limits: AccountLimits,
        workers: usize,
        state: WorkingState,
    ) -> Result<Self, StorageError> {
        Engine::build(accounts, limits, Placement::start(workers), None, state)
    }

    fn build(
        accounts: Vec<Account>,
        limits: AccountLimits,
        placement: Placement,
        storage: Option<Arc<Durability>>,
        mut state: WorkingState,
    ) -> Result<Self, StorageError> {
        let mut states = FxHashMap::default();
        for account in accounts {
            let recovered = state
                .accounts
                .remove(account.id.as_str())
                .unwrap_or_default();
            let (data, routes) = restore_account(recovered, &placement, storage.as_ref())?;
            warn_over_limits(&account.id, &data, &limits);
            let account_state = AccountState {
                account: account.clone(),
                owned: AtomicU64::new(data.inventory.len() as u64),
                admin: tokio::sync::Mutex::new(data),
                routes: RwLock::new(routes),
                latency: PickLatency::default(),
                delivery: receipts::DeliveryCounters::default(),
                partial: parking_lot::Mutex::default(),
                applied_seq: AtomicU64::new(0),
            };
            states.insert(account.id, Arc::new(account_state));
        }
        for unknown in state.accounts.keys() {
            tracing::warn!(account = %unknown, "stored data for an account not in the config is not served");
        }
        Ok(Engine {
            inner: Arc::new(Inner {
                accounts: states,
                storage,
                next_pool_uid: AtomicU64::new(state.next_pool_uid),
                snapshotting: tokio::sync::Mutex::new(()),
                placement,
                limits,
                metrics: Metrics::default(),
                cluster: std::sync::OnceLock::new(),
            }),
        })
    }

    /// The account whose key and secret these are, checked in constant time; `None` for a
    /// wrong pair (without saying which half was wrong).
    pub(crate) fn authenticate(&self, api_key: &str, api_secret: &str) -> Option<AccountHandle> {
        let state = self.inner.accounts.get(api_key)?;
        state
            .account
            .secret_matches(api_secret)
            .then(|| AccountHandle(state.clone()))
    }

    /// The configured account `id`, without credentials: for an operator's choices (the
    /// `--sidecar-account` binding, the demo seeding, loaders and tests), never for a client.
    pub fn account(&self, id: &str) -> Option<AccountHandle> {
        self.inner.accounts.get(id).cloned().map(AccountHandle)
    }

    /// The event loops pool actors run on: the RESP server serves its connections there too.
    pub(crate) fn workers(&self) -> Vec<actix::ArbiterHandle> {
        self.inner.placement.workers()
    }

    /// Measurements shared by the servers.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Counters across every account and pool. Reads what the actors published: never an
    /// admin lock, never an actor round trip, so polling it cannot slow admin calls.
    pub fn stats(&self) -> EngineStats {
        let mut stats = EngineStats::default();
        for state in self.inner.accounts.values() {
            stats.absorb(&state.stats());
        }
        stats
    }

    /// One account's counters, as [`Engine::stats`] reads them.
    pub(crate) fn account_stats(&self, account: &AccountHandle) -> EngineStats {
        account.0.stats()
    }

    /// Each account's counters, in account id order.
    pub(crate) fn stats_by_account(&self) -> Vec<(AccountId, EngineStats)> {
        let mut all: Vec<(AccountId, EngineStats)> = self
            .inner
            .accounts
            .values()
            .map(|state| (state.account.id.clone(), state.stats()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// Records `count` of `account`'s picks answered `elapsed` after they were parsed: in the
    /// process's histogram and the account's.
    pub(crate) fn record_picks(&self, account: &AccountHandle, elapsed: Duration, count: u64) {
        self.inner.metrics.pick_latency.record(elapsed, count);
        account.0.latency.record(elapsed, count);
    }

    /// A copy of `account`'s pick-latency histogram (microseconds).
    pub(crate) fn account_pick_latency(&self, account: &AccountHandle) -> Histogram<u64> {
        account.0.latency.snapshot()
    }

    /// Appends and fsyncs an admin change before it is applied; a no-op without storage.
    /// Appends an account-level admin change (inventory, pool creation and deletion) and waits
    /// until it is fsynced, before it is applied; a no-op without storage.
    async fn journal(&self, record: impl FnOnce() -> Record) -> Result<(), EngineError> {
        if let Some(storage) = &self.inner.storage {
            storage
                .append_admin(record())
                .await
                .map_err(EngineError::Storage)?;
        }
        Ok(())
    }

    /// Waits until everything stored so far is fsynced: an admin call that changed nothing
    /// still promises, like every admin answer, that all it follows is on disk. A no-op
    /// without storage.
    async fn barrier(&self) -> Result<(), EngineError> {
        if let Some(storage) = &self.inner.storage {
            let ticket = storage
                .submit(Vec::new(), true)
                .map_err(EngineError::Storage)?;
            storage
                .settled(ticket)
                .await
                .map_err(EngineError::Storage)?;
        }
        Ok(())
    }

    /// The record of a pool-level change for its actor to journal, in its own order; `None`
    /// without storage.
    fn record(&self, record: impl FnOnce() -> Record) -> Option<Record> {
        self.inner.storage.as_ref().map(|_| record())
    }

    /// Storage faults since start (0 in memory).
    pub(crate) fn storage_faults(&self) -> u64 {
        self.inner
            .storage
            .as_ref()
            .map_or(0, |storage| storage.faults())
    }

    /// Whether changes can be stored now (`/healthz`, `INFO`, `/metrics`).
    pub(crate) fn storage_state(&self) -> StorageState {
        match &self.inner.storage {
            None => StorageState::InMemory,
            Some(storage) => match storage.fault() {
                None => StorageState::Ok,
                Some(fault) => StorageState::Failed(fault),
            },
        }
    }

    /// Where a new pool's actor journals its sticky changes.
    fn pool_journal(&self, uid: u64) -> Option<PoolJournal> {
        self.inner.storage.as_ref().map(|storage| PoolJournal {
            storage: storage.clone(),
            uid,
        })
    }
}

/// Sends a change to a pool's actor, which journals it in its own order before applying it:
/// the actor's answer, or why the change was not made (its actor is gone, or storage failed).
async fn change_pool<M, T>(
    addr: &Addr<PoolActor>,
    pool_id: &str,
    change: M,
) -> Result<T, EngineError>
where
    M: actix::Message<Result = Result<T, StorageFailure>> + Send + 'static,
    T: Send + 'static,
    PoolActor: actix::Handler<M>,
{
    addr.send(change)
        .await
        .map_err(Unavailable::of(pool_id))?
        .map_err(EngineError::Storage)
}

/// Warns of each limit a recovered account is over (stored under higher limits): what it holds
/// stays and is served, and only additions are refused until it is back under.
fn warn_over_limits(account: &AccountId, data: &AccountData, limits: &AccountLimits) {
    let counts = [
        (Limit::Pools, data.pools.len()),
        (Limit::Numbers, data.inventory.len()),
    ];
    let pools = data
        .pools
        .iter()
        .map(|(id, entry)| (Limit::NumbersPerPool(id.clone()), entry.members.len()));
    for (limit, count) in counts.into_iter().chain(pools) {
        if let Some(value) = limits.over(&limit, count) {
            tracing::warn!(
                %account,
                limit = limit.key(),
                value,
                count,
                "recovered {limit} over the limit: kept, additions refused"
            );
        }
    }
}

/// Serves an account from recovered state: its model rebuilt beside the replay
/// ([`WorkingAccount::restore`]), then an actor spawned for each pool.
/// Its admin view and its route table.
fn restore_account(
    recovered: WorkingAccount,
    placement: &Placement,
    storage: Option<&Arc<Durability>>,
) -> Result<(AccountData, FxHashMap<PoolId, PoolHandle>), StorageError> {
    let restored = recovered.restore()?;
    let mut routes = FxHashMap::default();
    let pools = restored
        .pools
        .into_iter()
        .map(|pool| {
            let journal = storage.map(|storage| PoolJournal {
                storage: storage.clone(),
                uid: pool.uid,
            });
            let handle = placement.spawn(pool.state, journal);
            let entry = PoolEntry {
                uid: pool.uid,
                settings: pool.settings,
                created_at: pool.created_at,
                updated_at: pool.updated_at,
                members: pool.members,
                addr: handle.addr.clone(),
            };
            routes.insert(pool.id.clone(), handle);
            (pool.id, entry)
        })
        .collect();
    let data = AccountData {
        inventory: restored.inventory,
        pools,
        feedback: receipts::Feedback::restored(restored.opt_out_signals),
    };
    Ok((data, routes))
}
