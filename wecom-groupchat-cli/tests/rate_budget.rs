//! `--rate-budget`, `--rate-share`, `--expected-instances`: bad values are usage errors (nothing sent), a
//! Redis URL's password never shows, and a budget on Redis — given, or the token store's — is where the
//! calls are counted.

mod common;

use common::{Cli, Sim};

#[test]
fn bad_budget_settings_are_usage_errors_and_send_nothing() {
    let sim = Sim::start();
    for (args, says) in [
        (&["--rate-share", "0"][..], "--rate-share"),
        (&["--rate-share", "1.5"], "--rate-share"),
        (&["--rate-share", "lots"], "--rate-share"),
        (&["--expected-instances", "0"], "--expected-instances"),
        (&["--rate-budget", "file:///tmp/budget"], "--rate-budget"),
    ] {
        sim.cli().args(args).args(["list", "--limit", "1"]).run().code(2).stderr_has(&[says]);
    }
    assert_eq!(sim.total_calls(), 0, "{:?}", sim.stats());
    // A mistyped URL is not echoed: it may carry a password.
    let run = sim.cli().args(["--rate-budget", "redis:/:budgetpassword7@x", "list"]).secret("budgetpassword7").run();
    run.code(2);
    let run = Cli::new()
        .env("WECOM_RATE_BUDGET", "redis://:budgetpassword7@127.0.0.1:6379/0")
        .secret("budgetpassword7")
        .args(["list", "--help"])
        .run();
    run.ok().stdout_has(&["--rate-budget", "WECOM_RATE_BUDGET", "--rate-share", "--expected-instances"]);
}

#[test]
fn a_share_of_the_budget_in_memory_still_gets_everything() {
    let sim = Sim::start();
    let run = sim.cli().args(["--rate-budget", "memory", "--rate-share", "0.5", "list", "--all", "-o", "json"]).run();
    assert_eq!(run.ok().json_lines().len(), sim.hints().chats);
}

/// The Redis of the workspace's tests (`.ci/run` starts one); `None` outside CI without it.
fn redis_url() -> Option<String> {
    match std::env::var("WECOM_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => panic!("WECOM_TEST_REDIS_URL is not set"),
        _ => None,
    }
}

/// The budget keys of `endpoint` on the simulator at `base_url`, as `redis-cli` lists them.
fn budget_keys(redis_url: &str, base_url: &str, endpoint: &str) -> Vec<String> {
    let host = base_url.trim_start_matches("http://");
    let pattern = format!("wecom-groupchat:budget:{}:{host}:{endpoint}:*", common::CORP_ID);
    let out = std::process::Command::new("redis-cli")
        .args(["-u", redis_url, "--scan", "--pattern", &pattern])
        .output()
        .expect("redis-cli (installed with redis-server)");
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect()
}

#[test]
fn a_budget_on_redis_given_or_the_token_stores_counts_the_calls_there() {
    let Some(url) = redis_url() else { return };
    let sim = Sim::start();
    let run = sim.cli().args(["--rate-budget", &url, "--expected-instances", "4", "list", "--all", "-o", "json"]).run();
    assert_eq!(run.ok().json_lines().len(), sim.hints().chats);
    assert_eq!(budget_keys(&url, &sim.base_url(), "list").len(), 1, "the listing's budget is on Redis");

    // No --rate-budget: the token store's Redis keeps the budget too.
    let chat = sim.hints().active_owners[0].chat_ids[0].clone();
    sim.cli().env("WECOM_TOKEN_STORE", &url).args(["get", &chat]).run().ok();
    assert_eq!(budget_keys(&url, &sim.base_url(), "get").len(), 1);
    // … unless told otherwise.
    let other = Sim::start();
    other.cli().env("WECOM_TOKEN_STORE", &url).args(["--rate-budget", "memory", "get", &chat]).run().ok();
    assert!(budget_keys(&url, &other.base_url(), "get").is_empty());
}
