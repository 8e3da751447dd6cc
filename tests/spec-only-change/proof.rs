//! Uses what `endpoint.yaml`, `error.yaml` and `join_way_field.yaml` added to the spec, through the typed
//! client, the simulator and the command line. Compiled only inside the copy made by
//! `tests/tests/spec_only_change.rs`: in this workspace the types it names do not exist.
//!
//! Usage: `spec_proof PATH_OF_THE_CLI_BINARY`. Prints one line per check; panics on the first that fails.

use std::process::{Command, Output};

use serde_json::{Value, json};
use wecom_groupchat::codes::PROOF_WIDGET_JAMMED;
use wecom_groupchat::endpoint::{Endpoint, Example};
use wecom_groupchat::types::{
    AddJoinWayRequest, GetJoinWayRequest, JoinWayConfig, JoinWayScene, ProofWidgetRequest, ProofWidgetResponse,
};
use wecom_groupchat::{Error, error_code};
use wecom_groupchat::callback::{CallbackCrypto, Receiver};
use wecom_groupchat::events::{AppHeader, CallbackEvent, EXAMPLES, Event, ProofTagChange, ProofTagChanged};
use wecom_groupchat_sim::{FaultKind, ScriptedFault, SimConfig, Simulator};

#[tokio::main]
async fn main() {
    let cli = std::env::args().nth(1).expect("usage: spec_proof PATH_OF_THE_CLI_BINARY");
    let sim = Simulator::start(SimConfig::default()).await.expect("the simulator starts");
    let client = sim.client_builder().build().expect("a client");
    let chat = sim.hints().active_owners[0].chat_ids[0].clone();
    let example: ProofWidgetResponse =
        serde_json::from_str(Example::first_response("proof_widget").expect("the spec's example")).unwrap();
    let jammed = error_code::lookup(PROOF_WIDGET_JAMMED).expect("the new code is in the error table");
    assert_eq!(jammed.name, "PROOF_WIDGET_JAMMED");

    // The typed client calls the new endpoint; the simulator answers with the spec's example.
    let answer = client.proof_widget(&ProofWidgetRequest::new("lamp")).await.unwrap();
    assert_eq!(answer.widget, example.widget);
    assert_eq!(answer.widget.sizes.as_deref(), Some(&[3, 5, 8][..]));
    println!("client: proof_widget answered widget {}", answer.widget.widget_id);

    // The new limit is checked before sending, naming the field, the limit and the new code.
    assert_eq!(ProofWidgetRequest::LABEL_MAX_CHARS, 8);
    match client.proof_widget(&ProofWidgetRequest::new("a label far too long")).await {
        Err(Error::Validation { error, .. }) => {
            assert_eq!(error.field, "label");
            assert_eq!(error.errcode, Some(PROOF_WIDGET_JAMMED));
            assert!(error.to_string().contains('8'), "{error}");
            println!("client: refused before sending: {error}");
        }
        other => panic!("expected a validation error, got {other:?}"),
    }

    // The simulator validates a request that never passed our client, and answers the new code.
    let http = reqwest::Client::new();
    let base = sim.base_url();
    let token: Value = serde_json::from_str(
        &http
            .get(format!("{base}/cgi-bin/gettoken"))
            .query(&[("corpid", sim.corp_id()), ("corpsecret", sim.corp_secret())])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let token = token["access_token"].as_str().expect("a token").to_string();
    let raw: Value = serde_json::from_str(
        &http
            .post(format!("{base}{}", ProofWidgetRequest::INFO.path))
            .query(&[("access_token", token.as_str())])
            .body(json!({"label": "a label far too long"}).to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(raw["errcode"], PROOF_WIDGET_JAMMED, "{raw}");
    println!("simulator: answered {raw}");

    // The client reads the new code from a server, with its meaning and its retry class (never).
    sim.inject(ScriptedFault::new(Some("proof_widget"), FaultKind::Errcode(PROOF_WIDGET_JAMMED), 1)).unwrap();
    match client.proof_widget(&ProofWidgetRequest::new("lamp")).await {
        Err(Error::Api(api)) => {
            assert_eq!(api.code, PROOF_WIDGET_JAMMED);
            assert_eq!(api.attempts, 1);
            assert!(api.meaning().is_some_and(|m| m.contains(jammed.en)), "{api}");
            println!("client: {api}");
        }
        other => panic!("expected errcode {PROOF_WIDGET_JAMMED}, got {other:?}"),
    }

    // The new join-way field: sent, stored, answered, limited.
    let added = client
        .add_join_way(&AddJoinWayRequest::new(JoinWayScene::QrCode, [chat.as_str()]).proof_tag("spring"))
        .await
        .unwrap();
    let way = client.get_join_way(&GetJoinWayRequest::new(&added.config_id)).await.unwrap().join_way;
    assert_eq!(way.proof_tag.as_deref(), Some("spring"));
    assert_eq!(way.join_way_config().proof_tag.as_deref(), Some("spring"));
    assert_eq!(JoinWayConfig::PROOF_TAG_MAX_CHARS, 12);
    let long = AddJoinWayRequest::new(JoinWayScene::QrCode, [chat.as_str()]).proof_tag("far too long a tag");
    match client.add_join_way(&long).await {
        Err(Error::Validation { error, .. }) => assert_eq!(error.errcode, Some(PROOF_WIDGET_JAMMED)),
        other => panic!("expected a validation error, got {other:?}"),
    }
    println!("client: join way {} keeps proof_tag", added.config_id);

    // The command line.
    let run = |args: &[&str]| -> Output {
        let mut command = Command::new(&cli);
        command
            .args(["--base-url", &base, "--corp-id", sim.corp_id(), "--corp-secret", sim.corp_secret(), "-o", "json"])
            .args(args)
            .env_remove("WECOM_ACCESS_TOKEN")
            .env_remove("WECOM_TOKEN_STORE");
        command.output().expect("the CLI runs")
    };
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();

    let out = run(&["call", "proof_widget", "--body", r#"{"label": "lamp"}"#]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed: ProofWidgetResponse = serde_json::from_slice(&out.stdout).expect("call prints the answer as JSON");
    assert_eq!(printed.widget, example.widget);
    println!("cli: call proof_widget printed widget {}", printed.widget.widget_id);

    let out = run(&["call", "proof_widget", "--body", r#"{"label": "a label far too long"}"#]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("label") && stderr.contains('8'), "{stderr}");
    println!("cli: call refused the label (exit 2): {}", stderr.trim());

    sim.inject(ScriptedFault::new(Some("proof_widget"), FaultKind::Errcode(PROOF_WIDGET_JAMMED), 1)).unwrap();
    let out = run(&["call", "proof_widget", "--body", r#"{"label": "lamp"}"#]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&PROOF_WIDGET_JAMMED.to_string()) && stderr.contains(jammed.en), "{stderr}");
    println!("cli: call reported the new code (exit 1): {}", stderr.trim());

    let help = text(&run(&["join-way", "add", "--help"]).stdout);
    assert!(help.contains("--proof-tag"), "{help}");
    let out = run(&["join-way", "add", "--scene", "qr-code", "--chat-id", &chat, "--proof-tag", "autumn"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let config_id = created["config_id"].as_str().expect("a config id").to_string();
    let shown = |config_id: &str| -> Value {
        let out = run(&["join-way", "get", config_id]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(shown(&config_id)["proof_tag"], "autumn");
    let out = run(&["join-way", "update", &config_id, "--merge", "--proof-tag", "winter"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(shown(&config_id)["proof_tag"], "winter");
    let out = run(&["join-way", "update", &config_id, "--merge", "--clear", "proof-tag"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(shown(&config_id).get("proof_tag").is_none());
    let out = run(&["join-way", "add", "--scene", "qr-code", "--chat-id", &chat, "--proof-tag", "far too long a tag"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--proof-tag") || stderr.contains("proof_tag"), "{stderr}");
    println!("cli: join-way add/get/update --merge/--clear handle --proof-tag");

    prove_event().await;

    sim.shutdown().await;
    println!("spec-only change: proven");
}

/// The event added in `event.yaml`: typed from its documented example, written back, and received —
/// signed and encrypted — by the callback receiver as a typed event.
async fn prove_event() {
    let example = EXAMPLES.iter().find(|e| e.event == "proof_tag_changed").expect("the event's example");
    let read = CallbackEvent::decode(wecom_groupchat::callback::xml::parse(example.xml).unwrap());
    let Event::ProofTagChanged(tag) = &read.event else { panic!("not typed: {read:?}") };
    assert_eq!((tag.tag_id.as_str(), tag.tag_change), ("t1", ProofTagChange::Renamed));
    assert_eq!(tag.tag_names.as_deref(), Some(&["old".to_string(), "new".to_string()][..]));
    assert_eq!(read.to_json()["tag_change"], 2);
    println!("events: proof_tag_changed reads typed from its example");

    let crypto = CallbackCrypto::new("proof", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "ww1").unwrap();
    let (receiver, mut events) = Receiver::channel(crypto.clone(), 4);
    let mut sent = ProofTagChanged::new("t2", ProofTagChange::Created);
    sent.tag_names = Some(vec!["fresh".into()]);
    let message = CallbackEvent::new(AppHeader::new("ww1", 1_700_000_000), sent.clone()).to_xml();
    let sealed = crypto.encrypt(&message, "1700000000", "nonce1").unwrap();
    let answer = receiver.handle("POST", &sealed.post_query(), sealed.post_body("ww1", None).as_bytes()).await;
    assert_eq!(answer.status, 200);
    let received = events.recv().await.expect("the receiver hands the event over");
    assert_eq!(received.event.event, Event::ProofTagChanged(sent));
    println!("events: the receiver hands proof_tag_changed over typed");
}
