//! `sync`: the mirror of every customer group and member (crate `wecom-groupchat-sync`) — one reconcile
//! (`--once`), the mirror kept by events and periodic reconciles (`--callback-addr`, `--reconcile-every`),
//! and `sync status`.
//!
//! Checks come in the contract's order: the flags and the database URL (exit 2), the credentials (2),
//! then the database itself (unreachable: 3) — all before any API call.

use std::time::{Duration, Instant};

use wecom_groupchat::callback::{CallbackCrypto, Receiver};
use wecom_groupchat_sync::{DbUrl, Mirror, RunRow, Store, SyncError, SyncOptions};

use crate::args::{Global, Output, SyncArgs, SyncCommand, SyncStatusArgs};
use crate::failure::{Failure, Outcome};
use crate::output;
use crate::signals::Signals;

/// The failure of a mirror operation, with the contract's exit code.
fn failure(e: SyncError) -> Failure {
    match e {
        SyncError::Url(_) | SyncError::Config(_) => Failure::Usage(e.to_string()),
        SyncError::Unreachable { .. } | SyncError::Database { .. } => Failure::Io(e.to_string()),
        SyncError::Api(e) => Failure::Call(e),
        other => Failure::Io(other.to_string()),
    }
}

/// `sync …`.
pub async fn run(global: &Global, args: SyncArgs) -> Outcome {
    if let Some(SyncCommand::Status(status_args)) = args.command {
        return status(global, status_args).await;
    }
    let mode = Mode::from_args(global, &args)?;
    let url = DbUrl::parse(&args.db.db).map_err(failure)?;
    let client = super::client(global)?;
    let concurrency = usize::try_from(args.concurrency).unwrap_or(1);
    let store = Store::open_with(&url, args.concurrency.saturating_add(4)).await.map_err(failure)?;
    let mirror = Mirror::new(store, client, SyncOptions::default().concurrency(concurrency)).map_err(failure)?;
    match mode {
        Mode::Once => once(&mirror).await,
        Mode::Serve { callback, every } => serve(&mirror, callback, every).await,
    }
}

/// The callback URL to listen on.
struct Callback {
    addr: std::net::SocketAddr,
    path: String,
    crypto: CallbackCrypto,
}

enum Mode {
    Once,
    Serve { callback: Option<Callback>, every: Option<Duration> },
}

impl Mode {
    fn from_args(global: &Global, args: &SyncArgs) -> Result<Mode, Failure> {
        if args.once {
            return Ok(Mode::Once);
        }
        let every = args.reconcile_every.as_deref().map(parse_duration).transpose().map_err(Failure::Usage)?;
        let Some(addr) = args.callback_addr else {
            if every.is_some() {
                return Ok(Mode::Serve { callback: None, every });
            }
            return Err(Failure::Usage(
                "sync: give --once (one reconcile), or --callback-addr ADDR (and --callback-token, \
                 --callback-aes-key) to keep the mirror by events, and/or --reconcile-every DURATION"
                    .into(),
            ));
        };
        if !args.callback_path.starts_with('/') || args.callback_path.contains(['?', '#', ' ', '{', '}', '*', ':']) {
            return Err(Failure::Usage(
                "--callback-path: a path starts with `/` and has no `?`, `#`, spaces, braces, `*` or `:`".into(),
            ));
        }
        let given = |v: &Option<String>| v.as_deref().filter(|t| !t.trim().is_empty()).map(str::to_string);
        let token = given(&args.callback_token).ok_or_else(|| {
            Failure::Usage("--callback-addr needs the callback token: --callback-token or WECOM_CALLBACK_TOKEN".into())
        })?;
        let key = given(&args.callback_aes_key).ok_or_else(|| {
            Failure::Usage(
                "--callback-addr needs the callback EncodingAESKey: --callback-aes-key or WECOM_CALLBACK_AES_KEY"
                    .into(),
            )
        })?;
        let receive_id = given(&args.receive_id).or_else(|| given(&global.corp_id)).ok_or_else(|| {
            Failure::Usage("--receive-id: no corp id to default to (give --receive-id, or --corp-id)".into())
        })?;
        let crypto = CallbackCrypto::new(token, &key, receive_id)
            .map_err(|e| Failure::Usage(format!("--callback-aes-key: {e}")))?;
        Ok(Mode::Serve { callback: Some(Callback { addr, path: args.callback_path.clone(), crypto }), every })
    }
}

/// `30s`, `15m`, `6h`, `1d`, `500ms`, or a bare number of seconds; at least one second.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || format!("--reconcile-every: `{text:.32}` is no duration (30m, 6h, 1d; a bare number is seconds)");
    let n: u64 = number.parse().map_err(|_| bad())?;
    let millis = match unit {
        "ms" => Some(n),
        "" | "s" => n.checked_mul(1000),
        "m" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        "d" => n.checked_mul(86_400_000),
        _ => return Err(bad()),
    }
    .ok_or_else(bad)?;
    let duration = Duration::from_millis(millis);
    if duration < Duration::from_secs(1) {
        return Err("--reconcile-every: at least 1s".into());
    }
    Ok(duration)
}

/// One reconcile; the summary on stderr; exit 4 when some chats still failed.
async fn once(mirror: &Mirror) -> Outcome {
    let started = Instant::now();
    let bar = super::progress(0, "chats");
    let ticker = {
        let mirror = mirror.clone();
        let bar = bar.clone();
        tokio::spawn(async move {
            loop {
                let p = mirror.progress();
                let done = p.fetched + p.dismissed;
                bar.set_length(p.listed.max(done));
                bar.set_position(done);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let result = mirror.reconcile().await;
    ticker.abort();
    bar.finish_and_clear();
    let report = result.map_err(failure)?;
    summary(mirror, &report.run, started.elapsed()).await?;
    if report.partial() {
        return Err(Failure::Partial(format!(
            "{} chats still failed after {} attempts; they stay queued for the next run",
            report.run.failed,
            mirror.options().max_attempts
        )));
    }
    Ok(())
}

/// `sync: run N: … ; mirror URL: …` on stderr.
async fn summary(mirror: &Mirror, run: &RunRow, took: Duration) -> Outcome {
    let status = mirror.store().status(mirror.options().max_attempts).await.map_err(failure)?;
    eprintln!(
        "sync: run {}: {} listed, {} fetched, {} dismissed, {} failed in {:.1}s; mirror {}: {} chats, {} members, {} dismissed, {} queued",
        run.id,
        run.listed,
        run.fetched,
        run.dismissed,
        run.failed,
        took.as_secs_f64(),
        status.database,
        status.chats,
        status.members,
        status.dismissed,
        status.queued,
    );
    Ok(())
}

/// Events and reconciles until SIGINT or SIGTERM: the calls in flight end, then exit 0.
async fn serve(mirror: &Mirror, callback: Option<Callback>, every: Option<Duration>) -> Outcome {
    let mut signals = Signals::new()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = match callback {
        Some(callback) => {
            let listener = tokio::net::TcpListener::bind(callback.addr)
                .await
                .map_err(|e| Failure::Io(format!("cannot listen on {}: {e}", callback.addr)))?;
            let local =
                listener.local_addr().map_err(|e| Failure::Io(format!("cannot read the bound address: {e}")))?;
            output::line(&format!("callback: http://{local}{}", callback.path))?;
            let receiver = Receiver::new(callback.crypto, mirror.callback_handler());
            let app = wecom_groupchat::callback::axum::router(receiver, &callback.path);
            let mut stop = stop_rx.clone();
            Some(tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await
            }))
        }
        None => None,
    };
    let reported = match mirror.store().last_run().await {
        Ok(Some(run)) if run.finished_at.is_some() => run.id,
        _ => 0,
    };
    let reported = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(reported));
    let reporter = tokio::spawn(report_runs(mirror.clone(), reported.clone()));
    let stop = {
        let mut stop = stop_rx.clone();
        async move {
            let _ = stop.wait_for(|s| *s).await;
        }
    };
    let work = mirror.serve(every, stop);
    tokio::pin!(work);
    let result = tokio::select! {
        result = &mut work => result,
        signal = signals.next() => {
            eprintln!("{}: stopping (finishing the calls in flight)", signal.name());
            let _ = stop_tx.send(true);
            // A second signal stops at once.
            tokio::select! {
                result = &mut work => result,
                signal = signals.next() => {
                    eprintln!("{}: stopped", signal.name());
                    Ok(())
                }
            }
        }
    };
    let _ = stop_tx.send(true);
    reporter.abort();
    let _ = reporter.await;
    // The runs that finished since the reporter last looked.
    report_new_runs(mirror, &reported).await;
    if let Some(server) = server
        && let Ok(Ok(Err(e))) = tokio::time::timeout(Duration::from_secs(10), server).await
    {
        return Err(Failure::Io(format!("callback server: {e}")));
    }
    result.map_err(failure)?;
    let p = mirror.progress();
    eprintln!("sync: stopped: {} events, {} chats fetched", p.events, p.fetched);
    Ok(())
}

/// A summary line on stderr for each reconcile that finishes while serving.
async fn report_runs(mirror: Mirror, reported: std::sync::Arc<std::sync::atomic::AtomicI64>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        report_new_runs(&mirror, &reported).await;
    }
}

/// The summary of the last run, if it finished and is not reported yet.
async fn report_new_runs(mirror: &Mirror, reported: &std::sync::atomic::AtomicI64) {
    use std::sync::atomic::Ordering;
    if let Ok(Some(run)) = mirror.store().last_run().await
        && run.finished_at.is_some()
        && run.id > reported.load(Ordering::SeqCst)
    {
        reported.store(run.id, Ordering::SeqCst);
        let took = Duration::from_secs(
            u64::try_from(run.finished_at.unwrap_or(run.started_at) - run.started_at).unwrap_or_default(),
        );
        let _ = summary(mirror, &run, took).await;
    }
}

/// `sync status`: JSON when stdout is not a terminal, a table on one.
async fn status(global: &Global, args: SyncStatusArgs) -> Outcome {
    let url = DbUrl::parse(&args.db.db).map_err(failure)?;
    let store = Store::open_existing(&url).await.map_err(failure)?;
    let status = store.status(SyncOptions::default().max_attempts).await.map_err(failure)?;
    store.close().await;
    match output::resolve(global.output) {
        Output::Json => output::json_line(&status),
        format => {
            let run = status.last_run.as_ref();
            let mut rows = output::Rows::new(&["field", "value"]);
            let mut add = |field: &str, value: serde_json::Value| rows.push(vec![field.into(), value]);
            add("database", status.database.clone().into());
            add("chats", status.chats.into());
            add("members", status.members.into());
            add("dismissed", status.dismissed.into());
            add("queued", status.queued.into());
            add("failed", status.failed.into());
            add("events", status.events.into());
            add("last_run", run.map(|r| r.id).into());
            add("last_run_started_at", run.map(|r| r.started_at).into());
            add("last_run_finished_at", run.and_then(|r| r.finished_at).into());
            add("last_run_listed", run.map(|r| r.listed).into());
            add("last_run_fetched", run.map(|r| r.fetched).into());
            add("last_run_dismissed", run.map(|r| r.dismissed).into());
            add("last_run_failed", run.map(|r| r.failed).into());
            rows.print(format)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_documented() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("6h"), Ok(Duration::from_secs(21_600)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        for bad in ["", "h", "5x", "-1h", "1.5h", "500ms", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
