//! Sticky mappings in cluster mode (DESIGN §10): a pick that makes a new mapping claims it in
//! the cluster's bucket before it is answered, and a claim that loses adopts the winner's
//! sender; a watch of the bucket keeps every sidecar's table warm with what the others
//! committed, so a sticky hit never leaves the process.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use actix::{Addr, Handler, MailboxError, Message, WeakAddr};
use bytes::Bytes;
use futures_util::future::join_all;
use futures_util::StreamExt;
use numpool_cluster::{Claim, ClusterError, StickyChange, StickyEntry};

use super::picks::PickFailure;
use super::{AccountHandle, Engine};
use crate::actors::messages::{Adopt, StickyDel, Withdraw};
use crate::actors::PoolActor;
use crate::clock::unix_now_u32;
use crate::cluster::pending::{self, ClaimKey};
use crate::cluster::{ClusterLink, Unreconciled};
use numpool_core::model::{AccountId, Msisdn, OutagePolicy};
use numpool_core::select::{Conversation, Pick, PickRequest, Reason, Sender};

/// Claims one first contact tries before it gives up: each lost round means another writer
/// changed the key meanwhile (or a read lagged the leader).
const CLAIM_ROUNDS: usize = 8;

/// What a claim needs of a pool.
#[derive(Clone)]
pub(crate) struct ClaimPool {
    /// Its uid, in the key.
    uid: u64,
    /// Its actor, to adopt or withdraw.
    addr: Addr<PoolActor>,
    /// Its sticky TTL, as the key's (`None`: never expires).
    ttl: Option<Duration>,
    /// Whether a first contact the cluster cannot take is answered locally and claimed later
    /// (`cluster_unavailable = "local"`).
    local: bool,
}

/// A mapping's key in the bucket: `{account token}.{pool uid}.{recipient}`.
pub(super) fn key(account: &AccountHandle, uid: u64, to: Msisdn) -> String {
    format!(
        "{}.{uid}.{to}",
        numpool_cluster::token(account.id().as_str())
    )
}

/// A mapping's value: its sender and the time it was made (12 bytes, little-endian).
fn value(sender: Msisdn, since: u32) -> Bytes {
    let mut bytes = Vec::with_capacity(12);
    bytes.extend_from_slice(&sender.get().to_le_bytes());
    bytes.extend_from_slice(&since.to_le_bytes());
    bytes.into()
}

/// The sender and `since` of a value; `None` for bytes no sidecar writes.
pub(super) fn parse_value(bytes: &[u8]) -> Option<(Msisdn, u32)> {
    let sender = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?);
    let since = u32::from_le_bytes(bytes.get(8..12)?.try_into().ok()?);
    Some((Msisdn::from_u64(sender).ok()?, since))
}

impl Engine {
    /// Cluster mode: turns the new mappings among a batch's answers into committed ones (each
    /// claimed, or the winner adopted), and makes sticky hits on a mapping still being
    /// claimed wait for its outcome. A no-op single-node, and for a batch of plain hits while
    /// no claim is in flight.
    pub(super) async fn settle_claims(
        &self,
        account: &AccountHandle,
        requests: &[(&str, PickRequest<'_>)],
        results: &mut [Result<Pick, PickFailure>],
    ) {
        let Some(link) = self.cluster() else {
            return;
        };
        let is_new = |r: &Result<Pick, PickFailure>| matches!(r, Ok(p) if p.reason != Reason::Sticky && matches!(p.sender, Sender::Number(_)));
        if link.pending.is_empty() && !results.iter().any(is_new) {
            return;
        }
        let mut pools: Vec<(&str, Option<ClaimPool>)> = Vec::new();
        let mut claims = Vec::new();
        for (position, ((pool_id, request), result)) in
            requests.iter().zip(results.iter()).enumerate()
        {
            let Ok(Pick {
                sender: Sender::Number(sender),
                reason,
                ..
            }) = result
            else {
                continue;
            };
            let claim_key: ClaimKey = (
                Arc::from(account.id().as_str()),
                Arc::from(*pool_id),
                request.to,
            );
            if *reason == Reason::Sticky {
                if let Some(rx) = link.pending.waiting(&claim_key) {
                    claims.push(
                        Box::pin(async move { (position, pending::outcome(rx).await) })
                            as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>>,
                    );
                }
                continue;
            }
            let pool = match pools.iter().find(|(id, _)| id == pool_id) {
                Some((_, pool)) => pool.clone(),
                None => {
                    let pool = self.claim_pool(account, pool_id).await;
                    pools.push((pool_id, pool.clone()));
                    pool
                }
            };
            // A pool that is not predictable makes no mapping.
            let Some(pool) = pool else { continue };
            let (link, sender, to) = (link.clone(), *sender, request.to);
            let key = key(account, pool.uid, to);
            claims.push(Box::pin(async move {
                (
                    position,
                    claim(&link, claim_key, &key, &pool, to, sender, false).await,
                )
            }));
        }
        for (position, outcome) in join_all(claims).await {
            let result = &mut results[position];
            match (outcome, result.as_mut()) {
                (Some(winner), Ok(pick)) if pick.sender != Sender::Number(winner) => {
                    pick.sender = Sender::Number(winner);
                    pick.reason = Reason::Sticky;
                }
                (Some(_), _) => {}
                (None, _) => *result = Err(PickFailure::ClusterUnavailable),
            }
        }
    }

    /// The uid, actor and TTL of a predictable pool; `None` for a pool that is not (or gone).
    async fn claim_pool(&self, account: &AccountHandle, pool_id: &str) -> Option<ClaimPool> {
        let data = account.0.admin.lock().await;
        let entry = data.pools.get(pool_id)?;
        let settings = &entry.settings;
        settings.predictable_sender_preferred.then(|| ClaimPool {
            uid: entry.uid,
            addr: entry.addr.clone(),
            ttl: (settings.sticky_ttl_seconds > 0)
                .then(|| Duration::from_secs(settings.sticky_ttl_seconds.into())),
            local: settings.cluster_unavailable == OutagePolicy::Local,
        })
    }

    /// Cluster mode, `STICKY.DEL`: the mapping deleted in the bucket too, so every sidecar
    /// drops it. [`super::EngineError::ClusterUnavailable`] when the bucket did not answer.
    pub(super) async fn delete_claim(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        to: Msisdn,
    ) -> Result<(), super::EngineError> {
        let Some(link) = self.cluster() else {
            return Ok(());
        };
        let uid = {
            let data = account.0.admin.lock().await;
            data.pools.get(pool_id).map(|entry| entry.uid)
        };
        let Some(uid) = uid else {
            return Ok(());
        };
        link.store
            .sticky
            .delete(&key(account, uid, to))
            .await
            .map_err(|err| link.unavailable(&err))
    }

    /// Keeps the local tables warm with the bucket, for ever: every mapping it holds, then
    /// every change. Starts once the admin log is caught up, so that the pools exist.
    pub(super) async fn watch_sticky(&self) {
        let link = self.cluster().expect("joined").clone();
        while !link.admin_current.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        loop {
            if let Err(err) = self.watch_once(&link).await {
                tracing::warn!(
                    error = &err as &dyn std::error::Error,
                    "sticky watch interrupted"
                );
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn watch_once(&self, link: &ClusterLink) -> Result<(), ClusterError> {
        let end = link.store.sticky.last_revision().await?;
        if end == 0 {
            link.sticky_current.store(true, Ordering::Release);
        }
        let mut changes = std::pin::pin!(link.store.sticky.watch().await?);
        let mut actors = PoolActors::new();
        while let Some(change) = changes.next().await {
            let change = change?;
            self.apply_sticky_change(link, &change, &mut actors).await;
            if change.pending == 0 || change.revision >= end {
                link.sticky_current.store(true, Ordering::Release);
            }
        }
        Ok(())
    }

    /// One change the watch saw, into the pool's table: a mapping adopted, or dropped.
    async fn apply_sticky_change(
        &self,
        link: &ClusterLink,
        change: &StickyChange,
        actors: &mut PoolActors,
    ) {
        let mut parts = change.key.splitn(3, '.');
        let (Some(token), Some(uid), Some(to)) = (parts.next(), parts.next(), parts.next()) else {
            return;
        };
        let (Some(account), Ok(uid), Ok(to)) = (
            link.accounts_by_token
                .get(token)
                .and_then(|id| self.account(id)),
            uid.parse::<u64>(),
            to.parse::<Msisdn>(),
        ) else {
            return;
        };
        let key = (account.id().clone(), uid);
        let addr = match actors.get(&key).and_then(WeakAddr::upgrade) {
            Some(addr) => Some(addr),
            None => {
                let data = account.0.admin.lock().await;
                data.pool_id_of(uid).map(|id| data.pools[&id].addr.clone())
            }
        };
        // A mapping of a pool deleted meanwhile goes with it.
        let Some(addr) = addr else { return };
        let wait = !link.sticky_current.load(Ordering::Acquire);
        let sent = match change.value.as_deref().and_then(parse_value) {
            Some((sender, since)) => {
                deliver(&addr, Adopt(conversation(to, sender, since)), wait).await
            }
            None => deliver(&addr, StickyDel(to), wait).await,
        };
        match sent {
            Ok(()) => actors.insert(key, addr.downgrade()),
            // Stopped: the pool was deleted.
            Err(_) => actors.remove(&key),
        };
    }
}

/// Hands a change the watch saw to its pool's actor. While the watch catches up, the actor's
/// answer is awaited, so that a sidecar is ready only once its tables hold what the bucket held.
/// After that the change is only put in the mailbox: the mailbox keeps the order of one pool's
/// changes, and the watch is spared a wake-up per change on every sidecar (a claim's cost is
/// its hand-offs between threads: docs/benchmarks.md, P8). `Err`: the actor stopped.
async fn deliver<M>(addr: &Addr<PoolActor>, message: M, wait: bool) -> Result<(), MailboxError>
where
    M: Message + Send + 'static,
    M::Result: Send,
    PoolActor: Handler<M>,
{
    if wait {
        addr.send(message).await.map(drop)
    } else if addr.connected() {
        addr.do_send(message);
        Ok(())
    } else {
        Err(MailboxError::Closed)
    }
}

/// The watch's pool actors by account and pool uid, found under the account's admin lock at a
/// pool's first change and not again while it lives: the lock is every admin change's, and
/// finding a uid walks the account's pools. Weak, so that a deleted pool's actor goes.
type PoolActors = HashMap<(AccountId, u64), WeakAddr<PoolActor>>;

/// A mapping as the bucket holds it, used now.
fn conversation(to: Msisdn, sender: Msisdn, since: u32) -> Conversation {
    Conversation {
        to,
        sender,
        since,
        last_use: unix_now_u32(),
    }
}

/// Claims `to` → `proposed` in `pool` (its actor already holds the tentative mapping): the
/// sender the cluster committed, ours or a winner's, now in the actor's table too. When the
/// bucket did not answer: in a pool that answers locally, `proposed`, kept to be claimed once
/// the cluster is back; else `None`, the tentative mapping withdrawn. `reconciling` when this
/// is that later claim: a winner other than ours is then a conflict.
async fn claim(
    link: &ClusterLink,
    claim_key: ClaimKey,
    key: &str,
    pool: &ClaimPool,
    to: Msisdn,
    proposed: Msisdn,
    reconciling: bool,
) -> Option<Msisdn> {
    let guard = match link.pending.begin(claim_key) {
        Ok(guard) => guard,
        // Another pick of this recipient is claiming it: its outcome is ours.
        Err(rx) => return pending::outcome(rx).await,
    };
    let since = unix_now_u32();
    let mut expected = 0;
    for _ in 0..CLAIM_ROUNDS {
        let claimed = link
            .store
            .sticky
            .claim(key, value(proposed, since), expected, pool.ttl)
            .await;
        match claimed {
            // The actor holds the mapping already (tentatively), and the watch brings it
            // this write too: nothing to tell it before the answer.
            Ok(Claim::Won(_)) => {
                if reconciling {
                    link.reconciled.fetch_add(1, Ordering::Relaxed);
                }
                guard.resolve(Some(proposed));
                return Some(proposed);
            }
            Ok(Claim::Lost) => match link.store.sticky.entry(key).await {
                Ok(Some(StickyEntry {
                    value: Some(bytes),
                    revision,
                })) => {
                    let Some((winner, since)) = parse_value(&bytes) else {
                        expected = revision;
                        continue;
                    };
                    let adopted = pool.addr.send(Adopt(conversation(to, winner, since))).await;
                    if adopted == Ok(true) {
                        link.claims_lost.fetch_add(1, Ordering::Relaxed);
                        if reconciling {
                            link.reconciled.fetch_add(1, Ordering::Relaxed);
                            if winner != proposed {
                                link.reconcile_conflicts.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        guard.resolve(Some(winner));
                        return Some(winner);
                    }
                    // The winner's sender would not keep the conversation here (it left the
                    // pool, is suspended, or unhealthy in a pool that acts on it): replace the
                    // mapping, on the revision seen.
                    expected = revision;
                }
                // Deleted or expired: a create over its marker expects the marker's revision.
                Ok(Some(StickyEntry {
                    value: None,
                    revision,
                })) => expected = revision,
                // Nothing there although ours lost: the winner's key went meanwhile (deleted,
                // and its marker's time ran out). Claim again.
                Ok(None) => tokio::time::sleep(Duration::from_millis(2)).await,
                Err(err) => {
                    link.unavailable(&err);
                    break;
                }
            },
            Err(err) => {
                link.unavailable(&err);
                break;
            }
        }
    }
    if pool.local {
        // Answered locally; claimed by the reconciliation once the cluster answers again.
        link.unreconciled.lock().push(Unreconciled {
            claim_key: guard.key().clone(),
            key: key.to_owned(),
            pool: pool.clone(),
            sender: proposed,
        });
        guard.resolve(Some(proposed));
        return Some(proposed);
    }
    let _ = pool
        .addr
        .send(Withdraw {
            to,
            sender: proposed,
        })
        .await;
    None
}

impl Engine {
    /// Claims the first contacts answered locally during an outage, once the cluster answers:
    /// each one wins, or adopts the winner (a conflict, counted). One that still cannot be
    /// claimed waits for the next round.
    pub(super) async fn reconcile(&self) {
        let Some(link) = self.cluster() else { return };
        let waiting = std::mem::take(&mut *link.unreconciled.lock());
        for local in waiting {
            let to = local.claim_key.2;
            claim(
                link,
                local.claim_key,
                &local.key,
                &local.pool,
                to,
                local.sender,
                true,
            )
            .await;
        }
    }
}
