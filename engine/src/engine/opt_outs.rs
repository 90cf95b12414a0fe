//! Opt-outs (DESIGN §3.5): per pool, kept by the pool's actor beside its sticky table so that a
//! pick and an opt-out of the same recipient are ordered, journaled and fsynced before the
//! answer, and in snapshots. Deleting a pool drops them with it.

use actix::Addr;

use super::{change_pool, AccountHandle, Engine, EngineError, Limit, Page, Paged, Unavailable};
use crate::actors::messages::{GetOptOut, OptOutPage, SetOptOut, StickyGet};
use crate::actors::PoolActor;
use crate::clock::unix_now;
use crate::durability::convert;
use crate::durability::image::Record;
use numpool_core::model::{Msisdn, OptOut, OptOutReason, PoolId};

/// One change of a recipient's opt-out in a pool.
#[derive(Clone, Copy, Debug)]
pub(super) struct OptOutChange {
    /// The recipient.
    pub(super) to: Msisdn,
    /// Opted out (with when and why), or back in.
    pub(super) opt_out: Option<OptOut>,
    /// Applies only if `to`'s conversation is on this number (a receipt's opt-out, which
    /// concerns the sender it came from).
    pub(super) only_if_mapped_to: Option<Msisdn>,
}

impl OptOutChange {
    /// `to` opted out (`Some`) or back in, whatever its conversation.
    pub(super) fn of(to: Msisdn, opt_out: Option<OptOut>) -> Self {
        OptOutChange {
            to,
            opt_out,
            only_if_mapped_to: None,
        }
    }
}

impl Engine {
    /// Opts `to` out of pool `pool_id` for `reason` (now): whether it was not opted out yet,
    /// and the opt-out as stored. An opt-out already there gets the new time and reason.
    pub(crate) async fn opt_out(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        to: Msisdn,
        reason: OptOutReason,
    ) -> Result<(bool, OptOut), EngineError> {
        let opt_out = OptOut {
            at: unix_now(),
            reason,
        };
        let new = self
            .set_opt_out(account, pool_id, to, Some(opt_out))
            .await?;
        Ok((new, opt_out))
    }

    /// Lifts `to`'s opt-out of pool `pool_id`; whether there was one.
    pub(crate) async fn opt_in(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        to: Msisdn,
    ) -> Result<bool, EngineError> {
        self.set_opt_out(account, pool_id, to, None).await
    }

    async fn set_opt_out(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        to: Msisdn,
        opt_out: Option<OptOut>,
    ) -> Result<bool, EngineError> {
        let addr = super::picks::route(account, pool_id)?;
        self.change_opt_out(account, &addr, pool_id, OptOutChange::of(to, opt_out))
            .await
    }

    /// Sends one opt-out change to a pool's actor, held to `max_opt_outs_per_pool`.
    pub(super) async fn change_opt_out(
        &self,
        account: &AccountHandle,
        addr: &Addr<PoolActor>,
        pool_id: &str,
        change: OptOutChange,
    ) -> Result<bool, EngineError> {
        if self.cluster().is_none() {
            return self.apply_opt_out(account, addr, pool_id, change).await;
        }
        // Held until the change is made, so that it has its place in the account's order.
        let data = self.admin_lock(account).await?;
        let uid = super::pools::pool_entry(&data, pool_id)?.1.uid;
        self.change_opt_out_locked(account, uid, addr, pool_id, change)
            .await
    }

    /// [`Engine::change_opt_out`] for a caller already holding the account's admin lock
    /// (a receipt), of pool `uid`.
    pub(super) async fn change_opt_out_locked(
        &self,
        account: &AccountHandle,
        uid: u64,
        addr: &Addr<PoolActor>,
        pool_id: &str,
        change: OptOutChange,
    ) -> Result<bool, EngineError> {
        if self.cluster().is_some() {
            return self
                .replicate_opt_out(account, uid, addr, pool_id, change)
                .await;
        }
        self.apply_opt_out(account, addr, pool_id, change).await
    }

    /// Cluster mode, under the account's admin lock: the opt-out change of pool `uid`
    /// published on the admin log (so it has its place in the account's order), then made
    /// here. A change that applies only if `to`'s conversation is on a number is decided here
    /// first and published as plain, so every sidecar applies the same.
    async fn replicate_opt_out(
        &self,
        account: &AccountHandle,
        uid: u64,
        addr: &Addr<PoolActor>,
        pool_id: &str,
        change: OptOutChange,
    ) -> Result<bool, EngineError> {
        let OptOutChange { to, opt_out, .. } = change;
        if let Some(sender) = change.only_if_mapped_to {
            let current = addr
                .send(StickyGet(to))
                .await
                .map_err(Unavailable::of(pool_id))?;
            if current.is_none_or(|c| c.sender != sender) {
                return Ok(false);
            }
        }
        self.replicate(account, || match &opt_out {
            Some(opt_out) => Record::OptOutPut {
                uid,
                opt_out: convert::opt_out_image(to, opt_out),
            },
            None => Record::OptOutRemove { uid, to: to.get() },
        })
        .await?;
        self.apply_opt_out(account, addr, pool_id, OptOutChange::of(to, opt_out))
            .await
    }

    /// The opt-out change made by the pool's actor, held to `max_opt_outs_per_pool`.
    pub(super) async fn apply_opt_out(
        &self,
        account: &AccountHandle,
        addr: &Addr<PoolActor>,
        pool_id: &str,
        change: OptOutChange,
    ) -> Result<bool, EngineError> {
        let limits = &self.inner.limits;
        let change = SetOptOut {
            to: change.to,
            opt_out: change.opt_out,
            only_if_mapped_to: change.only_if_mapped_to,
            max: limits.opt_outs_per_pool,
        };
        match change_pool(addr, pool_id, change).await? {
            Ok(changed) => Ok(changed),
            Err(full) => {
                let pool = PoolId::new(pool_id).expect("a routed pool id is valid");
                let limit = Limit::OptOutsPerPool(pool);
                Err(limits
                    .check(account.id(), limit, full.held, 1)
                    .expect_err("the actor holds at least the limit")
                    .into())
            }
        }
    }

    /// `to`'s opt-out of pool `pool_id`, if any.
    pub(crate) async fn opted_out(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        to: Msisdn,
    ) -> Result<Option<OptOut>, EngineError> {
        let addr = super::picks::route(account, pool_id)?;
        Ok(addr
            .send(GetOptOut(to))
            .await
            .map_err(Unavailable::of(pool_id))?)
    }

    /// A page of pool `pool_id`'s opt-outs, in recipient order.
    pub(crate) async fn opt_outs(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        page: Page,
    ) -> Result<Paged<(Msisdn, OptOut)>, EngineError> {
        let addr = super::picks::route(account, pool_id)?;
        let ask = OptOutPage {
            skip: page.offset,
            take: page.limit,
        };
        let (items, total) = addr.send(ask).await.map_err(Unavailable::of(pool_id))?;
        Ok(Paged { items, total })
    }
}
