//! Control paths of the callback deliveries: the log of attempts (optionally waiting until every queued
//! event is done) and the delivery faults.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use serde_json::json;

use super::{bad_request, parse};
use crate::callbacks::CallbackFaults;
use crate::server::Shared;

/// Longest `?wait=` of `GET /__sim/callbacks`: ten minutes.
const MAX_WAIT_MS: u64 = 600 * 1000;

pub(super) fn routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
    router.route("/callbacks", get(attempts)).route("/callbacks/faults", get(faults).post(set_faults))
}

/// `GET /__sim/callbacks[?wait=MS][&chat_id=ID]`: `{"configured", "pending", "idle", "attempts": […]}`.
/// With `wait`, first waits up to MS milliseconds for every queued event to be done.
async fn attempts(State(sim): State<Arc<Shared>>, RawQuery(query): RawQuery) -> Response {
    let (mut wait, mut chat_id) = (None, None);
    for (key, value) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "wait" => match value.parse::<u64>() {
                Ok(ms) if ms <= MAX_WAIT_MS => wait = Some(Duration::from_millis(ms)),
                _ => {
                    return bad_request(format!("wait: `{value}` is not a number of milliseconds up to {MAX_WAIT_MS}"));
                }
            },
            "chat_id" => chat_id = Some(value.into_owned()),
            other => return bad_request(format!("unknown query parameter `{other}` (wait, chat_id)")),
        }
    }
    if let Some(wait) = wait {
        let _ = tokio::time::timeout(wait, sim.pusher.idle()).await;
    }
    let pending = sim.pusher.pending();
    let mut attempts = sim.pusher.attempts();
    if let Some(chat_id) = chat_id {
        attempts.retain(|a| a.chat_id == chat_id);
    }
    axum::Json(json!({
        "configured": sim.pusher.enabled(),
        "pending": pending,
        "idle": pending == 0,
        "attempts": attempts,
    }))
    .into_response()
}

async fn faults(State(sim): State<Arc<Shared>>) -> Response {
    axum::Json(sim.pusher.faults()).into_response()
}

/// `POST /__sim/callbacks/faults` `{"duplicate": P, "drop": P, "delay_ms": N, "reorder": P}` (missing
/// fields off; an empty body clears them): for events queued from now on.
async fn set_faults(State(sim): State<Arc<Shared>>, body: Bytes) -> Response {
    let faults: CallbackFaults = if body.iter().all(u8::is_ascii_whitespace) {
        CallbackFaults::default()
    } else {
        match parse(&body) {
            Ok(f) => f,
            Err(e) => return bad_request(e),
        }
    };
    if let Err(e) = sim.pusher.set_faults(faults) {
        return bad_request(e);
    }
    axum::Json(sim.pusher.faults()).into_response()
}
