//! The end-of-run report: a summary that is printed as a table and written as `results.json`,
//! plus the HdrHistogram percentile distributions of corrected latency (`latency.hgrm`) and of
//! service time (`service.hgrm`) and their plot (`latency.svg`). [`plot`] draws several finished
//! runs on one plot (`loadgen plot`).

pub mod hgrm;
pub(crate) mod json;
pub mod outdir;
pub(crate) mod svg;
pub mod table;

use crate::procstat::ServerCpu;
use crate::run::RunOutcome;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;
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
    /// The sidecars the run was spread over (`--targets`); empty for one server.
    #[serde(default)]
    pub targets: Vec<String>,
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
    /// Share of the requests that were delivery receipts (`REPORT`), 0 without them.
    #[serde(default)]
    pub receipts: f64,
    /// Messages per second on every seeded number (`--mps`), if the run seeded limits.
    #[serde(default)]
    pub mps: Option<f64>,
    /// Their burst.
    #[serde(default)]
    pub burst: Option<u32>,
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
    /// The server's CPU time over the measured window (DESIGN §8 P7), when its pid was known
    /// (`--spawn`, `--server-pid`) and `/proc` could be read; `null` otherwise.
    #[serde(default)]
    pub(crate) server_cpu: Option<ServerCpu>,
    /// With `--targets`: the most-asked recipients asked again on every sidecar.
    #[serde(default)]
    pub(crate) recheck: Option<crate::recheck::Recheck>,
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
            server_cpu: outcome
                .server_cpu
                .as_ref()
                .and_then(|cpu| cpu.as_ref().ok())
                .cloned(),
            recheck: None,
        }
    }
}

/// Paths of the files written by [`write_all`].
#[derive(Debug, Clone)]
pub struct ReportFiles {
    /// `results.json`.
    pub json: PathBuf,
    /// `latency.hgrm`: corrected latency.
    pub hgrm: PathBuf,
    /// `service.hgrm`: service time.
    pub service_hgrm: PathBuf,
    /// `latency.svg`.
    pub svg: PathBuf,
}

/// Names of the files in a run's directory.
const RESULTS: &str = "results.json";
/// See [`RESULTS`].
const LATENCY_HGRM: &str = "latency.hgrm";
/// See [`RESULTS`].
const SERVICE_HGRM: &str = "service.hgrm";
/// See [`RESULTS`].
const LATENCY_SVG: &str = "latency.svg";

/// Line colours, one per run on a comparison plot.
const COLORS: [&str; 6] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#17becf",
];

/// The DESIGN §8 latency targets that apply to a run: P4's corrected p99 ≤ 1 ms and p99.9 ≤ 5 ms
/// are for an open loop of picks (PICK, or the peer's EVALSHA); a closed loop (saturation, P2 and
/// P3) and PING have throughput targets, not latency ones.
pub(crate) fn targets(config: &RunMeta) -> Vec<svg::Target> {
    if config.loop_kind != "open" || config.mode == "ping" {
        return Vec::new();
    }
    vec![
        svg::Target {
            label: "P4 target: corrected p99 ≤ 1 ms".into(),
            percentile: 0.99,
            value_ms: 1.0,
        },
        svg::Target {
            label: "P4 target: corrected p99.9 ≤ 5 ms".into(),
            percentile: 0.999,
            value_ms: 5.0,
        },
    ]
}

/// A finished run, as [`plot`] draws it.
#[derive(Debug, Clone)]
pub struct PlottedRun {
    /// Legend name.
    pub label: String,
    /// Its `results.json`.
    pub summary: Summary,
    /// Corrected latency, ms.
    pub corrected: Vec<hgrm::Row>,
    /// Service time, ms.
    pub service: Vec<hgrm::Row>,
}

/// A run's files could not be read back.
#[derive(Debug, Error)]
pub enum LoadError {
    /// Reading a file failed.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// `results.json` is not a loadgen summary.
    #[error("{path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde said.
        source: serde_json::Error,
    },
    /// An `.hgrm` file is not a percentile distribution.
    #[error("{path}: {source}")]
    Hgrm {
        /// The file.
        path: PathBuf,
        /// The bad line.
        source: hgrm::ParseError,
    },
}

impl PlottedRun {
    /// Reads a run's directory (or its `results.json`), named `label` or else after the directory.
    pub fn load(path: &Path, label: Option<String>) -> Result<Self, LoadError> {
        let dir = if path.is_dir() {
            path
        } else {
            path.parent().unwrap_or(Path::new("."))
        };
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path)
                .map(|text| (path.clone(), text))
                .map_err(|source| LoadError::Read { path, source })
        };
        let (json_path, text) = read(RESULTS)?;
        let summary = serde_json::from_str(&text).map_err(|source| LoadError::Json {
            path: json_path,
            source,
        })?;
        let rows = |name: &str| {
            let (path, text) = read(name)?;
            hgrm::parse(&text).map_err(|source| LoadError::Hgrm { path, source })
        };
        let label = label.unwrap_or_else(|| {
            std::fs::canonicalize(dir)
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| dir.display().to_string())
        });
        Ok(Self {
            label,
            summary,
            corrected: rows(LATENCY_HGRM)?,
            service: rows(SERVICE_HGRM)?,
        })
    }
}

/// One run's plot title: what ran, and the rate it achieved.
fn run_title(s: &Summary) -> String {
    format!(
        "{} {} · {} conns × pipeline {} · {} · achieved {:.0}/s",
        s.config.mode,
        s.config.addr,
        s.config.connections,
        s.config.pipeline,
        match s.target_rate {
            Some(r) => format!("target {r:.0}/s"),
            None => "max".to_string(),
        },
        s.achieved_rate
    )
}

/// Draws `runs` on one plot: each run's corrected latency (solid) and service time (dashed) in
/// its own colour (a single run's in two), the targets that apply to any of them, and every run's achieved rate in the
/// title (with the first's as a multiple of the second's when there are two).
pub fn plot(runs: &[PlottedRun]) -> String {
    let title = match runs {
        [one] => run_title(&one.summary),
        _ => {
            let rates: Vec<String> = runs
                .iter()
                .map(|r| format!("{} {:.0}/s", r.label, r.summary.achieved_rate))
                .collect();
            let mut title = rates.join(" vs ");
            if let [a, b] = runs {
                if b.summary.achieved_rate > 0.0 {
                    let ratio = a.summary.achieved_rate / b.summary.achieved_rate;
                    let _ = write!(title, " ({ratio:.2}×)");
                }
            }
            title
        }
    };
    let mut curves = Vec::new();
    let mut all_targets: Vec<svg::Target> = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let prefix = match runs {
            [_] => String::new(),
            _ => format!("{}: ", run.label),
        };
        curves.push(svg::Curve {
            label: format!("{prefix}corrected (from intended send time)"),
            rows: &run.corrected,
            color,
            dashed: false,
        });
        curves.push(svg::Curve {
            label: format!("{prefix}service time (from actual send time)"),
            rows: &run.service,
            // Alone on its plot a run's two curves get two colours; beside others, its own one.
            color: match runs {
                [_] => COLORS[1],
                _ => color,
            },
            dashed: true,
        });
        for t in targets(&run.summary.config) {
            if !all_targets.contains(&t) {
                all_targets.push(t);
            }
        }
    }
    svg::render(&title, &curves, &all_targets)
}

/// Writes `results.json`, `latency.hgrm` (corrected latency, milliseconds), `service.hgrm`
/// (service time, milliseconds) and `latency.svg` into `dir`, creating it if needed.
pub fn write_all(
    dir: &Path,
    summary: &Summary,
    outcome: &RunOutcome,
) -> Result<ReportFiles, ReportError> {
    std::fs::create_dir_all(dir).map_err(err(dir))?;
    let files = ReportFiles {
        json: dir.join(RESULTS),
        hgrm: dir.join(LATENCY_HGRM),
        service_hgrm: dir.join(SERVICE_HGRM),
        svg: dir.join(LATENCY_SVG),
    };
    std::fs::write(&files.json, json::to_string(summary)).map_err(err(&files.json))?;
    let corrected = hgrm::to_string(&outcome.latency, hgrm::MICROS_PER_MILLI);
    std::fs::write(&files.hgrm, &corrected).map_err(err(&files.hgrm))?;
    let service = hgrm::to_string(&outcome.service, hgrm::MICROS_PER_MILLI);
    std::fs::write(&files.service_hgrm, &service).map_err(err(&files.service_hgrm))?;
    let run = PlottedRun {
        label: summary.config.mode.clone(),
        summary: summary.clone(),
        corrected: hgrm::parse(&corrected).expect("our own output parses"),
        service: hgrm::parse(&service).expect("our own output parses"),
    };
    std::fs::write(&files.svg, plot(&[run])).map_err(err(&files.svg))?;
    Ok(files)
}

/// Writes [`plot`]`(runs)` to `path`, creating its directory if needed.
pub fn write_plot(path: &Path, runs: &[PlottedRun]) -> Result<(), ReportError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err(dir))?;
    }
    std::fs::write(path, plot(runs)).map_err(err(path))
}

/// Turns an I/O error on `path` into a [`ReportError`].
fn err(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError {
    let path = path.to_path_buf();
    move |source| ReportError { path, source }
}
