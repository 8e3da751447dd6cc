//! What holds for every command: `--help` is there and never shows a secret, data goes to stdout and
//! diagnostics to stderr, logs (-v, -vv) never show the secret or a token, a closed pipe is not a
//! crash. (Every run in every test file is also checked for panics, backtraces, colour codes and the
//! secret by the harness.)

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{Cli, Sim};

const COMMANDS: &[&[&str]] = &[
    &[],
    &["call"],
    &["list"],
    &["get"],
    &["transfer"],
    &["join-way"],
    &["join-way", "add"],
    &["join-way", "get"],
    &["join-way", "update"],
    &["join-way", "del"],
    &["stats"],
    &["stats", "by-owner"],
    &["stats", "by-day"],
    &["export"],
    #[cfg(feature = "simulator")]
    &["sim"],
    #[cfg(feature = "simulator")]
    &["demo"],
    &["completions"],
    &["callback"],
    &["callback", "decrypt"],
    &["sync"],
    &["sync", "status"],
];

#[test]
fn every_command_has_help_that_hides_secrets() {
    let token = "token-7c1d9e0f2a";
    let store = "redis://:redispassword123@127.0.0.1:6379/0";
    let (callback_token, callback_key) = ("cbtoken9f3a", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C");
    for command in COMMANDS {
        for flag in ["--help", "-h"] {
            let run = Cli::new()
                .env("WECOM_CORP_ID", "wwvisible")
                .env("WECOM_CORP_SECRET", common::SECRET)
                .env("WECOM_ACCESS_TOKEN", token)
                .env("WECOM_TOKEN_STORE", store)
                .env("WECOM_CALLBACK_TOKEN", callback_token)
                .env("WECOM_CALLBACK_AES_KEY", callback_key)
                .env("WECOM_SYNC_DB", "postgres://mirror:dbpassword456@db/crm")
                .secret("dbpassword456")
                .secret(token)
                .secret("redispassword123")
                .secret(callback_token)
                .secret(callback_key)
                .args(*command)
                .arg(flag)
                .run();
            run.ok().stdout_has(&["Usage: wecom-groupchat"]);
            assert!(run.stderr.is_empty(), "{command:?} {flag}: {}", run.stderr);
            if *command != ["sim"] {
                // The tool's options, with their variables (values of secrets hidden).
                run.stdout_has(&["--corp-secret", "WECOM_CORP_SECRET", "--base-url", "--output"]);
            }
        }
    }
    // The top-level help states the exit codes.
    let run = Cli::new().arg("--help").run();
    run.ok().stdout_has(&["Exit codes", "0 success", "1 the API", "2 usage", "3 transport", "4 partial"]);
    Cli::new().arg("--version").run().ok().stdout_has(&["wecom-groupchat"]);
    Cli::new().args(["help", "transfer"]).run().ok().stdout_has(&["--new-owner", "--resigned-owner", "--from-file"]);
}

#[test]
fn stdout_carries_data_and_stderr_diagnostics() {
    let sim = Sim::start();
    let hints = sim.hints();

    // Every line on stdout is data; the count is on stderr.
    let run = sim.cli().args(["list", "--all", "-o", "json"]).run();
    assert_eq!(run.ok().json_lines().len(), hints.chats);
    run.stderr_has(&["300 chats"]);

    // A partial transfer: the report on stdout, the summary and the failure on stderr.
    let chats = [hints.resigned_owners[0].chat_ids[0].clone(), "wrNoSuchChat".to_string()];
    let run =
        sim.cli().args(["transfer", "--new-owner", &hints.eligible_new_owners[0], "-o", "json"]).args(&chats).run();
    assert_eq!(run.code(4).json_lines().len(), 2);
    run.stderr_has(&["transfer: 1 succeeded, 1 failed", "partial failure"]);

    // A failure prints nothing on stdout.
    let run = sim.cli().args(["get", "wrNoSuchChat", "-o", "json"]).run();
    assert!(run.code(1).stdout.is_empty());
}

#[test]
fn logs_show_neither_the_secret_nor_a_token() {
    let sim = Sim::start();
    for verbosity in ["-v", "-vv"] {
        let run = sim.cli().args([verbosity, "list", "--limit", "1", "-o", "json"]).run();
        run.ok();
        assert!(!run.stderr.is_empty(), "{verbosity} logs something");
        assert!(!run.stderr.contains("access_token="), "{verbosity}: {}", run.stderr);
        assert!(!run.stderr.contains("corpsecret="), "{verbosity}: {}", run.stderr);
    }
    // A failing gettoken with a wrong secret, logged at debug.
    let wrong = "wrong-secret-logged-e5b2";
    sim.cli().env("WECOM_CORP_SECRET", wrong).secret(wrong).args(["-vv", "get", "x"]).run().code(1);
    // Full tracing of the client.
    let run = sim.cli().env("WECOM_LOG", "trace").args(["list", "--limit", "1"]).run();
    run.ok();
    assert!(!run.stderr.contains("access_token="), "{}", run.stderr);
}

/// `wecom-groupchat list --all | head -1`: the reader goes away; the tool stops quietly (exit 0)
/// instead of paging on for nobody.
#[test]
fn a_closed_pipe_stops_quietly() {
    use wecom_groupchat_sim::{DataSource, Scale};
    // Far more output than a pipe holds, so that writing fails once the reader is gone.
    let sim = Sim::with(common::config().data(DataSource::Scale(Scale::groups(5000))));
    let mut child = Command::new(common::bin())
        .env("WECOM_BASE_URL", sim.base_url())
        .env("WECOM_CORP_ID", sim.corp_id())
        .env("WECOM_CORP_SECRET", sim.corp_secret())
        .env("RUST_BACKTRACE", "1")
        .args(["list", "--all", "--limit", "100", "-o", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.contains("chat_id"));
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "quietly: {stderr}");
    assert!(sim.calls("list") < 50, "stopped paging: {} of 50 pages", sim.calls("list"));

    // A transfer still says whether every chat moved, whether or not anyone reads its report.
    let hints = sim.hints();
    let mut child = Command::new(common::bin())
        .env("WECOM_BASE_URL", sim.base_url())
        .env("WECOM_CORP_ID", sim.corp_id())
        .env("WECOM_CORP_SECRET", sim.corp_secret())
        .args(["transfer", "--new-owner", &hints.eligible_new_owners[0], "-o", "json"])
        .args((0..3000).map(|i| format!("wrNoSuchChat{i:05}")))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    drop(stdout);
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(4), "{}", String::from_utf8_lossy(&output.stderr));
}
