//! `wecom-groupchat-sim`: runs the simulator until Ctrl-C. See `--help` and the crate README.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use wecom_groupchat_sim::{SimArgs, run_foreground};

/// A fake WeCom customer group chat server for tests, demos and CI. Prints one line with its URL on
/// stdout once it accepts connections; logs go to stderr (RUST_LOG, default info).
#[derive(Debug, Parser)]
#[command(name = "wecom-groupchat-sim", version)]
struct Cli {
    #[command(flatten)]
    sim: SimArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run_foreground(cli.sim).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wecom-groupchat-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
