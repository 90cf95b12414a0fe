//! `numpool serve`: the sidecar (RESP) and the REST API in one process.

use std::net::TcpListener;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use numpool::config::Config;
use numpool::durability::FsyncPolicy;
use numpool::engine::{Engine, SnapshotSchedule};
use numpool::{demo, http, resp};

#[derive(Parser)]
#[command(name = "numpool", version, about = "SMS number-pool routing engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the RESP sidecar and the REST API.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// TOML configuration file.
    #[arg(long, env = "NUMPOOL_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (overrides `data_dir`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// RESP listen address (overrides `resp`).
    #[arg(long)]
    resp: Option<std::net::SocketAddr>,
    /// HTTP listen address (overrides `http`).
    #[arg(long)]
    http: Option<std::net::SocketAddr>,
    /// fsync policy for sticky assignments (overrides `fsync`).
    #[arg(long, value_enum)]
    fsync: Option<FsyncPolicy>,
    /// Seconds between periodic snapshots (overrides `snapshot_interval_seconds`).
    #[arg(long)]
    snapshot_interval_seconds: Option<u64>,
    /// Snapshot when the journal passes this many bytes (overrides `snapshot_journal_bytes`).
    #[arg(long)]
    snapshot_journal_bytes: Option<u64>,
    /// Binds the RESP listener to this account: no AUTH needed (loopback only).
    #[arg(long)]
    sidecar_account: Option<String>,
    /// Largest RESP argument in bytes (overrides `limits.max_arg_bytes`).
    #[arg(long)]
    max_arg_bytes: Option<usize>,
    /// Most arguments in one RESP command (overrides `limits.max_args`).
    #[arg(long)]
    max_args: Option<usize>,
    /// Most simultaneous RESP connections (overrides `limits.max_connections`).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Close RESP connections silent this long, 0 = never (overrides `limits.idle_timeout_seconds`).
    #[arg(long)]
    idle_timeout_seconds: Option<u64>,
    /// Largest REST request body in bytes (overrides `limits.max_body_bytes`).
    #[arg(long)]
    max_body_bytes: Option<usize>,
    /// Adds a demo account with an inventory and pools, and prints how to try it.
    #[arg(long)]
    demo: bool,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve(args) = Cli::parse().command;
    actix_web::rt::System::new().block_on(serve(args))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    // Every configuration key can also be given as a flag; a flag wins.
    config.data_dir = args.data_dir.or(config.data_dir);
    config.sidecar_account = args.sidecar_account.or(config.sidecar_account);
    set(&mut config.resp, args.resp);
    set(&mut config.http, args.http);
    set(&mut config.fsync, args.fsync);
    set(
        &mut config.snapshot_interval_seconds,
        args.snapshot_interval_seconds,
    );
    set(
        &mut config.snapshot_journal_bytes,
        args.snapshot_journal_bytes,
    );
    let limits = &mut config.limits;
    set(&mut limits.max_arg_bytes, args.max_arg_bytes);
    set(&mut limits.max_args, args.max_args);
    set(&mut limits.max_connections, args.max_connections);
    set(&mut limits.idle_timeout_seconds, args.idle_timeout_seconds);
    set(&mut limits.max_body_bytes, args.max_body_bytes);
    let mut accounts = config.accounts()?;
    // Build the classification tables now rather than on the first pick, which would otherwise
    // wait for them (DESIGN §3.2: derived once at start).
    numpool_core::model::classify::classifier();
    if args.demo {
        accounts.push(demo::account());
    }
    let engine = match &config.data_dir {
        Some(dir) => Engine::open(accounts, dir, config.fsync)
            .with_context(|| format!("opening the data directory {}", dir.display()))?,
        None => Engine::start(accounts),
    };
    if args.demo {
        demo::seed(&engine).await.context("seeding the demo data")?;
    }

    let http_listener =
        TcpListener::bind(config.http).with_context(|| format!("binding HTTP {}", config.http))?;
    let resp_listener = tokio::net::TcpListener::bind(config.resp)
        .await
        .with_context(|| format!("binding RESP {}", config.resp))?;
    let http_addr = http_listener.local_addr()?;
    let resp_addr = resp_listener.local_addr()?;
    let http_server = http::start(http_listener, engine.clone(), &config.limits)?;
    let resp_server = resp::Server::new(engine.clone(), &config);

    // Tests and scripts read this line to learn the ports chosen for `:0`.
    println!("numpool ready resp={resp_addr} http={http_addr}");
    if args.demo {
        print_demo_help(resp_addr, http_addr);
    }
    tracing::info!(%resp_addr, %http_addr, "numpool started");

    let http_handle = http_server.handle();
    let http_task = actix_web::rt::spawn(http_server);
    let schedule = SnapshotSchedule {
        interval: std::time::Duration::from_secs(config.snapshot_interval_seconds.max(1)),
        journal_bytes: config.snapshot_journal_bytes,
    };
    let background = {
        let engine = engine.clone();
        actix_web::rt::spawn(async move { engine.run_background(schedule).await })
    };
    resp_server
        .run(resp_listener, shutdown_signal())
        .await
        .context("RESP server")?;
    tracing::info!("shutdown: RESP drained, stopping HTTP");
    http_handle.stop(true).await;
    let _ = http_task.await;
    background.abort();
    engine.shutdown().await.context("final snapshot")?;
    tracing::info!("numpool stopped");
    Ok(())
}

/// Overrides a configuration value with a flag's, when the flag was given.
fn set<T>(value: &mut T, flag: Option<T>) {
    if let Some(flag) = flag {
        *value = flag;
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutdown signal received");
}

fn print_demo_help(resp: std::net::SocketAddr, http: std::net::SocketAddr) {
    let (key, secret) = (demo::DEMO_KEY, demo::DEMO_SECRET);
    let cli = format!(
        "redis-cli -p {} --user {key} --pass {secret} --no-auth-warning",
        resp.port()
    );
    println!(
        "\ndemo account: api_key={key} api_secret={secret}\n\
         pools: demo (fallback Pool), strict (Reject), brand (CustomFrom 'Numpool'), random (not sticky)\n\
         try:\n  \
         {cli} PICK demo +447911123456 WITHREASON\n  \
         {cli} PICK demo +14155559999 NETWORK 311480 WITHREASON\n  \
         {cli} PICK strict +33612345678\n  \
         {cli} PICK brand +33612345678 WITHREASON\n  \
         {cli} STICKY.GET demo +447911123456\n  \
         curl -s -u {key}:{secret} http://{http}/v2/numberpools/accounts/{key}/pools\n"
    );
}
