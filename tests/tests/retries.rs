//! Retries by class (reads retry transient failures, writes do not), bounded attempts, and typed errors
//! for the answers a real network produces: HTML error pages, truncated and oversized bodies, timeouts.

use std::time::Duration;

use serde_json::json;
use wecom_groupchat::retry::RetryPolicy;
use wecom_groupchat::types::{GetRequest, ListRequest, TransferRequest};
use wecom_groupchat::{Client, Error, Outcome, TransportKind};
use wecom_groupchat_tests::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LIST: &str = "/cgi-bin/externalcontact/groupchat/list";
const GET: &str = "/cgi-bin/externalcontact/groupchat/get";
const TRANSFER: &str = "/cgi-bin/externalcontact/groupchat/transfer";

async fn server_with_token() -> MockServer {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T"])).await;
    server
}

/// `first` for the first `n` calls to `p`, then `then`.
async fn answer(server: &MockServer, p: &str, n: u64, first: ResponseTemplate, then: ResponseTemplate) {
    Mock::given(method("POST")).and(path(p)).respond_with(first).up_to_n_times(n).with_priority(1).mount(server).await;
    Mock::given(method("POST")).and(path(p)).respond_with(then).with_priority(2).mount(server).await;
}

fn json_body(v: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(v)
}

fn transfer() -> TransferRequest {
    TransferRequest::new(["c1", "c2"], "zhangsan")
}

#[tokio::test]
async fn a_busy_read_is_retried_with_backoff() {
    for code in [-1, 45033] {
        let server = server_with_token().await;
        answer(&server, LIST, 2, json_body(err(code, "busy")), json_body(ok(json!({"group_chat_list": []})))).await;
        client(&server).list(&ListRequest::new(10)).await.unwrap();
        assert_eq!(hits(&server, LIST).await, 3, "errcode {code}: two failures, then success");
    }
}

#[tokio::test]
async fn a_busy_write_is_not_retried() {
    let server = server_with_token().await;
    answer(&server, TRANSFER, 1, json_body(err(-1, "system busy")), json_body(ok(json!({})))).await;
    let error = client(&server).transfer(&transfer()).await.unwrap_err();
    assert_eq!(error.code(), Some(-1));
    assert!(!error.outcome_unknown(), "WeCom answered: the transfer was not done");
    assert_eq!(hits(&server, TRANSFER).await, 1);
}

#[tokio::test]
async fn retries_are_bounded_and_can_be_turned_off() {
    let server = server_with_token().await;
    Mock::given(path(LIST)).respond_with(json_body(err(-1, "system busy"))).mount(&server).await;
    let error = client(&server).list(&ListRequest::new(10)).await.unwrap_err();
    assert!(error.to_string().contains("after 4 attempts"), "{error}");
    assert_eq!(hits(&server, LIST).await, 4, "the call and 3 retries");

    let off = builder(&server).retry(RetryPolicy::none()).build().unwrap();
    off.list(&ListRequest::new(10)).await.unwrap_err();
    assert_eq!(hits(&server, LIST).await, 5);
}

#[tokio::test]
async fn answers_that_are_not_retried() {
    let server = server_with_token().await;
    Mock::given(path(LIST)).respond_with(json_body(err(45009, "api freq out of limit"))).mount(&server).await;
    Mock::given(path(GET)).respond_with(json_body(err(40050, "chatid not exist"))).mount(&server).await;
    let client = client(&server);
    let limited = client.list(&ListRequest::new(10)).await.unwrap_err();
    assert!(matches!(&limited, Error::RateLimited(e) if e.endpoint == "list"), "{limited:?}");
    let missing = client.get(&GetRequest::new("nope")).await.unwrap_err();
    assert_eq!(missing.code(), Some(40050));
    assert!(missing.to_string().contains("chatid不存在"), "{missing}");
    assert_eq!((hits(&server, LIST).await, hits(&server, GET).await), (1, 1));
}

#[tokio::test]
async fn an_html_502_is_a_typed_error_retried_only_for_reads() {
    let server = server_with_token().await;
    let page =
        ResponseTemplate::new(502).set_body_raw("<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html");
    Mock::given(path(LIST)).respond_with(page.clone()).mount(&server).await;
    Mock::given(path(TRANSFER)).respond_with(page).mount(&server).await;
    let client = client(&server);

    let error = client.list(&ListRequest::new(10)).await.unwrap_err();
    match &error {
        Error::HttpStatus(e) => {
            assert_eq!(e.status, 502);
            assert_eq!(e.content_type.as_deref(), Some("text/html"));
            assert!(e.snippet.starts_with("<html>"));
        }
        other => panic!("{other:?}"),
    }
    assert!(error.is_retryable() && !error.outcome_unknown());
    assert_eq!(hits(&server, LIST).await, 4);

    let error = client.transfer(&transfer()).await.unwrap_err();
    assert!(error.outcome_unknown(), "a gateway error on a write: the transfer may have happened");
    assert!(!error.is_retryable(), "a write that may have happened is not for blind replay");
    assert_eq!(hits(&server, TRANSFER).await, 1);
}

#[tokio::test]
async fn a_read_cut_short_is_retried_like_a_dropped_connection() {
    let server = server_with_token().await;
    let cut = r#"{"errcode":0,"errmsg":"ok","group_chat":{"chat_id":"c1","na"#;
    Mock::given(path(GET))
        .respond_with(ResponseTemplate::new(200).set_body_raw(cut, "application/json"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(path(GET))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"errcode": 0, "group_chat": {"chat_id": "c1"}})))
        .mount(&server)
        .await;
    let chat = client(&server).get(&GetRequest::new("c1")).await.unwrap();
    assert_eq!(chat.group_chat.chat_id, "c1");
    assert_eq!(hits(&server, GET).await, 3, "two truncated answers, then the whole one");

    // Always cut short: the retry budget, then a decode error that says so.
    let server = server_with_token().await;
    Mock::given(path(GET))
        .respond_with(ResponseTemplate::new(200).set_body_raw(cut, "application/json"))
        .mount(&server)
        .await;
    match client(&server).get(&GetRequest::new("c1")).await.unwrap_err() {
        Error::Decode(e) => assert!(e.truncated && e.to_string().contains("truncated"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(hits(&server, GET).await, 4, "the call and its 3 retries");

    // A write cut short is not replayed: the transfer may have happened.
    let server = server_with_token().await;
    Mock::given(path(TRANSFER))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"errcode":0,"errmsg":"o"#, "application/json"))
        .mount(&server)
        .await;
    let error = client(&server).transfer(&transfer()).await.unwrap_err();
    assert!(error.outcome_unknown() && !error.is_retryable(), "{error:?}");
    assert_eq!(hits(&server, TRANSFER).await, 1);
}

#[tokio::test]
async fn html_and_empty_bodies_are_decode_errors() {
    let cases = [
        ResponseTemplate::new(200).set_body_raw("<html>maintenance</html>", "text/html"),
        ResponseTemplate::new(200),
        ResponseTemplate::new(200).set_body_raw(r#"{"errcode":0,"errmsg":"ok"}"#, "application/json"),
    ];
    for (i, answer) in cases.into_iter().enumerate() {
        let server = server_with_token().await;
        Mock::given(path(GET)).respond_with(answer).mount(&server).await;
        let error = client(&server).get(&GetRequest::new("c1")).await.unwrap_err();
        match &error {
            Error::Decode(e) => assert_eq!(e.status, 200, "case {i}"),
            other => panic!("case {i}: {other:?}"),
        }
        assert_eq!(hits(&server, GET).await, 1, "case {i}: an unreadable answer is not retried");
    }
}

#[tokio::test]
async fn an_oversized_body_is_refused_without_reading_it_all() {
    let server = server_with_token().await;
    let huge =
        format!(r#"{{"errcode":0,"errmsg":"ok","group_chat":{{"chat_id":"c1","notice":"{}"}}}}"#, "x".repeat(2 << 20));
    Mock::given(path(GET))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge, "application/json"))
        .mount(&server)
        .await;
    let client = builder(&server).max_response_bytes(64 * 1024).build().unwrap();
    let error = client.get(&GetRequest::new("c1")).await.unwrap_err();
    match &error {
        Error::Decode(e) => assert!(e.reason.contains("65536-byte cap"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn timeouts_retry_reads_and_leave_writes_unknown() {
    let server = server_with_token().await;
    let slow = ResponseTemplate::new(200).set_body_json(ok(json!({}))).set_delay(Duration::from_secs(3));
    Mock::given(path(LIST)).respond_with(slow.clone()).mount(&server).await;
    Mock::given(path(TRANSFER)).respond_with(slow).mount(&server).await;
    let client =
        builder(&server).timeout(Duration::from_millis(200)).retry(fast_retries().with_max_retries(1)).build().unwrap();

    let error = client.list(&ListRequest::new(10)).await.unwrap_err();
    assert!(matches!(&error, Error::Transport(e) if e.kind == TransportKind::Timeout), "{error:?}");
    assert_eq!(hits(&server, LIST).await, 2);

    let error = client.transfer(&transfer()).await.unwrap_err();
    match &error {
        Error::Transport(e) => assert_eq!((e.kind, e.outcome), (TransportKind::Timeout, Outcome::Unknown)),
        other => panic!("{other:?}"),
    }
    assert!(error.outcome_unknown());
    assert!(!error.is_retryable(), "a timed-out transfer is not for blind replay");
    assert!(error.to_string().contains("outcome unknown"), "{error}");
    assert_eq!(hits(&server, TRANSFER).await, 1);
}

#[tokio::test]
async fn a_write_that_never_reached_the_server_is_retried() {
    // A port that was just free: connecting is refused, so the request provably never left.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .access_token("T")
        .retry(fast_retries())
        .build()
        .unwrap();
    let error = client.transfer(&transfer()).await.unwrap_err();
    match &error {
        Error::Transport(e) => {
            assert_eq!((e.kind, e.outcome, e.attempts), (TransportKind::Connect, Outcome::NotSent, 4));
        }
        other => panic!("{other:?}"),
    }
    assert!(!error.outcome_unknown());
}
