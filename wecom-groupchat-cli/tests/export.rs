//! `export --out FILE.jsonl`: every chat with its details, resuming after an interrupted run (a cut
//! last line), partial failure (exit 4) and the rate limit, filters, bounded flags.

mod common;

use std::collections::HashSet;
use std::path::Path;

use common::{InFlightProxy, Sim};
use serde_json::Value;
use wecom_groupchat_sim::{FaultKind, Faults, ScriptedFault};

/// The exported chats, checking that every line is a complete JSON object.
fn exported(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'), "the file ends with a complete line");
    text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l:?}"))).collect()
}

fn ids(chats: &[Value]) -> HashSet<String> {
    let ids: HashSet<String> = chats.iter().map(|c| c["chat_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), chats.len(), "no chat twice");
    ids
}

#[test]
fn exports_every_chat_with_its_details() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chats.jsonl");
    let run = sim.cli().args(["export", "--concurrency", "4", "--out"]).arg(&out).run();
    run.ok().stderr_has(&["300 chats listed, 0 already in", "exported 300 chats"]);
    assert!(run.stdout.is_empty(), "the data goes to the file");
    let chats = exported(&out);
    assert_eq!(ids(&chats).len(), sim.hints().chats);
    assert_eq!(sim.calls("get"), sim.hints().chats as u64);
    // Full details: owner, members; names only with --names.
    let chat = &chats[0];
    let expected = sim.group_chat(chat["chat_id"].as_str().unwrap()).unwrap();
    assert_eq!(chat["owner"].as_str(), expected.owner.as_deref());
    assert_eq!(chat["member_list"].as_array().unwrap().len(), expected.member_list.unwrap().len());
    assert!(chats.iter().flat_map(|c| c["member_list"].as_array().unwrap()).all(|m| m.get("name").is_none()));

    // Re-running has nothing left to do.
    let before = sim.calls("get");
    sim.cli().args(["export", "--out"]).arg(&out).run().ok().stderr_has(&["300 already in", "0 to export"]);
    assert_eq!(sim.calls("get"), before);
    assert_eq!(exported(&out).len(), 300);
}

#[test]
fn resumes_after_an_interrupted_run() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.jsonl");
    sim.cli().args(["export", "--names", "--out"]).arg(&full).run().ok();
    let text = std::fs::read_to_string(&full).unwrap();

    // A crash after 10 complete lines, in the middle of the 11th.
    let lines: Vec<&str> = text.lines().collect();
    let partial = dir.path().join("partial.jsonl");
    let cut = format!("{}\n{}", lines[..10].join("\n"), &lines[10][..lines[10].len() / 2]);
    std::fs::write(&partial, cut).unwrap();

    sim.reset_stats();
    let run = sim.cli().args(["export", "--names", "--out"]).arg(&partial).run();
    run.ok().stderr_has(&["cutting", "incomplete tail", "10 already in", "290 to export", "exported 290 chats"]);
    assert_eq!(sim.calls("get"), 290, "the 10 complete chats are not read again");
    let chats = exported(&partial);
    assert_eq!(ids(&chats), ids(&exported(&full)));
    assert!(
        chats.iter().flat_map(|c| c["member_list"].as_array().unwrap()).any(|m| m["name"].is_string()),
        "--names asked for names"
    );
}

#[test]
fn never_truncates_a_file_it_did_not_write() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    for text in ["my notes\nimportant\n", "my notes", "{\"chat_id\":\"wrA\"}\nnot a chat\n{\"chat_id\":\"wrB\"}\n"] {
        let out = dir.path().join("notes.txt");
        std::fs::write(&out, text).unwrap();
        sim.cli().args(["export", "--out"]).arg(&out).run().code(2).stderr_has(&["is not a chat written by export"]);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), text, "left as it was");
    }
    assert_eq!(sim.total_calls(), 0);
}

#[test]
fn failed_chats_exit_4_and_a_rerun_finishes() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chats.jsonl");
    // Two reads fail with HTTP 502 and are not retried.
    sim.inject(ScriptedFault::new(Some("get"), FaultKind::BadGateway, 2)).unwrap();
    let run = sim.cli().args(["--retries", "0", "export", "--out"]).arg(&out).run();
    run.code(4).stderr_has(&[
        "HTTP 502",
        "exported 298 chats",
        "2 chats could not be read",
        "run the same command again",
    ]);
    assert_eq!(exported(&out).len(), 298);

    sim.cli().args(["export", "--out"]).arg(&out).run().ok().stderr_has(&["298 already in", "2 to export"]);
    assert_eq!(ids(&exported(&out)).len(), 300);
}

#[test]
fn stops_at_the_rate_limit_and_resumes() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chats.jsonl");
    sim.inject(ScriptedFault::new(Some("get"), FaultKind::RateLimited, 1)).unwrap();
    let run = sim.cli().args(["export", "--concurrency", "1", "--out"]).arg(&out).run();
    run.code(4).stderr_has(&["errcode 45009", "stopped at the rate limit", "300 of 300 chats not exported yet"]);
    assert_eq!(sim.calls("get"), 1, "no call after the 45009");
    assert!(!out.exists(), "a failed run that wrote nothing leaves no empty file of its own");

    sim.cli().args(["export", "--out"]).arg(&out).run().ok();
    assert_eq!(ids(&exported(&out)).len(), 300);
}

#[test]
fn filters_by_owner_and_status() {
    let sim = Sim::start();
    let hints = sim.hints();
    let dir = tempfile::tempdir().unwrap();
    let owner = &hints.active_owners[0];
    let out = dir.path().join("owner.jsonl");
    sim.cli().args(["export", "--owner", &owner.userid, "--out"]).arg(&out).run().ok();
    let chats = exported(&out);
    assert!(chats.iter().all(|c| c["owner"] == owner.userid.as_str()));
    assert!(owner.chat_ids.iter().all(|id| ids(&chats).contains(id)));

    // Two owners as one comma-separated list: not one userid with a comma in it.
    let other = &hints.active_owners[1];
    let out = dir.path().join("two.jsonl");
    sim.cli().args(["export", "--owner", &format!("{},{}", owner.userid, other.userid), "--out"]).arg(&out).run().ok();
    let expected: HashSet<String> = owner.chat_ids.iter().chain(&other.chat_ids).cloned().collect();
    assert!(expected.is_subset(&ids(&exported(&out))));
    assert!(exported(&out).iter().all(|c| c["owner"] == owner.userid.as_str() || c["owner"] == other.userid.as_str()));

    let out = dir.path().join("resigned.jsonl");
    sim.cli().args(["export", "--status", "resigned", "--out"]).arg(&out).run().ok();
    let awaiting: HashSet<String> = hints.resigned_owners.iter().flat_map(|o| o.chat_ids.clone()).collect();
    assert_eq!(ids(&exported(&out)), awaiting);
}

#[test]
fn bad_flags_exit_2_before_sending() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.jsonl");
    for (args, expected) in [
        (vec!["export", "--concurrency", "0", "--out"], "--concurrency"),
        (vec!["export", "--concurrency", "257", "--out"], "--concurrency"),
        (vec!["export", "--concurrency", "-1", "--out"], "-1 is not in 1..=256"),
        (vec!["export", "--concurrency", "many", "--out"], "--concurrency"),
        (vec!["export", "--status", "gone", "--out"], "--status"),
    ] {
        sim.cli().args(args).arg(&out).run().code(2).stderr_has(&[expected]);
    }
    sim.cli().args(["export"]).run().code(2).stderr_has(&["--out"]);
    let many: Vec<String> = (0..101).flat_map(|i| ["--owner".to_string(), format!("user{i}")]).collect();
    sim.cli().args(["export", "--out"]).arg(&out).args(many).run().code(2).stderr_has(&["userid_list", "at most 100"]);
    assert_eq!(sim.total_calls(), 0, "{:?}", sim.stats());
}

/// A listing that fails leaves no empty file behind when the run made it, and a file it found as it was.
#[test]
fn a_failed_listing_leaves_no_file_of_its_own() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chats.jsonl");
    sim.inject(ScriptedFault::new(Some("list"), FaultKind::BadGateway, 1)).unwrap();
    sim.cli().args(["--retries", "0", "export", "--out"]).arg(&out).run().code(3).stderr_has(&["HTTP 502"]);
    assert!(!out.exists(), "the empty file this run created is removed");

    // An empty file that was there before is kept.
    std::fs::write(&out, "").unwrap();
    sim.inject(ScriptedFault::new(Some("list"), FaultKind::BadGateway, 1)).unwrap();
    sim.cli().args(["--retries", "0", "export", "--out"]).arg(&out).run().code(3);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "", "left as it was");
}

/// An output file that cannot be opened is a usage error found before anything is sent.
#[test]
fn an_unusable_out_file_exits_2_before_listing() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let missing_dir = dir.path().join("no/such/dir/x.jsonl");
    sim.cli().args(["export", "--out"]).arg(&missing_dir).run().code(2).stderr_has(&["--out", "x.jsonl"]);
    // A directory.
    sim.cli().args(["export", "--out"]).arg(dir.path()).run().code(2).stderr_has(&["--out"]);
    assert_eq!(sim.total_calls(), 0, "{:?}", sim.stats());
    assert!(!missing_dir.exists());
}

/// `--concurrency N`: never more than N `get` calls in flight, and N reached (the calls do overlap).
#[test]
fn concurrency_is_bounded() {
    let sim = Sim::start();
    // Slow answers, so that calls overlap whenever the tool lets them: the tool starts N calls at once,
    // and 300 ms is far longer than it takes to send them, even on a loaded machine.
    sim.set_faults(Faults::default().latency(std::time::Duration::from_millis(300))).unwrap();
    let proxy = InFlightProxy::start(sim.addr());
    // The owner with the fewest chats that still fill 3 slots twice: each call takes the latency.
    let hints = sim.hints();
    let owner = hints
        .active_owners
        .iter()
        .filter(|o| o.chat_ids.len() >= 6)
        .min_by_key(|o| o.chat_ids.len())
        .expect("an owner with enough chats to fill 3 slots");
    let dir = tempfile::tempdir().unwrap();
    for n in [1usize, 3] {
        let out = dir.path().join(format!("c{n}.jsonl"));
        sim.cli()
            .env("WECOM_BASE_URL", proxy.base_url())
            .args(["export", "--owner", &owner.userid, "--concurrency", &n.to_string(), "--out"])
            .arg(&out)
            .run()
            .ok();
        assert_eq!(exported(&out).len(), owner.chat_ids.len());
        // The runs go from 1 up, so the most seen so far is this run's.
        let max = proxy.max_in_flight();
        assert!(max <= n, "--concurrency {n}: {max} calls were in flight at once");
        assert_eq!(max, n, "--concurrency {n}: the calls did overlap up to the limit");
    }
}

/// The progress bar is for terminals: with stderr captured, no bar and no carriage returns.
#[test]
fn no_progress_bar_off_a_terminal() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chats.jsonl");
    let run = sim.cli().args(["export", "--out"]).arg(&out).run();
    run.ok();
    assert!(!run.stderr.contains('\r') && !run.stderr.contains("[="), "{:?}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 2, "the count and the summary: {}", run.stderr);
}

#[test]
fn a_tail_of_zeros_or_a_stub_line_from_a_crash_is_cut_off() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.jsonl");
    sim.cli().args(["export", "--out"]).arg(&full).run().ok();
    let text = std::fs::read_to_string(&full).unwrap();
    let first_five: String = text.lines().take(5).map(|l| format!("{l}\n")).collect();
    // A power loss: the file grew, its last blocks never written (zeros). A crash a few bytes into a line.
    let tails: [&[u8]; 4] = [&[0u8; 4096], b"{\"ch", b"{\"chat_id\":\"wr\0\0\0\0", b"\0\0\0\n\0\0"];
    for tail in tails {
        let out = dir.path().join("crashed.jsonl");
        let mut bytes = first_five.clone().into_bytes();
        bytes.extend_from_slice(tail);
        std::fs::write(&out, &bytes).unwrap();
        sim.reset_stats();
        sim.cli().args(["export", "--out"]).arg(&out).run().ok().stderr_has(&[
            "cutting",
            "5 already in",
            "295 to export",
        ]);
        assert_eq!(ids(&exported(&out)), ids(&exported(&full)), "{tail:?}");
        assert_eq!(sim.calls("get"), 295);
    }
    // Zeros followed by a complete line of something else: not a crash's tail, not ours to cut.
    let out = dir.path().join("odd.jsonl");
    std::fs::write(&out, format!("{first_five}\0\0\nsomething else\n")).unwrap();
    sim.cli().args(["export", "--out"]).arg(&out).run().code(2).stderr_has(&["is not a chat written by export"]);
}

#[test]
fn a_second_export_to_the_same_file_is_refused_while_one_runs() {
    let sim = Sim::with(common::config().faults(Faults::default().latency(std::time::Duration::from_millis(50))));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chats.jsonl");
    let env = [
        ("WECOM_BASE_URL", sim.base_url()),
        ("WECOM_CORP_ID", sim.corp_id().into()),
        ("WECOM_CORP_SECRET", sim.corp_secret().into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut first = common::Running::spawn(&["export", "--concurrency", "1", "--out", out.to_str().unwrap()], &env);
    // It holds the lock from before its first call.
    let deadline = std::time::Instant::now() + common::RUN_TIMEOUT;
    while sim.calls("get") == 0 {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    sim.cli().args(["export", "--out"]).arg(&out).run().code(2).stderr_has(&["another export is writing this file"]);
    let status = first.0.wait().unwrap();
    assert!(status.success());
    assert_eq!(exported(&out).len(), 300, "one writer, no interleaved lines");
}

#[test]
fn a_listing_that_names_a_chat_twice_fetches_it_once() {
    let answer = r#"{"errcode":0,"errmsg":"ok","access_token":"T","expires_in":7200,"group_chat_list":[{"chat_id":"wrA"},{"chat_id":"wrB"},{"chat_id":"wrA"}],"group_chat":{"chat_id":"wrA"}}"#;
    let server = common::CannedServer::start(answer);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chats.jsonl");
    common::Cli::new()
        .env("WECOM_BASE_URL", server.base_url())
        .env("WECOM_CORP_ID", "ww1")
        .env("WECOM_CORP_SECRET", "s")
        .args(["export", "--out"])
        .arg(&out)
        .run()
        .ok()
        .stderr_has(&["2 chats listed"]);
    let gets = server.requests().iter().filter(|r| r.contains("/groupchat/get?")).count();
    assert_eq!(gets, 2);
}

#[test]
fn memory_in_flight_stays_within_max_memory() {
    let sim = Sim::with(common::config().faults(Faults::default().latency(std::time::Duration::from_millis(30))));
    let proxy = InFlightProxy::start(sim.addr());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("chats.jsonl");
    let run = sim
        .cli()
        .env("WECOM_BASE_URL", proxy.base_url())
        .args(["export", "--concurrency", "256", "--max-memory", "64", "--out"])
        .arg(&out)
        .run();
    run.ok().stderr_has(&["--concurrency 256: 2 calls at a time fit in --max-memory 64 MiB", "running 2"]);
    assert!(proxy.max_in_flight() <= 2, "{}", proxy.max_in_flight());
    assert_eq!(exported(&out).len(), 300);
}
