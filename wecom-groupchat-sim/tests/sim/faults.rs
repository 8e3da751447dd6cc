use std::time::{Duration, Instant};

use serde_json::json;
use wecom_groupchat::Error;
use wecom_groupchat::types::{
    AddJoinWayRequest, GetJoinWayRequest, GetRequest, JoinWayScene, ListRequest, TransferRequest,
};
use wecom_groupchat_sim::{FaultKind, Faults, RateLimitRule, ScriptedFault, SimConfig, SimError, Simulator};

use crate::common::*;

fn next(endpoint: &str, fault: FaultKind, count: u32) -> ScriptedFault {
    ScriptedFault::new(Some(endpoint), fault, count)
}

#[tokio::test]
async fn latency_delays_every_call() {
    let sim = start_with(config().faults(Faults::default().latency(Duration::from_millis(150)))).await;
    let raw = Raw::new(&sim).await;
    let started = Instant::now();
    raw.call("list", json!({"limit": 1})).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn reads_are_retried_on_busy_and_concurrency_answers() {
    let sim = start().await;
    let client = client(&sim);
    sim.inject(next("list", FaultKind::Busy, 2)).unwrap();
    sim.inject(next("list", FaultKind::Concurrency, 1)).unwrap();
    client.list(&ListRequest::new(10)).await.unwrap();
    let stats = sim.stats();
    assert_eq!(stats.calls_of("list"), 4);
    assert_eq!((stats.answers_with(-1), stats.answers_with(45033)), (2, 1));
    assert_eq!((stats.faults["busy"], stats.faults["concurrency"]), (2, 1));
    // More failures than retries: the error comes through.
    sim.inject(next("list", FaultKind::Busy, 4)).unwrap();
    let error = client.list(&ListRequest::new(10)).await.unwrap_err();
    assert_eq!(error.code(), Some(-1));
}

#[tokio::test]
async fn writes_are_not_replayed_on_busy() {
    let sim = start().await;
    let client = client(&sim);
    let before = sim.join_way_count();
    let chat = sim.hints().active_owners[0].chat_ids[0].clone();
    sim.inject(next("add_join_way", FaultKind::Busy, 1)).unwrap();
    let error = client.add_join_way(&AddJoinWayRequest::new(JoinWayScene::QrCode, [chat])).await.unwrap_err();
    assert_eq!(error.code(), Some(-1));
    assert_eq!(sim.calls("add_join_way"), 1);
    assert_eq!(sim.join_way_count(), before);
}

#[tokio::test]
async fn rate_limits_answer_45009_for_the_rest_of_the_window() {
    let faults = Faults::default()
        .rate_limit_endpoint("get", RateLimitRule::per_minute(5))
        .rate_limit_endpoint("get_join_way", RateLimitRule::new(1, Duration::from_millis(500)));
    let sim = start_with(config().faults(faults)).await;
    let client = client(&sim);
    let chat = sim.hints().active_owners[0].chat_ids[0].clone();
    for _ in 0..5 {
        client.get(&GetRequest::new(&chat)).await.unwrap();
    }
    let error = client.get(&GetRequest::new(&chat)).await.unwrap_err();
    assert!(matches!(error, Error::RateLimited(_)), "{error}");
    assert!(client.get(&GetRequest::new(&chat)).await.is_err(), "still blocked");
    client.list(&ListRequest::new(1)).await.unwrap();
    assert_eq!(sim.stats().rate_limited, 2);
    assert_eq!(sim.calls("get"), 7, "45009 is not retried");

    // A short window opens again once it has passed.
    let config_id = sim.hints().join_way_config_ids[0].clone();
    let get_way = GetJoinWayRequest::new(&config_id);
    client.get_join_way(&get_way).await.unwrap();
    assert!(matches!(client.get_join_way(&get_way).await.unwrap_err(), Error::RateLimited(_)));
    tokio::time::sleep(Duration::from_millis(550)).await;
    client.get_join_way(&get_way).await.unwrap();

    // One limit for every endpoint, gettoken included.
    let sim = start_with(config().faults(Faults::default().rate_limit(RateLimitRule::per_minute(2)))).await;
    let raw = Raw::new(&sim).await;
    assert_eq!(errcode(&raw.call("list", json!({"limit": 1})).await), 0);
    assert_eq!(errcode(&raw.call("list", json!({"limit": 1})).await), 0);
    assert_eq!(errcode(&raw.call("list", json!({"limit": 1})).await), 45009);
    let http = reqwest::Client::new();
    gettoken(&http, &sim.base_url(), sim.corp_id(), sim.corp_secret()).await;
    let third = gettoken(&http, &sim.base_url(), sim.corp_id(), sim.corp_secret()).await;
    assert_eq!(errcode(&third), 45009);
    assert_eq!(sim.stats().rate_limited, 2);
}

#[tokio::test]
async fn bad_gateway_answers_are_html() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    sim.inject(next("list", FaultKind::BadGateway, 1)).unwrap();
    let response = raw
        .http
        .post(format!("{}{}", raw.base, path("list")))
        .query(&[("access_token", &raw.token)])
        .body(r#"{"limit": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 502);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(response.text().await.unwrap().contains("502 Bad Gateway"));

    // The client retries a read, and reports a write whose outcome is unknown.
    let client = client(&sim);
    sim.inject(next("list", FaultKind::BadGateway, 1)).unwrap();
    client.list(&ListRequest::new(1)).await.unwrap();
    let hints = sim.hints();
    sim.inject(next("transfer", FaultKind::BadGateway, 1)).unwrap();
    let request = TransferRequest::new([hints.resigned_owners[0].chat_ids[0].as_str()], &hints.eligible_new_owners[0]);
    let error = client.transfer(&request).await.unwrap_err();
    assert!(matches!(&error, Error::HttpStatus(e) if e.status == 502), "{error}");
    assert!(error.outcome_unknown());
}

#[tokio::test]
async fn truncated_and_oversized_bodies_are_decode_errors() {
    let sim = start().await;
    let client = client(&sim);
    let chat = sim.hints().active_owners[0].chat_ids[0].clone();
    // A read cut short is a broken connection: retried, and the retry gets the whole answer.
    sim.inject(next("get", FaultKind::Truncated, 1)).unwrap();
    client.get(&GetRequest::new(&chat)).await.unwrap();
    assert_eq!((sim.calls("get"), sim.stats().faults["truncated"]), (2, 1));
    sim.inject(next("get", FaultKind::Truncated, 9)).unwrap();
    let error = client.get(&GetRequest::new(&chat)).await.unwrap_err();
    assert!(matches!(&error, Error::Decode(e) if e.truncated), "{error}");
    sim.set_faults(Faults::none()).unwrap();
    sim.inject(next("get", FaultKind::Oversized, 1)).unwrap();
    let error = client.get(&GetRequest::new(&chat)).await.unwrap_err();
    assert!(matches!(&error, Error::Decode(e) if e.reason.contains("larger")), "{error}");

    // Over plain HTTP: valid JSON, just too large for a capped client.
    let raw = Raw::new(&sim).await;
    let mut faults = sim.faults();
    faults.oversize_bytes = 100_000;
    sim.set_faults(faults).unwrap();
    sim.inject(next("list", FaultKind::Oversized, 1)).unwrap();
    let (_, answer) = raw.post("list", r#"{"limit": 1}"#).await;
    assert_eq!(errcode(&answer), 0);
    assert!(answer.to_string().len() >= 99_000);
}

#[tokio::test]
async fn dropped_connections_are_retried_for_reads_only() {
    let sim = start().await;
    let client = client(&sim);
    sim.inject(next("list", FaultKind::Dropped, 1)).unwrap();
    client.list(&ListRequest::new(1)).await.unwrap();
    assert_eq!(sim.calls("list"), 2);

    let chat = sim.hints().active_owners[0].chat_ids[0].clone();
    sim.inject(next("add_join_way", FaultKind::Dropped, 1)).unwrap();
    let error = client.add_join_way(&AddJoinWayRequest::new(JoinWayScene::QrCode, [chat])).await.unwrap_err();
    assert!(matches!(error, Error::Transport(_)), "{error}");
    assert!(error.outcome_unknown());
    assert_eq!(sim.stats().faults["dropped"], 2);
}

#[tokio::test]
async fn gettoken_faults_are_retried_by_the_token_fetch() {
    let sim = start().await;
    sim.inject(next("gettoken", FaultKind::Busy, 1)).unwrap();
    sim.inject(next("gettoken", FaultKind::Dropped, 1)).unwrap();
    client(&sim).list(&ListRequest::new(1)).await.unwrap();
    assert_eq!(sim.gettoken_calls(), 3);
    assert_eq!(sim.stats().tokens_issued, 1);
}

async fn outcomes(seed: u64) -> Vec<i64> {
    let faults = Faults::default().busy(0.3).concurrency(0.2).only_endpoints(["list"]);
    let sim = start_with(SimConfig::default().seed(seed).faults(faults)).await;
    let raw = Raw::new(&sim).await;
    let mut codes = Vec::new();
    for _ in 0..40 {
        codes.push(errcode(&raw.call("list", json!({"limit": 1})).await));
    }
    codes
}

#[tokio::test]
async fn fraction_faults_are_reproducible_from_the_seed() {
    let a = outcomes(11).await;
    assert_eq!(a, outcomes(11).await);
    assert_ne!(a, outcomes(12).await);
    assert!(a.contains(&-1) && a.contains(&45033) && a.contains(&0), "{a:?}");
}

#[tokio::test]
async fn the_client_survives_a_mix_of_random_faults_on_reads() {
    let faults = Faults::default()
        .busy(0.1)
        .concurrency(0.05)
        .bad_gateway(0.05)
        .drop_connections(0.05)
        .expire_tokens(0.05)
        .only_endpoints(["list"]);
    let sim = start_with(config().faults(faults)).await;
    let client = client(&sim).clone();
    let mut ok = 0;
    for _ in 0..40 {
        if client.list(&ListRequest::new(5)).await.is_ok() {
            ok += 1;
        }
    }
    assert!(ok >= 36, "{ok} of 40 reads succeeded");
    assert!(sim.stats().faults.values().sum::<u64>() > 0);
}

#[tokio::test]
async fn unknown_endpoint_names_are_refused_everywhere_in_code() {
    let unknown = [
        Faults::default().busy(0.5).only_endpoints(["lsit"]),
        Faults::default().rate_limit_endpoint("gett", RateLimitRule::per_minute(1)),
        Faults::default().then(next("transfr", FaultKind::Busy, 1)),
        Faults::default().then(next("list", FaultKind::Busy, 0)),
    ];
    for faults in unknown {
        let error = Simulator::start(config().faults(faults.clone())).await.unwrap_err();
        assert!(matches!(error, SimError::Config(_)), "{error}");
        let sim = start().await;
        let error = sim.set_faults(faults).unwrap_err().to_string();
        assert!(error.contains("valid names: add_join_way") || error.contains("count"), "{error}");
        assert_eq!(sim.faults(), Faults::default(), "nothing changed");
    }

    let sim = start().await;
    let error = sim.inject(next("lsit", FaultKind::Busy, 1)).unwrap_err().to_string();
    assert!(error.contains("`lsit`") && error.contains("list") && error.contains("gettoken"), "{error}");
    assert!(sim.inject(next("list", FaultKind::Busy, 0)).is_err(), "a count of 0 would fire once");
    assert!(sim.faults().next.is_empty());
    sim.inject(ScriptedFault::new(None, FaultKind::Busy, 1)).unwrap();
    assert_eq!(sim.faults().next.len(), 1);
}

#[tokio::test]
async fn setting_faults_replaces_the_scripted_queue() {
    let sim = start().await;
    sim.inject(next("list", FaultKind::Busy, 1)).unwrap();
    sim.set_faults(Faults::default().then(next("get", FaultKind::Concurrency, 2))).unwrap();
    assert_eq!(sim.faults().next, [next("get", FaultKind::Concurrency, 2)]);
    let raw = Raw::new(&sim).await;
    assert_eq!(errcode(&raw.call("list", json!({"limit": 1})).await), 0, "the busy fault was replaced");
}

/// A simulator whose configured faults hit every call of one endpoint.
async fn always(faults: Faults, endpoint: &str) -> wecom_groupchat_sim::Simulator {
    start_with(config().faults(faults.only_endpoints([endpoint]))).await
}

#[tokio::test]
async fn truncated_and_oversized_answers_from_the_config_are_decode_errors() {
    let sim = always(Faults::default().truncate(1.0), "get").await;
    let client = client(&sim);
    let chat = sim.hints().active_owners[0].chat_ids[0].clone();
    let error = client.get(&GetRequest::new(&chat)).await.unwrap_err();
    assert!(matches!(&error, Error::Decode(e) if e.truncated), "{error}");
    client.list(&ListRequest::new(1)).await.unwrap();
    assert_eq!(sim.stats().faults["truncated"], 1 + u64::from(fast_retry().max_retries), "a read is retried");

    let sim = always(Faults::default().oversize(1.0), "get").await;
    let error = crate::common::client(&sim).get(&GetRequest::new(&chat)).await.unwrap_err();
    assert!(matches!(&error, Error::Decode(e) if e.reason.contains("larger")), "{error}");
    assert_eq!(sim.stats().faults["oversized"], 1);
}

#[tokio::test]
async fn dropped_connections_from_the_config_are_transport_errors_after_retries() {
    let sim = always(Faults::default().drop_connections(1.0), "list").await;
    let client = client(&sim);
    let error = client.list(&ListRequest::new(1)).await.unwrap_err();
    assert!(matches!(&error, Error::Transport(_)), "{error}");
    let calls = sim.calls("list");
    assert_eq!(calls, 1 + u64::from(fast_retry().max_retries), "a read is retried");
    assert_eq!(sim.stats().faults["dropped"], calls);
}

#[tokio::test]
async fn forced_token_expiry_from_the_config_makes_the_client_refresh_once() {
    let sim = always(Faults::default().expire_tokens(1.0), "list").await;
    let client = client(&sim);
    let error = client.list(&ListRequest::new(1)).await.unwrap_err();
    assert_eq!(error.code(), Some(42001), "{error}");
    // One replay at once, then the retry budget with backoff: never a loop.
    let attempts = 2 + u64::from(fast_retry().max_retries);
    assert_eq!(sim.gettoken_calls(), attempts);
    assert_eq!(sim.calls("list"), attempts);
    assert_eq!(sim.stats().faults["expire_token"], attempts);
    // Half of the calls: the client gets through by refreshing.
    let sim = start_with(config().seed(5).faults(Faults::default().expire_tokens(0.5).only_endpoints(["list"]))).await;
    let client = crate::common::client(&sim);
    let mut ok = 0;
    for _ in 0..20 {
        ok += usize::from(client.list(&ListRequest::new(1)).await.is_ok());
    }
    assert!(ok >= 10, "{ok} of 20");
    assert!(sim.gettoken_calls() > 1);
}

#[tokio::test]
async fn any_errcode_of_the_table_can_be_injected_with_its_documented_text() {
    let sim = start().await;
    let client = client(&sim);
    sim.inject(next("get", FaultKind::Errcode(wecom_groupchat::codes::INVALID_USERID), 1)).unwrap();
    let error = client.get(&GetRequest::new("x")).await.unwrap_err();
    let Error::Api(api) = &error else { panic!("{error:?}") };
    assert_eq!(api.code, wecom_groupchat::codes::INVALID_USERID);
    assert_eq!(api.attempts, 1, "the table says never retry it");
    assert!(api.message.contains("(injected)"), "{}", api.message);
    assert!(api.meaning().is_some_and(|m| m.contains("invalid userid")), "{error}");

    // Over HTTP, as JSON; a code outside the table is answered too, and 0 is no fault.
    let raw = Raw::new(&sim).await;
    let (status, _) =
        raw.control_post("/__sim/faults/next", r#"{"endpoint": "list", "fault": {"errcode": 86999}}"#).await;
    assert_eq!(status, 200);
    let answer = raw.call("list", json!({"limit": 1})).await;
    assert_eq!(errcode(&answer), 86999, "{answer}");
    assert_eq!(errcode(&raw.call("list", json!({"limit": 1})).await), 0, "one call only");
    let (status, error) = raw.control_post("/__sim/faults/next", r#"{"fault": {"errcode": 0}}"#).await;
    assert_eq!(status, 400, "{error}");
    assert!(sim.inject(next("list", FaultKind::Errcode(0), 1)).is_err());
}
