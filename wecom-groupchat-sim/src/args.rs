//! Command-line flags ([`SimArgs`], flattened by the binary and by the `wecom-groupchat sim` command)
//! and [`run_foreground`].

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use wecom_groupchat::{Secret, codes};

use crate::callbacks::{
    CallbackFaults, CallbackTarget, DEFAULT_AGENT_ID, DEFAULT_CALLBACK_CONCURRENCY, DEFAULT_CALLBACK_LOG_SIZE,
    DEFAULT_CALLBACK_QUEUE_CAP, DEFAULT_CALLBACK_RETRIES,
};
use crate::config::{DEFAULT_CORP_ID, DEFAULT_CORP_SECRET, DEFAULT_SEED, DataSource, Scale, SimConfig};
use crate::error::SimError;
use crate::faults::{Faults, RateLimitRule, check_endpoint};
use crate::simulator::Simulator;

/// Every flag of the simulator.
#[derive(Debug, Clone, clap::Args)]
#[non_exhaustive]
pub struct SimArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Allow a non-loopback address (the control paths have no authentication).
    #[arg(long)]
    pub allow_non_loopback: bool,
    /// Corp id that gettoken accepts.
    #[arg(long, default_value = DEFAULT_CORP_ID)]
    pub corp_id: String,
    /// Corp secret that gettoken accepts (never printed, not even by `Debug`).
    #[arg(long, default_value = DEFAULT_CORP_SECRET, hide_default_value = true, value_parser = parse_secret)]
    pub corp_secret: Secret,
    /// Company data: `demo`, or a JSON/YAML file.
    #[arg(long, default_value = "demo", value_name = "demo|FILE")]
    pub data: String,
    /// Instead of --data: a generated company of this many chats (for benchmarks).
    #[arg(long, value_name = "N", conflicts_with = "data")]
    pub groups: Option<usize>,
    /// Members per chat of a generated company.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub members_per_group: usize,
    /// Members of the first chat of a generated company (0: no large chat).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub large_group_members: usize,
    /// Staff of a generated company (0: groups/100, between 10 and 1000).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub staff: usize,
    /// Seed of the data, ids, tokens and fault decisions.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub seed: u64,
    /// Lifetime of issued tokens (expires_in), in seconds.
    #[arg(long, default_value_t = 7200, value_name = "SECS")]
    pub token_ttl_secs: u64,
    /// How long a transfer stays "transferring" before it is "transferred", in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub transfer_settle_ms: u64,
    /// Staff visible to the app (above the list limit, `list` without an owner filter is refused).
    #[arg(long, value_name = "N", help = help::visible_staff())]
    pub visible_staff: Option<usize>,
    /// Latency added to every call, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,
    /// Fraction of calls answering "system busy".
    #[arg(long, default_value_t = 0.0, value_name = "F", help = help::answering(codes::SYSTEM_BUSY, "system busy"))]
    pub busy_fraction: f64,
    /// Fraction of calls answering the concurrency limit.
    #[arg(long, default_value_t = 0.0, value_name = "F",
          help = help::answering(codes::API_CONCURRENCY_OUT_OF_LIMIT, "concurrency limit"))]
    pub concurrency_fraction: f64,
    /// Fraction of calls answering HTTP 502 with an HTML body.
    #[arg(long, default_value_t = 0.0, value_name = "F")]
    pub bad_gateway_fraction: f64,
    /// Fraction of calls whose JSON answer is cut in half.
    #[arg(long, default_value_t = 0.0, value_name = "F")]
    pub truncate_fraction: f64,
    /// Fraction of calls whose answer is padded to --oversize-bytes.
    #[arg(long, default_value_t = 0.0, value_name = "F")]
    pub oversize_fraction: f64,
    /// Size of an oversized answer (0: 8 MiB).
    #[arg(long, default_value_t = 0, value_name = "BYTES")]
    pub oversize_bytes: usize,
    /// Fraction of calls whose connection is closed without an answer.
    #[arg(long, default_value_t = 0.0, value_name = "F")]
    pub drop_fraction: f64,
    /// Fraction of calls handled (writes take effect) whose answer is then lost: the connection closes.
    #[arg(long, default_value_t = 0.0, value_name = "F")]
    pub lost_answer_fraction: f64,
    /// Fraction of calls whose token expires early.
    #[arg(long, default_value_t = 0.0, value_name = "F", help = help::expire_token())]
    pub expire_token_fraction: f64,
    /// Endpoints the fractions apply to (comma-separated, `gettoken` included); default all.
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub fault_endpoints: Vec<String>,
    /// Call-frequency limit of every endpoint.
    #[arg(long, value_name = "CALLS/WINDOW", value_parser = RateLimitRule::parse, help = help::rate_limit())]
    pub rate_limit: Option<RateLimitRule>,
    /// Call-frequency limit of one endpoint, e.g. list=200/6s (repeatable).
    #[arg(long, value_name = "NAME=CALLS/WINDOW", value_parser = parse_endpoint_limit)]
    pub rate_limit_endpoint: Vec<(String, RateLimitRule)>,
    /// Seconds the simulator's clock runs ahead of real time (negative: behind), within ±100 years;
    /// POST /__sim/clock moves it forward at run time.
    #[arg(long, default_value_t = 0, value_name = "SECS", allow_negative_numbers = true)]
    pub clock_offset_secs: i64,
    /// Seconds a connection may take to send a request's headers or body, and may stay idle.
    #[arg(long, default_value_t = crate::config::DEFAULT_READ_TIMEOUT.as_secs(), value_name = "SECS")]
    pub read_timeout_secs: u64,
    /// Connections served at once (more wait in the backlog).
    #[arg(long, default_value_t = crate::config::DEFAULT_MAX_CONNECTIONS, value_name = "N")]
    pub max_connections: usize,
    /// Callback URL: change_external_chat events of the changes played under /__sim/chats are pushed
    /// there, signed and encrypted, with the corp id as receive id. Needs --callback-token and
    /// --callback-aes-key.
    #[arg(long, value_name = "URL", requires_all = ["callback_token", "callback_aes_key"], help_heading = "Callbacks")]
    pub callback_url: Option<String>,
    /// Token of the callback configuration (never printed).
    #[arg(long, value_name = "TOKEN", requires = "callback_url", value_parser = parse_secret, help_heading = "Callbacks")]
    pub callback_token: Option<Secret>,
    /// EncodingAESKey of the callback configuration (never printed).
    #[arg(long, value_name = "KEY", requires = "callback_url", value_parser = parse_secret, help_heading = "Callbacks")]
    #[arg(help = help::aes_key())]
    pub callback_aes_key: Option<Secret>,
    /// AgentID of the event envelope.
    #[arg(long, default_value = DEFAULT_AGENT_ID, value_name = "ID", requires = "callback_url", help_heading = "Callbacks")]
    pub callback_agent_id: String,
    /// Further attempts after a delivery not answered 2xx within --callback-timeout.
    #[arg(long, default_value_t = DEFAULT_CALLBACK_RETRIES, value_name = "N", requires = "callback_url", help_heading = "Callbacks")]
    pub callback_retries: u32,
    /// How long a delivery attempt may take (e.g. 5s, 500ms; a bare number is seconds).
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = parse_duration,
          requires = "callback_url", help_heading = "Callbacks")]
    pub callback_timeout: Duration,
    /// Wait before the first retry, doubled before each further one (e.g. 200ms).
    #[arg(long, default_value = "200ms", value_name = "DURATION", value_parser = parse_duration,
          requires = "callback_url", help_heading = "Callbacks")]
    pub callback_backoff: Duration,
    /// Also push change_owner when a transfer or onjob_transfer changes a chat's owner (WeCom documents
    /// that API operations push no callbacks; unconfirmed for transfers).
    #[arg(long, requires = "callback_url", help_heading = "Callbacks")]
    pub callback_api_writes: bool,
    /// Fraction of events delivered twice (sealed afresh), for testing a receiver's idempotency.
    #[arg(long, default_value_t = 0.0, value_name = "F", requires = "callback_url", help_heading = "Callbacks")]
    pub callback_duplicate_fraction: f64,
    /// Fraction of events never delivered (logged as dropped).
    #[arg(long, default_value_t = 0.0, value_name = "F", requires = "callback_url", help_heading = "Callbacks")]
    pub callback_drop_fraction: f64,
    /// Wait before each event's first delivery attempt, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS", requires = "callback_url", help_heading = "Callbacks")]
    pub callback_delay_ms: u64,
    /// Fraction of events that swap places with the next event of their chat.
    #[arg(long, default_value_t = 0.0, value_name = "F", requires = "callback_url", help_heading = "Callbacks")]
    pub callback_reorder_fraction: f64,
    /// Delivery attempts kept in the log of GET /__sim/callbacks (the oldest are forgotten first).
    #[arg(long, default_value_t = DEFAULT_CALLBACK_LOG_SIZE, value_name = "N", requires = "callback_url", help_heading = "Callbacks")]
    pub callback_log_size: usize,
    /// Most deliveries in flight at once, over all chats.
    #[arg(long, default_value_t = DEFAULT_CALLBACK_CONCURRENCY, value_name = "N", requires = "callback_url", help_heading = "Callbacks")]
    pub callback_concurrency: usize,
    /// Most events queued and not yet delivered, over all chats; a control path under /__sim/chats
    /// answers 503 and changes nothing while they are full.
    #[arg(long, default_value_t = DEFAULT_CALLBACK_QUEUE_CAP, value_name = "N", requires = "callback_url", help_heading = "Callbacks")]
    pub callback_queue_cap: usize,
}

fn parse_secret(text: &str) -> Result<Secret, String> {
    Ok(Secret::from(text))
}

/// `5s`, `500ms`, `2m`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit_ms) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60_000)
    } else {
        (text, 1000)
    };
    let number: u64 =
        number.trim().parse().map_err(|_| format!("`{text}`: expected a duration such as 5s, 500ms or 2m"))?;
    number.checked_mul(unit_ms).map(Duration::from_millis).ok_or_else(|| format!("`{text}`: too long"))
}

fn parse_endpoint_limit(text: &str) -> Result<(String, RateLimitRule), String> {
    let (name, rule) = text.split_once('=').ok_or_else(|| format!("`{text}`: expected NAME=CALLS/WINDOW"))?;
    check_endpoint(name)?;
    Ok((name.to_string(), RateLimitRule::parse(rule)?))
}

impl SimArgs {
    /// The configuration these flags describe.
    ///
    /// # Errors
    /// [`SimError::Config`] for an unusable combination (e.g. fractions adding up to more than 1, an
    /// unknown endpoint in --fault-endpoints, a generated company too large).
    pub fn into_config(self) -> Result<SimConfig, SimError> {
        let data = match (self.groups, self.data.as_str()) {
            (Some(groups), _) => {
                let scale = Scale::groups(groups)
                    .members_per_group(self.members_per_group)
                    .large_group_members(self.large_group_members)
                    .staff(self.staff);
                scale.check().map_err(|e| SimError::Config(format!("generated company (--groups): {e}")))?;
                DataSource::Scale(scale)
            }
            (None, "demo") => DataSource::Demo,
            (None, path) => DataSource::File(PathBuf::from(path)),
        };
        let mut faults = Faults::default()
            .latency(Duration::from_millis(self.latency_ms))
            .busy(self.busy_fraction)
            .concurrency(self.concurrency_fraction)
            .bad_gateway(self.bad_gateway_fraction)
            .truncate(self.truncate_fraction)
            .oversize(self.oversize_fraction)
            .drop_connections(self.drop_fraction)
            .lose_answers(self.lost_answer_fraction)
            .expire_tokens(self.expire_token_fraction)
            .only_endpoints(self.fault_endpoints);
        faults.oversize_bytes = self.oversize_bytes;
        faults.rate_limit = self.rate_limit;
        faults.rate_limits = self.rate_limit_endpoint.into_iter().collect();
        faults.check().map_err(SimError::Config)?;
        if self.token_ttl_secs == 0 {
            return Err(SimError::Config("--token-ttl-secs must be positive".into()));
        }
        let mut config = SimConfig::new(self.corp_id, self.corp_secret.expose())
            .addr(self.addr)
            .data(data)
            .seed(self.seed)
            .token_ttl(Duration::from_secs(self.token_ttl_secs))
            .transfer_settle(Duration::from_millis(self.transfer_settle_ms))
            .faults(faults);
        config.allow_non_loopback = self.allow_non_loopback;
        config.visible_staff = self.visible_staff;
        config.clock_offset = self.clock_offset_secs;
        config.read_timeout = Duration::from_secs(self.read_timeout_secs);
        config.max_connections = self.max_connections;
        if let Some(url) = self.callback_url {
            let (Some(token), Some(key)) = (self.callback_token, self.callback_aes_key) else {
                return Err(SimError::Config("--callback-url needs --callback-token and --callback-aes-key".into()));
            };
            let faults = CallbackFaults::none()
                .duplicate(self.callback_duplicate_fraction)
                .drop_events(self.callback_drop_fraction)
                .delay(Duration::from_millis(self.callback_delay_ms))
                .reorder(self.callback_reorder_fraction);
            let target = CallbackTarget::new(url, token, key)
                .agent_id(self.callback_agent_id)
                .retries(self.callback_retries)
                .timeout(self.callback_timeout)
                .backoff(self.callback_backoff)
                .api_writes(self.callback_api_writes)
                .faults(faults)
                .log_size(self.callback_log_size)
                .max_concurrent(self.callback_concurrency)
                .max_queued(self.callback_queue_cap);
            // Checked now, so that a bad key is reported before anything starts.
            target.check(&config.corp_id).map_err(SimError::Config)?;
            config = config.callback(target);
        }
        Ok(config)
    }
}

/// Starts a simulator from flags, prints one line with its URL on stdout
/// (`wecom-groupchat-sim listening on http://127.0.0.1:PORT (corp id …)`) once it accepts connections,
/// and serves until Ctrl-C or SIGTERM. Bound to every interface (`--addr 0.0.0.0:PORT`), the line
/// still gives a URL to connect to: loopback's.
///
/// # Errors
/// [`SimError`] when it cannot start, or waiting for the signal fails.
pub async fn run_foreground(args: SimArgs) -> Result<(), SimError> {
    let sim = Simulator::start(args.into_config()?).await?;
    {
        let mut out = std::io::stdout().lock();
        if sim.addr().ip().is_unspecified() {
            let (url, addr, corp_id) = (sim.base_url(), sim.addr(), sim.corp_id());
            writeln!(out, "wecom-groupchat-sim listening on {url} (corp id {corp_id}; bound to {addr})")?;
        } else {
            writeln!(out, "wecom-groupchat-sim listening on {} (corp id {})", sim.base_url(), sim.corp_id())?;
        }
        out.flush()?;
    }
    wait_for_stop().await?;
    tracing::info!("stopping");
    sim.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_stop() -> Result<(), SimError> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}

#[cfg(not(unix))]
async fn wait_for_stop() -> Result<(), SimError> {
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    fn config(args: &[&str]) -> Result<SimConfig, String> {
        let cli = Cli::try_parse_from(std::iter::once("sim").chain(args.iter().copied())).map_err(|e| e.to_string())?;
        cli.sim.into_config().map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_a_loopback_demo() {
        let c = config(&[]).unwrap();
        assert!(c.addr.ip().is_loopback());
        assert_eq!(c.addr.port(), 0);
        assert!(matches!(c.data, DataSource::Demo));
        assert_eq!(c.token_ttl, Duration::from_secs(7200));
        assert_eq!(c.faults, Faults::default());
    }

    #[test]
    fn flags_become_config() {
        let c = config(&[
            "--corp-id=ww1",
            "--corp-secret=s",
            "--data=company.yaml",
            "--token-ttl-secs=60",
            "--latency-ms=5",
            "--busy-fraction=0.1",
            "--fault-endpoints=list,get",
            "--rate-limit=2000/60s",
            "--rate-limit-endpoint=list=200/6s",
            "--rate-limit-endpoint=gettoken=10/1s",
        ])
        .unwrap();
        assert_eq!(c.corp_id, "ww1");
        assert!(!format!("{c:?}").contains("corp_secret: \"s\""));
        assert!(matches!(c.data, DataSource::File(ref p) if p.ends_with("company.yaml")));
        assert_eq!(c.token_ttl, Duration::from_secs(60));
        assert_eq!(c.faults.latency, Duration::from_millis(5));
        assert_eq!(c.faults.endpoints, ["list", "get"]);
        assert_eq!(c.faults.rate_limit, Some(RateLimitRule::per_minute(2000)));
        assert_eq!(c.faults.rate_limits["list"], RateLimitRule::new(200, Duration::from_secs(6)));
        assert_eq!(c.faults.rate_limits.len(), 2);
        let scale = config(&["--groups=10000", "--large-group-members=500"]).unwrap();
        assert!(matches!(scale.data, DataSource::Scale(s) if s.groups == 10_000 && s.large_group_members == 500));
    }

    #[test]
    fn the_secret_never_shows_in_debug() {
        let cli = Cli::try_parse_from(["sim", "--corp-secret=hunter2"]).unwrap();
        assert!(!format!("{:?}", cli.sim).contains("hunter2"));
        assert_eq!(cli.sim.into_config().unwrap().corp_secret, "hunter2");
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(config(&["--busy-fraction=0.8", "--drop-fraction=0.5"]).is_err());
        assert!(config(&["--rate-limit-endpoint=nope=1/1s"]).is_err());
        assert!(config(&["--rate-limit=fast"]).is_err());
        assert!(config(&["--token-ttl-secs=0"]).is_err());
        assert!(config(&["--groups=10", "--large-group-members=4294967297"]).is_err());
        assert!(config(&["--oversize-bytes=18446744073709551615"]).is_err());
    }

    #[test]
    fn unknown_endpoint_names_are_refused_with_the_valid_ones() {
        for args in [&["--busy-fraction=0.1", "--fault-endpoints=list,lsit"][..], &["--rate-limit-endpoint=lsit=1/1s"]]
        {
            let error = config(args).unwrap_err();
            assert!(error.contains("`lsit`"), "{error}");
            assert!(error.contains("list, ") || error.contains(", list"), "valid names listed: {error}");
            assert!(error.contains("gettoken"), "{error}");
        }
        assert!(config(&["--fault-endpoints=gettoken,statistic_group_by_day"]).is_ok());
    }

    #[test]
    fn data_and_groups_conflict() {
        let error = config(&["--data=company.yaml", "--groups=100"]).unwrap_err();
        assert!(error.contains("--groups") && error.contains("--data"), "{error}");
        assert!(config(&["--groups=100"]).is_ok(), "the default --data does not conflict");
        assert!(config(&["--data=demo"]).is_ok());
    }

    const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

    #[test]
    fn callback_flags_become_a_target() {
        let url = "--callback-url=http://127.0.0.1:9/cb";
        let key = format!("--callback-aes-key={KEY}");
        let c = config(&[url, "--callback-token=tok-hidden", &key, "--callback-timeout=750ms", "--callback-retries=1"])
            .unwrap();
        let target = c.callback.as_ref().unwrap();
        assert_eq!((target.timeout, target.retries, target.api_writes), (Duration::from_millis(750), 1, false));
        assert_eq!(target.agent_id, DEFAULT_AGENT_ID);
        assert_eq!(target.token.expose(), "tok-hidden");
        assert!(!format!("{c:?}").contains("tok-hidden") && !format!("{c:?}").contains(KEY));
        let c = config(&[url, "--callback-token=t", &key, "--callback-api-writes", "--callback-drop-fraction=0.5"])
            .unwrap();
        let target = c.callback.unwrap();
        assert!(target.api_writes);
        assert_eq!(target.faults.drop, 0.5);
        assert!(config(&[]).unwrap().callback.is_none());
    }

    #[test]
    fn bad_callback_flags_are_refused_without_quoting_secrets() {
        let url = "--callback-url=http://127.0.0.1:9/cb";
        let error = config(&[url, "--callback-token=t", "--callback-aes-key=too-short-secret"]).unwrap_err();
        assert!(error.contains("--callback-aes-key") && error.contains("43"), "{error}");
        assert!(!error.contains("too-short-secret"), "{error}");
        assert!(config(&[url, "--callback-token=t"]).is_err(), "the key is required");
        assert!(config(&["--callback-token=t"]).is_err(), "a token without a URL");
        assert!(config(&["--callback-retries=2"]).is_err(), "retries without a URL");
        let key = format!("--callback-aes-key={KEY}");
        assert!(config(&[url, "--callback-token=t", &key, "--callback-timeout=soon"]).is_err());
        assert!(config(&[url, "--callback-token=t", &key, "--callback-reorder-fraction=2"]).is_err());
        assert!(config(&["--callback-url=ftp://x/cb", "--callback-token=t", &key]).is_err());
    }

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn the_clock_offset_may_be_negative() {
        assert_eq!(config(&["--clock-offset-secs=-86400"]).unwrap().clock_offset, -86_400);
        assert_eq!(config(&[]).unwrap().clock_offset, 0);
    }
}

/// Help texts that quote the spec's errcodes and numbers, read from the generated code.
mod help {
    use wecom_groupchat::codes;

    pub fn visible_staff() -> String {
        format!(
            "Size of the app's visible range (listing without owner filter answers {} above {})",
            codes::TOO_MANY_ITEMS_REQUESTED,
            wecom_groupchat::api::VISIBLE_STAFF_WITHOUT_OWNER_FILTER
        )
    }

    pub fn answering(code: i64, what: &str) -> String {
        format!("Fraction of calls answering {code} ({what})")
    }

    pub fn expire_token() -> String {
        format!("Fraction of business calls whose token expires on the spot ({})", codes::ACCESS_TOKEN_EXPIRED)
    }

    pub fn rate_limit() -> String {
        format!(
            "Call-frequency limit of every endpoint, e.g. 2000/60s or 200/6s ({} beyond it)",
            codes::API_FREQ_OUT_OF_LIMIT
        )
    }

    pub fn aes_key() -> String {
        format!(
            "EncodingAESKey of the callback configuration, {} base64 characters (never printed)",
            wecom_groupchat::events::crypto::ENCODING_AES_KEY_CHARS
        )
    }
}
