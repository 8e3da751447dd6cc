//! `export --out FILE.jsonl`: every group with full details, one JSON object per line. Bounded
//! concurrency, the client's rate limits (and a stop at the first 45009, which blocks `get` for the rest
//! of its window), and resumable: chats already in the file are skipped, and a line cut short by a crash
//! is dropped before appending. A file export did not write is refused, never truncated.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::Path;

use futures::{StreamExt, TryStreamExt};
use wecom_groupchat::types::{GetRequest, ListRequest, NeedName, OwnerFilter};
use wecom_groupchat::validate::Validate;
use wecom_groupchat::{Client, Error};

use crate::args::{ExportArgs, Global};
use crate::commands;
use crate::failure::{Failure, Outcome};

/// Chat ids already exported, after cutting off a last line left incomplete by a crash. A complete line
/// that is not an exported chat means the file is something else: refuse it rather than truncate it.
fn already_exported(path: &Path) -> Result<HashSet<String>, Failure> {
    // A path that cannot be read (a directory, no permission) is the user's to fix: a usage error.
    let io = |e: std::io::Error| Failure::Usage(format!("--out {}: {e}", path.display()));
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashSet::new()),
        Err(e) => return Err(io(e)),
    };
    let mut done = HashSet::new();
    let mut good_len = 0u64;
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let n = reader.read_until(b'\n', &mut line).map_err(io)?;
        // Every line export writes starts so (chat_id is the first field).
        let ours = line.starts_with(br#"{"chat_id":"#);
        let not_ours = || {
            Failure::Usage(format!(
                "--out {}: line {number} is not a chat written by export; not appending to this file (give a \
                 new file, or one an earlier export wrote)",
                path.display()
            ))
        };
        if n == 0 {
            break;
        }
        if !line.ends_with(b"\n") {
            // A last line cut short by a crash: dropped below, and that chat is read again.
            if !ours {
                return Err(not_ours());
            }
            break;
        }
        if !line.iter().all(u8::is_ascii_whitespace) {
            let value = serde_json::from_slice::<serde_json::Value>(&line).ok().filter(|_| ours);
            let id = value.as_ref().and_then(|v| v.get("chat_id")).and_then(|v| v.as_str()).ok_or_else(not_ours)?;
            done.insert(id.to_string());
        }
        good_len += n as u64;
    }
    let total = std::fs::metadata(path).map_err(io)?.len();
    if total > good_len {
        eprintln!("dropping {} bytes of an incomplete last line in {}", total - good_len, path.display());
        let file = OpenOptions::new().write(true).open(path).map_err(io)?;
        file.set_len(good_len).map_err(io)?;
    }
    Ok(done)
}

pub async fn run(global: &Global, args: ExportArgs) -> Outcome {
    let mut request = ListRequest::new(1000).status_filter(commands::status_filter(args.status));
    if !args.owners.is_empty() {
        request = request.owner_filter(OwnerFilter::new(commands::owners(args.owners.clone())?));
    }
    request.validate().map_err(|e| Failure::Usage(format!("list: invalid request: {e}")))?;
    let client = commands::client(global)?;
    // The file before the API: a path that cannot be written is found before listing every chat.
    let done = already_exported(&args.out)?;
    let cannot_open = |e: std::io::Error| Failure::Usage(format!("--out {}: cannot open: {e}", args.out.display()));
    let (file, created) = match OpenOptions::new().append(true).create_new(true).open(&args.out) {
        Ok(file) => (file, true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            (OpenOptions::new().append(true).open(&args.out).map_err(cannot_open)?, false)
        }
        Err(e) => return Err(cannot_open(e)),
    };
    let result = export(&client, request, &args, file, &done).await;
    // A failed run leaves no empty file of its own behind (a listing that failed, say); a file it found
    // is left as it is, and one it wrote to keeps what it got for the next run.
    if result.is_err() && created && std::fs::metadata(&args.out).is_ok_and(|m| m.len() == 0) {
        let _ = std::fs::remove_file(&args.out);
    }
    result
}

/// Lists the chats, then appends those not `done` to `file`.
async fn export(
    client: &Client,
    request: ListRequest,
    args: &ExportArgs,
    mut file: File,
    done: &HashSet<String>,
) -> Outcome {
    let all: Vec<String> = client.list_stream(request).map_ok(|c| c.chat_id).try_collect().await?;
    let todo: Vec<String> = all.iter().filter(|id| !done.contains(*id)).cloned().collect();
    eprintln!(
        "{} chats listed, {} already in {}, {} to export",
        all.len(),
        all.len() - todo.len(),
        args.out.display(),
        todo.len()
    );

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
        .buffer_unordered(args.concurrency as usize);

    let (mut written, mut failed) = (0usize, Vec::new());
    let mut rate_limited = false;
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
                // One write per line, flushed: a crash leaves at most one partial line, dropped on resume.
                file.write_all(&line).and_then(|_| file.flush()).map_err(io)?;
                written += 1;
            }
            Err(e) => {
                bar.suspend(|| eprintln!("{chat_id}: {e}"));
                failed.push(chat_id);
            }
        }
        bar.inc(1);
    }
    drop(details);
    bar.finish_and_clear();
    eprintln!("exported {written} chats to {}", args.out.display());
    if rate_limited {
        return Err(Failure::Partial(format!(
            "stopped at the rate limit (errcode 45009) with {} of {} chats not exported yet; run the same command \
             again after the limit's window to resume",
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
