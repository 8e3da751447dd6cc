use serde_json::json;
use wecom_groupchat_sim::{Faults, Stats};

use crate::common::*;

#[tokio::test]
async fn counters_and_controls_over_http() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    assert_eq!(raw.control_get("/__sim/health").await["status"], "ok");
    raw.call("list", json!({"limit": 1})).await;
    raw.call("list", json!({"limit": 0})).await;

    let stats: Stats = serde_json::from_value(raw.control_get("/__sim/stats").await).unwrap();
    assert_eq!(stats.gettoken_calls, 1);
    assert_eq!(stats.calls_of("list"), 2);
    assert_eq!(stats.calls_of("transfer"), 0);
    assert_eq!(stats.answers_with(40058), 1);
    assert_eq!(stats, sim.stats());

    let (status, answer) = raw.control_post("/__sim/invalidate-tokens", "").await;
    assert_eq!((status, answer["invalidated"].as_u64()), (200, Some(1)));
    assert_eq!(errcode(&raw.call("list", json!({"limit": 1})).await), 42001);

    let (_, answer) = raw.control_post("/__sim/token-ttl", r#"{"secs": 60}"#).await;
    assert_eq!(answer["secs"], 60);
    let fresh = gettoken(&raw.http, &raw.base, sim.corp_id(), sim.corp_secret()).await;
    assert_eq!(fresh["expires_in"], 60);

    let (status, _) = raw.control_post("/__sim/stats/reset", "").await;
    assert_eq!(status, 200);
    assert_eq!(sim.stats().total_calls, 0);

    let hints = raw.control_get("/__sim/hints").await;
    assert_eq!(hints, serde_json::to_value(sim.hints()).unwrap());
    let owner = hints["active_owners"][0]["userid"].as_str().unwrap().to_string();
    let (status, _) = raw.control_post(&format!("/__sim/staff/{owner}/resign"), "").await;
    assert_eq!(status, 200);
    assert!(sim.hints().resigned_staff.contains(&owner));
    let (status, _) = raw.control_post("/__sim/staff/nobody/resign", "").await;
    assert_eq!(status, 404);
    let (_, answer) = raw.control_post("/__sim/settle-transfers", "").await;
    assert_eq!(answer["settled"], 0);
}

#[tokio::test]
async fn faults_change_at_run_time_over_http() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    let (status, now) =
        raw.control_post("/__sim/faults", r#"{"busy_fraction": 1.0, "endpoints": ["get"], "latency_ms": 1}"#).await;
    assert_eq!(status, 200, "{now}");
    assert_eq!(now["busy_fraction"], 1.0);
    let expected = Faults::default().busy(1.0).only_endpoints(["get"]).latency(std::time::Duration::from_millis(1));
    assert_eq!(sim.faults(), expected);
    assert_eq!(errcode(&raw.call("get", json!({"chat_id": "x"})).await), -1);
    assert_eq!(errcode(&raw.call("list", json!({"limit": 1})).await), 0);

    let (status, _) = raw.control_post("/__sim/faults/next", r#"{"endpoint": "list", "fault": "concurrency"}"#).await;
    assert_eq!(status, 200);
    assert_eq!(errcode(&raw.call("list", json!({"limit": 1})).await), 45033);
    let (status, _) =
        raw.control_post("/__sim/faults", r#"{"rate_limits": {"list": {"calls": 1, "window_ms": 60000}}}"#).await;
    assert_eq!(status, 200);
    assert_eq!(errcode(&raw.call("get", json!({"chat_id": "x"})).await), 40050, "busy fraction cleared");
    assert_eq!(errcode(&raw.call("list", json!({"limit": 1})).await), 0);
    assert_eq!(errcode(&raw.call("list", json!({"limit": 1})).await), 45009);

    let (status, error) = raw.control_post("/__sim/faults", r#"{"busy_fraction": 2}"#).await;
    assert_eq!(status, 400, "{error}");
    let (status, _) = raw.control_post("/__sim/faults", r#"{"busy_fractio": 0.1}"#).await;
    assert_eq!(status, 400, "unknown fields are typos");
    let (status, _) = raw.control_post("/__sim/faults", "").await;
    assert_eq!(status, 200);
    assert_eq!(sim.faults(), Faults::default());
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sim = start().await;
    let base = sim.base_url();
    let http = reqwest::Client::new();
    assert!(http.get(format!("{base}/__sim/health")).send().await.is_ok());
    sim.shutdown().await;
    assert!(http.get(format!("{base}/__sim/health")).send().await.is_err());
}

#[tokio::test]
async fn unknown_endpoint_names_and_empty_counts_answer_400() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    let refused = [
        ("/__sim/faults", r#"{"busy_fraction": 1.0, "endpoints": ["lsit"]}"#),
        ("/__sim/faults", r#"{"rate_limits": {"lsit": {"calls": 1, "window_ms": 1000}}}"#),
        ("/__sim/faults", r#"{"next": [{"endpoint": "lsit", "fault": "busy"}]}"#),
        ("/__sim/faults/next", r#"{"endpoint": "lsit", "fault": "busy", "count": 2}"#),
    ];
    for (path, body) in refused {
        let (status, answer) = raw.control_post(path, body).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains("`lsit`") && error.contains("valid names") && error.contains("list"), "{error}");
    }
    for (path, body) in [
        ("/__sim/faults/next", r#"{"endpoint": "list", "fault": "busy", "count": 0}"#),
        ("/__sim/faults", r#"{"next": [{"fault": "busy", "count": 0}]}"#),
        ("/__sim/faults", r#"{"oversize_fraction": 1, "oversize_bytes": 18446744073709551615}"#),
    ] {
        let (status, answer) = raw.control_post(path, body).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
    }
    assert_eq!(sim.faults(), Faults::default(), "nothing was applied");
    assert_eq!(errcode(&raw.call("list", json!({"limit": 1})).await), 0);
    // gettoken is a name too.
    let (status, answer) = raw.control_post("/__sim/faults/next", r#"{"endpoint": "gettoken", "fault": "busy"}"#).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn base_url_names_loopback_when_bound_to_every_interface() {
    let mut config = config().addr("0.0.0.0:0".parse().unwrap());
    config.allow_non_loopback = true;
    let sim = start_with(config).await;
    assert!(sim.addr().ip().is_unspecified());
    assert_eq!(sim.base_url(), format!("http://127.0.0.1:{}", sim.addr().port()));
    sim.client_builder().build().unwrap().list(&wecom_groupchat::types::ListRequest::new(1)).await.unwrap();
}
