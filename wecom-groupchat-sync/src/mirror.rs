//! [`Mirror`]: the reconcile, the queue's workers and the events, over a [`Store`] and a
//! [`Client`](wecom_groupchat::Client).
//!
//! Every `get` goes through the client, so it waits for the client's rate budget (and shares its token
//! store): give every instance of a fleet a client on the same Redis budget and token store, and the
//! fleet keeps to the corp's quota together.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use wecom_groupchat::callback::{CallbackHandler, CallbackMessage, Reject};
use wecom_groupchat::events::{Event, Header};
use wecom_groupchat::types::{GetFollowUserListRequest, GetRequest, ListRequest, NeedName, OwnerFilter, StatusFilter};
use wecom_groupchat::{Client, Error, codes};

use crate::error::SyncError;
use crate::plan::{Plan, plan};
use crate::store::{self, Claim, NewEvent, RunRow, Store, Stored};

/// How a [`Mirror`] works. `SyncOptions::default()` suits one process; a fleet needs nothing more (each
/// process gets a worker id of its own).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SyncOptions {
    /// `get` calls in flight at once in this process (default 8).
    pub concurrency: usize,
    /// Attempts a chat gets in a reconcile before the reconcile counts it failed; it stays queued and is
    /// tried again later (default 3).
    pub max_attempts: u32,
    /// How long a worker holds the chats it took without renewing (default 20 s; renewed every quarter of
    /// it). A worker that dies leaves its chats to the others after this long; a fetch is given up when
    /// its lease could not be renewed in time, so no two workers fetch one chat at once.
    pub lease: Duration,
    /// How often an idle worker looks at the queue (other instances queue chats too; default 1 s).
    pub poll: Duration,
    /// The longest wait before a failed chat is tried again (default 5 min; it doubles from 1 s).
    pub max_backoff: Duration,
    /// This worker's id in the queue's leases (default: host name, process id and a random part).
    pub worker_id: String,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            concurrency: 8,
            max_attempts: 3,
            lease: Duration::from_secs(20),
            poll: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            worker_id: default_worker_id(),
        }
    }
}

impl SyncOptions {
    /// Sets [`SyncOptions::concurrency`].
    #[must_use]
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Sets [`SyncOptions::max_attempts`].
    #[must_use]
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n;
        self
    }

    /// Sets [`SyncOptions::lease`].
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets [`SyncOptions::poll`].
    #[must_use]
    pub fn poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Sets [`SyncOptions::max_backoff`].
    #[must_use]
    pub fn max_backoff(mut self, max: Duration) -> Self {
        self.max_backoff = max;
        self
    }

    /// Sets [`SyncOptions::worker_id`].
    #[must_use]
    pub fn worker_id(mut self, id: impl Into<String>) -> Self {
        self.worker_id = id.into();
        self
    }

    fn check(&self) -> Result<(), SyncError> {
        if self.concurrency == 0 || self.max_attempts == 0 {
            return Err(SyncError::Config("concurrency and max_attempts must be at least 1".into()));
        }
        if self.lease < Duration::from_secs(2) || self.poll.is_zero() {
            return Err(SyncError::Config("the lease must be at least 2 s and the poll interval positive".into()));
        }
        if self.worker_id.is_empty() {
            return Err(SyncError::Config("the worker id must not be empty".into()));
        }
        Ok(())
    }
}

fn default_worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    format!("{host}-{}-{:08x}", std::process::id(), rand::random::<u32>())
}

/// A change the mirror made to its rows, once committed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Change {
    /// The chat.
    pub chat_id: String,
    /// What happened to it.
    pub kind: ChangeKind,
}

/// What a [`Change`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeKind {
    /// A `get` answer was stored: the chat and its member set.
    Stored,
    /// Members were removed by a `del_member` event, without a `get`.
    MembersRemoved,
    /// The chat was marked dismissed (an event, or `get` saying it no longer exists).
    Dismissed,
}

/// What this process has done so far (for progress bars and benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Chats listed by the reconciles this process ran the listing of.
    pub listed: u64,
    /// `get` answers stored.
    pub fetched: u64,
    /// Chats found dismissed by `get`.
    pub dismissed: u64,
    /// `get` calls that failed (each failure of each attempt).
    pub failures: u64,
    /// `get` calls made.
    pub get_calls: u64,
    /// Events stored (redeliveries not counted).
    pub events: u64,
    /// Of those, events that needed no `get` (already in the rows, a `del_member` applied, a dismissal).
    pub events_without_get: u64,
    /// Time spent in the transactions that store `get` answers, BEGIN to COMMIT (by every mirror on this
    /// [`Store`] and its clones).
    pub store_time: Duration,
    /// The same with the wait for a connection (SQLite has one: the stores of concurrent fetches queue).
    pub store_time_with_wait: Duration,
    /// Transactions that stored a `get` answer (or a dismissal `get` found).
    pub stores: u64,
}

#[derive(Debug, Default)]
struct Counters {
    listed: AtomicU64,
    fetched: AtomicU64,
    dismissed: AtomicU64,
    failures: AtomicU64,
    get_calls: AtomicU64,
    events: AtomicU64,
    events_without_get: AtomicU64,
    store_nanos: AtomicU64,
    stores: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// How a reconcile ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunReport {
    /// The run, as recorded in `sync_run` (its counts include what other workers did for it).
    pub run: RunRow,
    /// Whether this process listed the chats (a run resumed after its listing, or joined, did not).
    pub listed_here: bool,
}

impl RunReport {
    /// Whether some chats still failed after every attempt (they stay queued).
    pub fn partial(&self) -> bool {
        self.run.failed > 0
    }
}

/// What became of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventOutcome {
    /// A redelivery of an event already stored: nothing done.
    Duplicate,
    /// Not a chat event: stored, nothing else.
    Ignored,
    /// The rows already said it: stored, no call.
    Unchanged,
    /// Applied to the rows without a call (a `del_member` that follows the stored version).
    Applied,
    /// The chat was marked dismissed.
    Dismissed,
    /// A `get` of the chat was queued (or an earlier one it joins).
    Queued,
}

struct Inner {
    store: Store,
    client: Client,
    options: SyncOptions,
    wake: Notify,
    counters: Counters,
    /// What this process did for each run, not yet added to its row.
    run_counts: Mutex<HashMap<i64, (i64, i64)>>,
    /// Until when this worker's leases are surely valid (renewed by the ticker).
    lease_ok_until: watch::Sender<Instant>,
    changes: broadcast::Sender<Change>,
    /// A claim could not be given back (the database was away): give back all at the next idle moment.
    release_pending: std::sync::atomic::AtomicBool,
    /// Runs this process is listing right now.
    listing: Mutex<std::collections::HashSet<i64>>,
}

/// Marks a run as being listed by this process while it lives.
struct Listing<'a> {
    inner: &'a Inner,
    run: i64,
}

impl<'a> Listing<'a> {
    fn start(inner: &'a Inner, run: i64) -> Self {
        inner.listing.lock().unwrap_or_else(PoisonError::into_inner).insert(run);
        Listing { inner, run }
    }
}

impl Drop for Listing<'_> {
    fn drop(&mut self) {
        self.inner.listing.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.run);
    }
}

/// A mirror of the customer groups of one corp: see the crate's documentation.
#[derive(Clone)]
pub struct Mirror {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("store", &self.inner.store)
            .field("worker", &self.inner.options.worker_id)
            .finish_non_exhaustive()
    }
}

/// Unix seconds now.
fn now() -> i64 {
    wecom_groupchat::time::now_unix()
}

/// What stops a worker.
enum Until {
    /// The run is finished.
    Run(i64),
    /// Nothing is due and nothing is in flight.
    Idle,
    /// The flag turns true.
    Stop(watch::Receiver<bool>),
}

/// How a settled run stands.
enum RunState {
    Finished,
    NeedsListing,
    Going,
}

impl Mirror {
    /// A mirror of `client`'s corp in `store`.
    ///
    /// # Errors
    /// [`SyncError::Config`] for options that make no sense.
    pub fn new(store: Store, client: Client, options: SyncOptions) -> Result<Mirror, SyncError> {
        options.check()?;
        let (lease_ok_until, _) = watch::channel(Instant::now() + margin_lease(&options));
        let (changes, _) = broadcast::channel(1024);
        Ok(Mirror {
            inner: Arc::new(Inner {
                store,
                client,
                options,
                wake: Notify::new(),
                counters: Counters::default(),
                run_counts: Mutex::new(HashMap::new()),
                lease_ok_until,
                changes,
                release_pending: std::sync::atomic::AtomicBool::new(false),
                listing: Mutex::new(std::collections::HashSet::new()),
            }),
        })
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The options.
    pub fn options(&self) -> &SyncOptions {
        &self.inner.options
    }

    /// The changes made from now on, as they are committed (a receiver that falls behind by more than
    /// 1,024 changes misses the oldest).
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    /// What this process has done so far.
    pub fn progress(&self) -> Progress {
        let c = &self.inner.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Progress {
            listed: get(&c.listed),
            fetched: get(&c.fetched),
            dismissed: get(&c.dismissed),
            failures: get(&c.failures),
            get_calls: get(&c.get_calls),
            events: get(&c.events),
            events_without_get: get(&c.events_without_get),
            store_time: self.inner.store.store_time(),
            store_time_with_wait: Duration::from_nanos(get(&c.store_nanos)),
            stores: get(&c.stores),
        }
    }

    /// A callback handler for [`Receiver`](wecom_groupchat::callback::Receiver): each event is stored
    /// and applied in one transaction before it is acknowledged; while the database is unavailable the
    /// delivery is refused (503), so WeCom delivers it again.
    pub fn callback_handler(&self) -> MirrorHandler {
        MirrorHandler { mirror: self.clone() }
    }

    /// One reconcile, to its end: lists every chat (all statuses; by batches of owners when WeCom
    /// answers 81017), queues them, and fetches each with `get`, `concurrency` at a time, storing each
    /// chat with its member set in one transaction. A run left unfinished by a crash is resumed (its
    /// listing is not done again once complete, and the chats it stored stay done); one another live
    /// worker is running is joined. Returns when every chat of the run is stored or failed
    /// `max_attempts` times (those stay queued: [`RunReport::partial`]).
    ///
    /// # Errors
    /// [`SyncError::Database`] when the database fails (the queue is intact: run again to resume);
    /// [`SyncError::Api`] when listing fails, or the token cannot be had.
    pub async fn reconcile(&self) -> Result<RunReport, SyncError> {
        let _ticker = self.ticker();
        let store = &self.inner.store;
        let worker = self.worker();
        let mut listed_here = false;
        let run = loop {
            if let Some(open) = store.open_run().await.map_err(|e| store.db_error(&e))? {
                break open.id;
            }
            let now = now();
            if let Some(id) =
                store.start_run(worker, now, self.lease_until(now)).await.map_err(|e| store.db_error(&e))?
            {
                tracing::info!(run = id, "reconcile started");
                break id;
            }
        };
        loop {
            match self.settle_run(run).await? {
                RunState::NeedsListing => {
                    // List and fetch at once: each page is due as soon as it is queued.
                    let listing = async {
                        let _listing = Listing::start(&self.inner, run);
                        self.list(run).await
                    };
                    tokio::try_join!(listing, self.drain(Until::Run(run)))?;
                    listed_here = true;
                }
                RunState::Finished => break,
                RunState::Going => self.drain(Until::Run(run)).await?,
            }
        }
        self.flush_counts().await;
        let _ = store.release_all(worker).await;
        let run = store.run(run).await.map_err(|e| store.db_error(&e))?.ok_or_else(|| SyncError::Database {
            url: store.url().to_string(),
            message: format!("run {run} disappeared"),
        })?;
        Ok(RunReport { run, listed_here })
    }

    /// Fetches what is due in the queue now (what events queued, chats a run left), until nothing is due
    /// and nothing is in flight; chats that failed `max_attempts` times are left alone. No listing.
    ///
    /// # Errors
    /// [`SyncError::Database`], or [`SyncError::Api`] when the token cannot be had.
    pub async fn work_queue(&self) -> Result<(), SyncError> {
        let _ticker = self.ticker();
        let result = self.drain(Until::Idle).await;
        self.flush_counts().await;
        result
    }

    /// Works the queue until `stop` completes: fetches what events queue, runs a reconcile at once
    /// (or joins the one in progress) and then every `reconcile_every`, and finishes runs. On `stop` no
    /// new `get` starts; those in flight are finished and stored, the leases given back.
    ///
    /// The database failing does not stop it: the worker waits and tries again (events are refused
    /// meanwhile, so WeCom keeps them).
    ///
    /// # Errors
    /// [`SyncError::Api`] when the token cannot be had (a wrong secret): nothing would work.
    pub async fn serve(
        &self,
        reconcile_every: Option<Duration>,
        stop: impl Future<Output = ()>,
    ) -> Result<(), SyncError> {
        self.serve_inner(true, reconcile_every, stop).await
    }

    /// Works the queue until `stop` completes, as [`Mirror::serve`] does, but starts no reconcile of its
    /// own (it joins one another worker runs, and finishes it when that worker is gone): a worker for
    /// the events, or an extra worker for a fleet's reconciles.
    ///
    /// # Errors
    /// As [`Mirror::serve`].
    pub async fn work(&self, stop: impl Future<Output = ()>) -> Result<(), SyncError> {
        self.serve_inner(false, None, stop).await
    }

    async fn serve_inner(
        &self,
        at_start: bool,
        reconcile_every: Option<Duration>,
        stop: impl Future<Output = ()>,
    ) -> Result<(), SyncError> {
        let _ticker = self.ticker();
        let (stop_tx, stop_rx) = watch::channel(false);
        let scheduler = {
            let mirror = self.clone();
            let stop_rx = stop_rx.clone();
            tokio::spawn(async move { mirror.schedule(at_start, reconcile_every, stop_rx).await })
        };
        let worker = self.drain(Until::Stop(stop_rx));
        tokio::pin!(worker);
        tokio::pin!(stop);
        let mut stopped = false;
        let result = loop {
            tokio::select! {
                result = &mut worker => break result,
                () = &mut stop, if !stopped => {
                    stopped = true;
                    let _ = stop_tx.send(true);
                    self.inner.wake.notify_waiters();
                }
            }
        };
        let _ = stop_tx.send(true);
        let scheduled = scheduler.await.unwrap_or(Ok(()));
        self.flush_counts().await;
        let _ = self.inner.store.release_all(self.worker()).await;
        result.and(scheduled)
    }

    /// Stores an event and applies it, in one transaction (see the crate's documentation for the rules).
    ///
    /// # Errors
    /// [`SyncError::Database`]: nothing was stored; refuse the delivery so that it comes again.
    pub async fn apply_event(&self, message: &CallbackMessage) -> Result<EventOutcome, SyncError> {
        let store = &self.inner.store;
        let now = now();
        let change = match &message.event.event {
            Event::ChangeExternalChat(change) => Some(change),
            _ => None,
        };
        let create_time = match &message.event.header {
            Some(Header::App(h)) => Some(h.create_time),
            Some(Header::ThirdParty(h)) => Some(h.time_stamp),
            _ => None,
        };
        let name = if message.name().is_empty() { "unknown" } else { message.name() };
        let body = serde_json::Value::Object(message.event.to_json()).to_string();
        let event = NewEvent {
            dedupe_key: &message.dedupe_key,
            name,
            chat_id: change.map(|c| c.chat_id.as_str()),
            change_type: change.map(|c| c.change_type.as_str()),
            update_detail: change.and_then(|c| c.update_detail.as_ref()).map(|d| d.as_str()),
            create_time,
            body,
        };
        let db = |e: sqlx::Error| store.db_error(&e);
        let Some((mut tx, id, known)) = store.begin_event(&event, now).await.map_err(db)? else {
            return Ok(EventOutcome::Duplicate);
        };
        let Some(change) = change else {
            Store::end_event(tx, id, "ignored", Some(now)).await.map_err(db)?;
            bump(&self.inner.counters.events);
            return Ok(EventOutcome::Ignored);
        };
        let plan = plan(change, &known);
        let chat_id = change.chat_id.as_str();
        let (outcome, applied_at, kind) = match &plan {
            Plan::Unchanged => (EventOutcome::Unchanged, Some(now), None),
            Plan::RemoveMembers { userids, version } => {
                store::remove_members(&mut tx, store.dialect(), chat_id, userids, version.as_deref())
                    .await
                    .map_err(db)?;
                (EventOutcome::Applied, Some(now), Some(ChangeKind::MembersRemoved))
            }
            Plan::Dismiss => {
                store::dismiss(&mut tx, chat_id, known.leased, now).await.map_err(db)?;
                (EventOutcome::Dismissed, Some(now), Some(ChangeKind::Dismissed))
            }
            Plan::Fetch(reason) => {
                store::queue_for_event(&mut tx, chat_id, reason, now).await.map_err(db)?;
                (EventOutcome::Queued, None, None)
            }
        };
        Store::end_event(tx, id, plan.outcome(), applied_at).await.map_err(db)?;
        bump(&self.inner.counters.events);
        if outcome == EventOutcome::Queued {
            self.inner.wake.notify_waiters();
        } else {
            bump(&self.inner.counters.events_without_get);
        }
        if let Some(kind) = kind {
            let _ = self.inner.changes.send(Change { chat_id: chat_id.to_string(), kind });
        }
        tracing::debug!(chat_id, outcome = plan.outcome(), "event stored");
        Ok(outcome)
    }

    fn worker(&self) -> &str {
        &self.inner.options.worker_id
    }

    fn lease_until(&self, now: i64) -> i64 {
        now + i64::try_from(self.inner.options.lease.as_secs().max(1)).unwrap_or(i64::MAX / 4)
    }

    /// Renews this worker's leases and adds its counts to the runs' rows, every quarter of the lease,
    /// until the guard is dropped.
    fn ticker(&self) -> TickerGuard {
        let mirror = self.clone();
        let every = self.inner.options.lease / 4;
        TickerGuard(tokio::spawn(async move {
            let mut interval = tokio::time::interval(every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let started = Instant::now();
                let now = now();
                match mirror.inner.store.renew(mirror.worker(), mirror.lease_until(now)).await {
                    Ok(()) => {
                        mirror.inner.lease_ok_until.send_replace(started + margin_lease(&mirror.inner.options));
                    }
                    Err(e) => tracing::warn!(error = %mirror.inner.store.db_error(&e), "cannot renew the leases"),
                }
                mirror.flush_counts().await;
            }
        }))
    }

    /// Adds this process's counts to the runs' rows.
    async fn flush_counts(&self) {
        let pending: Vec<(i64, (i64, i64))> =
            self.inner.run_counts.lock().unwrap_or_else(PoisonError::into_inner).drain().collect();
        for (run, (fetched, dismissed)) in pending {
            if let Err(e) = self.inner.store.add_run_counts(run, fetched, dismissed).await {
                tracing::warn!(run, error = %self.inner.store.db_error(&e), "cannot record the run's counts; kept");
                let mut counts = self.inner.run_counts.lock().unwrap_or_else(PoisonError::into_inner);
                let entry = counts.entry(run).or_default();
                entry.0 += fetched;
                entry.1 += dismissed;
            }
        }
    }

    fn count_for_run(&self, run: Option<i64>, fetched: i64, dismissed: i64) {
        if let Some(run) = run {
            let mut counts = self.inner.run_counts.lock().unwrap_or_else(PoisonError::into_inner);
            let entry = counts.entry(run).or_default();
            entry.0 += fetched;
            entry.1 += dismissed;
        }
    }

    /// Whether this worker's leases are surely still valid (else it takes no new chat).
    fn lease_ok(&self) -> bool {
        Instant::now() < *self.inner.lease_ok_until.borrow()
    }

    /// Takes over `run` when its worker is gone, finishes it when nothing of it is left.
    async fn settle_run(&self, run: i64) -> Result<RunState, SyncError> {
        let store = &self.inner.store;
        let db = |e: sqlx::Error| store.db_error(&e);
        let Some(row) = store.run(run).await.map_err(db)? else { return Ok(RunState::Finished) };
        if row.finished_at.is_some() {
            return Ok(RunState::Finished);
        }
        let now = now();
        let mine = row.owner.as_deref() == Some(self.worker())
            || store.take_run(run, self.worker(), now, self.lease_until(now)).await.map_err(db)?;
        if !mine {
            return Ok(RunState::Going);
        }
        if row.listed_at.is_none() {
            let listing_here = self.inner.listing.lock().unwrap_or_else(PoisonError::into_inner).contains(&run);
            return Ok(if listing_here { RunState::Going } else { RunState::NeedsListing });
        }
        if store.run_pending(run, self.inner.options.max_attempts).await.map_err(db)? == 0 {
            self.flush_counts().await;
            store.finish_run(run, now).await.map_err(db)?;
            tracing::info!(run, "reconcile finished");
            return Ok(RunState::Finished);
        }
        Ok(RunState::Going)
    }

    /// Finishes the run in progress when it is listed and nothing of it is left (taking it over if its
    /// worker is gone); a run that still needs listing is left to the scheduler.
    async fn settle_open_run(&self) -> Result<(), SyncError> {
        let store = &self.inner.store;
        if let Some(run) = store.open_run().await.map_err(|e| store.db_error(&e))?
            && run.listed_at.is_some()
        {
            self.settle_run(run.id).await?;
        }
        Ok(())
    }

    /// Lists every chat into the queue for `run`, page by page (workers fetch as pages come). Each page
    /// is queued in one transaction with the listing's progress (mode, owner batch, cursor), so a listing
    /// interrupted by a crash goes on from its last page instead of queueing again what the run stored.
    async fn list(&self, run: i64) -> Result<(), SyncError> {
        let store = &self.inner.store;
        let db = |e: sqlx::Error| store.db_error(&e);
        let Some(row) = store.run(run).await.map_err(db)? else { return Ok(()) };
        let progress = store.list_progress(run).await.map_err(db)?;
        let owners = match progress.mode.as_deref() {
            Some("owners") => Some(progress.owners.clone()),
            // Its last page was queued; only the end was not recorded.
            Some(_) if progress.batch > 0 => None,
            _ => match self.list_batch(run, row.started_at, None, 0, progress.cursor.clone()).await {
                Ok(()) => None,
                Err(SyncError::Api(e)) if e.code() == Some(codes::TOO_MANY_ITEMS_REQUESTED) => {
                    Some(self.fallback_owners().await?)
                }
                Err(e) => return Err(e),
            },
        };
        if let Some(owners) = owners {
            let (first, mut cursor) = match progress.mode.as_deref() {
                Some("owners") => (usize::try_from(progress.batch).unwrap_or(0), progress.cursor.clone()),
                _ => (0, None),
            };
            tracing::info!(owners = owners.len(), "listing by owners");
            let batches: Vec<&[String]> = owners.chunks(OwnerFilter::USERID_LIST_MAX_ITEMS).collect();
            if first == 0 && cursor.is_none() {
                // Where the batches come from is saved once, so that a resumed listing uses the same.
                store.start_owner_listing(run, &owners).await.map_err(db)?;
            }
            for (i, batch) in batches.iter().enumerate().skip(first) {
                let at = i64::try_from(i).unwrap_or(i64::MAX);
                self.list_batch(run, row.started_at, Some(batch), at, cursor.take()).await?;
            }
        }
        store.finish_listing(run, now()).await.map_err(db)?;
        self.inner.wake.notify_waiters();
        Ok(())
    }

    /// The owners to list by after 81017: the staff `get_follow_user_list` names, then every owner the
    /// mirror knows (staff who resigned among them).
    async fn fallback_owners(&self) -> Result<Vec<String>, SyncError> {
        let store = &self.inner.store;
        let follow = self.inner.client.get_follow_user_list(&GetFollowUserListRequest::new()).await?;
        let known = store.known_owners().await.map_err(|e| store.db_error(&e))?;
        let mut seen = std::collections::HashSet::new();
        Ok(follow.follow_user.unwrap_or_default().into_iter().chain(known).filter(|o| seen.insert(o.clone())).collect())
    }

    /// One listing — every owner (`owners` `None`), or batch `batch` of the owners — from `cursor` on,
    /// each page queued with the progress it makes. A saved cursor WeCom no longer takes restarts the
    /// listing from its first page (chats stored since the run started are then not queued again).
    async fn list_batch(
        &self,
        run: i64,
        started_at: i64,
        owners: Option<&[String]>,
        batch: i64,
        mut cursor: Option<String>,
    ) -> Result<(), SyncError> {
        let store = &self.inner.store;
        let mode = if owners.is_some() { "owners" } else { "all" };
        let mut resumed = cursor.is_some();
        loop {
            let mut request = ListRequest::new(ListRequest::LIMIT_MAX).status_filter(StatusFilter::All);
            if let Some(owners) = owners {
                request = request.owner_filter(OwnerFilter::new(owners.iter().map(String::as_str)));
            }
            if let Some(c) = &cursor {
                request = request.cursor(c.clone());
            }
            let page = match self.inner.client.list(&request).await {
                Ok(page) => page,
                Err(e) if resumed && !fatal(&e) && e.code() != Some(codes::TOO_MANY_ITEMS_REQUESTED) => {
                    tracing::warn!(error = %e, "the saved listing cursor was refused; listing again from the start");
                    resumed = false;
                    cursor = None;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            resumed = false;
            let chats: Vec<(String, Option<i64>)> = page
                .group_chat_list
                .unwrap_or_default()
                .into_iter()
                .map(|c| (c.chat_id, c.status.map(i64::from)))
                .collect();
            for _ in &chats {
                bump(&self.inner.counters.listed);
            }
            let next = page.next_cursor.filter(|c| !c.is_empty());
            if next.is_some() && next == cursor {
                return Err(SyncError::Api(wecom_groupchat::Error::Protocol {
                    endpoint: <ListRequest as wecom_groupchat::endpoint::Endpoint>::INFO.name,
                    message: "the same cursor came back: the listing makes no progress".into(),
                }));
            }
            // After the last page of a batch, the progress points at the next batch.
            let (at_batch, at_cursor) = match &next {
                Some(c) => (batch, Some(c.as_str())),
                None => (batch + 1, None),
            };
            let progress = store::ListStep { mode, batch: at_batch, cursor: at_cursor };
            store.queue_listed(run, started_at, &chats, &progress, now()).await.map_err(|e| store.db_error(&e))?;
            self.inner.wake.notify_waiters();
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(()),
            }
        }
    }

    /// In `serve`: starts a reconcile at once (or joins the one in progress), then every `every`;
    /// lists the runs this worker holds and finishes them.
    async fn schedule(
        &self,
        at_start: bool,
        every: Option<Duration>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), SyncError> {
        let mut started_once = !at_start;
        let tick = self.inner.options.lease / 4;
        while !*stop.borrow() {
            match self.schedule_once(every, &mut started_once).await {
                Ok(()) => {}
                Err(SyncError::Api(e)) if fatal(&e) => return Err(SyncError::Api(e)),
                Err(e) => tracing::warn!(error = %e, "reconcile: will try again"),
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = stop.changed() => {}
            }
        }
        Ok(())
    }

    async fn schedule_once(&self, every: Option<Duration>, started_once: &mut bool) -> Result<(), SyncError> {
        let store = &self.inner.store;
        let db = |e: sqlx::Error| store.db_error(&e);
        let now = now();
        let run = match store.open_run().await.map_err(db)? {
            Some(open) => {
                *started_once = true;
                open.id
            }
            None => {
                let due = match (every, *started_once) {
                    (_, false) => true,
                    (None, true) => false,
                    (Some(every), true) => {
                        let last = store.last_run_start().await.map_err(db)?.unwrap_or(i64::MIN);
                        let every = i64::try_from(every.as_secs()).unwrap_or(i64::MAX);
                        last.saturating_add(every) <= now
                    }
                };
                if !due {
                    return Ok(());
                }
                let Some(id) = store.start_run(self.worker(), now, self.lease_until(now)).await.map_err(db)? else {
                    return Ok(());
                };
                *started_once = true;
                tracing::info!(run = id, "reconcile started");
                id
            }
        };
        if let RunState::NeedsListing = self.settle_run(run).await? {
            let _listing = Listing::start(&self.inner, run);
            self.list(run).await?;
        }
        Ok(())
    }

    /// Fetches queued chats, `concurrency` at a time, until `until`.
    async fn drain(&self, mut until: Until) -> Result<(), SyncError> {
        let options = &self.inner.options;
        let store = &self.inner.store;
        // A reconcile leaves alone the chats that failed every attempt; a serving worker keeps trying them.
        let max_attempts = match until {
            Until::Run(_) | Until::Idle => i64::from(options.max_attempts),
            Until::Stop(_) => i64::MAX,
        };
        let mut inflight: JoinSet<Result<(), SyncError>> = JoinSet::new();
        let mut db_failures = 0u32;
        let result = 'work: loop {
            while let Some(done) = inflight.try_join_next() {
                if let Err(e) = self.reaped(done, &until, &mut db_failures) {
                    break 'work Err(e);
                }
            }
            if let Until::Stop(stop) = &until
                && *stop.borrow()
            {
                break Ok(());
            }
            if inflight.is_empty() && self.inner.release_pending.swap(false, Ordering::Relaxed) {
                // A claim could not be given back when its chat failed to be stored: give back every one.
                if store.release_all(self.worker()).await.is_err() {
                    self.inner.release_pending.store(true, Ordering::Relaxed);
                }
            }
            let free = options.concurrency.saturating_sub(inflight.len());
            let mut claimed = 0;
            // Chats are taken a few at a time (a quarter of the slots), not one per fetch that ends: fewer
            // statements on a busy queue (SQLite's one connection serves every store too).
            let batch = (options.concurrency / 4).max(1);
            if (free >= batch || inflight.is_empty()) && free > 0 && self.lease_ok() {
                let now = now();
                match store.claim(self.worker(), free, now, self.lease_until(now), max_attempts).await {
                    Ok(claims) => {
                        db_failures = 0;
                        claimed = claims.len();
                        for claim in claims {
                            let mirror = self.clone();
                            inflight.spawn(async move { mirror.fetch(claim).await });
                        }
                    }
                    Err(e) => {
                        let error = store.db_error(&e);
                        if !matches!(until, Until::Stop(_)) {
                            break Err(error);
                        }
                        db_failures += 1;
                        tracing::warn!(%error, "cannot take chats from the queue; trying again");
                    }
                }
            }
            if claimed == 0 && inflight.is_empty() {
                match until {
                    Until::Run(run) => match self.settle_run(run).await {
                        Ok(RunState::Going) => {}
                        Ok(_) => break Ok(()),
                        Err(e) => break Err(e),
                    },
                    Until::Idle => break Ok(()),
                    Until::Stop(_) => {
                        // Idle: the run in progress may be complete (finished here rather than at the
                        // scheduler's next tick, so that its finish time is true).
                        if let Err(e) = self.settle_open_run().await {
                            tracing::warn!(error = %e, "cannot settle the run in progress");
                        }
                    }
                }
            }
            if claimed > 0 && options.concurrency.saturating_sub(inflight.len()) >= batch {
                continue;
            }
            // Nothing to take now (or no room): wait for a fetch to end, an event, or the next look.
            let pause = options.poll * (1 << db_failures.min(5));
            let wake = self.inner.wake.notified();
            tokio::select! {
                Some(done) = inflight.join_next(), if !inflight.is_empty() => {
                    if let Err(e) = self.reaped(done, &until, &mut db_failures) {
                        break Err(e);
                    }
                }
                () = wake => {}
                () = tokio::time::sleep(pause) => {}
                () = stopped(&mut until) => {}
            }
        };
        if result.is_err() {
            // The run stops: what is in flight would not be stored.
            inflight.abort_all();
        }
        // No new fetch; those in flight end (each is bounded by its lease) and are stored.
        while let Some(done) = inflight.join_next().await {
            if done.as_ref().is_err_and(tokio::task::JoinError::is_cancelled) {
                continue;
            }
            if let Err(e) = self.reaped(done, &until, &mut db_failures)
                && result.is_ok()
            {
                return Err(e);
            }
        }
        result
    }

    /// A fetch ended: its error stops a reconcile (the database, a fatal API error); a serving worker
    /// stops only for a fatal API error.
    fn reaped(
        &self,
        done: Result<Result<(), SyncError>, tokio::task::JoinError>,
        until: &Until,
        db_failures: &mut u32,
    ) -> Result<(), SyncError> {
        let outcome = done.unwrap_or_else(|e| Err(SyncError::Config(format!("a fetch task failed: {e}"))));
        match (outcome, until) {
            (Ok(()), _) => Ok(()),
            (Err(SyncError::Api(e)), _) => Err(SyncError::Api(e)),
            (Err(e), Until::Run(_) | Until::Idle) => Err(e),
            (Err(e), Until::Stop(_)) => {
                *db_failures += 1;
                tracing::warn!(error = %e, "a fetched chat could not be stored; it stays queued");
                Ok(())
            }
        }
    }

    /// Fetches one chat and stores what `get` says, within this worker's lease. When the answer cannot
    /// be stored, the claim is given back (or, the database being away, marked to be given back later).
    async fn fetch(&self, claim: Claim) -> Result<(), SyncError> {
        let result = self.fetch_and_store(&claim).await;
        if let Err(SyncError::Database { .. }) = &result
            && self.inner.store.release(&claim, self.worker()).await.is_err()
        {
            self.inner.release_pending.store(true, Ordering::Relaxed);
        }
        result
    }

    async fn fetch_and_store(&self, claim: &Claim) -> Result<(), SyncError> {
        let inner = &self.inner;
        let store = &inner.store;
        let db = |e: sqlx::Error| store.db_error(&e);
        let request = GetRequest::new(claim.chat_id.clone()).need_name(NeedName::Yes);
        let answer = tokio::select! {
            answer = inner.client.get(&request) => Some(answer),
            () = lease_lost(inner.lease_ok_until.subscribe()) => None,
        };
        bump(&inner.counters.get_calls);
        let Some(answer) = answer else {
            tracing::warn!(chat_id = %claim.chat_id, "lease not renewed in time: fetch given up");
            let _ = store.release(claim, self.worker()).await;
            return Ok(());
        };
        let now = now();
        let started = Instant::now();
        let timed = |stored| {
            let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
            inner.counters.store_nanos.fetch_add(nanos, Ordering::Relaxed);
            bump(&inner.counters.stores);
            stored
        };
        match answer {
            Ok(response) => {
                let stored =
                    timed(store.store_chat(claim, self.worker(), &response.group_chat, now).await.map_err(db)?);
                if stored == Stored::LeaseLost {
                    tracing::warn!(chat_id = %claim.chat_id, "another worker holds the chat now: answer dropped");
                    return Ok(());
                }
                bump(&inner.counters.fetched);
                self.count_for_run(claim.run_id, 1, 0);
                let _ = inner.changes.send(Change { chat_id: claim.chat_id.clone(), kind: ChangeKind::Stored });
                if stored == Stored::Requeued {
                    inner.wake.notify_waiters();
                }
                Ok(())
            }
            Err(e) if gone(&e) => {
                if timed(store.store_gone(claim, self.worker(), now).await.map_err(db)?) == Stored::Done {
                    bump(&inner.counters.dismissed);
                    self.count_for_run(claim.run_id, 0, 1);
                    let _ = inner.changes.send(Change { chat_id: claim.chat_id.clone(), kind: ChangeKind::Dismissed });
                }
                Ok(())
            }
            Err(e) if fatal(&e) => {
                let _ = store.release(claim, self.worker()).await;
                Err(SyncError::Api(e))
            }
            Err(e) => {
                bump(&inner.counters.failures);
                let attempts = u32::try_from(claim.attempts + 1).unwrap_or(u32::MAX);
                let wait = backoff(attempts, inner.options.max_backoff);
                tracing::warn!(chat_id = %claim.chat_id, attempts, error = %e, "get failed; the chat stays queued");
                let next = now + i64::try_from(wait.as_secs()).unwrap_or(i64::MAX / 4);
                store.store_failure(claim, self.worker(), next, &e.to_string()).await.map_err(db)?;
                Ok(())
            }
        }
    }
}

/// Stops the ticker when dropped.
struct TickerGuard(tokio::task::JoinHandle<()>);

impl Drop for TickerGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The lease minus a safety margin (a quarter of it, and at least a second for the rounding of the
/// database's seconds): how long after a renewal the leases are surely still this worker's.
fn margin_lease(options: &SyncOptions) -> Duration {
    options.lease.saturating_sub(options.lease / 4 + Duration::from_secs(1))
}

/// Completes when the lease deadline passes without having been renewed.
async fn lease_lost(mut deadline: watch::Receiver<Instant>) {
    loop {
        let at = *deadline.borrow_and_update();
        tokio::select! {
            () = tokio::time::sleep_until(at) => {
                if *deadline.borrow() <= Instant::now() {
                    return;
                }
            }
            changed = deadline.changed() => {
                if changed.is_err() {
                    // The mirror is gone; nothing renews any more.
                    tokio::time::sleep_until(at).await;
                    return;
                }
            }
        }
    }
}

/// Completes when a serving worker is told to stop (never for a reconcile).
async fn stopped(until: &mut Until) {
    match until {
        Until::Stop(stop) => {
            let _ = stop.wait_for(|s| *s).await;
        }
        Until::Run(_) | Until::Idle => futures::future::pending().await,
    }
}

/// `get` says the chat no longer exists.
fn gone(e: &Error) -> bool {
    matches!(e.code(), Some(code) if code == codes::CHAT_NOT_FOUND || code == codes::CHAT_DISMISSED)
}

/// An error no other chat would escape: no token can be had (a wrong secret), or the client is misconfigured.
fn fatal(e: &Error) -> bool {
    match e {
        Error::Token(_) => !e.is_retryable(),
        Error::Config(_) => true,
        _ => false,
    }
}

/// 1 s, 2 s, 4 s … up to `max`.
fn backoff(attempts: u32, max: Duration) -> Duration {
    let secs = 1u64 << attempts.saturating_sub(1).min(20);
    Duration::from_secs(secs).min(max).max(Duration::from_secs(1))
}

/// The [`CallbackHandler`] of a mirror (see [`Mirror::callback_handler`]).
#[derive(Debug, Clone)]
pub struct MirrorHandler {
    mirror: Mirror,
}

#[async_trait::async_trait]
impl CallbackHandler for MirrorHandler {
    async fn handle(&self, message: CallbackMessage) -> Result<(), Reject> {
        match self.mirror.apply_event(&message).await {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "event not stored; WeCom will deliver it again");
                Err(Reject::new("the mirror's database is unavailable"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let max = Duration::from_secs(300);
        let waits: Vec<u64> = (1..=10).map(|a| backoff(a, max).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
        assert_eq!(backoff(u32::MAX, max).as_secs(), 300);
    }

    #[test]
    fn the_lease_margin_leaves_room_for_renewal() {
        let options = SyncOptions::default();
        assert_eq!(margin_lease(&options), Duration::from_secs(14));
        assert!(SyncOptions::default().concurrency(0).check().is_err());
        assert!(SyncOptions::default().lease(Duration::from_secs(1)).check().is_err());
    }
}
