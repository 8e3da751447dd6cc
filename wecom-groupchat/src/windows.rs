//! Statistics over any range of days and any number of owners, generic over the spec's `windows`
//! annotation: the range is split into windows of at most `MAX_DAYS` (days start at the spec's day
//! boundary) and the owners into batches of at most `OWNER_BATCH`; every item comes back with its window.
//! The allowed days are checked by the same functions the generated validation calls, with the
//! spec's limits and errcode.

use futures::{Stream, StreamExt, TryStreamExt, stream};

use crate::client::Client;
use crate::endpoint::Endpoint;
use crate::error::Error;
use crate::paging::{self, OffsetPaged};
use crate::time::{self, DAY};
use crate::validate::{FieldPath, Rule, ValidationError, check};

/// An endpoint over a closed range of days and a list of owners. Implemented by generated code.
pub trait Windowed: Endpoint {
    /// One item of a response.
    type Item: Send + 'static;
    /// JSON name of the first-day field.
    const BEGIN_FIELD: &'static str;
    /// JSON name of the last-day field.
    const END_FIELD: &'static str;
    /// JSON path of the owners array.
    const OWNERS_FIELD: &'static str;
    /// Longest range of one call, both ends included.
    const MAX_DAYS: i64;
    /// Most recent allowed day, in days before today.
    const NEWEST_DAYS_AGO: i64;
    /// Oldest allowed day, in days before today.
    const OLDEST_DAYS_AGO: i64;
    /// The errcode WeCom answers for a day it does not accept or a range too long.
    const DAYS_ERRCODE: Option<i64>;
    /// Most owners in one call.
    const OWNER_BATCH: usize;
    /// First and last day (the last may be unset: one day).
    fn days(&self) -> (i64, Option<i64>);
    /// Sets first and last day.
    fn set_days(&mut self, begin: i64, end: i64);
    /// Takes the owners out of the request; `None` when it has no owner filter (every owner in the
    /// app's view).
    fn take_owners(&mut self) -> Option<Vec<String>>;
    /// Puts owners into the request (`None`: no owner filter).
    fn set_owners(&mut self, owners: Option<Vec<String>>);
    /// The items of a response.
    fn into_items(response: Self::Response) -> Vec<Self::Item>;
}

/// A closed range of days, each given as its 00:00 UTC+8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    /// First day.
    pub begin: i64,
    /// Last day (included).
    pub end: i64,
}

impl Window {
    /// Days in the window, both ends included.
    pub fn days(&self) -> i64 {
        (self.end - self.begin) / DAY + 1
    }
}

/// An item and the window it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowItem<T> {
    /// The window of the call that returned the item.
    pub window: Window,
    /// The item.
    pub item: T,
}

/// Splits `[begin, end]` (floored to day starts) into consecutive windows of at most `max_days` days.
pub fn split_days(begin: i64, end: i64, max_days: i64) -> Vec<Window> {
    let (mut day, last) = (time::day_start(begin), time::day_start(end));
    let step = max_days.max(1) * DAY;
    let mut out = Vec::new();
    while day <= last {
        let window_end = (day + step - DAY).min(last);
        out.push(Window { begin: day, end: window_end });
        day = window_end + DAY;
    }
    out
}

/// The calls a ranged request becomes, in order (window by window, owner batch by owner batch), checked
/// against the allowed days as of `now`. A request without an owner filter is one call per window (every
/// owner in the app's view).
///
/// # Errors
/// When a day is outside the allowed ones, the range is reversed, or the owner filter lists no owners.
pub fn plan<R: Windowed>(mut request: R, now: i64) -> Result<Vec<(Window, R)>, ValidationError> {
    let (begin, end) = request.days();
    let end = end.unwrap_or(begin);
    let root = FieldPath::Root;
    let (newest, oldest) = (R::NEWEST_DAYS_AGO, R::OLDEST_DAYS_AGO);
    check::days_ago(&root.field(R::BEGIN_FIELD), begin, now, newest, oldest, R::DAYS_ERRCODE)?;
    check::days_ago(&root.field(R::END_FIELD), end, now, newest, oldest, R::DAYS_ERRCODE)?;
    // Any length the allowed days hold: the range is split into windows of `MAX_DAYS` below.
    let allowed = oldest - newest + 1;
    check::day_span(&root, (R::BEGIN_FIELD, begin), (R::END_FIELD, Some(end)), allowed, R::DAYS_ERRCODE)?;
    let batches: Vec<Option<Vec<String>>> = match request.take_owners() {
        None => vec![None],
        Some(owners) if owners.is_empty() => {
            return Err(ValidationError::new(R::OWNERS_FIELD, Rule::MinItems, "0 items", "at least 1", None));
        }
        Some(owners) => owners.chunks(R::OWNER_BATCH.max(1)).map(|batch| Some(batch.to_vec())).collect(),
    };
    let mut calls = Vec::new();
    for window in split_days(begin, end, R::MAX_DAYS) {
        for batch in &batches {
            let mut call = request.clone();
            call.set_days(window.begin, window.end);
            call.set_owners(batch.clone());
            calls.push((window, call));
        }
    }
    Ok(calls)
}

fn planned<R: Windowed>(request: R) -> Result<Vec<(Window, R)>, Error> {
    plan(request, time::now_unix()).map_err(|error| Error::Validation { endpoint: R::INFO.name, error })
}

/// Every item of a windowed endpoint that answers in one call per window.
pub fn items<R: Windowed>(
    client: Client,
    request: R,
) -> impl Stream<Item = Result<WindowItem<R::Item>, Error>> + Send + 'static {
    let calls = planned(request);
    stream::once(async move { calls })
        .map_ok(move |calls| {
            let client = client.clone();
            stream::iter(calls).then(move |(window, call)| {
                let client = client.clone();
                async move {
                    let response = client.call(&call).await?;
                    Ok::<_, Error>(stream::iter(
                        R::into_items(response).into_iter().map(move |item| Ok(WindowItem { window, item })),
                    ))
                }
            })
        })
        .try_flatten()
        .try_flatten()
}

/// Every item of a windowed endpoint that is also offset-paged: each window is paged to its end. Called by
/// generated code (`Client::statistic_range`); not part of the API.
#[doc(hidden)]
pub fn offset_paged_items<R: Windowed + OffsetPaged>(
    client: Client,
    request: R,
) -> impl Stream<Item = Result<WindowItem<<R as OffsetPaged>::Item>, Error>> + Send + 'static {
    let calls = planned(request);
    stream::once(async move { calls })
        .map_ok(move |calls| {
            let client = client.clone();
            stream::iter(calls)
                .map(move |(window, call)| {
                    paging::offset_items(client.clone(), call).map_ok(move |item| WindowItem { window, item })
                })
                .flatten()
        })
        .try_flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_into_closed_windows() {
        let d = |s: &str| time::parse_day(s).unwrap();
        let w = split_days(d("2026-06-01"), d("2026-08-15"), 30);
        assert_eq!(
            w.iter().map(|w| (time::format_day(w.begin), time::format_day(w.end), w.days())).collect::<Vec<_>>(),
            vec![
                ("2026-06-01".to_string(), "2026-06-30".to_string(), 30),
                ("2026-07-01".to_string(), "2026-07-30".to_string(), 30),
                ("2026-07-31".to_string(), "2026-08-15".to_string(), 16),
            ]
        );
        // Non-midnight input is floored like the server does; a one-day range is one window.
        assert_eq!(
            split_days(d("2026-06-01") + 3600 * 23, d("2026-06-01") + 5, 30),
            vec![Window { begin: d("2026-06-01"), end: d("2026-06-01") }]
        );
    }
}
