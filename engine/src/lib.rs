//! numpool's engine: the model of accounts, owned numbers and pools; the selection rules that
//! pick a localized, sticky sender for each message; and the actors that own each pool's state
//! and serve picks and changes concurrently. The servers (RESP sidecar, REST API) and storage
//! call into this crate; it knows nothing of sockets or files.

pub mod actors;
pub(crate) mod clock;
pub mod config;
pub(crate) mod demo;
pub mod durability;
pub mod engine;
pub(crate) mod http;
pub(crate) mod metrics;
pub(crate) mod resp;
pub mod serve;
