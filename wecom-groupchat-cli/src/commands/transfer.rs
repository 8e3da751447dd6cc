//! `transfer`: hand chats to a new owner in batches of at most 100, with a report for every chat id.
//! Exit 4 when any chat was not transferred.

use futures::TryStreamExt;
use serde_json::json;
use wecom_groupchat::bulk::{self, Batched, BulkReport, ItemOutcome, ItemResult};
use wecom_groupchat::types::{ListRequest, OnjobTransferRequest, OwnerFilter, StatusFilter, TransferRequest};
use wecom_groupchat::validate::{FieldPath, Validate, check};
use wecom_groupchat::{Client, ValidationError};

use crate::args::{Global, TransferArgs};
use crate::commands;
use crate::failure::{Failure, Outcome};
use crate::output::{self, Rows};

pub async fn run(global: &Global, args: TransferArgs) -> Outcome {
    let mut chat_ids = args.chat_ids;
    if let Some(path) = &args.from_file {
        let text = commands::read_text(path, "--from-file")?;
        chat_ids
            .extend(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string));
    }
    // Everything the flags tell is checked before the first request: listing the resigned owner's chats
    // must not come before finding out that the new owner is empty.
    let endpoint = if args.onjob { "onjob_transfer" } else { "transfer" };
    check_input(endpoint, &chat_ids, &args.new_owner)?;
    let listing = args.resigned_owner.as_ref().map(|owner| {
        ListRequest::new(1000).status_filter(StatusFilter::Resigned).owner_filter(OwnerFilter::new([owner]))
    });
    if let Some(request) = &listing {
        request.validate().map_err(|e| Failure::Usage(format!("--resigned-owner: list: invalid request: {e}")))?;
    }

    let client = commands::client(global)?;
    if let (Some(owner), Some(request)) = (&args.resigned_owner, listing) {
        let found: Vec<String> = client.list_stream(request).map_ok(|chat| chat.chat_id).try_collect().await?;
        eprintln!("{owner} has {} chats awaiting transfer", found.len());
        chat_ids.extend(found);
    }
    if chat_ids.is_empty() {
        eprintln!("nothing to transfer");
        return Ok(());
    }
    let report = if args.onjob {
        transfer_all(&client, OnjobTransferRequest::new(chat_ids, args.new_owner)).await?
    } else {
        transfer_all(&client, TransferRequest::new(chat_ids, args.new_owner)).await?
    };
    match print_report(&report, output::resolve(global.output)) {
        // Nobody reads the report any more, but the exit code must still say whether every chat moved.
        Ok(()) | Err(Failure::StdoutClosed) => {}
        Err(e) => return Err(e),
    }
    let (ok, failed, unknown) = report.counts();
    eprintln!("{report}");
    if failed + unknown > 0 {
        let hint = if unknown > 0 { "; check the unknown ones with `get` before retrying them" } else { "" };
        return Err(Failure::Partial(format!("{ok} of {} chats transferred{hint}", report.items.len())));
    }
    Ok(())
}

/// The limits of the transfer request that hold for any number of chats. Positions are those of the
/// user's list (arguments, then the file's lines), not of the batch of 100 the chat would go in.
fn check_input(endpoint: &str, chat_ids: &[String], new_owner: &str) -> Outcome {
    let invalid =
        |e: ValidationError, given: String| Failure::Usage(format!("{endpoint}: invalid request: {e} ({given})"));
    let root = FieldPath::Root;
    check::min_chars(&root.field("new_owner"), new_owner, 1, None).map_err(|e| invalid(e, "--new-owner".into()))?;
    for (i, id) in chat_ids.iter().enumerate() {
        check::min_chars(&root.field("chat_id_list").index(i), id, 1, None)
            .map_err(|e| invalid(e, format!("chat id {} of the {} given", i + 1, chat_ids.len())))?;
    }
    Ok(())
}

async fn transfer_all<R: Batched>(client: &Client, request: R) -> Result<BulkReport, Failure> {
    let bar = commands::progress(0, "chats");
    let report = bulk::run(client, request, |p| {
        bar.set_length(p.items_total as u64);
        bar.set_position(p.items_done as u64);
        bar.set_message(format!("batch {}/{}", p.batches_done, p.batches_total));
    })
    .await?;
    bar.finish_and_clear();
    Ok(report)
}

/// The report's rows: `chat_id`, `outcome` (transferred / failed / unknown), `errcode`, `errmsg`.
pub fn report_rows<'a>(items: impl Iterator<Item = &'a ItemResult>) -> Rows {
    let mut rows = Rows::new(&["chat_id", "outcome", "errcode", "errmsg"]);
    for item in items {
        let (outcome, code, message) = match &item.outcome {
            ItemOutcome::Succeeded => ("transferred", None, String::new()),
            ItemOutcome::Failed { errcode, errmsg } => ("failed", *errcode, errmsg.clone()),
            ItemOutcome::Unknown { reason } => ("unknown", None, reason.clone()),
            _ => ("unknown", None, String::new()),
        };
        rows.push(vec![json!(item.id), json!(outcome), json!(code), json!(message)]);
    }
    rows
}

fn print_report(report: &BulkReport, format: crate::args::Output) -> Outcome {
    report_rows(report.items.iter()).print(format)
}
