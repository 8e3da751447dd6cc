//! Control paths under `/__sim/` (no WeCom path starts with it): counters, token invalidation, faults
//! at run time, transfer settling, staff resignation and hints. JSON in and out; no authentication, so
//! the simulator listens on loopback only unless told otherwise.
//!
//! | method | path | body | answer |
//! |---|---|---|---|
//! | GET | `/__sim/health` | | `{"status":"ok"}` |
//! | GET | `/__sim/stats` | | [`crate::Stats`] |
//! | POST | `/__sim/stats/reset` | | `{"reset":true}` |
//! | POST | `/__sim/invalidate-tokens` | | `{"invalidated":N}` |
//! | POST | `/__sim/token-ttl` | `{"secs":N}` | `{"secs":N}` |
//! | GET | `/__sim/faults` | | [`crate::Faults`] |
//! | POST | `/__sim/faults` | [`crate::Faults`] (missing fields = off) | the faults now in force |
//! | POST | `/__sim/faults/next` | [`crate::ScriptedFault`] | the faults now in force |
//! | GET | `/__sim/clock` | | `{"now":UNIX_SECS,"offset_seconds":N}` |
//! | POST | `/__sim/clock` | `{"advance_seconds":N}` | the same, after moving the clock forward |
//! | POST | `/__sim/settle-transfers` | | `{"settled":N}` |
//! | POST | `/__sim/staff/{userid}/resign` | | `{"resigned":"userid"}` or 404 |
//! | GET | `/__sim/hints` | | [`crate::Hints`] |

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::faults::{Faults, ScriptedFault};
use crate::server::Shared;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/health", get(|| async { axum::Json(json!({ "status": "ok" })) }))
        .route("/stats", get(stats))
        .route("/stats/reset", post(reset_stats))
        .route("/invalidate-tokens", post(invalidate_tokens))
        .route("/token-ttl", post(token_ttl))
        .route("/faults", get(get_faults).post(set_faults))
        .route("/faults/next", post(push_fault))
        .route("/clock", get(clock).post(advance_clock))
        .route("/settle-transfers", post(settle))
        .route("/staff/{userid}/resign", post(resign))
        .route("/hints", get(hints))
}

fn bad_request(message: impl Into<String>) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": message.into() }))).into_response()
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("bad JSON body: {e}"))
}

async fn stats(State(sim): State<Arc<Shared>>) -> Response {
    axum::Json(crate::simulator::snapshot(&sim)).into_response()
}

async fn reset_stats(State(sim): State<Arc<Shared>>) -> Response {
    sim.counters.reset();
    axum::Json(json!({ "reset": true })).into_response()
}

async fn invalidate_tokens(State(sim): State<Arc<Shared>>) -> Response {
    let n = sim.tokens.invalidate_all(sim.clock.now_ms());
    tracing::info!(invalidated = n, "all tokens invalidated");
    axum::Json(json!({ "invalidated": n })).into_response()
}

#[derive(Deserialize)]
struct Ttl {
    secs: u64,
}

async fn token_ttl(State(sim): State<Arc<Shared>>, body: Bytes) -> Response {
    let ttl: Ttl = match parse(&body) {
        Ok(t) => t,
        Err(e) => return bad_request(e),
    };
    if ttl.secs == 0 {
        return bad_request("secs must be positive");
    }
    sim.tokens.set_ttl(Duration::from_secs(ttl.secs));
    axum::Json(json!({ "secs": ttl.secs })).into_response()
}

async fn get_faults(State(sim): State<Arc<Shared>>) -> Response {
    axum::Json(sim.faults.get()).into_response()
}

async fn set_faults(State(sim): State<Arc<Shared>>, body: Bytes) -> Response {
    let faults: Faults = if body.iter().all(u8::is_ascii_whitespace) {
        Faults::default()
    } else {
        match parse(&body) {
            Ok(f) => f,
            Err(e) => return bad_request(e),
        }
    };
    if let Err(e) = faults.check() {
        return bad_request(e);
    }
    sim.faults.set(faults);
    axum::Json(sim.faults.get()).into_response()
}

async fn push_fault(State(sim): State<Arc<Shared>>, body: Bytes) -> Response {
    let fault = match parse::<ScriptedFault>(&body) {
        Ok(fault) => fault,
        Err(e) => return bad_request(e),
    };
    if let Err(e) = fault.check() {
        return bad_request(e);
    }
    sim.faults.push(fault);
    axum::Json(sim.faults.get()).into_response()
}

fn clock_answer(sim: &Shared) -> Response {
    axum::Json(json!({ "now": sim.clock.now(), "offset_seconds": sim.clock.offset_secs() })).into_response()
}

async fn clock(State(sim): State<Arc<Shared>>) -> Response {
    clock_answer(&sim)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    advance_seconds: u64,
}

async fn advance_clock(State(sim): State<Arc<Shared>>, body: Bytes) -> Response {
    // Only forward: tokens, transfers and windows already decided must not come back to life.
    let advance: Advance = match parse(&body) {
        Ok(a) => a,
        Err(e) => return bad_request(format!("{e} (expected {{\"advance_seconds\": N}}, N ≥ 0)")),
    };
    if let Err(e) = sim.clock.advance(Duration::from_secs(advance.advance_seconds)) {
        return bad_request(e);
    }
    tracing::info!(advanced = advance.advance_seconds, offset = sim.clock.offset_secs(), "clock advanced");
    clock_answer(&sim)
}

async fn settle(State(sim): State<Arc<Shared>>) -> Response {
    let n = sim.company().settle_transfers(sim.clock.now_ms(), true);
    axum::Json(json!({ "settled": n })).into_response()
}

async fn resign(State(sim): State<Arc<Shared>>, Path(userid): Path<String>) -> Response {
    if sim.company().resign(&userid) {
        axum::Json(json!({ "resigned": userid })).into_response()
    } else {
        (StatusCode::NOT_FOUND, axum::Json(json!({ "error": format!("no staff `{userid}`") }))).into_response()
    }
}

async fn hints(State(sim): State<Arc<Shared>>) -> Response {
    axum::Json(sim.company().hints()).into_response()
}
