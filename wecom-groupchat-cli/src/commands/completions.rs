//! `completions SHELL`: the shell's completion script for every subcommand and flag, on stdout.

use crate::args::CompletionsArgs;
use crate::failure::Outcome;
use crate::output;

pub fn run(args: CompletionsArgs) -> Outcome {
    let mut script = Vec::new();
    clap_complete::generate(
        args.shell,
        &mut wecom_groupchat_cli::command(),
        wecom_groupchat_cli::BIN_NAME,
        &mut script,
    );
    output::exact(&String::from_utf8_lossy(&script))
}
