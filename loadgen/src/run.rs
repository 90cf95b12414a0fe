//! One load run: connect everything first (so connection setup is not measured), start the
//! schedule, drive all connections, print progress, and merge what they recorded.

use crate::client::{connect, run_connection, ClientError, ConnConfig, ConnPace, Window};
use crate::pacer::Pacer;
use crate::procstat::{self, ProcError, ServerCpu};
use crate::schedule::{Pace, Schedule};
use crate::stats::{lock, new_histogram, Counts, Progress, Shard};
use crate::workload::Workload;
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Everything a run needs besides the workload.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Connection settings; `conn.addr` is the first of `addrs`.
    pub conn: ConnConfig,
    /// The servers: connection `c` goes to `addrs[c % addrs.len()]` (several sidecars of a
    /// cluster, or one server).
    pub addrs: Vec<String>,
    /// Number of connections.
    pub connections: usize,
    /// Measured time.
    pub duration: Duration,
    /// Time before the measured window, run at the same pace but not recorded.
    pub warmup: Duration,
    /// Open or closed loop.
    pub pace: Pace,
    /// Seed of the per-connection random generators (connection `c` uses `rng_seed + c`).
    pub rng_seed: u64,
    /// Print a progress line to stderr once a second.
    pub progress: bool,
    /// The server's process id, if known: its CPU time over the measured window is read from
    /// `/proc` (DESIGN §8 P7).
    pub server_pid: Option<u32>,
}

/// What a run measured (measured window only).
#[derive(Debug)]
pub struct RunOutcome {
    /// Latency from intended send time, µs.
    pub latency: Histogram<u64>,
    /// Latency from actual send time, µs.
    pub service: Histogram<u64>,
    /// Outcomes.
    pub counts: Counts,
    /// From the start of the measured window to the last reply to one of its requests, and at
    /// least the window's length: a server that falls behind answers the window's requests after
    /// the window, and the time it took counts.
    pub measured: Duration,
    /// The server's CPU time from the start of the measured window until its last reply came
    /// back, when [`RunConfig::server_pid`] was given; an error if `/proc` could not be read.
    pub server_cpu: Option<Result<ServerCpu, ProcError>>,
}

impl RunOutcome {
    /// Replies per second over the measured time: below the target rate when the server could
    /// not keep up, even though every scheduled request was eventually answered.
    pub fn achieved_rate(&self) -> f64 {
        self.counts.replies() as f64 / self.measured.as_secs_f64()
    }
}

/// Runs the load and returns what was measured.
pub async fn run(cfg: &RunConfig, workload: Arc<Workload>) -> Result<RunOutcome, ClientError> {
    // Asked before anything starts, so that `getconf` runs outside the measured window.
    let clock_ticks = cfg.server_pid.map(|_| procstat::clock_ticks_per_second());
    let conn_cfgs: Vec<Arc<ConnConfig>> = cfg
        .addrs
        .iter()
        .map(|addr| {
            Arc::new(ConnConfig {
                addr: addr.clone(),
                ..cfg.conn.clone()
            })
        })
        .collect();
    let conn_cfg = |c: usize| conn_cfgs[c % conn_cfgs.len()].clone();
    let mut conns = Vec::with_capacity(cfg.connections);
    for c in 0..cfg.connections {
        conns.push(connect(&conn_cfg(c)).await?);
    }
    // A short lead so that every task is spawned before the first slot is due.
    let start = Instant::now() + Duration::from_millis(20);
    let window = Window {
        start,
        measure_from: start + cfg.warmup,
        end: start + cfg.warmup + cfg.duration,
    };
    let wakers: Vec<Arc<Notify>> = (0..cfg.connections)
        .map(|_| Arc::new(Notify::new()))
        .collect();
    let _pacer = match cfg.pace {
        Pace::Rate(rate) => Some(Pacer::start(start, window.end, rate, wakers.clone())),
        Pace::Max => None,
    };
    let cpu_before = cfg.server_pid.map(|pid| {
        let at = tokio::time::Instant::from_std(window.measure_from);
        tokio::spawn(async move {
            tokio::time::sleep_until(at).await;
            procstat::snapshot(pid)
        })
    });
    let shards: Vec<_> = (0..cfg.connections).map(|_| Shard::shared()).collect();
    let mut tasks = Vec::with_capacity(cfg.connections);
    for (c, conn) in conns.into_iter().enumerate() {
        let pace = match cfg.pace {
            Pace::Rate(rate) => ConnPace::Open(
                Schedule::new(start, rate, cfg.connections, c),
                wakers[c].clone(),
            ),
            Pace::Max => ConnPace::Closed,
        };
        tasks.push(tokio::spawn(run_connection(
            conn,
            conn_cfg(c),
            workload.clone(),
            pace,
            window,
            shards[c].clone(),
            cfg.rng_seed.wrapping_add(c as u64),
        )));
    }
    let progress = cfg.progress.then(|| {
        let mut p = Progress::new(shards.clone(), start, window.measure_from, window.end);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(
                tokio::time::Instant::from_std(start + Duration::from_secs(1)),
                Duration::from_secs(1),
            );
            loop {
                tick.tick().await;
                eprintln!("{}", p.line(Instant::now()));
            }
        })
    });
    let mut result = Ok(());
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(e),
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }
    // Every connection is done, so every reply of the window is in: the server's CPU time up to
    // here is what the window's requests cost (plus whatever it does in the background).
    let cpu_after = cfg.server_pid.map(procstat::snapshot);
    if let Some(p) = progress {
        p.abort();
    }
    result?;

    let mut outcome = RunOutcome {
        latency: new_histogram(),
        service: new_histogram(),
        counts: Counts::default(),
        measured: cfg.duration,
        server_cpu: None,
    };
    for shard in &shards {
        let s = lock(shard);
        if let Some(last) = s.last_measured_reply {
            let took = last.saturating_duration_since(window.measure_from);
            outcome.measured = outcome.measured.max(took);
        }
        // Same bounds everywhere (`new_histogram`), so adding cannot fail.
        let _ = outcome.latency.add(&s.latency);
        let _ = outcome.service.add(&s.service);
        outcome.counts.merge(&s.counts);
    }
    if let (Some(pid), Some(ticks), Some(before), Some(after)) =
        (cfg.server_pid, clock_ticks, cpu_before, cpu_after)
    {
        let before = match before.await {
            Ok(snapshot) => snapshot,
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        };
        let replies = outcome.counts.replies();
        outcome.server_cpu = Some(
            before
                .and_then(|b| Ok((b, after?)))
                .map(|(b, a)| ServerCpu::between(pid, &b, &a, ticks, replies)),
        );
    }
    Ok(outcome)
}
