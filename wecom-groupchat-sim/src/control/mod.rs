//! Control paths under `/__sim/` (no WeCom path starts with it): counters, token invalidation, faults
//! at run time, transfer settling, staff resignation and hints; what people do in the app to chats
//! ([`chats`], which pushes events to the callback URL) and the callback log and faults ([`callbacks`]).
//! JSON in and out; no authentication, so the simulator listens on loopback only unless told otherwise.
//!
//! A web page the user has open must not drive them ([`guard`]): a request carrying an `Origin` (every
//! `fetch` and form post of a browser does), a body of a type an HTML form can send (`text/plain`, form
//! encoded, multipart) and a `Host` that is not a loopback name (DNS rebinding) are refused with 403 —
//! the `Host` check unless the simulator was started with `--allow-non-loopback`. Calls without a body
//! need no `Content-Type`.
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
//! | POST | `/__sim/chats` | `{"owner":USERID,"name":…,"members":[…]}` | `{"chat_id","event","queued"}` (`create`) |
//! | POST | `/__sim/chats/{chat_id}/join` | `{"members":[{"userid":…,"type":2,"join_scene":3,"state":…}]}` | the same (`add_member`) |
//! | POST | `/__sim/chats/{chat_id}/quit` | `{"userids":[…],"quit_scene":0}` | the same (`del_member`) |
//! | POST | `/__sim/chats/{chat_id}/rename` | `{"name":…}` | the same (`change_name`) |
//! | POST | `/__sim/chats/{chat_id}/notice` | `{"notice":…}` | the same (`change_notice`) |
//! | POST | `/__sim/chats/{chat_id}/owner` | `{"new_owner":USERID}` | the same (`change_owner`) |
//! | POST | `/__sim/chats/{chat_id}/dismiss` | `{}` or none | the same (`dismiss`) |
//! | GET | `/__sim/callbacks[?wait=MS][&chat_id=ID]` | | `{"configured","pending","idle","attempts":[`[`crate::CallbackAttempt`]`]}` |
//! | GET | `/__sim/callbacks/faults` | | [`crate::CallbackFaults`] |
//! | POST | `/__sim/callbacks/faults` | `{"duplicate":P,"drop":P,"delay_ms":N,"reorder":P}` | the faults now in force |

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::faults::{Faults, ScriptedFault};
use crate::server::Shared;

mod callbacks;
mod chats;

pub(crate) fn router() -> Router<Arc<Shared>> {
    let router = Router::new()
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
        .route("/hints", get(hints));
    callbacks::routes(chats::routes(router))
}

/// Refuses what a browser could send on behalf of a web page (see the module docs).
pub(crate) async fn guard(State(sim): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    match refusal(request.headers(), sim.any_host) {
        Some(why) => {
            tracing::warn!(path = %request.uri().path(), why, "control call refused");
            (StatusCode::FORBIDDEN, axum::Json(json!({ "error": why }))).into_response()
        }
        None => next.run(request).await,
    }
}

fn refusal(headers: &HeaderMap, any_host: bool) -> Option<&'static str> {
    if headers.contains_key(header::ORIGIN) {
        return Some("control paths refuse requests from web pages (an Origin header was sent)");
    }
    let content_type = headers.get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap_or("?").to_ascii_lowercase());
    let media_type = content_type.as_deref().map(|c| c.split(';').next().unwrap_or("").trim().to_string());
    if let Some(media) = media_type.as_deref()
        && matches!(media, "text/plain" | "application/x-www-form-urlencoded" | "multipart/form-data" | "?")
    {
        return Some("control paths take JSON: send Content-Type: application/json (or no body)");
    }
    if !any_host && !headers.get(header::HOST).and_then(|h| h.to_str().ok()).is_some_and(is_loopback_host) {
        return Some("control paths answer loopback host names only (start with --allow-non-loopback to change that)");
    }
    None
}

/// `localhost`, `*.localhost`, `127.x.y.z` or `[::1]`, with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host
            .rsplit_once(':')
            .map_or(host, |(name, port)| if port.bytes().all(|b| b.is_ascii_digit()) { name } else { host }),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_host_names() {
        for host in ["127.0.0.1:8080", "127.1.2.3", "localhost", "LOCALHOST:1", "a.localhost:9", "[::1]:80", "[::1]"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["evil.example", "evil.example:80", "10.0.0.1:80", "127.0.0.1.evil.example", "[::2]:80", ""] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn browser_shaped_requests_are_refused() {
        let headers = |pairs: &[(header::HeaderName, &str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(k.clone(), v.parse().unwrap());
            }
            h
        };
        let host = (header::HOST, "127.0.0.1:1");
        assert_eq!(refusal(&headers(std::slice::from_ref(&host)), false), None);
        assert_eq!(refusal(&headers(&[host.clone(), (header::CONTENT_TYPE, "application/json")]), false), None);
        assert!(refusal(&headers(&[host.clone(), (header::ORIGIN, "null")]), false).is_some());
        for ct in ["text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
            assert!(refusal(&headers(&[host.clone(), (header::CONTENT_TYPE, ct)]), false).is_some(), "{ct}");
        }
        assert!(refusal(&headers(&[(header::HOST, "rebound.example:1")]), false).is_some());
        assert!(refusal(&headers(&[]), false).is_some(), "no Host: not provably loopback");
        assert_eq!(refusal(&headers(&[(header::HOST, "rebound.example:1")]), true), None);
    }
}
