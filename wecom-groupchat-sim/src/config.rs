//! How a simulator is set up: address, credentials, company data, token lifetime, seed and faults.
//! Built in code ([`SimConfig::default`] plus setters or field assignments) or from the binary's flags
//! ([`crate::SimArgs`]).

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::callbacks::CallbackTarget;
use crate::company::CompanyData;
use crate::faults::Faults;

/// Corp id used when none is given.
pub const DEFAULT_CORP_ID: &str = "wwsim00000000000001";
/// Corp secret used when none is given.
pub const DEFAULT_CORP_SECRET: &str = "sim-secret";
/// Seed used when none is given.
pub const DEFAULT_SEED: u64 = 20_201_127;

/// Where the simulated company comes from.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum DataSource {
    /// The deterministic demo company (a few dozen staff, a few hundred chats), built from the seed.
    #[default]
    Demo,
    /// A JSON (`.json`) or YAML file in the format of [`CompanyData`].
    File(PathBuf),
    /// A company given in code.
    Data(Box<CompanyData>),
    /// A large generated company for benchmarks (members are made on demand, so it stays small in memory).
    Scale(Scale),
}

/// Size of a generated benchmark company ([`DataSource::Scale`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Scale {
    /// Customer group chats.
    pub groups: usize,
    /// Staff; `0` picks `groups / 100` clamped to 10..=1000 (so listing without an owner filter works).
    pub staff: usize,
    /// Members of each ordinary chat (owner included).
    pub members_per_group: usize,
    /// Members of the first chat, a large one; `0` for none.
    pub large_group_members: usize,
}

impl Scale {
    /// `groups` chats of 3 members, no large chat, staff picked from the size.
    pub fn groups(groups: usize) -> Self {
        Scale { groups, staff: 0, members_per_group: 3, large_group_members: 0 }
    }

    /// Sets the members of each ordinary chat.
    #[must_use]
    pub fn members_per_group(mut self, n: usize) -> Self {
        self.members_per_group = n;
        self
    }

    /// Makes the first chat a large one with `n` members.
    #[must_use]
    pub fn large_group_members(mut self, n: usize) -> Self {
        self.large_group_members = n;
        self
    }

    /// Sets the number of staff.
    #[must_use]
    pub fn staff(mut self, n: usize) -> Self {
        self.staff = n;
        self
    }

    /// The staff count actually used.
    pub fn staff_count(&self) -> usize {
        if self.staff > 0 { self.staff } else { (self.groups / 100).clamp(10, 1000) }
    }

    /// Checks the sizes against [`Scale::MAX_GROUPS`], [`Scale::MAX_MEMBERS`] and [`Scale::MAX_STAFF`].
    ///
    /// # Errors
    /// A message naming the size that is too large.
    pub fn check(&self) -> Result<(), String> {
        let limits = [
            ("groups", self.groups, Self::MAX_GROUPS),
            ("members per group", self.members_per_group, Self::MAX_MEMBERS),
            ("large group members", self.large_group_members, Self::MAX_MEMBERS),
            ("staff", self.staff, Self::MAX_STAFF),
        ];
        for (what, value, max) in limits {
            if value > max {
                return Err(format!("{what}: {value}, at most {max}"));
            }
        }
        Ok(())
    }

    /// Most chats of a generated company (ids and chat records stay in memory).
    pub const MAX_GROUPS: usize = 10_000_000;
    /// Most members of one generated chat (each `get` makes them all).
    pub const MAX_MEMBERS: usize = 10_000;
    /// Most staff of a generated company.
    pub const MAX_STAFF: usize = 1_000_000;
}

/// Everything a simulator needs to start. `SimConfig::default()` is a loopback server on a free port
/// with the demo company, default credentials, 2-hour tokens and no faults.
#[derive(Clone)]
#[non_exhaustive]
pub struct SimConfig {
    /// Address to listen on; port 0 picks a free one. Default `127.0.0.1:0`.
    pub addr: SocketAddr,
    /// Allow listening on a non-loopback address (the control endpoints have no authentication).
    pub allow_non_loopback: bool,
    /// Corp id `gettoken` accepts.
    pub corp_id: String,
    /// Corp secret `gettoken` accepts (never logged).
    pub corp_secret: String,
    /// The company.
    pub data: DataSource,
    /// Drives data generation, ids, tokens and fault decisions.
    pub seed: u64,
    /// Lifetime of issued tokens (`expires_in`). Default 7200 s.
    pub token_ttl: Duration,
    /// How long a resigned-owner transfer stays "transferring" (status 2) before it is "transferred"
    /// (status 3). Default 1 s; zero settles at the next call.
    pub transfer_settle: Duration,
    /// Size of the app's visible range, for the 81017 rule (listing without an owner filter when more than
    /// 1,000 people are visible). Default: the data's own setting, else the number of staff.
    pub visible_staff: Option<usize>,
    /// Injected faults and rate limits (changeable at run time).
    pub faults: Faults,
    /// Seconds the simulator's clock runs ahead of real time (behind when negative), within ±100 years
    /// ([`crate::MAX_CLOCK_OFFSET_SECS`]). Default 0. The clock drives token expiry, transfer settling,
    /// the daily transfer quota, the on-the-job window, which days have statistics and the day the demo
    /// company is anchored to; it moves on with [`crate::Simulator::advance_clock`].
    pub clock_offset: i64,
    /// How long a connection may take to send a request's headers, or its body, and how long an idle
    /// connection is kept: a client that trickles bytes (slowloris) cannot hold a connection forever.
    /// Default 75 s (nginx's keep-alive timeout; longer than the client's 60 s pool idle time).
    pub read_timeout: Duration,
    /// Connections served at once; further ones wait in the listen backlog. Default 1,024.
    pub max_connections: usize,
    /// Where `change_external_chat` events are pushed (the changes played under `/__sim/chats`, and
    /// with [`CallbackTarget::api_writes`] owner changes by transfers). Default none: nothing is pushed.
    pub callback: Option<CallbackTarget>,
}

/// Default of [`SimConfig::read_timeout`].
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(75);
/// Default of [`SimConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("addr", &self.addr)
            .field("allow_non_loopback", &self.allow_non_loopback)
            .field("corp_id", &self.corp_id)
            .field("corp_secret", &"***")
            .field("data", &self.data)
            .field("seed", &self.seed)
            .field("token_ttl", &self.token_ttl)
            .field("transfer_settle", &self.transfer_settle)
            .field("visible_staff", &self.visible_staff)
            .field("faults", &self.faults)
            .field("clock_offset", &self.clock_offset)
            .field("read_timeout", &self.read_timeout)
            .field("max_connections", &self.max_connections)
            .field("callback", &self.callback)
            .finish()
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            allow_non_loopback: false,
            corp_id: DEFAULT_CORP_ID.to_string(),
            corp_secret: DEFAULT_CORP_SECRET.to_string(),
            data: DataSource::Demo,
            seed: DEFAULT_SEED,
            token_ttl: Duration::from_secs(7200),
            transfer_settle: Duration::from_secs(1),
            visible_staff: None,
            faults: Faults::default(),
            clock_offset: 0,
            read_timeout: DEFAULT_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            callback: None,
        }
    }
}

impl SimConfig {
    /// The defaults with these credentials.
    pub fn new(corp_id: impl Into<String>, corp_secret: impl Into<String>) -> Self {
        SimConfig { corp_id: corp_id.into(), corp_secret: corp_secret.into(), ..Self::default() }
    }

    /// Sets the listening address.
    #[must_use]
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Sets the company.
    #[must_use]
    pub fn data(mut self, data: DataSource) -> Self {
        self.data = data;
        self
    }

    /// Sets the seed.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the token lifetime.
    #[must_use]
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = ttl;
        self
    }

    /// Sets how long a transfer stays "transferring".
    #[must_use]
    pub fn transfer_settle(mut self, settle: Duration) -> Self {
        self.transfer_settle = settle;
        self
    }

    /// Sets the size of the visible range (81017 rule).
    #[must_use]
    pub fn visible_staff(mut self, n: usize) -> Self {
        self.visible_staff = Some(n);
        self
    }

    /// Sets the faults.
    #[must_use]
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Runs the simulator's clock `secs` seconds ahead of real time (behind when negative).
    #[must_use]
    pub fn clock_offset(mut self, secs: i64) -> Self {
        self.clock_offset = secs;
        self
    }

    /// Sets the read timeout of headers, bodies and idle connections.
    #[must_use]
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Sets how many connections are served at once.
    #[must_use]
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }

    /// Pushes `change_external_chat` events to this callback URL.
    #[must_use]
    pub fn callback(mut self, target: CallbackTarget) -> Self {
        self.callback = Some(target);
        self
    }
}
