//! Statistics over any range: windows of at most 30 days with boundaries at 00:00 UTC+8, owners in
//! batches of at most 100, and ranges outside the last 180 days refused before any call.

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use wecom_groupchat::time::{self, DAY};
use wecom_groupchat::types::{OwnerFilter, StatisticGroupByDayRequest, StatisticRequest};
use wecom_groupchat::windows::{Window, plan};
use wecom_groupchat_tests::*;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const BY_DAY: &str = "/cgi-bin/externalcontact/groupchat/statistic_group_by_day";
const BY_OWNER: &str = "/cgi-bin/externalcontact/groupchat/statistic";

fn owners(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("owner-{i:03}")).collect()
}

#[test]
fn ranges_split_at_utc8_midnight_into_windows_and_owner_batches() {
    // 2026-11-25 00:30 UTC+8 is still 2026-11-24 in UTC: the day is the 25th.
    let now = time::parse_day("2026-11-25").unwrap() + 30 * 60;
    assert_eq!(time::format_day(now), "2026-11-25");
    assert_eq!(time::day_start(now), time::parse_day("2026-11-25").unwrap());

    // From 95 days ago at 23:30 UTC+8 to yesterday at 00:10: both floored to their day's 00:00 UTC+8.
    let begin = time::day_before(now, 95) + 23 * 3600 + 1800;
    let end = time::day_before(now, 1) + 600;
    let request = StatisticGroupByDayRequest::new(begin).owner_filter(OwnerFilter::new(owners(250))).day_end_time(end);
    let calls = plan(request, now).unwrap();
    assert_eq!(calls.len(), 4 * 3, "4 windows × 3 owner batches");

    let windows: Vec<Window> = calls.iter().step_by(3).map(|(w, _)| *w).collect();
    assert_eq!(windows.iter().map(Window::days).collect::<Vec<_>>(), [30, 30, 30, 5]);
    assert_eq!(time::format_day(windows[0].begin), time::format_day(time::day_before(now, 95)));
    assert_eq!(windows[3].end, time::day_before(now, 1));
    for pair in windows.windows(2) {
        assert_eq!(pair[1].begin, pair[0].end + DAY, "windows touch without gap or overlap");
    }
    for (window, call) in &calls {
        assert_eq!((call.day_begin_time, call.day_end_time), (window.begin, Some(window.end)));
        assert_eq!(time::day_start(call.day_begin_time), call.day_begin_time, "sent at 00:00 UTC+8");
        call_validates(call, now);
    }
    let batch_sizes: Vec<usize> =
        calls[..3].iter().map(|(_, c)| c.owner_filter.as_ref().unwrap().userid_list.len()).collect();
    assert_eq!(batch_sizes, [100, 100, 50]);
}

fn call_validates(call: &StatisticGroupByDayRequest, now: i64) {
    use wecom_groupchat::validate::Validate;
    call.validate_at(now).unwrap();
}

#[test]
fn ranges_outside_the_kept_days_are_refused() {
    let now = time::parse_day("2026-11-25").unwrap() + 12 * 3600;
    let req = |b: i64, e: i64| StatisticRequest::new(b).owner_filter(OwnerFilter::new(["a"])).day_end_time(e);
    let message = |r: StatisticRequest| plan(r, now).unwrap_err().to_string();
    assert_eq!(
        message(req(time::day_before(now, 10), now)),
        "day_end_time: 2026-11-25 (today, UTC+8), must be yesterday or earlier"
    );
    assert!(
        message(req(time::day_before(now, 181), time::day_before(now, 1)))
            .starts_with("day_begin_time: 2026-05-28 (181 days ago")
    );
    assert!(
        message(req(time::day_before(now, 2), time::day_before(now, 3))).contains("must not be before day_begin_time")
    );
    let no_owners =
        StatisticRequest::new(time::day_before(now, 2)).owner_filter(OwnerFilter::new(Vec::<String>::new()));
    assert_eq!(plan(no_owners, now).unwrap_err().to_string(), "owner_filter.userid_list: 0 items, at least 1");
    assert_eq!(plan(req(time::day_before(now, 180), time::day_before(now, 1)), now).unwrap().len(), 6);
}

/// One item per day of the requested window, summed over the owners (their count).
struct Days;

impl Respond for Days {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let (b, e) = (body["day_begin_time"].as_i64().unwrap(), body["day_end_time"].as_i64().unwrap());
        let owners = body["owner_filter"]["userid_list"].as_array().unwrap().len();
        let items: Vec<Value> =
            (0..=(e - b) / DAY).map(|d| json!({"stat_time": b + d * DAY, "data": {"new_chat_cnt": owners}})).collect();
        ResponseTemplate::new(200).set_body_json(ok(json!({"items": items})))
    }
}

#[tokio::test]
async fn by_day_statistics_over_a_long_range_come_back_whole() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T"])).await;
    Mock::given(path(BY_DAY)).respond_with(Days).mount(&server).await;
    let now = time::now_unix();
    let request = StatisticGroupByDayRequest::new(time::day_before(now, 100))
        .owner_filter(OwnerFilter::new(owners(150)))
        .day_end_time(time::day_before(now, 1));
    let items: Vec<_> = client(&server).statistic_group_by_day_range(request).try_collect().await.unwrap();
    assert_eq!(items.len(), 100 * 2, "100 days for each of the 2 owner batches");
    assert_eq!(hits(&server, BY_DAY).await, 4 * 2);
    let mut per_day = std::collections::BTreeMap::new();
    for w in &items {
        *per_day.entry(w.item.stat_time).or_insert(0) += 1;
    }
    assert_eq!(per_day.len(), 100, "every day of the range");
    assert!(per_day.values().all(|n| *n == 2), "each day once per owner batch");
    assert_eq!(*per_day.keys().next().unwrap(), Some(time::day_before(now, 100)));
    assert!(items.iter().all(|w| w.item.stat_time.is_some_and(|day| w.window.begin <= day && day <= w.window.end)));
}

/// By-owner statistics paged 2 at a time: each window is paged to its end.
struct PagedOwners;

impl Respond for PagedOwners {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let owners: Vec<Value> = body["owner_filter"]["userid_list"].as_array().unwrap().clone();
        let offset = body.get("offset").and_then(Value::as_i64).unwrap_or(0) as usize;
        let page: Vec<Value> = owners.iter().skip(offset).take(2).map(|o| json!({"owner": o, "data": {}})).collect();
        let next = (offset + page.len()) as i64;
        ResponseTemplate::new(200).set_body_json(ok(json!({"total": owners.len(), "next_offset": next, "items": page})))
    }
}

#[tokio::test]
async fn by_owner_statistics_page_through_every_window() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T"])).await;
    Mock::given(path(BY_OWNER)).respond_with(PagedOwners).mount(&server).await;
    let now = time::now_unix();
    let request = StatisticRequest::new(time::day_before(now, 45))
        .owner_filter(OwnerFilter::new(owners(5)))
        .day_end_time(time::day_before(now, 1))
        .limit(2);
    let items: Vec<_> = client(&server).statistic_range(request).try_collect().await.unwrap();
    assert_eq!(items.len(), 2 * 5, "2 windows × 5 owners");
    assert_eq!(hits(&server, BY_OWNER).await, 2 * 3, "3 pages of 2 per window");
    assert_eq!(items[0].window.days(), 30);
    assert_eq!(items[9].window.days(), 15);
}

#[tokio::test]
async fn an_out_of_range_request_fails_before_any_call() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T"])).await;
    let today = time::day_start(time::now_unix());
    let request =
        StatisticRequest::new(time::day_before(today, 5)).owner_filter(OwnerFilter::new(["a"])).day_end_time(today);
    let results: Vec<_> = client(&server).statistic_range(request).collect().await;
    assert_eq!(results.len(), 1);
    assert!(
        matches!(&results[0], Err(wecom_groupchat::Error::Validation { endpoint: "statistic", .. })),
        "{results:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}
