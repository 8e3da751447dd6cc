//! `stats by-owner|by-day`: any range of days (split into ≤ 30-day windows) and any number of owners
//! (split into batches of ≤ 100).

use std::collections::BTreeMap;

use futures::StreamExt;
use serde_json::json;
use wecom_groupchat::types::{OwnerFilter, StatisticData, StatisticGroupByDayRequest, StatisticRequest};
use wecom_groupchat::windows::{self, Window, Windowed};
use wecom_groupchat::{ValidationError, time};

use crate::args::{Global, StatsArgs, StatsCommand};
use crate::commands;
use crate::failure::{Failure, Outcome};
use crate::output::{self, Rows};

/// The figures' column names: the spec's field order, which `figures` follows.
const FIGURES: &[&str] = StatisticData::FIELDS;

/// The figures of `d` in [`FIGURES`] order, read through its JSON form so a figure added to the spec is a
/// column with no change here.
fn figures(d: &StatisticData) -> Vec<Option<i64>> {
    let value = serde_json::to_value(d).unwrap_or_default();
    FIGURES.iter().map(|name| value.get(name).and_then(serde_json::Value::as_i64)).collect()
}

fn day(text: &str, flag: &str) -> Result<i64, Failure> {
    time::parse_day(text).ok_or_else(|| Failure::Usage(format!("{flag}: `{text}` is not a date (YYYY-MM-DD, UTC+8)")))
}

/// The flag that sets a field of a statistics request, for messages in the user's terms.
fn flag_of<R: Windowed>(field: &str) -> Option<&'static str> {
    match field {
        f if f == R::BEGIN_FIELD => Some("--from"),
        f if f == R::END_FIELD => Some("--to"),
        f if f == R::OWNERS_FIELD => Some("--owner"),
        _ => None,
    }
}

/// Checks every call the request becomes before the first is sent: a bad owner in the second batch
/// must not be found after the first batch was answered. The days are checked once, by the library's
/// plan; its field names get the flags that set them (`day_begin_time (--from): …`).
fn check_calls<R: Windowed>(request: &R, now: i64) -> Outcome {
    let invalid = |e: ValidationError| {
        let field = match flag_of::<R>(&e.field.to_string()) {
            Some(flag) => format!("{} ({flag})", e.field),
            None => e.field.to_string(),
        };
        Failure::Usage(format!("{}: invalid request: {field}: {}, {}", R::INFO.name, e.actual, e.limit))
    };
    for (_, call) in windows::plan(request.clone(), now).map_err(invalid)? {
        call.validate_at(now).map_err(invalid)?;
    }
    Ok(())
}

/// The days of the range done so far, on stderr when it is a terminal: a window's days count once an item
/// of a later window arrives (the calls go window by window).
struct Progress {
    bar: indicatif::ProgressBar,
    first: i64,
}

impl Progress {
    fn new(begin: i64, end: i64) -> Progress {
        let first = time::day_start(begin);
        let days = (time::day_start(end) - first) / time::DAY + 1;
        // Cleared on an error too, before its message.
        let bar = commands::progress(days.max(1) as u64, "days").with_finish(indicatif::ProgressFinish::AndClear);
        Progress { bar, first }
    }

    /// An item of `window` arrived: the days before it are done.
    fn at(&self, window: Window) {
        let done = ((window.begin - self.first) / time::DAY).max(0) as u64;
        if done > self.bar.position() {
            self.bar.set_position(done);
        }
    }

    fn done(&self) {
        self.bar.finish_and_clear();
    }
}

pub async fn run(global: &Global, command: StatsCommand) -> Outcome {
    let format = output::resolve(global.output);
    let (by_owner, args) = match command {
        StatsCommand::ByOwner(a) => (true, a),
        StatsCommand::ByDay(a) => (false, a),
    };
    let StatsArgs { from, to, owners } = args;
    let (begin, end) = (day(&from, "--from")?, day(&to, "--to")?);
    let owners = OwnerFilter::new(commands::owners(owners)?);
    let now = time::now_unix();

    if by_owner {
        let mut header = vec!["from", "to", "owner"];
        header.extend(FIGURES);
        let mut rows = Rows::new(&header);
        let request =
            StatisticRequest::new(begin).owner_filter(owners).day_end_time(end).limit(StatisticRequest::LIMIT_MAX);
        check_calls(&request, now)?;
        let client = commands::client(global)?;
        let mut items = std::pin::pin!(client.statistic_range(request));
        let progress = Progress::new(begin, end);
        while let Some(item) = items.next().await {
            let item = item?;
            progress.at(item.window);
            let mut row = vec![
                json!(time::format_day(item.window.begin)),
                json!(time::format_day(item.window.end)),
                json!(item.item.owner),
            ];
            let data = item.item.data.unwrap_or_default();
            row.extend(figures(&data).iter().map(|v| json!(v)));
            rows.push(row);
        }
        progress.done();
        return rows.print(format);
    }

    // By day: one row per day, summed over the owner batches the range was split into.
    let mut days: BTreeMap<i64, Vec<Option<i64>>> = BTreeMap::new();
    let request = StatisticGroupByDayRequest::new(begin).owner_filter(owners).day_end_time(end);
    check_calls(&request, now)?;
    let client = commands::client(global)?;
    let mut items = std::pin::pin!(client.statistic_group_by_day_range(request));
    let progress = Progress::new(begin, end);
    while let Some(item) = items.next().await {
        let item = item?;
        progress.at(item.window);
        let item = item.item;
        let Some(day) = item.stat_time else {
            progress.bar.suspend(|| {
                eprintln!("warning: the server sent a by-day item without `stat_time`; it is left out");
            });
            continue;
        };
        let sums = days.entry(day).or_insert_with(|| vec![None; FIGURES.len()]);
        for (sum, value) in sums.iter_mut().zip(figures(&item.data.unwrap_or_default())) {
            if let Some(v) = value {
                // The figures are the server's: an absurd one must not overflow the sum.
                *sum = Some(sum.unwrap_or(0).saturating_add(v));
            }
        }
    }
    progress.done();
    let mut header = vec!["day"];
    header.extend(FIGURES);
    let mut rows = Rows::new(&header);
    for (stat_time, sums) in days {
        let mut row = vec![json!(time::format_day(stat_time))];
        row.extend(sums.iter().map(|v| json!(v)));
        rows.push(row);
    }
    rows.print(format)
}
