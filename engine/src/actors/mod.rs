//! The actor layer (DESIGN §3.3): one [`PoolActor`] per pool, placed on one arbiter per core.
//! The engine routes to the actors by (account, pool id).

pub mod messages;
mod placement;
mod pool_actor;

pub use placement::Placement;
pub use pool_actor::{PoolActor, PoolJournal};
