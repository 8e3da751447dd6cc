//! Shared helpers of the mirror's tests: the two databases (an SQLite file in a temporary directory, a
//! schema of its own on the PostgreSQL of `WECOM_TEST_POSTGRES_URL`), the simulator, events sealed as
//! WeCom seals them, a recording proxy, and the comparison of the mirror with the simulator.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use wecom_groupchat::Client;
use wecom_groupchat::callback::{CallbackCrypto, CallbackResponse, Receiver};
use wecom_groupchat::events::{AppHeader, CallbackEvent, ChangeExternalChat};
use wecom_groupchat::retry::RetryPolicy;
use wecom_groupchat::types::{GroupChat, ListRequest};
use wecom_groupchat_sim::{SimConfig, Simulator};
use wecom_groupchat_sync::{DbUrl, MemberRow, Mirror, Store, SyncOptions};

/// Environment variable with the URL of the PostgreSQL the tests use (`.ci/run` starts one).
pub const POSTGRES_URL_VAR: &str = "WECOM_TEST_POSTGRES_URL";

/// Writes `message` to the real stderr once (a passing test's output is captured otherwise).
fn tell_developer(message: &str) {
    static TOLD: Mutex<bool> = Mutex::new(false);
    let mut told = TOLD.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !*told {
        let _ = writeln!(std::io::stderr().lock(), "\nnote: {message}\n");
        *told = true;
    }
}

/// The PostgreSQL to test against. In CI (`CI` set) its absence fails the test; elsewhere the test passes
/// without running, after saying how to run it (`None`).
pub fn postgres_url() -> Option<String> {
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{POSTGRES_URL_VAR} is not set: in CI, .ci/run starts a PostgreSQL cluster and sets it")
        }
        _ => {
            tell_developer(&format!(
                "the mirror's PostgreSQL tests did not run: they need a PostgreSQL server. Run them with\n    \
                 {POSTGRES_URL_VAR}=postgres://USER@127.0.0.1:PORT/DATABASE cargo test --workspace\n    \
                 (`bash .ci/postgres start` starts a throwaway cluster and prints the URL)"
            ));
            None
        }
    }
}

/// A database for one test: a fresh SQLite file, or a fresh schema on the test PostgreSQL.
pub struct TestDb {
    pub url: DbUrl,
    /// The URL as text (for the CLI).
    pub text: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::Builder::new().prefix("sync-test-").tempdir().unwrap();
        let text = format!("sqlite://{}", dir.path().join("mirror.db").display());
        TestDb { url: DbUrl::parse(&text).unwrap(), text, _dir: Some(dir) }
    }

    pub async fn postgres() -> Option<TestDb> {
        let base = postgres_url()?;
        let schema = format!("sync_test_{:016x}", rand::random::<u64>());
        // The schema is made with a plain connection (the mirror's own tables then live in it).
        {
            use sqlx::Connection;
            let mut conn = tokio::time::timeout(CONNECT_BOUND, sqlx::AnyConnection::connect(&base))
                .await
                .unwrap_or_else(|_| panic!("the test PostgreSQL did not answer within {CONNECT_BOUND:?}"))
                .expect("the test PostgreSQL is reachable");
            sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await.unwrap();
            let _ = conn.close().await;
        }
        let sep = if base.contains('?') { '&' } else { '?' };
        let text = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        Some(TestDb { url: DbUrl::parse(&text).unwrap(), text, _dir: None })
    }

    pub async fn open(&self) -> Store {
        Store::open(&self.url).await.expect("the test database opens")
    }
}

/// Runs a test body on SQLite and on PostgreSQL: `both!(name)` makes `name::sqlite` and `name::postgres`
/// from `async fn name(db: TestDb)`.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::common::init_logging();
                sqlx::any::install_default_drivers();
                $crate::common::bounded(concat!(stringify!($name), "::sqlite"), async {
                    super::$name($crate::common::TestDb::sqlite()).await;
                })
                .await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::common::init_logging();
                sqlx::any::install_default_drivers();
                $crate::common::bounded(concat!(stringify!($name), "::postgres"), async {
                    if let Some(db) = $crate::common::TestDb::postgres().await {
                        super::$name(db).await;
                    }
                })
                .await;
            }
        }
    };
}

/// The longest a test of [`both!`] may run: past it, it fails naming itself instead of hanging the run.
pub const TEST_BOUND: Duration = Duration::from_secs(120);

/// How long the test PostgreSQL gets to accept a connection.
pub const CONNECT_BOUND: Duration = Duration::from_secs(15);

/// Runs a test's body within [`TEST_BOUND`]; panics naming the test when it does not end in time.
pub async fn bounded(test: &str, body: impl std::future::Future<Output = ()>) {
    if tokio::time::timeout(TEST_BOUND, body).await.is_err() {
        panic!("{test} did not end within {TEST_BOUND:?}");
    }
}

/// Logs to the test's output when `WECOM_TEST_LOG` is set (an env-filter, e.g. `wecom_groupchat_sync=debug`).
pub fn init_logging() {
    if let Ok(filter) = std::env::var("WECOM_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

pub async fn sim() -> Simulator {
    sim_with(SimConfig::default()).await
}

pub async fn sim_with(config: SimConfig) -> Simulator {
    Simulator::start(config.transfer_settle(Duration::from_secs(3600))).await.expect("the simulator starts")
}

pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(5))
}

pub fn client(sim: &Simulator) -> Client {
    client_at(sim, &sim.base_url())
}

/// A client of `sim`'s corp that calls `base` (a proxy in front of it).
pub fn client_at(sim: &Simulator, base: &str) -> Client {
    sim.client_builder().base_url(base).retry(fast_retry()).timeout(Duration::from_secs(10)).build().unwrap()
}

pub fn options() -> SyncOptions {
    SyncOptions::default().poll(Duration::from_millis(50)).lease(Duration::from_secs(4))
}

pub async fn mirror(sim: &Simulator, db: &TestDb) -> Mirror {
    Mirror::new(db.open().await, client(sim), options()).unwrap()
}

/// Every chat id the simulator lists.
pub async fn sim_chat_ids(sim: &Simulator) -> Vec<String> {
    let mut ids: Vec<String> = client(sim)
        .list_stream(ListRequest::new(ListRequest::LIMIT_MAX))
        .map_ok(|c| c.chat_id)
        .try_collect()
        .await
        .unwrap();
    ids.sort();
    ids
}

/// The member rows the mirror should hold for a chat the simulator answers.
pub fn expected_members(chat: &GroupChat) -> Vec<MemberRow> {
    let mut rows: Vec<MemberRow> =
        chat.member_list.iter().flatten().filter_map(|m| MemberRow::from_member(&chat.chat_id, m)).collect();
    rows.sort_by(|a, b| a.userid.cmp(&b.userid));
    rows
}

/// The mirror holds exactly what the simulator answers, chat by chat and member by member (dismissed
/// chats aside: the simulator no longer answers for them; and `unlisted`, chats the mirror keeps though
/// no listing names them).
pub async fn assert_mirrors(sim: &Simulator, store: &Store, unlisted: &[&str]) {
    assert_mirrors_new(sim, store, unlisted, &[]).await;
}

/// [`assert_mirrors`], where the chats of `new` were created after the last listing: their follow-up
/// status (which only `list` tells) is not known yet.
pub async fn assert_mirrors_new(sim: &Simulator, store: &Store, unlisted: &[&str], new: &[&str]) {
    let ids = sim_chat_ids(sim).await;
    let stored: Vec<String> = {
        let mut v = Vec::new();
        for id in store.chat_ids().await.unwrap() {
            if !store.chat(&id).await.unwrap().unwrap().dismissed && !unlisted.contains(&id.as_str()) {
                v.push(id);
            }
        }
        v
    };
    assert_eq!(stored, ids, "the mirror holds the chats the simulator lists");
    for id in &ids {
        let expected = sim.group_chat(id).expect("a listed chat exists");
        let row = store.chat(id).await.unwrap().unwrap();
        assert_eq!(row.name, expected.name, "{id}: name");
        assert_eq!(row.owner, expected.owner, "{id}: owner");
        assert_eq!(row.create_time, expected.create_time, "{id}: create_time");
        assert_eq!(row.notice, expected.notice, "{id}: notice");
        assert_eq!(row.member_version, expected.member_version, "{id}: member_version");
        if new.contains(&id.as_str()) {
            assert_eq!(row.status, None, "{id}: status unknown until listed");
        } else {
            assert_eq!(row.status, sim.chat_status(id).map(i64::from), "{id}: status");
        }
        assert_eq!(
            row.admin_list,
            expected.admin_list.as_ref().map(|a| serde_json::to_value(a).unwrap()),
            "{id}: admin_list"
        );
        assert_eq!(row.raw, Some(serde_json::to_value(&expected).unwrap()), "{id}: raw");
        assert!(!row.dismissed && row.synced_at.is_some(), "{id}");
        let members = expected_members(&expected);
        assert_eq!(row.member_count, members.len() as i64, "{id}: member_count");
        assert_eq!(store.members(id).await.unwrap(), members, "{id}: members");
    }
}

/// The receive id (corp id) the tests' callbacks use.
pub const RECEIVE_ID: &str = "wwsim00000000000001";
pub const CALLBACK_TOKEN: &str = "sync-test-token";
pub const CALLBACK_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

pub fn crypto() -> CallbackCrypto {
    CallbackCrypto::new(CALLBACK_TOKEN, CALLBACK_KEY, RECEIVE_ID).unwrap()
}

/// An event sealed as WeCom seals it: (query, body) of the POST.
pub fn seal(event: ChangeExternalChat, create_time: i64) -> (String, String) {
    let xml = CallbackEvent::new(AppHeader::new(RECEIVE_ID, create_time), event).to_xml();
    let nonce = format!("{:016x}", rand::random::<u64>());
    let sealed = crypto().encrypt(&xml, &create_time.to_string(), &nonce).unwrap();
    (sealed.post_query(), sealed.post_body(RECEIVE_ID, Some("1000002")))
}

/// Delivers a sealed event to a receiver, as an HTTP adapter would.
pub async fn deliver(receiver: &Receiver, event: ChangeExternalChat, create_time: i64) -> CallbackResponse {
    let (query, body) = seal(event, create_time);
    receiver.handle("POST", &query, body.as_bytes()).await
}

/// A proxy in front of the simulator that records every `get`: how many of each chat, and the most
/// in flight at once for one chat.
#[derive(Clone, Default)]
pub struct Recorder {
    inner: Arc<Mutex<RecorderState>>,
}

#[derive(Default)]
struct RecorderState {
    in_flight: HashMap<String, usize>,
    max_in_flight: BTreeMap<String, usize>,
    gets: Vec<String>,
    /// `list` calls so far.
    lists: usize,
    /// The owner filter of each `list` call, in order (`None`: none given).
    owner_filters: Vec<Option<Vec<String>>>,
    /// The `list` call (1-based) to answer with an error WeCom does not retry, if any.
    fail_list: Option<usize>,
}

impl Recorder {
    /// Every chat id fetched, in order.
    pub fn gets(&self) -> Vec<String> {
        self.inner.lock().unwrap().gets.clone()
    }

    /// Chats that were fetched by two callers at the same time.
    pub fn overlapping(&self) -> Vec<String> {
        self.inner.lock().unwrap().max_in_flight.iter().filter(|(_, n)| **n > 1).map(|(c, _)| c.clone()).collect()
    }

    /// How many times each chat was fetched.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for id in self.gets() {
            *counts.entry(id).or_default() += 1;
        }
        counts
    }

    /// `list` calls so far.
    pub fn lists(&self) -> usize {
        self.inner.lock().unwrap().lists
    }

    /// The owner filter of each `list` call so far, in order (`None` for a call without one).
    pub fn owner_filters(&self) -> Vec<Option<Vec<String>>> {
        self.inner.lock().unwrap().owner_filters.clone()
    }

    /// Answers the `n`-th `list` call (counting from 1) with an errcode the client does not retry.
    pub fn fail_list_call(&self, n: usize) {
        self.inner.lock().unwrap().fail_list = Some(n);
    }

    pub fn clear(&self) {
        let mut s = self.inner.lock().unwrap();
        s.gets.clear();
        s.owner_filters.clear();
        s.max_in_flight.clear();
    }
}

/// Starts the recording proxy for `sim`; returns its base URL. Each `get` is held `hold` before it is
/// forwarded, so that calls overlap when they can.
pub async fn recording_proxy(sim: &Simulator, recorder: Recorder, hold: Duration) -> String {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{StatusCode, Uri};
    use axum::response::IntoResponse;

    #[derive(Clone)]
    struct Proxy {
        target: String,
        http: reqwest::Client,
        recorder: Recorder,
        hold: Duration,
        get_path: &'static str,
        list_path: &'static str,
    }

    async fn forward(
        State(p): State<Proxy>,
        method: axum::http::Method,
        uri: Uri,
        body: Bytes,
    ) -> axum::response::Response {
        let chat = if uri.path() == p.get_path {
            serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["chat_id"].as_str().map(str::to_string))
        } else {
            None
        };
        if let Some(chat) = &chat {
            let mut s = p.recorder.inner.lock().unwrap();
            s.gets.push(chat.clone());
            let n = s.in_flight.entry(chat.clone()).or_default();
            *n += 1;
            let n = *n;
            let max = s.max_in_flight.entry(chat.clone()).or_default();
            *max = (*max).max(n);
        }
        if chat.is_some() {
            tokio::time::sleep(p.hold).await;
        }
        if uri.path() == p.list_path {
            let fail = {
                let filter = serde_json::from_slice::<serde_json::Value>(&body).ok().and_then(|v| {
                    v["owner_filter"]["userid_list"].as_array().map(|ids| {
                        ids.iter().map(|id| id.as_str().unwrap_or_default().to_string()).collect::<Vec<String>>()
                    })
                });
                let mut s = p.recorder.inner.lock().unwrap();
                s.lists += 1;
                s.owner_filters.push(filter);
                s.fail_list == Some(s.lists)
            };
            if fail {
                let body =
                    serde_json::json!({"errcode": wecom_groupchat::codes::CHAT_IDS_NOT_UPGRADED, "errmsg": "injected"});
                return (StatusCode::OK, [(axum::http::header::CONTENT_TYPE, "application/json")], body.to_string())
                    .into_response();
            }
        }
        let url = format!("{}{}", p.target, uri.path_and_query().map(|x| x.as_str()).unwrap_or("/"));
        let answer = p.http.request(method, url).body(body).send().await;
        if let Some(chat) = &chat {
            let mut s = p.recorder.inner.lock().unwrap();
            if let Some(n) = s.in_flight.get_mut(chat) {
                *n -= 1;
            }
        }
        match answer {
            Ok(a) => {
                let status = StatusCode::from_u16(a.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
                let bytes = a.bytes().await.unwrap_or_default();
                (status, [(axum::http::header::CONTENT_TYPE, "application/json")], bytes).into_response()
            }
            Err(_) => StatusCode::BAD_GATEWAY.into_response(),
        }
    }

    let proxy = Proxy {
        target: sim.base_url(),
        http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        recorder,
        hold,
        get_path: wecom_groupchat::endpoints::by_name("get").unwrap().path,
        list_path: wecom_groupchat::endpoints::by_name("list").unwrap().path,
    };
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

/// Polls `check` every 20 ms for at most `within`; panics with `what` when it never holds.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "never happened within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
