//! `numpool serve`: the sidecar (RESP) and the REST API in one process. This file only parses
//! the command line, checks the configuration, then starts, runs and drains the server
//! ([`numpool::serve`]). A failure is printed once, as one line of causes, and exits 1.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use numpool::config::{LogFormat, ServeArgs};
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

fn main() -> ExitCode {
    let Command::Serve(args) = Cli::parse().command;
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // `{:#}` is the chain of causes on one line; never a backtrace, whatever
            // RUST_BACKTRACE says: an operator needs what went wrong, not where in the code.
            eprintln!("numpool: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: ServeArgs) -> anyhow::Result<()> {
    let settings = args.validate()?;
    init_logging(settings.log_format());
    actix_web::rt::System::new().block_on(async {
        // Handlers first: a SIGTERM sent as soon as `numpool ready` is printed must drain and
        // snapshot, not meet the default action and kill the process.
        let shutdown = shutdown_signal()?;
        let running = serve::start(settings).await?;
        running.run(shutdown).await?;
        Ok(())
    })
}

/// Log lines on stderr, filtered by `RUST_LOG` (default `info`).
fn init_logging(format: LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Installs the SIGINT and SIGTERM handlers now; the future completes on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutdown signal received");
    })
}
