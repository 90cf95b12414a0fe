//! The end-of-run report: a summary that is printed as a table and written as `results.json`,
//! plus the HdrHistogram percentile distribution (`latency.hgrm`) and its plot (`latency.svg`).

pub mod hgrm;
pub(crate) mod json;
pub(crate) mod svg;
pub mod table;

use crate::run::RunOutcome;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A report file could not be written.
#[derive(Debug, Error)]
#[error("cannot write {path}: {source}")]
pub struct ReportError {
    /// The file or directory.
    pub(crate) path: PathBuf,
    /// What the OS said.
    pub(crate) source: std::io::Error,
}

/// The run's settings, echoed into the results so that a file explains itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    /// RESP server address.
    pub addr: String,
    /// `pick`, `ping` or `evalsha`.
    pub mode: String,
    /// Pool id (pick and evalsha).
    pub pool: Option<String>,
    /// Script SHA (evalsha).
    pub script_sha: Option<String>,
    /// Connections.
    pub connections: usize,
    /// Maximum requests in flight per connection.
    pub pipeline: usize,
    /// `open` (fixed rate) or `closed` (max).
    pub loop_kind: String,
    /// Measured seconds.
    pub duration_s: f64,
    /// Warmup seconds (not measured).
    pub warmup_s: f64,
    /// Distinct recipients.
    pub recipients: u64,
    /// Zipf exponent.
    pub zipf_s: f64,
    /// Country mix, ISO codes in order.
    pub countries: Vec<String>,
    /// Per-request timeout in seconds.
    pub timeout_s: f64,
    /// Seed of the random generators.
    pub rng_seed: u64,
}

/// Percentiles of one histogram, in microseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Percentiles {
    /// Values recorded.
    pub(crate) count: u64,
    /// Smallest value.
    pub(crate) min: u64,
    /// Mean.
    pub(crate) mean: f64,
    /// Median.
    pub(crate) p50: u64,
    /// 90th percentile.
    pub(crate) p90: u64,
    /// 99th percentile.
    pub(crate) p99: u64,
    /// 99.9th percentile.
    pub(crate) p999: u64,
    /// 99.99th percentile.
    pub(crate) p9999: u64,
    /// Largest value.
    pub(crate) max: u64,
}

impl Percentiles {
    /// Reads the percentiles off `h` (all zero for an empty histogram).
    pub(crate) fn of(h: &Histogram<u64>) -> Self {
        let q = |q| h.value_at_quantile(q);
        Self {
            count: h.len(),
            min: if h.is_empty() { 0 } else { h.min() },
            mean: h.mean(),
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            p9999: q(0.9999),
            max: h.max(),
        }
    }
}

/// Everything `results.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The run's settings.
    pub(crate) config: RunMeta,
    /// Requested requests/s (open loop), `null` for closed loop.
    pub(crate) target_rate: Option<f64>,
    /// Replies per second over the measured time.
    pub(crate) achieved_rate: f64,
    /// Measured seconds: the window, or longer if its last reply came after it.
    pub(crate) measured_s: f64,
    /// Requests that ended in the window: `ok` plus every error.
    pub(crate) requests: u64,
    /// Requests written in the window.
    pub(crate) sent: u64,
    /// Non-error replies.
    pub(crate) ok: u64,
    /// Errors by kind (see `stats::Counts::errors`).
    pub(crate) errors: BTreeMap<String, u64>,
    /// All errors together.
    pub(crate) error_total: u64,
    /// Latency from intended send time (coordinated omission corrected), µs. For a closed loop it
    /// equals the service time.
    pub(crate) latency_us: Percentiles,
    /// Latency from actual send time (what an uncorrected tool would report), µs.
    pub(crate) service_time_us: Percentiles,
}

impl Summary {
    /// Builds the summary of `outcome` for a run described by `config`.
    pub fn new(config: RunMeta, target_rate: Option<f64>, outcome: &RunOutcome) -> Self {
        Self {
            config,
            target_rate,
            achieved_rate: outcome.achieved_rate(),
            measured_s: outcome.measured.as_secs_f64(),
            requests: outcome.counts.requests(),
            sent: outcome.counts.sent,
            ok: outcome.counts.ok,
            errors: outcome.counts.errors.clone(),
            error_total: outcome.counts.error_total(),
            latency_us: Percentiles::of(&outcome.latency),
            service_time_us: Percentiles::of(&outcome.service),
        }
    }
}

/// Paths of the files written by [`write_all`].
#[derive(Debug, Clone)]
pub struct ReportFiles {
    /// `results.json`.
    pub json: PathBuf,
    /// `latency.hgrm`.
    pub hgrm: PathBuf,
    /// `latency.svg`.
    pub svg: PathBuf,
}

/// Writes `results.json`, `latency.hgrm` (corrected latency, milliseconds) and `latency.svg` into
/// `dir`, creating it if needed.
pub fn write_all(
    dir: &Path,
    summary: &Summary,
    latency: &Histogram<u64>,
) -> Result<ReportFiles, ReportError> {
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError { path, source }
    };
    std::fs::create_dir_all(dir).map_err(err(dir))?;
    let files = ReportFiles {
        json: dir.join("results.json"),
        hgrm: dir.join("latency.hgrm"),
        svg: dir.join("latency.svg"),
    };
    std::fs::write(&files.json, json::to_string(summary)).map_err(err(&files.json))?;
    let text = hgrm::to_string(latency, hgrm::MICROS_PER_MILLI);
    std::fs::write(&files.hgrm, &text).map_err(err(&files.hgrm))?;
    let title = format!(
        "{} {} · {} conns × pipeline {} · {}",
        summary.config.mode,
        summary.config.addr,
        summary.config.connections,
        summary.config.pipeline,
        match summary.target_rate {
            Some(r) => format!("{r:.0}/s target"),
            None => "max".to_string(),
        }
    );
    let rows = hgrm::parse(&text).expect("our own output parses");
    std::fs::write(&files.svg, svg::render(&rows, &title)).map_err(err(&files.svg))?;
    Ok(files)
}
