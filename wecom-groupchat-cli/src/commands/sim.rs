//! `sim [simulator flags]`: the simulator in the foreground, with the flags of `wecom-groupchat-sim`.
//!
//! The simulator has its own `--corp-id`/`--corp-secret` (what it accepts), which would clash with the
//! tool's global options of the same names; so its flags are parsed by its own parser.

use clap::{CommandFactory, FromArgMatches};

use crate::args::{Global, SimCli};
use crate::failure::{Failure, Outcome};

/// The words after `sim` as text: the simulator's flags are all UTF-8, so anything else is a usage error.
pub fn utf8_args(args: &[std::ffi::OsString]) -> Result<Vec<String>, Failure> {
    args.iter()
        .map(|a| {
            a.to_str()
                .map(str::to_string)
                .ok_or_else(|| Failure::Usage(format!("sim: argument {} is not valid UTF-8", a.to_string_lossy())))
        })
        .collect()
}

/// Runs the simulator with `args`, the words after `sim`. The corp id and secret it accepts come from
/// its flags, else from WECOM_CORP_ID / WECOM_CORP_SECRET (so a shell set up for the tool can start a
/// simulator the tool can call at once), else the simulator's defaults.
pub async fn run_args(mut args: Vec<String>) -> Outcome {
    for (flag, var) in [("--corp-id", "WECOM_CORP_ID"), ("--corp-secret", "WECOM_CORP_SECRET")] {
        let given = args.iter().any(|a| a == flag || a.starts_with(&format!("{flag}=")));
        if let (false, Ok(value)) = (given, std::env::var(var))
            && !value.is_empty()
        {
            // One word: a value starting with `--` must not be read as a flag (and echoed in an error).
            args.push(format!("{flag}={value}"));
        }
    }
    let words = std::iter::once("wecom-groupchat sim".to_string()).chain(args);
    let parsed = SimCli::command()
        .color(wecom_groupchat_cli::color_choice())
        .try_get_matches_from(words)
        .and_then(|matches| SimCli::from_arg_matches(&matches));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help / --version: print and succeed.
            let _ = e.print();
            return Ok(());
        }
        Err(e) => return Err(Failure::Usage(e.to_string().trim_end().trim_start_matches("error: ").to_string())),
    };
    wecom_groupchat_sim::run_foreground(cli.args).await.map_err(|e| match e {
        wecom_groupchat_sim::SimError::Config(_) | wecom_groupchat_sim::SimError::Data(_) => {
            Failure::Usage(e.to_string())
        }
        other => Failure::Io(other.to_string()),
    })
}

/// `sim` reached through the main parser (global options before it): hands the corp id and secret the
/// global options took (from flags or the environment) on to the simulator.
pub async fn run(global: &Global, mut args: Vec<String>) -> Outcome {
    if let Some(id) = &global.corp_id {
        args.push(format!("--corp-id={id}"));
    }
    if let Some(secret) = &global.corp_secret {
        args.push(format!("--corp-secret={}", secret.as_str()));
    }
    run_args(args).await
}
