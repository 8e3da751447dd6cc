//! Paging streams: cursor paging until the cursor is empty, absent or null; offset paging until the
//! total; and a buggy server that repeats itself ends the stream instead of looping it.

use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use wecom_groupchat::Error;
use wecom_groupchat::time;
use wecom_groupchat::types::{ListRequest, OwnerFilter, StatisticRequest};
use wecom_groupchat_tests::*;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const LIST: &str = "/cgi-bin/externalcontact/groupchat/list";
const STATISTIC: &str = "/cgi-bin/externalcontact/groupchat/statistic";

/// How the last page says "no more".
#[derive(Clone, Copy, Debug)]
enum End {
    Empty,
    Null,
    Absent,
}

/// A list of `total` chats served `limit` at a time; the cursor is the next index, as text.
struct Chats {
    total: usize,
    end: End,
    /// Serve this cursor again and again instead of advancing (a buggy server).
    stuck_at: Option<usize>,
}

impl Respond for Chats {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let start: usize = body.get("cursor").and_then(Value::as_str).map(|c| c.parse().unwrap()).unwrap_or(0);
        let limit = body["limit"].as_u64().unwrap() as usize;
        let end = (start + limit).min(self.total);
        let items: Vec<Value> =
            (start..end).map(|i| json!({"chat_id": format!("chat-{i:05}"), "status": i % 4})).collect();
        let mut page = ok(json!({"group_chat_list": items}));
        let next = match self.stuck_at {
            Some(at) if start >= at => Some(at.to_string()),
            _ if end < self.total => Some(end.to_string()),
            _ => None,
        };
        match (next, self.end) {
            (Some(n), _) => page["next_cursor"] = json!(n),
            (None, End::Empty) => page["next_cursor"] = json!(""),
            (None, End::Null) => page["next_cursor"] = Value::Null,
            (None, End::Absent) => {}
        }
        ResponseTemplate::new(200).set_body_json(page)
    }
}

async fn list_server(chats: Chats) -> MockServer {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T"])).await;
    Mock::given(path(LIST)).respond_with(chats).mount(&server).await;
    server
}

#[tokio::test]
async fn the_cursor_stream_yields_every_chat_whatever_ends_the_listing() {
    for end in [End::Empty, End::Null, End::Absent] {
        let server = list_server(Chats { total: 2500, end, stuck_at: None }).await;
        let request =
            ListRequest::new(1000).owner_filter(OwnerFilter::new(["abel"])).cursor("stale cursor from earlier");
        let chats: Vec<_> = client(&server).list_stream(request).try_collect().await.unwrap();
        assert_eq!(chats.len(), 2500, "{end:?}");
        assert_eq!(chats.first().unwrap().chat_id, "chat-00000");
        assert_eq!(chats.last().unwrap().chat_id, "chat-02499");
        let cursors: Vec<Option<String>> = requests_to(&server, LIST)
            .await
            .iter()
            .map(|r| {
                serde_json::from_slice::<Value>(&r.body)
                    .unwrap()
                    .get("cursor")
                    .and_then(Value::as_str)
                    .map(String::from)
            })
            .collect();
        assert_eq!(
            cursors,
            [None, Some("1000".into()), Some("2000".into())],
            "{end:?}: the stream starts at the first page"
        );
    }
}

#[tokio::test]
async fn a_repeated_cursor_ends_the_stream_with_an_error() {
    let server = list_server(Chats { total: 10_000, end: End::Empty, stuck_at: Some(200) }).await;
    let items: Vec<Result<_, Error>> = client(&server).list_stream(ListRequest::new(100)).collect().await;
    let (ok, errors): (Vec<_>, Vec<_>) = items.into_iter().partition(Result::is_ok);
    assert_eq!(ok.len(), 300, "pages at 0, 100 and 200 (the first answer with the stuck cursor)");
    assert_eq!(errors.len(), 1);
    assert!(matches!(errors[0], Err(Error::Protocol { endpoint: "list", .. })), "{errors:?}");
    assert_eq!(hits(&server, LIST).await, 3);
}

#[tokio::test]
async fn an_error_mid_stream_ends_it() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T"])).await;
    let first = ok(json!({"group_chat_list": [{"chat_id": "a"}], "next_cursor": "p2"}));
    Mock::given(path(LIST))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path(LIST))
        .respond_with(ResponseTemplate::new(200).set_body_json(err(81017, "too many")))
        .with_priority(2)
        .mount(&server)
        .await;
    let items: Vec<_> = client(&server).list_stream(ListRequest::new(1)).collect().await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().chat_id, "a");
    assert_eq!(items[1].as_ref().unwrap_err().code(), Some(81017));
}

/// By-owner statistics: `total` owners served from the request's offset; `stall` repeats the offset.
struct Owners {
    total: i64,
    stall: bool,
    /// Claim more owners than there are, and serve an empty page past the end.
    overclaim: bool,
}

impl Respond for Owners {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let offset = body.get("offset").and_then(Value::as_i64).unwrap_or(0);
        let limit = body.get("limit").and_then(Value::as_i64).unwrap_or(500);
        let end = (offset + limit).min(self.total);
        let items: Vec<Value> =
            (offset..end).map(|i| json!({"owner": format!("owner-{i:04}"), "data": {"chat_total": i}})).collect();
        let next = if self.stall { offset } else { end };
        let total = if self.overclaim { self.total + 1000 } else { self.total };
        ResponseTemplate::new(200).set_body_json(ok(json!({"total": total, "next_offset": next, "items": items})))
    }
}

fn statistic_request() -> StatisticRequest {
    let yesterday = time::day_before(time::now_unix(), 1);
    StatisticRequest::new(yesterday).owner_filter(OwnerFilter::new(["zhangsan"]))
}

async fn statistic_server(owners: Owners) -> MockServer {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T"])).await;
    Mock::given(path(STATISTIC)).respond_with(owners).mount(&server).await;
    server
}

#[tokio::test]
async fn the_offset_stream_follows_next_offset_to_the_total() {
    let server = statistic_server(Owners { total: 2345, stall: false, overclaim: false }).await;
    let items: Vec<_> = client(&server).statistic_stream(statistic_request().limit(1000)).try_collect().await.unwrap();
    assert_eq!(items.len(), 2345);
    assert_eq!(items[2344].owner.as_deref(), Some("owner-2344"));
    let offsets: Vec<Option<i64>> = requests_to(&server, STATISTIC)
        .await
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap().get("offset").and_then(Value::as_i64))
        .collect();
    assert_eq!(offsets, [None, Some(1000), Some(2000)]);
}

#[tokio::test]
async fn an_offset_that_does_not_advance_ends_the_stream_with_an_error() {
    let server = statistic_server(Owners { total: 5000, stall: true, overclaim: false }).await;
    let items: Vec<_> = client(&server).statistic_stream(statistic_request().offset(0).limit(100)).collect().await;
    assert_eq!(items.iter().filter(|r| r.is_ok()).count(), 100);
    assert!(matches!(items.last(), Some(Err(Error::Protocol { endpoint: "statistic", .. }))));
    assert_eq!(hits(&server, STATISTIC).await, 1);
}

#[tokio::test]
async fn an_empty_page_ends_the_stream_even_if_total_says_more() {
    let server = statistic_server(Owners { total: 250, stall: false, overclaim: true }).await;
    let items: Vec<_> = client(&server).statistic_stream(statistic_request().limit(100)).try_collect().await.unwrap();
    assert_eq!(items.len(), 250);
    assert_eq!(hits(&server, STATISTIC).await, 4, "pages at 0, 100, 200, then an empty one at 250");
}
