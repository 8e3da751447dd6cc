//! The HTTP server: WeCom's paths (`/cgi-bin/gettoken` and every endpoint of the spec), the control
//! paths under `/__sim/`, and the per-call pipeline: count → latency → token → rate limit → fault →
//! decode and validate → handle → body fault.
//!
//! Connections are served by hyper directly (not `axum::serve`) so that a "dropped connection" fault
//! can close a connection without any answer.

use std::net::SocketAddr;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use bytes::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;
use wecom_groupchat::api::token_endpoint;
use wecom_groupchat::codes;
use wecom_groupchat::endpoint::Endpoint;
use wecom_groupchat::events::{AppHeader, CallbackEvent, ChangeExternalChat};

use crate::answer::{self, Failure};
use crate::auth::Tokens;
use crate::callbacks::Pusher;
use crate::clock::Clock;
use crate::company::Company;
use crate::counters::{Counters, GETTOKEN};
use crate::faults::{FaultEngine, FaultKind};
use crate::handlers::{self, CallCtx, Handle, INVALID_PARAMETER, PARAMETER_EMPTY};
use crate::lock;

/// Largest request body read; larger ones answer 40058.
const MAX_REQUEST_BYTES: usize = 2 << 20;

/// The body of an injected HTTP 502, as a gateway sends it.
const BAD_GATEWAY_HTML: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// State shared by every request. `Debug` leaves out the secret and the tokens.
pub(crate) struct Shared {
    pub(crate) corp_id: String,
    pub(crate) corp_secret: String,
    /// Control paths answer requests for any `Host` (started with `--allow-non-loopback`), not only
    /// loopback names.
    pub(crate) any_host: bool,
    company: Mutex<Company>,
    pub(crate) tokens: Tokens,
    pub(crate) faults: FaultEngine,
    pub(crate) counters: Counters,
    pub(crate) clock: Arc<Clock>,
    /// Pushes the events of changes to the callback URL, if one is configured.
    pub(crate) pusher: Pusher,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("corp_id", &self.corp_id)
            .field("corp_secret", &"***")
            .field("tokens", &self.tokens)
            .field("any_host", &self.any_host)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(crate) fn new(
        (corp_id, corp_secret): (String, String),
        company: Company,
        tokens: Tokens,
        faults: FaultEngine,
        (clock, pusher): (Arc<Clock>, Pusher),
        any_host: bool,
    ) -> Self {
        Shared {
            corp_id,
            corp_secret,
            any_host,
            company: Mutex::new(company),
            tokens,
            faults,
            counters: Counters::new(),
            clock,
            pusher,
        }
    }

    /// The company, with transfers whose time has come completed. The events of the changes made while
    /// it is held are queued for the callback URL when it is released, in order, before anyone else
    /// can change the company.
    pub(crate) fn company(&self) -> CompanyGuard<'_> {
        let mut company = lock::mutex(&self.company);
        company.settle_transfers(self.clock.now_ms(), false);
        CompanyGuard { company, shared: self }
    }

    /// The callback message of a change at `at` (Unix seconds): the app form, to the corp id.
    pub(crate) fn callback_event(&self, at: i64, change: ChangeExternalChat) -> CallbackEvent {
        CallbackEvent::new(AppHeader::new(self.corp_id.clone(), at), change)
    }
}

/// The company under its lock; on release, the events in its outbox go to the callback queues.
pub(crate) struct CompanyGuard<'a> {
    company: MutexGuard<'a, Company>,
    shared: &'a Shared,
}

impl Deref for CompanyGuard<'_> {
    type Target = Company;

    fn deref(&self) -> &Company {
        &self.company
    }
}

impl DerefMut for CompanyGuard<'_> {
    fn deref_mut(&mut self) -> &mut Company {
        &mut self.company
    }
}

impl Drop for CompanyGuard<'_> {
    fn drop(&mut self) {
        // Still under the lock: the queues get the events in the order of the changes.
        for (at, change) in std::mem::take(&mut self.company.outbox) {
            self.shared.pusher.push(&self.shared.callback_event(at, change));
        }
    }
}

/// What the rate limit and the faults make of a call.
enum Gate {
    /// Handle the call, then apply this body fault (truncated/oversized), if any.
    Proceed(Option<FaultKind>),
    /// Answer this instead.
    Answer(Response),
}

/// Marks a response whose connection is to be closed without sending it.
#[derive(Debug, Clone, Copy)]
struct DropConnection;

/// A route per endpoint of the spec, from the generated registry: `handler` endpoints go to their
/// handler (the simulator does not compile without one), `example` endpoints answer their documented
/// example once the request is valid.
macro_rules! endpoint_routes {
    ($(($name:ident, $request:ty, $simulated:ident)),* $(,)?) => {
        fn endpoint_routes(router: Router<Arc<Shared>>) -> Router<Arc<Shared>> {
            router $(.route(<$request as Endpoint>::INFO.path, any(endpoint_route!($simulated, $request))))*
        }
    };
}

macro_rules! endpoint_route {
    (handler, $request:ty) => {
        business::<$request>
    };
    (example, $request:ty) => {
        by_example::<$request>
    };
}

wecom_groupchat::for_each_endpoint!(endpoint_routes);

/// The router of WeCom's paths and the control paths.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let router = endpoint_routes(Router::new().route(token_endpoint::PATH, any(gettoken)))
        .nest(
            "/__sim",
            crate::control::router()
                .route_layer(axum::middleware::from_fn_with_state(shared.clone(), crate::control::guard)),
        )
        .fallback(not_found);
    router.with_state(shared)
}

async fn not_found(uri: axum::http::Uri) -> Response {
    let failure = Failure::new(404, format!("no such path: {}", uri.path()));
    json_response(StatusCode::NOT_FOUND, failure.body())
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=UTF-8"));
    response
}

fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

impl Shared {
    /// Answers an error (HTTP 200, WeCom's envelope), counting its errcode.
    fn fail(&self, failure: Failure) -> Response {
        self.counters.answered(failure.errcode);
        json_response(StatusCode::OK, failure.body())
    }

    /// Sleeps the configured latency.
    async fn delay(&self) {
        let latency = self.faults.latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    /// The rate limit and the faults that replace the answer.
    /// `request` is what identifies the request for fraction faults: its body (the query for `gettoken`).
    fn limits_and_faults(&self, endpoint: &str, token: Option<&str>, request: &[u8]) -> Gate {
        if self.faults.over_rate_limit(endpoint, self.clock.now_ms()) {
            return Gate::Answer(
                self.fail(Failure::new(codes::API_FREQ_OUT_OF_LIMIT, format!("api freq out of limit: {endpoint}"))),
            );
        }
        let Some(fault) = self.faults.decide(endpoint, token.is_some(), request) else { return Gate::Proceed(None) };
        self.counters.fault(fault.as_str());
        tracing::debug!(endpoint, fault = fault.as_str(), "injecting fault");
        let response = match fault {
            FaultKind::Busy => self.fail(Failure::new(codes::SYSTEM_BUSY, "system busy (injected)")),
            FaultKind::Concurrency => {
                self.fail(Failure::new(codes::API_CONCURRENCY_OUT_OF_LIMIT, "concurrency limit (injected)"))
            }
            FaultKind::RateLimited => {
                self.fail(Failure::new(codes::API_FREQ_OUT_OF_LIMIT, "api freq out of limit (injected)"))
            }
            FaultKind::BadGateway => {
                let mut response = (StatusCode::BAD_GATEWAY, BAD_GATEWAY_HTML).into_response();
                response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
                response
            }
            FaultKind::Dropped => drop_connection(),
            FaultKind::ExpireToken => {
                if let Some(token) = token {
                    self.tokens.expire(token, self.clock.now_ms());
                }
                self.fail(Failure::new(codes::ACCESS_TOKEN_EXPIRED, "access_token expired"))
            }
            FaultKind::Errcode(code) => {
                let info = wecom_groupchat::error_code::lookup(code);
                let message = info.map_or("injected errcode", |i| i.errmsg.unwrap_or(i.en));
                self.fail(Failure::new(code, format!("{message} (injected)")))
            }
            FaultKind::Truncated | FaultKind::Oversized | FaultKind::LostAnswer => return Gate::Proceed(Some(fault)),
        };
        Gate::Answer(response)
    }

    /// A JSON answer, with a body fault applied.
    fn reply(&self, errcode: i64, body: Bytes, fault: Option<FaultKind>) -> Response {
        self.counters.answered(errcode);
        if fault == Some(FaultKind::LostAnswer) {
            // Handled: the write took effect. The client never learns it.
            return drop_connection();
        }
        let body = match fault {
            Some(FaultKind::Truncated) => body.slice(..body.len() / 2),
            Some(FaultKind::Oversized) => pad(&body, self.faults.oversize_len()),
            _ => body,
        };
        json_response(StatusCode::OK, body)
    }
}

/// A response that closes its connection instead of being sent.
fn drop_connection() -> Response {
    let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    response.extensions_mut().insert(DropConnection);
    response
}

/// The JSON object padded with an extra string field to `size` bytes (still valid JSON).
fn pad(body: &[u8], size: usize) -> Bytes {
    let Some(close) = body.iter().rposition(|b| *b == b'}') else { return Bytes::copy_from_slice(body) };
    let mut out = Vec::with_capacity(size.max(body.len()) + 32);
    out.extend_from_slice(&body[..close]);
    out.extend_from_slice(br#","sim_padding":""#);
    let fill = size.saturating_sub(out.len() + 2);
    out.resize(out.len() + fill, b'x');
    out.extend_from_slice(b"\"}");
    Bytes::from(out)
}

async fn gettoken(
    State(sim): State<Arc<Shared>>,
    timeout: Option<axum::Extension<ReadTimeout>>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    sim.counters.call(GETTOKEN);
    // gettoken takes no body; drain one if sent, so the connection stays usable.
    if read_body(body, MAX_REQUEST_BYTES, timeout.as_deref()).await.is_none() {
        return drop_connection();
    }
    sim.delay().await;
    let corp_id = query_param(query.as_deref(), token_endpoint::CORP_ID_PARAM);
    let secret = query_param(query.as_deref(), token_endpoint::SECRET_PARAM);
    if corp_id.as_deref() != Some(sim.corp_id.as_str()) {
        tracing::info!(corp_id = corp_id.as_deref().unwrap_or(""), "gettoken: unknown corp id");
        return sim.fail(Failure::new(codes::INVALID_CORP_ID, "corpid is missing or unknown"));
    }
    if secret.as_deref() != Some(sim.corp_secret.as_str()) {
        tracing::info!(corp_id = %sim.corp_id, "gettoken: wrong secret");
        return sim.fail(Failure::new(codes::INVALID_SECRET, "corpsecret is missing or wrong"));
    }
    let fault = match sim.limits_and_faults(GETTOKEN, None, query.as_deref().unwrap_or("").as_bytes()) {
        Gate::Proceed(fault) => fault,
        Gate::Answer(response) => return response,
    };
    let (access_token, expires_in) = sim.tokens.issue(sim.clock.now_ms());
    sim.counters.token_issued();
    let body = answer::json(&token_endpoint::issued(access_token, i64::try_from(expires_in).unwrap_or(i64::MAX)));
    sim.reply(0, body, fault)
}

/// A call of an endpoint the simulator has a handler for.
async fn business<R: Handle>(
    State(sim): State<Arc<Shared>>,
    timeout: Option<axum::Extension<ReadTimeout>>,
    method: Method,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    serve_call::<R>(&sim, timeout, method, query, body, |request, company, ctx| request.handle(company, ctx)).await
}

/// A call of an endpoint the spec says the simulator answers with its documented example.
// Routed by the generated registry, for endpoints marked `simulator: example` (the spec has none today).
#[allow(dead_code)]
async fn by_example<R: Endpoint>(
    State(sim): State<Arc<Shared>>,
    timeout: Option<axum::Extension<ReadTimeout>>,
    method: Method,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    serve_call::<R>(&sim, timeout, method, query, body, |_request, _company, _ctx| handlers::example_answer::<R>())
        .await
}

/// The pipeline of a business call: count, read, latency, token, rate limit and faults, decode and validate,
/// `handle`, body fault.
async fn serve_call<R: Endpoint>(
    sim: &Shared,
    timeout: Option<axum::Extension<ReadTimeout>>,
    method: Method,
    query: Option<String>,
    body: Body,
    handle: impl FnOnce(R, &mut Company, &CallCtx) -> Result<R::Response, Failure>,
) -> Response {
    let endpoint = R::INFO.name;
    sim.counters.call(endpoint);
    // Read the body before any early answer: closing a connection with unread data resets it, and the
    // client could lose the answer.
    let Some(bytes) = read_body(body, MAX_REQUEST_BYTES, timeout.as_deref()).await else {
        return drop_connection();
    };
    sim.delay().await;
    let token = query_param(query.as_deref(), wecom_groupchat::api::TOKEN_QUERY_PARAM);
    if let Err(code) = sim.tokens.check(token.as_deref(), sim.clock.now_ms()) {
        let detail = match code {
            codes::ACCESS_TOKEN_MISSING => "access_token missing from the query string",
            codes::ACCESS_TOKEN_EXPIRED => "access_token expired",
            _ => "access_token invalid",
        };
        return sim.fail(Failure::new(code, detail));
    }
    let request = bytes.as_deref().unwrap_or_default();
    let fault = match sim.limits_and_faults(endpoint, token.as_deref(), request) {
        Gate::Proceed(fault) => fault,
        Gate::Answer(response) => return response,
    };
    let bytes = match bytes {
        Ok(bytes) => bytes,
        Err(_) => return sim.fail(Failure::new(INVALID_PARAMETER, "request body too large or unreadable")),
    };
    let result = if method != Method::POST {
        Err(Failure::new(PARAMETER_EMPTY, format!("{method} is not accepted; POST a JSON body")))
    } else {
        let ctx = CallCtx::new(sim.clock.now_ms());
        handlers::decode::<R>(&bytes, &ctx)
            .and_then(|request| handle(request, &mut sim.company(), &ctx))
            .map(|response| answer::json(&response))
    };
    match result {
        Ok(body) => sim.reply(0, body, fault),
        Err(failure) => {
            tracing::debug!(endpoint, errcode = failure.errcode, detail = %failure.detail, "call refused");
            sim.reply(failure.errcode, failure.body(), fault)
        }
    }
}

/// What bounds the connections: a client that trickles its request, or opens thousands of connections,
/// cannot hold the simulator forever.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    /// Headers, a body, and an idle connection each get this long.
    pub(crate) read_timeout: Duration,
    /// Connections served at once.
    pub(crate) max_connections: usize,
}

/// Accepts connections until `shutdown` turns true, then closes them all.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        // At the cap, stop accepting: new connections wait in the backlog until one ends.
        let Ok(slot) = slots.clone().acquire_owned().await else { break };
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                connections.spawn(async move {
                    serve_connection(stream, router, limits.read_timeout).await;
                    drop(slot);
                });
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.abort_all();
}

async fn serve_connection(stream: tokio::net::TcpStream, router: Router, read_timeout: Duration) {
    let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
        let router = router.clone();
        async move {
            // The body is read by the handlers; this bounds how long it may take to arrive.
            let mut request = request;
            request.extensions_mut().insert(ReadTimeout(read_timeout));
            let response = match router.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            if response.extensions().get::<DropConnection>().is_some() {
                // An error from the service makes hyper close the connection without answering.
                return Err(std::io::Error::other("connection dropped by fault injection"));
            }
            Ok::<_, std::io::Error>(response)
        }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        // Also the idle time of a kept-alive connection: hyper waits for the next request's head.
        .header_read_timeout(read_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// How long a request's body may take to arrive (a request extension set per connection).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadTimeout(pub(crate) Duration);

/// Reads a request body of at most `limit` bytes within the connection's read timeout. `None` when it
/// did not arrive in time (the connection is then closed: a trickled body must not hold it).
pub(crate) async fn read_body(
    body: Body,
    limit: usize,
    timeout: Option<&ReadTimeout>,
) -> Option<Result<Bytes, axum::Error>> {
    let timeout = timeout.map_or(crate::config::DEFAULT_READ_TIMEOUT, |t| t.0);
    tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await.ok()
}

/// The address a simulator listens on, checked: loopback unless allowed otherwise.
pub(crate) fn check_addr(addr: SocketAddr, allow_non_loopback: bool) -> Result<(), crate::SimError> {
    if addr.ip().is_loopback() || allow_non_loopback {
        Ok(())
    } else {
        Err(crate::SimError::Config(format!(
            "{addr} is not a loopback address; the simulator has no authentication on its control paths, so allow it explicitly (--allow-non-loopback)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_keeps_json_valid() {
        let body = br#"{"errcode":0,"errmsg":"ok"}"#;
        let padded = pad(body, 1000);
        assert_eq!(padded.len(), 1000);
        let v: serde_json::Value = serde_json::from_slice(&padded).unwrap();
        assert_eq!(v["errcode"], 0);
    }

    #[test]
    fn query_params_are_decoded() {
        assert_eq!(query_param(Some("a=1&access_token=x%2By"), "access_token").as_deref(), Some("x+y"));
        assert_eq!(query_param(None, "access_token"), None);
    }
}
