//! Shell completions, the manual pages `cargo xtask man` writes, and NO_COLOR.

mod common;

use common::Cli;

/// Every subcommand, as the completion scripts and the manual pages must name it.
const SUBCOMMANDS: &[&str] = &[
    "call",
    "list",
    "get",
    "transfer",
    "join-way",
    "stats",
    "export",
    #[cfg(feature = "simulator")]
    "sim",
    #[cfg(feature = "simulator")]
    "demo",
    "callback",
    "sync",
    "completions",
];

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        // No credentials needed, and whatever the environment holds is not used.
        let run = Cli::new().env("WECOM_CORP_SECRET", common::SECRET).args(["completions", shell]).run();
        run.ok();
        assert!(run.stderr.is_empty(), "{shell}: {}", run.stderr);
        assert!(!run.stdout.trim().is_empty(), "{shell}: empty script");
        run.stdout_has(&["wecom-groupchat"]);
        for sub in SUBCOMMANDS {
            run.stdout_has(&[sub]);
        }
        // Nested subcommands and flags too.
        run.stdout_has(&["by-owner", "by-day", "resigned-owner", "new-owner"]);
    }
    // The same script every time (a file users install must not churn).
    let twice = Cli::new().args(["completions", "bash"]).run();
    let again = Cli::new().args(["completions", "bash"]).run();
    assert_eq!(twice.stdout, again.stdout);
}

#[test]
fn completions_of_an_unknown_shell_is_a_usage_error() {
    let run = Cli::new().args(["completions", "tcsh"]).run();
    run.code(2).stderr_has(&["tcsh", "bash", "zsh", "fish", "powershell"]);
    assert!(run.stdout.is_empty());
    Cli::new().arg("completions").run().code(2);
}

#[test]
fn man_pages_have_a_title_and_name_every_subcommand() {
    // The function `cargo xtask man` runs (through the crate's `man` example).
    let dir = tempfile::tempdir().unwrap();
    let written = wecom_groupchat_cli::man::write_pages(dir.path()).unwrap();
    assert_eq!(written[0], dir.path().join("wecom-groupchat.1"));
    let top = std::fs::read_to_string(&written[0]).unwrap();
    assert!(top.contains(".TH wecom-groupchat 1"), "{top}");
    assert!(top.contains(".SH SYNOPSIS") && top.contains(".SH SUBCOMMANDS"), "{top}");
    for sub in SUBCOMMANDS {
        let page = format!("wecom-groupchat-{sub}");
        // roff escapes hyphens.
        assert!(top.contains(&format!("{}(1)", page.replace('-', "\\-"))), "the top page lacks {page}(1)");
        let text = std::fs::read_to_string(dir.path().join(format!("{page}.1"))).unwrap();
        assert!(text.contains(&format!(".TH {page} 1")), "{page}.1:\n{text}");
    }
    // Nested subcommands get their own pages, and the pages say which version they document.
    for nested in ["wecom-groupchat-stats-by-day.1", "wecom-groupchat-join-way-add.1", "wecom-groupchat-sync-status.1"]
    {
        assert!(written.contains(&dir.path().join(nested)), "{nested} not written: {written:?}");
    }
    assert!(top.contains(concat!("wecom-groupchat ", env!("CARGO_PKG_VERSION"))), "{top}");
    // The flags with their help, limits read from the spec included.
    let list = std::fs::read_to_string(dir.path().join("wecom-groupchat-list.1")).unwrap();
    let owners = format!("at most {}", wecom_groupchat::types::OwnerFilter::USERID_LIST_MAX_ITEMS);
    assert!(list.contains("\\-\\-owner") && list.contains(&owners), "{list}");
}

/// `CLICOLOR_FORCE=1` makes clap colour its help even off a terminal: the way to see that NO_COLOR wins.
fn help(env: &[(&str, &str)], args: &[&str]) -> (String, String) {
    let mut cmd = assert_cmd::Command::new(common::bin());
    cmd.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE").env_remove("CLICOLOR").timeout(common::RUN_TIMEOUT);
    for (key, value) in env {
        cmd.env(key, value);
    }
    let output = cmd.args(args).output().unwrap();
    (String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap())
}

#[test]
fn no_color_turns_colour_off() {
    const ESC: char = '\u{1b}';
    // Off a terminal: no colour, with or without NO_COLOR.
    let run = Cli::new().env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE").arg("--help").run();
    assert!(run.ok().stdout.contains("Usage: wecom-groupchat") && !run.stdout.contains(ESC));
    let run = Cli::new().env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE").arg("--help").run();
    assert!(run.ok().stdout.contains("Usage: wecom-groupchat") && !run.stdout.contains(ESC));

    // Colour forced: there is some, unless NO_COLOR is set (and not empty), in help and in errors, of
    // the tool's parser and of the simulator's.
    let mut helps = vec![&["--help"][..], &["list", "--help"]];
    if cfg!(feature = "simulator") {
        helps.push(&["sim", "--help"]);
    }
    for args in helps {
        let (out, _) = help(&[("CLICOLOR_FORCE", "1")], args);
        assert!(out.contains(ESC), "{args:?}: no colour even forced, so this test shows nothing");
        let (out, _) = help(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], args);
        assert!(out.contains("Usage:") && !out.contains(ESC), "{args:?} with NO_COLOR:\n{out}");
        let (out, _) = help(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")], args);
        assert!(out.contains(ESC), "{args:?}: an empty NO_COLOR is not set");
    }
    let (_, err) = help(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")], &["list", "--no-such-flag"]);
    assert!(err.contains("--no-such-flag") && !err.contains(ESC), "{err}");
}

/// Built without the `simulator` feature, the tool has no `sim` and no `demo`: clap says so, exit 2.
#[cfg(not(feature = "simulator"))]
#[test]
fn without_the_simulator_feature_there_is_no_sim_or_demo() {
    for command in ["sim", "demo"] {
        Cli::new().arg(command).run().code(2).stderr_has(&["unrecognized subcommand"]);
    }
    let run = Cli::new().arg("--help").run();
    let listed = |name: &str| run.stdout.lines().any(|l| l.split_whitespace().next() == Some(name));
    assert!(run.ok().stdout.contains("Commands:") && !listed("sim") && !listed("demo"), "{}", run.stdout);
}
