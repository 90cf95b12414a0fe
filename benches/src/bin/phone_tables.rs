//! The phone-number tables (DESIGN §3.2 rule 1): their size on disk, the memory the region
//! table takes, and how long each takes to read. Prints one table; `docs/benchmarks.md`
//! records the figures.
//!
//! `cargo run --release -p numpool-benches --bin phone-tables [-- RUNS]`

use std::time::{Duration, Instant};

use numpool_core::model::classify::Classifier;
use numpool_core::model::regions::RegionTable;

/// Reads timed per table when no count is given.
const DEFAULT_RUNS: usize = 20;
/// The committed tables, from this package's directory.
const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../engine/core/data");

fn main() {
    let runs = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("RUNS is a count"))
        .unwrap_or(DEFAULT_RUNS);
    for file in ["countries.tsv", "regions.tsv"] {
        let bytes = std::fs::metadata(format!("{DATA}/{file}"))
            .expect("the committed table")
            .len();
        println!("{file}: {bytes} bytes committed");
    }
    // The first read, alone, is the one a server pays; its heap is what stays resident.
    let before = anon_kib();
    let started = Instant::now();
    let table = RegionTable::load().expect("regions.tsv reads");
    let first = started.elapsed();
    let heap = anon_kib().saturating_sub(before);
    println!(
        "regions: {} prefixes, {} names; heap after the first read {heap} KiB (RssAnon delta), first read {first:.2?}",
        table.prefix_count(),
        table.name_count()
    );
    drop(table);
    let regions = time(runs, || {
        drop(RegionTable::load().expect("regions.tsv reads"))
    });
    println!("regions read, {runs} runs: {}", summary(&regions));
    // The classifier borrows the process-wide region table, read above its first time here.
    let countries = time(runs, || {
        drop(Classifier::load().expect("countries.tsv reads"))
    });
    println!(
        "countries read (region table already loaded), {runs} runs: {}",
        summary(&countries)
    );
}

/// Each run's duration, sorted.
fn time(runs: usize, mut f: impl FnMut()) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn summary(times: &[Duration]) -> String {
    format!(
        "min {:.2?}, median {:.2?}, max {:.2?}",
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    )
}

/// The process's anonymous resident memory (`RssAnon` in `/proc/self/status`), in KiB.
fn anon_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix("RssAnon:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("RssAnon in /proc/self/status")
}
