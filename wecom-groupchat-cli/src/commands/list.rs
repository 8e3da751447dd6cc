//! `list`: one page of customer groups, or every page with `--all`.

use futures::StreamExt;
use serde_json::json;
use wecom_groupchat::types::{GroupChatListItem, ListRequest, OwnerFilter};
use wecom_groupchat::wire::WireEnum;

use crate::args::{Global, ListArgs, Output};
use crate::commands;
use crate::failure::Outcome;
use crate::output::{self, Rows};

/// The chat id, its status code and the status's name, in cells of their own so spreadsheets can sort
/// and filter on either.
fn row(chat: &GroupChatListItem) -> Vec<serde_json::Value> {
    vec![json!(chat.chat_id), json!(chat.status.map(|s| s.value())), json!(chat.status.and_then(|s| s.name()))]
}

pub async fn run(global: &Global, args: ListArgs) -> Outcome {
    let mut request = ListRequest::new(args.limit).status_filter(commands::status_filter(args.status));
    if !args.owners.is_empty() {
        request = request.owner_filter(OwnerFilter::new(commands::owners(args.owners)?));
    }
    if let Some(cursor) = args.cursor {
        request = request.cursor(cursor);
    }
    let format = output::resolve(global.output);
    let client = commands::client(global)?;
    let mut rows = Rows::new(&["chat_id", "status", "status_name"]);

    if args.all {
        let mut chats = std::pin::pin!(client.list_stream(request));
        let mut count = 0usize;
        // On a terminal only (stderr): how many chats so far; the lines on stdout are written around it.
        let bar = commands::spinner("listing chats").with_finish(indicatif::ProgressFinish::AndClear);
        while let Some(chat) = chats.next().await {
            let chat = chat?;
            count += 1;
            bar.inc(1);
            match format {
                Output::Json => bar.suspend(|| output::json_line(&chat))?,
                _ => rows.push(row(&chat)),
            }
        }
        bar.finish_and_clear();
        if format != Output::Json {
            rows.print(format)?;
        }
        eprintln!("{count} chats");
        return Ok(());
    }

    let page = client.list(&request).await?;
    match format {
        Output::Json => output::json_line(&page)?,
        _ => {
            for chat in page.group_chat_list.iter().flatten() {
                rows.push(row(chat));
            }
            rows.print(format)?;
        }
    }
    match page.next_cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(cursor) => eprintln!("more chats: --cursor {cursor} (or --all)"),
        None => eprintln!("no more chats"),
    }
    Ok(())
}
