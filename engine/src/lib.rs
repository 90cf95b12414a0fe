//! numpool's process: the pool actors that own each pool's selection state (`actors`), the
//! async engine API the servers call (`engine`), durable state on local disk (`durability`, over
//! `numpool-snapshots`), the RESP sidecar (`resp`) and the REST API (`http`), and the
//! configuration they start from (`config`). The rules themselves (model, classification,
//! selection, the sticky table) live in `numpool-core`, which knows no thread, socket or file;
//! this crate adds exactly those. Data flows one way: wire → command → engine → actor →
//! select/sticky → journal, and no lower layer names a higher one.

pub(crate) mod actors;
pub(crate) mod clock;
pub(crate) mod cluster;
pub mod config;
pub(crate) mod demo;
pub mod durability;
pub mod engine;
pub(crate) mod http;
pub(crate) mod metrics;
pub(crate) mod resp;
pub mod serve;
pub(crate) mod throttle;
