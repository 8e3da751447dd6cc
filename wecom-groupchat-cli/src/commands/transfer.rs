//! `transfer`: hand chats to a new owner in batches of at most 100, with a record for every chat id that
//! is written as each batch lands — on stdout and in `--report FILE`, flushed per batch — so that an
//! interrupted run (Ctrl-C, SIGTERM, a crash) still says which chats moved. Exit 4 when any chat was not
//! transferred; 130 on SIGINT and 143 on SIGTERM, after the record is written.

use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::TryStreamExt;
use serde_json::json;
use wecom_groupchat::bulk::{self, Batched, BulkPlan, ItemOutcome, ItemResult};
use wecom_groupchat::types::{ListRequest, OnjobTransferRequest, OwnerFilter, StatusFilter, TransferRequest};
use wecom_groupchat::validate::{FieldPath, Validate, check};
use wecom_groupchat::{Client, ValidationError};

use crate::args::{Global, Output, TransferArgs};
use crate::commands;
use crate::failure::{Failure, Outcome};
use crate::output::{self, Rows};
use crate::signals::{Signal, Signals};

/// The report's columns. `batch` is the 1-based batch a chat went in (empty for a duplicate).
const COLUMNS: [&str; 5] = ["chat_id", "outcome", "errcode", "errmsg", "batch"];

/// How long a batch already sent may still answer after a signal before its chats are recorded unknown.
const GRACE: Duration = Duration::from_secs(5);

pub async fn run(global: &Global, args: TransferArgs) -> Outcome {
    let mut chat_ids = args.chat_ids;
    if let Some(path) = &args.from_file {
        let text = commands::read_text(path, "--from-file")?;
        chat_ids
            .extend(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string));
    }
    // Everything the flags tell is checked before the first request: listing the owner's chats must not
    // come before finding out that the new owner is empty or the report file cannot be written.
    let endpoint = if args.onjob { "onjob_transfer" } else { "transfer" };
    check_input(endpoint, &chat_ids, &args.new_owner)?;
    let listing = match (&args.resigned_owner, &args.owner) {
        (Some(owner), _) => Some((
            owner,
            ListRequest::new(ListRequest::LIMIT_MAX)
                .status_filter(StatusFilter::Resigned)
                .owner_filter(OwnerFilter::new([owner])),
            "awaiting transfer",
        )),
        (None, Some(owner)) => {
            Some((owner, ListRequest::new(ListRequest::LIMIT_MAX).owner_filter(OwnerFilter::new([owner])), "in all"))
        }
        (None, None) => None,
    };
    if let Some((_, request, _)) = &listing {
        let flag = if args.owner.is_some() { "--owner" } else { "--resigned-owner" };
        request.validate().map_err(|e| Failure::Usage(format!("{flag}: list: invalid request: {e}")))?;
    }
    let format = output::resolve(global.output);
    let mut record = Record::open(format, args.report.as_deref())?;

    let client = commands::client(global)?;
    if let Some((owner, request, which)) = listing {
        let bar = commands::spinner("listing chats");
        let found: Vec<String> = client
            .list_stream(request)
            .map_ok(|chat| {
                bar.inc(1);
                chat.chat_id
            })
            .try_collect()
            .await?;
        bar.finish_and_clear();
        eprintln!("{owner} has {} chats {which}", found.len());
        chat_ids.extend(found);
    }
    if chat_ids.is_empty() {
        eprintln!("nothing to transfer");
        return Ok(());
    }
    let to = Target { new_owner: &args.new_owner, dry_run: args.dry_run, yes: args.yes };
    if args.onjob {
        let plan = bulk::plan(OnjobTransferRequest::new(chat_ids, args.new_owner.as_str()))?;
        transfer_all(&client, plan, &to, &mut record).await
    } else {
        let plan = bulk::plan(TransferRequest::new(chat_ids, args.new_owner.as_str()))?;
        transfer_all(&client, plan, &to, &mut record).await
    }
}

/// Who gets the chats, and how careful to be about it.
struct Target<'a> {
    new_owner: &'a str,
    dry_run: bool,
    yes: bool,
}

/// The limits of the transfer request that hold for any number of chats. Positions are those of the
/// user's list (arguments, then the file's lines), not of the batch of 100 the chat would go in.
fn check_input(endpoint: &str, chat_ids: &[String], new_owner: &str) -> Outcome {
    let invalid =
        |e: ValidationError, given: String| Failure::Usage(format!("{endpoint}: invalid request: {e} ({given})"));
    let root = FieldPath::Root;
    let new_owner_min = TransferRequest::NEW_OWNER_MIN_CHARS as i64;
    check::min_chars(&root.field("new_owner"), new_owner, new_owner_min, None)
        .map_err(|e| invalid(e, "--new-owner".into()))?;
    let chat_id_min = TransferRequest::CHAT_ID_LIST_EACH_MIN_CHARS as i64;
    for (i, id) in chat_ids.iter().enumerate() {
        check::min_chars(&root.field("chat_id_list").index(i), id, chat_id_min, None)
            .map_err(|e| invalid(e, format!("chat id {} of the {} given", i + 1, chat_ids.len())))?;
    }
    Ok(())
}

/// Sends the batches one by one, recording each as it lands; stops between batches on SIGINT/SIGTERM.
async fn transfer_all<R: Batched>(client: &Client, plan: BulkPlan<R>, to: &Target<'_>, record: &mut Record) -> Outcome {
    let endpoint = R::INFO.name;
    let (total, batches) = (plan.items_total(), plan.len());
    for duplicate in plan.duplicates() {
        let reason =
            format!("given again at position {} (first at {}): sent once", duplicate.position + 1, duplicate.first + 1);
        record.write(&[row(&duplicate.id, "duplicate", None, &reason, None)])?;
    }
    let summary = format!(
        "{total} chats in {batches} batch{} to {}{}",
        if batches == 1 { "" } else { "es" },
        to.new_owner,
        if plan.duplicates().is_empty() {
            String::new()
        } else {
            format!(" ({} duplicates sent once)", plan.duplicates().len())
        }
    );
    if to.dry_run {
        for n in 0..batches {
            let rows: Vec<_> = plan.batch_ids(n).iter().map(|id| row(id, "planned", None, "", Some(n))).collect();
            record.write(&rows)?;
        }
        eprintln!("dry run: {endpoint} of {summary}; nothing sent");
        return Ok(());
    }
    confirm(&format!("{endpoint} {summary}?"), to.yes)?;

    let mut signals = Signals::new()?;
    let bar = commands::progress(total as u64, "chats");
    let mut results: Vec<ItemResult> = Vec::with_capacity(total);
    let mut stopped: Option<(String, Option<i64>)> = None;
    let mut interrupted: Option<Signal> = None;
    for n in 0..batches {
        // A signal that came while the last batch was being recorded stops the run before this one.
        if let (None, Some(signal)) = (interrupted, futures::FutureExt::now_or_never(signals.next())) {
            interrupted = Some(signal);
            stopped = Some((format!("not sent: interrupted by {}", signal.name()), None));
        }
        if let Some((reason, errcode)) = &stopped {
            let items = plan.not_sent(n, reason, *errcode);
            record.write(&rows_of(&items, n))?;
            results.extend(items);
            continue;
        }
        bar.set_message(format!("batch {}/{batches}", n + 1));
        let send = plan.send(client, n);
        tokio::pin!(send);
        let outcome = tokio::select! {
            outcome = &mut send => Some(outcome),
            signal = signals.next() => {
                interrupted = Some(signal);
                bar.suspend(|| eprintln!("{}: waiting up to {}s for the batch in flight (again to stop now)", signal.name(), GRACE.as_secs()));
                tokio::select! {
                    outcome = &mut send => Some(outcome),
                    _ = tokio::time::sleep(GRACE) => None,
                    _ = signals.next() => None,
                }
            }
        };
        let items = match outcome {
            Some(outcome) => {
                if let Some(error) = outcome.stop {
                    stopped = Some((format!("not sent: an earlier batch met {error}"), error.code()));
                }
                outcome.items
            }
            None => plan.unknown(n, "interrupted before the answer came: the batch may or may not have taken effect"),
        };
        record.write(&rows_of(&items, n))?;
        bar.inc(items.len() as u64);
        results.extend(items);
        if let Some(signal) = interrupted
            && stopped.is_none()
        {
            stopped = Some((format!("not sent: interrupted by {}", signal.name()), None));
        }
    }
    bar.finish_and_clear();
    record.finish()?;

    let (ok, failed, unknown) = bulk::counts(&results);
    eprintln!(
        "{endpoint}: {ok} succeeded, {failed} failed, {unknown} unknown ({batches} batch{})",
        if batches == 1 { "" } else { "es" }
    );
    let hint = if unknown > 0 { "; check the unknown ones with `get` before retrying them" } else { "" };
    if let Some(signal) = interrupted {
        return Err(Failure::Interrupted {
            code: signal.exit_code(),
            message: format!("{}: {ok} of {total} chats transferred before stopping{hint}", signal.name()),
        });
    }
    if failed + unknown > 0 {
        return Err(Failure::Partial(format!("{ok} of {total} chats transferred{hint}")));
    }
    Ok(())
}

/// On a terminal, asks before a write unless `--yes`; elsewhere (scripts, CI) goes ahead.
pub fn confirm(question: &str, yes: bool) -> Outcome {
    if yes || !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Ok(());
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer).map_err(|e| Failure::Io(format!("cannot read the answer: {e}")))?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(Failure::Usage("not confirmed: nothing sent (--yes skips the question)".into()))
    }
}

fn row(id: &str, outcome: &str, errcode: Option<i64>, message: &str, batch: Option<usize>) -> Vec<serde_json::Value> {
    vec![json!(id), json!(outcome), json!(errcode), json!(message), json!(batch.map(|n| n + 1))]
}

fn rows_of(items: &[ItemResult], batch: usize) -> Vec<Vec<serde_json::Value>> {
    items
        .iter()
        .map(|item| {
            let (outcome, code, message) = describe(&item.outcome);
            row(&item.id, outcome, code, &message, Some(batch))
        })
        .collect()
}

/// The report's `outcome`, `errcode` and `errmsg` of one chat.
fn describe(outcome: &ItemOutcome) -> (&'static str, Option<i64>, String) {
    match outcome {
        ItemOutcome::Succeeded => ("transferred", None, String::new()),
        ItemOutcome::Failed { errcode, errmsg } => ("failed", *errcode, errmsg.clone()),
        ItemOutcome::Unknown { reason } => ("unknown", None, reason.clone()),
        ItemOutcome::NotSent { reason, errcode } => ("not_sent", *errcode, reason.clone()),
        other => (other.as_str(), None, String::new()),
    }
}

/// The report's rows without the batch column (the demo shows a finished report).
#[cfg(feature = "simulator")]
pub fn report_rows<'a>(items: impl Iterator<Item = &'a ItemResult>) -> Rows {
    let mut rows = Rows::new(&COLUMNS[..4]);
    for item in items {
        let (outcome, code, message) = describe(&item.outcome);
        rows.push(vec![json!(item.id), json!(outcome), json!(code), json!(message)]);
    }
    rows
}

/// Where the record goes as batches land: stdout in the chosen format, and `--report FILE` (CSV for a
/// `.csv` name, JSON lines otherwise), each flushed — the file synced to disk — after every batch.
struct Record {
    format: Output,
    header_written: bool,
    stdout_open: bool,
    file: Option<ReportFile>,
}

struct ReportFile {
    path: PathBuf,
    file: File,
    csv: bool,
}

impl Record {
    fn open(format: Output, report: Option<&Path>) -> Result<Record, Failure> {
        let file = match report {
            None => None,
            Some(path) => {
                let cannot = |e: std::io::Error| Failure::Usage(format!("--report {}: {e}", path.display()));
                // Appended to: a report of an earlier run is a record too, never to be truncated.
                let mut file = OpenOptions::new().create(true).append(true).open(path).map_err(cannot)?;
                let csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
                if csv && file.metadata().map_err(cannot)?.len() == 0 {
                    writeln!(file, "{}", COLUMNS.join(",")).map_err(cannot)?;
                }
                Some(ReportFile { path: path.to_path_buf(), file, csv })
            }
        };
        Ok(Record { format, header_written: false, stdout_open: true, file })
    }

    /// Writes rows to both places and flushes them; the file is synced, so a crash after this keeps them.
    fn write(&mut self, rows: &[Vec<serde_json::Value>]) -> Outcome {
        if let Some(report) = &mut self.file {
            let io = |e: std::io::Error| Failure::Io(format!("cannot write {}: {e}", report.path.display()));
            let mut text = Vec::new();
            for row in rows {
                if report.csv {
                    let mut writer = csv::WriterBuilder::new().has_headers(false).from_writer(&mut text);
                    writer.write_record(row.iter().map(output::cell_text)).map_err(|e| Failure::Io(e.to_string()))?;
                    writer.flush().map_err(|e| Failure::Io(e.to_string()))?;
                } else {
                    let object: serde_json::Map<_, _> =
                        COLUMNS.iter().map(|c| c.to_string()).zip(row.iter().cloned()).collect();
                    serde_json::to_writer(&mut text, &object).map_err(|e| Failure::Io(e.to_string()))?;
                    text.push(b'\n');
                }
            }
            report.file.write_all(&text).and_then(|_| report.file.sync_data()).map_err(io)?;
        }
        if !self.stdout_open || rows.is_empty() {
            return Ok(());
        }
        let mut out = Rows::new(&COLUMNS);
        for row in rows {
            out.push(row.clone());
        }
        let printed = match self.format {
            Output::Csv => out.print_csv(!self.header_written),
            other => out.print(other),
        };
        self.header_written = true;
        match printed {
            // Nobody reads stdout any more; the file (if any) and the exit code still tell.
            Err(Failure::StdoutClosed) => {
                self.stdout_open = false;
                Ok(())
            }
            other => other,
        }
    }

    fn finish(&mut self) -> Outcome {
        if let Some(report) = &mut self.file {
            report.file.sync_all().map_err(|e| Failure::Io(format!("cannot write {}: {e}", report.path.display())))?;
        }
        Ok(())
    }
}
