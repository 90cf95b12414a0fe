//! Operations endpoints (numpool extension, DESIGN §5, §9): `GET /healthz` for liveness probes,
//! `GET /metrics` in the Prometheus text format (picks by outcome and reason, pick latency,
//! pools, numbers, sticky mappings, RESP connections, authentication failures) and
//! `GET /openapi.json`, numpool's own OpenAPI document. `/healthz` and `/openapi.json` carry no
//! account data and need no credentials; `/metrics` carries server totals, per-account series
//! only when the operator asks (`metrics_per_account`), and needs a bearer token when one is
//! configured (`metrics_token`).

use std::fmt::Write as _;

use actix_web::http::header::{self, ContentType};
use actix_web::{web, HttpRequest, HttpResponse};
use hdrhistogram::Histogram;

use super::auth::peer;
use super::problem::Problem;
use super::AnswerResult;
use crate::config::MetricsToken;
use crate::engine::{Engine, EngineStats, StorageState};
use crate::throttle::{AuthThrottle, Interface};
use numpool_core::delivery::{HealthState, ReceiptClass};
use numpool_core::select::{PickStats, Reason};

/// How `/metrics` is served: the operator's choices.
pub(crate) struct MetricsSettings {
    /// The bearer token it requires, if any.
    pub(crate) token: Option<MetricsToken>,
    /// Whether it adds per-account series.
    pub(crate) per_account: bool,
}

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
    if let Some(cluster) = engine.cluster().map(|link| link.status()) {
        // Not ready until caught up with the cluster (DESIGN §10): a load balancer sends it
        // nothing until it answers as the others do.
        let body = serde_json::json!({
            "status": if cluster.ready { "ok" } else { "catching_up" },
            "storage": state.as_str(),
            "cluster": {
                "member": cluster.member,
                "connected": cluster.connected,
                "ready": cluster.ready,
                "applied": cluster.applied,
                "lag": cluster.lag,
            },
        });
        return if cluster.ready {
            HttpResponse::Ok().json(body)
        } else {
            HttpResponse::ServiceUnavailable().json(body)
        };
    }
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

/// `GET /metrics`: after the bearer token, when one is configured (a wrong one is a failed
/// authentication like any other: counted, logged, and its address delayed).
pub(crate) async fn metrics(
    req: HttpRequest,
    engine: web::Data<Engine>,
    throttle: web::Data<AuthThrottle>,
    settings: web::Data<MetricsSettings>,
) -> AnswerResult {
    if let Some(token) = &settings.token {
        let given = bearer_token(&req).ok_or_else(Problem::bearer_unauthorized)?;
        throttle
            .judge(peer(&req), Interface::Http, "(metrics token)", || {
                token.matches(given).then_some(())
            })
            .await
            .ok_or_else(Problem::bearer_unauthorized)?;
    }
    let stats = engine.stats();
    let totals = &stats.pool_totals;
    let mut out = String::with_capacity(4096);

    header(
        &mut out,
        "numpool_picks_total",
        "counter",
        "Picks answered, by outcome and reason.",
    );
    picks(&mut out, "numpool_picks_total", "", totals);

    latency(&mut out, &engine.metrics().pick_latency.snapshot());

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
    header(
        &mut out,
        "numpool_auth_failures_total",
        "counter",
        "Failed authentications (wrong credentials or metrics token), by interface.",
    );
    for interface in Interface::ALL {
        let labels = format!("interface=\"{}\"", interface.as_str());
        sample(
            &mut out,
            "numpool_auth_failures_total",
            &labels,
            throttle.failures(interface),
        );
    }
    header(
        &mut out,
        "numpool_auth_throttled_addresses",
        "gauge",
        "Client addresses whose authentication attempts are delayed (or not yet forgiven).",
    );
    sample(
        &mut out,
        "numpool_auth_throttled_addresses",
        "",
        throttle.addresses() as u64,
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
    delivery(&mut out, "numpool", &[("", &stats)]);
    if let Some(cluster) = engine.cluster().map(|link| link.status()) {
        let series: [(&str, &str, &str, u64); 16] = [
            ("numpool_cluster_sticky_refreshed_total", "counter", "Sticky mappings with a TTL written again in the bucket because they were used here: their TTL started over.", cluster.refreshed),
            ("numpool_cluster_from_images", "gauge", "Accounts taken at start from their images in the cluster, newer than what the data directory held.", cluster.from_images),
            ("numpool_cluster_compactions_total", "counter", "Account images written to the cluster by this sidecar's compactions of the admin log.", cluster.compactions),
            ("numpool_cluster_compacted_total", "counter", "Admin log records purged by this sidecar's compactions.", cluster.compacted),
            ("numpool_cluster_checkpointed", "gauge", "The admin log sequence the data directory's last checkpoint holds: a restart replays after it.", cluster.checkpointed),
            ("numpool_cluster_resumed_from", "gauge", "The admin log sequence the data directory's checkpoint had applied at start: the replay began after it (0 without one).", cluster.resumed_from),
            ("numpool_cluster_replayed_total", "counter", "Admin log records replayed since start.", cluster.replayed),
            ("numpool_cluster_reconciled_total", "counter", "First contacts answered locally during an outage (cluster_unavailable = local) and claimed since.", cluster.reconciled),
            ("numpool_cluster_reconcile_conflicts_total", "counter", "Of those, the ones another sidecar had claimed first: its sender was adopted.", cluster.reconcile_conflicts),
            ("numpool_cluster_members", "gauge", "Live sidecars counted by their heartbeats: each number's mps is split among them.", u64::from(cluster.members)),
            ("numpool_cluster_ready", "gauge", "1 once caught up with the cluster's admin log and sticky bucket.", u64::from(cluster.ready)),
            ("numpool_cluster_connected", "gauge", "1 while the NATS connection is up.", u64::from(cluster.connected)),
            ("numpool_cluster_lag", "gauge", "Admin log records not applied here yet, as far as last seen.", cluster.lag),
            ("numpool_cluster_conflicts_total", "counter", "Admin changes refused because another sidecar changed the account at the same moment.", cluster.conflicts),
            ("numpool_cluster_claims_lost_total", "counter", "First contacts whose claim another sidecar won; its sender was adopted.", cluster.claims_lost),
            ("numpool_cluster_unavailable_total", "counter", "Calls answered unavailable because JetStream did not answer.", cluster.unavailable),
        ];
        for (name, kind, help, value) in series {
            header(&mut out, name, kind, help);
            sample(&mut out, name, "", value);
        }
    }
    if settings.per_account {
        per_account(&mut out, &engine.stats_by_account());
    }

    Ok(HttpResponse::Ok().content_type(PROMETHEUS_TEXT).body(out))
}

/// The token of an `Authorization: Bearer` header, if there is one.
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// One figure of an account's stats.
type AccountFigure = fn(&EngineStats) -> u64;

/// The series of each account, labelled `account`: only when the operator turns them on.
fn per_account(out: &mut String, accounts: &[(impl std::fmt::Display, EngineStats)]) {
    let gauges: [(&str, &str, AccountFigure); 3] = [
        ("numpool_account_pools", "Pools of the account.", |s| {
            s.pools
        }),
        (
            "numpool_account_numbers",
            "Owned numbers of the account.",
            |s| s.numbers,
        ),
        (
            "numpool_account_sticky_mappings",
            "Sticky mappings held in the account's pools.",
            |s| s.pool_totals.sticky_entries,
        ),
    ];
    for (name, help, value) in gauges {
        header(out, name, "gauge", help);
        for (account, stats) in accounts {
            sample(out, name, &format!("account=\"{account}\""), value(stats));
        }
    }
    let name = "numpool_account_picks_total";
    header(
        out,
        name,
        "counter",
        "Picks answered in the account's pools, by outcome and reason.",
    );
    for (account, stats) in accounts {
        let account = format!("account=\"{account}\",");
        picks(out, name, &account, &stats.pool_totals);
    }
    let labelled: Vec<(String, &EngineStats)> = accounts
        .iter()
        .map(|(account, stats)| (format!("account=\"{account}\","), stats))
        .collect();
    let labelled: Vec<(&str, &EngineStats)> =
        labelled.iter().map(|(l, s)| (l.as_str(), *s)).collect();
    delivery(out, "numpool_account", &labelled);
}

/// `<prefix>_number_health` (owned numbers by state under the default thresholds) and
/// `<prefix>_receipts_total` (receipts by class), one set of samples per `(labels, stats)`;
/// each `labels` is empty or ends in a comma.
fn delivery(out: &mut String, prefix: &str, series: &[(&str, &EngineStats)]) {
    let health = format!("{prefix}_number_health");
    header(
        out,
        &health,
        "gauge",
        "Owned numbers by health state under the default thresholds (DESIGN §3.4).",
    );
    for (labels, stats) in series {
        let states = [
            (HealthState::Healthy, stats.healthy()),
            (HealthState::Unhealthy, stats.delivery.unhealthy),
            (HealthState::Probation, stats.delivery.probation),
        ];
        for (state, count) in states {
            let labels = format!("{labels}state=\"{}\"", state.as_str());
            sample(out, &health, &labels, count);
        }
    }
    let receipts = format!("{prefix}_receipts_total");
    header(
        out,
        &receipts,
        "counter",
        "Delivery receipts counted since start, by what they say of the sender.",
    );
    for (labels, stats) in series {
        for class in ReceiptClass::ALL {
            let labels = format!("{labels}class=\"{}\"", class.as_str());
            sample(out, &receipts, &labels, stats.delivery.receipts_of(class));
        }
    }
}

/// The samples of a picks counter: one per reason, then rejected and invalid; `prefix` is any
/// label (with its trailing comma) that comes before `outcome`.
fn picks(out: &mut String, name: &str, prefix: &str, totals: &PickStats) {
    for reason in Reason::ALL {
        let labels = format!("{prefix}outcome=\"picked\",reason=\"{}\"", reason.as_str());
        sample(out, name, &labels, totals.picks_for(reason));
    }
    let rejected = format!("{prefix}outcome=\"rejected\"");
    sample(out, name, &rejected, totals.rejected);
    let invalid = format!("{prefix}outcome=\"invalid\"");
    sample(out, name, &invalid, totals.invalid);
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
