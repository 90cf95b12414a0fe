//! The hostile-client suite (issue 13): what an attacker on the loopback tries against the real
//! server, one module per kind of attack, each test an assertion that fails if the defence is
//! gone. Run alone with `cargo test -p numpool --test hostile`; `.ci/run` runs it with the rest.
//!
//! - `before_auth`: only small commands before AUTH, and the memory an attack can take;
//! - `slow`: the AUTH deadline, slowloris, stalled half-commands;
//! - `flood`: connections over the cap;
//! - `fuzz`: random and mutated RESP frames and REST requests (bounded proptest runs);
//! - `cross_account`: every RESP command and REST path against another account's pool.

#[path = "../support/mod.rs"]
mod support;

mod before_auth;
mod cross_account;
mod flood;
mod fuzz;
mod slow;
