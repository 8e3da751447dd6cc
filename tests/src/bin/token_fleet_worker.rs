//! One instance of a service sharing tokens through Redis, for the multi-process tests in
//! `tests/redis_fleet.rs`. Makes `--calls` concurrent `get` calls per phase and prints one line per phase:
//! `phase N: ok=X err=Y [first error]`. Between phases it waits for a line on stdin.
//!
//! Usage: token-fleet-worker BASE_URL CORP_ID CORP_SECRET REDIS_URL PREFIX CHAT_ID CALLS PHASES LOCK_TTL_MS

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use futures::future::join_all;
use wecom_groupchat::Client;
use wecom_groupchat::ratelimit::RateLimits;
use wecom_groupchat::redis_store::{RedisStoreOptions, RedisTokenStore};
use wecom_groupchat::retry::RetryPolicy;
use wecom_groupchat::types::GetRequest;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base_url, corp_id, secret, redis_url, prefix, chat_id, calls, phases, lock_ttl_ms] = args.as_slice() else {
        eprintln!(
            "usage: token-fleet-worker BASE_URL CORP_ID CORP_SECRET REDIS_URL PREFIX CHAT_ID CALLS PHASES LOCK_TTL_MS"
        );
        std::process::exit(2);
    };
    let number = |s: &str| s.parse::<u64>().unwrap_or_else(|_| panic!("not a number: {s}"));
    let options = RedisStoreOptions { prefix: prefix.clone(), ..RedisStoreOptions::default() };
    let store = RedisTokenStore::new(redis_url, options).expect("redis url");
    let client = Client::builder()
        .base_url(base_url.clone())
        .corp_credentials(corp_id.clone(), secret.as_str())
        .token_store(Arc::new(store))
        .refresh_lock_ttl(Duration::from_millis(number(lock_ttl_ms)))
        .retry(RetryPolicy::default().with_backoff(Duration::from_millis(5), Duration::from_millis(50)))
        .rate_limits(RateLimits::off())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let request = GetRequest::new(chat_id.clone());
    let stdin = std::io::stdin();
    for phase in 1..=number(phases) {
        if phase > 1 {
            let mut go = String::new();
            stdin.lock().read_line(&mut go).expect("stdin");
        }
        let results = join_all((0..number(calls)).map(|_| client.get(&request))).await;
        let errors: Vec<String> = results.iter().filter_map(|r| r.as_ref().err().map(ToString::to_string)).collect();
        let first = errors.first().cloned().unwrap_or_default();
        println!("phase {phase}: ok={} err={} {first}", results.len() - errors.len(), errors.len());
        std::io::stdout().flush().expect("stdout");
    }
}
