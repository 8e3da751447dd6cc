//! The binary's contract, driven with plain HTTP only.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use wecom_groupchat::types::{GetRequest, ListRequest};

use crate::common::gettoken;

pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn spawn(args: &[&str]) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_wecom-groupchat-sim"))
        .args(args)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    Running(child)
}

/// The URL from the first line on stdout (read on a thread, so a silent binary cannot hang the test).
pub fn url_line(child: &mut Running) -> String {
    let stdout = child.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(60)).expect("a line on stdout");
    let start = line.find("http://127.0.0.1:").unwrap_or_else(|| panic!("no URL in {line:?}"));
    line[start..].split_whitespace().next().unwrap().to_string()
}

#[tokio::test]
async fn the_binary_prints_its_url_and_any_http_client_can_drive_it() {
    let mut child = spawn(&[
        "--addr=127.0.0.1:0",
        "--corp-id=wwbinarytest",
        "--corp-secret=binary-secret-xyz",
        "--seed=7",
        "--token-ttl-secs=60",
        "--rate-limit-endpoint=get=2/60s",
    ]);
    let base = url_line(&mut child);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let token = gettoken(&http, &base, "wwbinarytest", "binary-secret-xyz").await;
    assert_eq!(token["expires_in"], 60);
    let token = token["access_token"].as_str().unwrap().to_string();
    let post = |path: &'static str, body: Value| {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        async move {
            http.post(format!("{base}/cgi-bin/externalcontact/groupchat/{path}"))
                .query(&[("access_token", token)])
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let list = post("list", json!({"limit": 1000})).await;
    assert_eq!(list["errcode"], 0);
    let chats = list["group_chat_list"].as_array().unwrap();
    assert_eq!(chats.len(), 300);
    let chat_id = chats[0]["chat_id"].as_str().unwrap();
    let detail = post("get", json!({"chat_id": chat_id, "need_name": 1})).await;
    assert_eq!(detail["group_chat"]["chat_id"], chat_id);
    assert_eq!(post("get", json!({"chat_id": chat_id})).await["errcode"], 0);
    assert_eq!(post("get", json!({"chat_id": chat_id})).await["errcode"], 45009);
    let stats: Value = http.get(format!("{base}/__sim/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["gettoken_calls"], 1);
    assert_eq!(stats["calls"]["get"], 3);
    assert_eq!(stats["rate_limited"], 1);

    // The same seed gives the same company.
    let mut twin = spawn(&["--corp-id=wwbinarytest", "--corp-secret=binary-secret-xyz", "--seed=7"]);
    let twin_base = url_line(&mut twin);
    let token = gettoken(&http, &twin_base, "wwbinarytest", "binary-secret-xyz").await;
    let twin_list: Value = http
        .post(format!("{twin_base}/cgi-bin/externalcontact/groupchat/list"))
        .query(&[("access_token", token["access_token"].as_str().unwrap())])
        .body(r#"{"limit": 1000}"#)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(twin_list["group_chat_list"], list["group_chat_list"]);

    // Logs go to stderr, mention the corp id, never the secret or a token.
    let _ = child.0.kill();
    let _ = child.0.wait();
    let mut logs = String::new();
    child.0.stderr.take().unwrap().read_to_string(&mut logs).unwrap();
    assert!(logs.contains("wwbinarytest"), "{logs}");
    assert!(!logs.contains("binary-secret-xyz"), "{logs}");
    assert!(!logs.contains(&token_text(&token)), "{logs}");
}

#[test]
fn bad_flags_say_what_is_wrong() {
    let stderr = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_wecom-groupchat-sim")).args(args).output().unwrap();
        assert!(!output.status.success() && output.stdout.is_empty(), "{args:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let typo = stderr(&["--fault-endpoints=list,lsit", "--drop-fraction=0.1"]);
    assert!(
        typo.contains("`lsit`") && typo.contains("valid names") && typo.contains("statistic_group_by_day"),
        "{typo}"
    );
    let typo = stderr(&["--rate-limit-endpoint=lsit=10/1s"]);
    assert!(typo.contains("`lsit`") && typo.contains("valid names"), "{typo}");
    let both = stderr(&["--data=company.yaml", "--groups=100"]);
    assert!(both.contains("--groups") && both.contains("--data"), "{both}");
}

#[tokio::test]
async fn bound_to_every_interface_it_prints_a_url_to_connect_to() {
    let mut child = spawn(&["--addr=0.0.0.0:0", "--allow-non-loopback", "--corp-id=ww1", "--corp-secret=s"]);
    let base = url_line(&mut child);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let health: Value = http.get(format!("{base}/__sim/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn fault_flags_reach_the_sdk_client_end_to_end() {
    let client_for = |base: String| {
        wecom_groupchat::Client::builder()
            .base_url(base)
            .corp_credentials("ww1", "s")
            .rate_limits(wecom_groupchat::ratelimit::RateLimits::off())
            .retry(crate::common::fast_retry())
            .build()
            .unwrap()
    };
    let credentials = ["--corp-id=ww1", "--corp-secret=s"];

    let mut truncating = spawn(&[&credentials[..], &["--truncate-fraction=1", "--fault-endpoints=get"]].concat());
    let client = client_for(url_line(&mut truncating));
    let page = client.list(&ListRequest::new(1)).await.unwrap();
    let chat = &page.group_chat_list.unwrap()[0].chat_id;
    let error = client.get(&GetRequest::new(chat)).await.unwrap_err();
    assert!(matches!(&error, wecom_groupchat::Error::Decode(e) if e.truncated), "{error}");

    let mut expiring = spawn(&[&credentials[..], &["--expire-token-fraction=1", "--fault-endpoints=list"]].concat());
    let base = url_line(&mut expiring);
    let error = client_for(base.clone()).list(&ListRequest::new(1)).await.unwrap_err();
    assert_eq!(error.code(), Some(42001), "{error}");
    let stats: Value = reqwest::get(format!("{base}/__sim/stats")).await.unwrap().json().await.unwrap();
    let attempts = 2 + crate::common::fast_retry().max_retries;
    assert_eq!(stats["gettoken_calls"], attempts, "one replay, then the retry budget; no loop: {stats}");
    assert_eq!(stats["faults"]["expire_token"], attempts);
}

fn token_text(token: &Value) -> String {
    token["access_token"].as_str().unwrap().to_string()
}

#[test]
fn the_binary_refuses_non_loopback_addresses_and_bad_flags() {
    // A documentation address (never assigned): the check refuses it before any bind.
    let refused = [
        &["--addr=192.0.2.1:0"][..],
        &["--busy-fraction=1.5"],
        &["--data=/nonexistent/company.yaml"],
        &["--fault-endpoints=lsit", "--busy-fraction=0.5"],
        &["--data=company.yaml", "--groups=100"],
        &["--clock-offset-secs=9223372036854775807"],
    ];
    for args in refused {
        let output = Command::new(env!("CARGO_BIN_EXE_wecom-groupchat-sim")).args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?}");
        assert!(output.stdout.is_empty(), "no URL line: {args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("wecom-groupchat-sim:") || stderr.contains("error"), "{stderr}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_wecom-groupchat-sim")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in ["--corp-id", "--data", "--latency-ms", "--rate-limit", "--token-ttl-secs", "--drop-fraction"] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}
