//! Customer group statistics by day, as CSV: one row per day of a range, summed over the owners.
//!
//! ```sh
//! cargo run --example stats_csv                         # the last 30 days, every owner, the simulator
//! cargo run --example stats_csv -- 90 zhangsan,lisi     # the last 90 days of two owners
//! WECOM_CORP_ID=ww… WECOM_CORP_SECRET=… cargo run --example stats_csv -- 180 > stats.csv   # WeCom
//! ```
//!
//! Arguments: the number of days up to yesterday (1 to 180; WeCom keeps 180 days), and the owners
//! (default: every member with customer contact, from `get_follow_user_list`).
//! `statistic_group_by_day_range` splits the range into windows of 30 days and the owners into batches of
//! 100 (a call each); the rows of every batch of a day are summed. Days are UTC+8, as WeCom counts them.

use std::collections::BTreeMap;
use std::io::Write;

use futures::TryStreamExt;
use wecom_groupchat::Client;
use wecom_groupchat::time::{self, day_before, now_unix};
use wecom_groupchat::types::{GetFollowUserListRequest, OwnerFilter, StatisticData, StatisticGroupByDayRequest};
use wecom_groupchat_examples::{BoxError, Target, exit_code};

/// The CSV columns after `day`, as `StatisticData` names them.
const COLUMNS: [&str; 7] =
    ["new_chat_cnt", "chat_total", "chat_has_msg", "new_member_cnt", "member_total", "member_has_msg", "msg_total"];

fn figures(d: &StatisticData) -> [Option<i64>; 7] {
    [d.new_chat_cnt, d.chat_total, d.chat_has_msg, d.new_member_cnt, d.member_total, d.member_has_msg, d.msg_total]
}

/// Writes the last `days` days (up to yesterday) of `owners` as CSV to `out`; returns the number of rows.
pub async fn run(client: &Client, days: i64, owners: Vec<String>, out: &mut dyn Write) -> Result<usize, BoxError> {
    let now = now_unix();
    let request = StatisticGroupByDayRequest::new(day_before(now, days))
        .day_end_time(day_before(now, 1))
        .owner_filter(OwnerFilter::new(owners));
    let mut by_day: BTreeMap<i64, [i64; 7]> = BTreeMap::new();
    let mut items = std::pin::pin!(client.statistic_group_by_day_range(request));
    while let Some(windowed) = items.try_next().await? {
        let Some(day) = windowed.item.stat_time else { continue };
        let sums = by_day.entry(day).or_default();
        for (sum, figure) in sums.iter_mut().zip(figures(&windowed.item.data.unwrap_or_default())) {
            *sum += figure.unwrap_or_default();
        }
    }
    writeln!(out, "day,{}", COLUMNS.join(","))?;
    for (day, sums) in &by_day {
        let sums: Vec<String> = sums.iter().map(i64::to_string).collect();
        writeln!(out, "{},{}", time::format_day(*day), sums.join(","))?;
    }
    out.flush()?;
    Ok(by_day.len())
}

/// Every member with customer contact: the owners whose groups count.
pub async fn every_owner(client: &Client) -> Result<Vec<String>, BoxError> {
    Ok(client.get_follow_user_list(&GetFollowUserListRequest::new()).await?.follow_user.unwrap_or_default())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    exit_code(
        async {
            let args: Vec<String> = std::env::args().skip(1).collect();
            let days = match args.first() {
                Some(days) => days.parse::<i64>().ok().filter(|d| (1..=180).contains(d)).ok_or("DAYS: 1 to 180")?,
                None => 30,
            };
            let target = Target::connect().await?;
            let owners = match args.get(1) {
                Some(owners) => owners.split(',').filter(|o| !o.is_empty()).map(str::to_string).collect(),
                None => every_owner(&target.client).await?,
            };
            eprintln!("{days} days of {} owners", owners.len());
            let rows = run(&target.client, days, owners, &mut std::io::stdout().lock()).await?;
            eprintln!("{rows} days written");
            target.shutdown().await;
            Ok(())
        }
        .await,
    )
}
