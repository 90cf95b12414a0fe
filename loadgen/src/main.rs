//! `loadgen`: parse the flags, build a runtime of `--threads` workers, run the subcommand.

use anyhow::Context;
use clap::Parser;
use numpool_loadgen::app;
use numpool_loadgen::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Run(Box::new(cli.run)));
    let threads = match &command {
        Command::Run(r) => r.threads as usize,
        Command::Seed(_) | Command::Plot(_) => 1,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("building the tokio runtime")?;
    runtime.block_on(async {
        match command {
            Command::Run(args) => app::run_command(*args).await.map(drop),
            Command::Seed(args) => app::seed_command(args).await,
            Command::Plot(args) => app::plot_command(&args),
        }
    })?;
    Ok(())
}
