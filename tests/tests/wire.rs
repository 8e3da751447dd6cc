//! The exact wire format of every endpoint, checked with `wiremock`: method, path, token in the query,
//! the JSON body (no `null`s, raw UTF-8), decoding of the documented answer, and error mapping.
//! Driven by the spec's examples, so an endpoint added to the spec is covered with no change here.

use serde_json::{Value, json};
use wecom_groupchat::dynamic::decode_request;
use wecom_groupchat::{Error, time};
use wecom_groupchat_tests::*;
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The spec's endpoints with their first request and response examples, statistic days moved into
/// the range the API accepts (yesterday back to 180 days ago). A GET endpoint has no request example
/// (it carries no body): its request is `{}`.
fn examples() -> Vec<(String, String, Value, Value)> {
    let yesterday = time::day_before(time::now_unix(), 1);
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap();
    wecom_groupchat::endpoints::ALL
        .iter()
        .map(|ep| {
            let examples = wecom_groupchat::examples::EXAMPLES.iter().filter(|e| e.endpoint == ep.name);
            let mut request = examples.clone().find_map(|e| e.request).map(parse).unwrap_or_else(|| {
                assert_eq!(ep.method.as_str(), "GET", "{}: a POST endpoint documents its request", ep.name);
                json!({})
            });
            let response = examples.clone().find_map(|e| e.response).map(parse).unwrap();
            if let (Some(b), Some(obj)) =
                (request.get("day_begin_time").and_then(Value::as_i64), request.as_object_mut())
            {
                let span = obj.get("day_end_time").and_then(Value::as_i64).map(|e| e - b).unwrap_or(0);
                obj.insert("day_begin_time".into(), json!(yesterday - span));
                if obj.contains_key("day_end_time") {
                    obj.insert("day_end_time".into(), json!(yesterday));
                }
            }
            (ep.name.to_string(), ep.path.to_string(), request, response)
        })
        .collect()
}

/// The endpoint's HTTP method, from the spec.
fn http_method(name: &str) -> &'static str {
    wecom_groupchat::endpoints::by_name(name).expect("an endpoint of the spec").method.as_str()
}

#[tokio::test]
async fn every_endpoint_sends_the_documented_request_and_decodes_the_answer() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["TOKEN-A"])).await;
    let client = client(&server);
    for (name, endpoint_path, request, response) in examples() {
        let get = http_method(&name) == "GET";
        let mock = Mock::given(method(http_method(&name)))
            .and(path(endpoint_path.as_str()))
            .and(query_param("access_token", "TOKEN-A"));
        // A GET sends no body; a POST sends the documented one.
        let mock = if get { mock } else { mock.and(body_json(&request)) };
        mock.respond_with(ResponseTemplate::new(200).set_body_json(&response))
            .expect(1)
            .named(name.as_str())
            .mount(&server)
            .await;

        let typed = decode_request(&name, &request).unwrap();
        let answer = typed.call(&client).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(answer, response, "{name}: the typed response re-encodes differently");

        let sent = requests_to(&server, &endpoint_path).await.pop().unwrap();
        let raw = String::from_utf8(sent.body.clone()).unwrap();
        assert!(!raw.contains("null"), "{name}: unset fields must be left out, not sent as null: {raw}");
        assert!(!raw.contains("\\u"), "{name}: WeCom rejects \\u escapes (40033); send raw UTF-8: {raw}");
        if get {
            assert!(raw.is_empty(), "{name}: a GET carries no body: {raw}");
        } else {
            let content_type = sent.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
            assert!(content_type.starts_with("application/json"), "{name}: content type {content_type}");
        }
        // The token goes in the query string and nowhere else.
        assert_eq!(sent.url.query_pairs().filter(|(k, _)| k == "access_token").count(), 1, "{name}");
        assert!(!raw.contains("TOKEN-A"), "{name}");
    }
    server.verify().await;
}

const ADD_JOIN_WAY: &str = "/cgi-bin/externalcontact/groupchat/add_join_way";

/// A server that issues a token and accepts any `add_join_way`; the tests read what was sent.
async fn add_join_way_server() -> MockServer {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T"])).await;
    Mock::given(method("POST"))
        .and(path(ADD_JOIN_WAY))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok(json!({"config_id": "cfg"}))))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn chinese_text_travels_as_raw_utf8() {
    let server = add_join_way_server().await;
    let request = wecom_groupchat::types::AddJoinWayRequest::new(wecom_groupchat::types::JoinWayScene::QrCode, ["c1"])
        .room_base_name("销售客服群")
        .state("渠道A");
    client(&server).add_join_way(&request).await.unwrap();
    let sent = requests_to(&server, ADD_JOIN_WAY).await.pop().unwrap();
    assert_eq!(
        String::from_utf8(sent.body).unwrap(),
        r#"{"scene":2,"room_base_name":"销售客服群","chat_id_list":["c1"],"state":"渠道A"}"#
    );
}

#[tokio::test]
async fn text_that_json_would_escape_is_refused_before_sending() {
    let server = add_join_way_server().await;
    let client = client(&server);
    use wecom_groupchat::types::{AddJoinWayRequest, JoinWayScene, TransferRequest};
    // A control character can travel in JSON only as `\u0007`, which WeCom refuses with 40033.
    let bell = AddJoinWayRequest::new(JoinWayScene::QrCode, ["c1"]).remark("ding\u{7}dong");
    let error = client.add_join_way(&bell).await.unwrap_err();
    match &error {
        Error::Validation { error, .. } => {
            assert_eq!(error.field, "remark");
            assert_eq!(error.errcode, Some(40033));
            assert!(error.to_string().contains("U+0007"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    // Bulk calls check every batch first: the position is the caller's.
    let mut ids: Vec<String> = (0..160).map(|i| format!("wr{i}")).collect();
    ids[150] = "wr\u{1}150".into();
    let error = client.transfer_batched(TransferRequest::new(ids, "x")).await.unwrap_err();
    assert!(matches!(&error, Error::Validation { error, .. } if error.field == "chat_id_list[150]"), "{error:?}");
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing was sent, not even gettoken");

    // Tabs and newlines have short escapes WeCom takes; a backslash followed by `u` is no escape.
    let fine = AddJoinWayRequest::new(JoinWayScene::QrCode, ["c1"]).remark("a\tb\nc \\u0041");
    client.add_join_way(&fine).await.unwrap();
    let sent = requests_to(&server, ADD_JOIN_WAY).await.pop().unwrap();
    assert_eq!(
        String::from_utf8(sent.body).unwrap(),
        r#"{"scene":2,"remark":"a\tb\nc \\u0041","chat_id_list":["c1"]}"#
    );
}

#[tokio::test]
async fn every_endpoint_maps_errcodes_to_typed_errors() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T"])).await;
    let client = client(&server);
    for (i, (name, endpoint_path, request, _)) in examples().into_iter().enumerate() {
        // Alternate a documented code with a code the table does not know, and the rate limit.
        let (code, expect_rate_limited) = match i % 3 {
            0 => (40003, false),
            1 => (123_456, false),
            _ => (45009, true),
        };
        Mock::given(method(http_method(&name)))
            .and(path(endpoint_path.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(err(code, "failure hint: [x], from ip: 1.2.3.4")))
            .mount(&server)
            .await;
        let error = decode_request(&name, &request).unwrap().call(&client).await.unwrap_err();
        assert_eq!(error.code(), Some(code), "{name}: {error}");
        assert_eq!(error.endpoint(), name.as_str());
        match (&error, expect_rate_limited) {
            (wecom_groupchat::Error::RateLimited(e), true) => assert_eq!(e.endpoint, name),
            (wecom_groupchat::Error::Api(e), false) => {
                assert_eq!(e.info.is_some(), code == 40003, "{name}: table lookup of {code}");
                assert!(error.to_string().contains(&format!("errcode {code}")), "{error}");
            }
            other => panic!("{name}: unexpected {other:?}"),
        }
    }
}
