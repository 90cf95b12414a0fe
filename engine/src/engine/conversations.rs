//! Conversations across an account's pools: how many each pool still has on an owned number
//! (DESIGN §3.4: an operator draining a number watches them go), one number as its pool sees
//! it (conversations and health under the pool's thresholds), and which pools hold the
//! conversation between one of its numbers and a recipient (§3.6, `RESOLVE`: where an inbound
//! reply belongs). Each pool's actor counts its mappings per number as they come and go, so
//! either answer is one read per pool holding the number, never a scan that would stall picks.
//! A pool's conversations are listed a page at a time, one sticky shard per actor message.

use std::collections::BTreeMap;

use super::pools::pool_entry;
use super::{AccountHandle, Engine, EngineError, Page, Paged, Unavailable};
use crate::actors::messages::{ConversationSlice, Conversations, Member, MemberView, StickyGet};
use numpool_core::model::{Msisdn, PoolId};
use numpool_core::select::Conversation;
use numpool_core::sticky::SHARDS;

/// Conversations per pool holding a number; pools without the number are absent.
pub(crate) type PerPool = BTreeMap<PoolId, u32>;

impl Engine {
    /// For each of `numbers`, the conversations each pool holding it has on it: one message
    /// per pool that holds any of them, sent before any is awaited.
    pub(crate) async fn conversations(
        &self,
        account: &AccountHandle,
        numbers: &[Msisdn],
    ) -> Result<Vec<PerPool>, EngineError> {
        let data = account.0.admin.lock().await;
        let asks: Vec<_> = data
            .pools
            .iter()
            .filter_map(|(pool_id, entry)| {
                let held: Vec<Msisdn> = numbers
                    .iter()
                    .copied()
                    .filter(|n| entry.members.contains(n))
                    .collect();
                (!held.is_empty()).then(|| {
                    let answer = entry.addr.send(Conversations(held.clone()));
                    (pool_id, held, answer)
                })
            })
            .collect();
        let mut per_number: BTreeMap<Msisdn, PerPool> = BTreeMap::new();
        for (pool_id, held, answer) in asks {
            let counts = answer.await.map_err(Unavailable::of(pool_id.as_str()))?;
            for (number, count) in held.into_iter().zip(counts) {
                per_number
                    .entry(number)
                    .or_default()
                    .insert(pool_id.clone(), count);
            }
        }
        Ok(numbers
            .iter()
            .map(|n| per_number.remove(n).unwrap_or_default())
            .collect())
    }
}

impl Engine {
    /// The pools (in id order) whose sticky table maps `theirs` to `ours`: the conversations an
    /// inbound message from `theirs` to `ours` belongs to. Only pools holding `ours` are asked,
    /// all before any answer is awaited, and the admin lock is let go before the answers come.
    pub(crate) async fn resolve(
        &self,
        account: &AccountHandle,
        ours: Msisdn,
        theirs: Msisdn,
    ) -> Result<Vec<PoolId>, EngineError> {
        let asks: Vec<_> = {
            let data = account.0.admin.lock().await;
            data.pools
                .iter()
                .filter(|(_, entry)| entry.members.contains(&ours))
                .map(|(pool_id, entry)| (pool_id.clone(), entry.addr.send(StickyGet(theirs))))
                .collect()
        };
        let mut pools = Vec::new();
        for (pool_id, answer) in asks {
            let sender = answer.await.map_err(Unavailable::of(pool_id.as_str()))?;
            if sender.is_some_and(|c| c.sender == ours) {
                pools.push(pool_id);
            }
        }
        Ok(pools)
    }
}

impl Engine {
    /// `number` as pool `pool_id` sees it: `None` when the pool does not hold it. The admin
    /// lock is let go before the answer comes.
    pub(crate) async fn pool_member(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        number: Msisdn,
    ) -> Result<Option<MemberView>, EngineError> {
        let answer = {
            let data = account.0.admin.lock().await;
            let (_, entry) = pool_entry(&data, pool_id)?;
            entry.addr.send(Member(number))
        };
        Ok(answer.await.map_err(Unavailable::of(pool_id))?)
    }
}

impl Engine {
    /// A page of pool `pool_id`'s live conversations (only those on `sender`, if given), in
    /// the table's stable order: shard by shard (a shard is a range of recipient hashes), by
    /// recipient within a shard. Every shard is asked in turn, one message each, to count its
    /// share of the total; only the shards the page falls in return entries.
    pub(crate) async fn conversation_page(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        sender: Option<Msisdn>,
        page: Page,
    ) -> Result<Paged<Conversation>, EngineError> {
        let addr = super::picks::route(account, pool_id)?;
        let (mut skip, mut take) = (page.offset, page.limit);
        let mut items = Vec::new();
        let mut total = 0;
        for shard in 0..SHARDS {
            let ask = ConversationSlice {
                shard,
                sender,
                skip,
                take,
            };
            let (slice, count) = addr.send(ask).await.map_err(Unavailable::of(pool_id))?;
            total += count;
            skip = skip.saturating_sub(count);
            take -= slice.len();
            items.extend(slice);
        }
        Ok(Paged { items, total })
    }
}
