//! `export --out FILE.jsonl`: every group with full details, one JSON object per line. Bounded
//! concurrency and memory, the client's rate limits (and a stop at the first 45009, which blocks `get` for
//! the rest of its window), and resumable: chats already in the file are skipped, and a tail left by a
//! crash (a line cut short, the zeros a power loss leaves) is cut off before appending. The file is locked
//! while a run writes it and synced to disk as it grows. A file export did not write is refused, never
//! truncated.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use wecom_groupchat::types::{GetRequest, ListRequest, NeedName, OwnerFilter};
use wecom_groupchat::validate::Validate;
use wecom_groupchat::{Client, Error};

use crate::args::{ExportArgs, Global};
use crate::commands;
use crate::failure::{Failure, Outcome};

/// Largest `get` answer export accepts, in bytes: a 2,000-member chat with names is about 600 KB.
const MAX_ANSWER_BYTES: usize = 2 << 20;
/// Largest `get` answer export accepts, in JSON values: a 2,000-member chat has about 26,000.
const MAX_ANSWER_VALUES: usize = 50_000;
/// What one JSON value may cost once decoded, at worst (a member struct from `{}`, with its vector's
/// spare room).
const BYTES_PER_VALUE: usize = 512;
/// The most one call can hold in memory: its body and what it decodes to.
const WORST_CALL_BYTES: usize = MAX_ANSWER_BYTES + MAX_ANSWER_VALUES * BYTES_PER_VALUE;
/// Lines written between two syncs to disk (and at least one sync a second).
const SYNC_EVERY: usize = 256;

/// The file, opened for appending and locked against a second run, with the chat ids it already holds.
struct OutFile {
    file: File,
    done: HashSet<String>,
    created: bool,
}

/// Opens (or creates) `path`, locks it, reads the chats already exported and cuts off a tail a crash left.
/// A complete line that is not an exported chat means the file is something else: it is refused.
fn open_out(path: &Path) -> Result<OutFile, Failure> {
    // A path that cannot be used (a directory, no permission) is the user's to fix: a usage error.
    let usage = |e: std::io::Error| Failure::Usage(format!("--out {}: {e}", path.display()));
    let (file, created) = match OpenOptions::new().read(true).append(true).create_new(true).open(path) {
        Ok(file) => (file, true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            (OpenOptions::new().read(true).append(true).open(path).map_err(usage)?, false)
        }
        Err(e) => return Err(usage(e)),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(Failure::Usage(format!(
                "--out {}: another export is writing this file; wait for it, or give another file",
                path.display()
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(usage(e)),
    }
    let (done, good_len) = read_exported(&file, path)?;
    let total = file.metadata().map_err(usage)?.len();
    if total > good_len {
        eprintln!("cutting {} bytes of an incomplete tail off {}", total - good_len, path.display());
        file.set_len(good_len).map_err(usage)?;
        file.sync_all().map_err(usage)?;
    }
    Ok(OutFile { file, done, created })
}

/// The chat ids of the complete lines, and where they end. What follows them is a crash's tail when it is
/// zero bytes and blanks (a power loss can leave the file's new length with no data), then at most a line
/// cut short that reads as the start of one of ours (however short: `{"ch` too); anything else is not
/// ours to cut.
fn read_exported(file: &File, path: &Path) -> Result<(HashSet<String>, u64), Failure> {
    let usage = |e: std::io::Error| Failure::Usage(format!("--out {}: {e}", path.display()));
    let mut done = HashSet::new();
    let mut good_len = 0u64;
    let mut reader = BufReader::new(file);
    reader.seek(SeekFrom::Start(0)).map_err(usage)?;
    let mut line = Vec::new();
    let mut number = 0;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(usage)?;
        number += 1;
        if n == 0 || !line.ends_with(b"\n") {
            break; // the end, or a last line cut short
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            good_len += n as u64;
            continue;
        }
        // Every line export writes is a JSON object starting with its chat id.
        let chat_id = line
            .starts_with(br#"{"chat_id":"#)
            .then(|| serde_json::from_slice::<serde_json::Value>(&line).ok())
            .flatten()
            .and_then(|v| v.get("chat_id").and_then(|v| v.as_str()).map(str::to_string));
        match chat_id {
            Some(id) => {
                done.insert(id);
                good_len += n as u64;
            }
            None if line.iter().all(|b| *b == 0 || b.is_ascii_whitespace()) => {
                // Zeros: what follows must be zeros too, checked below.
                break;
            }
            None => return Err(not_ours(path, number)),
        }
    }
    reader.seek(SeekFrom::Start(good_len)).map_err(usage)?;
    let mut tail = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut tail).map_err(usage)?;
    if !is_crash_tail(&tail) {
        return Err(not_ours(path, number));
    }
    Ok((done, good_len))
}

/// Zeros and blanks, then at most one unterminated line that reads as the start of a line of ours.
fn is_crash_tail(tail: &[u8]) -> bool {
    const MARKER: &[u8] = br#"{"chat_id":"#;
    let blank = |b: &u8| *b == 0 || b.is_ascii_whitespace();
    let start = tail.iter().position(|b| !blank(b)).unwrap_or(tail.len());
    let rest = &tail[start..];
    if rest.is_empty() {
        return true;
    }
    // What was being written when the power went: our line's start, maybe followed by zeros.
    let written = match rest.iter().position(|b| *b == 0) {
        Some(zero) if rest[zero..].iter().all(blank) => &rest[..zero],
        Some(_) => return false,
        None => rest,
    };
    !written.contains(&b'\n') && (MARKER.starts_with(written) || written.starts_with(MARKER))
}

fn not_ours(path: &Path, line: usize) -> Failure {
    Failure::Usage(format!(
        "--out {}: line {line} is not a chat written by export; not appending to this file (give a new file, or \
         one an earlier export wrote)",
        path.display()
    ))
}

pub async fn run(global: &Global, args: ExportArgs) -> Outcome {
    let mut request = ListRequest::new(ListRequest::LIMIT_MAX).status_filter(commands::status_filter(args.status));
    if !args.owners.is_empty() {
        request = request.owner_filter(OwnerFilter::new(commands::owners(args.owners.clone())?));
    }
    request.validate().map_err(|e| Failure::Usage(format!("list: invalid request: {e}")))?;
    let client = commands::client_with(global, |b| {
        b.max_response_bytes(MAX_ANSWER_BYTES).max_response_values(MAX_ANSWER_VALUES)
    })?;
    // The file before the API: a path that cannot be written is found before listing every chat.
    let out = open_out(&args.out)?;
    let created = out.created;
    let result = export(&client, request, &args, out).await;
    // A failed run leaves no empty file of its own behind (a listing that failed, say); a file it found
    // is left as it is, and one it wrote to keeps what it got for the next run.
    if result.is_err() && created && std::fs::metadata(&args.out).is_ok_and(|m| m.len() == 0) {
        let _ = std::fs::remove_file(&args.out);
    }
    result
}

/// Lists the chats, then appends those not done yet to the file.
async fn export(client: &Client, request: ListRequest, args: &ExportArgs, out: OutFile) -> Outcome {
    let OutFile { mut file, done, .. } = out;
    let bar = commands::spinner("listing chats");
    let listed: Vec<String> = client
        .list_stream(request)
        .map_ok(|c| {
            bar.inc(1);
            c.chat_id
        })
        .try_collect()
        .await?;
    bar.finish_and_clear();
    // A listing may name a chat twice (pages shifting under a concurrent change): fetch and write it once.
    let mut seen = HashSet::with_capacity(listed.len());
    let all: Vec<String> = listed.into_iter().filter(|id| seen.insert(id.clone())).collect();
    let todo: Vec<String> = all.iter().filter(|id| !done.contains(*id)).cloned().collect();
    eprintln!(
        "{} chats listed, {} already in {}, {} to export",
        all.len(),
        all.len() - todo.len(),
        args.out.display(),
        todo.len()
    );

    // Memory in flight stays within --max-memory whatever the answers hold: each call may take its body
    // and what that decodes to at worst, so no more calls run at once than that many fit.
    let budget = (args.max_memory as usize).saturating_mul(1 << 20);
    let fit = (budget / WORST_CALL_BYTES).max(1);
    let in_flight = (args.concurrency as usize).min(fit);
    if in_flight < args.concurrency as usize {
        eprintln!(
            "--concurrency {}: {fit} calls at a time fit in --max-memory {} MiB (each answer may take {} MiB \
             once decoded); running {fit}",
            args.concurrency,
            args.max_memory,
            WORST_CALL_BYTES >> 20
        );
    }

    let io = |e: std::io::Error| Failure::Io(format!("cannot write {}: {e}", args.out.display()));
    file.seek(SeekFrom::End(0)).map_err(io)?;
    let total = todo.len();
    let bar = commands::progress(total as u64, "chats");
    let need_name = args.names;
    let mut details = futures::stream::iter(todo)
        .map(|chat_id| {
            let client = client.clone();
            async move {
                let mut request = GetRequest::new(chat_id.clone());
                if need_name {
                    request = request.need_name(NeedName::Yes);
                }
                (chat_id, client.get(&request).await)
            }
        })
        .buffer_unordered(in_flight);

    let (mut written, mut failed) = (0usize, Vec::new());
    let mut rate_limited = false;
    let (mut unsynced, mut synced_at) = (0usize, Instant::now());
    while let Some((chat_id, result)) = details.next().await {
        match result {
            // WeCom blocks `get` for the rest of its window: every further call would fail the same way
            // (and count against the limit). Stop; the chats not written yet are read on the next run.
            Err(e @ Error::RateLimited(_)) => {
                bar.suspend(|| eprintln!("{chat_id}: {e}"));
                rate_limited = true;
                break;
            }
            Ok(response) => {
                let mut line = serde_json::to_vec(&response.group_chat).map_err(|e| Failure::Io(e.to_string()))?;
                line.push(b'\n');
                // One write per line: a crash leaves at most one partial line, cut off on resume. Synced in
                // batches, so a power loss costs at most the lines since the last sync (read again on resume).
                file.write_all(&line).map_err(io)?;
                written += 1;
                unsynced += 1;
                if unsynced >= SYNC_EVERY || synced_at.elapsed() >= Duration::from_secs(1) {
                    file.sync_data().map_err(io)?;
                    (unsynced, synced_at) = (0, Instant::now());
                }
            }
            Err(e) => {
                bar.suspend(|| eprintln!("{chat_id}: {e}"));
                failed.push(chat_id);
            }
        }
        bar.inc(1);
    }
    drop(details);
    file.sync_all().map_err(io)?;
    bar.finish_and_clear();
    eprintln!("exported {written} chats to {}", args.out.display());
    if rate_limited {
        return Err(Failure::Partial(format!(
            "stopped at the rate limit (errcode {}) with {} of {} chats not exported yet; run the same command \
             again after the limit's window to resume",
            wecom_groupchat::codes::API_FREQ_OUT_OF_LIMIT,
            total - written,
            total
        )));
    }
    if !failed.is_empty() {
        return Err(Failure::Partial(format!(
            "{} chats could not be read; run the same command again to retry them",
            failed.len()
        )));
    }
    Ok(())
}
