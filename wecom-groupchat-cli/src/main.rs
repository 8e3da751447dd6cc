//! `wecom-groupchat`: the command-line tool. See `wecom-groupchat --help`.

mod commands;
mod failure;
mod output;
mod signals;

use std::process::ExitCode;

use clap::FromArgMatches;
// The command line is the library's (`cargo xtask man` reads it there); `crate::args` is it.
use wecom_groupchat_cli::{args, join_way_flags};

use crate::args::{Cli, Command};
use crate::failure::Failure;

fn main() -> ExitCode {
    // `OsString`s: an argument that is not UTF-8 is clap's to report (exit 2), not a panic of `env::args`.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `sim` takes the simulator's own flags, some named like the global options: parse them apart.
    #[cfg(feature = "simulator")]
    if argv.get(1).is_some_and(|a| a == "sim") {
        init_logging(0);
        let sim_args = match commands::sim::utf8_args(&argv[2..]) {
            Ok(args) => args,
            Err(failure) => return failure::report(&failure),
        };
        return run_async(async move { commands::sim::run_args(sim_args).await });
    }
    let parsed = wecom_groupchat_cli::command()
        .try_get_matches_from(argv)
        .and_then(|matches| Ok((Cli::from_arg_matches(&matches)?, matches)));
    let cli = match parsed {
        Ok((mut cli, matches)) => {
            // `demo`, `sim`, `callback` and `completions` call no WeCom API: whatever credentials the environment holds are
            // not theirs.
            let needs_credentials = match cli.command {
                #[cfg(feature = "simulator")]
                Command::Demo | Command::Sim(_) => false,
                Command::Callback(_) | Command::Completions(_) => false,
                _ => true,
            };
            if needs_credentials && let Err(message) = cli.global.settle_credentials(&matches) {
                return failure::report(&Failure::Usage(message));
            }
            cli
        }
        Err(e) => {
            // Usage errors exit 2 (the contract); --help and --version exit 0.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    init_logging(cli.global.verbose);
    run_async(commands::run(cli))
}

/// Runs a command on a Tokio runtime and turns its outcome into the exit code.
fn run_async(command: impl std::future::Future<Output = failure::Outcome>) -> ExitCode {
    // A bug must not dump a backtrace on users or scripts: one line, and the transport/internal exit code.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str));
        eprintln!("internal error: {}", message.unwrap_or("unexpected failure"));
    }));
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(command)));
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(failure)) => failure::report(&failure),
        Err(_) => ExitCode::from(3),
    }
}

/// Logs of the client to stderr: warnings by default, more with -v.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("WECOM_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("wecom_groupchat={level},wecom_groupchat_sim={level}"))
    });
    // Colours only on a terminal, and not with NO_COLOR: escape codes in a log file or a CI log are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr()) && !wecom_groupchat_cli::no_color();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi)
        .init();
}
