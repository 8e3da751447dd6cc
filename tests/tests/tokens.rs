//! The token lifecycle: single-flight refresh, refresh before expiry, compare-and-invalidate with one
//! replay, configuration errors reported at once, per-app caching, custom providers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::future::join_all;
use serde_json::json;
use wecom_groupchat::token::{FetchedToken, MemoryTokenStore, TokenProvider};
use wecom_groupchat::types::GetRequest;
use wecom_groupchat::{Client, Error, Secret, TokenError};
use wecom_groupchat_tests::*;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GET_PATH: &str = "/cgi-bin/externalcontact/groupchat/get";

fn chat() -> serde_json::Value {
    ok(json!({"group_chat": {"chat_id": "c1", "name": "销售客服群"}}))
}

async fn mount_get(server: &MockServer, token: &str, body: serde_json::Value) {
    Mock::given(method("POST"))
        .and(path(GET_PATH))
        .and(query_param("access_token", token))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_thousand_concurrent_calls_on_a_cold_cache_fetch_one_token() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T1", "T2"]).delay(Duration::from_millis(200))).await;
    mount_get(&server, "T1", chat()).await;
    let client = client(&server);
    let calls = (0..1000).map(|_| {
        let client = client.clone();
        async move { client.get(&GetRequest::new("c1")).await }
    });
    let results = join_all(calls).await;
    assert!(results.iter().all(Result::is_ok), "{:?}", results.iter().find(|r| r.is_err()));
    assert_eq!(hits(&server, TOKEN_PATH).await, 1);
    assert_eq!(hits(&server, GET_PATH).await, 1000);
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_call_replayed() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T1", "T2", "T3"])).await;
    mount_get(&server, "T1", err(42001, "access_token expired")).await;
    mount_get(&server, "T2", chat()).await;
    let client = client(&server);
    let chat = client.get(&GetRequest::new("c1")).await.unwrap();
    assert_eq!(chat.group_chat.chat_id, "c1");
    assert_eq!(hits(&server, TOKEN_PATH).await, 2);
    let sent = requests_to(&server, GET_PATH).await;
    let tokens: Vec<String> =
        sent.iter().map(|r| r.url.query_pairs().find(|(k, _)| k == "access_token").unwrap().1.into_owned()).collect();
    assert_eq!(tokens, ["T1", "T2"]);
    // The replay sends the very same body.
    assert_eq!(sent[0].body, sent[1].body);
    // The new token is cached from then on.
    client.get(&GetRequest::new("c1")).await.unwrap();
    assert_eq!(hits(&server, TOKEN_PATH).await, 2);
}

#[tokio::test]
async fn a_burst_of_rejections_of_one_token_causes_one_refresh() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T1", "T2", "T3"]).delay(Duration::from_millis(50))).await;
    mount_get(&server, "T1", err(40014, "invalid access_token")).await;
    mount_get(&server, "T2", chat()).await;
    let client = client(&server);
    client.access_token().await.unwrap(); // warm: T1
    let results = join_all((0..50).map(|_| {
        let client = client.clone();
        async move { client.get(&GetRequest::new("c1")).await }
    }))
    .await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(hits(&server, TOKEN_PATH).await, 2, "one fetch for T1, exactly one refresh to T2");
    assert_eq!(hits(&server, GET_PATH).await, 100, "each call: one rejected attempt, one replay");
}

#[tokio::test]
async fn a_server_that_always_rejects_the_token_gets_a_bounded_number_of_attempts() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T1", "T2", "T3", "T4"])).await;
    Mock::given(method("POST"))
        .and(path(GET_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(err(40014, "invalid access_token")))
        .mount(&server)
        .await;
    let error = client(&server).get(&GetRequest::new("c1")).await.unwrap_err();
    assert_eq!(error.code(), Some(40014));
    assert!(error.to_string().contains("errcode 40014"), "{error}");
    // The first rejection is replayed at once; each later one spends a retry (3), with backoff: bounded.
    assert_eq!(hits(&server, GET_PATH).await, 5, "the original call, one replay and three retries");
    assert_eq!(hits(&server, TOKEN_PATH).await, 5, "a fresh token for every attempt");
}

#[tokio::test]
async fn a_wrong_secret_or_corp_id_is_a_configuration_error_reported_at_once() {
    for (code, text) in [(40001, "invalid credential"), (40013, "invalid corpid")] {
        let server = MockServer::start().await;
        Mock::given(path(TOKEN_PATH))
            .respond_with(ResponseTemplate::new(200).set_body_json(err(code, text)))
            .mount(&server)
            .await;
        let error = client(&server).get(&GetRequest::new("c1")).await.unwrap_err();
        match &error {
            Error::Token(e @ TokenError::Rejected { code: got, .. }) => {
                assert_eq!(*got, code);
                assert!(e.is_configuration());
            }
            other => panic!("expected a token rejection, got {other:?}"),
        }
        assert_eq!(error.code(), Some(code));
        assert!(!error.is_retryable());
        assert_eq!(hits(&server, TOKEN_PATH).await, 1, "no retry loop on a bad secret");
        assert_eq!(hits(&server, GET_PATH).await, 0);
    }
}

#[tokio::test]
async fn a_wrong_secret_is_asked_once_per_burst_and_then_held() {
    let server = MockServer::start().await;
    Mock::given(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(err(40001, "invalid credential"))
                .set_delay(Duration::from_millis(50)),
        )
        .mount(&server)
        .await;
    let client = client(&server);
    let results = join_all((0..500).map(|_| {
        let client = client.clone();
        async move { client.get(&GetRequest::new("c1")).await }
    }))
    .await;
    assert!(results.iter().all(|r| matches!(r, Err(e) if e.code() == Some(40001))));
    assert_eq!(hits(&server, TOKEN_PATH).await, 1, "the queued callers share the one answer");
    // Later calls get the same verdict without asking again: WeCom blocks IPs that keep failing gettoken.
    for _ in 0..20 {
        assert_eq!(client.get(&GetRequest::new("c1")).await.unwrap_err().code(), Some(40001));
    }
    assert_eq!(hits(&server, TOKEN_PATH).await, 1);
    assert_eq!(hits(&server, GET_PATH).await, 0);
}

#[tokio::test]
async fn a_token_endpoint_outage_is_retried_once_for_all_waiting_callers() {
    let server = MockServer::start().await;
    Mock::given(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(503).set_body_raw("<html>down</html>", "text/html"))
        .mount(&server)
        .await;
    let client = builder(&server).retry(fast_retries().with_max_retries(2)).build().unwrap();
    let results = join_all((0..200).map(|_| {
        let client = client.clone();
        async move { client.get(&GetRequest::new("c1")).await }
    }))
    .await;
    assert!(results.iter().all(|r| matches!(r, Err(Error::Token(TokenError::Fetch(_))))), "{:?}", results[0]);
    // One refresh (the first try and two retries) serves all 200 callers; an outage is not held, so the
    // next call asks again.
    assert_eq!(hits(&server, TOKEN_PATH).await, 3);
    client.get(&GetRequest::new("c1")).await.unwrap_err();
    assert_eq!(hits(&server, TOKEN_PATH).await, 6);
}

#[tokio::test]
async fn a_caller_giving_up_does_not_abandon_the_refresh() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T1", "T2"]).delay(Duration::from_millis(300))).await;
    mount_get(&server, "T1", chat()).await;
    // The lock outlives the test: if the first caller's refresh died with it, the second would wait for it.
    let client = builder(&server).refresh_lock_ttl(Duration::from_secs(30)).build().unwrap();
    let impatient = tokio::time::timeout(Duration::from_millis(50), client.get(&GetRequest::new("c1"))).await;
    assert!(impatient.is_err(), "gave up while the token was being fetched");
    tokio::time::timeout(Duration::from_secs(5), client.get(&GetRequest::new("c1"))).await.unwrap().unwrap();
    assert_eq!(hits(&server, TOKEN_PATH).await, 1, "the abandoned caller's refresh finished and served the next");
}

#[tokio::test]
async fn a_busy_token_endpoint_is_retried() {
    let server = MockServer::start().await;
    Mock::given(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(err(-1, "system busy")))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_tokens(&server, TokenSequence::new(&["T1"])).await;
    mount_get(&server, "T1", chat()).await;
    client(&server).get(&GetRequest::new("c1")).await.unwrap();
    assert_eq!(hits(&server, TOKEN_PATH).await, 3);
}

#[tokio::test]
async fn a_fixed_token_that_is_rejected_cannot_be_refreshed() {
    let server = MockServer::start().await;
    mount_get(&server, "FIXED", err(42001, "access_token expired")).await;
    let client = Client::builder().base_url(server.uri()).access_token("FIXED").build().unwrap();
    let error = client.get(&GetRequest::new("c1")).await.unwrap_err();
    assert!(matches!(error, Error::Token(TokenError::CannotRefresh { code: 42001, .. })), "{error:?}");
    assert_eq!(hits(&server, GET_PATH).await, 1);
    assert_eq!(hits(&server, TOKEN_PATH).await, 0);
}

#[tokio::test]
async fn tokens_are_refreshed_before_they_expire() {
    let server = MockServer::start().await;
    // Lifetime 2 s and a 5-minute margin: the margin is capped at half the lifetime, so the token is
    // used for 1 s, then replaced before the server would reject it.
    mount_tokens(&server, TokenSequence::new(&["T1", "T2"]).expires_in(2)).await;
    mount_get(&server, "T1", chat()).await;
    mount_get(&server, "T2", chat()).await;
    let client = client(&server);
    client.get(&GetRequest::new("c1")).await.unwrap();
    client.get(&GetRequest::new("c1")).await.unwrap();
    assert_eq!(hits(&server, TOKEN_PATH).await, 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    client.get(&GetRequest::new("c1")).await.unwrap();
    assert_eq!(hits(&server, TOKEN_PATH).await, 2);
}

#[tokio::test]
async fn two_apps_of_one_corp_never_share_a_token() {
    let server = MockServer::start().await;
    for (secret, token) in [(SECRET, "TOKEN-APP-A"), ("OTHER-APP-SECRET", "TOKEN-APP-B")] {
        Mock::given(path(TOKEN_PATH))
            .and(query_param("corpsecret", secret))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(ok(json!({"access_token": token, "expires_in": 7200}))),
            )
            .mount(&server)
            .await;
        mount_get(&server, token, chat()).await;
    }
    let store = Arc::new(MemoryTokenStore::new());
    let a = builder(&server).token_store(store.clone()).build().unwrap();
    let b = builder(&server).corp_credentials(CORP_ID, "OTHER-APP-SECRET").token_store(store).build().unwrap();
    assert_eq!(a.access_token().await.unwrap().expose(), "TOKEN-APP-A");
    assert_eq!(b.access_token().await.unwrap().expose(), "TOKEN-APP-B");
    // Clients of the same app share the store's token.
    let a2 = builder(&server).token_store(Arc::new(MemoryTokenStore::new())).build().unwrap();
    assert_eq!(a2.access_token().await.unwrap().expose(), "TOKEN-APP-A");
    assert_eq!(hits(&server, TOKEN_PATH).await, 3);
}

#[derive(Debug, Default)]
struct CountingProvider {
    fetches: AtomicUsize,
}

#[async_trait::async_trait]
impl TokenProvider for CountingProvider {
    fn cache_key(&self) -> String {
        "central-token-service:app-1".into()
    }

    async fn fetch(&self) -> Result<FetchedToken, TokenError> {
        let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(FetchedToken { token: Secret::new(format!("T{n}")), expires_in: Duration::from_secs(7200) })
    }
}

#[tokio::test]
async fn a_custom_provider_is_single_flight_and_refreshed_on_rejection() {
    let server = MockServer::start().await;
    mount_get(&server, "T1", err(42001, "expired")).await;
    mount_get(&server, "T2", chat()).await;
    let provider = Arc::new(CountingProvider::default());
    let client = Client::builder()
        .base_url(server.uri())
        .token_provider(provider.clone())
        .retry(fast_retries())
        .build()
        .unwrap();
    let results = join_all((0..100).map(|_| {
        let client = client.clone();
        async move { client.get(&GetRequest::new("c1")).await }
    }))
    .await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(provider.fetches.load(Ordering::SeqCst), 2);
}

/// A provider that plays a script: one behaviour per fetch, then tokens `T1`, `T2` …
#[derive(Debug)]
struct ScriptedProvider {
    script: std::sync::Mutex<Vec<&'static str>>,
    fetches: AtomicUsize,
}

impl ScriptedProvider {
    fn new(script: &[&'static str]) -> Arc<Self> {
        Arc::new(ScriptedProvider { script: std::sync::Mutex::new(script.to_vec()), fetches: AtomicUsize::new(0) })
    }
}

#[async_trait::async_trait]
impl TokenProvider for ScriptedProvider {
    fn cache_key(&self) -> String {
        "scripted".into()
    }

    async fn fetch(&self) -> Result<FetchedToken, TokenError> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let next = {
            let mut script = self.script.lock().unwrap();
            if script.is_empty() { None } else { Some(script.remove(0)) }
        };
        match next {
            Some("panic") => panic!("provider bug, with PANIC-PAYLOAD-must-not-leak"),
            Some("reject") => Err(TokenError::Rejected { code: 40001, message: "invalid credential".into() }),
            Some(token) => Ok(FetchedToken { token: Secret::new(token), expires_in: Duration::from_secs(7200) }),
            None => unreachable!("the script ran out"),
        }
    }
}

fn provider_client(server: &MockServer, provider: Arc<ScriptedProvider>) -> Client {
    Client::builder().base_url(server.uri()).token_provider(provider).retry(fast_retries()).build().unwrap()
}

#[tokio::test]
async fn a_panicking_provider_fails_the_call_and_frees_the_lock() {
    let server = MockServer::start().await;
    mount_get(&server, "T1", chat()).await;
    let provider = ScriptedProvider::new(&["panic", "T1"]);
    let client = provider_client(&server, provider.clone());
    let error = client.get(&GetRequest::new("c1")).await.unwrap_err();
    assert!(matches!(&error, Error::Token(TokenError::Provider(_))), "{error:?}");
    assert!(!error.to_string().contains("PANIC-PAYLOAD") && !error.is_retryable(), "{error}");
    // The lock (10 s by default) was released despite the panic: the next call refreshes at once.
    tokio::time::timeout(Duration::from_secs(3), client.get(&GetRequest::new("c1"))).await.unwrap().unwrap();
    assert_eq!(provider.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_custom_provider_may_recover_from_a_configuration_error() {
    let server = MockServer::start().await;
    mount_get(&server, "T1", chat()).await;
    let provider = ScriptedProvider::new(&["reject", "T1"]);
    let client = provider_client(&server, provider.clone());
    assert_eq!(client.get(&GetRequest::new("c1")).await.unwrap_err().code(), Some(40001));
    // Not held: only the built-in provider's credentials are fixed for the client's life.
    client.get(&GetRequest::new("c1")).await.unwrap();
    assert_eq!(provider.fetches.load(Ordering::SeqCst), 2);
}
