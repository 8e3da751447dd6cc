use std::time::Duration;

use wecom_groupchat::types::ListRequest;
use wecom_groupchat::{Error, TokenError};
use wecom_groupchat_sim::{FaultKind, ScriptedFault};

use crate::common::*;

#[tokio::test]
async fn gettoken_issues_tokens_with_the_configured_lifetime() {
    let sim = start_with(config().token_ttl(Duration::from_secs(120))).await;
    let http = reqwest::Client::new();
    let answer = gettoken(&http, &sim.base_url(), sim.corp_id(), sim.corp_secret()).await;
    assert_eq!(errcode(&answer), 0);
    assert_eq!(answer["errmsg"], "ok");
    assert_eq!(answer["expires_in"], 120);
    let first = answer["access_token"].as_str().unwrap().to_string();
    assert!(first.len() >= 32);
    // A new token does not kill the old one.
    let second = gettoken(&http, &sim.base_url(), sim.corp_id(), sim.corp_secret()).await;
    assert_ne!(second["access_token"], first.as_str());
    let raw = Raw { http, base: sim.base_url(), token: first };
    assert_eq!(errcode(&raw.call("list", serde_json::json!({"limit": 1})).await), 0);
    assert_eq!(sim.stats().gettoken_calls, 2);
    assert_eq!(sim.stats().tokens_issued, 2);
}

#[tokio::test]
async fn gettoken_checks_corp_id_and_secret() {
    let sim = start().await;
    let http = reqwest::Client::new();
    let base = sim.base_url();
    let wrong_corp = gettoken(&http, &base, "wwnope", sim.corp_secret()).await;
    assert_eq!(errcode(&wrong_corp), 40013);
    let wrong_secret = gettoken(&http, &base, sim.corp_id(), "not-the-secret").await;
    assert_eq!(errcode(&wrong_secret), 40001);
    assert!(!wrong_secret.to_string().contains("not-the-secret"), "secrets never echo: {wrong_secret}");
    let none: serde_json::Value =
        http.get(format!("{base}/cgi-bin/gettoken")).send().await.unwrap().json().await.unwrap();
    assert_eq!(errcode(&none), 40013);

    // The SDK reports a configuration error and does not loop.
    let client = sim.client_builder().corp_credentials(sim.corp_id(), "wrong").build().unwrap();
    let error = client.list(&ListRequest::new(10)).await.unwrap_err();
    assert!(matches!(&error, Error::Token(e) if e.is_configuration()), "{error}");
    assert_eq!(error.code(), Some(40001));
    assert_eq!(sim.stats().gettoken_calls, 4);
    assert_eq!(sim.stats().calls_of("list"), 0);
}

#[tokio::test]
async fn business_calls_need_a_live_token() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    let body = r#"{"limit": 1}"#;
    assert_eq!(errcode(&raw.post_with_token("list", None, body).await.1), 41001);
    assert_eq!(errcode(&raw.post_with_token("list", Some(""), body).await.1), 41001);
    assert_eq!(errcode(&raw.post_with_token("list", Some("made-up"), body).await.1), 40014);
    assert_eq!(errcode(&raw.post("list", body).await.1), 0);
    assert_eq!(sim.invalidate_tokens(), 1);
    let (status, answer) = raw.post("list", body).await;
    assert_eq!((status, errcode(&answer)), (200, 42001));
    assert!(!answer.to_string().contains(&raw.token), "tokens never echo");
    let stats = sim.stats();
    assert_eq!(stats.answers_with(41001), 2);
    assert_eq!(stats.answers_with(40014), 1);
    assert_eq!(stats.answers_with(42001), 1);
}

#[tokio::test]
async fn tokens_expire_after_their_lifetime() {
    let sim = start_with(config().token_ttl(Duration::from_secs(1))).await;
    let raw = Raw::new(&sim).await;
    assert_eq!(errcode(&raw.call("list", serde_json::json!({"limit": 1})).await), 0);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(errcode(&raw.call("list", serde_json::json!({"limit": 1})).await), 42001);
}

#[tokio::test]
async fn the_client_refreshes_after_all_tokens_are_invalidated() {
    let sim = start().await;
    let client = client(&sim);
    client.list(&ListRequest::new(10)).await.unwrap();
    assert_eq!(sim.gettoken_calls(), 1);
    sim.invalidate_tokens();
    client.list(&ListRequest::new(10)).await.unwrap();
    assert_eq!(sim.gettoken_calls(), 2);
    assert_eq!(sim.stats().answers_with(42001), 1);
    assert_eq!(sim.calls("list"), 3);
}

#[tokio::test]
async fn the_client_refreshes_on_forced_expiry() {
    let sim = start().await;
    let client = client(&sim);
    sim.inject(ScriptedFault::new(Some("list"), FaultKind::ExpireToken, 1)).unwrap();
    client.list(&ListRequest::new(10)).await.unwrap();
    let stats = sim.stats();
    assert_eq!(stats.gettoken_calls, 2);
    assert_eq!(stats.faults["expire_token"], 1);
    assert_eq!(stats.answers_with(42001), 1);
    // The expired token stays expired.
    assert_eq!(stats.live_tokens, 1);
}

#[tokio::test]
async fn a_fixed_token_that_dies_cannot_be_refreshed() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    let client = sim.client_builder().access_token(raw.token.clone()).retry(fast_retry()).build().unwrap();
    client.list(&ListRequest::new(1)).await.unwrap();
    sim.invalidate_tokens();
    let error = client.list(&ListRequest::new(1)).await.unwrap_err();
    assert!(matches!(error, Error::Token(TokenError::CannotRefresh { code: 42001, .. })), "{error}");
}
