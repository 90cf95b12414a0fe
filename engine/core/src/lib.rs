//! numpool's pure core: the objects of DESIGN §3.1 (accounts, owned numbers, pools) with their
//! validation and recipient classification, the selection rules of §3.2 as functions over a
//! pool's state, the sharded sticky-sender table, the hash both share, and the delivery feedback
//! of §3.4 (receipt classes, health windows). It owns no thread,
//! socket, file or clock: callers pass the time in, so every rule is a plain function a unit
//! test can call, and the engine above it decides where and when each runs.

pub mod delivery;
pub(crate) mod hash;
pub mod model;
pub mod select;
pub mod sticky;
