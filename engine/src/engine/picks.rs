//! Picks and sticky inspection (DESIGN §3.2, §4): the hot path. A pick reads the account's route
//! table for a moment and sends one message to the pool's actor; a batch sends one message per
//! pool, however many picks it holds.

use thiserror::Error;

use super::{Engine, EngineError};
use crate::actors::messages::{PickBatch, PickJob, StickyDel, StickyGet};
use numpool_core::model::Msisdn;
use numpool_core::select::{Pick, PickError};

/// Why a pick produced no sender.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PickFailure {
    /// The account has no such pool.
    #[error("pool '{0}' not found")]
    NoSuchPool(String),
    /// The pool answered with an error or rejection.
    #[error(transparent)]
    Pick(#[from] PickError),
    /// The pool's actor is gone (shutdown).
    #[error("pool '{0}' is unavailable")]
    Unavailable(String),
}

impl Engine {
    /// One pick.
    pub async fn pick(
        &self,
        account: &str,
        pool_id: &str,
        job: PickJob,
    ) -> Result<Result<Pick, PickFailure>, EngineError> {
        let mut results = self.pick_batch(account, vec![(pool_id, job)]).await?;
        Ok(results.pop().expect("one result per job"))
    }

    /// Many picks, answered in order: one actor message per distinct pool in the batch.
    pub async fn pick_batch(
        &self,
        account: &str,
        jobs: Vec<(&str, PickJob)>,
    ) -> Result<Vec<Result<Pick, PickFailure>>, EngineError> {
        let state = self.account(account)?;
        let mut results: Vec<Option<Result<Pick, PickFailure>>> =
            (0..jobs.len()).map(|_| None).collect();
        // Group by pool, keeping each job's position. Batches usually name one pool or a few,
        // so a linear scan beats hashing.
        let mut groups: Vec<(&str, Vec<usize>, Vec<PickJob>)> = Vec::new();
        for (position, (pool_id, job)) in jobs.into_iter().enumerate() {
            match groups.iter_mut().find(|g| g.0 == pool_id) {
                Some(group) => {
                    group.1.push(position);
                    group.2.push(job);
                }
                None => groups.push((pool_id, vec![position], vec![job])),
            }
        }
        // Enqueue every group's message before awaiting any, so pools on different arbiters
        // work in parallel.
        let mut pending = Vec::with_capacity(groups.len());
        {
            let routes = state.routes.read();
            for (pool_id, positions, jobs) in groups {
                match routes.get(pool_id) {
                    Some(addr) => {
                        pending.push((pool_id, positions, Some(addr.send(PickBatch(jobs)))))
                    }
                    None => pending.push((pool_id, positions, None)),
                }
            }
        }
        for (pool_id, positions, request) in pending {
            let answers = match request {
                Some(request) => request
                    .await
                    .map_err(|_| PickFailure::Unavailable(pool_id.to_owned())),
                None => Err(PickFailure::NoSuchPool(pool_id.to_owned())),
            };
            match answers {
                Ok(answers) => {
                    for (position, answer) in positions.into_iter().zip(answers) {
                        results[position] = Some(answer.map_err(PickFailure::Pick));
                    }
                }
                Err(failure) => {
                    for position in positions {
                        results[position] = Some(Err(failure.clone()));
                    }
                }
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every job answered"))
            .collect())
    }

    /// The live sender mapped to `to` in a pool.
    pub async fn sticky_get(
        &self,
        account: &str,
        pool_id: &str,
        to: Msisdn,
    ) -> Result<Option<Msisdn>, EngineError> {
        let addr = self.route(account, pool_id)?;
        addr.send(StickyGet(to))
            .await
            .map_err(|_| EngineError::NoSuchPool(pool_id.to_owned()))
    }

    /// Drops the mapping of `to` in a pool; whether a live one went.
    pub async fn sticky_del(
        &self,
        account: &str,
        pool_id: &str,
        to: Msisdn,
    ) -> Result<bool, EngineError> {
        let addr = self.route(account, pool_id)?;
        addr.send(StickyDel(to))
            .await
            .map_err(|_| EngineError::NoSuchPool(pool_id.to_owned()))
    }

    fn route(
        &self,
        account: &str,
        pool_id: &str,
    ) -> Result<actix::Addr<crate::actors::PoolActor>, EngineError> {
        self.account(account)?
            .routes
            .read()
            .get(pool_id)
            .cloned()
            .ok_or_else(|| EngineError::NoSuchPool(pool_id.to_owned()))
    }
}
