//! Control paths that play what people do in the WeCom app: create a chat, join, leave, rename, post a
//! notice, hand the chat to another owner, dismiss it. Each changes the company under its lock, queues
//! the `change_external_chat` event for the callback URL (if one is configured) and answers at once,
//! 200 with `{"chat_id": …, "event": {…}, "queued": true|false}` — `event` is the message as JSON
//! ([`CallbackEvent::to_json`](wecom_groupchat::events::CallbackEvent::to_json)), `queued` whether it
//! went to the callback queue. Bad input answers 400 (404 for an unknown chat, 409 for a chat in a
//! state that forbids the change) with `{"error": …}`, and changes nothing. When the callback queues are
//! full ([`CallbackTarget::max_queued`](crate::CallbackTarget::max_queued) events not yet finished), the
//! change is refused before it is made: 503 with `{"error": …}`, nothing changed, nothing queued.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use wecom_groupchat::events::{ChangeExternalChat, QuitScene};
use wecom_groupchat::types::GroupChatMember;

use super::{bad_request, parse};
use crate::company::{ChangeError, Company, NewChat};
use crate::server::Shared;

pub(super) fn routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    router
        .route("/chats", post(create))
        .route("/chats/{chat_id}/join", post(join))
        .route("/chats/{chat_id}/quit", post(quit))
        .route("/chats/{chat_id}/rename", post(rename))
        .route("/chats/{chat_id}/notice", post(notice))
        .route("/chats/{chat_id}/owner", post(owner))
        .route("/chats/{chat_id}/dismiss", post(dismiss))
}

/// Applies a change at the simulator's time under the company lock, and answers with its event.
fn change(sim: &Shared, apply: impl FnOnce(&mut Company, i64) -> Result<ChangeExternalChat, ChangeError>) -> Response {
    let mut company = sim.company();
    // Under the lock, which every enqueue takes: the room checked is there when the lock is released.
    // Transfers settled just now may have queued events of their own (API writes).
    if !sim.pusher.has_room(company.outbox.len() + 1) {
        let (pending, cap) = (sim.pusher.pending(), sim.pusher.max_queued());
        drop(company);
        tracing::warn!(pending, cap, "chat change refused: the callback queue is full");
        let message = format!(
            "the callback queue is full ({pending} events not yet delivered, at most {cap}); nothing was changed, \
             retry once deliveries catch up (GET /__sim/callbacks?wait=MS)"
        );
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({ "error": message }))).into_response();
    }
    let now = sim.clock.now();
    let result = apply(&mut company, now);
    // Releasing the lock queues the event.
    drop(company);
    match result {
        Ok(change) => {
            let chat_id = change.chat_id.clone();
            let event = sim.callback_event(now, change);
            tracing::info!(
                chat_id,
                change = event_label(&event),
                queued = sim.pusher.enabled(),
                "chat changed (control path)"
            );
            let queued = sim.pusher.enabled();
            axum::Json(json!({ "chat_id": chat_id, "event": event.to_json(), "queued": queued })).into_response()
        }
        Err(error) => {
            let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
            (status, axum::Json(json!({ "error": error.message }))).into_response()
        }
    }
}

/// `create`, `dismiss`, or the update detail.
fn event_label(event: &wecom_groupchat::events::CallbackEvent) -> String {
    match &event.event {
        wecom_groupchat::events::Event::ChangeExternalChat(change) => {
            change.update_detail.as_ref().map_or_else(|| change.change_type.to_string(), ToString::to_string)
        }
        other => other.name().to_string(),
    }
}

/// Members as given: a userid, or an object in the wire shape of `groupchat/get`'s `member_list`.
fn members(values: Vec<Value>) -> Result<Vec<GroupChatMember>, String> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, value)| match value {
            Value::String(userid) => Ok(GroupChatMember::new().userid(userid)),
            Value::Object(_) => serde_json::from_value(value).map_err(|e| format!("members[{i}]: {e}")),
            _ => Err(format!("members[{i}]: a userid or a member object")),
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    owner: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    members: Vec<Value>,
}

async fn create(State(sim): State<Arc<Shared>>, body: Bytes) -> Response {
    let body: CreateBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(format!("{e} (expected {{\"owner\": USERID, \"name\": …, \"members\": […]}})")),
    };
    let members = match members(body.members) {
        Ok(m) => m,
        Err(e) => return bad_request(e),
    };
    let new = NewChat { owner: body.owner, name: body.name, members };
    change(&sim, |c, now| c.create_chat(new, now))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JoinBody {
    members: Vec<Value>,
}

async fn join(State(sim): State<Arc<Shared>>, Path(chat_id): Path<String>, body: Bytes) -> Response {
    let body: JoinBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => {
            return bad_request(format!("{e} (expected {{\"members\": [{{\"userid\": …, \"join_scene\": …}}]}})"));
        }
    };
    let members = match members(body.members) {
        Ok(m) => m,
        Err(e) => return bad_request(e),
    };
    change(&sim, |c, now| c.join_chat(&chat_id, members, now))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuitBody {
    userids: Vec<String>,
    #[serde(default)]
    quit_scene: Option<i64>,
}

async fn quit(State(sim): State<Arc<Shared>>, Path(chat_id): Path<String>, body: Bytes) -> Response {
    let body: QuitBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(format!("{e} (expected {{\"userids\": […], \"quit_scene\": …}})")),
    };
    let scene = body.quit_scene.map_or(QuitScene::Left, QuitScene::from);
    change(&sim, |c, now| c.quit_chat(&chat_id, body.userids, scene, now))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameBody {
    name: String,
}

async fn rename(State(sim): State<Arc<Shared>>, Path(chat_id): Path<String>, body: Bytes) -> Response {
    let body: RenameBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(format!("{e} (expected {{\"name\": …}})")),
    };
    change(&sim, |c, now| c.rename_chat(&chat_id, body.name, now))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeBody {
    notice: String,
}

async fn notice(State(sim): State<Arc<Shared>>, Path(chat_id): Path<String>, body: Bytes) -> Response {
    let body: NoticeBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(format!("{e} (expected {{\"notice\": …}})")),
    };
    change(&sim, |c, now| c.set_notice(&chat_id, body.notice, now))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnerBody {
    new_owner: String,
}

async fn owner(State(sim): State<Arc<Shared>>, Path(chat_id): Path<String>, body: Bytes) -> Response {
    let body: OwnerBody = match parse(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(format!("{e} (expected {{\"new_owner\": USERID}})")),
    };
    change(&sim, |c, now| c.change_owner(&chat_id, &body.new_owner, now))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Nothing {}

async fn dismiss(State(sim): State<Arc<Shared>>, Path(chat_id): Path<String>, body: Bytes) -> Response {
    if !body.iter().all(u8::is_ascii_whitespace)
        && let Err(e) = parse::<Nothing>(&body)
    {
        return bad_request(format!("{e} (expected {{}} or no body)"));
    }
    change(&sim, |c, now| c.dismiss_chat(&chat_id, now))
}
