//! The account's inventory of owned numbers (DESIGN §3.1, §5 extensions).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;

use super::{change_pool, AccountData, AccountHandle, Engine, EngineError, Limit, Page, Paged};
use crate::actors::messages::{Remove, Upsert};
use crate::clock::unix_now;
use crate::durability::convert;
use crate::durability::image::Record;
use numpool_core::model::{Msisdn, NumberPatch, OwnedNumber, PoolId};

impl Engine {
    /// Adds numbers to the inventory, or replaces the details of numbers already owned (and
    /// passes the new details to every pool holding them). Per number, whether it was new.
    pub async fn upsert_numbers(
        &self,
        account: &AccountHandle,
        numbers: Vec<OwnedNumber>,
    ) -> Result<Vec<bool>, EngineError> {
        let mut data = self.admin_lock(account).await?;
        self.upsert_locked(account, &mut data, numbers).await
    }

    /// Changes the details `patch` names of an owned number (REST `PATCH`), under the same
    /// lock as the read of its current details; the number as it now is.
    pub(crate) async fn patch_number(
        &self,
        account: &AccountHandle,
        number: Msisdn,
        patch: &NumberPatch,
    ) -> Result<OwnedNumber, EngineError> {
        let mut data = self.admin_lock(account).await?;
        let patched = data
            .inventory
            .get(&number)
            .ok_or(EngineError::NumberNotOwned(number))?
            .patched(patch);
        self.upsert_locked(account, &mut data, vec![patched.clone()])
            .await?;
        Ok(patched)
    }

    /// [`Engine::upsert_numbers`] under the account's admin lock, held by the caller.
    async fn upsert_locked(
        &self,
        account: &AccountHandle,
        data: &mut AccountData,
        numbers: Vec<OwnedNumber>,
    ) -> Result<Vec<bool>, EngineError> {
        // All or nothing: numbers not yet owned count once each, however often listed.
        let new: BTreeSet<Msisdn> = numbers
            .iter()
            .map(|n| n.number)
            .filter(|n| !data.inventory.contains_key(n))
            .collect();
        self.inner.limits.check(
            account.id(),
            Limit::Numbers,
            data.inventory.len(),
            new.len(),
        )?;
        self.commit(account, || Record::PutNumbers {
            account: account.id().to_string(),
            numbers: numbers.iter().map(convert::number_image).collect(),
        })
        .await?;
        let created = self.apply_upsert(account, data, numbers).await?;
        tracing::info!(account = %account.id(), numbers = created.len(), "inventory numbers upserted");
        Ok(created)
    }

    /// `numbers` as they now are, in the inventory and in every pool holding them; per number,
    /// whether it was new.
    pub(super) async fn apply_upsert(
        &self,
        account: &AccountHandle,
        data: &mut AccountData,
        numbers: Vec<OwnedNumber>,
    ) -> Result<Vec<bool>, EngineError> {
        let state = &account.0;
        let mut changed_in_pools: BTreeMap<PoolId, Vec<OwnedNumber>> = BTreeMap::new();
        let created: Vec<bool> = numbers
            .into_iter()
            .map(|number| {
                for (pool_id, entry) in &data.pools {
                    if entry.members.contains(&number.number) {
                        changed_in_pools
                            .entry(pool_id.clone())
                            .or_default()
                            .push(self.metered(number.clone()));
                    }
                }
                data.inventory.insert(number.number, number).is_none()
            })
            .collect();
        state
            .owned
            .store(data.inventory.len() as u64, Ordering::Relaxed);
        for (pool_id, numbers) in changed_in_pools {
            let entry = &data.pools[&pool_id];
            change_pool(
                &entry.addr,
                pool_id.as_str(),
                Upsert {
                    numbers,
                    record: None,
                },
            )
            .await?;
        }
        Ok(created)
    }

    /// One owned number.
    pub(crate) async fn get_number(
        &self,
        account: &AccountHandle,
        number: Msisdn,
    ) -> Result<OwnedNumber, EngineError> {
        let data = account.0.admin.lock().await;
        data.inventory
            .get(&number)
            .cloned()
            .ok_or(EngineError::NumberNotOwned(number))
    }

    /// A page of the inventory, in number order.
    pub async fn list_numbers(
        &self,
        account: &AccountHandle,
        page: Page,
    ) -> Result<Paged<OwnedNumber>, EngineError> {
        let data = account.0.admin.lock().await;
        Ok(Paged::of(
            data.inventory.values().cloned(),
            data.inventory.len(),
            page,
        ))
    }

    /// Releases a number: it leaves the inventory and every pool that held it (whose mappings
    /// to it are invalidated, DESIGN §3.2 rule 6).
    pub async fn delete_number(
        &self,
        account: &AccountHandle,
        number: Msisdn,
    ) -> Result<OwnedNumber, EngineError> {
        let mut data = self.admin_lock(account).await?;
        if !data.inventory.contains_key(&number) {
            return Err(EngineError::NumberNotOwned(number));
        }
        self.replicate(account, || Record::DeleteNumber {
            account: account.id().to_string(),
            number: number.get(),
        })
        .await?;
        let owned = self.apply_delete_number(account, &mut data, number).await?;
        tracing::info!(account = %account.id(), %number, "inventory number released");
        Ok(owned)
    }

    /// `number` out of the inventory and every pool; the number as it was.
    pub(super) async fn apply_delete_number(
        &self,
        account: &AccountHandle,
        data: &mut AccountData,
        number: Msisdn,
    ) -> Result<OwnedNumber, EngineError> {
        let state = &account.0;
        // Each pool journals the number's departure in its own order (after any pick it already
        // made with it), then the inventory's record follows.
        self.remove_from_every_pool(account, data, number).await?;
        self.journal(|| Record::DeleteNumber {
            account: account.id().to_string(),
            number: number.get(),
        })
        .await?;
        let owned = data.inventory.remove(&number).expect("checked above");
        data.feedback.release(number);
        state.delivery.release(number);
        state
            .owned
            .store(data.inventory.len() as u64, Ordering::Relaxed);
        Ok(owned)
    }
}

impl Engine {
    /// Takes `number` out of every pool of the account that holds it, each pool's actor
    /// journaling the change itself.
    async fn remove_from_every_pool(
        &self,
        account: &AccountHandle,
        data: &mut AccountData,
        number: Msisdn,
    ) -> Result<(), EngineError> {
        let now = unix_now();
        for (pool_id, entry) in data.pools.iter_mut() {
            if !entry.members.contains(&number) {
                continue;
            }
            let record = self.record(|| Record::RemoveMembers {
                account: account.id().to_string(),
                uid: entry.uid,
                numbers: vec![number.get()],
                at: now,
            });
            let change = Remove {
                numbers: vec![number],
                record,
            };
            change_pool(&entry.addr, pool_id.as_str(), change).await?;
            entry.members.remove(&number);
            entry.updated_at = now;
        }
        Ok(())
    }
}
