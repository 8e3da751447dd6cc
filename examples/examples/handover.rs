//! A resigned-staff handover (离职继承): the customer groups of resigned owners handed to a colleague, with a
//! report row per group.
//!
//! ```sh
//! cargo run --example handover                                  # the simulator's demo company
//! cargo run --example handover -- RESIGNED[,RESIGNED…] NEW_OWNER
//! WECOM_CORP_ID=ww… WECOM_CORP_SECRET=… cargo run --example handover -- zhangsan lisi   # WeCom
//! ```
//!
//! The groups awaiting transfer (status 1, 离职待继承) are listed by owner, then handed over with
//! `transfer_batched` (batches of 100, every id accounted for). Stdout gets a CSV report, one row per group:
//! `chat_id,outcome,errcode,detail` with outcome `transferred`, `failed` (WeCom refused that group: its
//! errcode and message), `unknown` (the batch failed after it may have reached WeCom: check the group's
//! owner with `get` before trying again) or `not_sent` (safe to send again). Against the simulator the
//! owners default to the demo company's first resigned owner and first eligible colleague.

use std::io::Write;

use futures::TryStreamExt;
use wecom_groupchat::Client;
use wecom_groupchat::bulk::{BulkReport, ItemOutcome};
use wecom_groupchat::types::{ListRequest, OwnerFilter, StatusFilter, TransferRequest};
use wecom_groupchat_examples::{BoxError, Target, exit_code};

/// Hands every group awaiting transfer of `resigned` to `new_owner`; writes the report to `out`.
pub async fn run(
    client: &Client,
    resigned: &[String],
    new_owner: &str,
    out: &mut dyn Write,
) -> Result<BulkReport, BoxError> {
    let waiting: Vec<String> = client
        .list_stream(
            ListRequest::new(ListRequest::LIMIT_MAX)
                .status_filter(StatusFilter::Resigned)
                .owner_filter(OwnerFilter::new(resigned.iter().cloned())),
        )
        .map_ok(|chat| chat.chat_id)
        .try_collect()
        .await?;
    eprintln!("{} groups of {} await transfer; new owner {new_owner}", waiting.len(), resigned.join(", "));
    let report = client.transfer_batched(TransferRequest::new(waiting, new_owner)).await?;
    writeln!(out, "chat_id,outcome,errcode,detail")?;
    for item in &report.items {
        let (outcome, errcode, detail) = match &item.outcome {
            ItemOutcome::Succeeded => ("transferred", None, String::new()),
            ItemOutcome::Failed { errcode, errmsg } => ("failed", *errcode, errmsg.clone()),
            ItemOutcome::Unknown { reason } => ("unknown", None, reason.clone()),
            ItemOutcome::NotSent { reason, errcode } => ("not_sent", *errcode, reason.clone()),
            other => (other.as_str(), None, String::new()),
        };
        let errcode = errcode.map(|c| c.to_string()).unwrap_or_default();
        writeln!(out, "{},{outcome},{errcode},{}", item.id, csv_field(&detail))?;
    }
    out.flush()?;
    Ok(report)
}

/// A CSV field: quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}

/// The owners from the arguments, or the demo company's.
fn owners(target: &Target) -> Result<(Vec<String>, String), BoxError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match (args.first(), args.get(1), &target.sim) {
        (Some(resigned), Some(new_owner), _) => {
            Ok((resigned.split(',').map(str::to_string).filter(|s| !s.is_empty()).collect(), new_owner.clone()))
        }
        (None, None, Some(sim)) => {
            let hints = sim.hints();
            match (hints.resigned_owners.first(), hints.eligible_new_owners.first()) {
                (Some(resigned), Some(new_owner)) => Ok((vec![resigned.userid.clone()], new_owner.clone())),
                _ => Err("the demo company has no resigned owner with groups".into()),
            }
        }
        _ => Err("usage: handover RESIGNED[,RESIGNED…] NEW_OWNER".into()),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    exit_code(
        async {
            let target = Target::connect().await?;
            let (resigned, new_owner) = owners(&target)?;
            let report = run(&target.client, &resigned, &new_owner, &mut std::io::stdout().lock()).await?;
            eprintln!("{report}");
            target.shutdown().await;
            if report.all_succeeded() { Ok(()) } else { Err("some groups were not transferred".into()) }
        }
        .await,
    )
}
