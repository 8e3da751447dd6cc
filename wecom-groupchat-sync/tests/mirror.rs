//! The mirror against the simulator on 127.0.0.1, each test on an SQLite file and on PostgreSQL
//! (`WECOM_TEST_POSTGRES_URL`; in CI its absence fails the PostgreSQL half).

mod common;

use std::collections::HashSet;
use std::time::Duration;

use sqlx::Row;
use wecom_groupchat::callback::Receiver;
use wecom_groupchat::codes;
use wecom_groupchat::events::{ChangeExternalChat, ChangeType, UpdateDetail};
use wecom_groupchat::types::TransferRequest;
use wecom_groupchat_sim::{FaultKind, Faults, ScriptedFault, SimConfig};
use wecom_groupchat_sync::{EventOutcome, Mirror, SyncError, SyncOptions};

use crate::common::*;

async fn count(store: &wecom_groupchat_sync::Store, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(store.pool()).await.unwrap().try_get::<i64, _>(0).unwrap()
}

/// A chat with at least `n` members, and its member userids.
fn chat_with_members(
    sim: &wecom_groupchat_sim::Simulator,
    ids: &[String],
    n: usize,
    skip: usize,
) -> (String, Vec<String>) {
    ids.iter()
        .filter_map(|id| {
            let chat = sim.group_chat(id)?;
            let members: Vec<String> = chat.member_list?.into_iter().filter_map(|m| m.userid).collect();
            (members.len() >= n).then(|| (id.clone(), members))
        })
        .nth(skip)
        .expect("the demo company has such chats")
}

fn member_change(chat: &str, detail: UpdateDetail, last: &str, cur: &str, members: &[String]) -> ChangeExternalChat {
    let mut e = ChangeExternalChat::new(chat, ChangeType::Update);
    e.update_detail = Some(detail);
    e.last_mem_ver = Some(last.into());
    e.cur_mem_ver = Some(cur.into());
    if !members.is_empty() {
        e.mem_change_cnt = Some(members.len() as i64);
        e.mem_change_list = Some(members.to_vec());
    }
    e
}

async fn reconcile_mirrors_the_simulator_chat_by_chat_and_member_by_member(db: TestDb) {
    let sim = sim().await;
    let mirror = mirror(&sim, &db).await;
    let report = mirror.reconcile().await.unwrap();
    let chats = sim.hints().chats as i64;
    let run = &report.run;
    assert_eq!((run.listed, run.fetched, run.dismissed, run.failed), (chats, chats, 0, 0));
    assert!(run.finished_at.is_some() && report.listed_here && !report.partial());
    assert_eq!(run.list_mode.as_deref(), Some("all"));
    assert_eq!(sim.calls("get"), chats as u64, "one get per chat");
    assert_mirrors(&sim, mirror.store(), &[]).await;

    // A second run finds the same rows.
    let again = mirror.reconcile().await.unwrap();
    assert_eq!(again.run.id, report.run.id + 1);
    assert_mirrors(&sim, mirror.store(), &[]).await;
    let status = mirror.store().status(3).await.unwrap();
    let members = count(mirror.store(), "SELECT COUNT(*) FROM group_chat_member").await;
    assert_eq!((status.chats, status.members, status.dismissed, status.queued), (chats, members, 0, 0));
    assert_eq!(status.last_run.map(|r| r.id), Some(again.run.id));
    assert_eq!(count(mirror.store(), "SELECT COUNT(*) FROM sync_run WHERE finished_at IS NULL").await, 0);
}
both!(reconcile_mirrors_the_simulator_chat_by_chat_and_member_by_member);

async fn a_reconcile_brings_every_change_and_never_deletes_a_chat(db: TestDb) {
    let sim = sim().await;
    let mirror = mirror(&sim, &db).await;
    mirror.reconcile().await.unwrap();
    let store = mirror.store();

    // Owners change (a transfer of a resigned owner's chats, settled), statuses change (a resignation).
    let hints = sim.hints();
    let moved: Vec<String> = hints.resigned_owners[0].chat_ids[..2].to_vec();
    let new_owner = hints.eligible_new_owners[0].clone();
    client(&sim).transfer(&TransferRequest::new(&moved, &new_owner)).await.unwrap();
    sim.settle_transfers();
    let leaving = hints.active_owners[0].clone();
    assert!(sim.resign(&leaving.userid));
    // A member the simulator no longer has, and a chat no listing names.
    let ids = sim_chat_ids(&sim).await;
    sqlx::query("INSERT INTO group_chat_member (chat_id, userid, type) VALUES ($1, 'wm-left-long-ago', 2)")
        .bind(ids[0].as_str())
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("INSERT INTO group_chat (chat_id, name, member_count) VALUES ('wr-no-longer-listed', 'old', 0)")
        .execute(store.pool())
        .await
        .unwrap();

    mirror.reconcile().await.unwrap();
    assert_mirrors(&sim, store, &["wr-no-longer-listed"]).await;
    for id in &moved {
        let row = store.chat(id).await.unwrap().unwrap();
        assert_eq!(row.owner.as_deref(), Some(new_owner.as_str()));
        assert_eq!(row.status, Some(3), "transferred");
    }
    let resigned = store.chat(&leaving.chat_ids[0]).await.unwrap().unwrap();
    assert_eq!(resigned.status, Some(1), "owner resigned");
    assert!(store.members(&ids[0]).await.unwrap().iter().all(|m| m.userid != "wm-left-long-ago"));
    let kept = store.chat("wr-no-longer-listed").await.unwrap().expect("never deleted");
    assert!(!kept.dismissed, "a listing that misses a chat does not make it dismissed");
}
both!(a_reconcile_brings_every_change_and_never_deletes_a_chat);

async fn events_are_applied_by_member_version_and_coalesced(db: TestDb) {
    let sim = sim().await;
    let mirror = mirror(&sim, &db).await;
    mirror.reconcile().await.unwrap();
    let store = mirror.store();
    let ids = sim_chat_ids(&sim).await;
    let receiver = Receiver::new(crypto(), mirror.callback_handler());
    sim.reset_stats();
    let t = 1_764_000_000;

    // A member change already in the rows: nothing to do, no call.
    let (a, a_members) = chat_with_members(&sim, &ids, 3, 0);
    let v = store.chat(&a).await.unwrap().unwrap().member_version.unwrap();
    let joined = member_change(&a, UpdateDetail::AddMember, "older", &v, &a_members[1..2]);
    assert_eq!(deliver(&receiver, joined, t).await.status, 200);
    // A del_member that follows the stored version: applied from the event, no call.
    let left = member_change(&a, UpdateDetail::DelMember, &v, "v-after-left", &a_members[1..3]);
    assert_eq!(deliver(&receiver, left, t + 1).await.status, 200);
    let row = store.chat(&a).await.unwrap().unwrap();
    assert_eq!(row.member_version.as_deref(), Some("v-after-left"));
    assert_eq!(row.member_count, a_members.len() as i64 - 2);
    let kept: HashSet<String> = store.members(&a).await.unwrap().into_iter().map(|m| m.userid).collect();
    assert!(!kept.contains(&a_members[1]) && !kept.contains(&a_members[2]) && kept.contains(&a_members[0]));

    // A rename, a notice and an owner change of one chat: one get.
    let (b, _) = chat_with_members(&sim, &ids, 2, 1);
    let vb = store.chat(&b).await.unwrap().unwrap().member_version.unwrap();
    for (i, detail) in
        [UpdateDetail::ChangeName, UpdateDetail::ChangeNotice, UpdateDetail::ChangeOwner].into_iter().enumerate()
    {
        let answer = deliver(&receiver, member_change(&b, detail, &vb, &vb, &[]), t + 2 + i as i64).await;
        assert_eq!(answer.status, 200);
    }
    // A join after the version the rows hold: the new members' details need a get.
    let rejoin = member_change(&a, UpdateDetail::AddMember, "v-after-left", &v, &a_members[1..3]);
    assert_eq!(deliver(&receiver, rejoin, t + 10).await.status, 200);
    // A dismissal: at once, no call.
    let c = ids[ids.len() - 1].clone();
    assert_eq!(deliver(&receiver, ChangeExternalChat::new(&c, ChangeType::Dismiss), t + 11).await.status, 200);
    assert!(store.chat(&c).await.unwrap().unwrap().dismissed);
    // A new chat the API does not know (any more): its get says so, and it is kept as dismissed.
    let created = ChangeExternalChat::new("wr-created-and-gone", ChangeType::Create);
    assert_eq!(deliver(&receiver, created, t + 12).await.status, 200);
    assert_eq!(sim.calls("get"), 0, "nothing fetched before the queue is worked");
    assert_eq!(count(store, "SELECT COUNT(*) FROM sync_queue").await, 3);

    mirror.work_queue().await.unwrap();
    assert_eq!(sim.calls("get"), 3, "one get per chat queued: b (three events), a (the join), the created chat");
    let gone = store.chat("wr-created-and-gone").await.unwrap().unwrap();
    assert!(gone.dismissed);
    // a's rows are the simulator's again (it never lost those members).
    let a_row = store.chat(&a).await.unwrap().unwrap();
    assert_eq!(a_row.member_version.as_deref(), Some(v.as_str()));
    assert_eq!(store.members(&a).await.unwrap(), expected_members(&sim.group_chat(&a).unwrap()));
    // Every event is stored once, with its outcome, and applied.
    let outcomes: Vec<(String, i64)> = sqlx::query("SELECT outcome, applied_at FROM sync_event ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.try_get(0).unwrap(), r.try_get::<Option<i64>, _>(1).unwrap().unwrap_or(-1)))
        .collect();
    let names: Vec<&str> = outcomes.iter().map(|(o, _)| o.as_str()).collect();
    assert_eq!(names, ["unchanged", "applied", "queued", "queued", "queued", "queued", "dismissed", "queued"]);
    assert!(outcomes.iter().all(|(_, at)| *at > 0), "every event reached the rows: {outcomes:?}");
    assert_eq!(mirror.progress().events, 8);
    assert_eq!(mirror.progress().events_without_get, 3);
}
both!(events_are_applied_by_member_version_and_coalesced);

async fn a_redelivery_is_stored_once_whichever_instance_receives_it(db: TestDb) {
    let sim = sim().await;
    let first = mirror(&sim, &db).await;
    first.reconcile().await.unwrap();
    // Two instances behind a load balancer: receivers with no memory of each other.
    let second = Mirror::new(db.open().await, client(&sim), options()).unwrap();
    let receivers =
        [Receiver::new(crypto(), first.callback_handler()), Receiver::new(crypto(), second.callback_handler())];
    let ids = sim_chat_ids(&sim).await;
    let (query, body) = seal(ChangeExternalChat::new(&ids[3], ChangeType::Dismiss), 1_764_000_100);
    for receiver in &receivers {
        for _ in 0..2 {
            assert_eq!(receiver.handle("POST", &query, body.as_bytes()).await.status, 200);
        }
    }
    assert_eq!(count(first.store(), "SELECT COUNT(*) FROM sync_event").await, 1);
    // Handed to the mirror once more directly: recognised by its dedupe key.
    let (tap, mut messages) = Receiver::channel(crypto(), 1);
    assert_eq!(tap.handle("POST", &query, body.as_bytes()).await.status, 200);
    let message = messages.recv().await.unwrap();
    assert_eq!(second.apply_event(&message).await.unwrap(), EventOutcome::Duplicate);
    assert_eq!(first.apply_event(&message).await.unwrap(), EventOutcome::Duplicate);
}
both!(a_redelivery_is_stored_once_whichever_instance_receives_it);

async fn reordered_and_dropped_events_converge(db: TestDb) {
    let sim = sim().await;
    let mirror = mirror(&sim, &db).await;
    mirror.reconcile().await.unwrap();
    let store = mirror.store();
    let ids = sim_chat_ids(&sim).await;
    let receiver = Receiver::new(crypto(), mirror.callback_handler());
    let (a, members) = chat_with_members(&sim, &ids, 4, 2);
    let v = store.chat(&a).await.unwrap().unwrap().member_version.unwrap();
    sim.reset_stats();
    // Two departures delivered in the wrong order: the second does not follow the stored version (a get is
    // queued), the first then joins that get instead of being applied under it.
    let e1 = member_change(&a, UpdateDetail::DelMember, &v, "x1", &members[1..2]);
    let e2 = member_change(&a, UpdateDetail::DelMember, "x1", "x2", &members[2..3]);
    assert_eq!(deliver(&receiver, e2, 1_764_000_002).await.status, 200);
    assert_eq!(deliver(&receiver, e1, 1_764_000_001).await.status, 200);
    // An event that never comes (dropped) leaves a chat behind until the next reconcile.
    let (b, b_members) = chat_with_members(&sim, &ids, 3, 3);
    sqlx::query("DELETE FROM group_chat_member WHERE chat_id = $1 AND userid = $2")
        .bind(b.as_str())
        .bind(b_members[1].as_str())
        .execute(store.pool())
        .await
        .unwrap();
    mirror.work_queue().await.unwrap();
    assert_eq!(sim.calls("get"), 1, "the two reordered events made one get");
    assert_eq!(store.members(&a).await.unwrap(), expected_members(&sim.group_chat(&a).unwrap()));
    mirror.reconcile().await.unwrap();
    assert_mirrors(&sim, store, &[]).await;
}
both!(reordered_and_dropped_events_converge);

async fn a_dismissal_during_a_get_is_not_undone_by_its_older_answer(db: TestDb) {
    use wecom_groupchat_sync::ChangeKind;
    let sim = sim().await;
    let recorder = Recorder::default();
    // Each get is held long enough to look at the rows between the first answer and the second.
    let hold = Duration::from_millis(1500);
    let proxy = recording_proxy(&sim, recorder.clone(), hold).await;
    let mirror = Mirror::new(db.open().await, client_at(&sim, &proxy), options()).unwrap();
    let store = mirror.store().clone();
    let chat = sim_chat_ids(&sim).await[7].clone();
    let receiver = Receiver::new(crypto(), mirror.callback_handler());
    let mut rename = ChangeExternalChat::new(&chat, ChangeType::Update);
    rename.update_detail = Some(UpdateDetail::ChangeName);
    assert_eq!(deliver(&receiver, rename, 1_764_000_300).await.status, 200);
    let mut changes = mirror.subscribe();
    let working = tokio::spawn({
        let mirror = mirror.clone();
        async move { mirror.work_queue().await }
    });
    eventually(Duration::from_secs(30), "the get is in flight", || async { recorder.gets().len() == 1 }).await;
    // The chat is dismissed while its get is in flight: the answer, from before, comes after.
    let dismissal = ChangeExternalChat::new(&chat, ChangeType::Dismiss);
    assert_eq!(deliver(&receiver, dismissal, 1_764_000_301).await.status, 200);
    assert!(store.chat(&chat).await.unwrap().unwrap().dismissed);
    let change = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match changes.recv().await.unwrap() {
                c if c.chat_id == chat && c.kind == ChangeKind::Stored => break c,
                _ => {}
            }
        }
    })
    .await
    .expect("the first answer is stored");
    assert_eq!(change.kind, ChangeKind::Stored);
    let row = store.chat(&chat).await.unwrap().unwrap();
    assert!(row.dismissed, "the older answer undid the dismissal");
    assert!(row.synced_at.is_some(), "the answer itself was stored");
    // The second get (queued by the dismissal, held in the proxy) finds the chat gone.
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let answer = http
        .post(format!("{}/__sim/chats/{chat}/dismiss", sim.base_url()))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    tokio::time::timeout(Duration::from_secs(60), working).await.expect("the queue is worked").unwrap().unwrap();
    assert_eq!(recorder.gets(), [chat.clone(), chat.clone()]);
    assert!(store.chat(&chat).await.unwrap().unwrap().dismissed);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM sync_queue").await, 0);
}
both!(a_dismissal_during_a_get_is_not_undone_by_its_older_answer);

async fn events_are_refused_while_the_database_is_away_and_taken_when_it_is_back(db: TestDb) {
    let sim = sim().await;
    let mirror = mirror(&sim, &db).await;
    mirror.reconcile().await.unwrap();
    let ids = sim_chat_ids(&sim).await;
    let (query, body) = seal(ChangeExternalChat::new(&ids[5], ChangeType::Dismiss), 1_764_000_200);
    let receiver = Receiver::new(crypto(), mirror.callback_handler());
    mirror.store().close().await;
    assert_eq!(receiver.handle("POST", &query, body.as_bytes()).await.status, 503, "WeCom must deliver it again");

    let back = Mirror::new(db.open().await, client(&sim), options()).unwrap();
    assert_eq!(count(back.store(), "SELECT COUNT(*) FROM sync_event").await, 0, "nothing stored");
    let receiver = Receiver::new(crypto(), back.callback_handler());
    let answer = receiver.handle("POST", &query, body.as_bytes()).await;
    assert_eq!(answer.status, 200);
    // Acknowledged only once committed: the row is there as soon as the 200 is.
    assert_eq!(count(back.store(), "SELECT COUNT(*) FROM sync_event").await, 1);
    assert!(back.store().chat(&ids[5]).await.unwrap().unwrap().dismissed);
}
both!(events_are_refused_while_the_database_is_away_and_taken_when_it_is_back);

async fn a_run_stopped_mid_way_resumes_without_fetching_stored_chats_again(db: TestDb) {
    let sim = sim_with(SimConfig::default().faults(Faults::default().latency(Duration::from_millis(15)))).await;
    let recorder = Recorder::default();
    let proxy = recording_proxy(&sim, recorder.clone(), Duration::ZERO).await;
    let lease = Duration::from_secs(3);
    let first =
        Mirror::new(db.open().await, client_at(&sim, &proxy), options().lease(lease).concurrency(4).worker_id("first"))
            .unwrap();
    let store = first.store().clone();
    let running = tokio::spawn({
        let first = first.clone();
        async move { first.reconcile().await }
    });
    // Stopped dead (like a killed process) once a third of the chats are stored.
    let chats = sim.hints().chats as i64;
    eventually(Duration::from_secs(60), "a third stored", || async {
        count(&store, "SELECT COUNT(*) FROM group_chat").await >= chats / 3
    })
    .await;
    running.abort();
    let _ = running.await;
    drop(first);
    store.close().await;

    let reopened = db.open().await;
    let stored: HashSet<String> = sqlx::query("SELECT chat_id FROM group_chat")
        .fetch_all(reopened.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String, _>(0).unwrap())
        .collect();
    assert!((stored.len() as i64) < chats);
    recorder.clear();
    let second =
        Mirror::new(reopened, client_at(&sim, &proxy), options().lease(lease).concurrency(4).worker_id("second"))
            .unwrap();
    let report = second.reconcile().await.unwrap();
    assert!(!report.listed_here, "the listing was complete: not done again");
    assert_eq!(report.run.listed, chats);
    let again: Vec<String> = recorder.gets().into_iter().filter(|c| stored.contains(c)).collect();
    assert!(again.is_empty(), "stored chats fetched again: {again:?}");
    assert_eq!(recorder.gets().len() as i64, chats - stored.len() as i64, "each chat left fetched once");
    assert_mirrors(&sim, second.store(), &[]).await;
}
both!(a_run_stopped_mid_way_resumes_without_fetching_stored_chats_again);

async fn the_database_failing_mid_run_is_a_clear_error_with_the_queue_intact(db: TestDb) {
    let sim = sim_with(SimConfig::default().faults(Faults::default().latency(Duration::from_millis(10)))).await;
    let first = Mirror::new(db.open().await, client(&sim), options().concurrency(4)).unwrap();
    let store = first.store().clone();
    let chats = sim.hints().chats as i64;
    let closer = tokio::spawn({
        let store = store.clone();
        async move {
            eventually(Duration::from_secs(60), "some stored", || async {
                sqlx::query("SELECT COUNT(*) FROM group_chat")
                    .fetch_one(store.pool())
                    .await
                    .map(|r| r.try_get::<i64, _>(0).unwrap_or(0) >= 50)
                    .unwrap_or(false)
            })
            .await;
            store.close().await;
        }
    });
    let error = first.reconcile().await.unwrap_err();
    closer.await.unwrap();
    assert!(matches!(error, SyncError::Database { .. }), "{error:?}");
    assert!(error.to_string().contains("the queue is intact"), "{error}");

    let second = Mirror::new(db.open().await, client(&sim), options()).unwrap();
    let status = second.store().status(3).await.unwrap();
    assert_eq!(status.chats + status.queued, chats, "every chat is stored or still queued");
    let report = second.reconcile().await.unwrap();
    assert_eq!(report.run.listed, chats);
    assert_mirrors(&sim, second.store(), &[]).await;
}
both!(the_database_failing_mid_run_is_a_clear_error_with_the_queue_intact);

async fn two_workers_share_the_queue_and_never_fetch_one_chat_at_once(db: TestDb) {
    let sim = sim().await;
    let recorder = Recorder::default();
    // Each get is held a little, so that two workers taking the same chat would overlap.
    let proxy = recording_proxy(&sim, recorder.clone(), Duration::from_millis(10)).await;
    let worker = async |name: &str| {
        Mirror::new(db.open().await, client_at(&sim, &proxy), options().concurrency(8).worker_id(name)).unwrap()
    };
    let (a, b) = (worker("a").await, worker("b").await);
    let (ra, rb) = tokio::join!(a.reconcile(), b.reconcile());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.run.id, rb.run.id, "one run, worked by both");
    assert!(ra.listed_here != rb.listed_here, "listed once");
    assert_eq!(recorder.overlapping(), Vec::<String>::new(), "a chat fetched by two workers at once");
    let counts = recorder.counts();
    assert_eq!(counts.len(), sim.hints().chats);
    assert!(counts.values().all(|n| *n == 1), "each chat fetched once");
    assert!(a.progress().fetched > 0 && b.progress().fetched > 0, "both worked: {:?} {:?}", a.progress(), b.progress());
    assert_mirrors(&sim, a.store(), &[]).await;
}
both!(two_workers_share_the_queue_and_never_fetch_one_chat_at_once);

async fn above_1000_visible_staff_chats_are_listed_by_owner_batches(db: TestDb) {
    let visible = wecom_groupchat::api::VISIBLE_STAFF_WITHOUT_OWNER_FILTER as usize + 1;
    let wide = sim_with(SimConfig::default().visible_staff(visible)).await;
    // The same company, where listing without an owner filter is allowed.
    let narrow = sim().await;
    let hints = wide.hints();
    let follow: HashSet<String> = client(&wide)
        .get_follow_user_list(&wecom_groupchat::types::GetFollowUserListRequest::new())
        .await
        .unwrap()
        .follow_user
        .unwrap_or_default()
        .into_iter()
        .collect();
    let ids = sim_chat_ids(&narrow).await;
    let of_followers =
        ids.iter().filter(|id| wide.group_chat(id).unwrap().owner.is_some_and(|o| follow.contains(&o))).count();
    assert!(of_followers < hints.chats, "the demo company has chats of resigned owners");
    wide.reset_stats();
    // A fresh mirror knows no resigned owner yet: get_follow_user_list names the staff still employed.
    let fresh = mirror(&wide, &db).await;
    let report = fresh.reconcile().await.unwrap();
    assert_eq!(report.run.list_mode.as_deref(), Some("owners"));
    assert_eq!(report.run.listed as usize, of_followers);
    assert_eq!(wide.calls("get_follow_user_list"), 1);

    // Once the mirror knows them (here from a listing of the same company that was allowed without an
    // owner filter), their chats are listed too.
    let knows = Mirror::new(fresh.store().clone(), client(&narrow), options()).unwrap();
    knows.reconcile().await.unwrap();
    let report = fresh.reconcile().await.unwrap();
    assert_eq!(report.run.list_mode.as_deref(), Some("owners"));
    assert_eq!(report.run.listed as usize, hints.chats);
    assert_mirrors(&narrow, fresh.store(), &[]).await;
}
both!(above_1000_visible_staff_chats_are_listed_by_owner_batches);

async fn a_wide_company_is_listed_by_many_owner_batches_of_at_most_the_filter_limit(db: TestDb) {
    use wecom_groupchat::types::OwnerFilter;
    use wecom_groupchat_sim::{DataSource, Scale};
    // Enough staff for at least three batches of owners, and a visible range WeCom answers 81017 for.
    let staff = 2 * OwnerFilter::USERID_LIST_MAX_ITEMS + OwnerFilter::USERID_LIST_MAX_ITEMS / 2;
    let company = DataSource::Scale(Scale::groups(400).staff(staff));
    let visible = wecom_groupchat::api::VISIBLE_STAFF_WITHOUT_OWNER_FILTER as usize + 1;
    let wide = sim_with(SimConfig::default().data(company.clone()).visible_staff(visible)).await;
    // The same company, where listing without an owner filter is allowed (it tells the resigned owners).
    let narrow = sim_with(SimConfig::default().data(company)).await;
    let chats = wide.hints().chats;
    assert_eq!(sim_chat_ids(&narrow).await.len(), chats);
    let recorder = Recorder::default();
    let proxy = recording_proxy(&wide, recorder.clone(), Duration::ZERO).await;
    let store = db.open().await;
    Mirror::new(store.clone(), client(&narrow), options()).unwrap().reconcile().await.unwrap();

    let mirror = Mirror::new(store, client_at(&wide, &proxy), options()).unwrap();
    let report = mirror.reconcile().await.unwrap();
    assert_eq!(report.run.list_mode.as_deref(), Some("owners"));
    assert_eq!(report.run.listed as usize, chats, "every chat listed");
    let filters = recorder.owner_filters();
    assert_eq!(filters.first(), Some(&None), "first listed without an owner filter (answered 81017)");
    let batches: Vec<&Vec<String>> = filters.iter().flatten().collect();
    assert_eq!(batches.len(), filters.len() - 1, "every call after the 81017 has an owner filter");
    assert!(batches.len() >= 3, "listed by {} batches", batches.len());
    for batch in &batches {
        assert!(
            !batch.is_empty() && batch.len() <= OwnerFilter::USERID_LIST_MAX_ITEMS,
            "a batch of {} owners",
            batch.len()
        );
    }
    let named: HashSet<&String> = batches.iter().copied().flatten().collect();
    assert_eq!(named.len(), batches.iter().map(|b| b.len()).sum::<usize>(), "no owner in two batches");
    // Every chat's owner was in a batch, and every chat was fetched by this run.
    for id in sim_chat_ids(&narrow).await {
        let owner = wide.group_chat(&id).unwrap().owner.unwrap();
        assert!(named.contains(&owner), "{id}: its owner {owner} was in no batch");
    }
    let fetched: HashSet<String> = recorder.gets().into_iter().collect();
    assert_eq!(fetched.len(), chats, "each chat fetched");
    assert_mirrors(&narrow, mirror.store(), &[]).await;
}
both!(a_wide_company_is_listed_by_many_owner_batches_of_at_most_the_filter_limit);

async fn chats_that_keep_failing_stay_queued_and_the_run_says_so(db: TestDb) {
    let sim = sim().await;
    sim.inject(ScriptedFault::new(Some("get"), FaultKind::Errcode(codes::CHAT_IDS_NOT_UPGRADED), 3)).unwrap();
    let mirror = Mirror::new(db.open().await, client(&sim), options().max_attempts(1)).unwrap();
    let report = mirror.reconcile().await.unwrap();
    assert!(report.partial());
    assert_eq!(report.run.failed, 3);
    assert_eq!(report.run.fetched, sim.hints().chats as i64 - 3);
    let status = mirror.store().status(1).await.unwrap();
    assert_eq!((status.queued, status.failed), (3, 3));
    let error: Option<String> = sqlx::query("SELECT last_error FROM sync_queue LIMIT 1")
        .fetch_one(mirror.store().pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert!(error.unwrap_or_default().contains(&codes::CHAT_IDS_NOT_UPGRADED.to_string()));

    // The next run tries them again.
    let report = mirror.reconcile().await.unwrap();
    assert!(!report.partial());
    assert_eq!(mirror.store().status(1).await.unwrap().queued, 0);
    assert_mirrors(&sim, mirror.store(), &[]).await;
}
both!(chats_that_keep_failing_stay_queued_and_the_run_says_so);

#[tokio::test]
async fn a_wrong_secret_stops_the_run_before_any_chat_is_marked() {
    sqlx::any::install_default_drivers();
    let sim = sim().await;
    let db = TestDb::sqlite();
    let client =
        sim.client_builder().corp_credentials(sim.corp_id(), "not-the-secret").retry(fast_retry()).build().unwrap();
    let mirror = Mirror::new(db.open().await, client, SyncOptions::default()).unwrap();
    let error = mirror.reconcile().await.unwrap_err();
    assert!(matches!(error, SyncError::Api(_)), "{error:?}");
    assert_eq!(mirror.store().status(3).await.unwrap().chats, 0);
}

async fn a_database_of_a_newer_schema_is_refused(db: TestDb) {
    let store = db.open().await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99991231000000, 'from a newer build', TRUE, $1, 0)",
    )
    .bind(vec![0u8; 48])
    .execute(store.pool())
    .await
    .unwrap();
    store.close().await;
    let error = wecom_groupchat_sync::Store::open(&db.url).await.unwrap_err();
    assert!(matches!(error, SyncError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().contains("99991231000000"), "{error}");
}
both!(a_database_of_a_newer_schema_is_refused);

async fn a_listing_stopped_mid_way_goes_on_from_its_last_page(db: TestDb) {
    use wecom_groupchat_sim::{DataSource, Scale};
    // Three pages of chats; the second page's call fails, which stops the run mid-listing.
    let sim = sim_with(SimConfig::default().data(DataSource::Scale(Scale::groups(2_500)))).await;
    let recorder = Recorder::default();
    let proxy = recording_proxy(&sim, recorder.clone(), Duration::ZERO).await;
    recorder.fail_list_call(2);
    let lease = Duration::from_secs(3);
    let first =
        Mirror::new(db.open().await, client_at(&sim, &proxy), options().lease(lease).worker_id("first")).unwrap();
    let error = first.reconcile().await.unwrap_err();
    assert!(matches!(error, SyncError::Api(_)), "{error:?}");
    let open = first.store().last_run().await.unwrap().unwrap();
    assert!(open.finished_at.is_none() && open.listed_at.is_none());
    assert_eq!(
        open.listed,
        wecom_groupchat::types::ListRequest::LIMIT_MAX,
        "the first page is queued, with the listing's progress"
    );

    let second =
        Mirror::new(db.open().await, client_at(&sim, &proxy), options().lease(lease).worker_id("second")).unwrap();
    let report = second.reconcile().await.unwrap();
    assert_eq!(report.run.id, open.id);
    assert_eq!(report.run.listed, 2_500);
    assert_eq!(recorder.lists(), 4, "pages 1 and 2 (refused), then 2 and 3 from the saved cursor");
    let counts = recorder.counts();
    assert_eq!(counts.len(), 2_500);
    assert!(counts.values().all(|n| *n == 1), "no chat fetched twice");
    assert_eq!(second.store().status(3).await.unwrap().chats, 2_500);
}
both!(a_listing_stopped_mid_way_goes_on_from_its_last_page);
