//! `numpool serve` (DESIGN §9): the engine, the RESP sidecar and the REST API started from
//! checked [`Settings`], served until a shutdown signal, then drained.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

use crate::config::{Settings, Storage};
use crate::durability::checkpoint::{Checkpoints, Resumed};
use crate::durability::StorageError;
use crate::engine::{take_newer_images, Engine, EngineError, ImagesError, SnapshotSchedule};
use crate::throttle::AuthThrottle;
use crate::{demo, http, resp};

/// Why the server could not start, or stopped badly.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The data directory could not be recovered or opened.
    #[error("opening the data directory {dir}")]
    Open {
        /// The directory.
        dir: PathBuf,
        /// Why.
        #[source]
        source: StorageError,
    },
    /// The demo data could not be written.
    #[error("seeding the demo data")]
    Demo(#[source] EngineError),
    /// A listener could not be bound or started.
    #[error("binding {what} {addr}")]
    Bind {
        /// `RESP`, `HTTP` or `metrics`.
        what: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The RESP accept loop failed.
    #[error("RESP server")]
    Resp(#[source] std::io::Error),
    /// The cluster could not be joined.
    #[error("joining the cluster")]
    Cluster(#[source] numpool_cluster::ClusterError),
    /// The accounts newer in their images in the cluster could not be taken from them.
    #[error("taking accounts from their images in the cluster")]
    Images(#[source] ImagesError),
    /// The admin log holds a record this sidecar cannot apply: it stopped.
    #[error("leaving the cluster")]
    Diverged(#[source] crate::engine::Diverged),
    /// The cluster settings cannot work.
    #[error(transparent)]
    ClusterConfig(#[from] crate::config::ConfigError),
    /// The snapshot written at shutdown failed.
    #[error("final snapshot")]
    FinalSnapshot(#[source] EngineError),
}

/// A started server: the engine open, both listeners bound, the REST API running.
pub struct Running {
    /// The engine both servers call.
    engine: Engine,
    /// The RESP sidecar, not yet accepting.
    resp: resp::Server,
    /// Its bound listener.
    resp_listener: tokio::net::TcpListener,
    /// The REST API, and `/metrics` when it has a listener of its own: running.
    http: Vec<actix_web::dev::Server>,
    /// When to snapshot.
    schedule: SnapshotSchedule,
}

/// Opens the engine (recovering the data directory, if any), seeds the demo data when asked,
/// binds both listeners and prints the `numpool ready` line.
pub async fn start(settings: Settings) -> Result<Running, ServeError> {
    let Settings {
        config,
        storage,
        accounts,
        demo,
    } = settings;
    // Build the classification tables now rather than on the first pick, which would otherwise
    // wait for them (DESIGN §3.2: derived once at start).
    numpool_core::model::classify::classifier();
    let workers = config.worker_count();
    let limits = config.limits.account();
    let open_error = |dir: &PathBuf| {
        let dir = dir.clone();
        move |source| ServeError::Open { dir, source }
    };
    let engine = if let Some(cluster) = config.cluster.cluster_config()? {
        // A sidecar's data directory holds checkpoints only: the cluster holds every change.
        let (resumed, checkpoints) = match &storage {
            Storage::Dir(dir) => {
                let (checkpoints, resumed) =
                    Checkpoints::open(dir, &cluster.name).map_err(open_error(dir))?;
                (resumed, Some(checkpoints))
            }
            Storage::Memory => (Resumed::default(), None),
        };
        let store = numpool_cluster::Cluster::connect(cluster)
            .await
            .map_err(ServeError::Cluster)?;
        let ids: Vec<String> = accounts.iter().map(|a| a.id.to_string()).collect();
        let mut resumed = resumed.holding(&ids);
        let from_images = take_newer_images(&store, &ids, &mut resumed)
            .await
            .map_err(ServeError::Images)?;
        let Resumed {
            state,
            replayed,
            applied,
        } = resumed;
        let engine =
            Engine::resume(accounts, limits, workers, state).map_err(|source| match &storage {
                Storage::Dir(dir) => open_error(dir)(source),
                Storage::Memory => ServeError::Images(ImagesError::Restore(source)),
            })?;
        let member = config.cluster.member.clone().unwrap_or_else(default_member);
        let mut link = crate::cluster::ClusterLink::new(store, member, &ids).starting_from(
            replayed,
            applied,
            from_images,
        );
        if let Some(checkpoints) = checkpoints {
            link = link.with_checkpoints(checkpoints);
        }
        engine
            .join_cluster(link)
            .await
            .map_err(ServeError::Cluster)?;
        engine
    } else {
        match &storage {
            Storage::Dir(dir) => Engine::open(accounts, limits, dir, config.fsync, workers)
                .map_err(open_error(dir))?,
            Storage::Memory => Engine::start(accounts, limits, workers),
        }
    };
    if demo {
        demo::seed(&engine).await.map_err(ServeError::Demo)?;
    }

    let bind = |what, addr| move |source| ServeError::Bind { what, addr, source };
    let http_listener = TcpListener::bind(config.http).map_err(bind("HTTP", config.http))?;
    let resp_listener = tokio::net::TcpListener::bind(config.resp)
        .await
        .map_err(bind("RESP", config.resp))?;
    let http_addr = http_listener
        .local_addr()
        .map_err(bind("HTTP", config.http))?;
    let resp_addr = resp_listener
        .local_addr()
        .map_err(bind("RESP", config.resp))?;
    let (metrics_listener, metrics_addr) = match config.metrics_listen {
        Some(addr) => {
            let listener = TcpListener::bind(addr).map_err(bind("metrics", addr))?;
            let local = listener.local_addr().map_err(bind("metrics", addr))?;
            (Some(listener), Some(local))
        }
        None => (None, None),
    };
    // Failed credentials cost the same time on both servers: one table of client addresses.
    let throttle = Arc::new(AuthThrottle::new(
        config.limits.auth_failure_delay_ms,
        config.limits.auth_failure_max_delay_ms,
    ));
    let http = http::start(
        http_listener,
        metrics_listener,
        engine.clone(),
        throttle.clone(),
        &config,
    )
    .map_err(bind("HTTP", http_addr))?;
    let resp = resp::Server::new(engine.clone(), &config, throttle);
    if metrics_addr.is_none() && config.metrics_token.is_none() && !http_addr.ip().is_loopback() {
        tracing::warn!(
            %http_addr,
            "/metrics is served on a non-loopback REST listener without metrics_token: every \
             client of the API can read the server's totals (set metrics_token or metrics_listen)"
        );
    }

    // Tests and scripts read this line to learn the ports chosen for `:0`; people read where
    // their state is.
    let state = match &storage {
        Storage::Memory => "in memory only".to_owned(),
        Storage::Dir(dir) => std::path::absolute(dir)
            .unwrap_or_else(|_| dir.clone())
            .display()
            .to_string(),
    };
    let metrics = metrics_addr.map_or(String::new(), |addr| format!(" metrics={addr}"));
    println!("numpool ready resp={resp_addr} http={http_addr}{metrics} state: {state}");
    if demo {
        demo::print_help(resp_addr, http_addr);
    }
    match &storage {
        Storage::Memory => {
            tracing::warn!(%resp_addr, %http_addr, "numpool started; state: in memory only")
        }
        Storage::Dir(_) => {
            tracing::info!(%resp_addr, %http_addr, state = %state, fsync = ?config.fsync, "numpool started")
        }
    }
    let schedule = SnapshotSchedule {
        interval: Duration::from_secs(config.snapshot_interval_seconds.max(1)),
        journal_bytes: config.snapshot_journal_bytes,
    };
    Ok(Running {
        engine,
        resp,
        resp_listener,
        http,
        schedule,
    })
}

impl Running {
    /// Where the RESP sidecar listens (the port chosen for `:0`), for a caller that runs the
    /// server in its own process.
    pub fn resp_addr(&self) -> std::io::Result<SocketAddr> {
        self.resp_listener.local_addr()
    }

    /// Serves until `shutdown` completes; then drains RESP, stops HTTP and writes the final
    /// snapshot.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
        let http_handles: Vec<_> = self.http.iter().map(|server| server.handle()).collect();
        let http_tasks: Vec<_> = self.http.into_iter().map(actix_web::rt::spawn).collect();
        let background = {
            let engine = self.engine.clone();
            let schedule = self.schedule;
            actix_web::rt::spawn(async move { engine.run_background(schedule).await })
        };
        // A sidecar whose state is no longer the cluster's stops as if told to, then says why.
        let shutdown = {
            let engine = self.engine.clone();
            async move {
                tokio::select! {
                    () = shutdown => {}
                    () = engine.diverged() => {}
                }
            }
        };
        self.resp
            .run(self.resp_listener, shutdown)
            .await
            .map_err(ServeError::Resp)?;
        tracing::info!("shutdown: RESP drained, stopping HTTP");
        for handle in http_handles {
            handle.stop(true).await;
        }
        for task in http_tasks {
            let _ = task.await;
        }
        background.abort();
        let last_snapshot = self.engine.shutdown().await;
        // Why it stopped comes first: a failed last snapshot is then only logged.
        if let Some(why) = self.engine.divergence() {
            if let Err(err) = last_snapshot {
                tracing::error!(error = &err as &dyn std::error::Error, "final snapshot");
            }
            return Err(ServeError::Diverged(why));
        }
        last_snapshot.map_err(ServeError::FinalSnapshot)?;
        tracing::info!("numpool stopped");
        Ok(())
    }
}

/// A sidecar's default cluster id: its host name and process id, unique among live sidecars.
fn default_member() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "numpool".to_owned());
    numpool_cluster::token(&format!("{host}-{}", std::process::id()))
}
