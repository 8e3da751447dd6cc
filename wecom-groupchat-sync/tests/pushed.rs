//! The mirror serving: the simulator pushes signed events (as WeCom does) for what people do in the WeCom
//! app, the mirror's receiver stores and applies them, its worker fetches what they queue. Each test on an
//! SQLite file and on PostgreSQL.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::Row;
use tokio::net::TcpListener;
use tokio::sync::watch;
use wecom_groupchat::callback::Receiver;
use wecom_groupchat::types::MemberType;
use wecom_groupchat_sim::{AttemptOutcome, CallbackFaults, CallbackTarget, SimConfig, Simulator};
use wecom_groupchat_sync::{Mirror, Store};

use crate::common::*;

/// A mirror serving: its receiver on 127.0.0.1, its worker and scheduler running until `stop`.
struct Serving {
    mirror: Mirror,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), wecom_groupchat_sync::SyncError>>,
}

impl Serving {
    async fn start(mirror: Mirror, listener: TcpListener) -> Serving {
        Self::start_every(mirror, listener, None).await
    }

    /// [`Serving::start`] with a reconcile every `every` (besides the one at start).
    async fn start_every(mirror: Mirror, listener: TcpListener, every: Option<Duration>) -> Serving {
        let app =
            wecom_groupchat::callback::axum::router(Receiver::new(crypto(), mirror.callback_handler()), "/callback");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self::work_every(mirror, every)
    }

    fn work(mirror: Mirror) -> Serving {
        Self::work_every(mirror, None)
    }

    /// Serving with a reconcile every `every` (besides the one at start).
    fn work_every(mirror: Mirror, every: Option<Duration>) -> Serving {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn({
            let mirror = mirror.clone();
            async move {
                mirror
                    .serve(every, async move {
                        let _ = stopped.wait_for(|s| *s).await;
                    })
                    .await
            }
        });
        Serving { mirror, stop, task }
    }

    async fn stop(self) -> Mirror {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(60), self.task).await.expect("serve stops").unwrap().unwrap();
        self.mirror
    }
}

async fn listener() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callback", listener.local_addr().unwrap());
    (listener, url)
}

async fn pushing_sim(url: &str) -> Simulator {
    let target = CallbackTarget::new(url, CALLBACK_TOKEN, CALLBACK_KEY).timeout(Duration::from_secs(3));
    sim_with(SimConfig::default().callback(target)).await
}

/// A control call to the simulator (what people do in the WeCom app).
async fn act(sim: &Simulator, path: &str, body: Value) -> Value {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let answer = http
        .post(format!("{}/__sim{path}", sim.base_url()))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{path}");
    serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap()
}

/// Every event delivered and every chat it queued fetched.
async fn settled(sim: &Simulator, store: &Store) {
    tokio::time::timeout(Duration::from_secs(60), sim.callbacks_idle()).await.expect("deliveries end");
    eventually(Duration::from_secs(60), "the queue is empty", || async {
        sqlx::query("SELECT COUNT(*) FROM sync_queue")
            .fetch_one(store.pool())
            .await
            .unwrap()
            .try_get::<i64, _>(0)
            .unwrap()
            == 0
    })
    .await;
}

async fn first_run_done(store: &Store) {
    eventually(Duration::from_secs(60), "the first reconcile finished", || async {
        store.last_run().await.unwrap().is_some_and(|r| r.finished_at.is_some())
    })
    .await;
}

fn external_members(sim: &Simulator, chat: &str) -> Vec<String> {
    sim.group_chat(chat)
        .unwrap()
        .member_list
        .unwrap()
        .into_iter()
        .filter(|m| m.member_type == Some(MemberType::External))
        .filter_map(|m| m.userid)
        .collect()
}

async fn every_change_pushed_by_the_simulator_reaches_the_rows(db: TestDb) {
    let (listener, url) = listener().await;
    let sim = pushing_sim(&url).await;
    let serving = Serving::start(mirror(&sim, &db).await, listener).await;
    let store = serving.mirror.store().clone();
    first_run_done(&store).await;
    assert_mirrors(&sim, &store, &[]).await;

    let hints = sim.hints();
    let owner = hints.active_owners[0].userid.clone();
    let ids = sim_chat_ids(&sim).await;
    let [c1, c2, c3, c4, c5] = [&ids[10], &ids[11], &ids[12], &ids[13], &ids[14]];
    let created =
        act(&sim, "/chats", json!({"owner": owner, "name": "新品体验群", "members": ["wmNewOne", "wmNewTwo"]})).await;
    let new_chat = created["chat_id"].as_str().unwrap().to_string();
    act(
        &sim,
        &format!("/chats/{c1}/join"),
        json!({"members": [{"userid": "wmJoinedByQr", "type": 2, "join_scene": 3}]}),
    )
    .await;
    let leaving = external_members(&sim, c2)[0].clone();
    act(&sim, &format!("/chats/{c2}/quit"), json!({"userids": [leaving], "quit_scene": 1})).await;
    act(&sim, &format!("/chats/{c3}/rename"), json!({"name": "改名后的群"})).await;
    act(&sim, &format!("/chats/{c3}/notice"), json!({"notice": "新公告"})).await;
    act(&sim, &format!("/chats/{c4}/owner"), json!({"new_owner": hints.eligible_new_owners[1]})).await;
    act(&sim, &format!("/chats/{c5}/dismiss"), json!({})).await;
    settled(&sim, &store).await;

    assert_mirrors_new(&sim, &store, &[], &[new_chat.as_str()]).await;
    assert_eq!(store.chat(&new_chat).await.unwrap().unwrap().name.as_deref(), Some("新品体验群"));
    assert!(store.chat(c5).await.unwrap().unwrap().dismissed);
    let outcomes: Vec<(String, String)> =
        sqlx::query("SELECT update_detail, outcome FROM sync_event WHERE chat_id IN ($1, $2) ORDER BY id")
            .bind(c2.as_str())
            .bind(c5.as_str())
            .fetch_all(store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.try_get::<Option<String>, _>(0).unwrap().unwrap_or_default(), r.try_get(1).unwrap()))
            .collect();
    assert_eq!(outcomes, [("del_member".into(), "applied".into()), (String::new(), "dismissed".into())]);
    let mirror = serving.stop().await;
    let events = mirror.progress();
    assert_eq!(events.events, 7);
    assert_eq!(events.events_without_get, 2, "the departure and the dismissal needed no get");
    // The next listing tells the new chat's follow-up status.
    mirror.reconcile().await.unwrap();
    assert_mirrors(&sim, mirror.store(), &[]).await;
}
both!(every_change_pushed_by_the_simulator_reaches_the_rows);

async fn duplicated_dropped_and_reordered_deliveries_converge_after_the_next_reconcile(db: TestDb) {
    let (listener, url) = listener().await;
    let sim = pushing_sim(&url).await;
    let serving = Serving::start(mirror(&sim, &db).await, listener).await;
    let store = serving.mirror.store().clone();
    first_run_done(&store).await;
    let faults = CallbackFaults::none().duplicate(0.3).drop_events(0.25).reorder(0.5);
    sim.set_callback_faults(faults).unwrap();

    let ids = sim_chat_ids(&sim).await;
    for (i, chat) in ids[20..28].iter().enumerate() {
        act(&sim, &format!("/chats/{chat}/join"), json!({"members": [format!("wmFaultA{i}")]})).await;
        act(&sim, &format!("/chats/{chat}/join"), json!({"members": [format!("wmFaultB{i}"), format!("wmFaultC{i}")]}))
            .await;
        let leaving = external_members(&sim, chat)[0].clone();
        act(&sim, &format!("/chats/{chat}/quit"), json!({"userids": [leaving]})).await;
        act(&sim, &format!("/chats/{chat}/rename"), json!({"name": format!("群 {i}")})).await;
        act(&sim, &format!("/chats/{chat}/notice"), json!({"notice": format!("公告 {i}")})).await;
    }
    settled(&sim, &store).await;

    let attempts = sim.callback_attempts();
    let dropped = attempts.iter().filter(|a| a.outcome == AttemptOutcome::Dropped).count();
    let duplicated = attempts.iter().filter(|a| a.copy == 2 && a.outcome == AttemptOutcome::Delivered).count();
    assert!(dropped > 0 && duplicated > 0, "the faults happened: {dropped} dropped, {duplicated} duplicated");
    // Reordered: some chat's event went out (first copy, first attempt, or its drop) after a later one of
    // the same chat.
    let mut last_of_chat: std::collections::HashMap<&str, u64> = std::collections::HashMap::new();
    let mut reordered = 0;
    let mut first_tries: Vec<_> = attempts.iter().filter(|a| a.copy == 1 && a.attempt <= 1).collect();
    first_tries.sort_by_key(|a| a.seq);
    for a in first_tries {
        let last = last_of_chat.entry(a.chat_id.as_str()).or_default();
        if a.chat_seq < *last {
            reordered += 1;
        }
        *last = (*last).max(a.chat_seq);
    }
    assert!(reordered > 0, "the faults happened: no event went out after a later one of its chat");
    let delivered: HashSet<u64> =
        attempts.iter().filter(|a| a.outcome == AttemptOutcome::Delivered).map(|a| a.event_id).collect();
    let stored = sqlx::query("SELECT COUNT(*) FROM sync_event")
        .fetch_one(store.pool())
        .await
        .unwrap()
        .try_get::<i64, _>(0)
        .unwrap();
    assert_eq!(stored as usize, delivered.len(), "each delivered event stored once, duplicates recognised");

    let mirror = serving.stop().await;
    mirror.reconcile().await.unwrap();
    assert_mirrors(&sim, mirror.store(), &[]).await;
}
both!(duplicated_dropped_and_reordered_deliveries_converge_after_the_next_reconcile);

async fn a_periodic_reconcile_brings_what_no_event_told(db: TestDb) {
    let every = Duration::from_secs(2);
    let (listener, url) = listener().await;
    let sim = pushing_sim(&url).await;
    let serving = Serving::start_every(mirror(&sim, &db).await, listener, Some(every)).await;
    let store = serving.mirror.store().clone();
    first_run_done(&store).await;
    let first = store.last_run().await.unwrap().unwrap();

    // Changes whose events never come: every delivery is dropped.
    sim.set_callback_faults(CallbackFaults::none().drop_events(1.0)).unwrap();
    let ids = sim_chat_ids(&sim).await;
    let (renamed, left) = (&ids[30], &ids[31]);
    act(&sim, &format!("/chats/{renamed}/rename"), json!({"name": "无人告知的新名字"})).await;
    let leaving = external_members(&sim, left)[0].clone();
    act(&sim, &format!("/chats/{left}/quit"), json!({"userids": [leaving]})).await;
    tokio::time::timeout(Duration::from_secs(60), sim.callbacks_idle()).await.expect("deliveries end");
    let changed_at = wecom_groupchat::time::now_unix();
    let attempts = sim.callback_attempts();
    assert!(!attempts.is_empty() && attempts.iter().all(|a| a.outcome == AttemptOutcome::Dropped), "{attempts:?}");
    assert_ne!(store.chat(renamed).await.unwrap().unwrap().name.as_deref(), Some("无人告知的新名字"));

    // A later run, started by the schedule alone, finds them.
    eventually(Duration::from_secs(60), "a reconcile started after the changes finished", || async {
        store.last_run().await.unwrap().is_some_and(|r| r.started_at > changed_at && r.finished_at.is_some())
    })
    .await;
    let later = store.last_run().await.unwrap().unwrap();
    assert!(later.id > first.id, "a second run: {first:?} then {later:?}");
    assert!(later.started_at >= first.started_at + i64::try_from(every.as_secs()).unwrap(), "{first:?} {later:?}");
    assert_eq!(store.chat(renamed).await.unwrap().unwrap().name.as_deref(), Some("无人告知的新名字"));
    assert_eq!(store.members(left).await.unwrap(), expected_members(&sim.group_chat(left).unwrap()));
    let mirror = serving.stop().await;
    assert_mirrors(&sim, mirror.store(), &[]).await;
}
both!(a_periodic_reconcile_brings_what_no_event_told);

async fn two_instances_behind_a_load_balancer_share_the_events_and_the_queue(db: TestDb) {
    let (listener, url) = listener().await;
    let sim = pushing_sim(&url).await;
    let recorder = Recorder::default();
    let api = recording_proxy(&sim, recorder.clone(), Duration::from_millis(5)).await;
    let instance =
        async |name: &str| Mirror::new(db.open().await, client_at(&sim, &api), options().worker_id(name)).unwrap();
    let (a, b) = (instance("a").await, instance("b").await);
    // The load balancer: deliveries go to the two instances in turn.
    let receivers = [Receiver::new(crypto(), a.callback_handler()), Receiver::new(crypto(), b.callback_handler())];
    let turn = Arc::new(AtomicUsize::new(0));
    let balancer = axum::Router::new().route(
        "/callback",
        axum::routing::post({
            let receivers = receivers.clone();
            let turn = turn.clone();
            move |uri: axum::http::Uri, body: axum::body::Bytes| {
                let receiver = receivers[turn.fetch_add(1, Ordering::SeqCst) % 2].clone();
                async move {
                    let answer = receiver.handle("POST", uri.query().unwrap_or(""), &body).await;
                    (axum::http::StatusCode::from_u16(answer.status).unwrap(), answer.body)
                }
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, balancer).await;
    });
    let (sa, sb) = (Serving::work(a), Serving::work(b));
    first_run_done(sa.mirror.store()).await;

    let ids = sim_chat_ids(&sim).await;
    for (i, chat) in ids[40..52].iter().enumerate() {
        act(&sim, &format!("/chats/{chat}/join"), json!({"members": [format!("wmLb{i}")]})).await;
        act(&sim, &format!("/chats/{chat}/rename"), json!({"name": format!("LB {i}")})).await;
    }
    settled(&sim, sa.mirror.store()).await;
    assert!(turn.load(Ordering::SeqCst) >= 24, "both instances received deliveries");
    let (a, b) = (sa.stop().await, sb.stop().await);
    assert!(a.progress().events > 0 && b.progress().events > 0, "{:?} {:?}", a.progress(), b.progress());
    assert!(a.progress().fetched > 0 && b.progress().fetched > 0, "both fetched");
    assert_eq!(recorder.overlapping(), Vec::<String>::new(), "no chat fetched by both at once");
    assert_mirrors(&sim, a.store(), &[]).await;
}
both!(two_instances_behind_a_load_balancer_share_the_events_and_the_queue);
