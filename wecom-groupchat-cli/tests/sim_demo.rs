//! `sim` (the simulator in the foreground, driven by the tool itself) and `demo` (every endpoint against
//! the embedded simulator).

mod common;

use common::{Cli, Running};
use wecom_groupchat::endpoints;

/// The URL from the simulator's first line.
fn url(line: &str) -> String {
    let start = line.find("http://127.0.0.1:").unwrap_or_else(|| panic!("no loopback URL in {line:?}"));
    line[start..].split_whitespace().next().unwrap().to_string()
}

#[test]
fn sim_serves_until_killed_and_the_tool_can_call_it() {
    let mut sim =
        Running::spawn(&["sim", "--corp-id", "wwforeground", "--corp-secret", common::SECRET, "--seed", "9"], &[]);
    let line = sim.first_line();
    assert!(!line.contains(common::SECRET), "the secret is not printed: {line}");
    let base = url(&line);

    let run = Cli::new()
        .env("WECOM_BASE_URL", &base)
        .env("WECOM_CORP_ID", "wwforeground")
        .env("WECOM_CORP_SECRET", common::SECRET)
        .args(["list", "--all", "-o", "json"])
        .run();
    assert_eq!(run.ok().json_lines().len(), 300, "the demo company");

    // Another secret is refused by it.
    Cli::new()
        .env("WECOM_BASE_URL", &base)
        .env("WECOM_CORP_ID", "wwforeground")
        .env("WECOM_CORP_SECRET", "other")
        .args(["list", "--limit", "1"])
        .run()
        .code(1)
        .stderr_has(&["40001"]);
    drop(sim); // killed
}

#[test]
fn sim_takes_the_credentials_from_the_environment() {
    // However it is reached: `sim` first, or after global options.
    for args in [&["sim"][..], &["-v", "sim"][..]] {
        let env = [("WECOM_CORP_ID", "wwfromenv"), ("WECOM_CORP_SECRET", common::SECRET)];
        let mut sim = Running::spawn(args, &env);
        let line = sim.first_line();
        assert!(line.contains("corp id wwfromenv"), "{args:?}: {line}");
        let base = url(&line);
        Cli::new()
            .env("WECOM_BASE_URL", &base)
            .env("WECOM_CORP_ID", "wwfromenv")
            .env("WECOM_CORP_SECRET", common::SECRET)
            .args(["get", "wrNoSuchChat"])
            .run()
            .code(1)
            .stderr_has(&["40050"]);
    }
    // A shell holding both kinds of credential can still start one (it needs only the secret).
    let env = [("WECOM_CORP_ID", "wwboth"), ("WECOM_CORP_SECRET", common::SECRET), ("WECOM_ACCESS_TOKEN", "t")];
    let mut sim = Running::spawn(&["-v", "sim"], &env);
    assert!(sim.first_line().contains("corp id wwboth"));
    // Flags win over the environment.
    let mut sim = Running::spawn(&["sim", "--corp-id=wwflag"], &[("WECOM_CORP_ID", "wwfromenv")]);
    assert!(sim.first_line().contains("corp id wwflag"));
}

/// A secret that looks like a flag is a value all the same: handed on as one word, it is neither read
/// as a flag nor echoed in an error.
#[test]
fn a_secret_starting_with_dashes_starts_a_simulator_and_is_never_printed() {
    let secret = "--looks-like-a-flag-7c1d";
    for args in [&["sim"][..], &["-v", "sim"][..]] {
        let env = [("WECOM_CORP_ID", "wwdash"), ("WECOM_CORP_SECRET", secret)];
        let mut sim = Running::spawn(args, &env);
        let line = sim.first_line();
        assert!(line.contains("corp id wwdash") && !line.contains(secret), "{args:?}: {line}");
        let base = url(&line);
        Cli::new()
            .env("WECOM_BASE_URL", &base)
            .env("WECOM_CORP_ID", "wwdash")
            .env("WECOM_CORP_SECRET", secret)
            .secret(secret)
            .args(["list", "--limit", "1", "-o", "json"])
            .run()
            .ok();
        let stderr = sim.kill_and_stderr();
        assert!(!stderr.contains(secret), "{stderr}");
    }
}

#[test]
fn sim_help_and_bad_flags() {
    // However it is reached: the simulator's own flags, not the tool's.
    for args in [&["sim", "--help"][..], &["-v", "sim", "--help"][..], &["-v", "sim", "-h"][..]] {
        let run = Cli::new().env("WECOM_CORP_SECRET", common::SECRET).args(args).run();
        run.ok().stdout_has(&["--corp-id", "--corp-secret", "--data", "--latency-ms", "--rate-limit", "--seed"]);
        run.stdout_has(&["--callback-url", "--callback-token", "--callback-aes-key", "--callback-api-writes"]);
        assert!(!run.stdout.contains("--output"), "{args:?}: the tool's help:\n{}", run.stdout);
    }
    Cli::new().args(["sim", "--no-such-flag"]).run().code(2).stderr_has(&["--no-such-flag"]);
    Cli::new().args(["sim", "--busy-fraction", "0.8", "--drop-fraction", "0.8"]).run().code(2);
    Cli::new().args(["sim", "--addr", "0.0.0.0:0"]).run().code(2).stderr_has(&["--allow-non-loopback"]);
    // A callback key of the wrong length is a usage error that names the flag, never the key or the token.
    Cli::new()
        .secret("short-aes-key-hidden")
        .secret("callback-token-hidden")
        .args(["sim", "--callback-url", "http://127.0.0.1:9/cb", "--callback-token", "callback-token-hidden"])
        .args(["--callback-aes-key", "short-aes-key-hidden"])
        .run()
        .code(2)
        .stderr_has(&["--callback-aes-key", "43"]);
    Cli::new().args(["sim", "--callback-token", "t"]).run().code(2).stderr_has(&["--callback-url"]);
}

#[test]
fn demo_walks_through_every_endpoint() {
    // It needs no credentials, so none from the environment can stop it (not even two conflicting ones).
    let token = "token-of-another-shell-1f3a";
    let run = Cli::new()
        .env("WECOM_CORP_SECRET", common::SECRET)
        .env("WECOM_ACCESS_TOKEN", token)
        .secret(token)
        .arg("demo")
        .run();
    run.ok();
    for info in endpoints::ALL {
        run.stdout_has(&[info.name]);
    }
    run.stdout_has(&[
        "simulator: http://127.0.0.1:",
        "transfer:",
        "succeeded",
        "failed",
        "refused: add_join_way: invalid request: chat_id_list: 6 items, at most 5",
        "requests sent for those two: 0",
        "errcode 40050",
        "gettoken called 1 time(s)",
        // Step 7: every change kind pushed to the embedded receiver, typed, one redelivery recognised, and the
        // member versions of the events agreeing with get.
        "7. callback events",
        "add_member",
        "del_member",
        "change_name",
        "change_notice",
        "change_owner",
        "dismiss",
        "8 deliveries, 7 events handed over: 1 redelivery recognised by its dedupe key",
        "LastMemVer and last CurMemVer agree",
    ]);
    // The summary table counts a call of every endpoint.
    let summary = &run.stdout[run.stdout.find("what went over the wire").expect("a summary")..];
    for info in endpoints::ALL {
        let row = summary
            .lines()
            .find(|l| l.contains(&format!(" {} ", info.name)))
            .unwrap_or_else(|| panic!("{} in the summary", info.name));
        assert!(!row.contains(" 0 "), "{} was called: {row}", info.name);
    }
}
