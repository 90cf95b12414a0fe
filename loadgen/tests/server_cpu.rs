//! DESIGN §8 P7 from the client side: `loadgen run --spawn <numpool>` reads the server's CPU time
//! from /proc and writes it, per request and per thread, into results.json; and a run without
//! `--out` gets a directory of its own.
//!
//! It needs the `numpool` binary: `NUMPOOL_BIN`, or the one next to this package's `loadgen` in
//! the target directory (`cargo build -p numpool`; `cargo test --workspace` builds it). Without
//! either it fails, naming what to build: it never passes without having run.

use std::path::PathBuf;
use std::process::Command;

/// The numpool binary to spawn.
fn numpool() -> PathBuf {
    if let Some(path) = std::env::var_os("NUMPOOL_BIN") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "NUMPOOL_BIN={} is not a file",
            path.display()
        );
        return path;
    }
    let next_to_loadgen = PathBuf::from(env!("CARGO_BIN_EXE_loadgen")).with_file_name("numpool");
    assert!(
        next_to_loadgen.is_file(),
        "no numpool binary at {} (run `cargo build -p numpool` or set NUMPOOL_BIN)",
        next_to_loadgen.display()
    );
    next_to_loadgen
}

/// .ci/run's smoke run, `--out` left to `out`, in `cwd`, with `extra` flags.
fn smoke_run(
    numpool: &PathBuf,
    cwd: &std::path::Path,
    out: Option<&std::path::Path>,
    extra: &[&str],
) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    cmd.current_dir(cwd)
        .arg("run")
        .arg("--spawn")
        .arg(numpool)
        .args([
            "--auth",
            "demo0001",
            "demo-secret",
            "--seed-pool",
            "--pool",
            "smoke",
        ])
        .args(["--numbers", "200", "--connections", "2", "--pipeline", "8"])
        .args([
            "--rate",
            "2000",
            "--duration",
            "3s",
            "--warmup",
            "1s",
            "--quiet",
        ])
        .args(extra);
    if let Some(out) = out {
        cmd.arg("--out").arg(out);
    }
    let output = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "loadgen failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("server cpu"), "{stdout}");
    assert!(stdout.contains("µs/request"), "{stdout}");
}

#[test]
fn a_spawned_servers_cpu_per_request_and_threads_are_in_results_json() {
    let numpool = numpool();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smoke");
    smoke_run(&numpool, dir.path(), Some(&out), &[]);

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert!(
        json["ok"].as_u64().unwrap() > 0 && json["error_total"] == 0,
        "{json}"
    );
    let cpu = &json["server_cpu"];
    assert!(cpu["pid"].as_u64().unwrap() > 0, "{cpu}");
    assert!(cpu["clock_ticks_per_s"].as_u64().unwrap() > 0, "{cpu}");
    assert!(cpu["cpu_s"].as_f64().unwrap() > 0.0, "{cpu}");
    let per_request = cpu["us_per_request"].as_f64().unwrap();
    assert!(per_request > 0.0, "{cpu}");
    // ~6,000 replies in a 3 s window at 2,000/s.
    let requests = cpu["requests"].as_u64().unwrap();
    assert!(
        requests > 3_000 && requests <= json["requests"].as_u64().unwrap(),
        "{cpu}"
    );
    let threads = cpu["threads"].as_array().unwrap();
    assert!(!threads.is_empty(), "{cpu}");
    let mut shares = 0.0;
    for t in threads {
        assert!(t["tid"].as_u64().unwrap() > 0, "{t}");
        assert!(!t["name"].as_str().unwrap().is_empty(), "{t}");
        assert!(t["cpu_s"].as_f64().unwrap() > 0.0, "{t}");
        shares += t["share"].as_f64().unwrap();
    }
    // Threads that exited during the window are in the process total but not listed.
    assert!(
        shares > 0.0 && shares <= 1.0 + 1e-9,
        "shares sum to {shares}"
    );

    // Two runs without --out keep both results, each in its own directory.
    smoke_run(&numpool, dir.path(), None, &[]);
    smoke_run(&numpool, dir.path(), None, &[]);
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir.path().join("loadgen-out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    assert_eq!(runs.len(), 2, "{runs:?}");
    for run in &runs {
        let name = run.file_name().unwrap().to_str().unwrap();
        assert!(name.contains("Z-pick-2000rps"), "{name}");
        assert!(run.join("results.json").is_file() && run.join("latency.svg").is_file());
    }
}

#[test]
fn receipts_mixed_into_a_pick_run_are_all_answered_ok() {
    let numpool = numpool();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("receipts");
    smoke_run(&numpool, dir.path(), Some(&out), &["--receipts", "0.5"]);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    // Every REPORT names a seeded sender, so none is refused (an unknown sender would be an
    // `-ERR`, counted as an error).
    assert_eq!(json["config"]["receipts"], 0.5, "{json}");
    assert!(
        json["ok"].as_u64().unwrap() > 3_000 && json["error_total"] == 0,
        "{json}"
    );
}

#[test]
fn a_run_with_limits_on_every_number_seeds_them_and_is_answered_ok() {
    let numpool = numpool();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("limits");
    // 200 numbers at 10 mps carry 2,000 picks a second: busy, rarely refused a slot.
    smoke_run(
        &numpool,
        dir.path(),
        Some(&out),
        &["--mps", "10", "--burst", "10"],
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    // The server refuses a seed it cannot store (a 400 stops loadgen before the run).
    assert_eq!(
        (&json["config"]["mps"], &json["config"]["burst"]),
        (&serde_json::json!(10.0), &serde_json::json!(10)),
        "{json}"
    );
    assert!(
        json["ok"].as_u64().unwrap() > 3_000 && json["error_total"] == 0,
        "{json}"
    );
}
