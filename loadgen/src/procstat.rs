//! The server's CPU time from `/proc` (DESIGN §8 P7): `utime + stime` of the process from
//! `/proc/<pid>/stat` and of each of its threads from `/proc/<pid>/task/<tid>/stat`, read before
//! and after the measured phase.
//!
//! Reading two numbers out of a text file does not need a crate: `procfs` would bring `rustix`,
//! `bitflags` and more for it, and `libc::sysconf(_SC_CLK_TCK)` is an `unsafe` call the workspace
//! forbids (and `libc` is no dependency of ours). The clock tick is asked of `getconf CLK_TCK`
//! once instead (see [`clock_ticks_per_second`]).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use thiserror::Error;

/// A `/proc` file could not be read or understood.
#[derive(Debug, Error)]
pub enum ProcError {
    /// Reading failed (no such process, or not Linux).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The text is not a `stat` line.
    #[error("{path}: not a /proc stat line: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: &'static str,
    },
}

/// The fields of one `stat` line that CPU accounting needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStat {
    /// The `comm` field without its parentheses: the thread (or process) name.
    pub comm: String,
    /// User time, clock ticks.
    pub utime: u64,
    /// System time, clock ticks.
    pub stime: u64,
}

impl TaskStat {
    /// User plus system time, clock ticks.
    pub fn ticks(&self) -> u64 {
        self.utime + self.stime
    }
}

/// Parses a `/proc/<pid>/stat` line. `comm` (field 2) is in parentheses and may itself contain
/// spaces and parentheses, so it runs from the first `(` to the **last** `)`; the fields after it
/// are counted from there (`utime` and `stime` are fields 14 and 15).
pub fn parse_stat(line: &str) -> Result<TaskStat, &'static str> {
    let open = line.find('(').ok_or("no '(' before comm")?;
    let close = line.rfind(')').ok_or("no ')' after comm")?;
    if close < open {
        return Err("')' before '('");
    }
    let comm = line[open + 1..close].to_string();
    // Field 3 (state) is the first after the ')', so field n is at index n - 3.
    let rest: Vec<&str> = line[close + 1..].split_whitespace().collect();
    let field = |n: usize| -> Result<u64, &'static str> {
        rest.get(n - 3)
            .ok_or("too few fields")?
            .parse()
            .map_err(|_| "utime or stime is not a number")
    };
    Ok(TaskStat {
        comm,
        utime: field(14)?,
        stime: field(15)?,
    })
}

/// The process's and its threads' CPU time at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The whole process (threads that already exited included), clock ticks.
    pub process_ticks: u64,
    /// Live threads by id: name and clock ticks.
    pub threads: BTreeMap<u32, TaskStat>,
}

fn read_stat(path: PathBuf) -> Result<TaskStat, ProcError> {
    let text = std::fs::read_to_string(&path).map_err(|source| ProcError::Read {
        path: path.clone(),
        source,
    })?;
    parse_stat(&text).map_err(|reason| ProcError::Parse { path, reason })
}

/// Reads `/proc/<pid>/stat` and every `/proc/<pid>/task/*/stat`. A thread that exits between
/// the listing and its read is left out (its time is still in the process total).
pub fn snapshot(pid: u32) -> Result<Snapshot, ProcError> {
    let base = PathBuf::from(format!("/proc/{pid}"));
    let process_ticks = read_stat(base.join("stat"))?.ticks();
    let tasks = base.join("task");
    let entries = std::fs::read_dir(&tasks).map_err(|source| ProcError::Read {
        path: tasks.clone(),
        source,
    })?;
    let mut threads = BTreeMap::new();
    for entry in entries.flatten() {
        let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        match read_stat(entry.path().join("stat")) {
            Ok(stat) => {
                threads.insert(tid, stat);
            }
            Err(ProcError::Read { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Snapshot {
        process_ticks,
        threads,
    })
}

/// Clock ticks per second, the unit of `utime` and `stime`: `getconf CLK_TCK`, asked once per
/// run. If `getconf` is missing, 100: `USER_HZ`, what `/proc` reports in, is 100 on every Linux
/// architecture this runs on (x86, arm, riscv), whatever the kernel's internal `HZ`.
pub fn clock_ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// One thread's part of the server's CPU time over the measured phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadCpu {
    /// Thread id.
    pub tid: u32,
    /// Thread name (`comm`), as it was at the end of the phase.
    pub name: String,
    /// User plus system seconds.
    pub cpu_s: f64,
    /// Fraction of the process's CPU time over the phase.
    pub share: f64,
}

/// The server's CPU time over the measured phase, per request and per thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerCpu {
    /// The server's process id.
    pub pid: u32,
    /// Clock ticks per second used to convert `/proc`'s figures.
    pub clock_ticks_per_s: u64,
    /// User plus system seconds of the whole process over the phase (or of its threads together,
    /// if the reads' skew made that a tick larger).
    pub cpu_s: f64,
    /// Replies the phase's requests got (what the CPU time is divided by).
    pub requests: u64,
    /// Server CPU per reply, µs (`null` when there were no replies).
    pub us_per_request: Option<f64>,
    /// Threads that used CPU in the phase, busiest first.
    pub threads: Vec<ThreadCpu>,
}

impl ServerCpu {
    /// The CPU time between `before` and `after`, divided over `requests` replies.
    pub fn between(
        pid: u32,
        before: &Snapshot,
        after: &Snapshot,
        clock_ticks_per_s: u64,
        requests: u64,
    ) -> Self {
        let secs = |ticks: u64| ticks as f64 / clock_ticks_per_s as f64;
        let per_thread: Vec<(u32, &TaskStat, u64)> = after
            .threads
            .iter()
            .map(|(&tid, stat)| {
                // A thread started during the phase spent all its time in it.
                let earlier = before.threads.get(&tid).map_or(0, TaskStat::ticks);
                (tid, stat, stat.ticks().saturating_sub(earlier))
            })
            .collect();
        // The files are read one after another while the server runs, so the threads' ticks can
        // add up to a tick or two more than the process's: the larger sum is the total.
        let total = after
            .process_ticks
            .saturating_sub(before.process_ticks)
            .max(per_thread.iter().map(|t| t.2).sum());
        let mut threads: Vec<ThreadCpu> = per_thread
            .into_iter()
            .filter(|t| t.2 > 0)
            .map(|(tid, stat, ticks)| ThreadCpu {
                tid,
                name: stat.comm.clone(),
                cpu_s: secs(ticks),
                share: ticks as f64 / total as f64,
            })
            .collect();
        threads.sort_by(|a, b| b.cpu_s.total_cmp(&a.cpu_s).then(a.tid.cmp(&b.tid)));
        let cpu_s = secs(total);
        Self {
            pid,
            clock_ticks_per_s,
            cpu_s,
            requests,
            us_per_request: (requests > 0).then(|| cpu_s * 1e6 / requests as f64),
            threads,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_with_spaces_and_parentheses() {
        // A real line's shape (fields 1..=52), with a hostile thread name.
        let line = "4242 (actix (rt) :) x) S 1 4242 4242 0 -1 4194560 1292 0 0 0 \
                    731 214 0 0 20 0 12 0 123456 1052672000 2890 18446744073709551615 \
                    1 1 0 0 0 0 0 4096 17663 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.comm, "actix (rt) :) x");
        assert_eq!((stat.utime, stat.stime), (731, 214));
        assert_eq!(stat.ticks(), 945);
        let plain = parse_stat("7 (tokio-runtime-w) R 1 1 1 0 -1 0 0 0 0 0 5 6 0 0").unwrap();
        assert_eq!(
            (plain.comm.as_str(), plain.utime, plain.stime),
            ("tokio-runtime-w", 5, 6)
        );
    }

    #[test]
    fn malformed_lines() {
        assert!(parse_stat("").is_err());
        assert!(parse_stat("1 (x) S 1 2 3").is_err(), "too short");
        assert!(parse_stat("1 )x( S 1 1 1 0 -1 0 0 0 0 0 5 6").is_err());
        assert!(parse_stat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 five 6").is_err());
    }

    #[test]
    fn our_own_process_reads() {
        let me = snapshot(std::process::id()).unwrap();
        assert!(!me.threads.is_empty());
        assert!(me.threads.contains_key(&std::process::id()));
        assert!(clock_ticks_per_second() > 0);
        assert!(snapshot(u32::MAX).is_err());
    }

    #[test]
    fn deltas_and_shares() {
        let stat = |comm: &str, u, s| TaskStat {
            comm: comm.into(),
            utime: u,
            stime: s,
        };
        let before = Snapshot {
            process_ticks: 1_000,
            threads: BTreeMap::from([(1, stat("main", 500, 100)), (2, stat("idle", 50, 0))]),
        };
        let after = Snapshot {
            process_ticks: 1_400,
            threads: BTreeMap::from([
                (1, stat("main", 700, 200)),
                (2, stat("idle", 50, 0)),
                (3, stat("new one", 80, 20)),
            ]),
        };
        let cpu = ServerCpu::between(9, &before, &after, 100, 2_000_000);
        assert_eq!(cpu.cpu_s, 4.0);
        assert_eq!(cpu.us_per_request, Some(2.0));
        let rows: Vec<(u32, &str, f64, f64)> = cpu
            .threads
            .iter()
            .map(|t| (t.tid, t.name.as_str(), t.cpu_s, t.share))
            .collect();
        assert_eq!(rows, [(1, "main", 3.0, 0.75), (3, "new one", 1.0, 0.25)]);
        assert_eq!(
            ServerCpu::between(9, &before, &before, 100, 0).us_per_request,
            None
        );
        // Threads read a tick later than the process: shares still sum to 1.
        let skewed = Snapshot {
            process_ticks: 1_390,
            ..after
        };
        let cpu = ServerCpu::between(9, &before, &skewed, 100, 1);
        assert_eq!(cpu.cpu_s, 4.0);
        assert_eq!(cpu.threads.iter().map(|t| t.share).sum::<f64>(), 1.0);
    }
}
