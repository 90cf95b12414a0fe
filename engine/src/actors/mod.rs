//! The actor layer (DESIGN §3.3): one [`PoolActor`] per pool, placed on one arbiter per core.
//! The engine routes to the actors by (account, pool id).

mod counters;
pub(crate) mod messages;
mod placement;
mod pool_actor;

pub(crate) use counters::PoolCounters;
pub(crate) use placement::{Placement, PoolHandle};
pub(crate) use pool_actor::{PoolActor, PoolJournal};
