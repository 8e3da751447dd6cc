//! The simulator pushes `change_external_chat` events to a real receiver: the SDK's `Receiver` behind its
//! axum adapter on 127.0.0.1, which verifies, decrypts, dedupes and types each one. Every change kind, the
//! member versions against what `get` answers, retries, timeouts, delivery faults, per-chat order under
//! concurrency, and owner changes by API writes (off by default).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tower::ServiceExt;
use wecom_groupchat::Client;
use wecom_groupchat::callback::{CallbackCrypto, CallbackMessage, Receiver};
use wecom_groupchat::events::{ChangeExternalChat, ChangeType, Event, EventJoinScene, Header, QuitScene, UpdateDetail};
use wecom_groupchat::types::{GetRequest, ListRequest, OnjobTransferRequest, TransferRequest};
use wecom_groupchat_sim::{
    AttemptOutcome, CallbackAttempt, CallbackFaults, CallbackTarget, DataSource, Scale, SimConfig, Simulator,
};

use crate::common::*;

const TOKEN: &str = "callback-token-7f3a";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
/// Bound on every wait for deliveries.
const WAIT: Duration = Duration::from_secs(30);

/// What the receiver does with the next request.
#[derive(Debug, Clone, Copy)]
enum Script {
    /// Answer this status without looking at the request.
    Status(u16),
    /// Answer nothing for a minute.
    Hang,
    /// Wait this many milliseconds, then hand the request to the receiver.
    Slow(u64),
}

#[derive(Clone)]
struct Harness {
    adapter: axum::Router,
    script: Arc<Mutex<VecDeque<Script>>>,
    /// What every request not scripted gets.
    otherwise: Arc<Mutex<Option<Script>>>,
    hits: Arc<AtomicUsize>,
    /// Requests being answered now, and the most at once.
    in_flight: Arc<AtomicUsize>,
    most_in_flight: Arc<AtomicUsize>,
}

/// A callback receiver on 127.0.0.1: the SDK's `Receiver` (channel) behind its axum adapter, with a script
/// of answers in front of it.
struct Endpoint {
    url: String,
    messages: mpsc::Receiver<CallbackMessage>,
    harness: Harness,
}

impl Endpoint {
    async fn start(corp_id: &str) -> Endpoint {
        let crypto = CallbackCrypto::new(TOKEN, KEY, corp_id).unwrap();
        let (receiver, messages) = Receiver::channel(crypto, 10_000);
        let harness = Harness {
            adapter: wecom_groupchat::callback::axum::router(receiver, "/wecom/callback"),
            script: Arc::default(),
            otherwise: Arc::default(),
            hits: Arc::default(),
            in_flight: Arc::default(),
            most_in_flight: Arc::default(),
        };
        let app = axum::Router::new().fallback(serve).with_state(harness.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/wecom/callback?tenant=t1", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Endpoint { url, messages, harness }
    }

    fn script(&self, steps: impl IntoIterator<Item = Script>) {
        self.harness.script.lock().unwrap().extend(steps);
    }

    fn always(&self, step: Script) {
        *self.harness.otherwise.lock().unwrap() = Some(step);
    }

    fn hits(&self) -> usize {
        self.harness.hits.load(Ordering::SeqCst)
    }

    fn target(&self) -> CallbackTarget {
        CallbackTarget::new(self.url.clone(), TOKEN, KEY).backoff(Duration::from_millis(10))
    }

    /// The next message handed over by the receiver.
    async fn next(&mut self) -> CallbackMessage {
        tokio::time::timeout(WAIT, self.messages.recv()).await.expect("a message in time").expect("the channel is open")
    }

    /// The next message, as its typed event.
    async fn next_change(&mut self) -> ChangeExternalChat {
        change_of(&self.next().await)
    }

    /// Every message handed over so far (none waited for).
    fn drain(&mut self) -> Vec<CallbackMessage> {
        std::iter::from_fn(|| self.messages.try_recv().ok()).collect()
    }
}

async fn serve(State(harness): State<Harness>, request: Request) -> Response {
    harness.hits.fetch_add(1, Ordering::SeqCst);
    let now = harness.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    harness.most_in_flight.fetch_max(now, Ordering::SeqCst);
    let response = answer(&harness, request).await;
    harness.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

async fn answer(harness: &Harness, request: Request) -> Response {
    let step = harness.script.lock().unwrap().pop_front().or(*harness.otherwise.lock().unwrap());
    match step {
        Some(Script::Slow(ms)) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            harness.adapter.clone().oneshot(request).await.unwrap()
        }
        Some(Script::Status(code)) => StatusCode::from_u16(code).unwrap().into_response(),
        Some(Script::Hang) => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            StatusCode::OK.into_response()
        }
        None => harness.adapter.clone().oneshot(request).await.unwrap(),
    }
}

fn change_of(message: &CallbackMessage) -> ChangeExternalChat {
    match &message.event.event {
        Event::ChangeExternalChat(change) => change.clone(),
        other => panic!("not a change_external_chat: {other:?}"),
    }
}

async fn start_pushing(target: impl FnOnce(&Endpoint) -> CallbackTarget) -> (Simulator, Endpoint) {
    start_pushing_with(config(), target).await
}

async fn start_pushing_with(
    config: SimConfig,
    target: impl FnOnce(&Endpoint) -> CallbackTarget,
) -> (Simulator, Endpoint) {
    let mut endpoint = Endpoint::start(wecom_groupchat_sim::DEFAULT_CORP_ID).await;
    let sim = start_with(config.callback(target(&endpoint))).await;
    assert!(endpoint.drain().is_empty());
    (sim, endpoint)
}

async fn idle(sim: &Simulator) {
    tokio::time::timeout(WAIT, sim.callbacks_idle()).await.expect("deliveries end in time");
}

async fn version(client: &Client, chat_id: &str) -> String {
    client.get(&GetRequest::new(chat_id)).await.unwrap().group_chat.member_version.unwrap()
}

/// POSTs a control path with a JSON body; (status, answer).
async fn control(raw: &Raw, path: &str, body: Value) -> (u16, Value) {
    let response = raw
        .http
        .post(format!("{}{path}", raw.base))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// A control path that must succeed; its answer.
async fn act(raw: &Raw, path: &str, body: Value) -> Value {
    let (status, answer) = control(raw, path, body).await;
    assert_eq!(status, 200, "{path}: {answer}");
    answer
}

/// A staff member who may own chats and owns none of `chat`'s members.
fn other_owner(sim: &Simulator, not: &[&str]) -> String {
    sim.hints().eligible_new_owners.into_iter().find(|u| !not.contains(&u.as_str())).unwrap()
}

#[tokio::test]
async fn every_change_kind_arrives_typed_with_the_versions_get_answers() {
    let (sim, mut endpoint) = start_pushing(Endpoint::target).await;
    let (raw, client) = (Raw::new(&sim).await, client(&sim));
    let hints = sim.hints();
    let owner = hints.active_owners[0].userid.clone();
    let helper = other_owner(&sim, &[&owner]);

    // create: the owner and two members; the event carries only the chat and the change type.
    let created = act(
        &raw,
        "/__sim/chats",
        json!({"owner": owner, "name": "春季活动群", "members": [helper, {"userid": "wmCustomer01", "type": 2}]}),
    )
    .await;
    let chat_id = created["chat_id"].as_str().unwrap().to_string();
    assert_eq!(created["queued"], true);
    let message = endpoint.next().await;
    assert_eq!(Value::Object(message.event.to_json()), created["event"], "the answer is the event pushed");
    let Some(Header::App(header)) = &message.event.header else { panic!("app form: {:?}", message.event.header) };
    assert_eq!((header.to_user_name.as_str(), header.from_user_name.as_str()), (sim.corp_id(), "sys"));
    assert!((header.create_time - sim.now()).abs() <= 2);
    let create = change_of(&message);
    assert_eq!((create.chat_id.as_str(), &create.change_type), (chat_id.as_str(), &ChangeType::Create));
    assert_eq!((create.update_detail, create.last_mem_ver, create.mem_change_list), (None, None, None));
    let chat = client.get(&GetRequest::new(&chat_id)).await.unwrap().group_chat;
    assert_eq!((chat.owner.as_deref(), chat.name.as_deref()), (Some(owner.as_str()), Some("春季活动群")));
    assert_eq!(chat.member_list.unwrap().len(), 3);

    // add_member by QR code, with a join-way state: JoinScene 3.
    let before = version(&client, &chat_id).await;
    act(
        &raw,
        &format!("/__sim/chats/{chat_id}/join"),
        json!({"members": [{"userid": "wmQr1", "type": 2, "join_scene": 3, "state": "ch_spring"}, {"userid": "wmQr2", "join_scene": 3}]}),
    )
    .await;
    let join = endpoint.next_change().await;
    let after = version(&client, &chat_id).await;
    assert_ne!(before, after);
    assert_eq!(
        (&join.change_type, join.update_detail.as_ref(), join.join_scene),
        (&ChangeType::Update, Some(&UpdateDetail::AddMember), Some(EventJoinScene::QrCode))
    );
    assert_eq!(
        (join.mem_change_cnt, join.mem_change_list.clone()),
        (Some(2), Some(vec!["wmQr1".into(), "wmQr2".into()]))
    );
    assert_eq!(
        (join.last_mem_ver.as_deref(), join.cur_mem_ver.as_deref()),
        (Some(before.as_str()), Some(after.as_str()))
    );
    let members = client.get(&GetRequest::new(&chat_id)).await.unwrap().group_chat.member_list.unwrap();
    let qr = members.iter().find(|m| m.userid.as_deref() == Some("wmQr1")).unwrap();
    assert_eq!(qr.state.as_deref(), Some("ch_spring"));

    // add_member through an invitation link (get's join_scene 2): JoinScene 0, invited by a member.
    act(&raw, &format!("/__sim/chats/{chat_id}/join"), json!({"members": [{"userid": "wmLink", "join_scene": 2}]}))
        .await;
    let join = endpoint.next_change().await;
    assert_eq!(join.join_scene, Some(EventJoinScene::MemberInvite));
    assert_eq!(join.last_mem_ver.as_deref(), Some(after.as_str()));

    // del_member, removed by the owner: QuitScene 1.
    let before = version(&client, &chat_id).await;
    act(&raw, &format!("/__sim/chats/{chat_id}/quit"), json!({"userids": ["wmQr2", "wmLink"], "quit_scene": 1})).await;
    let quit = endpoint.next_change().await;
    let after = version(&client, &chat_id).await;
    assert_eq!(
        (quit.update_detail.as_ref(), quit.quit_scene),
        (Some(&UpdateDetail::DelMember), Some(QuitScene::Removed))
    );
    assert_eq!(
        (quit.mem_change_cnt, quit.mem_change_list.clone()),
        (Some(2), Some(vec!["wmQr2".into(), "wmLink".into()]))
    );
    assert_eq!(
        (quit.last_mem_ver.as_deref(), quit.cur_mem_ver.as_deref()),
        (Some(before.as_str()), Some(after.as_str()))
    );

    // change_name and change_notice leave the member version as it was.
    act(&raw, &format!("/__sim/chats/{chat_id}/rename"), json!({"name": "夏季活动群"})).await;
    let renamed = endpoint.next_change().await;
    act(&raw, &format!("/__sim/chats/{chat_id}/notice"), json!({"notice": "周五晚8点直播"})).await;
    let noticed = endpoint.next_change().await;
    for (change, detail) in [(&renamed, UpdateDetail::ChangeName), (&noticed, UpdateDetail::ChangeNotice)] {
        assert_eq!(change.update_detail.as_ref(), Some(&detail));
        assert_eq!(
            (change.last_mem_ver.as_deref(), change.cur_mem_ver.as_deref()),
            (Some(after.as_str()), Some(after.as_str()))
        );
        assert_eq!((change.mem_change_list.as_ref(), change.join_scene), (None, None));
    }
    let chat = client.get(&GetRequest::new(&chat_id)).await.unwrap().group_chat;
    assert_eq!((chat.name.as_deref(), chat.notice.as_deref()), (Some("夏季活动群"), Some("周五晚8点直播")));

    // change_owner to a member: the version stays; to a non-member: they join, and it changes.
    act(&raw, &format!("/__sim/chats/{chat_id}/owner"), json!({"new_owner": helper})).await;
    let moved = endpoint.next_change().await;
    assert_eq!(moved.update_detail, Some(UpdateDetail::ChangeOwner));
    assert_eq!(
        (moved.last_mem_ver.as_deref(), moved.cur_mem_ver.as_deref()),
        (Some(after.as_str()), Some(after.as_str()))
    );
    let outsider = other_owner(&sim, &[&owner, &helper]);
    act(&raw, &format!("/__sim/chats/{chat_id}/owner"), json!({"new_owner": outsider})).await;
    let moved = endpoint.next_change().await;
    let after_owner = version(&client, &chat_id).await;
    assert_ne!(after_owner, after);
    assert_eq!(
        (moved.last_mem_ver.as_deref(), moved.cur_mem_ver.as_deref()),
        (Some(after.as_str()), Some(after_owner.as_str()))
    );
    assert_eq!(
        client.get(&GetRequest::new(&chat_id)).await.unwrap().group_chat.owner.as_deref(),
        Some(outsider.as_str())
    );

    // dismiss: gone from get (the spec's "no such chat") and from list.
    act(&raw, &format!("/__sim/chats/{chat_id}/dismiss"), json!({})).await;
    let dismissed = endpoint.next_change().await;
    assert_eq!((dismissed.chat_id.as_str(), &dismissed.change_type), (chat_id.as_str(), &ChangeType::Dismiss));
    assert_eq!(dismissed.cur_mem_ver, None);
    let error = client.get(&GetRequest::new(&chat_id)).await.unwrap_err();
    assert!(
        matches!(&error, wecom_groupchat::Error::Api(e) if e.code == wecom_groupchat::codes::CHAT_NOT_FOUND),
        "{error}"
    );
    let listed = client.list(&ListRequest::new(1000)).await.unwrap().group_chat_list.unwrap();
    assert!(!listed.iter().any(|c| c.chat_id == chat_id));
    assert_eq!(listed.len(), hints.chats);

    idle(&sim).await;
    let attempts = sim.callback_attempts();
    assert_eq!(attempts.len(), 9, "one attempt per change: {attempts:#?}");
    assert!(attempts.iter().all(|a| a.outcome == AttemptOutcome::Delivered && a.status == Some(200) && a.attempt == 1));
    let kinds: Vec<String> =
        attempts.iter().map(|a| a.update_detail.clone().unwrap_or_else(|| a.change_type.clone())).collect();
    let expected = ["create", "add_member", "add_member", "del_member", "change_name", "change_notice", "change_owner"];
    assert_eq!(&kinds[..7], expected);
    assert_eq!(&kinds[7..], ["change_owner", "dismiss"]);
    assert_eq!(endpoint.hits(), 9);
}

#[tokio::test]
async fn a_receiver_failing_twice_gets_a_third_attempt() {
    let (sim, mut endpoint) = start_pushing(Endpoint::target).await;
    let raw = Raw::new(&sim).await;
    let chat_id = sim.hints().active_owners[0].chat_ids[0].clone();
    endpoint.script([Script::Status(500), Script::Status(500)]);
    act(&raw, &format!("/__sim/chats/{chat_id}/rename"), json!({"name": "x"})).await;
    let change = endpoint.next_change().await;
    assert_eq!(change.update_detail, Some(UpdateDetail::ChangeName));
    idle(&sim).await;
    let log: Vec<(u32, Option<u16>, AttemptOutcome)> =
        sim.callback_attempts().iter().map(|a| (a.attempt, a.status, a.outcome)).collect();
    assert_eq!(
        log,
        [
            (1, Some(500), AttemptOutcome::Retrying),
            (2, Some(500), AttemptOutcome::Retrying),
            (3, Some(200), AttemptOutcome::Delivered)
        ]
    );
    assert_eq!(endpoint.hits(), 3);
    // Over HTTP, the same log.
    let answer = raw.control_get("/__sim/callbacks?wait=1000").await;
    assert_eq!((answer["configured"].as_bool(), answer["idle"].as_bool()), (Some(true), Some(true)));
    let attempts: Vec<CallbackAttempt> = serde_json::from_value(answer["attempts"].clone()).unwrap();
    assert_eq!(attempts, sim.callback_attempts());
    assert_eq!(attempts[2].chat_id, chat_id);
    assert_eq!(attempts[2].update_detail.as_deref(), Some("change_name"));
}

#[tokio::test]
async fn a_receiver_that_never_answers_in_time_is_given_up_after_the_retries() {
    let (sim, endpoint) = start_pushing(|e| e.target().timeout(Duration::from_millis(300)).retries(2)).await;
    let raw = Raw::new(&sim).await;
    let chat_id = sim.hints().active_owners[0].chat_ids[0].clone();
    endpoint.always(Script::Hang);
    act(&raw, &format!("/__sim/chats/{chat_id}/notice"), json!({"notice": "n"})).await;
    assert_eq!(sim.callbacks_pending(), 1, "the control path answers before the delivery ends");
    idle(&sim).await;
    let attempts = sim.callback_attempts();
    assert_eq!(attempts.iter().map(|a| a.attempt).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(
        attempts.iter().map(|a| a.outcome).collect::<Vec<_>>(),
        [AttemptOutcome::Retrying, AttemptOutcome::Retrying, AttemptOutcome::GivenUp]
    );
    for attempt in &attempts {
        assert_eq!(attempt.status, None);
        assert!(attempt.error.as_deref().is_some_and(|e| e.contains("300 ms")), "{attempt:?}");
        assert!((300..5000).contains(&attempt.ms), "{attempt:?}");
    }
    assert_eq!(endpoint.hits(), 3);
    assert_eq!(sim.callbacks_pending(), 0);
}

#[tokio::test]
async fn a_duplicated_event_is_sealed_afresh_and_deduped_by_the_receiver() {
    let (sim, mut endpoint) = start_pushing(|e| e.target().faults(CallbackFaults::none().duplicate(1.0))).await;
    let raw = Raw::new(&sim).await;
    let chat_id = sim.hints().active_owners[0].chat_ids[0].clone();
    // Joins of different people: renames within one second would be the same message (the new name is
    // not in the event), which a receiver rightly takes for a redelivery.
    for userid in ["wmDup1", "wmDup2", "wmDup3"] {
        act(&raw, &format!("/__sim/chats/{chat_id}/join"), json!({"members": [userid]})).await;
    }
    idle(&sim).await;
    let attempts = sim.callback_attempts();
    assert_eq!(
        attempts.iter().map(|a| (a.event_id, a.copy)).collect::<Vec<_>>(),
        [(1, 1), (1, 2), (2, 1), (2, 2), (3, 1), (3, 2)]
    );
    assert!(
        attempts.iter().all(|a| a.outcome == AttemptOutcome::Delivered),
        "redeliveries are acknowledged: {attempts:#?}"
    );
    assert_eq!(endpoint.hits(), 6);
    let messages = endpoint.drain();
    assert_eq!(messages.len(), 3, "the receiver hands each event over once");
    let keys: std::collections::HashSet<&str> = messages.iter().map(|m| m.dedupe_key.as_str()).collect();
    assert_eq!(keys.len(), 3);

    // Turned off at run time, over HTTP: events are delivered once again.
    let (status, faults) = control(&raw, "/__sim/callbacks/faults", json!({})).await;
    assert_eq!((status, faults), (200, json!({"duplicate": 0.0, "drop": 0.0, "delay_ms": 0, "reorder": 0.0})));
    act(&raw, &format!("/__sim/chats/{chat_id}/join"), json!({"members": ["wmDup4"]})).await;
    idle(&sim).await;
    assert_eq!(endpoint.hits(), 7);
    assert_eq!(endpoint.drain().len(), 1);
}

#[tokio::test]
async fn drop_delay_and_reorder_faults() {
    let (sim, mut endpoint) = start_pushing(Endpoint::target).await;
    let raw = Raw::new(&sim).await;
    let chat_id = sim.hints().active_owners[0].chat_ids[0].clone();
    let rename = |name: &'static str| {
        let (raw, path) = (&raw, format!("/__sim/chats/{chat_id}/rename"));
        async move { act(raw, &path, json!({"name": name})).await }
    };

    // Dropped: logged, never sent.
    sim.set_callback_faults(CallbackFaults::none().drop_events(1.0)).unwrap();
    rename("dropped").await;
    idle(&sim).await;
    let dropped = sim.callback_attempts();
    assert_eq!(dropped.len(), 1);
    assert_eq!((dropped[0].outcome, dropped[0].attempt, dropped[0].status), (AttemptOutcome::Dropped, 0, None));
    assert_eq!(endpoint.hits(), 0);

    // Delayed.
    sim.set_callback_faults(CallbackFaults::none().delay(Duration::from_millis(300))).unwrap();
    let started = std::time::Instant::now();
    rename("delayed").await;
    idle(&sim).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(sim.callback_attempts().pop().unwrap().outcome, AttemptOutcome::Delivered);
    assert_eq!(change_of(&endpoint.next().await).update_detail, Some(UpdateDetail::ChangeName));

    // Reordered: the second event goes first. The first waits for the second as long as it takes (the
    // wait ends when the second is queued): no dependence on how fast this machine is.
    let (status, _) =
        control(&raw, "/__sim/callbacks/faults", json!({"reorder": 1.0, "reorder_wait_ms": 600_000})).await;
    assert_eq!(status, 200);
    rename("first").await;
    rename("second").await;
    idle(&sim).await;
    // The new name is not in the event: the log says which event went first.
    let order: Vec<u64> = sim.callback_attempts().iter().rev().take(2).rev().map(|a| a.event_id).collect();
    assert_eq!(order, [4, 3], "event 4 delivered before event 3");

    // Bad faults are refused.
    let (status, answer) = control(&raw, "/__sim/callbacks/faults", json!({"drop": 2})).await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = control(&raw, "/__sim/callbacks/faults", json!({"dupe": 0.5})).await;
    assert_eq!(status, 400, "{answer}");
}

#[tokio::test]
async fn delivery_faults_follow_the_seed() {
    async fn dropped_pattern() -> Vec<bool> {
        let faults = CallbackFaults::none().drop_events(0.5);
        let (sim, _endpoint) = start_pushing(|e| e.target().faults(faults)).await;
        let raw = Raw::new(&sim).await;
        let chat_id = sim.hints().active_owners[0].chat_ids[0].clone();
        for i in 0..24 {
            act(&raw, &format!("/__sim/chats/{chat_id}/notice"), json!({"notice": format!("n{i}")})).await;
        }
        idle(&sim).await;
        let attempts = sim.callback_attempts();
        attempts.iter().map(|a| a.outcome == AttemptOutcome::Dropped).collect()
    }
    let first = dropped_pattern().await;
    assert_eq!(first.len(), 24);
    assert!(first.iter().any(|d| *d) && first.iter().any(|d| !*d), "{first:?}");
    assert_eq!(dropped_pattern().await, first, "same seed, same faults");
}

/// Checks that a chat's events chain: each one's LastMemVer is the CurMemVer of the one before.
fn assert_chained(changes: &[ChangeExternalChat], first_last: &str, final_cur: &str) {
    assert_eq!(changes[0].last_mem_ver.as_deref(), Some(first_last));
    for pair in changes.windows(2) {
        assert_eq!(pair[0].cur_mem_ver, pair[1].last_mem_ver, "out of order: {pair:#?}");
    }
    assert_eq!(changes.last().unwrap().cur_mem_ver.as_deref(), Some(final_cur));
}

#[tokio::test]
async fn many_concurrent_changes_arrive_in_order_per_chat() {
    let (sim, mut endpoint) = start_pushing(Endpoint::target).await;
    let (raw, client) = (Raw::new(&sim).await, client(&sim));
    let chats: Vec<String> = sim.hints().active_owners.iter().take(4).map(|o| o.chat_ids[0].clone()).collect();
    let mut before = Vec::new();
    for chat in &chats {
        before.push(version(&client, chat).await);
    }
    // 50 joins on the first chat, 10 on each of the others, all at once.
    let mut calls = tokio::task::JoinSet::new();
    for (c, chat) in chats.iter().enumerate() {
        for i in 0..(if c == 0 { 50 } else { 10 }) {
            let (http, base, chat) = (raw.http.clone(), raw.base.clone(), chat.clone());
            calls.spawn(async move {
                let body = json!({"members": [{"userid": format!("wmConc{c}x{i}"), "join_scene": 3}]});
                let response = http
                    .post(format!("{base}/__sim/chats/{chat}/join"))
                    .header("content-type", "application/json")
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
            });
        }
    }
    while let Some(done) = calls.join_next().await {
        done.unwrap();
    }
    idle(&sim).await;
    let messages = endpoint.drain();
    assert_eq!(messages.len(), 80);
    for (c, chat) in chats.iter().enumerate() {
        let changes: Vec<ChangeExternalChat> =
            messages.iter().map(change_of).filter(|change| &change.chat_id == chat).collect();
        assert_eq!(changes.len(), if c == 0 { 50 } else { 10 });
        assert_chained(&changes, &before[c], &version(&client, chat).await);
    }
    assert!(sim.callback_attempts().iter().all(|a| a.outcome == AttemptOutcome::Delivered && a.attempt == 1));
}

#[tokio::test]
async fn api_writes_push_change_owner_only_when_asked() {
    // Off (the default): a transfer changes owners and pushes nothing.
    let (sim, endpoint) = start_pushing(Endpoint::target).await;
    let api = client(&sim);
    let hints = sim.hints();
    let active = &hints.active_owners[0];
    let new_owner = other_owner(&sim, &[&active.userid]);
    let response = api.onjob_transfer(&OnjobTransferRequest::new([&active.chat_ids[0]], &new_owner)).await.unwrap();
    assert!(response.failed_chat_list.unwrap_or_default().is_empty());
    idle(&sim).await;
    assert_eq!((sim.callback_attempts().len(), endpoint.hits()), (0, 0));
    drop((api, sim));

    // On: onjob_transfer at once, transfer when it settles.
    let (sim, mut endpoint) = start_pushing(|e| e.target().api_writes(true)).await;
    let client = client(&sim);
    let before = version(&client, &active.chat_ids[0]).await;
    client.onjob_transfer(&OnjobTransferRequest::new([&active.chat_ids[0]], &new_owner)).await.unwrap();
    let moved = endpoint.next_change().await;
    assert_eq!(
        (moved.chat_id.as_str(), moved.update_detail.as_ref()),
        (active.chat_ids[0].as_str(), Some(&UpdateDetail::ChangeOwner))
    );
    let after = version(&client, &active.chat_ids[0]).await;
    assert_eq!(
        (moved.last_mem_ver.as_deref(), moved.cur_mem_ver.as_deref()),
        (Some(before.as_str()), Some(after.as_str()))
    );

    let resigned = &hints.resigned_owners[0];
    let chat = &resigned.chat_ids[0];
    let before = version(&client, chat).await;
    client.transfer(&TransferRequest::new([chat], &new_owner)).await.unwrap();
    idle(&sim).await;
    assert_eq!(endpoint.hits(), 1, "nothing until the transfer settles");
    assert_eq!(sim.settle_transfers(), 1);
    let moved = endpoint.next_change().await;
    assert_eq!(
        (moved.chat_id.as_str(), moved.update_detail.as_ref()),
        (chat.as_str(), Some(&UpdateDetail::ChangeOwner))
    );
    assert_eq!(moved.last_mem_ver.as_deref(), Some(before.as_str()));
    assert_eq!(moved.cur_mem_ver.as_deref(), Some(version(&client, chat).await.as_str()));
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let (sim, endpoint) = start_pushing(Endpoint::target).await;
    let (raw, client) = (Raw::new(&sim).await, client(&sim));
    let hints = sim.hints();
    let chat = hints.active_owners[0].chat_ids[0].clone();
    let owner = hints.active_owners[0].userid.clone();
    let before = client.get(&GetRequest::new(&chat)).await.unwrap().group_chat;
    let member = before.member_list.as_ref().unwrap().iter().find(|m| m.userid.as_deref() != Some(owner.as_str()));
    let member = member.and_then(|m| m.userid.clone()).unwrap();
    let join = format!("/__sim/chats/{chat}/join");
    let quit = format!("/__sim/chats/{chat}/quit");
    let cases: Vec<(String, Value, u16)> = vec![
        ("/__sim/chats/wrNoSuchChat/join".into(), json!({"members": ["wmX"]}), 404),
        ("/__sim/chats/wrNoSuchChat/dismiss".into(), json!({}), 404),
        (join.clone(), json!({"members": []}), 400),
        (join.clone(), json!({"members": [member]}), 400),
        (join.clone(), json!({"members": [{"userid": "wmA", "join_scene": 9}]}), 400),
        (join.clone(), json!({"members": [{"userid": "wmA", "usrid": "typo"}]}), 400),
        (join.clone(), json!({"members": [{"userid": "nobody", "type": 1}]}), 400),
        (join.clone(), json!({"people": ["wmA"]}), 400),
        (quit.clone(), json!({"userids": []}), 400),
        (quit.clone(), json!({"userids": ["wmNotInIt"]}), 400),
        (quit.clone(), json!({"userids": [owner]}), 400),
        (quit.clone(), json!({"userids": [member], "quit_scene": 5}), 400),
        (format!("/__sim/chats/{chat}/owner"), json!({"new_owner": "nobody"}), 400),
        (format!("/__sim/chats/{chat}/owner"), json!({"new_owner": owner}), 400),
        (format!("/__sim/chats/{chat}/rename"), json!({"name": 5}), 400),
        (format!("/__sim/chats/{chat}/dismiss"), json!({"now": true}), 400),
        ("/__sim/chats".into(), json!({"owner": "nobody"}), 400),
        ("/__sim/chats".into(), json!({"name": "no owner"}), 400),
    ];
    for (path, body, status) in cases {
        let (got, answer) = control(&raw, &path, body.clone()).await;
        assert_eq!(got, status, "{path} {body}: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{answer}");
    }
    let response = raw
        .http
        .post(format!("{}{join}", raw.base))
        .header("content-type", "application/json")
        .body("{\"members\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("JSON"));

    assert_eq!(client.get(&GetRequest::new(&chat)).await.unwrap().group_chat, before);
    assert_eq!(sim.hints().chats, hints.chats);
    idle(&sim).await;
    assert_eq!((sim.callback_attempts().len(), endpoint.hits()), (0, 0));
}

#[tokio::test]
async fn without_a_callback_url_changes_apply_and_nothing_is_queued() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    let owner = sim.hints().active_owners[0].userid.clone();
    let created = act(&raw, "/__sim/chats", json!({"owner": owner})).await;
    assert_eq!(created["queued"], false);
    assert_eq!(created["event"]["change_type"], "create");
    let chat_id = created["chat_id"].as_str().unwrap();
    assert!(sim.group_chat(chat_id).is_some());
    tokio::time::timeout(WAIT, sim.callbacks_idle()).await.unwrap();
    let log = raw.control_get("/__sim/callbacks").await;
    assert_eq!(log, json!({"configured": false, "pending": 0, "idle": true, "attempts": []}));
    let (status, answer) = control(&raw, "/__sim/callbacks/faults", json!({"drop": 0.5})).await;
    assert_eq!(status, 400, "{answer}");
}

#[tokio::test]
async fn a_bad_aes_key_stops_the_start_with_a_clear_error() {
    let target = CallbackTarget::new("http://127.0.0.1:9/cb", TOKEN, "not-43-characters-secret");
    let error = Simulator::start(SimConfig::default().callback(target)).await.unwrap_err().to_string();
    assert!(error.contains("43") && error.contains("AES"), "{error}");
    assert!(!error.contains("not-43-characters-secret") && !error.contains(TOKEN), "{error}");
}

#[tokio::test]
async fn the_binary_pushes_with_its_flags_and_logs_neither_token_nor_key() {
    let mut endpoint = Endpoint::start("wwbinarypush").await;
    let url_flag = format!("--callback-url={}", endpoint.url);
    let key_flag = format!("--callback-aes-key={KEY}");
    let token_flag = format!("--callback-token={TOKEN}");
    let mut child = crate::binary::spawn(&[
        "--corp-id=wwbinarypush",
        "--corp-secret=s",
        &url_flag,
        &token_flag,
        &key_flag,
        "--callback-retries=1",
        "--callback-backoff=10ms",
        "--callback-timeout=2s",
    ]);
    let base = crate::binary::url_line(&mut child);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let hints: Value = http.get(format!("{base}/__sim/hints")).send().await.unwrap().json().await.unwrap();
    let owner = hints["active_owners"][0]["userid"].as_str().unwrap();
    endpoint.script([Script::Status(503)]);
    let created: Value = http
        .post(format!("{base}/__sim/chats"))
        .header("content-type", "application/json")
        .body(json!({"owner": owner, "members": ["wmBinary"]}).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let change = endpoint.next_change().await;
    assert_eq!(
        (change.chat_id.as_str(), &change.change_type),
        (created["chat_id"].as_str().unwrap(), &ChangeType::Create)
    );
    let log: Value = http.get(format!("{base}/__sim/callbacks?wait=10000")).send().await.unwrap().json().await.unwrap();
    let outcomes: Vec<&str> =
        log["attempts"].as_array().unwrap().iter().map(|a| a["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["retrying", "delivered"], "{log}");

    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut logs).unwrap();
    assert!(logs.contains("callback"), "{logs}");
    assert!(!logs.contains(TOKEN) && !logs.contains(KEY), "{logs}");
}

/// The members' userids and join times, as `get` answers them.
fn roster(chat: &wecom_groupchat::types::GroupChat) -> Vec<(String, Option<i64>)> {
    chat.member_list.iter().flatten().map(|m| (m.userid.clone().unwrap(), m.join_time)).collect()
}

/// A chat of a generated (scale) company with an active owner and another member of staff who may own
/// it: (chat, its owner, that member).
async fn chat_with_staff_member(sim: &Simulator, client: &Client) -> (String, String, String) {
    let hints = sim.hints();
    let eligible = &hints.eligible_new_owners;
    for owner in &hints.active_owners {
        for chat_id in &owner.chat_ids {
            let chat = client.get(&GetRequest::new(chat_id)).await.unwrap().group_chat;
            let member = chat.member_list.iter().flatten().find_map(|m| {
                let userid = m.userid.clone()?;
                (userid != owner.userid && eligible.contains(&userid)).then_some(userid)
            });
            if let Some(member) = member {
                return (chat_id.clone(), owner.userid.clone(), member);
            }
        }
    }
    panic!("no chat with a member of staff besides its owner");
}

fn scale_config() -> SimConfig {
    config().data(DataSource::Scale(Scale::groups(40).members_per_group(8)))
}

#[tokio::test]
async fn on_a_generated_company_a_new_owner_keeps_the_members_and_the_version() {
    let (sim, mut endpoint) = start_pushing_with(scale_config(), Endpoint::target).await;
    let (raw, client) = (Raw::new(&sim).await, client(&sim));
    let (chat_id, old_owner, member) = chat_with_staff_member(&sim, &client).await;
    let chat = client.get(&GetRequest::new(&chat_id)).await.unwrap().group_chat;
    let (v0, members0) = (chat.member_version.clone().unwrap(), roster(&chat));

    // To a member: nobody joins, nobody leaves, the version stays.
    act(&raw, &format!("/__sim/chats/{chat_id}/owner"), json!({"new_owner": member})).await;
    let moved = endpoint.next_change().await;
    assert_eq!(moved.update_detail, Some(UpdateDetail::ChangeOwner));
    assert_eq!((moved.last_mem_ver.as_deref(), moved.cur_mem_ver.as_deref()), (Some(v0.as_str()), Some(v0.as_str())));
    let chat = client.get(&GetRequest::new(&chat_id)).await.unwrap().group_chat;
    assert_eq!(chat.owner.as_deref(), Some(member.as_str()));
    assert_eq!(chat.member_version.as_deref(), Some(v0.as_str()));
    assert_eq!(roster(&chat), members0, "the same members, the old owner among them");

    // To an outsider: they join, the version changes, the members stay.
    let members: Vec<&str> = members0.iter().map(|(u, _)| u.as_str()).collect();
    let outsider = other_owner(&sim, &members);
    act(&raw, &format!("/__sim/chats/{chat_id}/owner"), json!({"new_owner": outsider})).await;
    let moved = endpoint.next_change().await;
    let chat = client.get(&GetRequest::new(&chat_id)).await.unwrap().group_chat;
    let v1 = chat.member_version.clone().unwrap();
    assert_ne!(v1, v0);
    assert_eq!((moved.last_mem_ver.as_deref(), moved.cur_mem_ver.as_deref()), (Some(v0.as_str()), Some(v1.as_str())));
    let now = roster(&chat);
    assert_eq!(now[..members0.len()], members0[..]);
    assert_eq!(now.len(), members0.len() + 1);
    assert_eq!(now[members0.len()].0, outsider);
    assert!(now.iter().any(|(u, _)| *u == old_owner));
    // A rename leaves the version.
    act(&raw, &format!("/__sim/chats/{chat_id}/rename"), json!({"name": "x"})).await;
    let renamed = endpoint.next_change().await;
    assert_eq!(
        (renamed.last_mem_ver.as_deref(), renamed.cur_mem_ver.as_deref()),
        (Some(v1.as_str()), Some(v1.as_str()))
    );
}

#[tokio::test]
async fn on_a_generated_company_an_onjob_transfer_to_a_member_keeps_the_version() {
    let (sim, mut endpoint) = start_pushing_with(scale_config(), |e| e.target().api_writes(true)).await;
    let client = client(&sim);
    let (chat_id, _, member) = chat_with_staff_member(&sim, &client).await;
    let chat = client.get(&GetRequest::new(&chat_id)).await.unwrap().group_chat;
    let (v0, members0) = (chat.member_version.clone().unwrap(), roster(&chat));
    let response = client.onjob_transfer(&OnjobTransferRequest::new([&chat_id], &member)).await.unwrap();
    assert!(response.failed_chat_list.unwrap_or_default().is_empty());
    let moved = endpoint.next_change().await;
    assert_eq!((moved.chat_id.as_str(), moved.update_detail), (chat_id.as_str(), Some(UpdateDetail::ChangeOwner)));
    assert_eq!((moved.last_mem_ver.as_deref(), moved.cur_mem_ver.as_deref()), (Some(v0.as_str()), Some(v0.as_str())));
    let chat = client.get(&GetRequest::new(&chat_id)).await.unwrap().group_chat;
    assert_eq!(chat.owner.as_deref(), Some(member.as_str()));
    assert_eq!((chat.member_version.as_deref(), roster(&chat)), (Some(v0.as_str()), members0));
}

#[tokio::test]
async fn a_full_queue_refuses_changes_with_503_and_changes_nothing() {
    let (sim, endpoint) = start_pushing(|e| e.target().retries(0).timeout(Duration::from_secs(60)).max_queued(2)).await;
    endpoint.always(Script::Hang);
    let (raw, client) = (Raw::new(&sim).await, client(&sim));
    let chats: Vec<String> = sim.hints().active_owners.iter().take(2).map(|o| o.chat_ids[0].clone()).collect();
    act(&raw, &format!("/__sim/chats/{}/rename", chats[0]), json!({"name": "a"})).await;
    act(&raw, &format!("/__sim/chats/{}/rename", chats[0]), json!({"name": "b"})).await;
    assert_eq!(sim.callbacks_pending(), 2);
    let before = client.get(&GetRequest::new(&chats[1])).await.unwrap().group_chat;
    let (status, answer) = control(&raw, &format!("/__sim/chats/{}/rename", chats[1]), json!({"name": "c"})).await;
    assert_eq!(status, 503, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(error.contains("queue is full") && error.contains("at most 2"), "{error}");
    let after = client.get(&GetRequest::new(&chats[1])).await.unwrap().group_chat;
    assert_eq!(after.name, before.name, "nothing changed");
    let (status, _) = control(&raw, "/__sim/chats", json!({"owner": sim.hints().active_owners[0].userid})).await;
    assert_eq!(status, 503);
    assert_eq!(sim.callbacks_pending(), 2);
    assert!(sim.callback_attempts().iter().all(|a| a.outcome != AttemptOutcome::GivenUp));
}

#[tokio::test]
async fn at_most_max_concurrent_deliveries_are_in_flight() {
    let (sim, mut endpoint) = start_pushing(|e| e.target().max_concurrent(2)).await;
    endpoint.always(Script::Slow(300));
    let raw = Raw::new(&sim).await;
    let chats: Vec<String> = sim.hints().active_owners.iter().take(6).map(|o| o.chat_ids[0].clone()).collect();
    assert_eq!(chats.len(), 6);
    for chat in &chats {
        act(&raw, &format!("/__sim/chats/{chat}/notice"), json!({"notice": "n"})).await;
    }
    idle(&sim).await;
    assert_eq!(endpoint.drain().len(), 6);
    assert_eq!(endpoint.harness.most_in_flight.load(Ordering::SeqCst), 2, "six chats, two deliveries at a time");
    assert!(sim.callback_attempts().iter().all(|a| a.outcome == AttemptOutcome::Delivered));
}
