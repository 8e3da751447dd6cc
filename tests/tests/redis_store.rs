//! The Redis token store against a real `redis-server`: the store's operations, sharing between
//! instances, one `gettoken` for a cold fleet, no secret in Redis, and calls that go on without Redis.

use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use serde_json::json;
use wecom_groupchat::Secret;
use wecom_groupchat::redis_store::{RedisStoreOptions, RedisTokenStore, WhenUnavailable};
use wecom_groupchat::token::{RefreshLock, StoredToken, TokenStore};
use wecom_groupchat::types::GetRequest;
use wecom_groupchat_tests::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GET: &str = "/cgi-bin/externalcontact/groupchat/get";

fn store(url: &str, prefix: &str) -> RedisTokenStore {
    RedisTokenStore::new(url, RedisStoreOptions { prefix: prefix.into(), ..RedisStoreOptions::default() }).unwrap()
}

fn token(value: &str) -> StoredToken {
    StoredToken { token: Secret::new(value), expires_at: 1_900_000_000 }
}

#[tokio::test]
async fn tokens_expire_and_are_shared_between_instances() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("share");
    let (a, b) = (store(&url, &prefix), store(&url, &prefix));
    assert_eq!(a.get("app").await.unwrap(), None);
    a.set("app", &token("T1"), Duration::from_millis(400)).await.unwrap();
    assert_eq!(b.get("app").await.unwrap(), Some(token("T1")));
    assert_eq!(store(&url, &unique_prefix("other")).get("app").await.unwrap(), None, "prefixes separate");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(store(&url, &prefix).get("app").await.unwrap(), None, "gone after its TTL");
}

#[tokio::test]
async fn invalidation_compares_before_deleting() {
    let Some(url) = redis_url() else { return };
    let s = store(&url, &unique_prefix("cas"));
    s.set("app", &token("T2"), Duration::from_secs(60)).await.unwrap();
    assert!(!store(&url, &unique_prefix("x")).invalidate_if_equal("app", "T2").await.unwrap());
    assert!(!s.invalidate_if_equal("app", "T1").await.unwrap(), "a stale token must not remove the new one");
    assert_eq!(s.get("app").await.unwrap(), Some(token("T2")));
    assert!(s.invalidate_if_equal("app", "T2").await.unwrap());
    assert_eq!(s.get("app").await.unwrap(), None);
}

#[tokio::test]
async fn the_refresh_lock_is_exclusive_owned_and_expires() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("lock");
    let (a, b) = (store(&url, &prefix), store(&url, &prefix));
    let lock = a.try_lock_refresh("app", Duration::from_millis(500)).await.unwrap().unwrap();
    assert!(b.try_lock_refresh("app", Duration::from_secs(5)).await.unwrap().is_none());
    b.unlock_refresh("app", &RefreshLock { owner: "not the owner".into() }).await.unwrap();
    assert!(b.try_lock_refresh("app", Duration::from_secs(5)).await.unwrap().is_none(), "only the owner releases");
    a.unlock_refresh("app", &lock).await.unwrap();
    let held = b.try_lock_refresh("app", Duration::from_millis(300)).await.unwrap();
    assert!(held.is_some());
    // A holder that dies never unlocks: the lock expires on its own.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(a.try_lock_refresh("app", Duration::from_secs(5)).await.unwrap().is_some());
}

async fn mock_wecom() -> MockServer {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["TOKEN-REDIS-1", "TOKEN-REDIS-2"]).delay(Duration::from_millis(100)))
        .await;
    Mock::given(method("POST"))
        .and(path(GET))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok(json!({"group_chat": {"chat_id": "c1"}}))))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn eight_instances_on_a_cold_cache_fetch_one_token_and_redis_never_sees_the_secret() {
    let Some(url) = redis_url() else { return };
    let server = mock_wecom().await;
    let prefix = unique_prefix("fleet");
    // Eight clients with eight stores: nothing shared in-process, as with eight instances of a service.
    let clients: Vec<_> =
        (0..8).map(|_| builder(&server).token_store(Arc::new(store(&url, &prefix))).build().unwrap()).collect();
    let request = GetRequest::new("c1");
    let calls = clients.iter().flat_map(|c| (0..100).map(|_| c.get(&request)));
    let results = join_all(calls).await;
    assert!(results.iter().all(Result::is_ok), "{:?}", results.iter().find(|r| r.is_err()));
    assert_eq!(hits(&server, TOKEN_PATH).await, 1);

    let mut conn = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{prefix}:*")).query_async(&mut conn).await.unwrap();
    assert_eq!(keys.len(), 1, "one token, the lock released: {keys:?}");
    assert!(keys[0].starts_with(&format!("{prefix}:token:{CORP_ID}:")) && !keys[0].contains(SECRET));
    let fields: Vec<String> = redis::cmd("HGETALL").arg(&keys[0]).query_async(&mut conn).await.unwrap();
    assert!(fields.contains(&"TOKEN-REDIS-1".to_string()));
    assert!(fields.iter().all(|f| !f.contains(SECRET)), "the secret is never stored");
    let ttl: i64 = redis::cmd("PTTL").arg(&keys[0]).query_async(&mut conn).await.unwrap();
    assert!(ttl > 0 && ttl <= (7200 - 300) * 1000, "kept for expires_in minus the margin, not forever: {ttl}");
}

#[tokio::test]
async fn without_redis_calls_go_on_and_the_fail_mode_fails() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("redis://127.0.0.1:{port}");
    let server = mock_wecom().await;
    let fallback = builder(&server).token_store(Arc::new(store(&url, "p"))).build().unwrap();
    let request = GetRequest::new("c1");
    let results = join_all((0..100).map(|_| fallback.get(&request))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(hits(&server, TOKEN_PATH).await, 1, "the in-process store keeps single flight");

    let strict = RedisStoreOptions { when_unavailable: WhenUnavailable::Fail, ..RedisStoreOptions::default() };
    let failing = builder(&server).token_store(Arc::new(RedisTokenStore::new(&url, strict).unwrap())).build().unwrap();
    let error = failing.get(&GetRequest::new("c1")).await.unwrap_err();
    assert!(matches!(error, wecom_groupchat::Error::Token(wecom_groupchat::TokenError::Store(_))), "{error:?}");
}

#[tokio::test]
async fn redis_stopped_mid_run_does_not_stop_the_calls() {
    let Some(mut redis) = OwnRedis::start() else { return };
    let server = mock_wecom().await;
    let client = builder(&server).token_store(Arc::new(store(&redis.url, &unique_prefix("stop")))).build().unwrap();
    for _ in 0..20 {
        client.get(&GetRequest::new("c1")).await.unwrap();
    }
    redis.stop();
    for _ in 0..20 {
        client.get(&GetRequest::new("c1")).await.unwrap();
    }
    assert_eq!(hits(&server, TOKEN_PATH).await, 1, "the token written through to memory outlives Redis");
    assert_eq!(hits(&server, GET).await, 40);
}
