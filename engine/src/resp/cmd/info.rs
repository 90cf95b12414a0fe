//! `INFO [section …]`: `key:value` lines about the process (DESIGN §4), in Redis's sections:
//! `server` (with `redis_version`, which some clients read at start), `clients`, `replication`
//! (`role:master`: valkey-glide sends `INFO REPLICATION` on connect and refuses a server that
//! does not say it is a primary) and `numpool` (pools, numbers, picks, latency). No section, `all`, `default` or `everything` gives all;
//! an unknown section gives nothing, as in Redis. RESP3 gets a verbatim string.
//!
//! Every figure about pools, numbers, mappings and picks is the connection's account's own
//! (DESIGN §4); the server-wide ones reveal nothing about other accounts: version, uptime,
//! process id, connections, storage state.

use std::fmt::Write as _;

use super::{AccountCtx, Outcome};
use crate::engine::StorageState;
use crate::resp::parse::{ArgCursor, ParseError};
use crate::resp::reply::Reply;
use numpool_core::delivery::ReceiptClass;
use numpool_core::select::Reason;

/// The Redis version numpool reports: the release whose commands and replies it follows.
const REDIS_VERSION: &str = "7.2.0";

/// The sections, in the order they are written.
const SECTIONS: [&str; 4] = ["server", "clients", "replication", "numpool"];

/// A parsed `INFO`: which sections to write.
pub(crate) struct Info {
    /// One flag per [`SECTIONS`] entry.
    wanted: [bool; 4],
}

impl Info {
    /// Takes section names in any case.
    pub(crate) fn parse(cursor: &mut ArgCursor<'_>) -> Result<Self, ParseError> {
        let mut wanted = [cursor.remaining() == 0; 4];
        while cursor.remaining() > 0 {
            let name = cursor.next_str()?.to_ascii_lowercase();
            match SECTIONS.iter().position(|s| *s == name) {
                Some(i) => wanted[i] = true,
                None if matches!(name.as_str(), "all" | "default" | "everything") => {
                    wanted = [true; 4]
                }
                None => {}
            }
        }
        Ok(Info { wanted })
    }

    /// The report, as a bulk (RESP2) or verbatim (RESP3) string.
    pub(crate) fn apply(self, ctx: &AccountCtx<'_>, out: &mut Reply<'_>) -> Outcome {
        out.verbatim(&self.render(ctx));
        Outcome::Continue
    }

    /// Renders the sections asked for.
    fn render(&self, ctx: &AccountCtx<'_>) -> String {
        let engine = ctx.engine;
        let mut text = String::new();
        let mut section = |name: &str, lines: &[(&str, &dyn std::fmt::Display)]| {
            if !text.is_empty() {
                text.push_str("\r\n");
            }
            let _ = write!(text, "# {name}\r\n");
            for (key, value) in lines {
                let _ = write!(text, "{key}:{value}\r\n");
            }
        };
        let metrics = engine.metrics();
        if self.wanted[0] {
            section(
                "Server",
                &[
                    ("redis_version", &REDIS_VERSION),
                    ("numpool_version", &env!("CARGO_PKG_VERSION")),
                    ("redis_mode", &"standalone"),
                    ("process_id", &std::process::id()),
                    ("uptime_in_seconds", &metrics.uptime().as_secs()),
                ],
            );
        }
        if self.wanted[1] {
            section("Clients", &[("connected_clients", &metrics.connections())]);
        }
        if self.wanted[2] {
            section(
                "Replication",
                &[("role", &"master"), ("connected_slaves", &0)],
            );
        }
        if self.wanted[3] {
            let stats = engine.account_stats(ctx.account);
            let latency = engine.account_pick_latency(ctx.account);
            let account = ctx.account.id();
            let totals = &stats.pool_totals;
            let by_reason: Vec<(String, u64)> = Reason::ALL
                .iter()
                .map(|reason| (format!("picks_{reason}"), totals.picks_for(*reason)))
                .collect();
            let storage = engine.storage_state();
            let storage_name = storage.as_str();
            let faults = engine.storage_faults();
            let storage_error = match &storage {
                StorageState::Failed(why) => why.reason(),
                StorageState::Ok | StorageState::InMemory => String::new(),
            };
            let mut lines: Vec<(&str, &dyn std::fmt::Display)> = vec![
                ("version", &env!("CARGO_PKG_VERSION")),
                ("account", &account),
                ("storage", &storage_name),
                ("storage_error", &storage_error),
                ("storage_faults", &faults),
                ("pools", &stats.pools),
                ("numbers", &stats.numbers),
                ("sticky_entries", &totals.sticky_entries),
            ];
            lines.extend(
                by_reason
                    .iter()
                    .map(|(k, v)| (k.as_str(), v as &dyn std::fmt::Display)),
            );
            let (p50, p99, p999) = (
                latency.value_at_quantile(0.5),
                latency.value_at_quantile(0.99),
                latency.value_at_quantile(0.999),
            );
            let delivery = &stats.delivery;
            let healthy = stats.healthy();
            lines.extend([
                ("numbers_healthy", &healthy as &dyn std::fmt::Display),
                ("numbers_unhealthy", &delivery.unhealthy),
                ("numbers_probation", &delivery.probation),
            ]);
            let by_class: Vec<(String, u64)> = ReceiptClass::ALL
                .iter()
                .map(|class| {
                    (
                        format!("receipts_{}", class.as_str()),
                        delivery.receipts_of(*class),
                    )
                })
                .collect();
            lines.extend(
                by_class
                    .iter()
                    .map(|(k, v)| (k.as_str(), v as &dyn std::fmt::Display)),
            );
            lines.extend([
                ("picks_rejected", &totals.rejected as &dyn std::fmt::Display),
                ("picks_invalid", &totals.invalid),
                ("pick_latency_p50_us", &p50),
                ("pick_latency_p99_us", &p99),
                ("pick_latency_p999_us", &p999),
            ]);
            // Cluster mode (DESIGN §10): the sidecar's view of the cluster. Not Redis's
            // `# Cluster` section, whose `cluster_enabled:1` would send cluster-aware clients
            // to Redis Cluster commands numpool does not have.
            let cluster = engine.cluster().map(|link| link.status());
            let flags = cluster
                .as_ref()
                .map_or((0, 0), |c| (u8::from(c.connected), u8::from(c.ready)));
            if let Some(cluster) = &cluster {
                lines.extend([
                    ("cluster_member", &cluster.member as &dyn std::fmt::Display),
                    ("cluster_connected", &flags.0),
                    ("cluster_ready", &flags.1),
                    ("cluster_members", &cluster.members),
                    ("cluster_applied", &cluster.applied),
                    ("cluster_lag", &cluster.lag),
                    ("cluster_conflicts", &cluster.conflicts),
                    ("cluster_claims_lost", &cluster.claims_lost),
                    ("cluster_unavailable", &cluster.unavailable),
                    ("cluster_reconciled", &cluster.reconciled),
                    ("cluster_reconcile_conflicts", &cluster.reconcile_conflicts),
                    ("cluster_resumed_from", &cluster.resumed_from),
                    ("cluster_replayed", &cluster.replayed),
                    ("cluster_checkpointed", &cluster.checkpointed),
                    ("cluster_sticky_refreshed", &cluster.refreshed),
                    ("cluster_from_images", &cluster.from_images),
                    ("cluster_compactions", &cluster.compactions),
                    ("cluster_compacted", &cluster.compacted),
                ]);
            }
            section("Numpool", &lines);
        }
        text
    }
}
