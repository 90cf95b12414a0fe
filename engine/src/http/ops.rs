//! Operations endpoints (numpool extension, DESIGN §5, §9): `GET /healthz` for liveness probes,
//! `GET /metrics` in the Prometheus text format (picks by outcome and reason, pick latency,
//! pools, numbers, sticky mappings, RESP connections) and `GET /openapi.json`, numpool's own
//! OpenAPI document. None needs credentials: they carry no account data.

use std::fmt::Write as _;

use actix_web::http::header::ContentType;
use actix_web::{web, HttpResponse};
use hdrhistogram::Histogram;

use crate::engine::{Engine, StorageState};
use numpool_core::select::Reason;

/// The Prometheus text exposition format's media type.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds of the latency histogram's buckets, in microseconds: 10 µs to 1 s, about three
/// per decade, so both the sub-millisecond targets of DESIGN §8 and slow outliers show.
const LATENCY_BUCKETS_US: [u64; 16] = [
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
    500_000, 1_000_000,
];

/// numpool's OpenAPI document, compiled in from the repository's only copy so that a binary always
/// serves the description of its own routes, never a file that may have drifted beside it.
const OPENAPI_JSON: &str = include_str!("../../../docs/openapi.json");

/// `GET /healthz`: 200 while the server answers and can store changes; 503 naming the fault
/// while it cannot (DESIGN §6), so a load balancer or supervisor sees it.
pub(crate) async fn healthz(engine: web::Data<Engine>) -> HttpResponse {
    let state = engine.storage_state();
    match &state {
        StorageState::Failed(why) => HttpResponse::ServiceUnavailable().json(serde_json::json!({
            "status": "unavailable",
            "storage": state.as_str(),
            "reason": why.reason(),
        })),
        StorageState::Ok | StorageState::InMemory => HttpResponse::Ok()
            .json(serde_json::json!({ "status": "ok", "storage": state.as_str() })),
    }
}

/// `GET /openapi.json`.
pub(crate) async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(OPENAPI_JSON)
}

/// `GET /metrics`.
pub(crate) async fn metrics(engine: web::Data<Engine>) -> HttpResponse {
    let stats = engine.stats().await;
    let totals = &stats.pool_totals;
    let mut out = String::with_capacity(4096);

    header(
        &mut out,
        "numpool_picks_total",
        "counter",
        "Picks answered, by outcome and reason.",
    );
    for reason in Reason::ALL {
        let count = totals.picks_for(reason);
        let reason = reason.as_str();
        sample(
            &mut out,
            "numpool_picks_total",
            &format!("outcome=\"picked\",reason=\"{reason}\""),
            count,
        );
    }
    sample(
        &mut out,
        "numpool_picks_total",
        "outcome=\"rejected\"",
        totals.rejected,
    );
    sample(
        &mut out,
        "numpool_picks_total",
        "outcome=\"invalid\"",
        totals.invalid,
    );

    latency(&mut out, &engine.metrics().pick_latency());

    let gauges = [
        ("numpool_pools", "Pools across all accounts.", stats.pools),
        (
            "numpool_numbers",
            "Owned numbers across all accounts.",
            stats.numbers,
        ),
        (
            "numpool_sticky_mappings",
            "Sticky mappings held (live or awaiting expiry).",
            totals.sticky_entries,
        ),
        (
            "numpool_resp_connections",
            "Open RESP sidecar connections.",
            engine.metrics().connections(),
        ),
        (
            "numpool_uptime_seconds",
            "Seconds since the process started.",
            engine.metrics().uptime().as_secs(),
        ),
    ];
    for (name, help, value) in gauges {
        header(&mut out, name, "gauge", help);
        sample(&mut out, name, "", value);
    }
    header(
        &mut out,
        "numpool_storage_faults_total",
        "counter",
        "Storage faults since start (each refused changes until it ended).",
    );
    sample(
        &mut out,
        "numpool_storage_faults_total",
        "",
        engine.storage_faults(),
    );
    let storage = engine.storage_state();
    header(
        &mut out,
        "numpool_storage_state",
        "gauge",
        "1 for the storage state in force: ok, in_memory, or failed (changes refused).",
    );
    for name in ["ok", "in_memory", "failed"] {
        let labels = format!("state=\"{name}\"");
        sample(
            &mut out,
            "numpool_storage_state",
            &labels,
            u64::from(storage.as_str() == name),
        );
    }

    HttpResponse::Ok().content_type(PROMETHEUS_TEXT).body(out)
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, value: u64) {
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {value}");
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {value}");
    }
}

/// The pick-latency histogram in seconds, Prometheus's base unit, with cumulative buckets.
fn latency(out: &mut String, histogram: &Histogram<u64>) {
    let name = "numpool_pick_latency_seconds";
    header(
        out,
        name,
        "histogram",
        "Pick latency as the servers see it (parsed to answered).",
    );
    for bound in LATENCY_BUCKETS_US {
        let count = histogram.count_between(0, bound);
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"{}\"}} {count}",
            bound as f64 / 1e6
        );
    }
    let total = histogram.len();
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {total}");
    let sum_seconds = histogram.mean() * total as f64 / 1e6;
    let _ = writeln!(out, "{name}_sum {sum_seconds}\n{name}_count {total}");
}
