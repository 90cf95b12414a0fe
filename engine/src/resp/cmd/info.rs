//! `INFO [section]`: `key:value` lines about the process (DESIGN §4).

use std::fmt::Write as _;

use bytes::BytesMut;

use super::{Ctx, Outcome};
use crate::engine::Engine;
use crate::resp::frame::write_bulk;
use crate::resp::parse::{ArgCursor, ParseError};
use numpool_core::select::Reason;

/// A parsed `INFO`; the section is accepted and ignored (there is one).
pub(crate) struct Info;

impl Info {
    /// Takes at most one section name.
    pub(crate) fn parse(cursor: &mut ArgCursor<'_>) -> Result<Self, ParseError> {
        if cursor.remaining() > 1 {
            return Err(cursor.wrong_arity());
        }
        Ok(Info)
    }

    /// The report, as a bulk string.
    pub(crate) async fn apply(self, ctx: &Ctx<'_>, out: &mut BytesMut) -> Outcome {
        write_bulk(out, render(ctx.engine).await.as_bytes());
        Outcome::Continue
    }
}

/// Renders the report.
async fn render(engine: &Engine) -> String {
    let stats = engine.stats().await;
    let metrics = engine.metrics();
    let latency = metrics.pick_latency();
    let mut text = String::from("# numpool\r\n");
    let mut line = |key: &str, value: &dyn std::fmt::Display| {
        let _ = write!(text, "{key}:{value}\r\n");
    };
    line("version", &env!("CARGO_PKG_VERSION"));
    line("uptime_in_seconds", &metrics.uptime().as_secs());
    line("connected_clients", &metrics.connections());
    line("pools", &stats.pools);
    line("numbers", &stats.numbers);
    line("sticky_entries", &stats.pool_totals.sticky_entries);
    for reason in Reason::ALL {
        line(
            &format!("picks_{reason}"),
            &stats.pool_totals.picks_for(reason),
        );
    }
    line("picks_rejected", &stats.pool_totals.rejected);
    line("picks_invalid", &stats.pool_totals.invalid);
    line("pick_latency_p50_us", &latency.value_at_quantile(0.5));
    line("pick_latency_p99_us", &latency.value_at_quantile(0.99));
    line("pick_latency_p999_us", &latency.value_at_quantile(0.999));
    text
}
