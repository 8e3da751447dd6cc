//! [`Simulator`]: start one in-process on a free port, get its URL, its counters and its controls.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use wecom_groupchat::types::{ChatStatus, GetRequest, GroupChat, NeedName};

use crate::auth::Tokens;
use crate::callbacks::{CallbackAttempt, CallbackFaults, Pusher};
use crate::clock::{Clock, millis};
use crate::company::{self, Hints};
use crate::config::SimConfig;
use crate::counters::Stats;
use crate::error::SimError;
use crate::faults::{FaultEngine, Faults, ScriptedFault};
use crate::handlers::{CallCtx, Handle};
use crate::server::{self, Shared};

/// A running simulator. Stops when dropped or with [`Simulator::shutdown`].
///
/// ```no_run
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// use wecom_groupchat::types::ListRequest;
/// use wecom_groupchat_sim::{SimConfig, Simulator};
///
/// let sim = Simulator::start(SimConfig::default()).await?;
/// let client = sim.client_builder().build()?;
/// let page = client.list(&ListRequest::new(100)).await?;
/// assert_eq!(sim.stats().gettoken_calls, 1);
/// # drop(page);
/// sim.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    seed: u64,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

pub(crate) fn snapshot(shared: &Shared) -> Stats {
    shared.counters.snapshot(shared.tokens.live(shared.clock.now_ms()))
}

impl Simulator {
    /// Builds the company, binds the address and starts serving.
    ///
    /// # Errors
    /// [`SimError::Config`] for a non-loopback address without permission, bad faults, a clock offset
    /// beyond ±100 years or an unusable callback target (its URL, an EncodingAESKey that is not 43 base64
    /// characters …), [`SimError::Data`] for unusable data, [`SimError::Bind`] when the address cannot
    /// be bound.
    pub async fn start(config: SimConfig) -> Result<Simulator, SimError> {
        server::check_addr(config.addr, config.allow_non_loopback)?;
        config.faults.check().map_err(SimError::Config)?;
        if config.corp_id.is_empty() || config.corp_secret.is_empty() {
            return Err(SimError::Config("corp id and corp secret must not be empty".into()));
        }
        if config.read_timeout.is_zero() || config.max_connections == 0 {
            return Err(SimError::Config("the read timeout and the connection cap must be positive".into()));
        }
        let clock = Clock::new(config.clock_offset).map_err(SimError::Config)?;
        let now = clock.now();
        let (data, seed) = (config.data.clone(), config.seed);
        // Large companies take a moment to build: keep the runtime's threads free meanwhile.
        let mut company = tokio::task::spawn_blocking(move || company::build(&data, seed, now))
            .await
            .map_err(|e| SimError::Data(format!("building the company failed: {e}")))??;
        company.settle_ms = millis(config.transfer_settle);
        if let Some(n) = config.visible_staff {
            company.visible_staff = n;
        }
        company.api_write_events = config.callback.as_ref().is_some_and(|t| t.api_writes);
        let clock = Arc::new(clock);
        let (stop, stopped) = watch::channel(false);
        let pusher = Pusher::new(config.callback.as_ref(), &config.corp_id, seed, clock.clone(), stopped.clone())
            .map_err(SimError::Config)?;
        let listener =
            TcpListener::bind(config.addr).await.map_err(|source| SimError::Bind { addr: config.addr, source })?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(
            (config.corp_id.clone(), config.corp_secret.clone()),
            company,
            Tokens::new(config.token_ttl, seed),
            FaultEngine::new(config.faults.clone(), seed),
            (clock, pusher),
            config.allow_non_loopback,
        ));
        let limits =
            server::ConnectionLimits { read_timeout: config.read_timeout, max_connections: config.max_connections };
        let task = tokio::spawn(server::serve(listener, server::router(shared.clone()), limits, stopped));
        tracing::info!(%addr, corp_id = %config.corp_id, seed, "simulator listening");
        Ok(Simulator { addr, shared, seed, stop, task: Some(task) })
    }

    /// `http://IP:PORT`, the base URL to give a client. For an unspecified address (`0.0.0.0`, `::`), which
    /// is not something to connect to, it names loopback: `http://127.0.0.1:PORT` (`http://[::1]:PORT`).
    pub fn base_url(&self) -> String {
        let ip = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// The bound address (`0.0.0.0:PORT` when bound to every interface; see [`Simulator::base_url`]).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The corp id `gettoken` accepts.
    pub fn corp_id(&self) -> &str {
        &self.shared.corp_id
    }

    /// The corp secret `gettoken` accepts.
    pub fn corp_secret(&self) -> &str {
        &self.shared.corp_secret
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// A client builder pointed at this simulator with its credentials and client-side rate limits off.
    pub fn client_builder(&self) -> wecom_groupchat::ClientBuilder {
        wecom_groupchat::Client::builder()
            .base_url(self.base_url())
            .corp_credentials(self.corp_id(), self.corp_secret())
            .rate_limits(wecom_groupchat::ratelimit::RateLimits::off())
    }

    /// The counters now.
    pub fn stats(&self) -> Stats {
        snapshot(&self.shared)
    }

    /// Calls of `gettoken` so far.
    pub fn gettoken_calls(&self) -> u64 {
        self.stats().gettoken_calls
    }

    /// Calls of one endpoint so far.
    pub fn calls(&self, endpoint: &str) -> u64 {
        self.stats().calls_of(endpoint)
    }

    /// Sets every counter to zero.
    pub fn reset_stats(&self) {
        self.shared.counters.reset();
    }

    /// Expires every token now (later calls with them answer 42001); returns how many were live.
    pub fn invalidate_tokens(&self) -> usize {
        self.shared.tokens.invalidate_all(self.shared.clock.now_ms())
    }

    /// The simulator clock's Unix time, in seconds: real time plus [`SimConfig::clock_offset`] plus
    /// whatever [`Simulator::advance_clock`] added.
    pub fn now(&self) -> i64 {
        self.shared.clock.now()
    }

    /// How far the simulator's clock runs ahead of real time, in seconds.
    pub fn clock_offset(&self) -> i64 {
        self.shared.clock.offset_secs()
    }

    /// Moves the simulator's clock forward: tokens expire, transfers settle, the daily transfer quota
    /// and the 90-day on-the-job window move on, and "yesterday" for statistics is a later day, as if
    /// `by` had passed. Returns the new time (Unix seconds).
    ///
    /// # Errors
    /// [`SimError::Config`] when the clock would run more than 100 years ahead
    /// ([`crate::MAX_CLOCK_OFFSET_SECS`]); the clock is unchanged then.
    pub fn advance_clock(&self, by: Duration) -> Result<i64, SimError> {
        self.shared.clock.advance(by).map_err(SimError::Config)?;
        Ok(self.now())
    }

    /// Lifetime of tokens issued from now on.
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.shared.tokens.set_ttl(ttl);
    }

    /// The faults in force (scripted ones still queued included).
    pub fn faults(&self) -> Faults {
        self.shared.faults.get()
    }

    /// Replaces the faults (rate-limit windows restart, scripted faults replaced).
    ///
    /// # Errors
    /// [`SimError::Config`] when [`Faults::check`] refuses them: a fraction out of range, an unknown
    /// endpoint name, a scripted count of 0 …
    pub fn set_faults(&self, faults: Faults) -> Result<(), SimError> {
        faults.check().map_err(SimError::Config)?;
        self.shared.faults.set(faults);
        Ok(())
    }

    /// Queues a scripted fault for the next matching call(s).
    ///
    /// # Errors
    /// [`SimError::Config`] for an unknown endpoint name (the message lists the valid ones) or a count
    /// of 0.
    pub fn inject(&self, fault: ScriptedFault) -> Result<(), SimError> {
        fault.check().map_err(SimError::Config)?;
        self.shared.faults.push(fault);
        Ok(())
    }

    /// Completes every transfer in progress now; returns how many.
    pub fn settle_transfers(&self) -> usize {
        self.shared.company().settle_transfers(self.shared.clock.now_ms(), true)
    }

    /// Marks a member of staff resigned (their chats then await transfer); false when unknown.
    pub fn resign(&self, userid: &str) -> bool {
        self.shared.company().resign(userid)
    }

    /// Interesting data: resigned owners with chats, eligible new owners, statistic owners …
    pub fn hints(&self) -> Hints {
        self.shared.company().hints()
    }

    /// A chat as `groupchat/get` with `need_name = 1` returns it, read directly.
    pub fn group_chat(&self, chat_id: &str) -> Option<GroupChat> {
        let ctx = CallCtx::new(self.shared.clock.now_ms());
        let request = GetRequest::new(chat_id).need_name(NeedName::Yes);
        request.handle(&mut self.shared.company(), &ctx).ok().map(|r| r.group_chat)
    }

    /// A chat's follow-up status.
    pub fn chat_status(&self, chat_id: &str) -> Option<ChatStatus> {
        let company = self.shared.company();
        company.chat_id(chat_id).map(|i| company.chats[i as usize].status)
    }

    /// Number of join-way configs.
    pub fn join_way_count(&self) -> usize {
        self.shared.company().join_ways.len()
    }

    /// Resolves once every event queued for the callback URL so far is delivered, given up or dropped
    /// (at once without a callback URL). Control paths answer as soon as the state has changed and the
    /// event is queued; this is how a test waits for the deliveries. Bound the wait with
    /// `tokio::time::timeout`: a receiver that never answers holds it for every attempt's timeout.
    pub async fn callbacks_idle(&self) {
        self.shared.pusher.idle().await;
    }

    /// Events queued for the callback URL and not yet delivered, given up or dropped.
    pub fn callbacks_pending(&self) -> u64 {
        self.shared.pusher.pending()
    }

    /// Every delivery attempt logged (the last [`crate::CallbackTarget::log_size`]), oldest first.
    pub fn callback_attempts(&self) -> Vec<CallbackAttempt> {
        self.shared.pusher.attempts()
    }

    /// The delivery faults in force.
    pub fn callback_faults(&self) -> CallbackFaults {
        self.shared.pusher.faults()
    }

    /// Replaces the delivery faults, for events queued from now on.
    ///
    /// # Errors
    /// [`SimError::Config`] for a probability out of range, or when no callback URL is configured.
    pub fn set_callback_faults(&self, faults: CallbackFaults) -> Result<(), SimError> {
        self.shared.pusher.set_faults(faults).map_err(SimError::Config)
    }

    /// Stops accepting, closes every connection and waits for the server task. Events still queued for
    /// the callback URL, or in delivery, are given up (logged with the error `shutdown`); this waits up
    /// to a few seconds for that bookkeeping, so [`Simulator::callbacks_pending`] is 0 afterwards.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), self.shared.pusher.idle()).await;
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
