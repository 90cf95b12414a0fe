//! Cluster mode: the coarse refresh of sticky mappings' last use in the bucket (DESIGN §10). A
//! key with a TTL expires that long after it was last written, while the local tables count a
//! pool's TTL from a mapping's last use. So each sidecar writes again, every quarter of a
//! pool's TTL, the mappings of the pool that it has used since its previous pass. A key then
//! expires between one and one and a quarter TTLs after the conversation's last use on any
//! sidecar, and a conversation in use never expires.

use std::sync::atomic::Ordering;
use std::time::Duration;

use actix::Addr;
use futures_util::future::join_all;
use numpool_cluster::StickyEntry;
use numpool_core::select::Conversation;
use numpool_core::sticky::SHARDS;
use rustc_hash::FxHashMap;

use super::claims::{key, parse_value};
use super::{AccountHandle, Engine};
use crate::actors::messages::CopyShard;
use crate::actors::PoolActor;
use crate::clock::unix_now_u32;
use crate::cluster::ClusterLink;

/// How often the refresh looks for pools whose pass is due.
const TICK: Duration = Duration::from_secs(1);

/// Refreshes in flight at once.
const AT_ONCE: usize = 64;

/// A pool whose mappings expire.
struct TtlPool {
    /// Its account, in the keys.
    account: AccountHandle,
    /// Its uid, in the keys.
    uid: u64,
    /// Its actor, for its mappings.
    addr: Addr<PoolActor>,
    /// Its `sticky_ttl_seconds`.
    ttl: u32,
}

/// When a pool's previous pass began and when its next is due (Unix seconds).
#[derive(Clone, Copy)]
struct Pass {
    /// The previous pass's start: mappings used since are refreshed by the next.
    began: u32,
    /// When the next pass is due.
    due: u32,
}

impl Engine {
    /// Refreshes the mappings this sidecar uses, for the process's life.
    pub(super) async fn refresh_sticky(&self) {
        let link = self.cluster().expect("joined").clone();
        let mut passes: FxHashMap<u64, Pass> = FxHashMap::default();
        let mut ticks = tokio::time::interval(TICK);
        loop {
            ticks.tick().await;
            let now = unix_now_u32();
            for pool in self.ttl_pools().await {
                let every = (pool.ttl / 4).max(1);
                let pass = passes.entry(pool.uid).or_insert(Pass {
                    began: now,
                    due: now + every,
                });
                if now < pass.due {
                    continue;
                }
                let used_since = pass.began;
                *pass = Pass {
                    began: now,
                    due: now + every,
                };
                self.refresh_pool(&link, &pool, used_since).await;
            }
        }
    }

    /// Every predictable pool with a sticky TTL.
    async fn ttl_pools(&self) -> Vec<TtlPool> {
        let mut pools = Vec::new();
        for state in self.inner.accounts.values() {
            let data = state.admin.lock().await;
            pools.extend(data.pools.values().filter_map(|entry| {
                let settings = &entry.settings;
                (settings.predictable_sender_preferred && settings.sticky_ttl_seconds > 0).then(
                    || TtlPool {
                        account: AccountHandle(state.clone()),
                        uid: entry.uid,
                        addr: entry.addr.clone(),
                        ttl: settings.sticky_ttl_seconds,
                    },
                )
            }));
        }
        pools
    }

    /// Writes again each mapping of `pool` used here since `used_since` (other than by the pick
    /// that made it), if the bucket still holds it with the same sender.
    async fn refresh_pool(&self, link: &ClusterLink, pool: &TtlPool, used_since: u32) {
        let mut used: Vec<Conversation> = Vec::new();
        for shard in 0..SHARDS {
            // A pool deleted meanwhile has no actor: nothing to refresh.
            let Ok(entries) = pool.addr.send(CopyShard(shard)).await else {
                return;
            };
            used.extend(
                entries
                    .into_iter()
                    .filter(|c| c.last_use >= used_since && c.last_use > c.since.saturating_add(1)),
            );
        }
        let ttl = Duration::from_secs(pool.ttl.into());
        for chunk in used.chunks(AT_ONCE) {
            join_all(chunk.iter().map(|c| async move {
                let key = key(&pool.account, pool.uid, c.to);
                let Ok(Some(StickyEntry {
                    value: Some(value),
                    revision,
                })) = link.store.sticky.entry(&key).await
                else {
                    return;
                };
                if parse_value(&value).map(|(sender, _)| sender) != Some(c.sender) {
                    // Changed elsewhere: the watch brings the change.
                    return;
                }
                // The same bytes again: the TTL starts over. Losing means another sidecar
                // wrote it meanwhile, which did the same.
                if let Ok(numpool_cluster::Claim::Won(_)) = link
                    .store
                    .sticky
                    .claim(&key, value, revision, Some(ttl))
                    .await
                {
                    link.refreshed.fetch_add(1, Ordering::Relaxed);
                }
            }))
            .await;
        }
    }
}
