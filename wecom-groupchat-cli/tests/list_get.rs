//! `list` (one page, cursor, every page, filters, json/table/csv) and `get` (with and without names,
//! json/table/csv).

mod common;

use std::collections::{BTreeSet, HashSet};

use common::Sim;
use serde_json::json;

#[test]
fn list_one_page_as_json_points_to_the_next() {
    let sim = Sim::start();
    let run = sim.cli().args(["list", "--limit", "5", "-o", "json"]).run();
    let pages = run.ok().json_lines();
    assert_eq!(pages.len(), 1, "one page is one JSON object");
    let page = &pages[0];
    assert_eq!(page["group_chat_list"].as_array().unwrap().len(), 5);
    let cursor = page["next_cursor"].as_str().expect("a next cursor").to_string();
    assert!(!cursor.is_empty());
    run.stderr_has(&["more chats: --cursor", &cursor]);

    // The cursor continues where the page ended.
    let run = sim.cli().args(["list", "--limit", "5", "--cursor", &cursor, "-o", "json"]).run();
    let next = &run.ok().json_lines()[0];
    let first: HashSet<&str> =
        page["group_chat_list"].as_array().unwrap().iter().map(|c| c["chat_id"].as_str().unwrap()).collect();
    let second: HashSet<&str> =
        next["group_chat_list"].as_array().unwrap().iter().map(|c| c["chat_id"].as_str().unwrap()).collect();
    assert_eq!(second.len(), 5);
    assert!(first.is_disjoint(&second), "the second page has other chats");

    // The last page says so.
    let run = sim.cli().args(["list", "--limit", "1000", "-o", "json"]).run();
    assert_eq!(run.ok().json_lines()[0]["group_chat_list"].as_array().unwrap().len(), sim.hints().chats);
    run.stderr_has(&["no more chats"]);
}

#[test]
fn list_all_streams_one_json_object_per_chat() {
    let sim = Sim::start();
    let run = sim.cli().args(["list", "--all", "--limit", "7", "-o", "json"]).run();
    let chats = run.ok().json_lines();
    let total = sim.hints().chats;
    assert_eq!(chats.len(), total);
    let ids: HashSet<&str> = chats.iter().map(|c| c["chat_id"].as_str().expect("each line is a chat")).collect();
    assert_eq!(ids.len(), total, "every chat once");
    assert!(chats.iter().all(|c| c["status"].is_i64()));
    run.stderr_has(&[&format!("{total} chats")]);
    // Pages of 7 chats: ceil(300 / 7) calls.
    assert_eq!(sim.calls("list"), total.div_ceil(7) as u64);
}

#[test]
fn list_all_as_table_and_csv() {
    let sim = Sim::start();
    let hints = sim.hints();
    let some_chat = &hints.active_owners[0].chat_ids[0];

    let run = sim.cli().args(["list", "--all", "-o", "table"]).run();
    run.ok().stdout_has(&["chat_id", "status", some_chat]);
    assert_eq!(run.stdout.lines().filter(|l| l.contains(" wr")).count(), hints.chats);

    let run = sim.cli().args(["list", "--all", "-o", "csv"]).run();
    let (header, rows) = run.ok().csv();
    assert_eq!(header, ["chat_id", "status", "status_name"]);
    assert_eq!(rows.len(), hints.chats);
    assert!(rows.iter().any(|r| r[0] == *some_chat));
    // The code and the name in cells of their own.
    let names = ["Normal", "Resigned", "Transferring", "Transferred"];
    assert!(rows.iter().all(|r| r[1].parse::<usize>().is_ok_and(|code| names.get(code) == Some(&r[2].as_str()))));
}

#[test]
fn list_filters_by_status_and_owner() {
    let sim = Sim::start();
    let hints = sim.hints();
    let awaiting: usize = hints.resigned_owners.iter().map(|o| o.chat_ids.len()).sum();

    let run = sim.cli().args(["list", "--all", "--status", "resigned", "-o", "csv"]).run();
    let (_, rows) = run.ok().csv();
    assert_eq!(rows.len(), awaiting);
    assert!(rows.iter().all(|r| r[1] == "1" && r[2] == "Resigned"), "{rows:?}");

    let (a, b) = (&hints.active_owners[0], &hints.active_owners[1]);
    let run = sim.cli().args(["list", "--all", "--owner", &a.userid, "--owner", &b.userid, "-o", "json"]).run();
    let listed: BTreeSet<String> =
        run.ok().json_lines().iter().map(|c| c["chat_id"].as_str().unwrap().to_string()).collect();
    for id in &listed {
        let owner = sim.group_chat(id).unwrap().owner.unwrap();
        assert!(owner == a.userid || owner == b.userid, "{id} is owned by {owner}");
    }
    let expected: BTreeSet<String> = a.chat_ids.iter().chain(&b.chat_ids).cloned().collect();
    assert!(expected.is_subset(&listed), "every chat of both owners is listed");
    // The same owners as one list, comma- or space-separated, with a repeat that changes nothing.
    for owners in
        [vec![format!("{},{}", a.userid, b.userid)], vec![a.userid.clone(), b.userid.clone(), a.userid.clone()]]
    {
        let run = sim.cli().args(["list", "--all", "-o", "json", "--owner"]).args(&owners).run();
        let same: BTreeSet<String> =
            run.ok().json_lines().iter().map(|c| c["chat_id"].as_str().unwrap().to_string()).collect();
        assert_eq!(same, listed, "--owner {owners:?}");
    }

    // Nothing is transferring before a transfer; something is after one.
    let run = sim.cli().args(["list", "--status", "transferring", "-o", "json"]).run();
    assert!(run.ok().json_lines()[0]["group_chat_list"].as_array().is_none_or(Vec::is_empty));
    let chat = &hints.resigned_owners[0].chat_ids[0];
    sim.cli().args(["transfer", "--new-owner", &hints.eligible_new_owners[0], chat]).run().ok();
    let run = sim.cli().args(["list", "--all", "--status", "transferring", "-o", "json"]).run();
    let chats = run.ok().json_lines();
    assert_eq!(chats, vec![json!({"chat_id": chat, "status": 2})]);
}

#[test]
fn get_shows_a_chat_with_or_without_names() {
    let sim = Sim::start();
    let hints = sim.hints();
    let owner = &hints.active_owners[0];
    let chat_id = &owner.chat_ids[0];
    let expected = sim.group_chat(chat_id).unwrap();
    let members = expected.member_list.as_ref().unwrap().len();

    let run = sim.cli().args(["get", chat_id, "-o", "json"]).run();
    let chat = &run.ok().json_lines()[0];
    assert_eq!(chat["chat_id"], json!(chat_id));
    assert_eq!(chat["owner"], json!(owner.userid));
    assert_eq!(chat["member_list"].as_array().unwrap().len(), members);
    assert!(chat["member_list"].as_array().unwrap().iter().all(|m| m.get("name").is_none()), "no names unless asked");

    let run = sim.cli().args(["get", chat_id, "--names", "-o", "json"]).run();
    let chat = &run.ok().json_lines()[0];
    let owner_row =
        chat["member_list"].as_array().unwrap().iter().find(|m| m["userid"] == json!(owner.userid)).unwrap();
    assert!(owner_row["name"].as_str().is_some_and(|n| !n.is_empty()), "names with --names: {owner_row}");

    // Table: the chat's fields, then one row per member.
    let run = sim.cli().args(["get", chat_id, "--names", "-o", "table"]).run();
    run.ok().stdout_has(&["chat_id", chat_id, "owner", &owner.userid, "members", "userid", "join_scene"]);
    if let Some(name) = &expected.name {
        run.stdout_has(&[name]);
    }

    // CSV: the members, one per record.
    let run = sim.cli().args(["get", chat_id, "--names", "-o", "csv"]).run();
    let (header, rows) = run.ok().csv();
    assert_eq!(header[0], "userid");
    assert!(header.contains(&"name".to_string()));
    assert_eq!(rows.len(), members);
    // The columns of earlier versions keep their places; the names of enum values come last.
    assert_eq!(
        header,
        [
            "userid",
            "type",
            "name",
            "group_nickname",
            "join_time",
            "join_scene",
            "invitor",
            "unionid",
            "state",
            "type_name",
            "join_scene_name"
        ]
    );
    assert!(rows.iter().any(|r| r[0] == owner.userid && r[1] == "1" && r[9] == "Internal"));
    assert!(rows.iter().all(|r| r[5].parse::<u8>().is_ok() && !r[10].is_empty()), "join scene code and name: {rows:?}");
}
