//! The Redis token store against a real `redis-server`: the store's operations, sharing between
//! instances, one `gettoken` for a cold fleet, no secret in Redis, and calls that go on without Redis.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::json;
use wecom_groupchat::Secret;
use wecom_groupchat::redis_store::{RedisStoreOptions, RedisTokenStore, WhenUnavailable};
use wecom_groupchat::token::{RefreshLock, StoredToken, TokenStore};
use wecom_groupchat::types::GetRequest;
use wecom_groupchat_sim::{Faults, SimConfig, Simulator};
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

#[tokio::test(flavor = "multi_thread")]
async fn redis_stopped_mid_run_does_not_stop_the_calls() {
    let Some(mut redis) = OwnRedis::start() else { return };
    // Calls take 300 ms in the simulator, which checks their token after that wait: Redis stops and the
    // token dies while they are in flight, so the refresh they need runs without Redis.
    let faults = Faults::none().latency(Duration::from_millis(300));
    let sim = Simulator::start(SimConfig::default().faults(faults)).await.unwrap();
    let chat = sim.hints().resigned_owners[0].chat_ids[0].clone();
    let store = store(&redis.url, &unique_prefix("stop"));
    let client = sim.client_builder().retry(fast_retries()).token_store(Arc::new(store)).build().unwrap();
    let request = GetRequest::new(chat.as_str());
    assert!(join_all((0..20).map(|_| client.get(&request))).await.iter().all(Result::is_ok));
    assert_eq!(sim.gettoken_calls(), 1);

    let calls = join_all((0..50).map(|_| client.get(&request)));
    let outage = async {
        let deadline = Instant::now() + Duration::from_secs(10);
        while sim.calls("get") < 20 + 50 {
            assert!(Instant::now() < deadline, "the calls never reached the simulator");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        redis.stop();
        sim.invalidate_tokens();
    };
    let (results, ()) = tokio::join!(calls, outage);
    assert!(results.iter().all(Result::is_ok), "{:?}", results.iter().find(|r| r.is_err()));
    assert!(sim.stats().answers_with(42001) >= 1, "the token died while calls were in flight");
    assert_eq!(sim.gettoken_calls(), 2, "one refresh without Redis, through the in-process lock");

    assert!(join_all((0..20).map(|_| client.get(&request))).await.iter().all(Result::is_ok));
    assert_eq!(sim.gettoken_calls(), 2, "the token fetched during the outage is kept in memory");
}

#[tokio::test]
async fn a_token_shorter_lived_than_twice_the_margin_is_still_shared() {
    let Some(url) = redis_url() else { return };
    // expires_in 10 s, margin 300 s: kept for half its lifetime, never for zero (every caller would fetch).
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["SHORT-1", "SHORT-2"]).expires_in(10).delay(Duration::from_millis(100)))
        .await;
    Mock::given(method("POST"))
        .and(path(GET))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok(json!({"group_chat": {"chat_id": "c1"}}))))
        .mount(&server)
        .await;
    let prefix = unique_prefix("short");
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let store = Arc::new(store(&url, &prefix));
            builder(&server).refresh_margin(Duration::from_secs(300)).token_store(store).build().unwrap()
        })
        .collect();
    let request = GetRequest::new("c1");
    let results = join_all(clients.iter().flat_map(|c| (0..50).map(|_| c.get(&request)))).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(hits(&server, TOKEN_PATH).await, 1, "one gettoken: the short-lived token was shared");

    let mut conn = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}:token:{}", wecom_groupchat::token::credentials_key(&server.uri(), CORP_ID, SECRET));
    let ttl: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut conn).await.unwrap();
    // Half of its 10 s, less the time the calls took (generous: CI machines are slow and busy).
    assert!((2_000..=5_000).contains(&ttl), "stored for about half of its 10 s: {ttl} ms");
}

#[tokio::test]
async fn a_waiter_backs_off_and_wakes_for_the_token_or_the_lock_expiry() {
    let Some(url) = redis_url() else { return };
    let prefix = unique_prefix("wait");
    let (holder, waiter) = (store(&url, &prefix), store(&url, &prefix));

    // The holder stores the token after 300 ms: the waiter sees it within a poll or so.
    let lock = holder.try_lock_refresh("app", Duration::from_secs(10)).await.unwrap().unwrap();
    let started = Instant::now();
    let refresh = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        holder.set("app", &token("T1"), Duration::from_secs(60)).await.unwrap();
        holder.unlock_refresh("app", &lock).await.unwrap();
    };
    let (waited, ()) = tokio::join!(waiter.wait_for_refresh("app", Duration::from_secs(3)), refresh);
    waited.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300) && took < Duration::from_millis(2000), "woke after {took:?}");

    // A holder that died: the waiter wakes when its lock expires, not a backoff step later.
    let _dead = holder.try_lock_refresh("other", Duration::from_millis(500)).await.unwrap().unwrap();
    let started = Instant::now();
    waiter.wait_for_refresh("other", Duration::from_secs(3)).await.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(450) && took < Duration::from_millis(2000), "woke after {took:?}");

    // Nothing changes: the wait ends with its timeout.
    let _held = holder.try_lock_refresh("third", Duration::from_secs(10)).await.unwrap().unwrap();
    let started = Instant::now();
    waiter.wait_for_refresh("third", Duration::from_millis(200)).await.unwrap();
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(200) && took < Duration::from_millis(2000), "woke after {took:?}");
}

#[tokio::test]
async fn waiters_poll_less_and_less_often() {
    // A Redis of its own, so that its command counts are this test's.
    let Some(redis) = OwnRedis::start() else { return };
    let prefix = unique_prefix("backoff");
    let (holder, waiter) = (store(&redis.url, &prefix), store(&redis.url, &prefix));
    let _held = holder.try_lock_refresh("app", Duration::from_secs(30)).await.unwrap().unwrap();
    // As the token manager waits: slices of 250 ms, for 3 s.
    for _ in 0..12 {
        waiter.wait_for_refresh("app", Duration::from_millis(250)).await.unwrap();
    }
    let mut conn = redis::Client::open(redis.url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let stats: String = redis::cmd("INFO").arg("commandstats").query_async(&mut conn).await.unwrap();
    let polls: u64 = stats
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_exists:calls="))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // A fixed 50 ms poll would look 60 times; backing off to 400 ms (200–400 with jitter) about 12 times.
    assert!((3..=20).contains(&polls), "{polls} polls in 3 s: {stats}");
}

#[tokio::test]
async fn rediss_urls_are_accepted_and_speak_tls() {
    let Some(url) = redis_url() else { return };
    // The test Redis speaks plain TCP: a TLS client fails its handshake (reported, in the fail mode),
    // which shows the URL was taken as TLS rather than refused.
    let tls_url = url.replacen("redis://", "rediss://", 1);
    let strict = RedisStoreOptions {
        when_unavailable: WhenUnavailable::Fail,
        connect_timeout: Duration::from_millis(500),
        ..RedisStoreOptions::default()
    };
    let store = RedisTokenStore::new(&tls_url, strict).expect("rediss:// is accepted");
    let error = store.get("app").await.unwrap_err();
    assert!(!error.to_string().contains("feature"), "TLS support is built in: {error}");
}
