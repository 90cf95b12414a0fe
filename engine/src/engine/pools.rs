//! Pools and their numbers (DESIGN §3.1, §5): create, read, change, delete; add and remove
//! numbers with a per-number outcome.

use std::collections::BTreeSet;

use super::{
    change_pool, AccountData, AccountHandle, Engine, EngineError, Limit, Page, Paged, PoolEntry,
};
use crate::actors::messages::{Remove, SetSettings, Stop, Upsert};
use crate::clock::unix_now;
use crate::durability::convert;
use crate::durability::image::Record;
use numpool_core::delivery::ThresholdsPatch;
use numpool_core::model::{
    CustomFrom, Fallback, Geomatch, Msisdn, OutagePolicy, OwnedNumber, PoolId, PoolRecord,
    PoolSettings, TypePriority,
};
use numpool_core::select::PoolState;

/// A partial change of a pool (`PATCH`): `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolUpdate {
    /// A new id for the pool (must be free in the account).
    pub pool_id: Option<PoolId>,
    /// A new fallback.
    pub fallback: Option<Fallback>,
    /// A new `localized_sender_preferred`.
    pub localized_sender_preferred: Option<bool>,
    /// A new `predictable_sender_preferred`.
    pub predictable_sender_preferred: Option<bool>,
    /// `Some(None)` clears `custom_from`, `Some(Some(id))` sets it.
    pub custom_from: Option<Option<CustomFrom>>,
    /// A new sticky TTL.
    pub sticky_ttl_seconds: Option<u32>,
    /// A new `skip_unhealthy`.
    pub skip_unhealthy: Option<bool>,
    /// New values for some health thresholds; the others stay.
    pub health: Option<ThresholdsPatch>,
    /// A new type priority (the empty one clears it).
    pub type_priority: Option<TypePriority>,
    /// A new geomatch.
    pub geomatch: Option<Geomatch>,
    /// Cluster mode: a new `cluster_unavailable`.
    pub cluster_unavailable: Option<OutagePolicy>,
}

impl PoolUpdate {
    fn apply(&self, settings: &mut PoolSettings) {
        if let Some(fallback) = self.fallback {
            settings.fallback = fallback;
        }
        if let Some(localized) = self.localized_sender_preferred {
            settings.localized_sender_preferred = localized;
        }
        if let Some(predictable) = self.predictable_sender_preferred {
            settings.predictable_sender_preferred = predictable;
        }
        if let Some(custom_from) = &self.custom_from {
            settings.custom_from = custom_from.clone();
        }
        if let Some(ttl) = self.sticky_ttl_seconds {
            settings.sticky_ttl_seconds = ttl;
        }
        if let Some(skip) = self.skip_unhealthy {
            settings.skip_unhealthy = skip;
        }
        if let Some(health) = &self.health {
            settings.health = health.apply(&settings.health);
        }
        if let Some(priority) = &self.type_priority {
            settings.type_priority = priority.clone();
        }
        if let Some(geomatch) = self.geomatch {
            settings.geomatch = geomatch;
        }
        if let Some(policy) = self.cluster_unavailable {
            settings.cluster_unavailable = policy;
        }
    }
}

/// What happened to one number of a bulk add.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    /// It joined the pool.
    Added,
    /// It was in the pool already (adding is idempotent).
    AlreadyInPool,
    /// It is not in the account's inventory (Vonage's `missing-number-subscription`).
    NotOwned,
}

/// What happened to one number of a bulk remove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RemoveOutcome {
    /// It left the pool.
    Removed,
    /// It was not in the pool (Vonage's `missing-number`).
    NotInPool,
}

impl Engine {
    /// Creates an empty pool.
    pub async fn create_pool(
        &self,
        account: &AccountHandle,
        pool_id: PoolId,
        settings: PoolSettings,
    ) -> Result<PoolRecord, EngineError> {
        let mut data = self.admin_lock(account).await?;
        if data.pools.contains_key(&pool_id) {
            return Err(EngineError::PoolExists(pool_id));
        }
        self.inner
            .limits
            .check(account.id(), Limit::Pools, data.pools.len(), 1)?;
        let uid = self.new_pool_uid();
        let now = unix_now();
        self.commit(account, || {
            self.pool_record(account, uid, &pool_id, &settings, (now, now))
        })
        .await?;
        let record = self.apply_create_pool(account, &mut data, pool_id, settings, uid, now);
        tracing::info!(account = %account.id(), pool = %record.pool_id, "pool created");
        Ok(record)
    }

    /// A pool's record as it now is, made and last changed at `times`: in cluster mode with
    /// the setting only a cluster uses.
    fn pool_record(
        &self,
        account: &AccountHandle,
        uid: u64,
        pool_id: &PoolId,
        settings: &PoolSettings,
        (created_at, updated_at): (u64, u64),
    ) -> Record {
        let account = account.id().to_string();
        let header = convert::pool_header(uid, pool_id, settings, created_at, updated_at);
        match self.cluster() {
            None => Record::PutPool { account, header },
            Some(_) => Record::PutPoolCluster {
                account,
                header,
                cluster_unavailable: settings.cluster_unavailable.as_str().to_owned(),
            },
        }
    }

    /// The pool `uid` made at `now`: its actor, its admin record and its route.
    pub(super) fn apply_create_pool(
        &self,
        account: &AccountHandle,
        data: &mut AccountData,
        pool_id: PoolId,
        settings: PoolSettings,
        uid: u64,
        now: u64,
    ) -> PoolRecord {
        let pool = self
            .inner
            .placement
            .spawn(PoolState::new(settings.clone()), self.pool_journal(uid));
        let entry = PoolEntry {
            uid,
            settings,
            created_at: now,
            updated_at: now,
            members: BTreeSet::new(),
            addr: pool.addr.clone(),
        };
        let record = entry.record(&pool_id);
        data.pools.insert(pool_id.clone(), entry);
        account.0.routes.write().insert(pool_id, pool);
        record
    }

    /// One pool.
    pub(crate) async fn get_pool(
        &self,
        account: &AccountHandle,
        pool_id: &str,
    ) -> Result<PoolRecord, EngineError> {
        let data = account.0.admin.lock().await;
        let (id, entry) = pool_entry(&data, pool_id)?;
        Ok(entry.record(id))
    }

    /// A page of the account's pools, in id order.
    pub async fn list_pools(
        &self,
        account: &AccountHandle,
        page: Page,
    ) -> Result<Paged<PoolRecord>, EngineError> {
        let data = account.0.admin.lock().await;
        Ok(Paged::of(
            data.pools.iter().map(|(id, entry)| entry.record(id)),
            data.pools.len(),
            page,
        ))
    }

    /// Changes a pool's settings and maybe its id; its numbers and mappings stay.
    pub async fn update_pool(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        update: &PoolUpdate,
    ) -> Result<PoolRecord, EngineError> {
        let mut data = self.admin_lock(account).await?;
        let id = pool_entry(&data, pool_id)?.0.clone();
        let new_id = update.pool_id.clone().unwrap_or_else(|| id.clone());
        if new_id != id && data.pools.contains_key(&new_id) {
            return Err(EngineError::PoolExists(new_id));
        }
        let entry = &data.pools[&id];
        let mut settings = entry.settings.clone();
        update.apply(&mut settings);
        let now = unix_now();
        let times = (entry.created_at, now);
        self.replicate(account, || {
            self.pool_record(account, entry.uid, &new_id, &settings, times)
        })
        .await?;
        let record = self
            .apply_update_pool(account, &mut data, &id, new_id, settings, now)
            .await?;
        tracing::info!(account = %account.id(), pool = %id, now = %record.pool_id, "pool changed");
        Ok(record)
    }

    /// Pool `id` with `settings` and id `new_id` from `now` on. Its actor journals the change
    /// and applies it in its own order; the admin view follows only once it is stored.
    pub(super) async fn apply_update_pool(
        &self,
        account: &AccountHandle,
        data: &mut AccountData,
        id: &PoolId,
        new_id: PoolId,
        settings: PoolSettings,
        now: u64,
    ) -> Result<PoolRecord, EngineError> {
        let entry = &data.pools[id];
        let record = self.record(|| Record::PutPool {
            account: account.id().to_string(),
            header: convert::pool_header(entry.uid, &new_id, &settings, entry.created_at, now),
        });
        let change = SetSettings {
            settings: settings.clone(),
            record,
        };
        change_pool(&entry.addr, id.as_str(), change).await?;
        let mut entry = data.pools.remove(id).expect("looked up above");
        entry.settings = settings;
        entry.updated_at = now;
        let record = entry.record(&new_id);
        if new_id != *id {
            let mut routes = account.0.routes.write();
            if let Some(pool) = routes.remove(id) {
                routes.insert(new_id.clone(), pool);
            }
        }
        data.pools.insert(new_id, entry);
        Ok(record)
    }

    /// Deletes a pool and its mappings; returns it as it was.
    pub async fn delete_pool(
        &self,
        account: &AccountHandle,
        pool_id: &str,
    ) -> Result<PoolRecord, EngineError> {
        let mut data = self.admin_lock(account).await?;
        let (id, entry) = pool_entry(&data, pool_id)?;
        let (id, uid) = (id.clone(), entry.uid);
        self.commit(account, || Record::DeletePool {
            account: account.id().to_string(),
            uid,
        })
        .await?;
        let record = self.apply_delete_pool(account, &mut data, &id).await;
        tracing::info!(account = %account.id(), pool = %id, "pool deleted");
        Ok(record)
    }

    /// Pool `id` gone, with its actor and mappings; the pool as it was.
    pub(super) async fn apply_delete_pool(
        &self,
        account: &AccountHandle,
        data: &mut AccountData,
        id: &PoolId,
    ) -> PoolRecord {
        let entry = data.pools.remove(id).expect("looked up by the caller");
        account.0.routes.write().remove(id);
        // The actor may already be gone at shutdown; the pool is deleted either way.
        let _ = entry.addr.send(Stop).await;
        entry.record(id)
    }

    /// Adds owned numbers to a pool; per number, what happened.
    pub async fn add_numbers(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        numbers: &[Msisdn],
    ) -> Result<Vec<AddOutcome>, EngineError> {
        let mut data = self.admin_lock(account).await?;
        let id = pool_entry(&data, pool_id)?.0.clone();
        let entry = &data.pools[&id];
        let mut joining: Vec<Msisdn> = Vec::new();
        // A number listed twice joins once; the second mention finds it already there.
        let mut seen = BTreeSet::new();
        let outcomes: Vec<AddOutcome> = numbers
            .iter()
            .map(|number| match data.inventory.get(number) {
                None => AddOutcome::NotOwned,
                Some(_) if entry.members.contains(number) || !seen.insert(*number) => {
                    AddOutcome::AlreadyInPool
                }
                Some(_) => {
                    joining.push(*number);
                    AddOutcome::Added
                }
            })
            .collect();
        // All or nothing: a batch that would take the pool past its limit adds none.
        self.inner.limits.check(
            account.id(),
            Limit::NumbersPerPool(id.clone()),
            entry.members.len(),
            joining.len(),
        )?;
        if joining.is_empty() {
            self.barrier().await?;
        } else {
            let now = unix_now();
            let uid = entry.uid;
            self.replicate(account, || Record::AddMembers {
                account: account.id().to_string(),
                uid,
                numbers: joining.iter().map(|n| n.get()).collect(),
                at: now,
            })
            .await?;
            self.apply_add_members(account, &mut data, &id, &joining, now)
                .await?;
        }
        let added = outcomes.iter().filter(|o| **o == AddOutcome::Added).count();
        tracing::info!(account = %account.id(), pool = %pool_id, added, "numbers added to a pool");
        Ok(outcomes)
    }

    /// `joining` (owned, not yet members) in pool `id` from `now` on, journaled by its actor.
    pub(super) async fn apply_add_members(
        &self,
        account: &AccountHandle,
        data: &mut AccountData,
        id: &PoolId,
        joining: &[Msisdn],
        now: u64,
    ) -> Result<(), EngineError> {
        let AccountData {
            inventory, pools, ..
        } = data;
        let entry = pools.get_mut(id).expect("looked up by the caller");
        let owned: Vec<OwnedNumber> = joining
            .iter()
            .filter_map(|n| inventory.get(n).cloned())
            .map(|n| self.metered(n))
            .collect();
        let record = self.record(|| Record::AddMembers {
            account: account.id().to_string(),
            uid: entry.uid,
            numbers: owned.iter().map(|n| n.number.get()).collect(),
            at: now,
        });
        let members: Vec<Msisdn> = owned.iter().map(|n| n.number).collect();
        let change = Upsert {
            numbers: owned,
            record,
        };
        change_pool(&entry.addr, id.as_str(), change).await?;
        entry.members.extend(members);
        entry.updated_at = now;
        Ok(())
    }

    /// Removes numbers from a pool (DESIGN §3.2 rule 6); per number, what happened.
    pub async fn remove_numbers(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        numbers: &[Msisdn],
    ) -> Result<Vec<RemoveOutcome>, EngineError> {
        let mut data = self.admin_lock(account).await?;
        let id = pool_entry(&data, pool_id)?.0.clone();
        let entry = &data.pools[&id];
        let mut leaving: Vec<Msisdn> = Vec::new();
        let mut seen = BTreeSet::new();
        let outcomes: Vec<RemoveOutcome> = numbers
            .iter()
            .map(|number| {
                if entry.members.contains(number) && seen.insert(*number) {
                    leaving.push(*number);
                    RemoveOutcome::Removed
                } else {
                    RemoveOutcome::NotInPool
                }
            })
            .collect();
        if leaving.is_empty() {
            self.barrier().await?;
        } else {
            let now = unix_now();
            let uid = entry.uid;
            self.replicate(account, || Record::RemoveMembers {
                account: account.id().to_string(),
                uid,
                numbers: leaving.iter().map(|n| n.get()).collect(),
                at: now,
            })
            .await?;
            self.apply_remove_members(account, &mut data, &id, &leaving, now)
                .await?;
        }
        let removed = outcomes
            .iter()
            .filter(|o| **o == RemoveOutcome::Removed)
            .count();
        tracing::info!(account = %account.id(), pool = %pool_id, removed, "numbers removed from a pool");
        Ok(outcomes)
    }

    /// `leaving` (members) out of pool `id` from `now` on, journaled by its actor.
    pub(super) async fn apply_remove_members(
        &self,
        account: &AccountHandle,
        data: &mut AccountData,
        id: &PoolId,
        leaving: &[Msisdn],
        now: u64,
    ) -> Result<(), EngineError> {
        let entry = data.pools.get_mut(id).expect("looked up by the caller");
        let record = self.record(|| Record::RemoveMembers {
            account: account.id().to_string(),
            uid: entry.uid,
            numbers: leaving.iter().map(|n| n.get()).collect(),
            at: now,
        });
        let change = Remove {
            numbers: leaving.to_vec(),
            record,
        };
        change_pool(&entry.addr, id.as_str(), change).await?;
        for number in leaving {
            entry.members.remove(number);
        }
        entry.updated_at = now;
        Ok(())
    }

    /// A page of a pool's numbers, in number order.
    pub(crate) async fn pool_numbers(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        page: Page,
    ) -> Result<Paged<Msisdn>, EngineError> {
        let data = account.0.admin.lock().await;
        let (_, entry) = pool_entry(&data, pool_id)?;
        Ok(Paged::of(
            entry.members.iter().copied(),
            entry.members.len(),
            page,
        ))
    }
}

pub(super) fn pool_entry<'a>(
    data: &'a AccountData,
    pool_id: &str,
) -> Result<(&'a PoolId, &'a PoolEntry), EngineError> {
    data.pools
        .get_key_value(pool_id)
        .ok_or_else(|| EngineError::NoSuchPool(pool_id.to_owned()))
}
