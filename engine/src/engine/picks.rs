//! Picks and sticky inspection (DESIGN §3.2, §4): the hot path. A pick reads the account's route
//! table for a moment and sends one message to the pool's actor; a batch sends one message per
//! pool, however many picks it holds.

use actix::Addr;
use thiserror::Error;

use super::{change_pool, AccountHandle, Engine, EngineError, Unavailable};
use crate::actors::messages::{PickBatch, PickJob, PickRefusal, StickyDel, StickyGet};
use crate::actors::PoolActor;
use crate::durability::StorageFailure;
use numpool_core::model::Msisdn;
use numpool_core::select::{Conversation, Pick, PickError, PickRequest};

/// Why a pick produced no sender.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PickFailure {
    /// The account has no such pool.
    #[error("pool '{0}' not found")]
    NoSuchPool(String),
    /// The pool answered with an error or rejection.
    #[error(transparent)]
    Pick(#[from] PickError),
    /// The pool's actor did not answer.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// The pick needed a record stored that could not be (DESIGN §6): nothing was recorded.
    #[error(transparent)]
    Storage(StorageFailure),
    /// Cluster mode: a new conversation needs the cluster, which did not answer (DESIGN §10).
    #[error("the cluster is unavailable")]
    ClusterUnavailable,
}

impl From<PickRefusal> for PickFailure {
    fn from(refusal: PickRefusal) -> Self {
        match refusal {
            PickRefusal::Pick(err) => PickFailure::Pick(err),
            PickRefusal::Storage(failure) => PickFailure::Storage(failure),
        }
    }
}

/// The picks of one batch that go to one pool: one actor message.
struct PoolGroup<'a> {
    /// The pool they name.
    pool_id: &'a str,
    /// How many there are: the vectors below are allocated once, at this size.
    size: usize,
    /// Where each sits in the batch, so answers go back in request order.
    positions: Vec<usize>,
    /// Their owned copies, for the actor.
    jobs: Vec<PickJob>,
}

impl Engine {
    /// One pick.
    pub async fn pick(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        request: PickRequest<'_>,
    ) -> Result<Pick, PickFailure> {
        let mut results = self.pick_batch(account, &[(pool_id, request)]).await;
        results.pop().expect("one result per request")
    }

    /// Many picks, answered in order, one result each: one actor message per distinct pool in
    /// the batch. The requests are walked twice, first to size each pool's group, so that a
    /// batch allocates per pool and per batch, never per pick.
    pub async fn pick_batch<'a>(
        &self,
        account: &AccountHandle,
        requests: &[(&'a str, PickRequest<'a>)],
    ) -> Vec<Result<Pick, PickFailure>> {
        // Group by pool. Batches usually name one pool or a few, so a linear scan beats hashing.
        let mut groups: Vec<PoolGroup<'a>> = Vec::new();
        for &(pool_id, _) in requests {
            match groups.iter_mut().find(|g| g.pool_id == pool_id) {
                Some(group) => group.size += 1,
                None => groups.push(PoolGroup {
                    pool_id,
                    size: 1,
                    positions: Vec::new(),
                    jobs: Vec::new(),
                }),
            }
        }
        for group in &mut groups {
            group.positions.reserve_exact(group.size);
            group.jobs.reserve_exact(group.size);
        }
        for (position, (pool_id, request)) in requests.iter().enumerate() {
            let group = groups
                .iter_mut()
                .find(|g| g.pool_id == *pool_id)
                .expect("every pool was grouped in the first walk");
            group.positions.push(position);
            group.jobs.push(PickJob::of(request));
        }
        let count = requests.len();
        // Enqueue every group's message before awaiting any, so pools on different arbiters
        // work in parallel.
        let mut pending = Vec::with_capacity(groups.len());
        {
            let routes = account.0.routes.read();
            for group in groups {
                let request = routes
                    .get(group.pool_id)
                    .map(|pool| pool.addr.send(PickBatch(group.jobs)));
                pending.push((group.pool_id, group.positions, request));
            }
        }
        let mut results: Vec<Option<Result<Pick, PickFailure>>> =
            (0..count).map(|_| None).collect();
        for (pool_id, positions, request) in pending {
            let answers = match request {
                Some(request) => request
                    .await
                    .map_err(|e| Unavailable::of(pool_id)(e).into()),
                None => Err(PickFailure::NoSuchPool(pool_id.to_owned())),
            };
            match answers {
                Ok(answers) => {
                    for (position, answer) in positions.into_iter().zip(answers) {
                        results[position] = Some(answer.map_err(PickFailure::from));
                    }
                }
                Err(failure) => {
                    for position in positions {
                        results[position] = Some(Err(failure.clone()));
                    }
                }
            }
        }
        let mut results: Vec<_> = results
            .into_iter()
            .map(|r| r.expect("every request answered"))
            .collect();
        self.settle_claims(account, requests, &mut results).await;
        results
    }

    /// The live conversation of `to` in a pool.
    pub async fn sticky_get(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        to: Msisdn,
    ) -> Result<Option<Conversation>, EngineError> {
        let addr = route(account, pool_id)?;
        Ok(addr
            .send(StickyGet(to))
            .await
            .map_err(Unavailable::of(pool_id))?)
    }

    /// Drops the mapping of `to` in a pool; whether a live one went.
    pub async fn sticky_del(
        &self,
        account: &AccountHandle,
        pool_id: &str,
        to: Msisdn,
    ) -> Result<bool, EngineError> {
        let addr = route(account, pool_id)?;
        self.delete_claim(account, pool_id, to).await?;
        change_pool(&addr, pool_id, StickyDel(to)).await
    }
}

/// The actor of `pool_id` in `account`.
pub(super) fn route(
    account: &AccountHandle,
    pool_id: &str,
) -> Result<Addr<PoolActor>, EngineError> {
    account
        .0
        .routes
        .read()
        .get(pool_id)
        .map(|pool| pool.addr.clone())
        .ok_or_else(|| EngineError::NoSuchPool(pool_id.to_owned()))
}
