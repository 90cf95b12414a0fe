//! `numpool serve`: the sidecar (RESP) and the REST API in one process. This file only parses
//! the command line, checks the configuration, then starts, runs and drains the server
//! ([`numpool::serve`]).

use clap::{Parser, Subcommand};
use numpool::config::ServeArgs;
use numpool::serve;

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

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve(args) = Cli::parse().command;
    let settings = args.validate()?;
    actix_web::rt::System::new().block_on(async {
        let running = serve::start(settings).await?;
        running.run(shutdown_signal()).await?;
        Ok(())
    })
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutdown signal received");
}
