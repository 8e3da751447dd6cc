//! `transfer`: positional ids, `--from-file` (a file and stdin), `--resigned-owner`, `--onjob`, batches of
//! at most 100, and a report accounting for every chat id (exit 4 when any did not transfer).

mod common;

use std::collections::BTreeMap;

use common::Sim;
use serde_json::Value;
use wecom_groupchat::types::ChatStatus;
use wecom_groupchat_sim::{FaultKind, ScriptedFault};

/// The report on stdout (`-o json`): chat id → its row.
fn report(rows: &[Value]) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    for row in rows {
        let id = row["chat_id"].as_str().expect("a chat id per row").to_string();
        assert!(map.insert(id.clone(), row.clone()).is_none(), "{id} is reported once");
    }
    map
}

#[test]
fn a_mixed_batch_reports_every_chat_and_exits_4() {
    let sim = Sim::start();
    let hints = sim.hints();
    let new_owner = &hints.eligible_new_owners[0];
    let resigned: Vec<String> = hints.resigned_owners.iter().flat_map(|o| o.chat_ids.clone()).collect();
    let active: Vec<String> = hints.active_owners.iter().flat_map(|o| o.chat_ids.clone()).take(30).collect();
    let unknown: Vec<String> = (0..3).map(|i| format!("wrNoSuchChat{i}")).collect();
    let all: Vec<String> = resigned.iter().chain(&active).chain(&unknown).cloned().collect();
    assert!(all.len() > 100, "more than one batch: {}", all.len());

    let run = sim.cli().args(["transfer", "--new-owner", new_owner, "-o", "json"]).args(&all).run();
    run.code(4).stderr_has(&[
        &format!("{} succeeded, {} failed, 0 unknown (2 batches)", resigned.len(), active.len() + unknown.len()),
        &format!("{} of {} chats transferred", resigned.len(), all.len()),
    ]);
    let rows = report(&run.json_lines());
    assert_eq!(rows.len(), all.len(), "every chat id is in the report");
    for id in &resigned {
        assert_eq!(rows[id]["outcome"], "transferred", "{id}");
        assert_eq!(sim.chat_status(id), Some(ChatStatus::Transferring));
    }
    for id in &active {
        assert_eq!(rows[id]["outcome"], "failed");
        assert_eq!(rows[id]["errcode"], 90500, "owner not resigned: {}", rows[id]);
    }
    for id in &unknown {
        assert_eq!(rows[id]["outcome"], "failed");
        assert_eq!(rows[id]["errcode"], 40050, "no such chat: {}", rows[id]);
        assert!(rows[id]["errmsg"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(sim.calls("transfer"), 2, "batches of at most 100");
}

#[test]
fn chat_ids_from_a_file_or_stdin() {
    let sim = Sim::start();
    let hints = sim.hints();
    let new_owner = &hints.eligible_new_owners[0];
    let chats = &hints.resigned_owners[0].chat_ids;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chats.txt");
    std::fs::write(
        &file,
        format!("# chats of {}\n\n{}\n  {}  \n", hints.resigned_owners[0].userid, chats[0], chats[1]),
    )
    .unwrap();

    let run = sim.cli().args(["transfer", "--new-owner", new_owner, "-o", "csv", "--from-file"]).arg(&file).run();
    let (header, rows) = run.ok().csv();
    assert_eq!(header, ["chat_id", "outcome", "errcode", "errmsg", "batch"]);
    assert_eq!(
        rows,
        vec![
            vec![chats[0].clone(), "transferred".into(), String::new(), String::new(), "1".into()],
            vec![chats[1].clone(), "transferred".into(), String::new(), String::new(), "1".into()],
        ]
    );

    // stdin.
    let run = sim
        .cli()
        .args(["transfer", "--new-owner", new_owner, "-o", "json", "--from-file", "-"])
        .stdin(format!("{}\n{}\n{}\n", chats[2], chats[3], chats[4]))
        .run();
    let rows = report(&run.ok().json_lines());
    assert_eq!(rows.len(), 3);
    assert!(rows.values().all(|r| r["outcome"] == "transferred"));

    // One source of chats at a time (CHAT_ID... | --from-file | --resigned-owner).
    let before = sim.total_calls();
    sim.cli()
        .args(["transfer", "--new-owner", new_owner, "--from-file", "-", &chats[5]])
        .stdin(chats[6].clone())
        .run()
        .code(2)
        .stderr_has(&["--from-file", "cannot be used with"]);
    assert_eq!(sim.total_calls(), before);

    // A missing file: exit 2 before anything is sent.
    let before = sim.total_calls();
    sim.cli()
        .args(["transfer", "--new-owner", new_owner, "--from-file"])
        .arg(dir.path().join("missing.txt"))
        .run()
        .code(2)
        .stderr_has(&["missing.txt"]);
    assert_eq!(sim.total_calls(), before);
}

#[test]
fn resigned_owner_transfers_all_their_waiting_chats() {
    let sim = Sim::start();
    let hints = sim.hints();
    let resigned = &hints.resigned_owners[0];
    let new_owner = &hints.eligible_new_owners[1];

    let run = sim
        .cli()
        .args(["transfer", "--new-owner", new_owner, "--resigned-owner", &resigned.userid, "-o", "json"])
        .run();
    run.ok().stderr_has(&[&format!("{} has {} chats awaiting transfer", resigned.userid, resigned.chat_ids.len())]);
    let rows = report(&run.json_lines());
    assert_eq!(rows.keys().cloned().collect::<Vec<_>>(), {
        let mut ids = resigned.chat_ids.clone();
        ids.sort();
        ids
    });
    assert!(rows.values().all(|r| r["outcome"] == "transferred"));

    // Once WeCom settles them, the new owner has them.
    sim.settle_transfers();
    for id in &resigned.chat_ids {
        assert_eq!(sim.chat_status(id), Some(ChatStatus::Transferred));
        assert_eq!(sim.group_chat(id).unwrap().owner.as_deref(), Some(new_owner.as_str()));
    }
    // Nothing left: a second run has nothing to do.
    sim.cli()
        .args(["transfer", "--new-owner", new_owner, "--resigned-owner", &resigned.userid])
        .run()
        .ok()
        .stderr_has(&["0 chats awaiting transfer", "nothing to transfer"]);
}

#[test]
fn onjob_uses_onjob_transfer_and_takes_effect_at_once() {
    let sim = Sim::start();
    let hints = sim.hints();
    let owner = &hints.active_owners[0];
    let new_owner = hints.eligible_new_owners.iter().find(|u| **u != owner.userid).unwrap();
    let chats = &owner.chat_ids[..2];

    let run = sim.cli().args(["transfer", "--onjob", "--new-owner", new_owner, "-o", "json"]).args(chats).run();
    run.ok().stderr_has(&["onjob_transfer: 2 succeeded, 0 failed, 0 unknown"]);
    assert_eq!(sim.calls("onjob_transfer"), 1);
    assert_eq!(sim.calls("transfer"), 0);
    for id in chats {
        assert_eq!(sim.group_chat(id).unwrap().owner.as_deref(), Some(new_owner.as_str()));
    }

    // Without --onjob, the chats of an employed owner fail (90500): exit 4.
    let other = &hints.active_owners[1].chat_ids[0];
    let run = sim.cli().args(["transfer", "--new-owner", new_owner, "-o", "json", other]).run();
    let rows = report(&run.code(4).json_lines());
    assert_eq!(rows[other]["errcode"], 90500);
}

#[test]
fn a_refused_batch_fails_every_chat_in_it() {
    let sim = Sim::start();
    let hints = sim.hints();
    let chats = &hints.resigned_owners[0].chat_ids[..3];
    let no_contact = &hints.without_customer_contact[0];

    let run = sim.cli().args(["transfer", "--new-owner", no_contact, "-o", "json"]).args(chats).run();
    run.code(4).stderr_has(&["0 succeeded, 3 failed", "0 of 3 chats transferred"]);
    let rows = report(&run.json_lines());
    assert_eq!(rows.len(), 3);
    for row in rows.values() {
        assert_eq!(row["outcome"], "failed");
        assert_eq!(row["errcode"], 84074, "{row}");
    }
    for id in chats {
        assert_eq!(sim.chat_status(id), Some(ChatStatus::Resigned), "nothing moved");
    }
}

#[test]
fn a_lost_answer_is_an_unknown_outcome() {
    let sim = Sim::start();
    let hints = sim.hints();
    let chats = &hints.resigned_owners[0].chat_ids[..2];
    sim.inject(ScriptedFault::new(Some("transfer"), FaultKind::Dropped, 1)).unwrap();

    let run =
        sim.cli().args(["transfer", "--new-owner", &hints.eligible_new_owners[0], "-o", "json"]).args(chats).run();
    run.code(4).stderr_has(&["0 succeeded, 0 failed, 2 unknown", "check the unknown ones with `get`"]);
    let rows = report(&run.json_lines());
    assert!(rows.values().all(|r| r["outcome"] == "unknown" && r["errmsg"].as_str().is_some_and(|m| !m.is_empty())));
    // A write whose request may have arrived is not sent again.
    assert_eq!(sim.calls("transfer"), 1);
}

#[test]
fn transfer_needs_chats_and_a_new_owner() {
    let sim = Sim::start();
    sim.cli().args(["transfer", "--new-owner", "lisi"]).run().code(2).stderr_has(&[
        "CHAT_ID",
        "--from-file",
        "--resigned-owner",
    ]);
    sim.cli().args(["transfer", "wrSomeChat"]).run().code(2).stderr_has(&["--new-owner"]);
    sim.cli().args(["transfer", "--new-owner", "", "wrSomeChat"]).run().code(2).stderr_has(&["new_owner"]);
    // A resigned owner's chats are not transferred with onjob_transfer.
    sim.cli()
        .args(["transfer", "--new-owner", "lisi", "--onjob", "--resigned-owner", "zhangsan"])
        .run()
        .code(2)
        .stderr_has(&["--resigned-owner", "--onjob"]);
    assert_eq!(sim.total_calls(), 0);
}

/// Whatever the flags tell is checked before the first request, listing the resigned owner's chats
/// included; positions are those of the user's list, not of a batch.
#[test]
fn input_errors_are_found_before_any_request() {
    let sim = Sim::start();
    let hints = sim.hints();
    let resigned = &hints.resigned_owners[0].userid;
    let other = &hints.active_owners[0].userid; // nothing awaits transfer: the listing would end it with exit 0

    for owner in [resigned, other] {
        sim.cli()
            .args(["transfer", "--new-owner", "", "--resigned-owner", owner])
            .run()
            .code(2)
            .stderr_has(&["transfer: invalid request: new_owner: 0 characters, must not be empty (--new-owner)"]);
    }
    sim.cli().args(["transfer", "--new-owner", "lisi", "--resigned-owner", ""]).run().code(2).stderr_has(&[
        "--resigned-owner",
        "owner_filter.userid_list[0]",
        "must not be empty",
    ]);

    // The 151st of 160 chat ids is empty: it would be the 51st of the second batch.
    let mut chats: Vec<String> = (0..160).map(|i| format!("wrChat{i:03}")).collect();
    chats[150].clear();
    let run = sim.cli().args(["transfer", "--new-owner", "lisi"]).args(&chats).run();
    run.code(2).stderr_has(&["chat_id_list[150]: 0 characters, must not be empty (chat id 151 of the 160 given)"]);
    let run = sim.cli().args(["transfer", "--onjob", "--new-owner", "lisi"]).args(&chats).run();
    run.code(2).stderr_has(&["onjob_transfer: invalid request: chat_id_list[150]"]);
    assert_eq!(sim.total_calls(), 0, "{:?}", sim.stats());
}

#[test]
fn a_chat_file_that_is_not_text_exits_2() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chats.bin");
    std::fs::write(&file, b"wrChatA\n\xff\xfe\x00\n").unwrap();
    sim.cli().args(["transfer", "--new-owner", "lisi", "--from-file"]).arg(&file).run().code(2).stderr_has(&[
        "--from-file",
        "chats.bin",
        "UTF-8",
    ]);
    assert_eq!(sim.total_calls(), 0);
}

/// The progress bar is for terminals: with stderr captured, no bar, no carriage returns, no escapes.
#[test]
fn no_progress_bar_off_a_terminal() {
    let sim = Sim::start();
    let hints = sim.hints();
    let chats: Vec<String> = hints.resigned_owners.iter().flat_map(|o| o.chat_ids.clone()).collect();
    let run =
        sim.cli().args(["transfer", "--new-owner", &hints.eligible_new_owners[0], "-o", "json"]).args(&chats).run();
    run.ok();
    assert!(!run.stderr.contains('\r') && !run.stderr.contains("batch 1/"), "{:?}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "only the summary: {}", run.stderr);
}

/// The binary left running on this simulator, for signals.
fn spawn_transfer(sim: &Sim, args: &[&str]) -> common::Running {
    let env = [
        ("WECOM_BASE_URL", sim.base_url()),
        ("WECOM_CORP_ID", sim.corp_id().into()),
        ("WECOM_CORP_SECRET", sim.corp_secret().into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    common::Running::spawn(args, &env)
}

/// Waits (bounded) until `path` holds at least `lines` lines.
fn wait_for_lines(path: &std::path::Path, lines: usize) {
    let deadline = std::time::Instant::now() + common::RUN_TIMEOUT;
    while std::fs::read_to_string(path).map_or(0, |t| t.lines().count()) < lines {
        assert!(std::time::Instant::now() < deadline, "{} never reached {lines} lines", path.display());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn signal(child: &common::Running, name: &str) {
    let status = std::process::Command::new("kill").args([&format!("-{name}"), &child.0.id().to_string()]).status();
    assert!(status.unwrap().success());
}

/// Waits (bounded) for the process to exit; its code.
fn exit_code(child: &mut common::Running) -> i32 {
    let deadline = std::time::Instant::now() + common::RUN_TIMEOUT;
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            return status.code().expect("an exit code, not a signal death");
        }
        assert!(std::time::Instant::now() < deadline, "still running");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn report_file(path: &std::path::Path) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "complete lines only");
    report(&text.lines().map(|l| serde_json::from_str(l).unwrap()).collect::<Vec<_>>())
}

/// At least 250 chats of resigned owners (more staff resign until there are), every one movable to the
/// first eligible new owner.
fn many_resigned(sim: &Sim) -> Vec<String> {
    let hints = sim.hints();
    let keep = &hints.eligible_new_owners[0];
    for owner in hints.active_owners.iter().filter(|o| o.userid != *keep) {
        if sim.hints().resigned_owners.iter().map(|o| o.chat_ids.len()).sum::<usize>() >= 250 {
            break;
        }
        assert!(sim.resign(&owner.userid));
    }
    let chats: Vec<String> = sim.hints().resigned_owners.iter().flat_map(|o| o.chat_ids.clone()).collect();
    assert!(chats.len() >= 250, "{}", chats.len());
    chats
}

/// A token of the simulator's, so that the binary needs no `gettoken` (whose latency would count too).
fn token_of(sim: &Sim) -> String {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = sim.client_builder().build().unwrap();
    runtime.block_on(client.access_token()).unwrap().expose().to_string()
}

#[test]
fn sigint_stops_between_batches_and_the_record_says_what_moved() {
    // Each call takes 700 ms: the test signals while the second batch is in flight.
    let sim = Sim::start();
    let chats = many_resigned(&sim);
    sim.set_faults(wecom_groupchat_sim::Faults::default().latency(std::time::Duration::from_millis(700))).unwrap();
    let new_owner = sim.hints().eligible_new_owners[0].clone();
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("handover.jsonl");
    let list = dir.path().join("chats.txt");
    std::fs::write(&list, chats.join("\n")).unwrap();
    let (record_arg, list_arg) = (record.to_str().unwrap(), list.to_str().unwrap());
    let mut child = spawn_transfer(
        &sim,
        &["transfer", "--new-owner", &new_owner, "--from-file", list_arg, "--report", record_arg, "-o", "json"],
    );
    wait_for_lines(&record, 100); // the first batch is recorded, the second is on its way
    signal(&child, "INT");
    assert_eq!(exit_code(&mut child), 130);

    let rows = report_file(&record);
    assert_eq!(rows.len(), chats.len(), "every chat is in the record");
    let outcome = |id: &String| rows[id]["outcome"].as_str().unwrap().to_string();
    // The signal came after the first batch was recorded: the second went out (or not, if the signal came
    // first); a batch in flight had its 5 s to answer and did, so nothing is unknown, and no batch after
    // the signal was sent.
    let sent = sim.calls("transfer") as usize;
    assert!((1..=2).contains(&sent), "{sent} batches sent");
    let moved: Vec<&String> = chats.iter().filter(|id| outcome(id) == "transferred").collect();
    assert_eq!(moved.len(), 100 * sent, "every batch sent was answered and recorded");
    assert!(chats[100 * sent..].iter().all(|id| outcome(id) == "not_sent"), "nothing after the signal was sent");
    // The record matches the simulator: moved exactly when recorded so.
    for id in &chats {
        let transferring = sim.chat_status(id) == Some(ChatStatus::Transferring);
        assert_eq!(transferring, outcome(id) == "transferred", "{id}");
    }
}

#[test]
fn a_second_signal_records_the_batch_in_flight_as_unknown() {
    let sim = Sim::start();
    let chats = many_resigned(&sim);
    let new_owner = sim.hints().eligible_new_owners[0].clone();
    let token = token_of(&sim);
    sim.set_faults(wecom_groupchat_sim::Faults::default().latency(std::time::Duration::from_secs(20))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("handover.csv");
    let mut args =
        vec!["transfer", "--new-owner", new_owner.as_str(), "--report", record.to_str().unwrap(), "-o", "json"];
    args.extend(chats.iter().take(150).map(String::as_str));
    let env = [("WECOM_BASE_URL", sim.base_url()), ("WECOM_ACCESS_TOKEN", token)];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut child = common::Running::spawn(&args, &env);
    wait_for_lines(&record, 1); // the CSV header: the run has started
    let deadline = std::time::Instant::now() + common::RUN_TIMEOUT;
    while sim.calls("transfer") == 0 {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    signal(&child, "TERM");
    std::thread::sleep(std::time::Duration::from_millis(300));
    signal(&child, "TERM");
    assert_eq!(exit_code(&mut child), 143);
    let text = std::fs::read_to_string(&record).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(reader.headers().unwrap(), vec!["chat_id", "outcome", "errcode", "errmsg", "batch"]);
    assert_eq!(rows.len(), 150);
    assert!(rows[..100].iter().all(|r| &r[1] == "unknown" && &r[4] == "1"), "the answer never came");
    assert!(rows[100..].iter().all(|r| &r[1] == "not_sent" && &r[4] == "2"));
}

#[test]
fn dry_run_lists_chats_and_batches_and_sends_nothing() {
    let sim = Sim::start();
    let chats = many_resigned(&sim);
    let new_owner = &sim.hints().eligible_new_owners[0];
    let mut given: Vec<String> = chats[..120].to_vec();
    given.push(chats[3].clone()); // a duplicate
    let run = sim.cli().args(["transfer", "--dry-run", "--new-owner", new_owner, "-o", "json"]).args(&given).run();
    run.ok().stderr_has(&["dry run: transfer of 120 chats in 2 batches", "(1 duplicates sent once)", "nothing sent"]);
    let lines = run.json_lines();
    assert_eq!(lines.len(), 121);
    assert_eq!(lines[0]["outcome"], "duplicate");
    assert!(lines[0]["errmsg"].as_str().unwrap().contains("position 121 (first at 4)"), "{}", lines[0]);
    assert!(lines[1..101].iter().all(|l| l["outcome"] == "planned" && l["batch"] == 1));
    assert!(lines[101..].iter().all(|l| l["outcome"] == "planned" && l["batch"] == 2));
    assert_eq!(sim.calls("transfer"), 0);
}

#[test]
fn duplicates_are_reported_not_silently_dropped() {
    let sim = Sim::start();
    let chats = many_resigned(&sim);
    let new_owner = &sim.hints().eligible_new_owners[0];
    let run =
        sim.cli().args(["transfer", "--new-owner", new_owner, "-o", "json", &chats[0], &chats[1], &chats[0]]).run();
    let lines = run.ok().json_lines();
    assert_eq!(lines.len(), 3, "as many rows as chat ids given");
    assert_eq!(
        (lines[0]["chat_id"].as_str(), lines[0]["outcome"].as_str()),
        (Some(chats[0].as_str()), Some("duplicate"))
    );
    assert_eq!(sim.calls("transfer"), 1);
}

#[test]
fn onjob_owner_selects_a_still_employed_owners_chats() {
    let sim = Sim::start();
    let hints = sim.hints();
    let owner = &hints.active_owners[0];
    let new_owner = hints.eligible_new_owners.iter().find(|u| **u != owner.userid).unwrap();
    let run = sim
        .cli()
        .args(["transfer", "--onjob", "--owner", &owner.userid, "--new-owner", new_owner, "-o", "json", "--yes"])
        .run();
    run.ok().stderr_has(&[&format!("{} has {} chats in all", owner.userid, owner.chat_ids.len())]);
    let rows = report(&run.json_lines());
    assert_eq!(rows.len(), owner.chat_ids.len());
    for id in &owner.chat_ids {
        assert_eq!(sim.group_chat(id).unwrap().owner.as_deref(), Some(new_owner.as_str()));
    }
    // --owner is for on-the-job transfers only.
    sim.cli()
        .args(["transfer", "--owner", &owner.userid, "--new-owner", new_owner])
        .run()
        .code(2)
        .stderr_has(&["--onjob"]);
}

#[test]
fn an_unwritable_report_exits_2_before_anything_is_sent() {
    let sim = Sim::start();
    let chats = many_resigned(&sim);
    let dir = tempfile::tempdir().unwrap();
    sim.cli()
        .args(["transfer", "--new-owner", "lisi", "--report"])
        .arg(dir.path().join("no/such/dir/report.csv"))
        .arg(&chats[0])
        .run()
        .code(2)
        .stderr_has(&["--report"]);
    assert_eq!(sim.total_calls(), 0);
}
