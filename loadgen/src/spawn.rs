//! `--spawn`: a throwaway numpool for one run, on free loopback ports with a temporary data
//! directory, killed (and its directory removed) when the run is over.

use crate::client::{connect, ConnConfig};
use crate::resp::Reply;
use redis::Value;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use thiserror::Error;
use tokio::process::{Child, Command};

/// The server could not be started.
#[derive(Debug, Error)]
pub enum SpawnError {
    /// Setting up the ports, directory or process failed.
    #[error("cannot start {path}: {source}")]
    Start {
        /// The binary.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The process ended before answering PING.
    #[error("{path} exited before it was ready: {status}")]
    Exited {
        /// The binary.
        path: String,
        /// Its exit status.
        status: std::process::ExitStatus,
    },
    /// It did not answer PING in time.
    #[error("{path} did not answer PING on {addr} within {secs} s")]
    NotReady {
        /// The binary.
        path: String,
        /// The RESP address polled.
        addr: SocketAddr,
        /// Seconds waited.
        secs: u64,
    },
}

/// A running numpool started by [`spawn`].
pub struct Spawned {
    /// The process; killed on drop as well (`kill_on_drop`), in case [`Spawned::stop`] is skipped.
    child: Child,
    /// Its data directory, deleted on drop.
    _data_dir: TempDir,
    /// Its RESP listener.
    pub resp: SocketAddr,
    /// Its HTTP listener.
    pub http: SocketAddr,
}

/// A free loopback port: bind port 0 and let it go. Another process could take it before numpool
/// binds it; on a development machine that race is rare enough for a load tool.
fn free_port() -> std::io::Result<SocketAddr> {
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

/// A `Stdio` writing to this process's stderr.
fn stderr_handle() -> std::io::Result<Stdio> {
    use std::os::fd::AsFd;
    Ok(Stdio::from(std::io::stderr().as_fd().try_clone_to_owned()?))
}

/// Starts `numpool serve --demo` on free ports and waits until its RESP port answers `PING`.
pub async fn spawn(path: &Path, ready_within: Duration) -> Result<Spawned, SpawnError> {
    let shown = path.display().to_string();
    let start_err = |source| SpawnError::Start {
        path: shown.clone(),
        source,
    };
    let data_dir = tempfile::tempdir().map_err(start_err)?;
    let resp = free_port().map_err(start_err)?;
    let mut http = free_port().map_err(start_err)?;
    while http == resp {
        http = free_port().map_err(start_err)?;
    }
    let mut child = Command::new(path)
        .arg("serve")
        .arg("--demo")
        .arg("--data-dir")
        .arg(data_dir.path())
        .arg("--resp")
        .arg(resp.to_string())
        .arg("--http")
        .arg(http.to_string())
        .stdin(Stdio::null())
        // Its banner goes to our stderr: our stdout carries the results table.
        .stdout(stderr_handle().map_err(start_err)?)
        .kill_on_drop(true)
        .spawn()
        .map_err(start_err)?;

    let cfg = ConnConfig {
        addr: resp.to_string(),
        auth: None,
        pipeline: 1,
        timeout: Duration::from_secs(1),
    };
    let ping = redis::cmd("PING").get_packed_command();
    let deadline = Instant::now() + ready_within;
    loop {
        if let Some(status) = child.try_wait().map_err(start_err)? {
            return Err(SpawnError::Exited {
                path: shown,
                status,
            });
        }
        if let Ok(mut conn) = connect(&cfg).await {
            if let Ok(Reply::Value(Value::SimpleString(s))) = conn.request(&ping, cfg.timeout).await
            {
                if s == "PONG" {
                    break;
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(SpawnError::NotReady {
                path: shown,
                addr: resp,
                secs: ready_within.as_secs(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Spawned {
        child,
        _data_dir: data_dir,
        resp,
        http,
    })
}

impl Spawned {
    /// The server's process id (`None` once it has been reaped).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Kills the server and waits for it, then removes its data directory.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
