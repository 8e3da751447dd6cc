//! Delivery of events to the callback URL: one queue per chat, drained by one worker per chat while it
//! has events (so a chat's events go in order, and different chats in parallel), each event sealed
//! afresh for every attempt, retried with a doubling backoff, every attempt logged.
//!
//! Bounds: at most [`CallbackTarget::max_concurrent`] deliveries are in flight at once (a semaphore; a
//! worker holds a permit only while it delivers, not while it waits for a delay or a reorder), and at
//! most [`CallbackTarget::max_queued`] events are queued and not yet finished (the control paths check
//! [`Pusher::has_room`] under the company lock before they change anything; an event that does not fit
//! anyway is logged as given up, error `queue full`). When the simulator stops, every event still
//! queued or in delivery is logged as given up (error `shutdown`), so `pending` returns to 0.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, watch};
use wecom_groupchat::callback::CallbackCrypto;
use wecom_groupchat::events::{CallbackEvent, Event};

use super::config::{CallbackFaults, CallbackTarget, redact_url};
use super::log::{AttemptOutcome, CallbackAttempt, Log};
use crate::clock::Clock;
use crate::faults::{fnv1a, mix};
use crate::lock;

/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How often an event to be reordered looks for the next one.
const REORDER_POLL: Duration = Duration::from_millis(5);
/// The error logged for an event given up because the simulator stopped.
pub(crate) const SHUTDOWN: &str = "shutdown";
/// The error logged for an event given up because the queues were full.
pub(crate) const QUEUE_FULL: &str = "queue full";

/// Pushes events to the callback URL, if one is configured (else it does nothing).
#[derive(Debug)]
pub(crate) struct Pusher {
    delivery: Option<Arc<Delivery>>,
}

/// The faults decided for one event when it was queued.
#[derive(Debug, Clone, Copy, Default)]
struct Decided {
    drop: bool,
    duplicate: bool,
    reorder: bool,
    reorder_wait: Duration,
    delay: Duration,
}

/// An event waiting in its chat's queue.
#[derive(Debug)]
struct Queued {
    event_id: u64,
    chat_seq: u64,
    chat_id: String,
    name: String,
    change_type: String,
    update_detail: Option<String>,
    /// The message, sealed afresh for each attempt.
    xml: String,
    faults: Decided,
}

#[derive(Debug, Default)]
struct Queues {
    /// The chats whose worker runs, and the events waiting for it.
    waiting: HashMap<String, VecDeque<Queued>>,
    /// Events queued so far per chat (the fault draws' counter).
    counts: HashMap<String, u64>,
    /// Events queued so far.
    events: u64,
}

struct Delivery {
    crypto: CallbackCrypto,
    url: url::Url,
    corp_id: String,
    agent_id: String,
    retries: u32,
    timeout: Duration,
    backoff: Duration,
    http: reqwest::Client,
    clock: Arc<Clock>,
    faults: RwLock<CallbackFaults>,
    /// Drawn once from the seed: the key of every fault draw.
    draw_key: u64,
    queues: Mutex<Queues>,
    log: Mutex<Log>,
    /// Events queued and not yet finished (delivered, given up or dropped).
    pending: watch::Sender<u64>,
    /// Most events pending.
    max_queued: u64,
    /// Permits of deliveries in flight.
    slots: Semaphore,
    runtime: tokio::runtime::Handle,
    stopped: watch::Receiver<bool>,
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("crypto", &self.crypto)
            .field("url", &redact_url(self.url.as_str()))
            .field("retries", &self.retries)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Pusher {
    /// A pusher for `target` (none: events are not pushed), with `corp_id` as the receive id. Workers run
    /// on the current runtime and stop when `stopped` turns true.
    ///
    /// # Errors
    /// A message naming what is wrong with the target.
    pub(crate) fn new(
        target: Option<&CallbackTarget>,
        corp_id: &str,
        seed: u64,
        clock: Arc<Clock>,
        stopped: watch::Receiver<bool>,
    ) -> Result<Pusher, String> {
        let Some(target) = target else { return Ok(Pusher { delivery: None }) };
        let (crypto, url) = target.check(corp_id)?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(target.timeout)
            .build()
            .map_err(|e| format!("callback HTTP client: {e}"))?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| format!("callbacks need a runtime: {e}"))?;
        // A stream of its own: delivery faults never shift the data, the ids or the call faults.
        let draw_key = mix(seed ^ 0xCA11_BAC5_0000_0006);
        tracing::info!(url = %redact_url(url.as_str()), retries = target.retries, "pushing events to the callback URL");
        let delivery = Delivery {
            crypto,
            url,
            corp_id: corp_id.to_string(),
            agent_id: target.agent_id.clone(),
            retries: target.retries,
            timeout: target.timeout,
            backoff: target.backoff,
            http,
            clock,
            faults: RwLock::new(target.faults.clone()),
            draw_key,
            queues: Mutex::new(Queues::default()),
            log: Mutex::new(Log::new(target.log_size)),
            pending: watch::Sender::new(0),
            max_queued: u64::try_from(target.max_queued).unwrap_or(u64::MAX),
            slots: Semaphore::new(target.max_concurrent),
            runtime,
            stopped,
        };
        Ok(Pusher { delivery: Some(Arc::new(delivery)) })
    }

    /// Whether a callback URL is configured.
    pub(crate) fn enabled(&self) -> bool {
        self.delivery.is_some()
    }

    /// Queues an event behind the earlier events of its chat; returns at once.
    pub(crate) fn push(&self, event: &CallbackEvent) {
        let Some(delivery) = &self.delivery else { return };
        delivery.enqueue(event);
    }

    /// Resolves once every event queued so far is delivered, given up or dropped.
    pub(crate) async fn idle(&self) {
        if let Some(delivery) = &self.delivery {
            let mut pending = delivery.pending.subscribe();
            let _ = pending.wait_for(|n| *n == 0).await;
        }
    }

    /// Whether `n` more events fit in the queues (always without a callback URL). The queues only grow
    /// under the company lock, so a check under it holds until the lock is released.
    pub(crate) fn has_room(&self, n: usize) -> bool {
        self.delivery.as_ref().is_none_or(|d| *d.pending.borrow() + n as u64 <= d.max_queued)
    }

    /// The most events the queues hold (0 without a callback URL).
    pub(crate) fn max_queued(&self) -> u64 {
        self.delivery.as_ref().map_or(0, |d| d.max_queued)
    }

    /// Events queued and not yet finished.
    pub(crate) fn pending(&self) -> u64 {
        self.delivery.as_ref().map_or(0, |d| *d.pending.borrow())
    }

    /// The attempts logged, oldest first.
    pub(crate) fn attempts(&self) -> Vec<CallbackAttempt> {
        self.delivery.as_ref().map_or_else(Vec::new, |d| lock::mutex(&d.log).entries().cloned().collect())
    }

    /// The delivery faults in force (none without a callback URL).
    pub(crate) fn faults(&self) -> CallbackFaults {
        self.delivery.as_ref().map_or_else(CallbackFaults::default, |d| lock::read(&d.faults).clone())
    }

    /// Replaces the delivery faults, for events queued from now on.
    ///
    /// # Errors
    /// A message when they are out of range or no callback URL is configured.
    pub(crate) fn set_faults(&self, faults: CallbackFaults) -> Result<(), String> {
        faults.check()?;
        let delivery = self.delivery.as_ref().ok_or("no callback URL is configured (--callback-url)")?;
        *lock::write(&delivery.faults) = faults;
        Ok(())
    }
}

/// A draw in [0, 1) from 64 well-mixed bits (53 of them, as `rand` makes an f64).
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

impl Delivery {
    fn enqueue(self: &Arc<Self>, event: &CallbackEvent) {
        let (chat_id, change_type, update_detail) = match &event.event {
            Event::ChangeExternalChat(change) => (
                change.chat_id.clone(),
                change.change_type.as_str().to_string(),
                change.update_detail.as_ref().map(|d| d.as_str().to_string()),
            ),
            // Events of other kinds share one queue.
            _ => (String::new(), String::new(), None),
        };
        let xml = event.to_xml();
        let mut queues = lock::mutex(&self.queues);
        queues.events += 1;
        let event_id = queues.events;
        let count = queues.counts.entry(chat_id.clone()).or_insert(0);
        *count += 1;
        let chat_seq = *count;
        let faults = self.decide(&chat_id, chat_seq);
        let queued = Queued {
            event_id,
            chat_seq,
            chat_id: chat_id.clone(),
            name: event.name().to_string(),
            change_type,
            update_detail,
            xml,
            faults,
        };
        if *self.stopped.borrow() || *self.pending.borrow() >= self.max_queued {
            drop(queues);
            let error = if *self.stopped.borrow() { SHUTDOWN } else { QUEUE_FULL };
            self.give_up(&queued, 1, 0, error);
            return;
        }
        self.pending.send_modify(|n| *n += 1);
        if let Some(waiting) = queues.waiting.get_mut(&chat_id) {
            waiting.push_back(queued);
            return;
        }
        queues.waiting.insert(chat_id.clone(), VecDeque::from([queued]));
        drop(queues);
        let delivery = self.clone();
        // The worker notices a stop itself and gives up what is left (see `unless_stopped`).
        self.runtime.spawn(async move { delivery.run_chat(&chat_id).await });
    }

    /// `future`'s output, or `None` once the simulator stops.
    async fn unless_stopped<T>(&self, future: impl Future<Output = T>) -> Option<T> {
        let mut stopped = self.stopped.clone();
        tokio::select! {
            biased;
            _ = stopped.wait_for(|stop| *stop) => None,
            output = future => Some(output),
        }
    }

    /// Logs an event as given up without (further) attempts: the simulator stopped, or the queues were
    /// full. `attempt` 0 when it was never tried.
    fn give_up(&self, event: &Queued, copy: u32, attempt: u32, error: &str) {
        tracing::warn!(chat_id = %event.chat_id, event_id = event.event_id, error, "callback given up");
        self.log(
            event,
            copy,
            attempt,
            self.clock.now_ms(),
            (None, Some(error.to_string()), AttemptOutcome::GivenUp),
            0,
        );
    }

    /// One event finished (delivered, given up or dropped).
    fn finished(&self) {
        self.pending.send_modify(|n| *n = n.saturating_sub(1));
    }

    /// The faults of the `n`-th event of a chat: independent draws, from the seed, the chat and `n`.
    fn decide(&self, chat_id: &str, n: u64) -> Decided {
        let faults = lock::read(&self.faults);
        let base = mix(self.draw_key ^ fnv1a(0xcbf2_9ce4_8422_2325, chat_id.as_bytes()) ^ mix(n));
        let draw = |p: f64, salt: u64| p > 0.0 && unit(mix(base ^ salt)) < p;
        Decided {
            drop: draw(faults.drop, 1),
            duplicate: draw(faults.duplicate, 2),
            reorder: draw(faults.reorder, 3),
            reorder_wait: faults.reorder_wait_duration(),
            delay: Duration::from_millis(faults.delay_ms),
        }
    }

    /// The next event of a chat; `None` (and the chat's worker ends) when it has none.
    fn pop(&self, chat_id: &str) -> Option<Queued> {
        let mut queues = lock::mutex(&self.queues);
        let next = queues.waiting.get_mut(chat_id).and_then(VecDeque::pop_front);
        if next.is_none() {
            queues.waiting.remove(chat_id);
        }
        next
    }

    /// The next event of a chat, waiting up to `wait` for one to be queued.
    async fn next_within_wait(&self, chat_id: &str, wait: Duration) -> Option<Queued> {
        let until = Instant::now() + wait;
        loop {
            if let Some(next) = lock::mutex(&self.queues).waiting.get_mut(chat_id).and_then(VecDeque::pop_front) {
                return Some(next);
            }
            if Instant::now() >= until {
                return None;
            }
            tokio::time::sleep(REORDER_POLL).await;
        }
    }

    /// Delivers a chat's events one after the other until its queue is empty.
    /// Once the simulator stops, gives up every event left instead.
    async fn run_chat(&self, chat_id: &str) {
        while let Some(event) = self.pop(chat_id) {
            if *self.stopped.borrow() {
                self.give_up(&event, 1, 0, SHUTDOWN);
                self.finished();
                continue;
            }
            if event.faults.reorder && !event.faults.drop {
                match self.unless_stopped(self.next_within_wait(chat_id, event.faults.reorder_wait)).await {
                    None => {
                        self.give_up(&event, 1, 0, SHUTDOWN);
                        self.finished();
                        continue;
                    }
                    Some(Some(next)) => {
                        tracing::debug!(
                            chat_id,
                            first = next.event_id,
                            then = event.event_id,
                            "callback events reordered"
                        );
                        self.deliver(next).await;
                    }
                    Some(None) => {}
                }
            }
            self.deliver(event).await;
        }
    }

    /// Delivers one event (twice when duplicated), or drops it.
    async fn deliver(&self, event: Queued) {
        if event.faults.drop {
            tracing::info!(chat_id = %event.chat_id, event_id = event.event_id, "callback event dropped (fault)");
            self.log(&event, 1, 0, self.clock.now_ms(), (None, None, AttemptOutcome::Dropped), 0);
        } else {
            self.deliver_copies(&event).await;
        }
        self.finished();
    }

    /// Waits for the event's delay and a delivery slot, then delivers it (twice when duplicated); gives
    /// it up when the simulator stops first.
    async fn deliver_copies(&self, event: &Queued) {
        if !event.faults.delay.is_zero() && self.unless_stopped(tokio::time::sleep(event.faults.delay)).await.is_none()
        {
            return self.give_up(event, 1, 0, SHUTDOWN);
        }
        // Never closed: an error cannot happen, and the stop is the only way out.
        let Some(Ok(_permit)) = self.unless_stopped(self.slots.acquire()).await else {
            return self.give_up(event, 1, 0, SHUTDOWN);
        };
        let copies = if event.faults.duplicate { 2 } else { 1 };
        for copy in 1..=copies {
            if !self.deliver_copy(event, copy).await {
                return;
            }
        }
    }

    /// One delivery of an event: the first attempt and up to `retries` more, until one is answered 2xx.
    /// `false` when the simulator stopped first (the event is logged as given up).
    async fn deliver_copy(&self, event: &Queued, copy: u32) -> bool {
        let attempts = self.retries + 1;
        for attempt in 1..=attempts {
            if attempt > 1 {
                let factor = 1u32 << (attempt - 2).min(16);
                let backoff = tokio::time::sleep(self.backoff.saturating_mul(factor).min(MAX_BACKOFF));
                if self.unless_stopped(backoff).await.is_none() {
                    self.give_up(event, copy, attempt, SHUTDOWN);
                    return false;
                }
            }
            let started_ms = self.clock.now_ms();
            let started = Instant::now();
            let Some(result) = self.unless_stopped(self.send(event)).await else {
                self.give_up(event, copy, attempt, SHUTDOWN);
                return false;
            };
            let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let delivered = matches!(result, Ok(status) if (200..300).contains(&status));
            let outcome = if delivered {
                AttemptOutcome::Delivered
            } else if attempt == attempts {
                AttemptOutcome::GivenUp
            } else {
                AttemptOutcome::Retrying
            };
            let (status, error) = match result {
                Ok(status) => (Some(status), None),
                Err(error) => (None, Some(error)),
            };
            tracing::debug!(chat_id = %event.chat_id, event_id = event.event_id, attempt, ?status, ?error, "callback attempt");
            if outcome == AttemptOutcome::GivenUp {
                tracing::warn!(chat_id = %event.chat_id, event_id = event.event_id, attempts, ?status, ?error, "callback given up");
            }
            self.log(event, copy, attempt, started_ms, (status, error, outcome), ms);
            if delivered {
                return true;
            }
        }
        true
    }

    /// One attempt: sealed afresh (fresh timestamp and nonce), POSTed, its status within the timeout.
    async fn send(&self, event: &Queued) -> Result<u16, String> {
        let timestamp = self.clock.now().to_string();
        let nonce = rand::random::<u32>().to_string();
        let sealed = self.crypto.encrypt(&event.xml, &timestamp, &nonce).map_err(|e| e.to_string())?;
        let mut url = self.url.clone();
        let query = match url.query() {
            Some(q) if !q.is_empty() => format!("{q}&{}", sealed.post_query()),
            _ => sealed.post_query(),
        };
        url.set_query(Some(&query));
        let request = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .body(sealed.post_body(&self.corp_id, Some(&self.agent_id)))
            .send();
        match tokio::time::timeout(self.timeout, request).await {
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
            Ok(Err(e)) => Err(describe(&e.without_url())),
            Ok(Ok(response)) => Ok(response.status().as_u16()),
        }
    }

    fn log(
        &self,
        event: &Queued,
        copy: u32,
        attempt: u32,
        time_ms: i64,
        (status, error, outcome): (Option<u16>, Option<String>, AttemptOutcome),
        ms: u64,
    ) {
        lock::mutex(&self.log).push(CallbackAttempt {
            seq: 0,
            time_ms,
            event_id: event.event_id,
            chat_seq: event.chat_seq,
            chat_id: event.chat_id.clone(),
            event: event.name.clone(),
            change_type: event.change_type.clone(),
            update_detail: event.update_detail.clone(),
            copy,
            attempt,
            status,
            error,
            outcome,
            ms,
        });
    }
}

/// An HTTP error and its causes, on one line.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    use wecom_groupchat::events::{AppHeader, ChangeExternalChat, ChangeType};

    const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

    fn event(chat_id: &str) -> CallbackEvent {
        CallbackEvent::new(AppHeader::new("ww1", 1), ChangeExternalChat::new(chat_id, ChangeType::Create))
    }

    /// A receiver that accepts connections and never answers; its URL.
    async fn silent_receiver() -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/cb", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((connection, _)) = listener.accept().await {
                held.push(connection);
            }
        });
        (url, task)
    }

    fn pusher(target: &CallbackTarget, stopped: watch::Receiver<bool>) -> Pusher {
        Pusher::new(Some(target), "ww1", 1, Arc::new(Clock::new(0).unwrap()), stopped).unwrap()
    }

    #[tokio::test]
    async fn a_stop_gives_up_every_event_left_and_pending_returns_to_zero() {
        let (url, receiver) = silent_receiver().await;
        let (stop, stopped) = watch::channel(false);
        let target = CallbackTarget::new(url, "tok", KEY).retries(2).timeout(Duration::from_secs(60));
        let pusher = pusher(&target, stopped);
        // wr1: one in delivery, one queued behind it; wr2: one in delivery.
        for chat in ["wr1", "wr1", "wr2"] {
            pusher.push(&event(chat));
        }
        assert_eq!(pusher.pending(), 3);
        tokio::time::sleep(Duration::from_millis(50)).await;
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), pusher.idle()).await.expect("pending returns to 0");
        let attempts = pusher.attempts();
        assert_eq!(attempts.len(), 3, "{attempts:?}");
        assert!(
            attempts.iter().all(|a| a.outcome == AttemptOutcome::GivenUp && a.error.as_deref() == Some(SHUTDOWN)),
            "{attempts:?}"
        );
        let mut ids: Vec<u64> = attempts.iter().map(|a| a.event_id).collect();
        ids.sort_unstable();
        assert_eq!(ids, [1, 2, 3]);
        // After the stop, an event is given up at once.
        pusher.push(&event("wr3"));
        assert_eq!((pusher.pending(), pusher.attempts().len()), (0, 4));
        receiver.abort();
    }

    #[tokio::test]
    async fn the_queues_hold_at_most_max_queued_events() {
        let (url, receiver) = silent_receiver().await;
        let (_stop, stopped) = watch::channel(false);
        let target = CallbackTarget::new(url, "tok", KEY).retries(0).timeout(Duration::from_secs(60)).max_queued(2);
        let pusher = pusher(&target, stopped);
        assert!(pusher.has_room(2) && !pusher.has_room(3));
        pusher.push(&event("wr1"));
        pusher.push(&event("wr2"));
        assert!(!pusher.has_room(1));
        pusher.push(&event("wr3"));
        assert_eq!(pusher.pending(), 2);
        let attempts = pusher.attempts();
        assert_eq!(attempts.len(), 1);
        assert_eq!(
            (attempts[0].event_id, attempts[0].outcome, attempts[0].error.as_deref()),
            (3, AttemptOutcome::GivenUp, Some(QUEUE_FULL))
        );
        receiver.abort();
    }

    #[test]
    fn draws_are_uniform_enough() {
        let hits = (0..10_000u64).filter(|n| unit(mix(*n)) < 0.25).count();
        assert!((2_200..2_800).contains(&hits), "{hits}");
    }
}
