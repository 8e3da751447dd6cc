//! The command line of `wecom-groupchat`, as a library for the workspace's tooling: the binary parses
//! with [`command`], and `cargo xtask man` writes the manual pages with [`man::write_pages`] from the
//! same definition. Not a stable API: use the binary.

pub mod args;
pub mod join_way_flags;
pub mod man;

use clap::{ColorChoice, CommandFactory};

/// The binary's name, in completions and manual pages.
pub const BIN_NAME: &str = "wecom-groupchat";

/// The whole command line (every subcommand and flag), coloured as [`color_choice`] says.
pub fn command() -> clap::Command {
    args::Cli::command().color(color_choice())
}

/// Whether the user asked for no colour: `NO_COLOR` set and not empty (<https://no-color.org>).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Colours in help and errors: never with [`no_color`], else when the stream is a terminal.
pub fn color_choice() -> ColorChoice {
    if no_color() { ColorChoice::Never } else { ColorChoice::Auto }
}
