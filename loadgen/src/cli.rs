//! Command-line interface. `loadgen [run] …` drives a RESP server; `loadgen seed …` creates what
//! a pick run needs; `loadgen plot …` draws finished runs on one plot. `run` is the default, so
//! `loadgen --max --mode ping` works.

use crate::countries::DEFAULT_MIX;
use crate::seed::SeedLimits;
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Top level: a subcommand, or the `run` flags directly.
#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    version,
    about = "Load generator for numpool's RESP sidecar",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    args_override_self = true
)]
pub struct Cli {
    /// Explicit subcommand; none means `run`.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags of the default `run`.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Drive a RESP server and report latency (the default).
    Run(Box<RunArgs>),
    /// Create inventory and a pool on a numpool (REST) or the Lua peer's keys in Redis.
    Seed(SeedArgs),
    /// Draw finished runs (their output directories) on one latency plot.
    #[command(alias = "compare")]
    Plot(PlotArgs),
}

/// Which command to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
    /// `PICK <pool> <to>`.
    Pick,
    /// `PING`.
    Ping,
    /// `EVALSHA <sha> 0 <pool> <to>` (needs `--script-sha`).
    Evalsha,
}

/// Flags of `loadgen run`.
#[derive(Debug, Clone, Args)]
// A later flag overrides an earlier one, so scripts can append overrides to default flag lists.
#[command(
    group(ArgGroup::new("pace").args(["rate", "max"]).required(true)),
    args_override_self = true
)]
pub struct RunArgs {
    /// RESP server address (ignored with --spawn).
    #[arg(long, default_value = "127.0.0.1:7400")]
    pub(crate) addr: String,
    /// Cluster mode: the RESP addresses of several sidecars (comma-separated), instead of
    /// --addr. Connections are spread over them in turn, and after the run the most-asked
    /// recipients are asked again on every sidecar: any two answers that differ are reported
    /// as disagreements.
    #[arg(long, value_delimiter = ',', conflicts_with = "spawn")]
    pub(crate) targets: Vec<String>,
    /// Send `AUTH KEY SECRET` on every connection (and use them for --seed-pool).
    #[arg(long, num_args = 2, value_names = ["KEY", "SECRET"])]
    pub(crate) auth: Option<Vec<String>>,
    /// Command to send.
    #[arg(long, value_enum, default_value_t = ModeArg::Pick)]
    pub(crate) mode: ModeArg,
    /// Pool id for pick and evalsha.
    #[arg(long, default_value = "loadgen")]
    pub(crate) pool: String,
    /// SHA1 of the loaded Lua script, for --mode evalsha.
    #[arg(long, required_if_eq("mode", "evalsha"))]
    pub(crate) script_sha: Option<String>,
    /// Connections.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) connections: u32,
    /// Maximum requests in flight per connection.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) pipeline: u32,
    /// Measured time (e.g. 10s, 500ms, 2m).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) duration: Duration,
    /// Time before measuring, same load, not recorded.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    pub(crate) warmup: Duration,
    /// Open loop: total requests per second over all connections.
    #[arg(long, value_parser = parse_rate)]
    pub(crate) rate: Option<f64>,
    /// Closed loop: as fast as replies come back.
    #[arg(long)]
    pub(crate) max: bool,
    /// Distinct recipients.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) recipients: u64,
    /// Zipf exponent of recipient popularity (0 = uniform).
    #[arg(long, default_value_t = 1.0)]
    pub(crate) zipf_s: f64,
    /// Country mix of recipients (and of --seed-pool's inventory).
    #[arg(long, default_value = DEFAULT_MIX)]
    pub(crate) countries: String,
    /// A request unanswered this long fails as `timeout` and its connection is reset.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,
    /// Seed of the random generators (runs with the same seed send the same recipients).
    #[arg(long, default_value_t = 1)]
    pub(crate) rng_seed: u64,
    /// Runtime worker threads of loadgen itself (it shares the machine with the server).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: u32,
    /// Directory for results.json, latency.hgrm, service.hgrm and latency.svg. Without it every
    /// run gets its own: `loadgen-out/<UTC time>-<mode>-<max or rate>/`.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// No progress line.
    #[arg(long)]
    pub(crate) quiet: bool,
    /// Start this numpool binary (`serve --demo`, temp data dir, free ports) and run against it;
    /// its CPU time per request is reported as with --server-pid.
    #[arg(long, value_name = "PATH_TO_NUMPOOL")]
    pub(crate) spawn: Option<PathBuf>,
    /// The server's process id (a server loadgen did not spawn): report its CPU time per request
    /// and per thread over the measured window, from /proc (Linux).
    #[arg(long, value_name = "PID", conflicts_with = "spawn")]
    pub(crate) server_pid: Option<u32>,
    /// Seed inventory and the pool over REST before running (needs --auth).
    #[arg(long)]
    pub(crate) seed_pool: bool,
    /// REST base URL for --seed-pool (ignored with --spawn).
    #[arg(long, default_value = "http://127.0.0.1:7401")]
    pub(crate) http: String,
    /// Inventory size for --seed-pool, and where --receipts finds its senders.
    #[arg(long, default_value_t = 1_000)]
    pub(crate) numbers: u64,
    /// Share of requests (0 to 1) that are delivery receipts (`REPORT`) for the recipient drawn,
    /// from a number of the seeded inventory (--numbers) in its country; --mode pick only.
    #[arg(long, default_value_t = 0.0, value_parser = parse_share)]
    pub(crate) receipts: f64,
    /// Throughput limits for --seed-pool's numbers.
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

/// A throughput limit on every seeded number: the workload with limits of issue 14.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Messages per second each seeded number may send (numpool's `mps`); none by default.
    #[arg(long, value_parser = parse_rate)]
    pub(crate) mps: Option<f64>,
    /// Messages each seeded number may send at once (`burst`), with --mps.
    #[arg(long, default_value_t = 1, requires = "mps", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) burst: u32,
}

impl LimitArgs {
    /// The limit to seed, if any.
    pub(crate) fn seed_limits(&self) -> Option<SeedLimits> {
        self.mps.map(|mps| SeedLimits {
            mps,
            burst: self.burst,
        })
    }
}

/// Flags of `loadgen seed`.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// REST base URL of numpool.
    #[arg(long, default_value = "http://127.0.0.1:7401")]
    pub(crate) http: String,
    /// Account key and secret (HTTP Basic auth; the key is also the account id in paths).
    #[arg(long, num_args = 2, value_names = ["KEY", "SECRET"], required_unless_present_any = ["redis", "dry_run"])]
    pub(crate) auth: Option<Vec<String>>,
    /// Pool id to create and fill.
    #[arg(long, default_value = "loadgen")]
    pub(crate) pool: String,
    /// Inventory numbers, spread over the country mix.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) numbers: u64,
    /// Country mix.
    #[arg(long, default_value = DEFAULT_MIX)]
    pub(crate) countries: String,
    /// Print the calls instead of sending them.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Instead of numpool, load the same numbers into this Redis (host:port) for pick.lua.
    #[arg(long, value_name = "ADDR")]
    pub(crate) redis: Option<String>,
    /// Throughput limits for the numbers (numpool only: pick.lua has none).
    #[command(flatten)]
    pub(crate) limits: LimitArgs,
}

/// Flags of `loadgen plot`.
#[derive(Debug, Clone, Args)]
pub struct PlotArgs {
    /// Output directories of finished runs (or their results.json), drawn in this order.
    #[arg(required = true, value_name = "RUN")]
    pub(crate) runs: Vec<PathBuf>,
    /// Legend name of each run, in order (default: the directory's name).
    #[arg(long)]
    pub(crate) label: Vec<String>,
    /// The SVG to write.
    #[arg(long, default_value = "compare.svg")]
    pub(crate) out: PathBuf,
}

/// Splits `--auth KEY SECRET` into a pair.
pub(crate) fn auth_pair(auth: &Option<Vec<String>>) -> Option<(String, String)> {
    match auth.as_deref() {
        Some([k, s]) => Some((k.clone(), s.clone())),
        _ => None,
    }
}

/// `10s`, `500ms`, `2m`, `1.5s`, or a bare number of seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("bad duration '{s}'"))?;
    let secs = match unit {
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("bad duration unit in '{s}' (use ms, s, m or h)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("bad duration '{s}'"))
}

/// A share: a number from 0 to 1.
fn parse_share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("'{text}' is not a share from 0 to 1")),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r > 0.0 && r.is_finite() => Ok(r),
        _ => Err(format!("rate must be a positive number, got '{s}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("3 weeks").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn run_is_the_default_and_pace_is_required() {
        let cli = Cli::try_parse_from(["loadgen", "--max", "--mode", "ping"]).unwrap();
        assert!(cli.command.is_none());
        assert!(cli.run.max && cli.run.mode == ModeArg::Ping);
        assert!(Cli::try_parse_from(["loadgen"]).is_err());
        assert!(Cli::try_parse_from(["loadgen", "--rate", "10", "--max"]).is_err());
        let cli = Cli::try_parse_from([
            "loadgen",
            "run",
            "--rate",
            "1000",
            "--auth",
            "k",
            "s",
            "--pipeline",
            "8",
        ])
        .unwrap();
        let Some(Command::Run(run)) = cli.command else {
            panic!("not run")
        };
        assert_eq!(run.rate, Some(1000.0));
        assert_eq!(auth_pair(&run.auth), Some(("k".into(), "s".into())));
        assert!(Cli::try_parse_from(["loadgen", "--max", "--mode", "evalsha"]).is_err());
        // Later flags override earlier ones (compare.sh appends overrides to its defaults).
        let cli = Cli::try_parse_from([
            "loadgen",
            "run",
            "--max",
            "--duration",
            "10s",
            "--duration",
            "3s",
        ])
        .unwrap();
        let Some(Command::Run(run)) = cli.command else {
            panic!("not run")
        };
        assert_eq!(run.duration, Duration::from_secs(3));
    }

    #[test]
    fn server_pid_and_plot() {
        let cli = Cli::try_parse_from(["loadgen", "--max", "--server-pid", "42"]).unwrap();
        assert_eq!(cli.run.server_pid, Some(42));
        assert!(cli.run.out.is_none());
        assert!(
            Cli::try_parse_from(["loadgen", "--max", "--server-pid", "42", "--spawn", "x"])
                .is_err()
        );
        let cli = Cli::try_parse_from([
            "loadgen", "compare", "a", "b", "--label", "A", "--label", "B",
        ])
        .unwrap();
        let Some(Command::Plot(plot)) = cli.command else {
            panic!("not plot")
        };
        assert_eq!(plot.runs.len(), 2);
        assert_eq!(plot.label, ["A", "B"]);
        assert!(Cli::try_parse_from(["loadgen", "plot"]).is_err());
    }

    #[test]
    fn seed_needs_credentials_unless_dry_or_redis() {
        assert!(Cli::try_parse_from(["loadgen", "seed"]).is_err());
        assert!(Cli::try_parse_from(["loadgen", "seed", "--dry-run"]).is_ok());
        assert!(Cli::try_parse_from(["loadgen", "seed", "--redis", "127.0.0.1:1"]).is_ok());
        assert!(Cli::try_parse_from(["loadgen", "seed", "--auth", "k", "s"]).is_ok());
    }
}
