//! No secret and no access token ever appears in tracing output (of any crate, at any level), in an
//! error's `Display` or `Debug`, or in the `Debug` of a client.

use std::time::Duration;

use serde_json::json;
use wecom_groupchat::Client;
use wecom_groupchat::types::{GetJoinWayRequest, GetRequest, ListRequest, TransferRequest};
use wecom_groupchat_tests::*;
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WRONG_SECRET: &str = "WRONG-SECRET-5d1b-do-not-leak";
const FIXED_TOKEN: &str = "FIXED-TOKEN-LEAKCHECK-77";

#[tokio::test]
async fn secrets_and_tokens_never_leak() {
    let logs = capture_all_tracing();
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["TOKEN-LEAKCHECK-1", "TOKEN-LEAKCHECK-2"])).await;
    Mock::given(path(TOKEN_PATH))
        .and(query_param("corpsecret", WRONG_SECRET))
        .respond_with(ResponseTemplate::new(200).set_body_json(err(40001, "invalid credential")))
        .mount(&server)
        .await;
    let get = "/cgi-bin/externalcontact/groupchat/get";
    for (token, body) in [
        ("TOKEN-LEAKCHECK-1", err(42001, "access_token expired")),
        ("TOKEN-LEAKCHECK-2", ok(json!({"group_chat": {"chat_id": "c1"}}))),
        (FIXED_TOKEN, err(40014, "invalid access_token")),
    ] {
        Mock::given(path(get))
            .and(query_param("access_token", token))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    Mock::given(path("/cgi-bin/externalcontact/groupchat/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(err(-1, "system busy")))
        .mount(&server)
        .await;
    Mock::given(path("/cgi-bin/externalcontact/groupchat/transfer"))
        .respond_with(ResponseTemplate::new(502).set_body_raw("<html>bad gateway</html>", "text/html"))
        .mount(&server)
        .await;
    Mock::given(path("/cgi-bin/externalcontact/groupchat/get_join_way"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"errcode":0,"join_way":{"con"#, "application/json"))
        .mount(&server)
        .await;

    let mut seen: Vec<String> = Vec::new();
    let mut record = |what: String| seen.push(what);

    let good = client(&server);
    record(format!("{good:?}"));
    record(format!("{:?}", builder(&server)));
    good.get(&GetRequest::new("c1")).await.unwrap(); // 42001 → refresh → replay
    let token = good.access_token().await.unwrap();
    record(format!("{token:?} {token}"));
    for error in [
        good.list(&ListRequest::new(10)).await.unwrap_err(),
        good.transfer(&TransferRequest::new(["c1"], "x")).await.unwrap_err(),
        good.get_join_way(&GetJoinWayRequest::new("cfg")).await.unwrap_err(),
        builder(&server)
            .corp_credentials(CORP_ID, WRONG_SECRET)
            .build()
            .unwrap()
            .get(&GetRequest::new("c1"))
            .await
            .unwrap_err(),
        Client::builder()
            .base_url(server.uri())
            .access_token(FIXED_TOKEN)
            .build()
            .unwrap()
            .get(&GetRequest::new("c1"))
            .await
            .unwrap_err(),
        // The token endpoint cannot be reached: reqwest's error names the URL, which holds the secret.
        Client::builder()
            .base_url(format!("http://127.0.0.1:{}", closed_port()))
            .corp_credentials(CORP_ID, SECRET)
            .retry(fast_retries())
            .connect_timeout(Duration::from_secs(2))
            .build()
            .unwrap()
            .get(&GetRequest::new("c1"))
            .await
            .unwrap_err(),
        // A business call that cannot connect: its URL holds the token.
        Client::builder()
            .base_url(format!("http://127.0.0.1:{}", closed_port()))
            .access_token(FIXED_TOKEN)
            .retry(fast_retries())
            .build()
            .unwrap()
            .list(&ListRequest::new(1))
            .await
            .unwrap_err(),
    ] {
        record(format!("{error}"));
        record(format!("{error:?}"));
        record(format!("{error:#?}"));
    }

    let text = logs.text();
    assert!(text.contains("wecom.call"), "the capture must have seen the client's spans");
    assert!(text.contains("token rejected; replaying with a fresh token"), "and its events");
    assert!(seen.iter().any(|s| s.contains("127.0.0.1")), "errors still say where the call went");
    for secret in [SECRET, WRONG_SECRET, "TOKEN-LEAKCHECK", FIXED_TOKEN] {
        assert!(!text.contains(secret), "`{secret}` appears in the tracing output");
        for s in &seen {
            assert!(!s.contains(secret), "`{secret}` appears in: {s}");
        }
    }
}

fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
