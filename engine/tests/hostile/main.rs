//! The hostile-client suite (issue 13): what an attacker on the loopback tries against the real
//! server, one module per kind of attack, each test an assertion that fails if the defence is
//! gone. Run alone with `cargo test -p numpool --test hostile`; `.ci/run` runs it with the rest.
//!
//! - `auth`: credential guessing over RESP and HTTP (the delay falls on the guesser's address
//!   only), `INFO` per account, `/metrics` with a token, on its own listener, per-account series;
//! - `before_auth`: only small commands before AUTH, and the memory an attack can take;
//! - `slow`: the AUTH deadline, slowloris, stalled half-commands;
//! - `flood`: connections over the cap;
//! - `fuzz`: random and mutated RESP frames and REST requests (bounded proptest runs);
//! - `cross_account`: every RESP command and REST path against another account's pool.
//!
//! `/metrics` polling over 5,000 pools against admin latency is a measurement, not a pass/fail
//! test: `engine/tests/metrics_load.rs` (ignored; its figures are in docs/benchmarks.md).

#[path = "../support/mod.rs"]
mod support;

mod auth;
mod before_auth;
mod cross_account;
mod flood;
mod fuzz;
mod slow;
