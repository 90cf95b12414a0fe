//! What the subcommands do, end to end: the glue between the CLI and the modules.

use crate::cli::{auth_pair, ModeArg, PlotArgs, RunArgs, SeedArgs};
use crate::client::{ClientError, ConnConfig};
use crate::countries::{parse_mix, MixError};
use crate::procstat::{self, ProcError};
use crate::recheck;
use crate::report::{self, LoadError, PlottedRun, ReportError, RunMeta, Summary};
use crate::run::{run, RunConfig};
use crate::schedule::Pace;
use crate::seed::{self, SeedError};
use crate::spawn::{spawn, SpawnError};
use crate::workload::{Mode, Receipts, Workload};
use crate::zipf::ZipfError;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Any failure of a subcommand.
#[derive(Debug, Error)]
pub enum AppError {
    /// Bad `--countries`.
    #[error(transparent)]
    Mix(#[from] MixError),
    /// Bad Zipf parameters.
    #[error(transparent)]
    Zipf(#[from] ZipfError),
    /// Connecting or authenticating failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Seeding failed.
    #[error(transparent)]
    Seed(#[from] SeedError),
    /// `--spawn` failed.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// Writing the report failed.
    #[error(transparent)]
    Report(#[from] ReportError),
    /// Reading a finished run back failed.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// `--server-pid` names no readable process.
    #[error("--server-pid: {0}")]
    ServerPid(#[from] ProcError),
    /// A flag combination that cannot work.
    #[error("{0}")]
    Usage(String),
}

/// How long a spawned numpool may take to answer PING.
const SPAWN_READY: Duration = Duration::from_secs(30);

/// `loadgen run`: optionally spawn and seed, run, print the table, write the files.
pub async fn run_command(args: RunArgs) -> Result<Summary, AppError> {
    let mix = parse_mix(&args.countries)?;
    let mode = match args.mode {
        ModeArg::Pick => Mode::Pick {
            pool: args.pool.clone(),
        },
        ModeArg::Ping => Mode::Ping,
        ModeArg::Evalsha => Mode::EvalSha {
            sha: args.script_sha.clone().unwrap_or_default(),
            pool: args.pool.clone(),
        },
    };
    let auth = auth_pair(&args.auth);
    if args.seed_pool && auth.is_none() {
        return Err(AppError::Usage(
            "--seed-pool needs --auth KEY SECRET".into(),
        ));
    }
    if let Some(pid) = args.server_pid {
        procstat::snapshot(pid)?;
    }
    // Claimed before the run, so that a run that cannot write its results fails before it starts.
    let out = match &args.out {
        Some(dir) => dir.clone(),
        None => {
            let pace = match args.rate {
                Some(r) => format!("{r:.0}rps"),
                None => "max".to_string(),
            };
            let what = format!("{}-{pace}", mode.name());
            let now = time::OffsetDateTime::now_utc();
            report::outdir::claim(report::outdir::DEFAULT_BASE.as_ref(), now, &what)?
        }
    };
    // Built before anything starts: encoding 100k+ commands takes a moment of CPU.
    if args.receipts > 0.0 && args.mode != ModeArg::Pick {
        return Err(AppError::Usage("--receipts needs --mode pick".into()));
    }
    let receipts = Receipts {
        share: args.receipts,
        inventory: args.numbers,
    };
    let workload = Arc::new(Workload::with_receipts(
        &mode,
        &mix,
        args.recipients,
        args.zipf_s,
        Some(receipts),
    )?);

    let spawned = match &args.spawn {
        Some(path) => {
            let s = spawn(path, SPAWN_READY).await?;
            eprintln!(
                "spawned {} (resp {}, http {})",
                path.display(),
                s.resp,
                s.http
            );
            Some(s)
        }
        None => None,
    };
    let addr = spawned
        .as_ref()
        .map_or(args.addr.clone(), |s| s.resp.to_string());
    let seeded_limits = args.limits.seed_limits().filter(|_| args.seed_pool);
    if let Some((key, secret)) = auth.as_ref().filter(|_| args.seed_pool) {
        let http = spawned
            .as_ref()
            .map_or(args.http.clone(), |s| format!("http://{}", s.http));
        let numbers = seed::inventory(&mix, args.numbers, args.limits.seed_limits());
        let calls = seed::plan(key, &args.pool, &numbers);
        let statuses = seed::execute(&http, key, secret, &calls).await?;
        eprintln!(
            "seeded {} numbers into pool {} at {http}: {statuses:?}",
            numbers.len(),
            args.pool
        );
    }

    let pace = match args.rate {
        Some(r) => Pace::Rate(r),
        None => Pace::Max,
    };
    let addrs = if args.targets.is_empty() {
        vec![addr.clone()]
    } else {
        args.targets.clone()
    };
    let cfg = RunConfig {
        conn: ConnConfig {
            addr: addrs[0].clone(),
            auth,
            pipeline: args.pipeline as usize,
            timeout: args.timeout,
        },
        addrs: addrs.clone(),
        connections: args.connections as usize,
        duration: args.duration,
        warmup: args.warmup,
        pace,
        rng_seed: args.rng_seed,
        progress: !args.quiet,
        server_pid: spawned.as_ref().and_then(|s| s.pid()).or(args.server_pid),
    };
    let outcome = run(&cfg, workload.clone()).await;
    if let Some(s) = spawned {
        s.stop().await;
    }
    let outcome = outcome?;
    let recheck = match addrs.len() {
        1 => None,
        _ => {
            let targets: Vec<ConnConfig> = addrs
                .iter()
                .map(|addr| ConnConfig {
                    addr: addr.clone(),
                    ..cfg.conn.clone()
                })
                .collect();
            Some(recheck::recheck(&targets, &workload).await?)
        }
    };

    let meta = RunMeta {
        addr: addrs[0].clone(),
        targets: args.targets.clone(),
        mode: mode.name().to_string(),
        pool: (mode != Mode::Ping).then(|| args.pool.clone()),
        script_sha: args
            .script_sha
            .clone()
            .filter(|_| args.mode == ModeArg::Evalsha),
        connections: cfg.connections,
        pipeline: cfg.conn.pipeline,
        loop_kind: if args.max { "closed" } else { "open" }.to_string(),
        duration_s: args.duration.as_secs_f64(),
        warmup_s: args.warmup.as_secs_f64(),
        recipients: args.recipients,
        zipf_s: args.zipf_s,
        countries: mix.iter().map(|c| c.iso.to_string()).collect(),
        timeout_s: args.timeout.as_secs_f64(),
        rng_seed: args.rng_seed,
        receipts: args.receipts,
        mps: seeded_limits.map(|l| l.mps),
        burst: seeded_limits.map(|l| l.burst),
    };
    if let Some(Err(e)) = &outcome.server_cpu {
        eprintln!("warning: no server CPU figure: {e}");
    }
    let mut summary = Summary::new(meta, args.rate, &outcome);
    summary.recheck = recheck;
    print!("{}", report::table::render(&summary));
    let files = report::write_all(&out, &summary, &outcome)?;
    eprintln!(
        "wrote {}, {}, {}, {}",
        files.json.display(),
        files.hgrm.display(),
        files.service_hgrm.display(),
        files.svg.display()
    );
    Ok(summary)
}

/// `loadgen seed`.
pub async fn seed_command(args: SeedArgs) -> Result<(), AppError> {
    let mix = parse_mix(&args.countries)?;
    let numbers = seed::inventory(&mix, args.numbers, args.limits.seed_limits());
    if let Some(addr) = &args.redis {
        if args.dry_run {
            println!(
                "would load {} numbers into {addr} as lists {} and {}",
                numbers.len(),
                seed::redis_keys::country(&args.pool, "<CC>"),
                seed::redis_keys::all(&args.pool)
            );
            return Ok(());
        }
        let n = seed::seed_redis(addr, &args.pool, &numbers).await?;
        eprintln!(
            "loaded {n} list entries for pool {} into redis {addr}",
            args.pool
        );
        return Ok(());
    }
    let (key, secret) = auth_pair(&args.auth).unwrap_or_else(|| ("KEY".into(), "SECRET".into()));
    let calls = seed::plan(&key, &args.pool, &numbers);
    if args.dry_run {
        print!("{}", seed::describe(&args.http, &calls));
        return Ok(());
    }
    let statuses = seed::execute(&args.http, &key, &secret, &calls).await?;
    eprintln!(
        "seeded {} numbers into pool {} in {} calls: statuses {statuses:?}",
        numbers.len(),
        args.pool,
        calls.len()
    );
    Ok(())
}

/// `loadgen plot`: reads finished runs and draws them on one SVG.
pub fn plot_command(args: &PlotArgs) -> Result<(), AppError> {
    if args.label.len() > args.runs.len() {
        return Err(AppError::Usage(format!(
            "{} labels for {} runs",
            args.label.len(),
            args.runs.len()
        )));
    }
    let runs = args
        .runs
        .iter()
        .enumerate()
        .map(|(i, path)| PlottedRun::load(path, args.label.get(i).cloned()))
        .collect::<Result<Vec<_>, _>>()?;
    report::write_plot(&args.out, &runs)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
