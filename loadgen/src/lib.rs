//! `numpool-loadgen` drives numpool's RESP sidecar (or any RESP server, Redis included) with a
//! realistic pick workload and measures latency the way DESIGN §7 asks: open loop at a fixed rate
//! with latency counted from each request's intended send time (so a stalled server is charged for
//! the requests it prevented, not just the one it held), or closed loop to find saturation. It
//! reports target and achieved rate, errors by kind and HdrHistogram percentiles, writes
//! `results.json`, `.hgrm` percentile distributions and an SVG plot, reads the server's CPU time
//! per request from `/proc` when it knows the server's pid, seeds pools over the REST API, and can
//! spawn a throwaway numpool to run against.

pub mod app;
pub mod cli;
pub mod client;
pub mod countries;
pub(crate) mod pacer;
pub mod procstat;
pub mod recheck;
pub mod report;
pub mod resp;
pub mod run;
pub mod schedule;
pub mod seed;
pub mod spawn;
pub mod stats;
pub mod workload;
pub(crate) mod zipf;
