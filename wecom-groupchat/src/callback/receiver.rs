//! The callback receiver, independent of any HTTP framework: give it the method, the raw query string
//! and the body of a request to the callback URL, and send back the [`CallbackResponse`] it returns.
//!
//! - `GET` with `msg_signature`, `timestamp`, `nonce`, `echostr`: URL verification — 200 with the
//!   decrypted `echostr` and nothing else.
//! - `POST`: verify, decrypt, parse, drop redeliveries, then hand the [`CallbackMessage`] to the
//!   application — an async [`CallbackHandler`] or a bounded channel — and answer 200 only once the
//!   application has it. Otherwise the answer is 503, and WeCom delivers the message again later.
//!
//! | answer | when |
//! |---|---|
//! | 200, empty body (`success` for third-party `InfoType` callbacks) | handed over, or a redelivery of a message handed over before |
//! | 400 | missing or repeated query parameters, undecryptable text, wrong receive id, malformed XML, a DOCTYPE |
//! | 401 | wrong or missing signature |
//! | 405 | a method other than GET and POST |
//! | 413 | a body over the cap ([`ReceiverBuilder::max_body`], default 1 MiB) |
//! | 503 | the handler failed, panicked or timed out; the channel is full or closed; the same message is being handled right now |
//!
//! Error bodies are short and generic; the reason is logged at debug level (never the token, the key
//! or decrypted text).

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use futures::FutureExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::callback::crypto::CallbackCrypto;
use crate::callback::dedupe::{Seen, Status, dedupe_key};
use crate::callback::error::CallbackError;
use crate::callback::xml::{self, Element};
use crate::events::CallbackEvent;
use crate::events::crypto::query;

/// Default bound on a handler: below the 5 s after which WeCom gives up on a delivery.
pub const DEFAULT_HANDLER_TIMEOUT: Duration = Duration::from_secs(4);
/// Default cap on a POST body: 1 MiB.
pub const DEFAULT_MAX_BODY: usize = 1 << 20;
/// Default number of acknowledged messages remembered to drop redeliveries.
pub const DEFAULT_DEDUPE_CAPACITY: usize = 10_000;
/// Default time an acknowledged message is remembered.
pub const DEFAULT_DEDUPE_WINDOW: Duration = Duration::from_secs(600);

const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

/// A decrypted callback message, handed to the application once.
#[derive(Clone)]
#[non_exhaustive]
pub struct CallbackMessage {
    /// The decrypted XML, exactly as WeCom sent it.
    pub xml: String,
    /// The message read into its typed event (see [`CallbackEvent`]): an event with no type here, or one
    /// that does not read, is an [`Event::Other`](crate::events::Event::Other) with every element.
    pub event: CallbackEvent,
    /// Identifies the message across redeliveries (see [`dedupe_key`]).
    pub dedupe_key: String,
    /// The `timestamp` of the request (covered by the signature).
    pub timestamp: String,
}

impl fmt::Debug for CallbackMessage {
    /// Shows the event's name and form and the size of the message, not its content.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackMessage")
            .field("event", &self.event.name())
            .field("form", &self.event.form.map(|f| f.name()))
            .field("dedupe_key", &self.dedupe_key)
            .field("timestamp", &self.timestamp)
            .field("xml_len", &self.xml.len())
            .finish_non_exhaustive()
    }
}

impl CallbackMessage {
    fn new(xml: String, root: Element, timestamp: &str) -> Self {
        let dedupe_key = dedupe_key(&root);
        CallbackMessage { xml, event: CallbackEvent::decode(root), dedupe_key, timestamp: timestamp.to_string() }
    }

    /// The event's name (`change_external_chat`); empty for a message in no known form.
    pub fn name(&self) -> &str {
        self.event.name()
    }

    /// The body the callback is answered with: empty, or `success` for a third-party command callback
    /// (from the spec's callback forms).
    pub fn reply(&self) -> &'static str {
        self.event.reply()
    }
}

/// A handler's refusal of a message: the receiver answers 503 and WeCom delivers it again later.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reject {
    reason: String,
}

impl Reject {
    /// A refusal with a reason, logged at debug level. Do not put secrets in it.
    pub fn new(reason: impl Into<String>) -> Self {
        Reject { reason: reason.into() }
    }

    /// The reason given.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reason.is_empty() { f.write_str("rejected") } else { write!(f, "rejected: {}", self.reason) }
    }
}

impl std::error::Error for Reject {}

/// The application's side: receives each new message once. Return `Ok` once the message is safe
/// (stored, queued, applied) — only then does WeCom get its 200. Return `Err` (or take longer than the
/// timeout) to have it delivered again.
///
/// Implemented for closures `Fn(CallbackMessage) -> impl Future<Output = Result<(), Reject>>`.
#[async_trait]
pub trait CallbackHandler: Send + Sync + 'static {
    /// Handles one message.
    async fn handle(&self, message: CallbackMessage) -> Result<(), Reject>;
}

#[async_trait]
impl<F, Fut> CallbackHandler for F
where
    F: Fn(CallbackMessage) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), Reject>> + Send + 'static,
{
    async fn handle(&self, message: CallbackMessage) -> Result<(), Reject> {
        self(message).await
    }
}

/// What to answer: status, body and content type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallbackResponse {
    /// HTTP status code.
    pub status: u16,
    /// The body.
    pub body: String,
    /// The `Content-Type`.
    pub content_type: &'static str,
}

impl CallbackResponse {
    fn ok(body: impl Into<String>) -> Self {
        CallbackResponse { status: 200, body: body.into(), content_type: TEXT_PLAIN }
    }

    pub(crate) fn error(status: u16) -> Self {
        let body = match status {
            400 => "bad request",
            401 => "unauthorized",
            405 => "method not allowed",
            413 => "payload too large",
            _ => "unavailable",
        };
        CallbackResponse { status, body: body.to_string(), content_type: TEXT_PLAIN }
    }
}

/// Where new messages go.
enum Sink {
    Handler(Arc<dyn CallbackHandler>),
    Channel(mpsc::Sender<CallbackMessage>),
}

struct Inner {
    crypto: CallbackCrypto,
    sink: Sink,
    handler_timeout: Duration,
    max_body: usize,
    seen: Mutex<Seen>,
}

/// The callback receiver. Cheap to clone; clones share the memory of acknowledged messages.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sink = match &self.inner.sink {
            Sink::Handler(_) => "handler",
            Sink::Channel(_) => "channel",
        };
        f.debug_struct("Receiver")
            .field("crypto", &self.inner.crypto)
            .field("sink", &sink)
            .field("handler_timeout", &self.inner.handler_timeout)
            .field("max_body", &self.inner.max_body)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Receiver`]; finish with [`ReceiverBuilder::handler`] or [`ReceiverBuilder::channel`].
#[derive(Debug)]
pub struct ReceiverBuilder {
    crypto: CallbackCrypto,
    handler_timeout: Duration,
    max_body: usize,
    dedupe_capacity: usize,
    dedupe_window: Duration,
}

impl ReceiverBuilder {
    /// How long a handler may take before the delivery is answered 503 (and the handler's future
    /// dropped). Default 4 s: WeCom waits 5 s.
    #[must_use]
    pub fn handler_timeout(mut self, timeout: Duration) -> Self {
        self.handler_timeout = timeout;
        self
    }

    /// The largest POST body accepted, in bytes; larger ones are answered 413. Default 1 MiB.
    #[must_use]
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// How many acknowledged messages to remember, and for how long, to drop redeliveries. Default
    /// 10,000 messages for 10 minutes. A capacity of 0 turns deduplication off.
    #[must_use]
    pub fn dedupe(mut self, capacity: usize, window: Duration) -> Self {
        self.dedupe_capacity = capacity;
        self.dedupe_window = window;
        self
    }

    /// A receiver that hands each new message to `handler` and answers 200 once it returned `Ok`.
    pub fn handler(self, handler: impl CallbackHandler) -> Receiver {
        self.build(Sink::Handler(Arc::new(handler)))
    }

    /// A receiver that puts each new message on a channel of `capacity` (at least 1) messages, and the
    /// channel's receiving end.
    ///
    /// A message is acknowledged (200) as soon as it is on the channel. When the channel is full — the
    /// application is not keeping up — or closed, the delivery is answered 503 and WeCom delivers it
    /// again later, so the channel's capacity is the backlog the application accepts responsibility for.
    /// A message on the channel that the application then loses is lost: WeCom will not send it again.
    pub fn channel(self, capacity: usize) -> (Receiver, mpsc::Receiver<CallbackMessage>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (self.build(Sink::Channel(tx)), rx)
    }

    fn build(self, sink: Sink) -> Receiver {
        Receiver {
            inner: Arc::new(Inner {
                crypto: self.crypto,
                sink,
                handler_timeout: self.handler_timeout,
                max_body: self.max_body,
                seen: Mutex::new(Seen::new(self.dedupe_capacity, self.dedupe_window)),
            }),
        }
    }
}

/// The four query parameters of a callback request.
#[derive(Default)]
struct Params {
    msg_signature: Option<String>,
    timestamp: Option<String>,
    nonce: Option<String>,
    echostr: Option<String>,
}

impl Params {
    /// Parses a URL-encoded query; `None` if one of the four parameters appears more than once.
    fn parse(query: &str) -> Option<Params> {
        let mut params = Params::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let slot = match name.as_ref() {
                query::SIGNATURE => &mut params.msg_signature,
                query::TIMESTAMP => &mut params.timestamp,
                query::NONCE => &mut params.nonce,
                query::ECHO => &mut params.echostr,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return None;
            }
        }
        Some(params)
    }
}

/// Logs why a request was refused, and the answer.
fn refuse(status: u16, reason: &dyn fmt::Display) -> CallbackResponse {
    tracing::debug!(status, %reason, "callback refused");
    CallbackResponse::error(status)
}

fn crypto_refusal(error: &CallbackError) -> CallbackResponse {
    refuse(if error.is_signature() { 401 } else { 400 }, error)
}

impl Receiver {
    /// Settings for a receiver of callbacks for this app.
    pub fn builder(crypto: CallbackCrypto) -> ReceiverBuilder {
        ReceiverBuilder {
            crypto,
            handler_timeout: DEFAULT_HANDLER_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
            dedupe_capacity: DEFAULT_DEDUPE_CAPACITY,
            dedupe_window: DEFAULT_DEDUPE_WINDOW,
        }
    }

    /// A receiver with the default settings that hands messages to `handler`
    /// (see [`ReceiverBuilder::handler`]).
    pub fn new(crypto: CallbackCrypto, handler: impl CallbackHandler) -> Self {
        Self::builder(crypto).handler(handler)
    }

    /// A receiver with the default settings that puts messages on a channel of `capacity`
    /// (see [`ReceiverBuilder::channel`]: when the channel is full, deliveries are answered 503).
    pub fn channel(crypto: CallbackCrypto, capacity: usize) -> (Self, mpsc::Receiver<CallbackMessage>) {
        Self::builder(crypto).channel(capacity)
    }

    /// The largest POST body accepted. Adapters should read no more than this (plus one byte to tell).
    pub fn max_body(&self) -> usize {
        self.inner.max_body
    }

    /// The app's callback crypto.
    pub fn crypto(&self) -> &CallbackCrypto {
        &self.inner.crypto
    }

    /// Answers one request to the callback URL. `method` as on the wire (`GET`, `POST`); `query` the raw
    /// query string without `?`, still URL-encoded; `body` the request body (read at most
    /// [`Receiver::max_body`] + 1 bytes of it).
    pub async fn handle(&self, method: &str, query: &str, body: &[u8]) -> CallbackResponse {
        match method {
            "GET" => self.verify_url(query),
            "POST" => self.receive(query, body).await,
            _ => refuse(405, &format_args!("method {:.16}", method)),
        }
    }

    fn verify_url(&self, query: &str) -> CallbackResponse {
        let Some(Params { msg_signature: Some(sig), timestamp: Some(ts), nonce: Some(nonce), echostr: Some(echostr) }) =
            Params::parse(query)
        else {
            return refuse(400, &"URL verification: missing or repeated parameters");
        };
        match self.inner.crypto.verify_url(&sig, &ts, &nonce, &echostr) {
            Ok(plaintext) => CallbackResponse::ok(plaintext),
            Err(error) => crypto_refusal(&error),
        }
    }

    async fn receive(&self, query: &str, body: &[u8]) -> CallbackResponse {
        if body.len() > self.inner.max_body {
            return refuse(413, &format_args!("body of {} bytes", body.len()));
        }
        let Some(Params { msg_signature: Some(sig), timestamp: Some(ts), nonce: Some(nonce), .. }) =
            Params::parse(query)
        else {
            return refuse(400, &"event: missing or repeated parameters");
        };
        let xml = match self.inner.crypto.decrypt_post(&sig, &ts, &nonce, body) {
            Ok(xml) => xml,
            Err(error) => return crypto_refusal(&error),
        };
        let root = match xml::parse(&xml) {
            Ok(root) => root,
            Err(error) => return refuse(400, &format_args!("decrypted message: {error}")),
        };
        let message = CallbackMessage::new(xml, root, &ts);
        let success = message.reply();
        let key = message.dedupe_key.clone();

        let status = self.seen().begin(&key, Instant::now());
        match status {
            Status::Done => {
                tracing::debug!(key = %key, "callback redelivered; acknowledged before");
                return CallbackResponse::ok(success);
            }
            Status::InFlight => return refuse(503, &format_args!("message {key} is being handled")),
            Status::New => {}
        }
        // Ends the in-flight mark however this future ends, even if it is dropped (client gone).
        let mut guard = InFlight { receiver: self, key: &key, acknowledged: false };
        let outcome = self.deliver(message).await;
        match outcome {
            Ok(()) => {
                guard.acknowledged = true;
                CallbackResponse::ok(success)
            }
            Err(reason) => {
                tracing::warn!(key = %key, %reason, "callback not acknowledged; WeCom will deliver it again");
                CallbackResponse::error(503)
            }
        }
    }

    /// Hands a message to the application; `Err` with the reason if it did not take it.
    async fn deliver(&self, message: CallbackMessage) -> Result<(), String> {
        match &self.inner.sink {
            Sink::Handler(handler) => {
                let call = AssertUnwindSafe(handler.handle(message)).catch_unwind();
                match tokio::time::timeout(self.inner.handler_timeout, call).await {
                    Ok(Ok(Ok(()))) => Ok(()),
                    Ok(Ok(Err(reject))) => Err(reject.to_string()),
                    Ok(Err(_panic)) => Err("handler panicked".to_string()),
                    Err(_) => Err(format!("handler timed out after {:?}", self.inner.handler_timeout)),
                }
            }
            Sink::Channel(tx) => match tx.try_send(message) {
                Ok(()) => Ok(()),
                Err(mpsc::error::TrySendError::Full(_)) => Err("channel full".to_string()),
                Err(mpsc::error::TrySendError::Closed(_)) => Err("channel closed".to_string()),
            },
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.inner.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A message being handled; on drop, no longer in flight, and remembered if acknowledged.
struct InFlight<'a> {
    receiver: &'a Receiver,
    key: &'a str,
    acknowledged: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.receiver.seen().finish(self.key, self.acknowledged, Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::callback::crypto::tests::*;
    use crate::events::Event;

    const EVENT: &str = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1403610513</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event><ChatId><![CDATA[wrx7HUARsKwGRaQBVKPBTcEyzdHA4HrQ]]></ChatId><ChangeType><![CDATA[update]]></ChangeType><UpdateDetail><![CDATA[add_member]]></UpdateDetail><MemChangeList><Item><![CDATA[Jack]]></Item><Item>Rose</Item></MemChangeList></xml>";
    const THIRD_PARTY: &str = "<xml><SuiteId><![CDATA[ww4asffe99e54c0f4c]]></SuiteId><AuthCorpId><![CDATA[wxf8b4f85f3a794e77]]></AuthCorpId><InfoType><![CDATA[change_external_chat]]></InfoType><TimeStamp>1403610513</TimeStamp><ChatId><![CDATA[CHAT_ID]]></ChatId><ChangeType><![CDATA[create]]></ChangeType></xml>";

    /// A POST as WeCom would send it: (query, body), sealed afresh every time.
    fn post(xml: &str, nonce: &str) -> (String, String) {
        let sealed = sample().encrypt(xml, "1700000000", nonce).unwrap();
        (sealed.post_query(), sealed.post_body(RECEIVE_ID, Some("1000002")))
    }

    /// A handler that counts calls and answers with `answer`.
    fn counting(
        answer: Result<(), Reject>,
    ) -> (Arc<AtomicUsize>, impl Fn(CallbackMessage) -> futures::future::Ready<Result<(), Reject>> + Send + Sync) {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let handler = move |_msg: CallbackMessage| {
            counter.fetch_add(1, Ordering::SeqCst);
            futures::future::ready(answer.clone())
        };
        (calls, handler)
    }

    #[tokio::test]
    async fn get_answers_the_official_echostr_plaintext_exactly() {
        let (receiver, _rx) = Receiver::channel(sample(), 1);
        let query = format!(
            "msg_signature={URL_SIGNATURE}&timestamp={URL_TIMESTAMP}&nonce={URL_NONCE}&echostr=P9nAzCzyDtyTWESHep1vC5X9xho%2FqYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp%2B4RPcs8TgAE7OaBO%2BFZXvnaqQ%3D%3D"
        );
        let answer = receiver.handle("GET", &query, b"").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.body.as_bytes(), b"1616140317555161061");
        assert!(answer.content_type.starts_with("text/plain"));

        let wrong = query.replace(URL_SIGNATURE, POST_SIGNATURE);
        assert_eq!(receiver.handle("GET", &wrong, b"").await, CallbackResponse::error(401));
        for bad in ["", "msg_signature=x&timestamp=1&nonce=2", &format!("{query}&nonce=1")] {
            assert_eq!(receiver.handle("GET", bad, b"").await.status, 400, "{bad}");
        }
        // Signed, but not a ciphertext of ours.
        let sealed = CallbackCrypto::new(TOKEN, KEY, "other").unwrap().encrypt("x", "1", "2").unwrap();
        assert_eq!(receiver.handle("GET", &sealed.verify_url_query(), b"").await.status, 400);
    }

    #[tokio::test]
    async fn post_hands_a_message_over_once_and_acknowledges_redeliveries() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let receiver = Receiver::new(sample(), move |msg: CallbackMessage| {
            sink.lock().unwrap().push(msg);
            async { Ok(()) }
        });
        let (query, body) = post(EVENT, "n1");
        let answer = receiver.handle("POST", &query, body.as_bytes()).await;
        assert_eq!((answer.status, answer.body.as_str()), (200, ""));
        {
            let messages = seen.lock().unwrap();
            assert_eq!(messages.len(), 1);
            let msg = &messages[0];
            assert_eq!(msg.xml, EVENT);
            assert_eq!(msg.name(), "change_external_chat");
            assert_eq!(msg.event.form.map(|f| f.name()), Some("app"));
            assert_eq!(msg.reply(), "");
            assert_eq!(msg.timestamp, "1700000000");
            let Event::ChangeExternalChat(event) = &msg.event.event else { panic!("{:?}", msg.event) };
            assert_eq!(event.mem_change_list.as_deref(), Some(&["Jack".to_string(), "Rose".to_string()][..]));
            assert!(!format!("{msg:?}").contains("Jack"));
        }
        // The same message encrypted afresh, with another nonce, and written with other whitespace.
        let (query, body) = post(&EVENT.replace("><", ">\n  <"), "n2");
        assert_eq!(receiver.handle("POST", &query, body.as_bytes()).await.status, 200);
        assert_eq!(seen.lock().unwrap().len(), 1, "a redelivery is not handed over again");
        // A different message is.
        let (query, body) = post(&EVENT.replace("Rose", "Tom"), "n3");
        assert_eq!(receiver.handle("POST", &query, body.as_bytes()).await.status, 200);
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn third_party_callbacks_are_answered_success() {
        let (calls, handler) = counting(Ok(()));
        let receiver = Receiver::new(sample(), handler);
        let (query, body) = post(THIRD_PARTY, "n");
        let answer = receiver.handle("POST", &query, body.as_bytes()).await;
        assert_eq!((answer.status, answer.body.as_str()), (200, "success"));
        let again = receiver.handle("POST", &query, body.as_bytes()).await;
        assert_eq!((again.status, again.body.as_str()), (200, "success"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_handler_error_is_503_and_the_message_is_not_remembered() {
        let (calls, handler) = counting(Err(Reject::new("database down")));
        let receiver = Receiver::new(sample(), handler);
        let (query, body) = post(EVENT, "n");
        assert_eq!(receiver.handle("POST", &query, body.as_bytes()).await, CallbackResponse::error(503));
        assert_eq!(receiver.handle("POST", &query, body.as_bytes()).await.status, 503);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "each redelivery is handed over again");
    }

    #[tokio::test]
    async fn a_panicking_handler_is_503() {
        let receiver = Receiver::new(sample(), |_msg: CallbackMessage| async { panic!("bug in the application") });
        let (query, body) = post(EVENT, "n");
        assert_eq!(receiver.handle("POST", &query, body.as_bytes()).await.status, 503);
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_handler_times_out_with_503_and_is_handed_the_redelivery() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let receiver = Receiver::new(sample(), move |_msg: CallbackMessage| {
            let first = counter.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                Ok(())
            }
        });
        let (query, body) = post(EVENT, "n");
        let started = Instant::now();
        assert_eq!(receiver.handle("POST", &query, body.as_bytes()).await.status, 503);
        assert_eq!(started.elapsed(), DEFAULT_HANDLER_TIMEOUT);
        assert_eq!(receiver.handle("POST", &query, body.as_bytes()).await.status, 200);
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        let quick = Receiver::builder(sample()).handler_timeout(Duration::from_millis(100)).handler(
            |_msg: CallbackMessage| async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok(())
            },
        );
        let started = Instant::now();
        assert_eq!(quick.handle("POST", &query, body.as_bytes()).await.status, 503);
        assert_eq!(started.elapsed(), Duration::from_millis(100));
    }

    #[tokio::test]
    async fn a_full_channel_is_503_and_the_message_comes_again() {
        let (receiver, mut rx) = Receiver::channel(sample(), 1);
        let (q1, b1) = post(EVENT, "n1");
        let (q2, b2) = post(&EVENT.replace("Rose", "Tom"), "n2");
        assert_eq!(receiver.handle("POST", &q1, b1.as_bytes()).await.status, 200);
        assert_eq!(receiver.handle("POST", &q2, b2.as_bytes()).await, CallbackResponse::error(503));
        assert_eq!(receiver.handle("POST", &q1, b1.as_bytes()).await.status, 200, "already queued");
        assert_eq!(rx.recv().await.unwrap().xml, EVENT);
        assert_eq!(receiver.handle("POST", &q2, b2.as_bytes()).await.status, 200, "room again");
        assert!(rx.recv().await.unwrap().xml.contains("Tom"));
        assert!(rx.try_recv().is_err());
        drop(rx);
        let (q3, b3) = post(THIRD_PARTY, "n3");
        assert_eq!(receiver.handle("POST", &q3, b3.as_bytes()).await.status, 503, "closed channel");
    }

    #[tokio::test]
    async fn the_same_message_in_flight_twice_is_handed_over_once() {
        let (release_tx, release_rx) = tokio::sync::watch::channel(false);
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let receiver = Receiver::new(sample(), move |_msg: CallbackMessage| {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut release = release_rx.clone();
            async move {
                let _ = release.wait_for(|go| *go).await;
                Ok(())
            }
        });
        let (q1, b1) = post(EVENT, "n1");
        let (q2, b2) = post(EVENT, "n2");
        let first = tokio::spawn({
            let receiver = receiver.clone();
            async move { receiver.handle("POST", &q1, b1.as_bytes()).await }
        });
        while calls.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(receiver.handle("POST", &q2, b2.as_bytes()).await.status, 503);
        release_tx.send(true).unwrap();
        assert_eq!(first.await.unwrap().status, 200);
        assert_eq!(receiver.handle("POST", &q2, b2.as_bytes()).await.status, 200);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_dropped_request_does_not_leave_its_message_in_flight() {
        let receiver = Receiver::new(sample(), |_msg: CallbackMessage| futures::future::pending());
        let (query, body) = post(EVENT, "n");
        let attempt = receiver.handle("POST", &query, body.as_bytes());
        assert!(tokio::time::timeout(Duration::from_millis(10), attempt).await.is_err());
        assert_eq!(receiver.seen().begin(&dedupe_key(&xml::parse(EVENT).unwrap()), Instant::now()), Status::New);
    }

    #[tokio::test]
    async fn bad_requests_get_generic_answers() {
        let (calls, handler) = counting(Ok(()));
        let receiver = Receiver::builder(sample()).max_body(4096).handler(handler);
        let crypto = sample();
        let (query, body) = post(EVENT, "n");

        // Method.
        for method in ["PUT", "DELETE", "HEAD", "get", ""] {
            assert_eq!(receiver.handle(method, &query, body.as_bytes()).await, CallbackResponse::error(405));
        }
        // Size.
        let big = format!("{body}{}", " ".repeat(4097 - body.len()));
        assert_eq!(receiver.handle("POST", &query, big.as_bytes()).await, CallbackResponse::error(413));
        assert_eq!(receiver.handle("POST", &query, &vec![b'<'; 10 << 20]).await.status, 413);
        // Parameters.
        let no_nonce = query.split('&').filter(|p| !p.starts_with("nonce=")).collect::<Vec<_>>().join("&");
        assert_eq!(receiver.handle("POST", &no_nonce, body.as_bytes()).await.status, 400);
        assert_eq!(receiver.handle("POST", &format!("{query}&timestamp=1"), body.as_bytes()).await.status, 400);
        // Signature.
        let forged = query.replace("timestamp=1700000000", "timestamp=1700000001");
        assert_eq!(receiver.handle("POST", &forged, body.as_bytes()).await, CallbackResponse::error(401));
        // Envelope.
        for bad in ["", "not xml", "<xml><Encrypt>", "<!DOCTYPE x []><xml><Encrypt>x</Encrypt></xml>", "<xml/>"] {
            assert_eq!(receiver.handle("POST", &query, bad.as_bytes()).await, CallbackResponse::error(400), "{bad}");
        }
        // Signed, but not decryptable: not base64; wrong receive id.
        let sig = crypto.signature("1", "2", "!!!!");
        let q = format!("msg_signature={sig}&timestamp=1&nonce=2");
        assert_eq!(receiver.handle("POST", &q, b"<xml><Encrypt>!!!!</Encrypt></xml>").await.status, 400);
        let other = CallbackCrypto::new(TOKEN, KEY, "ww-other").unwrap().encrypt(EVENT, "1", "2").unwrap();
        let answer = receiver.handle("POST", &other.post_query(), other.post_body("x", None).as_bytes()).await;
        assert_eq!(answer, CallbackResponse::error(400));
        // Decrypts, but the message is not acceptable XML.
        for message in ["not xml", "<!DOCTYPE xml [<!ENTITY a \"b\">]><xml>&a;</xml>", "<xml>&secret;</xml>"] {
            let (q, b) = post(message, "n");
            assert_eq!(receiver.handle("POST", &q, b.as_bytes()).await.status, 400, "{message}");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0);
        assert_eq!(CallbackResponse::error(400).body, "bad request");
    }
}
