//! One module per command. Each returns `Ok(())` or the [`Failure`] that sets the exit code.

mod call;
mod callback;
mod completions;
#[cfg(feature = "simulator")]
mod demo;
mod export;
mod get;
mod join_way;
mod list;
#[cfg(feature = "simulator")]
pub mod sim;
mod stats;
mod sync;
pub mod transfer;

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use wecom_groupchat::Client;
use wecom_groupchat::budget::{BudgetOptions, MemoryBudget, RedisBudget, RedisBudgetOptions};
use wecom_groupchat::redis_store::RedisTokenStore;
use wecom_groupchat::retry::RetryPolicy;
use wecom_groupchat::types::StatusFilter;

use crate::args::{Cli, Command, Global, Status};
use crate::failure::{Failure, Outcome};

/// Runs the command.
pub async fn run(cli: Cli) -> Outcome {
    let global = cli.global;
    match cli.command {
        Command::Call(args) => call::run(&global, args).await,
        Command::List(args) => list::run(&global, args).await,
        Command::Get(args) => get::run(&global, args).await,
        Command::Transfer(args) => transfer::run(&global, args).await,
        Command::JoinWay(cmd) => join_way::run(&global, cmd).await,
        Command::Stats(cmd) => stats::run(&global, cmd).await,
        Command::Export(args) => export::run(&global, args).await,
        #[cfg(feature = "simulator")]
        Command::Sim(args) => sim::run(&global, args.args).await,
        #[cfg(feature = "simulator")]
        Command::Demo => demo::run().await,
        Command::Callback(command) => callback::run(command).await,
        Command::Sync(args) => sync::run(&global, args).await,
        Command::Completions(args) => completions::run(args),
    }
}

/// A client from the global options. Credentials are required only here, so `--help` and input
/// errors never need them.
pub fn client(global: &Global) -> Result<Client, Failure> {
    client_with(global, |builder| builder)
}

/// [`client`] with settings of the command's own (export's caps on answers).
pub fn client_with(
    global: &Global,
    adjust: impl FnOnce(wecom_groupchat::ClientBuilder) -> wecom_groupchat::ClientBuilder,
) -> Result<Client, Failure> {
    let builder = adjust(Client::builder())
        .base_url(global.base_url.clone())
        .timeout(Duration::from_secs(global.timeout.into()))
        .retry(RetryPolicy::default().with_max_retries(global.retries));
    let builder = match (&global.access_token, &global.corp_id, &global.corp_secret) {
        (Some(token), _, _) => builder.access_token(token.as_str()),
        (None, Some(id), Some(secret)) => builder.corp_credentials(id.clone(), secret.as_str()),
        _ => {
            return Err(Failure::Usage(
                "no credentials: give --corp-id and --corp-secret (or WECOM_CORP_ID and WECOM_CORP_SECRET), \
                 or --access-token (WECOM_ACCESS_TOKEN)"
                    .into(),
            ));
        }
    };
    let builder = match global.token_store.as_str() {
        "memory" => builder,
        url if is_redis_url(url) => {
            let store = RedisTokenStore::open(url).map_err(|e| Failure::Usage(format!("--token-store: {e}")))?;
            builder.token_store(Arc::new(store))
        }
        _ => {
            // Not echoed: a mistyped URL may still carry a password.
            return Err(Failure::Usage("--token-store: neither `memory` nor a redis:// (or rediss://) URL".into()));
        }
    };
    let builder = builder.rate_budget(rate_budget(global)?);
    builder.build().map_err(|e| Failure::Usage(e.to_string()))
}

fn is_redis_url(url: &str) -> bool {
    url.starts_with("redis://") || url.starts_with("rediss://") || url.starts_with("redis+unix://")
}

/// The call budget of `--rate-budget` (by default the token store's Redis, when it is one).
fn rate_budget(global: &Global) -> Result<Arc<dyn wecom_groupchat::budget::RateBudget>, Failure> {
    let usage = |e: wecom_groupchat::Error| Failure::Usage(format!("--rate-budget: {e}"));
    let options = BudgetOptions { share: global.rate_share, ..BudgetOptions::default() };
    let url = match global.rate_budget.as_deref() {
        Some(given) => given,
        None if is_redis_url(&global.token_store) => global.token_store.as_str(),
        None => "memory",
    };
    match url {
        "memory" => Ok(Arc::new(MemoryBudget::new(options).map_err(usage)?)),
        url if is_redis_url(url) => {
            let options = RedisBudgetOptions {
                budget: options,
                expected_instances: global.expected_instances,
                ..RedisBudgetOptions::default()
            };
            Ok(Arc::new(RedisBudget::new(url, options).map_err(usage)?))
        }
        // Not echoed: a mistyped URL may still carry a password.
        _ => Err(Failure::Usage("--rate-budget: neither `memory` nor a redis:// (or rediss://) URL".into())),
    }
}

/// The API's status filter for a command-line status.
pub fn status_filter(status: Status) -> StatusFilter {
    match status {
        Status::All => StatusFilter::All,
        Status::Resigned => StatusFilter::Resigned,
        Status::Transferring => StatusFilter::Transferring,
        Status::Transferred => StatusFilter::Transferred,
    }
}

/// The `--owner` userids, each once, in the order first given: an owner given twice would be counted
/// twice when the copies land in different batches of 100. An empty one (`--owner a,,b`) is refused
/// here, where its position in the user's list is known.
pub fn owners(given: Vec<String>) -> Result<Vec<String>, Failure> {
    let total = given.len();
    let mut seen = std::collections::HashSet::new();
    let mut owners = Vec::with_capacity(total);
    for (i, owner) in given.into_iter().enumerate() {
        if owner.trim().is_empty() {
            return Err(Failure::Usage(format!("--owner: userid {} of the {total} given is empty", i + 1)));
        }
        if seen.insert(owner.clone()) {
            owners.push(owner);
        }
    }
    Ok(owners)
}

/// A progress bar on stderr when it is a terminal; hidden otherwise (scripts, CI). Its template, and the
/// spinner's, has no colour in it: nothing to turn off for NO_COLOR.
pub fn progress(total: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    let style =
        ProgressStyle::with_template(&format!("{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {what} {{msg}}"))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar
}

/// A spinner with a count on stderr when it is a terminal (a listing of unknown length); hidden otherwise.
pub fn spinner(what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    let style = ProgressStyle::with_template(&format!("{{spinner}} {what}: {{pos}}"))
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Reads a text file given as `flag`, or stdin for `-`. Text only: a file that is not UTF-8 is refused.
pub fn read_text(path: &std::path::Path, flag: &str) -> Result<String, Failure> {
    use std::io::Read;
    if path == std::path::Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::Usage(format!("{flag}: cannot read stdin: {e}")))?;
        return Ok(text);
    }
    std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("{flag}: cannot read {}: {e}", path.display())))
}
