//! `call ENDPOINT --body JSON`: every endpoint of the spec, the three body sources, and bad input that
//! must exit 2 without a single request.

mod common;

use common::{Cli, Sim};
use serde_json::{Value, json};
use wecom_groupchat::endpoints;
use wecom_groupchat::time::{day_before, now_unix};

/// A small valid body for each endpoint, from the demo company's data.
fn body_for(sim: &Sim, endpoint: &str) -> Value {
    let hints = sim.hints();
    let resigned_chat = &hints.resigned_owners[0].chat_ids[0];
    let active = &hints.active_owners[0];
    let new_owner = hints.eligible_new_owners.iter().find(|u| **u != active.userid).unwrap();
    let any_chat = &active.chat_ids[0];
    let owner = &hints.statistic_owners[0];
    let (from, to) = (day_before(now_unix(), 7), day_before(now_unix(), 2));
    match endpoint {
        "list" => json!({"limit": 2, "status_filter": 1}),
        "get" => json!({"chat_id": any_chat, "need_name": 1}),
        "opengid_to_chatid" => json!({"opengid": hints.opengids[0].opengid}),
        "transfer" => json!({"chat_id_list": [resigned_chat], "new_owner": new_owner}),
        "onjob_transfer" => json!({"chat_id_list": [any_chat], "new_owner": new_owner}),
        "add_join_way" => json!({"scene": 2, "chat_id_list": [any_chat], "remark": "e2e", "state": "e2e"}),
        "get_join_way" => json!({"config_id": hints.join_way_config_ids[0]}),
        "update_join_way" => json!({"config_id": hints.join_way_config_ids[1], "scene": 1, "chat_id_list": [any_chat]}),
        "del_join_way" => json!({"config_id": hints.join_way_config_ids[2]}),
        "get_follow_user_list" => json!({}),
        "statistic" => json!({"day_begin_time": from, "day_end_time": to, "owner_filter": {"userid_list": [owner]}}),
        "statistic_group_by_day" => {
            json!({"day_begin_time": from, "day_end_time": to, "owner_filter": {"userid_list": [owner]}})
        }
        other => panic!("the spec has a new endpoint `{other}`: give it a body in tests/call.rs"),
    }
}

#[test]
fn every_endpoint_of_the_spec_is_callable() {
    let sim = Sim::start();
    for info in endpoints::ALL {
        let body = body_for(&sim, info.name);
        let before = sim.calls(info.name);
        let run = sim.cli().args(["call", info.name, "--body", &body.to_string()]).run();
        run.ok();
        let response = run.json();
        assert_eq!(response["errcode"], 0, "{}: {response}", info.name);
        assert_eq!(sim.calls(info.name), before + 1, "{} was called once", info.name);
        if let Some(failed) = response.get("failed_chat_list") {
            assert_eq!(failed.as_array().map(Vec::len), Some(0), "{}: {response}", info.name);
        }
    }
    // Each run fetched its own token: one per process, never more.
    assert_eq!(sim.gettoken_calls(), endpoints::ALL.len() as u64);
}

#[test]
fn responses_are_the_typed_responses() {
    let sim = Sim::start();
    let hints = sim.hints();
    let chat_id = &hints.active_owners[0].chat_ids[0];
    let run = sim.cli().args(["call", "get", "--body", &json!({"chat_id": chat_id, "need_name": 1}).to_string()]).run();
    let chat = &run.ok().json()["group_chat"];
    assert_eq!(chat["chat_id"], json!(chat_id));
    assert_eq!(chat["owner"], json!(hints.active_owners[0].userid));
    assert!(chat["member_list"].as_array().unwrap().iter().any(|m| m["name"].is_string()), "names asked for");

    let run = sim
        .cli()
        .args(["call", "opengid_to_chatid", "--body"])
        .arg(json!({"opengid": hints.opengids[0].opengid}).to_string())
        .run();
    assert_eq!(run.ok().json()["chat_id"], json!(hints.opengids[0].chat_id));
}

#[test]
fn the_body_comes_from_a_file_or_stdin() {
    let sim = Sim::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("body.json");
    std::fs::write(&file, r#"{"limit": 3}"#).unwrap();
    let run = sim.cli().args(["call", "list", "--body"]).arg(format!("@{}", file.display())).run();
    assert_eq!(run.ok().json()["group_chat_list"].as_array().unwrap().len(), 3);

    let run = sim.cli().args(["call", "list", "--body", "-"]).stdin(r#"{"limit": 4, "status_filter": 3}"#).run();
    let chats = run.ok().json()["group_chat_list"].as_array().unwrap().clone();
    assert_eq!(chats.len(), 4);
    assert!(chats.iter().all(|c| c["status"] == 3), "status filter sent: {chats:?}");

    // A missing file is bad input: exit 2, nothing sent.
    let before = sim.total_calls();
    let missing = dir.path().join("nope.json");
    sim.cli()
        .args(["call", "list", "--body"])
        .arg(format!("@{}", missing.display()))
        .run()
        .code(2)
        .stderr_has(&["nope.json"]);
    assert_eq!(sim.total_calls(), before);

    // So is a file that is not text.
    let binary = dir.path().join("body.bin");
    std::fs::write(&binary, b"{\"limit\": 3, \"cursor\": \"\xff\xfe\"}").unwrap();
    sim.cli()
        .args(["call", "list", "--body"])
        .arg(format!("@{}", binary.display()))
        .run()
        .code(2)
        .stderr_has(&["--body", "body.bin", "UTF-8"]);
    assert_eq!(sim.total_calls(), before);
}

#[test]
fn bad_input_exits_2_and_sends_nothing() {
    let sim = Sim::start();
    let many: Vec<String> = (0..101).map(|i| format!("wrchat{i}")).collect();
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (vec!["call".into(), "list".into(), "--body".into(), "{\"limit\": ".into()], vec!["--body is not valid JSON"]),
        (vec!["call".into(), "list".into(), "--body".into(), "[1, 2]".into()], vec!["list", "ListRequest"]),
        (
            vec!["call".into(), "no_such_endpoint".into()],
            vec!["unknown endpoint `no_such_endpoint`", "add_join_way", "statistic_group_by_day"],
        ),
        (
            vec!["call".into(), "list".into(), "--body".into(), r#"{"limit": 10, "limt": 5}"#.into()],
            vec!["unknown field", "limt"],
        ),
        (
            vec!["call".into(), "list".into(), "--body".into(), r#"{"limit": "ten"}"#.into()],
            vec!["list", "ListRequest", "invalid type"],
        ),
        (vec!["call".into(), "list".into(), "--body".into(), "{}".into()], vec!["missing field `limit`"]),
        (
            vec!["call".into(), "list".into(), "--body".into(), r#"{"limit": 1001}"#.into()],
            vec!["limit", "at most 1000"],
        ),
        (vec!["call".into(), "list".into(), "--body".into(), r#"{"limit": 0}"#.into()], vec!["limit", "at least 1"]),
        (
            vec![
                "call".into(),
                "transfer".into(),
                "--body".into(),
                json!({"chat_id_list": many, "new_owner": "x"}).to_string(),
            ],
            vec!["chat_id_list", "101 items, at most 100"],
        ),
        (
            vec![
                "call".into(),
                "add_join_way".into(),
                "--body".into(),
                json!({"scene": 2, "chat_id_list": ["a", "b", "c", "d", "e", "f"]}).to_string(),
            ],
            vec!["chat_id_list", "6 items, at most 5"],
        ),
        (
            vec![
                "call".into(),
                "statistic".into(),
                "--body".into(),
                json!({"day_begin_time": now_unix() + 86_400, "owner_filter": {"userid_list": ["x"]}}).to_string(),
            ],
            vec!["day_begin_time"],
        ),
        (vec!["call".into()], vec!["ENDPOINT"]),
        // A wrong type names the field.
        (vec!["call".into(), "list".into(), "--body".into(), r#"{"limit":"5"}"#.into()], vec!["limit"]),
        (vec!["call".into(), "list".into(), "--body".into(), "[]".into()], vec!["list", "ListRequest"]),
        // The largest timestamp is a day far in the future, not an overflow.
        (
            vec![
                "call".into(),
                "statistic".into(),
                "--body".into(),
                r#"{"day_begin_time":9223372036854775807,"owner_filter":{"userid_list":["a"]}}"#.into(),
            ],
            vec!["day_begin_time"],
        ),
        (
            vec![
                "call".into(),
                "statistic_group_by_day".into(),
                "--body".into(),
                r#"{"day_begin_time":-9223372036854775808,"owner_filter":{"userid_list":["a"]}}"#.into(),
            ],
            vec!["day_begin_time"],
        ),
    ];
    for (args, expected) in cases {
        let run = sim.cli().args(&args).run();
        run.code(2).stderr_has(&expected);
        assert!(run.stdout.is_empty(), "{args:?}: nothing on stdout: {}", run.stdout);
    }
    assert_eq!(sim.total_calls(), 0, "no request reached the simulator: {:?}", sim.stats());
}

#[test]
fn an_api_error_exits_1() {
    let sim = Sim::start();
    let run = sim.cli().args(["call", "get", "--body", r#"{"chat_id": "wrNoSuchChat"}"#]).run();
    run.code(1).stderr_has(&["errcode 40050", "wrNoSuchChat", "chat id does not exist"]);
    assert!(run.stdout.is_empty());
}

/// No credentials at all: a usage error before anything is sent, naming what to set.
#[test]
fn missing_credentials_exit_2() {
    let sim = Sim::start();
    let run =
        Cli::new().env("WECOM_BASE_URL", sim.base_url()).args(["call", "list", "--body", r#"{"limit": 1}"#]).run();
    run.code(2).stderr_has(&["--corp-id", "--corp-secret", "WECOM_CORP_SECRET", "--access-token"]);
    let run = Cli::new()
        .env("WECOM_BASE_URL", sim.base_url())
        .env("WECOM_CORP_ID", sim.corp_id())
        .args(["list", "--limit", "1"])
        .run();
    run.code(2).stderr_has(&["no credentials"]);
    assert_eq!(sim.total_calls(), 0);
}
