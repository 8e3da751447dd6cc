//! (11) Mirror: the `wecom-groupchat-sync` crate keeping every chat and member in SQLite and in
//! PostgreSQL. (Section 3, "full sync", is the API client's export; this one is the mirror's.)
//!
//! - **Reconcile** of a company of N chats × M members into an empty database, with the simulator
//!   answering 45009 beyond the documented per-minute limit scaled to the run (count ÷ 5, time ÷ 10:
//!   2,000 calls per 6 s) and the client's limiter set to the same: the `get` rate over the whole run
//!   (listing and queueing included) as a share of the limit, and the database time per chat.
//! - **Event → row latency**: the simulator pushes events (signed, encrypted, over HTTP) at a steady
//!   rate the `get` budget serves with room to spare — half of them joins (each needs a `get`), half
//!   departures (applied from the event by member version) — each on a chat of its own; from the change
//!   in the simulator to the committed row (the mirror's change notification).
//! - **`get` calls saved**: bursts of five events per chat (two joins, a departure, a rename, a notice):
//!   the `get`s the mirror made against one per event.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::runtime::Runtime;
use wecom_groupchat::budget::{BudgetOptions, MemoryBudget};
use wecom_groupchat::callback::{CallbackCrypto, Receiver};
use wecom_groupchat::ratelimit::{RateLimits, Window};
use wecom_groupchat::types::MemberType;

use crate::sync::scaled_margin;
use wecom_groupchat_sim::{CallbackTarget, DataSource, Faults, RateLimitRule, Scale, SimConfig, Simulator};
use wecom_groupchat_sync::{ChangeKind, DbUrl, Mirror, Store, SyncOptions};

use crate::host::SimHost;
use crate::stats::Summary;

/// The shapes of the three measurements.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Chats in the company.
    pub groups: usize,
    /// Members of each chat.
    pub members: usize,
    /// Calls per window per endpoint (server and client alike).
    pub calls: u32,
    /// The window.
    pub window: Duration,
    /// Latency the server adds to every call.
    pub latency: Duration,
    /// `get` calls in flight in the mirror.
    pub concurrency: usize,
    /// Events per second in the latency measurement.
    pub event_rate: u32,
    /// Its length.
    pub event_time: Duration,
    /// Chats with a burst of five events each, in the savings measurement.
    pub burst_chats: usize,
}

impl Plan {
    /// 10,000 chats × 20 members at 2,000 calls per 6 s (the documented 10,000 a minute, count ÷ 5 and
    /// time ÷ 10, so the run takes about 30 s), 20 ms latency; 100 events/s for 20 s; 200 bursts. Quick:
    /// 300 chats at 200 calls per second.
    pub fn new(quick: bool) -> Self {
        if quick {
            Plan {
                groups: 300,
                members: 20,
                calls: 200,
                window: Duration::from_secs(1),
                latency: Duration::from_millis(20),
                concurrency: 32,
                event_rate: 20,
                event_time: Duration::from_secs(3),
                burst_chats: 20,
            }
        } else {
            Plan {
                groups: 10_000,
                members: 20,
                calls: 2_000,
                window: Duration::from_secs(6),
                latency: Duration::from_millis(20),
                concurrency: 32,
                event_rate: 100,
                event_time: Duration::from_secs(20),
                burst_chats: 200,
            }
        }
    }

    /// The limit in calls per second.
    pub fn limit_per_s(&self) -> f64 {
        f64::from(self.calls) / self.window.as_secs_f64()
    }

    fn events(&self) -> usize {
        (f64::from(self.event_rate) * self.event_time.as_secs_f64()) as usize
    }
}

/// One reconcile into an empty database.
#[derive(Debug, Clone)]
pub struct ReconcileRow {
    /// `SQLite` or `PostgreSQL`.
    pub backend: &'static str,
    /// List, queue, every `get`, every store.
    pub wall: Duration,
    /// Chats listed.
    pub listed: i64,
    /// Chats fetched and stored.
    pub fetched: i64,
    /// Chats still failing at the end.
    pub failed: i64,
    /// Member rows at the end.
    pub members: i64,
    /// `get` calls per second over the whole run.
    pub get_rate: f64,
    /// `get_rate` as a share of the limit.
    pub share: f64,
    /// 45009 answers the simulator gave.
    pub rate_limited: u64,
    /// Mean time of one chat's store transaction, BEGIN to COMMIT.
    pub store_per_chat: Duration,
    /// The same with the wait for a connection.
    pub store_with_wait: Duration,
    /// All store transactions together (BEGIN to COMMIT), as a share of the wall time.
    pub store_share: f64,
}

/// Event → row latency.
#[derive(Debug, Clone)]
pub struct LatencyRow {
    /// `SQLite` or `PostgreSQL`.
    pub backend: &'static str,
    /// Events sent.
    pub events: usize,
    /// The rate they were sent at.
    pub rate: u32,
    /// Every event.
    pub all: Option<Summary>,
    /// Joins: stored, queued, fetched, stored.
    pub via_get: Option<Summary>,
    /// Departures: applied from the event.
    pub direct: Option<Summary>,
    /// Events whose row never changed within the wait.
    pub missing: usize,
    /// `get` calls the mirror made for them.
    pub gets: u64,
    /// Events that needed no `get` (member versions).
    pub without_get: u64,
}

/// `get` calls saved.
#[derive(Debug, Clone)]
pub struct SavingsRow {
    /// `SQLite` or `PostgreSQL`.
    pub backend: &'static str,
    /// Events stored.
    pub events: u64,
    /// `get` calls the mirror made for them.
    pub gets: u64,
    /// Events that needed no `get` (member versions: applied or already in the rows).
    pub without_get: u64,
    /// Whether the mirror then equals the simulator for those chats.
    pub converged: bool,
}

/// The section's figures.
#[derive(Debug, Clone)]
pub struct MirrorResult {
    /// The plan.
    pub plan: Plan,
    /// One row per engine.
    pub reconcile: Vec<ReconcileRow>,
    /// One row per engine.
    pub latency: Vec<LatencyRow>,
    /// One row per engine.
    pub savings: Vec<SavingsRow>,
    /// Why PostgreSQL was not measured, when it was not.
    pub postgres_skipped: Option<String>,
    /// Where PostgreSQL came from.
    pub postgres_source: Option<String>,
}

const TOKEN: &str = "bench-callback-token";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

/// A PostgreSQL for the run: `WECOM_BENCH_POSTGRES_URL`, or a throwaway durable cluster started with
/// `.ci/postgres start --durable` (stopped when dropped).
struct Postgres {
    url: String,
    dir: Option<String>,
    root: std::path::PathBuf,
}

impl Postgres {
    fn get(root: &Path) -> Result<Postgres, String> {
        if let Ok(url) = std::env::var("WECOM_BENCH_POSTGRES_URL")
            && !url.is_empty()
        {
            return Ok(Postgres { url, dir: None, root: root.to_path_buf() });
        }
        let out = std::process::Command::new("bash")
            .arg(root.join(".ci/postgres"))
            .args(["start", "--durable"])
            .output()
            .map_err(|e| format!("cannot run .ci/postgres: {e}"))?;
        if !out.status.success() {
            return Err(format!("`.ci/postgres start` failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().last().unwrap_or_default();
        let (url, dir) = line.split_once(' ').ok_or_else(|| format!("`.ci/postgres start` said: {line}"))?;
        Ok(Postgres { url: url.into(), dir: Some(dir.into()), root: root.to_path_buf() })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::process::Command::new("bash").arg(self.root.join(".ci/postgres")).args(["stop", dir]).status();
        }
    }
}

/// Where the PostgreSQL half's database comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostgresFrom {
    /// `WECOM_BENCH_POSTGRES_URL`, else a throwaway cluster (`.ci/postgres start --durable`).
    Auto,
    /// This server (a schema of the run's own is made on it, and dropped after).
    Url(String),
    /// Not measured, for this reason.
    Skip(String),
}

/// Runs the three measurements on SQLite, then on PostgreSQL.
pub fn run(rt: &Runtime, sim_threads: usize, root: &Path, plan: Plan) -> Result<MirrorResult, String> {
    run_with(rt, sim_threads, root, plan, PostgresFrom::Auto)
}

/// [`run`], with the PostgreSQL half's database from `postgres`.
pub fn run_with(
    rt: &Runtime,
    sim_threads: usize,
    root: &Path,
    plan: Plan,
    postgres: PostgresFrom,
) -> Result<MirrorResult, String> {
    let mut result = MirrorResult {
        plan,
        reconcile: Vec::new(),
        latency: Vec::new(),
        savings: Vec::new(),
        postgres_skipped: None,
        postgres_source: None,
    };
    let dir = tempfile_dir()?;
    let sqlite = format!("sqlite://{}", dir.join("mirror.db").display());
    let outcome = backend(rt, sim_threads, plan, "SQLite", &sqlite, &mut result);
    let _ = std::fs::remove_dir_all(&dir);
    outcome?;
    let (pg, given) = match postgres {
        PostgresFrom::Auto => (Postgres::get(root), false),
        PostgresFrom::Url(url) => (Ok(Postgres { url, dir: None, root: root.to_path_buf() }), true),
        PostgresFrom::Skip(reason) => (Err(reason), false),
    };
    match pg {
        Ok(pg) => {
            result.postgres_source = Some(if pg.dir.is_some() {
                "a throwaway cluster (`.ci/postgres start --durable`: default durability, fsync on)".into()
            } else if given {
                "a server given to the run".into()
            } else {
                "WECOM_BENCH_POSTGRES_URL".into()
            });
            let schema = format!("bench_{:08x}", std::process::id());
            let url = with_schema(rt, &pg.url, &schema)?;
            let outcome = backend(rt, sim_threads, plan, "PostgreSQL", &url, &mut result);
            let _ = drop_schema(rt, &pg.url, &schema);
            outcome?;
        }
        Err(e) => result.postgres_skipped = Some(e),
    }
    Ok(result)
}

/// A fresh directory for the SQLite file, under the system's temporary directory (on disk: `TMPDIR`).
fn tempfile_dir() -> Result<std::path::PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("wecom-bench-mirror-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

fn with_schema(rt: &Runtime, base: &str, schema: &str) -> Result<String, String> {
    rt.block_on(async {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(base).await.map_err(|e| format!("PostgreSQL: {e}"))?;
        sqlx::query(&format!("CREATE SCHEMA {schema}")).execute(&mut conn).await.map_err(|e| e.to_string())?;
        let _ = conn.close().await;
        Ok::<(), String>(())
    })?;
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options=-c%20search_path%3D{schema}"))
}

fn drop_schema(rt: &Runtime, base: &str, schema: &str) -> Result<(), String> {
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::AnyConnection::connect(base).await.map_err(|e| e.to_string())?;
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE")).execute(&mut conn).await.map_err(|e| e.to_string())?;
        let _ = conn.close().await;
        Ok(())
    })
}

fn backend(
    rt: &Runtime,
    sim_threads: usize,
    plan: Plan,
    name: &'static str,
    url: &str,
    result: &mut MirrorResult,
) -> Result<(), String> {
    eprintln!("   mirror on {name}");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| format!("cannot listen for callbacks: {e}"))?;
    let callback = format!("http://{}/callback", listener.local_addr().map_err(|e| e.to_string())?);
    let faults = Faults::default().latency(plan.latency).rate_limit(RateLimitRule::new(plan.calls, plan.window));
    let scale = Scale::groups(plan.groups).members_per_group(plan.members);
    let config = SimConfig::default()
        .data(DataSource::Scale(scale))
        .faults(faults)
        .callback(CallbackTarget::new(callback, TOKEN, KEY));
    let host = SimHost::start(config, sim_threads)?;
    let sim = host.sim();
    // The budget's margin scaled with the compressed window, as in (3).
    let budget = MemoryBudget::new(BudgetOptions { margin: scaled_margin(plan.window), ..BudgetOptions::default() })
        .map_err(|e| e.to_string())?;
    let client = host
        .client_builder()
        .rate_limits(RateLimits::uniform([Window::new(plan.calls, plan.window)]))
        .rate_budget(Arc::new(budget))
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let db = DbUrl::parse(url).map_err(|e| e.to_string())?;
        let store = Store::open_with(&db, u32::try_from(plan.concurrency).unwrap_or(32) + 8)
            .await
            .map_err(|e| e.to_string())?;
        client.access_token().await.map_err(|e| e.to_string())?;
        let options = SyncOptions::default().concurrency(plan.concurrency).poll(Duration::from_millis(200));
        let mirror = Mirror::new(store, client, options).map_err(|e| e.to_string())?;

        // 1. Reconcile.
        sim.reset_stats();
        let started = Instant::now();
        let report = mirror.reconcile().await.map_err(|e| e.to_string())?;
        let wall = started.elapsed();
        let progress = mirror.progress();
        let status = mirror.store().status(3).await.map_err(|e| e.to_string())?;
        let get_rate = report.run.fetched as f64 / wall.as_secs_f64();
        result.reconcile.push(ReconcileRow {
            backend: name,
            wall,
            listed: report.run.listed,
            fetched: report.run.fetched,
            failed: report.run.failed,
            members: status.members,
            get_rate,
            share: get_rate / plan.limit_per_s(),
            rate_limited: sim.stats().rate_limited,
            store_per_chat: progress.store_time / u32::try_from(progress.stores.max(1)).unwrap_or(u32::MAX),
            store_with_wait: progress.store_time_with_wait / u32::try_from(progress.stores.max(1)).unwrap_or(u32::MAX),
            store_share: progress.store_time.as_secs_f64() / wall.as_secs_f64(),
        });

        // The receiver and a worker, for the events.
        let app = wecom_groupchat::callback::axum::router(
            Receiver::new(
                CallbackCrypto::new(TOKEN, KEY, sim.corp_id()).map_err(|e| e.to_string())?,
                mirror.callback_handler(),
            ),
            "/callback",
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn({
            let mirror = mirror.clone();
            async move {
                mirror
                    .work(async move {
                        let _ = stop_rx.wait_for(|s| *s).await;
                    })
                    .await
            }
        });
        let ids = mirror.store().chat_ids().await.map_err(|e| e.to_string())?;
        let outcome = async {
            result.latency.push(latency(sim, &mirror, &ids, plan, name).await?);
            let offset = plan.events();
            result.savings.push(savings(sim, &mirror, &ids[offset..], plan, name).await?);
            Ok::<(), String>(())
        }
        .await;
        let _ = stop_tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(60), worker).await;
        server.abort();
        mirror.store().close().await;
        outcome
    })
}

/// An external member of a chat, as the simulator answers it.
fn external_member(sim: &Simulator, chat: &str) -> Option<String> {
    sim.group_chat(chat)?.member_list?.into_iter().find(|m| m.member_type == Some(MemberType::External))?.userid
}

/// A control call to the simulator (what people do in the WeCom app).
async fn act(
    http: &reqwest::Client,
    sim: &Simulator,
    chat: &str,
    what: &str,
    body: serde_json::Value,
) -> Result<(), String> {
    let answer = http
        .post(format!("{}/__sim/chats/{chat}/{what}", sim.base_url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("control path: {e}"))?;
    if answer.status().is_success() { Ok(()) } else { Err(format!("control path {what}: {}", answer.status())) }
}

/// When each chat's row first changed, and how.
type FirstChanges = Arc<Mutex<HashMap<String, (Instant, ChangeKind)>>>;

/// The time each chat's row first changed, from the mirror's change notifications.
fn record_changes(mirror: &Mirror) -> (FirstChanges, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(HashMap::new()));
    let mut changes = mirror.subscribe();
    let task = tokio::spawn({
        let seen = seen.clone();
        async move {
            loop {
                match changes.recv().await {
                    Ok(change) => {
                        let now = Instant::now();
                        seen.lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .entry(change.chat_id)
                            .or_insert((now, change.kind));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => return,
                }
            }
        }
    });
    (seen, task)
}

async fn latency(
    sim: &Simulator,
    mirror: &Mirror,
    ids: &[String],
    plan: Plan,
    name: &'static str,
) -> Result<LatencyRow, String> {
    let n = plan.events().min(ids.len());
    let http = reqwest::Client::new();
    let (seen, recorder) = record_changes(mirror);
    let (before, gets_before) = (mirror.progress(), sim.calls("get"));
    let mut sent = Vec::with_capacity(n);
    let start = tokio::time::Instant::now();
    let gap = Duration::from_secs_f64(1.0 / f64::from(plan.event_rate.max(1)));
    for (i, chat) in ids[..n].iter().enumerate() {
        tokio::time::sleep_until(start + gap * u32::try_from(i).unwrap_or(u32::MAX)).await;
        let at = Instant::now();
        let joins = i % 2 == 0;
        if joins {
            act(&http, sim, chat, "join", json!({"members": [format!("wmBenchJoin{i}")]})).await?;
        } else {
            let member = external_member(sim, chat).ok_or("a chat without an external member")?;
            act(&http, sim, chat, "quit", json!({"userids": [member]})).await?;
        }
        sent.push((chat.clone(), at, joins));
    }
    let _ = tokio::time::timeout(Duration::from_secs(60), sim.callbacks_idle()).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let done = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len();
        if done >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    recorder.abort();
    let after = mirror.progress();
    let seen = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    let (mut all, mut via_get, mut direct, mut missing) = (Vec::new(), Vec::new(), Vec::new(), 0);
    for (chat, at, joins) in &sent {
        match seen.get(chat) {
            Some((when, _)) => {
                let d = when.saturating_duration_since(*at);
                all.push(d);
                if *joins { via_get.push(d) } else { direct.push(d) }
            }
            None => missing += 1,
        }
    }
    Ok(LatencyRow {
        backend: name,
        events: n,
        rate: plan.event_rate,
        all: Summary::of(&mut all),
        via_get: Summary::of(&mut via_get),
        direct: Summary::of(&mut direct),
        missing,
        gets: sim.calls("get") - gets_before,
        without_get: after.events_without_get - before.events_without_get,
    })
}

async fn savings(
    sim: &Simulator,
    mirror: &Mirror,
    ids: &[String],
    plan: Plan,
    name: &'static str,
) -> Result<SavingsRow, String> {
    let chats = &ids[..plan.burst_chats.min(ids.len())];
    let http = reqwest::Client::new();
    let before = mirror.progress();
    let gets_before = sim.calls("get");
    for (i, chat) in chats.iter().enumerate() {
        let member = external_member(sim, chat).ok_or("a chat without an external member")?;
        act(&http, sim, chat, "join", json!({"members": [format!("wmBurstA{i}")]})).await?;
        act(&http, sim, chat, "join", json!({"members": [format!("wmBurstB{i}")]})).await?;
        act(&http, sim, chat, "quit", json!({"userids": [member]})).await?;
        act(&http, sim, chat, "rename", json!({"name": format!("burst {i}")})).await?;
        act(&http, sim, chat, "notice", json!({"notice": format!("burst notice {i}")})).await?;
    }
    let _ = tokio::time::timeout(Duration::from_secs(60), sim.callbacks_idle()).await;
    let store = mirror.store();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline && store.status(3).await.map(|s| s.queued).unwrap_or(1) > 0 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = mirror.progress();
    let mut converged = true;
    for chat in chats {
        let row = store.chat(chat).await.map_err(|e| e.to_string())?;
        let expected = sim.group_chat(chat);
        let members = store.members(chat).await.map_err(|e| e.to_string())?.len();
        converged &= match (row, expected) {
            (Some(row), Some(expected)) => {
                row.name == expected.name
                    && row.notice == expected.notice
                    && row.member_version == expected.member_version
                    && members == expected.member_list.map_or(0, |m| m.len())
            }
            _ => false,
        };
    }
    Ok(SavingsRow {
        backend: name,
        events: after.events - before.events,
        gets: sim.calls("get") - gets_before,
        without_get: after.events_without_get - before.events_without_get,
        converged,
    })
}
