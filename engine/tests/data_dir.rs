//! The data directory across processes (DESIGN §6): one process at a time holds it, a lock that
//! dies with its process, and a snapshot schedule that survives restarts.

mod support;

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use support::Numpool;

/// Starts numpool on `data`.
fn serve(data: &Path, extra: &[&str]) -> Numpool {
    let data = data.to_str().unwrap();
    let mut args = vec!["--data-dir", data];
    args.extend_from_slice(extra);
    Numpool::start(&args)
}

#[test]
fn a_second_process_is_refused_and_a_killed_ones_lock_does_not_linger() {
    let data = tempfile::tempdir().unwrap();
    let first = serve(data.path(), &[]);
    let (out, took) = first.serve_beside(&["--data-dir", data.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("held by process {}", first.pid())),
        "{stderr}"
    );
    assert!(stderr.contains("LOCK"), "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // The refused process changed nothing: the first one still serves from its directory.
    assert!(std::net::TcpStream::connect(first.http).is_ok());

    // SIGKILL leaves the LOCK file but not its lock: a restart works.
    let killed = first.kill();
    assert!(!killed.success());
    assert!(data.path().join("LOCK").exists());
    let again = serve(data.path(), &[]);
    assert!(again.terminate().success());
}

/// A process restarted more often than the snapshot interval still snapshots: the interval runs
/// from the newest snapshot's time, not from each start.
#[test]
fn the_snapshot_interval_runs_from_the_last_snapshot_not_from_the_start() {
    let data = tempfile::tempdir().unwrap();
    let interval = ["--snapshot-interval-seconds", "3600"];
    // A clean stop writes snapshot 1.
    assert!(serve(data.path(), &interval).terminate().success());
    let first = numpool_snapshots::snapshot_path(data.path(), 1);
    let second = numpool_snapshots::snapshot_path(data.path(), 2);
    assert!(first.exists());
    // Taken two hours ago: the next one is overdue as soon as numpool starts again.
    std::fs::File::options()
        .write(true)
        .open(&first)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(7200))
        .unwrap();
    let server = serve(data.path(), &interval);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !second.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        second.exists(),
        "no snapshot within 10 s of a start 2 h after the last one"
    );
    drop(server);
}

#[test]
fn a_single_process_data_directory_is_refused_to_a_cluster_sidecar() {
    let data = tempfile::tempdir().unwrap();
    let first = serve(data.path(), &[]);
    // Refused from the directory, before any connection to the cluster is tried.
    let (out, _) = first.serve_beside(&[
        "--cluster",
        "nats://127.0.0.1:1",
        "--data-dir",
        data.path().to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr
            .contains("holds a single-process numpool's data, not a cluster sidecar's checkpoints"),
        "{stderr}"
    );
    // Nothing was set aside or added: the single process restarts on it as before.
    drop(first);
    let names: Vec<String> = std::fs::read_dir(data.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.ends_with(".corrupt") || n == "cluster-name"),
        "{names:?}"
    );
    let again = serve(data.path(), &[]);
    assert!(support::raw::pongs(again.resp));
}
