//! `join-way add|get|update|del` with a flag for every field, `update --merge`, and the limits.

mod common;

use common::Sim;
use serde_json::json;

#[test]
fn add_get_update_delete() {
    let sim = Sim::start();
    let hints = sim.hints();
    let (c1, c2, c3) = (&hints.opengids[0].chat_id, &hints.opengids[1].chat_id, &hints.opengids[2].chat_id);
    let ways_before = sim.join_way_count();

    // add, every field; JSON output carries the config id.
    let run = sim
        .cli()
        .args(["join-way", "add", "--scene", "qr-code", "--chat-id", c1, "--chat-id", c2])
        .args(["--remark", "spring campaign", "--auto-create-room", "false", "--room-base-name", "春季群"])
        .args(["--room-base-id", "7", "--state", "ch_spring", "--mark-source", "true", "-o", "json"])
        .run();
    let config_id = run.ok().json()["config_id"].as_str().expect("a config id").to_string();
    assert_eq!(sim.join_way_count(), ways_before + 1);

    // get: every field as given.
    let run = sim.cli().args(["join-way", "get", &config_id, "-o", "json"]).run();
    let way = run.ok().json();
    assert_eq!(way["config_id"], json!(config_id));
    assert_eq!(way["scene"], 2);
    assert_eq!(way["chat_id_list"], json!([c1, c2]));
    assert_eq!(way["remark"], "spring campaign");
    assert_eq!(way["auto_create_room"], 0);
    assert_eq!(way["room_base_name"], "春季群");
    assert_eq!(way["room_base_id"], 7);
    assert_eq!(way["state"], "ch_spring");
    assert_eq!(way["mark_source"], true);
    assert!(way["qr_code"].as_str().is_some_and(|q| q.starts_with("http")), "a QR code for scene 2: {way}");

    // The table shows the same.
    let run = sim.cli().args(["join-way", "get", &config_id, "-o", "table"]).run();
    run.ok().stdout_has(&["config_id", &config_id, "QrCode", "spring campaign", "春季群", "ch_spring", c1, c2]);
    assert!(!run.stdout.contains("2 (QrCode)"), "the value and its name in columns of their own:\n{}", run.stdout);

    // update --merge: only the remark changes.
    let run = sim.cli().args(["join-way", "update", &config_id, "--merge", "--remark", "summer"]).run();
    run.ok().stderr_has(&["updated", &config_id]);
    let merged = sim.cli().args(["join-way", "get", &config_id, "-o", "json"]).run().ok().json();
    let mut expected = way.clone();
    expected["remark"] = json!("summer");
    assert_eq!(merged, expected);

    // update --merge can change the chats and the scene too.
    sim.cli()
        .args(["join-way", "update", &config_id, "--merge", "--chat-id", c3, "--scene", "mini-program"])
        .run()
        .ok();
    let merged = sim.cli().args(["join-way", "get", &config_id, "-o", "json"]).run().ok().json();
    assert_eq!(merged["chat_id_list"], json!([c3]));
    assert_eq!(merged["scene"], 1);
    assert_eq!(merged["state"], "ch_spring", "kept");

    // update without --merge replaces the whole config, as WeCom does.
    sim.cli().args(["join-way", "update", &config_id, "--scene", "qr-code", "--chat-id", c1]).run().ok();
    let replaced = sim.cli().args(["join-way", "get", &config_id, "-o", "json"]).run().ok().json();
    assert_eq!(replaced["chat_id_list"], json!([c1]));
    assert!(
        replaced.get("remark").is_none() && replaced.get("state").is_none(),
        "fields not given are gone: {replaced}"
    );

    // del, then it is gone: get answers an errcode (exit 1).
    sim.cli().args(["join-way", "del", &config_id]).run().ok().stderr_has(&["deleted", &config_id]);
    assert_eq!(sim.join_way_count(), ways_before);
    sim.cli().args(["join-way", "get", &config_id]).run().code(1).stderr_has(&["errcode 40058", &config_id]);
    sim.cli().args(["join-way", "del", &config_id]).run().code(1).stderr_has(&["del_join_way", "errcode 40058"]);
}

#[test]
fn add_prints_the_bare_config_id_for_people_and_csv() {
    let sim = Sim::start();
    let chat = &sim.hints().opengids[0].chat_id;
    for format in ["table", "csv"] {
        let run = sim.cli().args(["join-way", "add", "--scene", "mini-program", "--chat-id", chat, "-o", format]).run();
        let id = run.ok().stdout.trim().to_string();
        assert_eq!(id.len(), 32, "{id:?}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{id:?}");
        let way = sim.cli().args(["join-way", "get", &id, "-o", "json"]).run().ok().json();
        assert_eq!(way["scene"], 1);
        assert_eq!(way["auto_create_room"], 1, "WeCom's default");
        assert!(way.get("qr_code").is_none(), "no QR code for a mini-program button");
    }
}

#[test]
fn limits_and_required_flags_exit_2_before_sending() {
    let sim = Sim::start();
    let chat = sim.hints().opengids[0].chat_id.clone();
    let six: Vec<String> = (0..6).flat_map(|i| ["--chat-id".to_string(), format!("wrChat{i}")]).collect();
    let long_state = "s".repeat(31);
    let long_name = "名".repeat(41);
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            ["join-way", "add", "--scene", "qr-code"].iter().map(|s| s.to_string()).chain(six.clone()).collect(),
            vec!["chat_id_list", "6 items, at most 5"],
        ),
        (
            ["join-way", "add", "--scene", "qr-code", "--chat-id", &chat, "--state", &long_state]
                .map(String::from)
                .to_vec(),
            vec!["state", "31 characters, at most 30"],
        ),
        (
            ["join-way", "add", "--scene", "qr-code", "--chat-id", &chat, "--room-base-name", &long_name]
                .map(String::from)
                .to_vec(),
            vec!["room_base_name", "at most 40"],
        ),
        (["join-way", "add", "--chat-id", &chat].map(String::from).to_vec(), vec!["--scene is required"]),
        (["join-way", "add", "--scene", "qr-code"].map(String::from).to_vec(), vec!["--chat-id is required"]),
        (
            ["join-way", "add", "--scene", "poster", "--chat-id", &chat].map(String::from).to_vec(),
            vec!["poster", "qr-code"],
        ),
        (
            ["join-way", "add", "--scene", "qr-code", "--chat-id", &chat, "--mark-source", "yes"]
                .map(String::from)
                .to_vec(),
            vec!["--mark-source", "true, false"],
        ),
        (
            ["join-way", "update", "whatever", "--remark", "x"].map(String::from).to_vec(),
            vec!["--scene is required", "--merge"],
        ),
        (["join-way", "get"].map(String::from).to_vec(), vec!["CONFIG_ID"]),
        // update --merge checks the flags before reading the current config.
        (
            ["join-way", "update", "whatever", "--merge", "--state", &long_state].map(String::from).to_vec(),
            vec!["update_join_way: invalid request: state: 31 characters, at most 30"],
        ),
        (
            ["join-way", "update", "whatever", "--merge"].iter().map(|s| s.to_string()).chain(six.clone()).collect(),
            vec!["chat_id_list", "6 items, at most 5"],
        ),
        (
            ["join-way", "update", "whatever", "--scene", "qr-code", "--chat-id", &chat, "--state", &long_state]
                .map(String::from)
                .to_vec(),
            vec!["state", "31 characters, at most 30"],
        ),
        (
            ["join-way", "add", "--scene", "qr-code", "--chat-id", &chat, "--room-base-id", "five"]
                .map(String::from)
                .to_vec(),
            vec!["--room-base-id", "five"],
        ),
        (
            ["join-way", "add", "--scene", "qr-code", "--chat-id", &chat, "--auto-create-room", "2"]
                .map(String::from)
                .to_vec(),
            vec!["--auto-create-room", "true, false, 1, 0"],
        ),
        // --clear is for --merge (without it, every field not given is cleared anyway), and not with a new value.
        (
            ["join-way", "update", "whatever", "--scene", "qr-code", "--chat-id", &chat, "--clear", "remark"]
                .map(String::from)
                .to_vec(),
            vec!["--merge"],
        ),
        (
            ["join-way", "update", "whatever", "--merge", "--clear", "remark", "--remark", "x"]
                .map(String::from)
                .to_vec(),
            vec!["--clear remark and --remark contradict each other"],
        ),
        (["join-way", "update", "whatever", "--merge", "--clear", "scene"].map(String::from).to_vec(), vec!["scene"]),
        (["join-way", "rename", "x"].map(String::from).to_vec(), vec!["rename"]),
    ];
    for (args, expected) in cases {
        let run = sim.cli().args(&args).run();
        run.code(2).stderr_has(&expected);
        assert!(run.stdout.is_empty());
    }
    assert_eq!(sim.total_calls(), 0, "{:?}", sim.stats());
}

#[test]
fn booleans_take_0_and_1_and_merge_can_clear_fields() {
    let sim = Sim::start();
    let chat = &sim.hints().opengids[0].chat_id;
    let run = sim
        .cli()
        .args(["join-way", "add", "--scene", "qr-code", "--chat-id", chat, "--auto-create-room", "0"])
        .args(["--mark-source", "1", "--remark", "spring", "--state", "ch_spring", "--room-base-id", "0", "-o", "json"])
        .run();
    let id = run.ok().json()["config_id"].as_str().unwrap().to_string();
    let way = sim.cli().args(["join-way", "get", &id, "-o", "json"]).run().ok().json();
    assert_eq!((way["auto_create_room"].clone(), way["mark_source"].clone()), (json!(0), json!(true)));
    assert_eq!(way["room_base_id"], 0);

    sim.cli().args(["join-way", "update", &id, "--merge", "--auto-create-room", "1", "--mark-source", "0"]).run().ok();
    let way = sim.cli().args(["join-way", "get", &id, "-o", "json"]).run().ok().json();
    assert_eq!((way["auto_create_room"].clone(), way["mark_source"].clone()), (json!(1), json!(false)));

    // --clear removes fields and keeps the rest.
    sim.cli().args(["join-way", "update", &id, "--merge", "--clear", "remark,state"]).run().ok();
    let cleared = sim.cli().args(["join-way", "get", &id, "-o", "json"]).run().ok().json();
    assert!(cleared.get("remark").is_none() && cleared.get("state").is_none(), "{cleared}");
    assert_eq!(cleared["chat_id_list"], json!([chat]));
    assert_eq!(cleared["auto_create_room"], 1);
}

/// `--room-base-id` has no limit in the spec or the docs: a negative number is a value (not a flag),
/// passed on as given.
#[test]
fn room_base_id_takes_any_number() {
    let sim = Sim::start();
    let chat = &sim.hints().opengids[0].chat_id;
    let run = sim
        .cli()
        .args(["join-way", "add", "--scene", "qr-code", "--chat-id", chat, "--room-base-id", "-5", "-o", "json"])
        .run();
    let id = run.ok().json()["config_id"].as_str().unwrap().to_string();
    let way = sim.cli().args(["join-way", "get", &id, "-o", "json"]).run().ok().json();
    assert_eq!(way["room_base_id"], -5);

    sim.cli().args(["join-way", "update", &id, "--merge", "--room-base-id", "-7"]).run().ok();
    let way = sim.cli().args(["join-way", "get", &id, "-o", "json"]).run().ok().json();
    assert_eq!(way["room_base_id"], -7);
    assert_eq!(way["chat_id_list"], json!([chat]), "the rest kept");
}

/// The table and CSV show every field of the spec's join way, `type` included: the value as WeCom has
/// it, and the name of an enum value in the last column.
#[test]
fn get_shows_every_field_of_the_spec() {
    let sim = Sim::start();
    let id = &sim.hints().join_way_config_ids[0];
    let way = sim.cli().args(["join-way", "get", id, "-o", "json"]).run().ok().json();
    let run = sim.cli().args(["join-way", "get", id, "-o", "csv"]).run();
    let (header, rows) = run.ok().csv();
    assert_eq!(header, ["field", "value", "name"]);
    let row = |field: &str| rows.iter().find(|r| r[0] == field).unwrap().clone();
    let scene = way["scene"].as_i64().unwrap();
    let scene_name = if scene == 1 { "MiniProgram" } else { "QrCode" };
    assert_eq!(row("scene"), ["scene".to_string(), scene.to_string(), scene_name.to_string()]);
    assert_eq!(row("config_id"), ["config_id", id.as_str(), ""]);
    // The spec's order: the join way's own fields, then the config it shares with add and update.
    let fields: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        fields,
        [
            "config_id",
            "type",
            "qr_code",
            "scene",
            "remark",
            "auto_create_room",
            "room_base_name",
            "room_base_id",
            "chat_id_list",
            "state",
            "mark_source"
        ]
    );
    sim.cli().args(["join-way", "get", id, "-o", "table"]).run().ok().stdout_has(&[" type ", " scene "]);
}

/// `update --merge` never guesses what WeCom's answer left out: no scene (or no chats) in the current
/// config and none given fails, and nothing is updated. The config was read by then, so it is the
/// answer's failing (exit 3), not a usage error. (The simulator always has both, so a canned answer
/// stands in for WeCom.)
#[test]
fn merge_does_not_guess_a_missing_scene_or_chats() {
    let token = "canned-token-8d2e";
    for (answer, expected) in [
        (r#"{"errcode":0,"errmsg":"ok","join_way":{"config_id":"cfg1","chat_id_list":["wrA"]}}"#, "pass --scene"),
        (r#"{"errcode":0,"errmsg":"ok","join_way":{"config_id":"cfg1","scene":2}}"#, "pass --chat-id"),
    ] {
        let server = common::CannedServer::start(answer);
        let run = common::Cli::new()
            .env("WECOM_BASE_URL", server.base_url())
            .env("WECOM_ACCESS_TOKEN", token)
            .secret(token)
            .args(["join-way", "update", "cfg1", "--merge", "--remark", "summer"])
            .run();
        run.code(3).stderr_has(&["join way cfg1", "WeCom's answer", "the merge needs", expected]);
        let requests = server.requests();
        assert_eq!(requests.len(), 1, "{requests:?}");
        assert!(requests[0].contains("/get_join_way"), "only read, never updated: {requests:?}");
    }
}
