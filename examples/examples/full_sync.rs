//! A CRM-style full sync: every customer group (every status), read in full, one JSON line per group.
//!
//! ```sh
//! cargo run --example full_sync                      # the embedded simulator, JSON lines to stdout
//! cargo run --example full_sync -- chats.jsonl       # … to a file
//! WECOM_CORP_ID=ww… WECOM_CORP_SECRET=… cargo run --example full_sync -- chats.jsonl   # WeCom
//! ```
//!
//! `list_stream` follows the cursor page after page; each listed chat is read with `get` (names
//! included), a few at a time, in the order listed. A line is the `group_chat` object of `get`'s answer:
//! `chat_id`, `name`, `owner`, `create_time`, `notice`, `member_list`, `admin_list`, `member_version`.

use std::io::Write;

use futures::{StreamExt, TryStreamExt};
use wecom_groupchat::Client;
use wecom_groupchat::types::{GetRequest, ListRequest, NeedName, StatusFilter};
use wecom_groupchat_examples::{BoxError, Target, exit_code};

/// How many `get` calls are in flight at once.
const CONCURRENCY: usize = 8;

/// Writes one JSON line per chat to `out`; returns how many.
pub async fn run(client: &Client, out: &mut dyn Write) -> Result<usize, BoxError> {
    let listing = ListRequest::new(ListRequest::LIMIT_MAX).status_filter(StatusFilter::All);
    let mut chats = client
        .list_stream(listing)
        .map_ok(|listed| {
            let client = client.clone();
            async move { client.get(&GetRequest::new(listed.chat_id).need_name(NeedName::Yes)).await }
        })
        .try_buffered(CONCURRENCY)
        .boxed();
    let mut written = 0;
    while let Some(answer) = chats.next().await {
        serde_json::to_writer(&mut *out, &answer?.group_chat)?;
        out.write_all(b"\n")?;
        written += 1;
    }
    out.flush()?;
    Ok(written)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    exit_code(
        async {
            let target = Target::connect().await?;
            let written = match std::env::args_os().nth(1) {
                Some(path) => {
                    let mut file = std::io::BufWriter::new(std::fs::File::create(&path)?);
                    let n = run(&target.client, &mut file).await?;
                    eprintln!("{n} chats written to {}", path.to_string_lossy());
                    n
                }
                None => run(&target.client, &mut std::io::stdout().lock()).await?,
            };
            eprintln!("full sync done: {written} chats");
            target.shutdown().await;
            Ok(())
        }
        .await,
    )
}
