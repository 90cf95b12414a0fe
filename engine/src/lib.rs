//! numpool's engine: the model of accounts, owned numbers and pools; the selection rules that
//! pick a localized, sticky sender for each message; and the actors that own each pool's state
//! and serve picks and changes concurrently. The servers (RESP sidecar, REST API) and storage
//! call into this crate; it knows nothing of sockets or files.
#![deny(rust_2018_idioms)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod actors;
pub mod classify;
pub mod clock;
pub mod config;
pub mod demo;
pub mod durability;
pub mod engine;
pub mod hash;
pub mod http;
pub mod metrics;
pub mod model;
pub mod resp;
pub mod select;
pub mod sticky;
