//! A hostile server or network path: redirects, answers that prove nothing, absurd numbers, endless pages.
//! Each gets a clear, bounded outcome, and a write whose outcome is not proven is never reported done.

use std::time::Duration;

use serde_json::json;
use wecom_groupchat::bulk::ItemOutcome;
use wecom_groupchat::types::{GetRequest, ListRequest, OwnerFilter, StatisticRequest, TransferRequest};
use wecom_groupchat::{Error, TokenError, TransportKind};
use wecom_groupchat_tests::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GET: &str = "/cgi-bin/externalcontact/groupchat/get";
const LIST: &str = "/cgi-bin/externalcontact/groupchat/list";
const TRANSFER: &str = "/cgi-bin/externalcontact/groupchat/transfer";
const STATISTIC: &str = "/cgi-bin/externalcontact/groupchat/statistic";

async fn server_with_token() -> MockServer {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["TOKEN-HOSTILE-1"])).await;
    server
}

async fn answer(server: &MockServer, p: &str, template: ResponseTemplate) {
    Mock::given(method("POST")).and(path(p)).respond_with(template).mount(server).await;
}

fn json_answer(value: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(value)
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_names_only_the_host() {
    let elsewhere = MockServer::start().await;
    Mock::given(wiremock::matchers::any()).respond_with(json_answer(ok(json!({})))).mount(&elsewhere).await;
    // `http://127.0.0.1:PORT`: the host is what an error may name.
    let elsewhere_host = elsewhere.uri().trim_start_matches("http://").split(':').next().unwrap().to_string();
    let location = format!("{}/collect?from=gateway", elsewhere.uri());

    for status in [301, 302, 303, 307, 308] {
        let server = server_with_token().await;
        let redirect = ResponseTemplate::new(status).insert_header("Location", location.as_str());
        answer(&server, TRANSFER, redirect.clone()).await;
        answer(&server, GET, redirect).await;

        let error = client(&server).transfer(&TransferRequest::new(["c1"], "lisi")).await.unwrap_err();
        match &error {
            Error::Transport(e) => assert_eq!(e.kind, TransportKind::Redirect, "{status}: {e}"),
            other => panic!("{status}: {other:?}"),
        }
        let text = error.to_string();
        assert!(text.contains(&format!("HTTP {status}")), "{text}");
        assert!(text.contains(&format!("host {elsewhere_host}")), "{text}");
        assert!(!text.contains("collect") && !text.contains("from=gateway"), "only the host is named: {text}");
        assert!(error.outcome_unknown(), "a redirected write proves nothing");

        // A read is not retried into the same redirect.
        let error = client(&server).get(&GetRequest::new("c1")).await.unwrap_err();
        assert!(!error.is_retryable(), "{error:?}");
        assert_eq!(hits(&server, GET).await, 1);
    }
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "neither the token nor a transfer body reached the redirect's target"
    );
}

#[tokio::test]
async fn a_redirected_gettoken_keeps_the_secret_home() {
    let elsewhere = MockServer::start().await;
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(TOKEN_PATH))
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", format!("{}/steal", elsewhere.uri()).as_str()),
        )
        .mount(&server)
        .await;
    let error = client(&server).get(&GetRequest::new("c1")).await.unwrap_err();
    let text = format!("{error} {error:?}");
    assert!(matches!(&error, Error::Token(TokenError::Fetch(m)) if m.contains("302 redirect")), "{text}");
    assert!(!text.contains(SECRET) && !text.contains("steal"), "{text}");
    assert!(elsewhere.received_requests().await.unwrap().is_empty(), "the secret never left for the other host");
}

#[tokio::test]
async fn a_2xx_without_a_status_is_no_success() {
    for body in [json!({}), json!({"code": 429}), json!({"data": null})] {
        // A write: unknown, never succeeded.
        let server = server_with_token().await;
        answer(&server, TRANSFER, json_answer(body.clone())).await;
        let error = client(&server).transfer(&TransferRequest::new(["c1"], "lisi")).await.unwrap_err();
        assert!(matches!(&error, Error::Decode(_)) && error.outcome_unknown(), "{body}: {error:?}");
        assert!(error.to_string().contains("outcome is unknown"), "{error}");

        // In bulk, every chat of the batch is unknown, none succeeded.
        let ids: Vec<String> = (0..150).map(|i| format!("c{i}")).collect();
        let report = client(&server).transfer_batched(TransferRequest::new(ids, "lisi")).await.unwrap();
        assert_eq!(report.counts(), (0, 0, 150), "{body}");
        assert!(report.items.iter().all(|i| matches!(i.outcome, ItemOutcome::Unknown { .. })));

        // A read: a decode error.
        answer(&server, LIST, json_answer(body.clone())).await;
        let error = client(&server).list(&ListRequest::new(10)).await.unwrap_err();
        assert!(matches!(&error, Error::Decode(_)) && !error.outcome_unknown(), "{body}: {error:?}");
    }

    // What a real success may look like: `errmsg` alone, or `errcode` alone.
    for body in [json!({"errmsg": "ok"}), json!({"errcode": 0}), json!({"errcode": 0, "failed_chat_list": []})] {
        let server = server_with_token().await;
        answer(&server, TRANSFER, json_answer(body.clone())).await;
        client(&server).transfer(&TransferRequest::new(["c1"], "lisi")).await.unwrap();
    }
    // Or the fields every success carries, without any envelope.
    let server = server_with_token().await;
    answer(&server, GET, json_answer(json!({"group_chat": {"chat_id": "c1"}}))).await;
    assert_eq!(client(&server).get(&GetRequest::new("c1")).await.unwrap().group_chat.chat_id, "c1");
}

#[tokio::test]
async fn an_absurd_token_lifetime_is_refused_and_the_store_stays_usable() {
    for expires_in in [i64::MAX, i64::MIN, -1, 0, 10 * 365 * 24 * 3600] {
        let server = MockServer::start().await;
        mount_tokens(&server, TokenSequence::new(&["TOKEN-LIFETIME"]).expires_in(expires_in)).await;
        answer(&server, GET, json_answer(ok(json!({"group_chat": {"chat_id": "c1"}})))).await;
        let client = client(&server);
        for _ in 0..2 {
            let error = client.get(&GetRequest::new("c1")).await.unwrap_err();
            assert!(
                matches!(&error, Error::Token(TokenError::Fetch(m)) if m.contains("refused")),
                "{expires_in}: {error:?}"
            );
        }
        assert_eq!(hits(&server, GET).await, 0);
    }
    // Then a sane answer works with the same client: nothing was poisoned.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(TOKEN_PATH))
        .respond_with(json_answer(ok(json!({"access_token": "T-BAD", "expires_in": i64::MAX}))))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    mount_tokens(&server, TokenSequence::new(&["T-GOOD"])).await;
    answer(&server, GET, json_answer(ok(json!({"group_chat": {"chat_id": "c1"}})))).await;
    let client = client(&server);
    assert!(client.get(&GetRequest::new("c1")).await.is_err());
    assert_eq!(client.get(&GetRequest::new("c1")).await.unwrap().group_chat.chat_id, "c1");
}

#[tokio::test]
async fn answers_are_bounded_by_values_not_only_bytes() {
    // 1 MiB of empty members: small in bytes, hundreds of thousands of structs once decoded.
    let members = vec![json!({}); 350_000];
    let server = server_with_token().await;
    answer(&server, GET, json_answer(ok(json!({"group_chat": {"chat_id": "c1", "member_list": members}})))).await;
    let error = client(&server).get(&GetRequest::new("c1")).await.unwrap_err();
    assert!(matches!(&error, Error::Decode(e) if e.reason.contains("JSON values")), "{error}");
    assert_eq!(hits(&server, GET).await, 1, "not retried: it would be the same again");

    // A documented maximum is a bound too: a list page has at most 1,000 chats.
    let page: Vec<_> = (0..1001).map(|i| json!({"chat_id": format!("c{i}")})).collect();
    let server = server_with_token().await;
    answer(&server, LIST, json_answer(ok(json!({"group_chat_list": page})))).await;
    let error = client(&server).list(&ListRequest::new(1000)).await.unwrap_err();
    assert!(matches!(&error, Error::Decode(e) if e.reason.contains("maximum of 1000")), "{error}");

    // The cap is the client's to set.
    let server = server_with_token().await;
    let few: Vec<_> = (0..50).map(|i| json!({"userid": format!("u{i}")})).collect();
    answer(&server, GET, json_answer(ok(json!({"group_chat": {"chat_id": "c1", "member_list": few}})))).await;
    let small = builder(&server).max_response_values(40).build().unwrap();
    assert!(small.get(&GetRequest::new("c1")).await.is_err());
    assert!(client(&server).get(&GetRequest::new("c1")).await.is_ok());
}

#[tokio::test]
async fn endless_empty_pages_end_in_an_error() {
    use futures::StreamExt;
    let server = server_with_token().await;
    let n = std::sync::atomic::AtomicUsize::new(0);
    Mock::given(method("POST"))
        .and(path(LIST))
        .respond_with(move |_: &wiremock::Request| {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            json_answer(ok(json!({"group_chat_list": [], "next_cursor": format!("fresh-{i}")})))
        })
        .mount(&server)
        .await;
    let stream = client(&server).list_stream(ListRequest::new(10));
    let results: Vec<_> = tokio::time::timeout(Duration::from_secs(30), stream.collect::<Vec<_>>()).await.unwrap();
    let error = results.last().unwrap().as_ref().unwrap_err();
    assert!(matches!(error, Error::Protocol { message, .. } if message.contains("empty pages")), "{error}");
    assert_eq!(hits(&server, LIST).await, wecom_groupchat::paging::MAX_EMPTY_PAGES);
}

#[tokio::test]
async fn a_full_offset_page_without_next_offset_or_total_is_an_error() {
    use futures::TryStreamExt;
    let day = wecom_groupchat::time::day_before(wecom_groupchat::time::now_unix(), 1);
    let request = StatisticRequest::new(day).owner_filter(OwnerFilter::new(["zhangsan"])).limit(2);
    let item = json!({"owner": "zhangsan", "data": {}});

    // Full (2 of 2) and silent about what follows: the contract is broken, not the listing done.
    let server = server_with_token().await;
    answer(&server, STATISTIC, json_answer(ok(json!({"items": [item, item]})))).await;
    let error = client(&server).statistic_stream(request.clone()).try_collect::<Vec<_>>().await.unwrap_err();
    assert!(matches!(&error, Error::Protocol { message, .. } if message.contains("full page")), "{error}");

    // Not full: the last page.
    let server = server_with_token().await;
    answer(&server, STATISTIC, json_answer(ok(json!({"items": [item]})))).await;
    assert_eq!(client(&server).statistic_stream(request).try_collect::<Vec<_>>().await.unwrap().len(), 1);
}

#[tokio::test]
async fn quoted_server_text_masks_tokens_and_escapes_terminal_codes() {
    let server = server_with_token().await;
    let page = "<html><body>502 for POST /cgi-bin/externalcontact/groupchat/get?access_token=TOKEN-HOSTILE-1 \u{1b}[2J</body></html>";
    answer(&server, GET, ResponseTemplate::new(502).set_body_raw(page, "text/html")).await;
    answer(&server, LIST, json_answer(err(40058, "bad \u{1b}]0;owned\u{7} access_token=TOKEN-HOSTILE-1"))).await;
    let client = client(&server);
    let get = client.get(&GetRequest::new("c1")).await.unwrap_err();
    let list = client.list(&ListRequest::new(1)).await.unwrap_err();
    for error in [get, list] {
        let text = format!("{error} {error:?}");
        assert!(!text.contains("TOKEN-HOSTILE-1"), "{text}");
        assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'), "{text}");
    }
}
