//! The exit-code contract: 1 for an API errcode (any endpoint, gettoken and 45009 included) with
//! errcode, errmsg and meaning on stderr; 2 for usage errors with nothing sent; 3 for transport and
//! decode errors. (0 is everywhere; 4 is in transfer.rs and export.rs.)

mod common;

use std::time::Duration;

use common::{Cli, Sim, closed_port};
use wecom_groupchat_sim::{FaultKind, Faults, RateLimitRule, ScriptedFault};

#[test]
fn an_api_errcode_exits_1_with_code_message_and_meaning() {
    let sim = Sim::start();
    let run = sim.cli().args(["get", "wrNoSuchChatAAAA"]).run();
    run.code(1).stderr_has(&[
        "get: errcode 40050",
        "chatid不存在",           // errmsg as sent
        "wrNoSuchChatAAAA",       // its hint
        "chat id does not exist", // meaning from the error table
    ]);
    assert!(run.stdout.is_empty(), "no data: {}", run.stdout);

    // Any endpoint: opengid_to_chatid of an unknown opengid.
    sim.cli()
        .args(["call", "opengid_to_chatid", "--body", r#"{"opengid": "oGNoSuch"}"#])
        .run()
        .code(1)
        .stderr_has(&["errcode 90511"]);
}

#[test]
fn a_wrong_secret_or_corp_id_exits_1() {
    let sim = Sim::start();
    let wrong = "wrong-secret-0d4e1a";
    let run = sim.cli().env("WECOM_CORP_SECRET", wrong).secret(wrong).args(["list", "--limit", "1"]).run();
    run.code(1).stderr_has(&["gettoken: errcode 40001", "invalid secret"]);
    assert_eq!(sim.gettoken_calls(), 1, "a wrong secret is reported at once, not retried");
    assert_eq!(sim.calls("list"), 0);

    // The flag overrides the environment, and is not echoed either.
    let run = sim.cli().args(["--corp-secret", wrong]).secret(wrong).args(["get", "x"]).run();
    run.code(1).stderr_has(&["errcode 40001"]);

    let run = sim.cli().args(["--corp-id", "wwNoSuchCorp", "list", "--limit", "1"]).run();
    run.code(1).stderr_has(&["gettoken: errcode 40013"]);
}

#[test]
fn a_rejected_access_token_exits_1() {
    let sim = Sim::start();
    let token = "not-a-token-9b7c5d3e";
    let run = Cli::new()
        .env("WECOM_BASE_URL", sim.base_url())
        .env("WECOM_ACCESS_TOKEN", token)
        .secret(token)
        .args(["list", "--limit", "1"])
        .run();
    run.code(1).stderr_has(&["errcode 40014", "invalid access token", "cannot be refreshed"]);
    assert_eq!(sim.gettoken_calls(), 0, "a given token is used as is");
}

/// A flag wins over the other kind of credential from the environment; two of the same origin are a
/// usage error.
#[test]
fn a_credential_flag_wins_over_the_environment() {
    let sim = Sim::start();
    let token = "not-a-token-4a8b2c";
    // WECOM_CORP_SECRET set, --access-token given: the token is used (and rejected: it is made up).
    let run = sim.cli().args(["--access-token", token, "list", "--limit", "1"]).secret(token).run();
    run.code(1).stderr_has(&["errcode 40014"]);
    assert_eq!(sim.gettoken_calls(), 0);
    // WECOM_ACCESS_TOKEN set, --corp-secret given: corp id and secret are used.
    let run = sim
        .cli()
        .env("WECOM_ACCESS_TOKEN", token)
        .args(["--corp-secret", common::SECRET, "list", "--limit", "1"])
        .secret(token)
        .run();
    run.ok();
    assert_eq!(sim.gettoken_calls(), 1);
    // Both as flags, or both from the environment: say so, send nothing.
    sim.reset_stats();
    sim.cli()
        .args(["--access-token", token, "--corp-secret", common::SECRET, "list"])
        .secret(token)
        .run()
        .code(2)
        .stderr_has(&["--corp-secret or --access-token, not both"]);
    sim.cli()
        .env("WECOM_ACCESS_TOKEN", token)
        .secret(token)
        .args(["list"])
        .run()
        .code(2)
        .stderr_has(&["WECOM_CORP_SECRET and WECOM_ACCESS_TOKEN"]);
    assert_eq!(sim.total_calls(), 0);
}

/// An empty credential could only be refused by WeCom: it is a usage error, found before any request.
#[test]
fn an_empty_credential_exits_2_before_sending() {
    let sim = Sim::start();
    for (flag, value) in [("--access-token", ""), ("--corp-secret", ""), ("--corp-id", ""), ("--corp-secret", " ")] {
        let run = sim.cli().args([flag, value, "list", "--limit", "1"]).run();
        run.code(2).stderr_has(&[&format!("{flag} is empty")]);
    }
    // An empty variable counts as unset (how shells unset one for a command): here, no credentials at all.
    let run = sim.cli().env("WECOM_CORP_ID", "").args(["list", "--limit", "1"]).run();
    run.code(2).stderr_has(&["no credentials", "WECOM_CORP_ID"]);
    let run =
        Cli::new().env("WECOM_BASE_URL", sim.base_url()).env("WECOM_ACCESS_TOKEN", "").args(["get", "wrChat"]).run();
    run.code(2).stderr_has(&["no credentials"]);
    assert_eq!(sim.total_calls(), 0, "{:?}", sim.stats());
    // … and does not clash with the other kind of credential.
    sim.cli().env("WECOM_ACCESS_TOKEN", "").args(["list", "--limit", "1"]).run().code(0);
}

#[test]
fn the_rate_limit_exits_1_with_its_meaning() {
    let sim = Sim::start();
    sim.set_faults(Faults::default().rate_limit_endpoint("get", RateLimitRule::per_minute(1))).unwrap();
    let chat = sim.hints().active_owners[0].chat_ids[0].clone();
    sim.cli().args(["get", &chat]).run().ok();
    let run = sim.cli().args(["get", &chat]).run();
    run.code(1).stderr_has(&["errcode 45009", "接口调用超过限制", "call frequency limit"]);
    assert_eq!(sim.stats().rate_limited, 1);
    assert_eq!(sim.calls("get"), 2, "45009 is not retried");

    // In the middle of a listing of every page too.
    sim.inject(ScriptedFault::new(Some("list"), FaultKind::RateLimited, 1)).unwrap();
    sim.cli().args(["list", "--all", "-o", "json"]).run().code(1).stderr_has(&["list", "errcode 45009"]);
}

#[test]
fn usage_errors_exit_2_and_send_nothing() {
    let sim = Sim::start();
    let many_owners: Vec<String> = (0..101).flat_map(|i| ["--owner".to_string(), format!("user{i}")]).collect();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["list".into(), "--limit".into(), "0".into()], "limit: 0, at least 1"),
        (vec!["list".into(), "--limit".into(), "1001".into()], "limit: 1001, at most 1000"),
        (vec!["list".into(), "--limit".into(), "ten".into()], "--limit"),
        // A negative number is a value, checked like any other.
        (vec!["list".into(), "--limit".into(), "-1".into()], "limit: -1, at least 1"),
        (vec!["list".into(), "--owner".into(), "a,,b".into()], "--owner: userid 2 of the 3 given is empty"),
        (vec!["list".into(), "--status".into(), "sleeping".into()], "--status"),
        ([vec!["list".into()], many_owners].concat(), "owner_filter.userid_list: 101 items, at most 100"),
        (vec!["list".into(), "--all".into(), "--cursor".into(), "abc".into()], "--cursor"),
        (vec!["--timeout".into(), "0".into(), "list".into()], "--timeout"),
        (vec!["--retries".into(), "11".into(), "list".into()], "--retries"),
        (vec!["--timeout".into(), "-1".into(), "list".into()], "-1 is not in 1..=600"),
        (vec!["--retries".into(), "-2".into(), "list".into()], "-2 is not in 0..=10"),
        (vec!["-o".into(), "xml".into(), "list".into()], "xml"),
        (vec!["get".into()], "CHAT_ID"),
        (vec!["frobnicate".into()], "frobnicate"),
        (vec![], "Usage"),
        (vec!["--base-url".into(), "not a url".into(), "list".into()], "base"),
        (vec!["--token-store".into(), "file:///tmp/tokens".into(), "list".into()], "--token-store"),
    ];
    for (args, expected) in cases {
        let run = sim.cli().args(&args).run();
        run.code(2).stderr_has(&[expected]);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        // Whoever found the mistake (clap or the tool), the message starts the same way.
        assert!(run.stderr.starts_with("error: "), "{args:?}: {}", run.stderr);
    }
    assert_eq!(sim.total_calls(), 0, "{:?}", sim.stats());
}

/// An argument that is not UTF-8 is a usage error, wherever it stands; never a panic.
#[test]
fn arguments_that_are_not_utf8_exit_2() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;

    let sim = Sim::start();
    let bad = || OsString::from_vec(vec![b'w', b'r', 0xff, 0xfe]);
    #[cfg_attr(not(feature = "simulator"), allow(unused_mut))]
    let mut cases: Vec<(Vec<OsString>, &str)> = vec![
        (vec!["get".into(), bad()], "UTF-8"),
        (vec![bad()], "unrecognized subcommand"),
        (vec!["list".into(), "--owner".into(), bad()], "UTF-8"),
        (vec!["call".into(), "list".into(), "--body".into(), bad()], "UTF-8"),
        (vec!["transfer".into(), "--new-owner".into(), "lisi".into(), bad()], "UTF-8"),
    ];
    #[cfg(feature = "simulator")]
    cases.extend([
        (vec!["sim".into(), "--corp-id".into(), bad()], "UTF-8"),
        (vec!["-v".into(), "sim".into(), bad()], "UTF-8"),
    ]);
    for (args, expected) in cases {
        let run = sim.cli().args(&args).run();
        run.code(2).stderr_has(&[expected]);
        assert!(run.stderr.starts_with("error: "), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
    }
    assert_eq!(sim.total_calls(), 0, "{:?}", sim.stats());
}

#[test]
fn an_unreachable_server_exits_3() {
    let run = Cli::new()
        .env("WECOM_BASE_URL", format!("http://127.0.0.1:{}", closed_port()))
        .env("WECOM_CORP_ID", common::CORP_ID)
        .env("WECOM_CORP_SECRET", common::SECRET)
        .args(["--retries", "0", "list", "--limit", "1"])
        .run();
    run.code(3).stderr_has(&["gettoken", "connect"]);
}

#[test]
fn an_html_error_page_exits_3() {
    let sim = Sim::start();
    sim.inject(ScriptedFault::new(Some("list"), FaultKind::BadGateway, 1)).unwrap();
    let run = sim.cli().args(["--retries", "0", "list", "--limit", "1"]).run();
    run.code(3).stderr_has(&["list: HTTP 502", "text/html", "Bad Gateway"]);

    // From gettoken as well.
    sim.inject(ScriptedFault::new(Some("gettoken"), FaultKind::BadGateway, 1)).unwrap();
    sim.cli().args(["--retries", "0", "get", "x"]).run().code(3).stderr_has(&["gettoken", "502"]);
}

#[test]
fn truncated_json_exits_3() {
    let sim = Sim::start();
    sim.inject(ScriptedFault::new(Some("get"), FaultKind::Truncated, 1)).unwrap();
    let chat = sim.hints().active_owners[0].chat_ids[0].clone();
    let run = sim.cli().args(["--retries", "0", "get", &chat]).run();
    run.code(3).stderr_has(&["get: cannot decode the response", "EOF"]);
    assert!(run.stdout.is_empty());
}

#[test]
fn a_dropped_connection_exits_3() {
    let sim = Sim::start();
    sim.inject(ScriptedFault::new(Some("list"), FaultKind::Dropped, 1)).unwrap();
    sim.cli().args(["--retries", "0", "list", "--limit", "1"]).run().code(3).stderr_has(&["list"]);
}

#[test]
fn an_oversized_answer_exits_3() {
    let sim = Sim::start();
    sim.inject(ScriptedFault::new(Some("list"), FaultKind::Oversized, 1)).unwrap();
    sim.cli().args(["--retries", "0", "list", "--limit", "1"]).run().code(3).stderr_has(&["list"]);
}

#[test]
fn a_timeout_exits_3() {
    let sim = Sim::start();
    sim.set_faults(Faults::default().latency(Duration::from_secs(5))).unwrap();
    let run = sim.cli().args(["--timeout", "1", "--retries", "0", "list", "--limit", "1"]).run();
    run.code(3).stderr_has(&["timed out"]);
}

#[test]
fn transient_failures_of_reads_are_retried() {
    let sim = Sim::start();
    sim.inject(ScriptedFault::new(Some("list"), FaultKind::Busy, 1)).unwrap();
    sim.inject(ScriptedFault::new(Some("list"), FaultKind::BadGateway, 1)).unwrap();
    let run = sim.cli().args(["list", "--limit", "2", "-o", "json"]).run();
    assert_eq!(run.ok().json_lines()[0]["group_chat_list"].as_array().unwrap().len(), 2);
    assert_eq!(sim.calls("list"), 3);
}
