//! The leak check over a whole workload: every endpoint and helper (streams, windows, bulk transfers),
//! token refreshes and invalidations, the simulator's faults, timeouts, the token store (Redis when the
//! tests have one) and panics on unwrapped errors. Every token the client ever held and the corp secret
//! must be absent from all tracing output, every error's `Display` and `Debug`, and every panic message.
//! Its own test binary: the tracing capture and the panic hook are process-wide.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use wecom_groupchat::redis_store::{RedisStoreOptions, RedisTokenStore};
use wecom_groupchat::retry::RetryPolicy;
use wecom_groupchat::time::{day_before, now_unix};
use wecom_groupchat::token::{MemoryTokenStore, RefreshLock, StoreError, StoredToken, TokenStore};
use wecom_groupchat::types::{
    AddJoinWayRequest, DelJoinWayRequest, GetJoinWayRequest, GetRequest, JoinWayScene, ListRequest, NeedName,
    OnjobTransferRequest, OpengidToChatidRequest, OwnerFilter, StatisticGroupByDayRequest, StatisticRequest,
    TransferRequest, UpdateJoinWayRequest,
};
use wecom_groupchat::{Client, Error};
use wecom_groupchat_sim::{Faults, SimConfig, Simulator};
use wecom_groupchat_tests::*;

const CORP: &str = "wwleakcheckcorp";
const SIM_SECRET: &str = "SIM-SECRET-9f2e-must-never-leak";

/// A store that remembers every token put into it, so the test knows all tokens the client held.
#[derive(Debug)]
struct RecordingStore {
    inner: Arc<dyn TokenStore>,
    tokens: Mutex<Vec<String>>,
}

#[async_trait]
impl TokenStore for RecordingStore {
    async fn get(&self, key: &str) -> Result<Option<StoredToken>, StoreError> {
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, token: &StoredToken, ttl: Duration) -> Result<(), StoreError> {
        self.tokens.lock().unwrap().push(token.token.expose().to_string());
        self.inner.set(key, token, ttl).await
    }
    async fn invalidate_if_equal(&self, key: &str, token: &str) -> Result<bool, StoreError> {
        self.inner.invalidate_if_equal(key, token).await
    }
    async fn try_lock_refresh(&self, key: &str, ttl: Duration) -> Result<Option<RefreshLock>, StoreError> {
        self.inner.try_lock_refresh(key, ttl).await
    }
    async fn unlock_refresh(&self, key: &str, lock: &RefreshLock) -> Result<(), StoreError> {
        self.inner.unlock_refresh(key, lock).await
    }
    async fn wait_for_refresh(&self, key: &str, timeout: Duration) -> Result<(), StoreError> {
        self.inner.wait_for_refresh(key, timeout).await
    }
}

/// Everything the workload produced that a user could see.
#[derive(Default)]
struct Seen(Vec<String>);

impl Seen {
    fn error(&mut self, error: &Error) {
        self.0.push(format!("{error}"));
        self.0.push(format!("{error:?}"));
        self.0.push(format!("{error:#?}"));
    }

    fn result<T>(&mut self, result: Result<T, Error>) -> Option<T> {
        result.map_err(|e| self.error(&e)).ok()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_workload_leaks_no_secret_and_no_token() {
    let logs = capture_all_tracing();
    let panics = Arc::new(Mutex::new(Vec::<String>::new()));
    let hook_panics = panics.clone();
    std::panic::set_hook(Box::new(move |info| hook_panics.lock().unwrap().push(info.to_string())));

    let sim = Simulator::start(SimConfig::new(CORP, SIM_SECRET).token_ttl(Duration::from_secs(3))).await.unwrap();
    let hints = sim.hints();
    let inner: Arc<dyn TokenStore> = match redis_url() {
        Some(url) => {
            let options = RedisStoreOptions { prefix: unique_prefix("leakcheck"), ..RedisStoreOptions::default() };
            Arc::new(RedisTokenStore::new(&url, options).unwrap())
        }
        None => Arc::new(MemoryTokenStore::new()),
    };
    let store = Arc::new(RecordingStore { inner, tokens: Mutex::new(Vec::new()) });
    let retry = RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(5));
    let client = sim.client_builder().token_store(store.clone()).retry(retry).build().unwrap();
    let mut seen = Seen::default();
    seen.0.push(format!("{client:?} {:?} {store:?}", sim.client_builder()));

    // Reads: the list stream, details, windows of statistics.
    let chats: Vec<_> = client.list_stream(ListRequest::new(50)).try_collect().await.unwrap();
    assert!(chats.len() > 100);
    for chat in chats.iter().take(10) {
        seen.result(client.get(&GetRequest::new(&chat.chat_id).need_name(NeedName::Yes)).await);
    }
    sim.invalidate_tokens(); // the next call meets 42001: refresh and replay
    seen.result(client.get(&GetRequest::new(&chats[0].chat_id)).await).expect("replayed with a new token");
    let owners = OwnerFilter::new(hints.statistic_owners.iter().take(3).cloned());
    let now = now_unix();
    let by_owner =
        StatisticRequest::new(day_before(now, 60)).owner_filter(owners.clone()).day_end_time(day_before(now, 1));
    let by_day =
        StatisticGroupByDayRequest::new(day_before(now, 45)).owner_filter(owners).day_end_time(day_before(now, 2));
    let _ = client.statistic_range(by_owner).map(|r| seen.result(r)).collect::<Vec<_>>().await;
    let _ = client.statistic_group_by_day_range(by_day).map(|r| seen.result(r)).collect::<Vec<_>>().await;
    tokio::time::sleep(Duration::from_millis(1600)).await; // past half the token's life: refreshed early

    // Writes: bulk transfers (with failures inside), join ways, opengid.
    let resigned = &hints.resigned_owners[0];
    let new_owner = &hints.eligible_new_owners[0];
    let mut ids = resigned.chat_ids.clone();
    ids.push("wr-no-such-chat".into());
    seen.result(client.transfer_batched(TransferRequest::new(ids, new_owner)).await).expect("a report");
    let active = &hints.active_owners[0];
    seen.result(
        client
            .onjob_transfer_batched(OnjobTransferRequest::new(active.chat_ids.iter().take(2), &hints.not_real_name[0]))
            .await,
    );
    let chat = &chats[0].chat_id;
    if let Some(added) = seen.result(client.add_join_way(&AddJoinWayRequest::new(JoinWayScene::QrCode, [chat])).await) {
        let config_id = added.config_id;
        seen.result(client.get_join_way(&GetJoinWayRequest::new(&config_id)).await);
        seen.result(
            client
                .update_join_way(&UpdateJoinWayRequest::new(&config_id, JoinWayScene::MiniProgram, [chat]).state("s1"))
                .await,
        );
        seen.result(client.del_join_way(&DelJoinWayRequest::new(&config_id)).await);
        seen.result(client.get_join_way(&GetJoinWayRequest::new(&config_id)).await);
    }
    seen.result(client.opengid_to_chatid(&OpengidToChatidRequest::new(&hints.opengids[0].opengid)).await);

    // Faults: busy answers, HTML gateways, truncated and oversized bodies, dropped connections, token expiry.
    sim.set_faults(
        Faults::none().busy(0.2).bad_gateway(0.1).truncate(0.1).oversize(0.1).drop_connections(0.1).expire_tokens(0.2),
    )
    .unwrap();
    for chat in chats.iter().take(40) {
        seen.result(client.get(&GetRequest::new(&chat.chat_id)).await);
        seen.result(client.transfer(&TransferRequest::new([&chat.chat_id], new_owner)).await);
    }
    let _ = client.list_stream(ListRequest::new(20)).map(|r| seen.result(r)).collect::<Vec<_>>().await;
    // Timeouts, on a read and on a write.
    sim.set_faults(Faults::none().latency(Duration::from_millis(400))).unwrap();
    let impatient =
        sim.client_builder().token_store(store.clone()).timeout(Duration::from_millis(100)).build().unwrap();
    for error in [
        impatient.get(&GetRequest::new(chat)).await.unwrap_err(),
        impatient.transfer(&TransferRequest::new([chat], new_owner)).await.unwrap_err(),
    ] {
        seen.error(&error);
        // A caller who unwraps: the panic message carries the error's `Debug`.
        let panicked = std::panic::catch_unwind(|| std::hint::black_box(Err::<(), _>(error)).unwrap());
        assert!(panicked.is_err());
    }
    sim.set_faults(Faults::none()).unwrap();
    // A wrong secret.
    let wrong = Client::builder().base_url(sim.base_url()).corp_credentials(CORP, "WRONG-SECRET-leakcheck").build();
    seen.error(&wrong.unwrap().get(&GetRequest::new(chat)).await.unwrap_err());

    let tokens = store.tokens.lock().unwrap().clone();
    assert!(tokens.len() >= 3, "the workload went through several tokens: {}", tokens.len());
    let text = logs.text();
    let panics = panics.lock().unwrap().clone();
    assert_eq!(panics.len(), 2, "the two unwrapped errors");
    // The call spans carry what an operator needs.
    assert!(
        text.lines().any(|l| ["wecom.call{", "endpoint=", "attempt=", "errcode=", "latency_ms="]
            .iter()
            .all(|field| l.contains(field))),
        "a span with endpoint, attempt, errcode and latency"
    );
    for secret in tokens.iter().map(String::as_str).chain([SIM_SECRET, "WRONG-SECRET-leakcheck"]) {
        assert!(!text.contains(secret), "a secret appears in the tracing output");
        for s in seen.0.iter().chain(&panics) {
            assert!(!s.contains(secret), "a secret appears in: {s}");
        }
    }
    sim.shutdown().await;
}
