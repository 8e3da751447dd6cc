//! `demo`: starts the simulator in-process (a demo company with staff, resigned colleagues, customer
//! groups, join ways and 180 days of statistics) and walks through every endpoint with readable output.
//! No WeCom account is needed.

use std::collections::BTreeMap;

use futures::TryStreamExt;
use serde_json::json;
use wecom_groupchat::bulk::ItemOutcome;
use wecom_groupchat::callback::{CallbackCrypto, CallbackMessage, Receiver};
use wecom_groupchat::events::{Event, QuitScene};
use wecom_groupchat::time::{self, day_before, now_unix};
use wecom_groupchat::types::{
    AddJoinWayRequest, DelJoinWayRequest, GetJoinWayRequest, GetRequest, JoinWayScene, ListRequest, NeedName,
    OnjobTransferRequest, OpengidToChatidRequest, OwnerFilter, StatisticData, StatisticGroupByDayRequest,
    StatisticOrderBy, StatisticRequest, StatusFilter, TransferRequest, UpdateJoinWayRequest,
};
use wecom_groupchat::types::{JoinScene, MemberType};
use wecom_groupchat::wire::WireEnum;
use wecom_groupchat::{Client, Error};
use wecom_groupchat_sim::{CallbackFaults, CallbackTarget, SimConfig, Simulator};

use crate::args::Output;
use crate::commands::get::{datetime, named};
use crate::failure::{Failure, Outcome};
use crate::output::{Rows, line};

fn heading(n: usize, title: &str) -> Outcome {
    line(&format!("\n{n}. {title}\n{}", "─".repeat(72)))
}

/// A table of the main statistic figures, one row per key (an owner or a day).
fn statistics_table(key: &str, rows: impl Iterator<Item = (serde_json::Value, Option<StatisticData>)>) -> Outcome {
    let mut table = Rows::new(&[key, "new_chat_cnt", "chat_total", "new_member_cnt", "member_total", "msg_total"]);
    for (k, data) in rows {
        let d = data.unwrap_or_default();
        table.push(vec![
            k,
            json!(d.new_chat_cnt),
            json!(d.chat_total),
            json!(d.new_member_cnt),
            json!(d.member_total),
            json!(d.msg_total),
        ]);
    }
    table.print(Output::Table)
}

/// The callback settings the demo's simulator and receiver share (a demo's, not a secret).
const DEMO_CALLBACK_TOKEN: &str = "demo-callback-token";
const DEMO_CALLBACK_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

pub async fn run() -> Outcome {
    // A callback receiver on loopback first: the simulator pushes its events there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Failure::Io(format!("cannot listen for callbacks: {e}")))?;
    let callback_url = format!(
        "http://{}/callback",
        listener.local_addr().map_err(|e| Failure::Io(format!("cannot listen for callbacks: {e}")))?
    );
    let config = SimConfig::default();
    let crypto = CallbackCrypto::new(DEMO_CALLBACK_TOKEN, DEMO_CALLBACK_KEY, &config.corp_id)
        .map_err(|e| Failure::Io(format!("callback settings: {e}")))?;
    let (receiver, events) = Receiver::channel(crypto, 64);
    let app = wecom_groupchat::callback::axum::router(receiver, "/callback");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let config = config.callback(CallbackTarget::new(callback_url, DEMO_CALLBACK_TOKEN, DEMO_CALLBACK_KEY));
    let sim = Simulator::start(config).await.map_err(|e| Failure::Io(format!("cannot start the simulator: {e}")))?;
    let hints = sim.hints();
    line("wecom-groupchat demo — the whole customer group chat API against the embedded simulator")?;
    line(&format!(
        "simulator: {} · corp id {} · demo company: {} staff, {} customer groups",
        sim.base_url(),
        sim.corp_id(),
        hints.staff,
        hints.chats
    ))?;
    // The same client an application would build: corp id + secret, tokens fetched and cached.
    let client = Client::builder()
        .base_url(sim.base_url())
        .corp_credentials(sim.corp_id(), sim.corp_secret())
        .build()
        .map_err(Failure::Call)?;

    // 1. list
    heading(1, "list — every customer group, page after page (groupchat/list, cursor paging)")?;
    let mut by_status: BTreeMap<i64, usize> = BTreeMap::new();
    let mut pages_of = 0usize;
    let chats: Vec<_> = client.list_stream(ListRequest::new(100)).inspect_ok(|_| pages_of += 1).try_collect().await?;
    for chat in &chats {
        *by_status.entry(chat.status.map_or(-1, |s| s.value())).or_default() += 1;
    }
    let mut rows = Rows::new(&["status", "chats"]);
    for (status, n) in &by_status {
        rows.push(vec![named(Some(wecom_groupchat::types::ChatStatus::from(*status))), json!(n)]);
    }
    rows.print(Output::Table)?;
    line(&format!("{} chats in pages of 100 (list_stream follows next_cursor until it is empty)", chats.len()))?;

    // 2. get
    heading(2, "get — one group with its members (groupchat/get, need_name = 1)")?;
    let chat_id = chats.first().map(|c| c.chat_id.clone()).unwrap_or_default();
    let chat = client.get(&GetRequest::new(&chat_id).need_name(NeedName::Yes)).await?.group_chat;
    line(&format!(
        "{} · \"{}\" · owner {} · created {} · {} members · admins: {}",
        chat.chat_id,
        chat.name.clone().unwrap_or_default(),
        chat.owner.clone().unwrap_or_default(),
        datetime(chat.create_time).as_str().unwrap_or_default(),
        chat.member_list.as_ref().map_or(0, Vec::len),
        match chat.admin_list.iter().flatten().filter_map(|a| a.userid.as_deref()).collect::<Vec<_>>().join(", ") {
            admins if admins.is_empty() => "none".to_string(),
            admins => admins,
        },
    ))?;
    let mut members = Rows::new(&["userid", "type", "name", "join_scene", "invitor", "state"]);
    let member_list = chat.member_list.unwrap_or_default();
    for m in member_list.iter().take(8) {
        members.push(vec![
            json!(m.userid),
            named(m.member_type),
            json!(m.name),
            named(m.join_scene),
            json!(m.invitor.as_ref().map(|i| i.userid.clone())),
            json!(m.state),
        ]);
    }
    members.print(Output::Table)?;
    if member_list.len() > 8 {
        line(&format!("… and {} more", member_list.len() - 8))?;
    }
    if let Some(hint) = hints.opengids.first() {
        let converted = client.opengid_to_chatid(&OpengidToChatidRequest::new(&hint.opengid)).await?;
        line(&format!("opengid_to_chatid: {} → {}", hint.opengid, converted.chat_id))?;
    }

    // 3. statistics
    heading(3, "statistic, statistic_group_by_day — the last 7 days (UTC+8 days, up to yesterday)")?;
    let owners: Vec<String> = hints.statistic_owners.iter().take(20).cloned().collect();
    let now = now_unix();
    let (from, to) = (day_before(now, 7), day_before(now, 1));
    let request = StatisticRequest::new(from)
        .owner_filter(OwnerFilter::new(owners.clone()))
        .day_end_time(to)
        .order_by(StatisticOrderBy::ChatTotal)
        .limit(5);
    let top = client.statistic(&request).await?;
    line(&format!(
        "by owner, {} to {}, sorted by chat_total (first page of {} owners):",
        time::format_day(from),
        time::format_day(to),
        top.total.unwrap_or_default()
    ))?;
    let owner_rows = top.items.iter().flatten().map(|item| (json!(item.owner), item.data.clone()));
    statistics_table("owner", owner_rows)?;
    line("by day, summed over the same owners:")?;
    let by_day = client
        .statistic_group_by_day(
            &StatisticGroupByDayRequest::new(from).owner_filter(OwnerFilter::new(owners)).day_end_time(to),
        )
        .await?;
    let day_rows =
        by_day.items.iter().flatten().map(|item| (json!(item.stat_time.map(time::format_day)), item.data.clone()));
    statistics_table("day", day_rows)?;

    // 4. join ways
    heading(4, "add_join_way, get_join_way, update_join_way, del_join_way — a 「加入群聊」 QR code")?;
    let two: Vec<String> = chats.iter().take(2).map(|c| c.chat_id.clone()).collect();
    let add = AddJoinWayRequest::new(JoinWayScene::QrCode, two.clone())
        .remark("demo: spring campaign")
        .room_base_name("春季活动群")
        .room_base_id(1)
        .state("demo-channel");
    let config_id = client.add_join_way(&add).await?.config_id;
    line(&format!("added {config_id} for chats {}", two.join(", ")))?;
    let way = client.get_join_way(&GetJoinWayRequest::new(&config_id)).await?.join_way;
    line(&format!(
        "get: scene {} · remark {:?} · state {:?} · qr_code {}",
        named(way.scene).as_str().unwrap_or_default(),
        way.remark.unwrap_or_default(),
        way.state.unwrap_or_default(),
        way.qr_code.unwrap_or_default()
    ))?;
    let three: Vec<String> = chats.iter().take(3).map(|c| c.chat_id.clone()).collect();
    // WeCom overwrites the whole config on update: send every field.
    let update = UpdateJoinWayRequest::new(&config_id, JoinWayScene::QrCode, three.clone())
        .remark("demo: spring, 3 groups")
        .state("demo-channel");
    client.update_join_way(&update).await?;
    let way = client.get_join_way(&GetJoinWayRequest::new(&config_id)).await?.join_way;
    line(&format!(
        "updated: {} chats, remark {:?}",
        way.chat_id_list.unwrap_or_default().len(),
        way.remark.unwrap_or_default()
    ))?;
    client.del_join_way(&DelJoinWayRequest::new(&config_id)).await?;
    match client.get_join_way(&GetJoinWayRequest::new(&config_id)).await {
        Err(Error::Api(e)) => line(&format!("deleted; reading it again answers errcode {}: {}", e.code, e.message))?,
        other => line(&format!("deleted; reading it again: {other:?}"))?,
    }

    // 5. transfer
    heading(5, "transfer, onjob_transfer — hand groups to a new owner (离职继承, 在职继承)")?;
    let (Some(resigned), Some(new_owner)) = (hints.resigned_owners.first(), hints.eligible_new_owners.first()) else {
        return Err(Failure::Io("the demo company has no resigned owner with chats".into()));
    };
    let waiting: Vec<String> = client
        .list_stream(
            ListRequest::new(ListRequest::LIMIT_MAX)
                .status_filter(StatusFilter::Resigned)
                .owner_filter(OwnerFilter::new([resigned.userid.clone()])),
        )
        .map_ok(|c| c.chat_id)
        .try_collect()
        .await?;
    line(&format!(
        "{} resigned; {} of their groups await transfer; new owner: {new_owner}",
        resigned.userid,
        waiting.len()
    ))?;
    // One chat of an active owner slips into the list, to show a per-chat failure in the report.
    let mut ids = waiting.clone();
    if let Some(active) = hints.active_owners.first().and_then(|o| o.chat_ids.first()) {
        ids.push(active.clone());
    }
    let report = client.transfer_batched(TransferRequest::new(ids, new_owner.clone())).await?;
    // The full report has a row per chat; show a few successes and every other outcome.
    let shown = report
        .items
        .iter()
        .filter(|i| i.outcome == ItemOutcome::Succeeded)
        .take(3)
        .chain(report.items.iter().filter(|i| i.outcome != ItemOutcome::Succeeded));
    crate::commands::transfer::report_rows(shown).print(Output::Table)?;
    line(&format!("… one row per chat in the full report: {report}"))?;
    let moved: std::collections::HashSet<&str> = report.succeeded().collect();
    let transferring = client
        .list_stream(
            ListRequest::new(ListRequest::LIMIT_MAX)
                .status_filter(StatusFilter::Transferring)
                .owner_filter(OwnerFilter::new([resigned.userid.clone()])),
        )
        .try_collect::<Vec<_>>()
        .await?;
    sim.settle_transfers();
    let settled = client
        .list_stream(
            ListRequest::new(ListRequest::LIMIT_MAX)
                .status_filter(StatusFilter::Transferred)
                .owner_filter(OwnerFilter::new([new_owner.clone()])),
        )
        .try_collect::<Vec<_>>()
        .await?
        .into_iter()
        .filter(|c| moved.contains(c.chat_id.as_str()))
        .count();
    line(&format!(
        "status: {} groups 离职继承中 (transferring) right after the call; once WeCom settles them, {settled} are \
         离职继承完成 (transferred) and owned by {new_owner}",
        transferring.len()
    ))?;

    // 5b. onjob_transfer
    line("")?;
    line("onjob_transfer — hand a group of a colleague who is still employed to another (在职继承):")?;
    let onjob = hints.active_owners.iter().find_map(|owner| {
        // Not the chat that failed above; a new owner other than the current one.
        let chat = owner.chat_ids.get(1)?;
        let to = hints.eligible_new_owners.iter().find(|u| **u != owner.userid)?;
        Some((owner.userid.clone(), chat.clone(), to.clone()))
    });
    if let Some((from, chat, to)) = onjob {
        let answer = client.onjob_transfer(&OnjobTransferRequest::new([chat.clone()], to.clone())).await?;
        let failed = answer.failed_chat_list.unwrap_or_default();
        match failed.first() {
            None => {
                let now_owner = client.get(&GetRequest::new(&chat)).await?.group_chat.owner.unwrap_or_default();
                line(&format!(
                    "{chat}: {from} → {to}; takes effect at once (owner now {now_owner}); each chat at most twice in 90 days"
                ))?;
            }
            Some(f) => line(&format!(
                "{chat}: not transferred, errcode {}: {}",
                f.errcode.unwrap_or_default(),
                f.errmsg.clone().unwrap_or_default()
            ))?,
        }
    }

    // 6. validation and errors
    heading(6, "validation and errors — documented limits are checked before anything is sent")?;
    let six: Vec<String> = chats.iter().take(6).map(|c| c.chat_id.clone()).collect();
    let calls_before = sim.stats().total_calls;
    match client.add_join_way(&AddJoinWayRequest::new(JoinWayScene::QrCode, six)).await {
        Err(e @ Error::Validation { .. }) => line(&format!("refused: {e}"))?,
        other => line(&format!("unexpected: {other:?}"))?,
    }
    let today = time::day_start(now);
    match client.statistic(&StatisticRequest::new(today).owner_filter(OwnerFilter::new(["x"]))).await {
        Err(e @ Error::Validation { .. }) => line(&format!("refused: {e}"))?,
        other => line(&format!("unexpected: {other:?}"))?,
    }
    line(&format!("requests sent for those two: {}", sim.stats().total_calls - calls_before))?;
    match client.get(&GetRequest::new("wrNoSuchChatAAAA")).await {
        Err(e) => line(&format!("an API error, typed: {e}"))?,
        Ok(_) => line("unexpected success")?,
    }

    // 7. callback events
    let mut events = events;
    callback_events(&sim, &client, &mut events).await?;

    // 8. a mirror
    mirror_step(&sim, &client, &mut events).await?;
    server.abort();

    // Summary
    heading(9, "what went over the wire")?;
    let stats = sim.stats();
    let mut rows = Rows::new(&["endpoint", "calls"]);
    for (endpoint, n) in stats.calls.iter().filter(|(_, n)| **n > 0) {
        rows.push(vec![json!(endpoint), json!(n)]);
    }
    rows.print(Output::Table)?;
    line(&format!(
        "{} calls in all; gettoken called {} time(s): the token was fetched once and cached",
        stats.total_calls, stats.gettoken_calls
    ))?;
    sim.shutdown().await;
    Ok(())
}

/// How long a call to a simulator control path may take.
const CONTROL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The HTTP client of the simulator's control paths (bounded: a stuck simulator fails the step).
fn control_http() -> Result<reqwest::Client, Failure> {
    reqwest::Client::builder()
        .timeout(CONTROL_TIMEOUT)
        .build()
        .map_err(|e| Failure::Io(format!("simulator control client: {e}")))
}

/// Step 7: people change a group in the WeCom app (the simulator's control paths play them); the simulator
/// pushes each change as a signed, encrypted `change_external_chat` to the receiver, which hands it over typed.
async fn callback_events(
    sim: &Simulator,
    client: &Client,
    events: &mut tokio::sync::mpsc::Receiver<CallbackMessage>,
) -> Outcome {
    heading(7, "callback events — changes made in the WeCom app, pushed signed and encrypted to a receiver")?;
    let hints = sim.hints();
    let (Some(owner), Some(new_owner)) = (hints.eligible_new_owners.first(), hints.eligible_new_owners.get(1)) else {
        return line("(the demo company has too few staff for this step)");
    };
    let http = control_http()?;
    let control = |path: String, body: serde_json::Value| {
        let request = http
            .post(format!("{}/__sim/chats{path}", sim.base_url()))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        async move {
            let answer = request.send().await.map_err(|e| Failure::Io(format!("simulator control path: {e}")))?;
            let status = answer.status();
            let text = answer.text().await.map_err(|e| Failure::Io(format!("simulator control path: {e}")))?;
            if !status.is_success() {
                return Err(Failure::Io(format!("simulator control path {path}: {status} {text}")));
            }
            serde_json::from_str::<serde_json::Value>(&text)
                .map_err(|e| Failure::Io(format!("simulator control path: {e}")))
        }
    };
    let created = control(
        String::new(),
        json!({"owner": owner, "name": "VIP customers", "members": ["wmDemoGuestA", "wmDemoGuestB"]}),
    )
    .await?;
    let chat_id = created["chat_id"].as_str().unwrap_or_default().to_string();
    let before = client.get(&GetRequest::new(&chat_id)).await?.group_chat.member_version.unwrap_or_default();
    let guest = json!({
        "userid": "wmDemoGuestC",
        "type": i64::from(MemberType::External),
        "join_scene": i64::from(JoinScene::QrCode),
    });
    control(format!("/{chat_id}/join"), json!({"members": [guest]})).await?;
    let removed = i64::from(QuitScene::Removed);
    control(format!("/{chat_id}/quit"), json!({"userids": ["wmDemoGuestA"], "quit_scene": removed})).await?;
    control(format!("/{chat_id}/rename"), json!({"name": "VIP customers 2026"})).await?;
    control(format!("/{chat_id}/notice"), json!({"notice": "Welcome! Office hours 9–18."})).await?;
    control(format!("/{chat_id}/owner"), json!({"new_owner": new_owner})).await?;
    let after = client.get(&GetRequest::new(&chat_id)).await?.group_chat.member_version.unwrap_or_default();
    // A redelivery: the same event delivered twice, sealed afresh each time; the receiver hands it over once.
    sim.set_callback_faults(CallbackFaults::none().duplicate(1.0)).map_err(|e| Failure::Io(e.to_string()))?;
    control(format!("/{chat_id}/dismiss"), json!({})).await?;
    if tokio::time::timeout(std::time::Duration::from_secs(30), sim.callbacks_idle()).await.is_err() {
        return line("(the deliveries did not finish within 30 s)");
    }
    sim.set_callback_faults(CallbackFaults::none()).map_err(|e| Failure::Io(e.to_string()))?;

    let short = |v: &Option<String>| v.as_deref().map(|v| v.chars().take(8).collect::<String>()).unwrap_or_default();
    let mut rows = Rows::new(&["change_type", "update_detail", "members", "last_mem_ver", "cur_mem_ver", "dedupe_key"]);
    let mut handed_over = 0;
    let (mut first_last, mut last_cur) = (None, None);
    while let Ok(message) = events.try_recv() {
        handed_over += 1;
        if let Event::ChangeExternalChat(change) = &message.event.event {
            if change.last_mem_ver.is_some() {
                first_last = first_last.or(change.last_mem_ver.clone());
                last_cur = change.cur_mem_ver.clone();
            }
            rows.push(vec![
                json!(change.change_type.as_str()),
                json!(change.update_detail.as_ref().map(|d| d.as_str().to_string())),
                json!(change.mem_change_list.as_ref().map(|m| m.join(","))),
                json!(short(&change.last_mem_ver)),
                json!(short(&change.cur_mem_ver)),
                json!(message.dedupe_key.chars().take(12).collect::<String>()),
            ]);
        }
    }
    line(&format!(
        "chat {chat_id}: created, a guest joined by QR code, one was removed, renamed, a notice, a new owner, dismissed"
    ))?;
    rows.print(Output::Table)?;
    let attempts = sim.callback_attempts().len();
    line(&format!(
        "{attempts} deliveries, {handed_over} events handed over: {} redelivery recognised by its dedupe key",
        attempts.saturating_sub(handed_over)
    ))?;
    let agree = first_last.as_deref() == Some(before.as_str()) && last_cur.as_deref() == Some(after.as_str());
    line(&format!(
        "member_version by get: {} before, {} after; the events' first LastMemVer and last CurMemVer {}",
        &before.chars().take(8).collect::<String>(),
        &after.chars().take(8).collect::<String>(),
        if agree { "agree" } else { "DISAGREE" }
    ))
}

/// Step 8: a mirror of the demo company in a temporary SQLite file (crate `wecom-groupchat-sync`), then an
/// event — a member leaves, pushed by the simulator — and the rows it changed, without a `get`; then a
/// rename, which needs one.
async fn mirror_step(
    sim: &Simulator,
    client: &Client,
    events: &mut tokio::sync::mpsc::Receiver<CallbackMessage>,
) -> Outcome {
    use wecom_groupchat_sync::{DbUrl, EventOutcome, Mirror, Store, SyncOptions};
    heading(8, "a mirror — every group and member in SQLite, kept by events (wecom-groupchat sync)")?;
    let dir = tempfile::Builder::new()
        .prefix("wecom-groupchat-demo-")
        .tempdir()
        .map_err(|e| Failure::Io(format!("cannot make a temporary directory: {e}")))?;
    let url = DbUrl::parse(&format!("sqlite://{}", dir.path().join("mirror.db").display()))
        .map_err(|e| Failure::Io(e.to_string()))?;
    let sync_failed = |e: wecom_groupchat_sync::SyncError| Failure::Io(e.to_string());
    let store = Store::open(&url).await.map_err(sync_failed)?;
    let mirror = Mirror::new(store, client.clone(), SyncOptions::default()).map_err(sync_failed)?;
    let report = mirror.reconcile().await.map_err(sync_failed)?;
    let status = mirror.store().status(mirror.options().max_attempts).await.map_err(sync_failed)?;
    line(&format!(
        "reconcile into {url}: {} chats listed, {} fetched with get → {} chats, {} members in the tables",
        report.run.listed, report.run.fetched, status.chats, status.members
    ))?;
    let staff = client.get_follow_user_list(&wecom_groupchat::types::GetFollowUserListRequest::new()).await?;
    line(&format!(
        "(above {} visible staff WeCom refuses an unfiltered list; the mirror then lists by batches of the {} staff \
         get_follow_user_list names, plus the owners it knows)",
        wecom_groupchat::api::VISIBLE_STAFF_WITHOUT_OWNER_FILTER,
        staff.follow_user.map_or(0, |u| u.len())
    ))?;

    // A chat with an external member, who leaves in the WeCom app: the event follows the stored version.
    let mut picked = None;
    for id in mirror.store().chat_ids().await.map_err(sync_failed)? {
        let members = mirror.store().members(&id).await.map_err(sync_failed)?;
        if let Some(guest) = members.iter().find(|m| m.member_type.map(MemberType::from) == Some(MemberType::External))
        {
            picked = Some((id, guest.userid.clone()));
            break;
        }
    }
    let Some((chat_id, guest)) = picked else { return line("(no chat with an external member)") };
    let row = |mirror: Mirror, chat_id: String| async move {
        mirror.store().chat(&chat_id).await.map_err(sync_failed)?.ok_or_else(|| Failure::Io("chat row gone".into()))
    };
    let before = row(mirror.clone(), chat_id.clone()).await?;
    let gets = sim.calls("get");
    let http = control_http()?;
    let control = |path: String, body: serde_json::Value| {
        let request = http
            .post(format!("{}/__sim/chats/{chat_id}/{path}", sim.base_url()))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        async move {
            let answer = request.send().await.map_err(|e| Failure::Io(format!("simulator control path: {e}")))?;
            if !answer.status().is_success() {
                return Err(Failure::Io(format!("simulator control path {path}: {}", answer.status())));
            }
            Ok(())
        }
    };
    let mut deliver = async |what: &str| -> Outcome {
        if tokio::time::timeout(std::time::Duration::from_secs(30), sim.callbacks_idle()).await.is_err() {
            return line("(the deliveries did not finish within 30 s)");
        }
        while let Ok(message) = events.try_recv() {
            let outcome = match mirror.apply_event(&message).await.map_err(sync_failed)? {
                EventOutcome::Applied => "stored and applied to the rows, no get",
                EventOutcome::Queued => "stored, a get of the chat queued",
                EventOutcome::Unchanged => "stored, the rows already said so",
                EventOutcome::Dismissed => "stored, the chat marked dismissed",
                EventOutcome::Duplicate => "a redelivery, ignored",
                _ => "stored",
            };
            line(&format!("event {what}: {outcome}"))?;
        }
        Ok(())
    };
    control("quit".into(), json!({"userids": [guest]})).await?;
    deliver("update/del_member").await?;
    let after = row(mirror.clone(), chat_id.clone()).await?;
    let left = mirror.store().members(&chat_id).await.map_err(sync_failed)?.iter().all(|m| m.userid != guest);
    control("rename".into(), json!({"name": "VIP customers (mirrored)"})).await?;
    deliver("update/change_name").await?;
    mirror.work_queue().await.map_err(sync_failed)?;
    let renamed = row(mirror.clone(), chat_id.clone()).await?;

    let mut rows = Rows::new(&["group_chat", "name", "member_count", "member_version", "synced_at"]);
    let short = |v: &Option<String>| v.as_deref().map(|v| v.chars().take(8).collect::<String>()).unwrap_or_default();
    for (label, r) in [("before", &before), ("after the departure", &after), ("after the rename", &renamed)] {
        rows.push(vec![
            json!(label),
            json!(r.name),
            json!(r.member_count),
            json!(short(&r.member_version)),
            datetime(r.synced_at),
        ]);
    }
    rows.print(Output::Table)?;
    line(&format!(
        "chat {chat_id}: the departure was applied from the event (its LastMemVer was the stored member_version; \
         member row of {guest} gone: {left}); the rename needed a get — {} get call(s) for the two events",
        sim.calls("get") - gets
    ))?;
    mirror.store().close().await;
    Ok(())
}
