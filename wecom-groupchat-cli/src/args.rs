//! The command line: global options (each with an environment variable) and one subcommand per task.
// The doc comments below are `--help` texts (clap reads them), written for a terminal, not for rustdoc:
// `postgres://USER[:PASSWORD]@HOST/DB` is no link.
#![allow(rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgGroup, ArgMatches, Args, Parser, Subcommand, ValueEnum};
use wecom_groupchat::types::ListRequest;

/// Command-line tool for the WeCom (企业微信) customer group chat (客户群) API.
///
/// Credentials come from --corp-id/--corp-secret (or --access-token), or from the environment
/// (WECOM_CORP_ID, WECOM_CORP_SECRET, WECOM_ACCESS_TOKEN). Data goes to stdout, diagnostics to stderr.
///
/// Exit codes: 0 success; 1 the API answered a non-zero errcode (gettoken included); 2 usage or
/// validation error, nothing sent; 3 transport or decode error (or a callback that does not verify or
/// decrypt); 4 partial failure of a bulk command; 130 / 143 a transfer stopped by SIGINT / SIGTERM (its
/// report written).
#[derive(Debug, Parser)]
#[command(name = "wecom-groupchat", version, about, long_about)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes. `Debug` shows no secret (the corp secret, a token, a store URL's password).
#[derive(Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// API base URL (a simulator's, for tests).
    #[arg(long, env = "WECOM_BASE_URL", default_value = wecom_groupchat::api::DEFAULT_BASE_URL, global = true)]
    pub base_url: String,
    /// Corp id (企业ID).
    #[arg(long, env = "WECOM_CORP_ID", global = true)]
    pub corp_id: Option<String>,
    /// Secret of an app allowed to call customer-contact APIs. Never printed.
    #[arg(long, env = "WECOM_CORP_SECRET", hide_env_values = true, global = true)]
    pub corp_secret: Option<String>,
    /// An access token to use as is, instead of corp id and secret. Never printed. (A flag wins over
    /// the other kind of credential from the environment; two of the same origin are an error.)
    #[arg(long, env = "WECOM_ACCESS_TOKEN", hide_env_values = true, global = true)]
    pub access_token: Option<String>,
    /// Where access tokens are kept: `memory` (this process), or `redis://host:port/db` to share them
    /// with every instance using the same Redis (one refresh for the whole fleet).
    /// The URL may carry a password: its value is never printed.
    #[arg(long, env = "WECOM_TOKEN_STORE", hide_env_values = true, default_value = "memory", global = true)]
    pub token_store: String,
    /// Where the call budget is kept (WeCom limits calls per corp, across every instance): `memory` (this
    /// process), or `redis://host:port/db` to share it, and the pause after a rate-limit answer, with
    /// every instance using the same Redis. Default: the token store's Redis when --token-store is one,
    /// else memory. The URL may carry a password: its value is never printed.
    #[arg(long, env = "WECOM_RATE_BUDGET", hide_env_values = true, value_name = "memory|URL", global = true)]
    pub rate_budget: Option<String>,
    /// The share of each documented limit to spend, above 0 and at most 1 (0.9 leaves a tenth to the
    /// corp's other systems).
    #[arg(long, env = "WECOM_RATE_SHARE", default_value_t = 1.0, value_name = "F", value_parser = parse_share)]
    #[arg(global = true)]
    pub rate_share: f64,
    /// How many instances share a Redis budget: while Redis is unreachable each keeps to 1/N of it.
    #[arg(long, env = "WECOM_EXPECTED_INSTANCES", default_value_t = 1, value_name = "N")]
    #[arg(value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub expected_instances: u32,
    /// Output format; default: table on a terminal, json otherwise.
    #[arg(long, short = 'o', env = "WECOM_OUTPUT", value_enum, global = true)]
    pub output: Option<Output>,
    /// Seconds before a call times out (1 to 600).
    // Negative numbers are values here and below, so that `-1` gets the range's message, not "unexpected argument".
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=600))]
    #[arg(global = true, allow_negative_numbers = true)]
    pub timeout: u32,
    /// Retries of transient failures of reads (0 to 10; 0 turns them off). Writes are retried only when
    /// the request provably never left.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=10))]
    #[arg(global = true, allow_negative_numbers = true)]
    pub retries: u32,
    /// Log what the client does to stderr (-v info, -vv debug).
    #[arg(long, short = 'v', action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

impl std::fmt::Debug for Global {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("Global")
            .field("base_url", &self.base_url)
            .field("corp_id", &self.corp_id)
            .field("corp_secret", &hidden(&self.corp_secret))
            .field("access_token", &hidden(&self.access_token))
            .field("token_store", &if self.token_store == "memory" { "memory" } else { "***" })
            .field("rate_budget", &self.rate_budget.as_ref().map(|b| if b == "memory" { "memory" } else { "***" }))
            .field("rate_share", &self.rate_share)
            .field("expected_instances", &self.expected_instances)
            .field("output", &self.output)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("verbose", &self.verbose)
            .finish()
    }
}

/// A share of the rate limits: above 0, at most 1.
fn parse_share(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(share) if share > 0.0 && share <= 1.0 => Ok(share),
        _ => Err(format!("`{text}`: a share above 0 and at most 1, e.g. 0.9")),
    }
}

impl Global {
    /// Checks the credentials given and settles which to use when both a corp secret and an access
    /// token are given: one given as a flag wins over the other from the environment (a shell set up
    /// with WECOM_CORP_SECRET can still try `--access-token`); both flags, or both variables, are an
    /// error. An empty one is an error too: WeCom could only refuse it, after a request.
    pub fn settle_credentials(&mut self, matches: &ArgMatches) -> Result<(), String> {
        let from_flag = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
        let given = [
            ("corp_id", &mut self.corp_id, "--corp-id"),
            ("corp_secret", &mut self.corp_secret, "--corp-secret"),
            ("access_token", &mut self.access_token, "--access-token"),
        ];
        for (id, value, flag) in given {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                if from_flag(id) {
                    return Err(format!("{flag} is empty: give a value, or leave it out"));
                }
                // An empty variable (`WECOM_ACCESS_TOKEN=`) is how shells unset one for a command: not set.
                *value = None;
            }
        }
        if self.access_token.is_none() || self.corp_secret.is_none() {
            return Ok(());
        }
        match (from_flag("access_token"), from_flag("corp_secret")) {
            (true, false) => self.corp_secret = None,
            (false, true) => self.access_token = None,
            (true, true) => return Err("give --corp-secret or --access-token, not both".into()),
            (false, false) => {
                return Err("both WECOM_CORP_SECRET and WECOM_ACCESS_TOKEN are set: unset one, or choose with \
                            --corp-secret or --access-token"
                    .into());
            }
        }
        Ok(())
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// JSON (one object per line for listings).
    Json,
    /// An aligned table for people.
    Table,
    /// Comma-separated values with a header, for spreadsheets.
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Call any endpoint of the spec with a JSON body; print the typed response as JSON.
    ///
    /// The body is decoded into the endpoint's request type and checked against the documented limits
    /// before anything is sent: an unknown field, a wrong type or a broken limit exits 2.
    #[command(after_help = "Examples:\n  \
        wecom-groupchat call list --body '{\"limit\": 10, \"status_filter\": 1}'\n  \
        wecom-groupchat call get --body @request.json\n  \
        echo '{\"config_id\": \"9ad7fa5c…\"}' | wecom-groupchat call get_join_way --body -")]
    Call(CallArgs),
    /// List customer groups (one page, or every page with --all).
    #[command(after_help = "Examples:\n  \
        wecom-groupchat list --status resigned --owner zhangsan --all -o json\n  \
        wecom-groupchat list --limit 100 --cursor CURSOR")]
    List(ListArgs),
    /// Show one customer group with its members.
    ///
    /// JSON: the `group_chat` object WeCom returns; table: the group's fields, then one row per member; CSV: one
    /// record per member.
    Get(GetArgs),
    /// Hand customer groups to a new owner, in batches as large as WeCom takes, with a report for every chat.
    ///
    /// The report accounts for every chat id: transferred, failed (with errcode and errmsg), unknown (the
    /// call may or may not have taken effect), not_sent, or duplicate (given twice, sent once). It is
    /// written as each batch lands, on stdout and in --report FILE, so an interrupted run still says which
    /// chats moved. On SIGINT/SIGTERM no further batch is sent; a batch in flight gets 5 s to answer (a
    /// second signal stops at once), else its chats are recorded unknown. On a terminal, asks before
    /// sending unless --yes. Exits 4 when any chat was not transferred, 130 on SIGINT, 143 on SIGTERM.
    #[command(about = spec_text::transfer_about())]
    #[command(after_help = "Examples:\n  \
        wecom-groupchat transfer --new-owner lisi --resigned-owner zhangsan --report handover.csv\n  \
        wecom-groupchat transfer --new-owner lisi --from-file chats.txt --dry-run\n  \
        wecom-groupchat transfer --new-owner lisi --onjob --owner wangwu --yes\n  \
        wecom-groupchat transfer --new-owner lisi --onjob wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA")]
    Transfer(TransferArgs),
    /// Manage "join group chat" (加入群聊) QR codes and mini-program buttons.
    #[command(subcommand)]
    JoinWay(JoinWayCommand),
    /// Group statistics over any range of days and any number of owners.
    #[command(subcommand, long_about = spec_text::stats_long_about())]
    Stats(StatsCommand),
    /// Export every group with full details to a JSON-lines file (resumable).
    ///
    /// Lists the chats, then reads each one with `get`, a bounded number at a time (and within
    /// --max-memory) and within the documented rate limits. Re-running the same command skips the chats
    /// already in the file (a tail left by a crash is cut off first). The file is locked while a run
    /// writes it, and synced to disk as it grows. Exits 4 when some chats could not be read.
    #[command(after_help = "Example:\n  wecom-groupchat export --out chats.jsonl --concurrency 8 --names")]
    Export(ExportArgs),
    /// Run the simulator in the foreground (`wecom-groupchat sim --help` lists its flags).
    // --help goes through to the simulator's parser, which knows the real flags.
    #[cfg(feature = "simulator")]
    #[command(disable_help_flag = true)]
    Sim(SimPassthrough),
    /// Start the embedded simulator and walk through every endpoint (no WeCom account needed).
    #[cfg(feature = "simulator")]
    Demo,
    /// WeCom callbacks (the events WeCom pushes to an app's callback URL): verify and decrypt them.
    #[command(subcommand)]
    Callback(CallbackCommand),
    /// Keep a mirror of every customer group and member in SQLite or PostgreSQL.
    ///
    /// `--once`: one reconcile — list every chat, fetch each with `get` (within the rate limits), store
    /// each chat and its members in one transaction; exits 4 when some chats still failed after their
    /// attempts (they stay queued for the next run). With `--callback-addr`: a reconcile, then events
    /// received on the callback URL are stored and applied (a `get` only where member versions cannot
    /// save it) until SIGINT or SIGTERM, which finish the calls in flight and exit 0; `--reconcile-every`
    /// catches whatever events were missed. Several processes on one PostgreSQL share the work.
    /// A run stopped midway resumes where it stopped.
    #[command(after_help = "Examples:\n  \
        wecom-groupchat sync --once\n  \
        wecom-groupchat sync --db postgres://mirror@db.internal/crm --callback-addr 0.0.0.0:8080 \\\n      \
        --reconcile-every 6h      # WECOM_CALLBACK_TOKEN and WECOM_CALLBACK_AES_KEY in the environment\n  \
        wecom-groupchat sync status --db sqlite://wecom-groupchat.db")]
    Sync(SyncArgs),
    /// Print the shell completion script for bash, zsh, fish, powershell or elvish on stdout.
    #[command(after_help = "Examples:\n  \
        wecom-groupchat completions bash > ~/.local/share/bash-completion/completions/wecom-groupchat\n  \
        wecom-groupchat completions zsh > ~/.zfunc/_wecom-groupchat      # with fpath+=~/.zfunc\n  \
        wecom-groupchat completions fish > ~/.config/fish/completions/wecom-groupchat.fish\n  \
        wecom-groupchat completions powershell >> $PROFILE")]
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Where the mirror lives: `sqlite://PATH` (a file, created on first use) or `postgres://…`.
#[derive(Clone, Args)]
pub struct DbArg {
    /// The mirror's database: sqlite://PATH (created on first use) or postgres://USER[:PASSWORD]@HOST/DB.
    /// A password in it is never printed.
    #[arg(long, env = "WECOM_SYNC_DB", hide_env_values = true, default_value = "sqlite://wecom-groupchat.db")]
    pub db: String,
}

impl std::fmt::Debug for DbArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password.
        f.debug_struct("DbArg").field("db", &"***").finish()
    }
}

/// `sync`: one reconcile (`--once`), or keep the mirror (`--callback-addr`, `--reconcile-every`).
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SyncArgs {
    #[command(subcommand)]
    pub command: Option<SyncCommand>,
    #[command(flatten)]
    pub db: DbArg,
    /// One reconcile, then exit.
    #[arg(long, conflicts_with_all = ["callback_addr", "reconcile_every"])]
    pub once: bool,
    /// Address of the callback URL to listen on (e.g. 0.0.0.0:8080; port 0 picks a free one); prints
    /// `callback: http://ADDR/PATH` on stdout.
    #[arg(long, value_name = "ADDR")]
    pub callback_addr: Option<std::net::SocketAddr>,
    /// The callback Token set in the WeCom admin console. Never printed.
    #[arg(long, env = "WECOM_CALLBACK_TOKEN", hide_env_values = true)]
    pub callback_token: Option<String>,
    /// The callback EncodingAESKey. Never printed.
    #[arg(long, env = "WECOM_CALLBACK_AES_KEY", hide_env_values = true, help = spec_text::aes_key_help())]
    pub callback_aes_key: Option<String>,
    /// The receive id of the callbacks: the corp id for a corp's own app (the default), the suite id for
    /// a third-party suite.
    #[arg(long, value_name = "ID")]
    pub receive_id: Option<String>,
    /// The URL path of the callback.
    #[arg(long, default_value = "/callback", value_name = "PATH")]
    pub callback_path: String,
    /// Reconcile again every DURATION (`30m`, `6h`, `1d`; a bare number is seconds), to catch events
    /// that were missed.
    #[arg(long, value_name = "DURATION")]
    pub reconcile_every: Option<String>,
    /// `get` calls in flight at once in this process (1 to 256).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    #[arg(allow_negative_numbers = true)]
    pub concurrency: u32,
}

impl std::fmt::Debug for SyncArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "***");
        f.debug_struct("SyncArgs")
            .field("command", &self.command)
            .field("db", &self.db)
            .field("once", &self.once)
            .field("callback_addr", &self.callback_addr)
            .field("callback_token", &hidden(&self.callback_token))
            .field("callback_aes_key", &hidden(&self.callback_aes_key))
            .field("receive_id", &self.receive_id)
            .field("callback_path", &self.callback_path)
            .field("reconcile_every", &self.reconcile_every)
            .field("concurrency", &self.concurrency)
            .finish()
    }
}

#[derive(Debug, Subcommand)]
pub enum SyncCommand {
    /// The mirror's figures: chats, members, dismissed, queued, the last reconcile (JSON when stdout is not
    /// a terminal).
    Status(SyncStatusArgs),
}

#[derive(Debug, Args)]
pub struct SyncStatusArgs {
    #[command(flatten)]
    pub db: DbArg,
}

/// The simulator's own flags, parsed by `wecom_groupchat_sim::SimArgs`.
#[cfg(feature = "simulator")]
#[derive(Debug, Args)]
pub struct SimPassthrough {
    /// Simulator flags (--addr, --corp-id, --corp-secret, --data, --latency-ms, faults …).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, value_name = "SIMULATOR FLAGS")]
    pub args: Vec<String>,
}

/// `wecom-groupchat sim …`: the simulator's flags, as the `wecom-groupchat-sim` binary takes them.
#[cfg(feature = "simulator")]
#[derive(Debug, Parser)]
#[command(name = "wecom-groupchat sim", about = "Run the WeCom group chat simulator in the foreground")]
pub struct SimCli {
    #[command(flatten)]
    pub args: wecom_groupchat_sim::SimArgs,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// Endpoint name, as in the spec (e.g. list, get, transfer, add_join_way, statistic).
    pub endpoint: String,
    /// Request body: JSON text, @FILE to read a file, or - to read stdin.
    #[arg(long, default_value = "{}")]
    pub body: String,
}

/// Follow-up status filter of `list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Status {
    /// Every chat.
    All,
    /// Owner resigned, awaiting transfer.
    Resigned,
    /// Transfer in progress.
    Transferring,
    /// Transfer done.
    Transferred,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only chats in this follow-up status.
    #[arg(long, value_enum, default_value_t = Status::All)]
    pub status: Status,
    #[arg(long = "owner", value_name = "USERID", num_args = 1.., value_delimiter = ',', help = spec_text::owners_help())]
    pub owners: Vec<String>,
    // A negative number is a value, so that `--limit -1` gets the limit's message, not "unexpected argument".
    #[arg(long, default_value_t = ListRequest::LIMIT_MAX, allow_negative_numbers = true, help = spec_text::limit_help())]
    pub limit: i64,
    /// Start from this cursor (from a previous page's next_cursor).
    #[arg(long, conflicts_with = "all")]
    pub cursor: Option<String>,
    /// Follow the cursor through every page.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Chat id.
    pub chat_id: String,
    /// Also return members' names (need_name = 1).
    #[arg(long)]
    pub names: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("chats").required(true).args(["chat_ids", "from_file", "resigned_owner", "owner"]))]
pub struct TransferArgs {
    /// The new owner's userid.
    #[arg(long)]
    pub new_owner: String,
    /// Chat ids to transfer (any number).
    #[arg(value_name = "CHAT_ID")]
    pub chat_ids: Vec<String>,
    /// Read chat ids from a file, one per line; blank lines and lines starting with # are skipped
    /// (- for stdin).
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// Transfer every chat of this resigned member that awaits transfer (found with `list`).
    #[arg(long, value_name = "USERID", conflicts_with = "onjob")]
    pub resigned_owner: Option<String>,
    #[arg(long, help = spec_text::onjob_help())]
    pub onjob: bool,
    /// With --onjob: transfer every chat of this still-employed member (found with `list`).
    #[arg(long, value_name = "USERID", requires = "onjob", conflicts_with = "resigned_owner")]
    pub owner: Option<String>,
    /// Also write the report to FILE as each batch lands, synced to disk (CSV for a .csv name, JSON lines
    /// otherwise; appended to, never truncated).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// List the chats and their batches; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask for confirmation on a terminal.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum JoinWayCommand {
    /// Create a join way (the fields the spec requires, e.g. --scene and --chat-id); prints its config id.
    #[command(after_help = "Example:\n  \
        wecom-groupchat join-way add --scene qr-code --chat-id CHAT_ID --remark spring --state ch_spring -o table")]
    Add(JoinWayFlags),
    /// Show a join way.
    Get(ConfigIdArg),
    /// Replace a join way (WeCom overwrites every field: give the full config, or --merge).
    Update(UpdateJoinWayArgs),
    /// Delete a join way (on a terminal, asks first unless --yes).
    Del(DelJoinWayArgs),
}

#[derive(Debug, Args)]
pub struct DelJoinWayArgs {
    /// Config id.
    pub config_id: String,
    /// Do not ask for confirmation on a terminal.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ConfigIdArg {
    /// Config id.
    pub config_id: String,
}

pub use crate::join_way_flags::JoinWayFlags;

#[derive(Debug, Args)]
pub struct UpdateJoinWayArgs {
    /// Config id.
    pub config_id: String,
    #[command(flatten)]
    pub fields: JoinWayFlags,
    /// Start from the current config and change only the fields given.
    #[arg(long)]
    pub merge: bool,
    /// With --merge: remove these optional fields from the config (repeat, or separate with commas).
    #[arg(long, value_name = "FIELD", requires = "merge", value_delimiter = ',',
          value_parser = crate::join_way_flags::clearable())]
    pub clear: Vec<wecom_groupchat::types::JoinWayConfigField>,
}

#[derive(Debug, Subcommand)]
pub enum StatsCommand {
    /// Figures per owner: one row per owner and window of days.
    #[command(about = spec_text::by_owner_about())]
    #[command(after_help = "Example:\n  \
        wecom-groupchat stats by-owner --from 2026-01-01 --to 2026-03-31 --owner zhangsan --owner lisi -o csv")]
    ByOwner(StatsArgs),
    /// Figures per day, summed over the owners: one row per day.
    #[command(after_help = "Example:\n  \
        wecom-groupchat stats by-day --from 2026-01-01 --to 2026-03-31 --owner zhangsan -o csv > days.csv")]
    ByDay(StatsArgs),
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[arg(long, help = spec_text::from_help())]
    pub from: String,
    #[arg(long, help = spec_text::to_help())]
    pub to: String,
    /// Owners to report on, any number: repeat the flag, or list them after it (`--owner a b` or
    /// `--owner a,b`).
    #[arg(long = "owner", value_name = "USERID", required = true, num_args = 1.., value_delimiter = ',')]
    pub owners: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// JSON-lines file to write, one chat per line (appended to: chats already in it are skipped).
    #[arg(long)]
    pub out: PathBuf,
    /// `get` calls in flight at once (1 to 256).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    #[arg(allow_negative_numbers = true)]
    pub concurrency: u32,
    #[arg(long = "owner", value_name = "USERID", num_args = 1.., value_delimiter = ',', help = spec_text::owners_help())]
    pub owners: Vec<String>,
    /// Only chats in this follow-up status.
    #[arg(long, value_enum, default_value_t = Status::All)]
    pub status: Status,
    /// Also fetch members' names.
    #[arg(long)]
    pub names: bool,
    /// Memory, in MiB, the answers in flight may take at most, whatever a server sends: fewer calls run
    /// at once than --concurrency when that many would not fit (64 to 65536).
    #[arg(long, value_name = "MIB", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(64..=65536))]
    pub max_memory: u32,
}

#[derive(Debug, Subcommand)]
pub enum CallbackCommand {
    /// Verify and decrypt one callback request: print the plaintext of a URL verification's echostr, or the
    /// decrypted XML of an event POST.
    ///
    /// The values are those of the request: msg_signature, timestamp and nonce (and echostr) from its query
    /// string, URL-decoded; for an event, its whole body (`<xml><ToUserName/><AgentID/><Encrypt/></xml>`).
    /// The signature is checked before anything is decrypted.
    ///
    /// stdout gets the plaintext exactly — no newline is added — and nothing else. Exits 3, with one line on
    /// stderr and nothing on stdout, when the signature, the receive id or the ciphertext is wrong; 2 for a
    /// key of the wrong length or a missing or conflicting flag.
    #[command(after_help = "Examples:\n  \
        export WECOM_CALLBACK_TOKEN=… WECOM_CALLBACK_AES_KEY=…\n  \
        wecom-groupchat callback decrypt --receive-id ww0123456789abcdef --msg-signature SIG --timestamp TS \
        --nonce N --echostr 'P9nAzCzy…'\n  \
        wecom-groupchat callback decrypt --receive-id ww0123456789abcdef --msg-signature SIG --timestamp TS \
        --nonce N --body @event.xml")]
    Decrypt(CallbackDecryptArgs),
    /// Serve a callback URL: answer WeCom's URL verification, verify and decrypt each event, and print it as
    /// one JSON line.
    ///
    /// Prints `callback: http://ADDR/PATH` on stdout once listening, then one JSON object per line for each
    /// event: its elements under their snake_case names (`chat_id`, `change_type`, `mem_change_list` as an
    /// array of strings …), the element naming the event as `event` (`info_type` for third-party
    /// callbacks), and `dedupe_key`. An event of a kind this tool has no type for is printed too. An event
    /// is acknowledged only once its line is written; a redelivery of a printed event (the same decrypted
    /// message) is acknowledged and not printed again. SIGINT and SIGTERM stop it with exit 0.
    #[command(after_help = "Examples:\n  \
        export WECOM_CALLBACK_TOKEN=… WECOM_CALLBACK_AES_KEY=…\n  \
        wecom-groupchat callback serve --addr 0.0.0.0:8080 --receive-id ww0123456789abcdef --path /wecom/callback\n  \
        wecom-groupchat callback serve --addr 127.0.0.1:0 --receive-id ww0123456789abcdef | jq .chat_id")]
    Serve(CallbackServeArgs),
}

#[derive(Debug, Args)]
pub struct CallbackServeArgs {
    #[command(flatten)]
    pub keys: CallbackKeys,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: std::net::SocketAddr,
    /// The URL path of the callback.
    #[arg(long, default_value = "/callback", value_parser = callback_path)]
    pub path: String,
}

fn callback_path(path: &str) -> Result<String, String> {
    if path.starts_with('/') && !path.contains(['?', '#', ' ', '{', '}', '*', ':']) {
        Ok(path.to_string())
    } else {
        Err("a path starts with `/` and has no `?`, `#`, spaces, braces, `*` or `:`".into())
    }
}

/// The callback configuration of one app, as set in the admin console; every `callback` subcommand takes
/// it. `Debug` shows the receive id only.
#[derive(Args)]
pub struct CallbackKeys {
    /// The callback Token. Never printed.
    #[arg(long, env = "WECOM_CALLBACK_TOKEN", hide_env_values = true)]
    pub token: String,
    /// The callback EncodingAESKey. Never printed.
    #[arg(long, value_name = "KEY", env = "WECOM_CALLBACK_AES_KEY", hide_env_values = true)]
    #[arg(help = spec_text::aes_key_help())]
    pub aes_key: String,
    /// Whom the messages are for: the corp id (企业ID) for a company's own app, the suite id for a
    /// third-party suite.
    #[arg(long, value_name = "ID")]
    pub receive_id: String,
}

impl std::fmt::Debug for CallbackKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackKeys").field("receive_id", &self.receive_id).finish_non_exhaustive()
    }
}

#[derive(Debug, Args)]
#[command(group = ArgGroup::new("ciphertext").required(true).args(["echostr", "body"]))]
pub struct CallbackDecryptArgs {
    #[command(flatten)]
    pub keys: CallbackKeys,
    /// The request's `msg_signature`.
    #[arg(long, value_name = "SIGNATURE")]
    pub msg_signature: String,
    /// The request's `timestamp`.
    #[arg(long)]
    pub timestamp: String,
    /// The request's `nonce`.
    #[arg(long)]
    pub nonce: String,
    /// A URL verification (GET): its `echostr`, URL-decoded.
    #[arg(long)]
    pub echostr: Option<String>,
    /// An event (POST): its whole body, from a file (@FILE) or stdin (-).
    #[arg(long, value_name = "@FILE|-")]
    pub body: Option<String>,
}

/// Help texts that quote the spec's numbers, read from the generated constants so that they never
/// disagree with what the client checks.
mod spec_text {
    use wecom_groupchat::api::DAY_ZONE;
    use wecom_groupchat::types::{ListRequest, OnjobTransferRequest, OwnerFilter, StatisticRequest, TransferRequest};

    pub fn transfer_about() -> String {
        let batch = TransferRequest::CHAT_ID_LIST_MAX_ITEMS;
        format!("Hand customer groups to a new owner, in batches of at most {batch}, with a report for every chat")
    }

    pub fn stats_long_about() -> String {
        format!(
            "Group statistics over any range of days and any number of owners.\n\nThe range is split into \
             windows of at most {} days and the owners into batches of at most {}; days are {DAY_ZONE} and WeCom \
             keeps them from {} back to {} days ago.",
            StatisticRequest::DAY_BEGIN_TIME_SPAN_MAX_DAYS,
            OwnerFilter::USERID_LIST_MAX_ITEMS,
            days_ago(StatisticRequest::DAY_BEGIN_TIME_DAYS_AGO_MIN),
            StatisticRequest::DAY_BEGIN_TIME_DAYS_AGO_MAX,
        )
    }

    pub fn by_owner_about() -> String {
        let days = StatisticRequest::DAY_BEGIN_TIME_SPAN_MAX_DAYS;
        format!("Figures per owner: one row per owner and window of at most {days} days")
    }

    pub fn owners_help() -> String {
        format!(
            "Only chats owned by these staff, at most {}: repeat the flag, or list them after it (`--owner a b` \
             or `--owner a,b`)",
            OwnerFilter::USERID_LIST_MAX_ITEMS
        )
    }

    pub fn limit_help() -> String {
        format!("Page size, {} to {} (with --all: chats per call)", ListRequest::LIMIT_MIN, ListRequest::LIMIT_MAX)
    }

    pub fn onjob_help() -> String {
        format!(
            "The owners are still employed: use onjob_transfer (each chat at most {} times in {} days)",
            OnjobTransferRequest::TRANSFERS_PER_CHAT,
            OnjobTransferRequest::TRANSFERS_WINDOW_DAYS
        )
    }

    pub fn from_help() -> String {
        format!(
            "First day, YYYY-MM-DD ({DAY_ZONE}); at most {} days ago",
            StatisticRequest::DAY_BEGIN_TIME_DAYS_AGO_MAX
        )
    }

    pub fn to_help() -> String {
        format!(
            "Last day, YYYY-MM-DD ({DAY_ZONE}), included; at latest {}",
            days_ago(StatisticRequest::DAY_END_TIME_DAYS_AGO_MIN)
        )
    }

    pub fn aes_key_help() -> String {
        format!(
            "The callback EncodingAESKey, {} characters. Never printed.",
            wecom_groupchat::events::crypto::ENCODING_AES_KEY_CHARS
        )
    }

    fn days_ago(n: i64) -> String {
        match n {
            0 => "today".into(),
            1 => "yesterday".into(),
            n => format!("{n} days ago"),
        }
    }
}
