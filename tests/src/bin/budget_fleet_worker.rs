//! One instance of a service syncing every customer group through a rate budget shared on Redis, for the
//! multi-process tests in `tests/rate_budget.rs`.
//!
//! Protocol: once its client is built it prints `ready`; then it waits for a line on stdin (the start
//! barrier: the test releases every worker at once), runs a full sync — `list` every page, and, overlapped
//! with it, `get` each chat of its part (the chats whose position in the listing is `INDEX` modulo `COUNT`)
//! with `CONCURRENCY` in flight — and prints one line:
//! `done fetched=X errors=Y rate_limited=Z acquired=… waited=… block_waits=… late=… fallback=… outages=… recoveries=… [first error]`.
//! A `get` answered 45009 is sent again (its next slot waits for the block to end), at most 5 times.
//!
//! Usage: WECOM_CORP_SECRET=… budget-fleet-worker BASE_URL CORP_ID REDIS_URL PREFIX INDEX COUNT CALLS WINDOW_MS
//!        MARGIN_MS RETRY_AFTER_MS CONCURRENCY
//! (the budget: CALLS per WINDOW_MS for every endpoint, and the spec's hourly limit; the fallback keeps to
//! 1/COUNT of it while Redis is away).

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use wecom_groupchat::budget::{RateBudget, RedisBudget, RedisBudgetOptions};
use wecom_groupchat::ratelimit::{RateLimits, Window};
use wecom_groupchat::redis_store::{RedisStoreOptions, RedisTokenStore};
use wecom_groupchat::retry::RetryPolicy;
use wecom_groupchat::types::{GetRequest, ListRequest};
use wecom_groupchat::{Client, Error};

/// Sendings of one `get` at most (the first and the retries after a 45009).
const ATTEMPTS: u32 = 5;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secret = std::env::var("WECOM_CORP_SECRET").unwrap_or_default();
    let (
        [base_url, corp_id, redis_url, prefix, index, count, calls, window_ms, margin_ms, retry_after_ms, concurrency],
        false,
    ) = (args.as_slice(), secret.is_empty())
    else {
        eprintln!(
            "usage: WECOM_CORP_SECRET=… budget-fleet-worker BASE_URL CORP_ID REDIS_URL PREFIX INDEX COUNT CALLS \
             WINDOW_MS MARGIN_MS RETRY_AFTER_MS CONCURRENCY"
        );
        std::process::exit(2);
    };
    let number = |s: &str| s.parse::<u64>().unwrap_or_else(|_| panic!("not a number: {s}"));
    let ms = |s: &str| Duration::from_millis(number(s));
    let (index, count) = (number(index) as usize, number(count) as usize);

    let mut options = RedisBudgetOptions {
        prefix: prefix.clone(),
        expected_instances: count as u32,
        retry_after: ms(retry_after_ms),
        recovery_hold: ms(retry_after_ms) * 2,
        ..RedisBudgetOptions::default()
    };
    options.budget.margin = ms(margin_ms);
    let budget = Arc::new(RedisBudget::new(redis_url, options).expect("budget"));
    let store_options =
        RedisStoreOptions { prefix: prefix.clone(), retry_after: ms(retry_after_ms), ..RedisStoreOptions::default() };
    let store = RedisTokenStore::new(redis_url, store_options).expect("token store");
    let windows =
        [Window::new(number(calls) as u32, ms(window_ms)), Window::per_hour(wecom_groupchat::api::RATE_LIMIT_PER_HOUR)];
    let client = Client::builder()
        .base_url(base_url.clone())
        .corp_credentials(corp_id.clone(), secret.as_str())
        .token_store(Arc::new(store))
        .rate_limits(RateLimits::uniform(windows))
        .rate_budget(budget.clone())
        .retry(RetryPolicy::default().with_backoff(Duration::from_millis(5), Duration::from_millis(50)))
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    client.access_token().await.expect("a token");
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready").and_then(|()| stdout.flush()).expect("stdout");
    let mut go = String::new();
    if std::io::stdin().lock().read_line(&mut go).expect("stdin") == 0 {
        return;
    }

    // Listing overlapped with fetching: each chat of this worker's part is fetched as soon as its page is in.
    let results: Vec<(Result<(), Error>, u32)> = client
        .list_stream(ListRequest::new(1000))
        .map_ok(|chat| chat.chat_id)
        .enumerate()
        .filter(|(i, _)| futures::future::ready(i % count == index))
        .map(|(_, id)| {
            let client = client.clone();
            async move {
                let id = match id {
                    Ok(id) => id,
                    Err(e) => return (Err(e), 0),
                };
                let mut limited = 0;
                loop {
                    match client.get(&GetRequest::new(id.clone())).await {
                        Err(Error::RateLimited(_)) if limited + 1 < ATTEMPTS => limited += 1,
                        other => return (other.map(drop), limited),
                    }
                }
            }
        })
        .buffer_unordered(number(concurrency) as usize)
        .collect()
        .await;

    let fetched = results.iter().filter(|(r, _)| r.is_ok()).count();
    let errors: Vec<String> = results.iter().filter_map(|(r, _)| r.as_ref().err().map(ToString::to_string)).collect();
    let limited: u32 = results.iter().map(|(_, l)| l).sum();
    let s = budget.stats();
    writeln!(
        stdout,
        "done fetched={fetched} errors={} rate_limited={limited} acquired={} waited={} block_waits={} late={} fallback={} outages={} recoveries={} {}",
        errors.len(),
        s.acquired,
        s.waited,
        s.block_waits,
        s.late,
        s.fallback,
        s.outages,
        s.recoveries,
        errors.first().cloned().unwrap_or_default()
    )
    .and_then(|()| stdout.flush())
    .expect("stdout");
}
