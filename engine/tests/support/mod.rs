//! Test harness: starts the real `numpool` binary on ephemeral loopback ports with a
//! two-account config, and stops it when dropped.
#![allow(dead_code)] // each test crate uses a different part of the harness

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub mod nats;
pub mod raw;
pub mod rest;

/// The first configured account.
pub const KEY: &str = "abcd1234";
/// Its secret.
pub const SECRET: &str = "s3cret-one";
/// A second account, to check isolation.
pub const OTHER_KEY: &str = "wxyz9876";
/// Its secret.
pub const OTHER_SECRET: &str = "s3cret-two";

/// `PICK <pool> <to>` over `con`: the sender, or the error's text.
pub fn pick(con: &mut redis::Connection, pool: &str, to: &str) -> Result<String, String> {
    redis::cmd("PICK")
        .arg(pool)
        .arg(to)
        .query::<String>(con)
        .map_err(|e| e.to_string())
}

/// A config file of the two test accounts with `toml` (e.g. a `[limits]` table) above them.
pub fn config_with(toml: &str) -> String {
    format!(
        "{toml}\n[[accounts]]\napi_key = \"{KEY}\"\napi_secret = \"{SECRET}\"\n\n\
         [[accounts]]\napi_key = \"{OTHER_KEY}\"\napi_secret = \"{OTHER_SECRET}\"\n"
    )
}

/// A running server.
pub struct Numpool {
    /// The RESP listener.
    pub resp: SocketAddr,
    /// The HTTP listener.
    pub http: SocketAddr,
    /// The `/metrics` listener, when `--metrics-listen` gave it one of its own.
    pub metrics: Option<SocketAddr>,
    /// The process; killed on drop unless stopped first.
    child: Child,
    /// Holds the config file (and default data dir) alive for the server's life; the server
    /// runs in it, so the default `./numpool-data` lands there too.
    dir: tempfile::TempDir,
    /// The config file, for a restart.
    config: PathBuf,
    /// The extra arguments, for a restart.
    args: Vec<String>,
}

impl Numpool {
    /// Starts `numpool serve` with the test accounts and `extra_args`.
    pub fn start(extra_args: &[&str]) -> Numpool {
        Numpool::start_with_toml("", extra_args)
    }

    /// Starts `numpool serve` with the test accounts and `toml` (e.g. a `[limits]` table) at the
    /// top of its config file.
    pub fn start_with_toml(toml: &str, extra_args: &[&str]) -> Numpool {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("numpool.toml");
        std::fs::write(&config, config_with(toml)).expect("write config");
        Numpool::start_with_config(dir, &config, extra_args)
    }

    /// A RESP connection of the first test account, with the `redis` crate.
    pub fn sidecar(&self) -> redis::Connection {
        redis::Client::open(format!("redis://{KEY}:{SECRET}@{}/", self.resp))
            .expect("redis URL")
            .get_connection()
            .expect("RESP connection")
    }

    /// Resident memory of the server process (VmRSS), in bytes.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/<pid>/status");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/<pid>/status");
        kib * 1024
    }

    /// Starts `numpool serve --config <config>` plus `extra_args`, keeping `dir` alive.
    pub fn start_with_config(
        dir: tempfile::TempDir,
        config: &Path,
        extra_args: &[&str],
    ) -> Numpool {
        let args: Vec<String> = extra_args.iter().map(|a| a.to_string()).collect();
        let (child, [resp, http], metrics) = spawn(dir.path(), config, &args);
        Numpool {
            resp,
            http,
            metrics,
            child,
            dir,
            config: config.to_owned(),
            args,
        }
    }

    /// Stops the server with SIGTERM and starts it again with the same configuration and
    /// arguments in the same directory.
    pub fn restart(&mut self) {
        let status = signal_and_wait(&mut self.child, "-TERM");
        assert!(status.success(), "numpool exited with {status} on SIGTERM");
        let (child, [resp, http], metrics) = spawn(self.dir.path(), &self.config, &self.args);
        (self.child, self.resp, self.http, self.metrics) = (child, resp, http, metrics);
    }

    /// Kills the server with SIGKILL (no final snapshot: a restart replays the journal) and
    /// starts it again as [`Numpool::restart`] does.
    pub fn crash_and_restart(&mut self) {
        self.crash();
        self.start_again();
    }

    /// Kills the server with SIGKILL and waits for it; [`Numpool::start_again`] restarts it.
    pub fn crash(&mut self) {
        self.child.kill().expect("SIGKILL numpool");
        self.child.wait().expect("wait for numpool");
    }

    /// Starts the server again, after [`Numpool::crash`], with the same configuration and
    /// arguments in the same directory (its ports may change).
    pub fn start_again(&mut self) {
        let (child, [resp, http], metrics) = spawn(self.dir.path(), &self.config, &self.args);
        (self.child, self.resp, self.http, self.metrics) = (child, resp, http, metrics);
    }

    /// Sends `signal` (as `kill` names it, e.g. `-STOP`) and returns without waiting.
    pub fn signal(&self, signal: &str) {
        send_signal(&self.child, signal);
    }

    /// Waits up to `limit` for the server to exit by itself; its exit status, or `None` if
    /// it is still running.
    pub async fn exited_within(
        &mut self,
        limit: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for numpool") {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// What the server (every run of it in this directory) logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(LOG)).unwrap_or_default()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The config file it runs with.
    pub fn config(&self) -> &Path {
        &self.config
    }

    /// The temporary directory holding the config.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }

    /// Base URL of the REST API.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// Runs another `numpool serve` with this one's config and directory plus `args`, expecting
    /// it to refuse to start: waits up to 10 s for it to exit; its output, and how long it
    /// took. Killed (and the test failed) if it keeps running.
    pub fn serve_beside(&self, args: &[&str]) -> (std::process::Output, std::time::Duration) {
        self.serve_beside_within(args, std::time::Duration::from_secs(10))
    }

    /// Runs another `numpool serve` as [`Numpool::serve_beside`] does and checks that it
    /// refused to start, saying `says` (its stderr in the failure otherwise).
    pub fn refused_beside(&self, args: &[&str], says: &str) {
        let (out, _) = self.serve_beside(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && stderr.contains(says),
            "{args:?}, expected to be refused saying {says:?}: {stderr}"
        );
    }

    /// [`Numpool::serve_beside`], waiting up to `limit` for it to exit.
    pub fn serve_beside_within(
        &self,
        args: &[&str],
        limit: std::time::Duration,
    ) -> (std::process::Output, std::time::Duration) {
        let started = std::time::Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_numpool"))
            .current_dir(self.dir.path())
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .args(["--resp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn numpool");
        while child.try_wait().expect("wait").is_none() {
            if started.elapsed() > limit {
                let _ = child.kill();
                let out = child.wait_with_output().expect("output");
                panic!(
                    "a numpool expected to refuse to start kept running; stdout: {}",
                    String::from_utf8_lossy(&out.stdout)
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        (child.wait_with_output().expect("output"), started.elapsed())
    }

    /// Sends SIGTERM and waits for the process to exit; its exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        signal_and_wait(&mut self.child, "-TERM")
    }

    /// Sends SIGKILL (a crash: no shutdown, no final snapshot) and waits for the process to
    /// exit; its exit status.
    pub fn kill(mut self) -> std::process::ExitStatus {
        // `Child::kill` is SIGKILL on Unix.
        self.child.kill().expect("SIGKILL numpool");
        self.child.wait().expect("wait for numpool")
    }
}

impl Drop for Numpool {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The file in a server's directory that its log (stderr) goes to, every run of it appended.
const LOG: &str = "numpool.log";

/// Appends the server's log (its stderr) to `path`, for [`Numpool::log`], until the server
/// exits; with `NUMPOOL_TEST_LOG=1` it is shown on the test's stderr as well, e.g. why a
/// restart refused its data.
fn keep_log(mut stderr: std::process::ChildStderr, path: &Path) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("server log");
    let show = std::env::var_os("NUMPOOL_TEST_LOG").is_some();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(read @ 1..) = std::io::Read::read(&mut stderr, &mut chunk) {
            let _ = file.write_all(&chunk[..read]);
            if show {
                let _ = std::io::stderr().write_all(&chunk[..read]);
            }
        }
    });
}

/// Sends `signal` (as `kill` names it: `-STOP`, `-CONT`, `-KILL`) to `child`.
pub fn send_signal(child: &Child, signal: &str) {
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args([signal, &pid])
        .status()
        .expect("kill");
    assert!(sent.success(), "kill {signal} {pid}: {sent}");
}

/// Sends `signal` (as `kill` names it) to `child` and waits for it to exit.
fn signal_and_wait(child: &mut Child, signal: &str) -> std::process::ExitStatus {
    send_signal(child, signal);
    child.wait().expect("wait for numpool")
}

/// `--workers N` when `NUMPOOL_TEST_WORKERS=N` asks every server of a run to use N workers (CI
/// runs the RESP suites once with the default, one per core, and once with one worker), unless
/// the test chose its own.
fn workers_override(args: &[String]) -> Vec<String> {
    match std::env::var("NUMPOOL_TEST_WORKERS") {
        Ok(workers) if !args.iter().any(|arg| arg == "--workers") => {
            vec!["--workers".to_owned(), workers]
        }
        _ => Vec::new(),
    }
}

/// Starts `numpool serve --config <config>` plus `args` in `dir` and waits for its ready line;
/// the process and the addresses it listens on: RESP and HTTP, and metrics if it has its own.
fn spawn(
    dir: &Path,
    config: &Path,
    args: &[String],
) -> (Child, [SocketAddr; 2], Option<SocketAddr>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_numpool"))
        .current_dir(dir)
        .arg("serve")
        .arg("--config")
        .arg(config)
        .args(["--resp", "127.0.0.1:0", "--http", "127.0.0.1:0"])
        .args(workers_override(args))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn numpool");
    keep_log(child.stderr.take().expect("stderr"), &dir.join(LOG));
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let ready = lines
        .find_map(|line| line.ok().filter(|l| l.starts_with("numpool ready")))
        .expect("numpool printed its ready line");
    let address = |name: &str| -> Option<SocketAddr> {
        ready
            .split_whitespace()
            .find_map(|part| part.strip_prefix(name))
            .and_then(|a| a.parse().ok())
    };
    let listener = |name: &str| address(name).expect("address in the ready line");
    let (resp, http) = (listener("resp="), listener("http="));
    let metrics = address("metrics=");
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    (child, [resp, http], metrics)
}
