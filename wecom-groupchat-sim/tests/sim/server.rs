//! The simulator as a server facing hostile peers: clients that trickle bytes or hoard connections, web
//! pages that try to drive the control paths, and a `Debug` that must not print secrets.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wecom_groupchat::types::{GetRequest, TransferRequest};
use wecom_groupchat_sim::{FaultKind, ScriptedFault, SimConfig};

use crate::common::*;

/// Waits (bounded) for the server to close `stream`; returns how long that took.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return start.elapsed(),
            Ok(Ok(_)) => continue, // an answer (408 and the like) before the close
            Err(_) => panic!("the connection was still open after {limit:?}"),
        }
    }
}

fn addr(sim: &wecom_groupchat_sim::Simulator) -> std::net::SocketAddr {
    sim.addr()
}

#[tokio::test]
async fn debug_output_shows_neither_the_secret_nor_a_token() {
    let sim = start_with(SimConfig::new("ww-debug", "SIM-SECRET-d3bug")).await;
    let token = client(&sim).access_token().await.unwrap();
    let shown = format!("{sim:?} {sim:#?}");
    assert!(!shown.contains("SIM-SECRET-d3bug"), "{shown}");
    assert!(!shown.contains(token.expose()), "{shown}");
    assert!(shown.contains("issued: 1"), "it still says how many tokens live: {shown}");
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off() {
    let sim = start_with(config().read_timeout(Duration::from_millis(500))).await;
    let mut slow = TcpStream::connect(addr(&sim)).await.unwrap();
    slow.write_all(b"POST /cgi-bin/externalcontact/groupchat/get HTTP/1.1\r\nHost: 127.0.0.1\r\n").await.unwrap();
    // Never finishes its headers: closed after the read timeout, not held forever.
    let took = closed_within(&mut slow, Duration::from_secs(10)).await;
    assert!(took >= Duration::from_millis(400), "{took:?}");
    // And an idle kept-alive connection goes the same way.
    let mut idle = TcpStream::connect(addr(&sim)).await.unwrap();
    closed_within(&mut idle, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn a_client_trickling_its_body_is_cut_off() {
    let sim = start_with(config().read_timeout(Duration::from_millis(500))).await;
    let raw = Raw::new(&sim).await;
    let mut slow = TcpStream::connect(addr(&sim)).await.unwrap();
    let head = format!(
        "POST {}?access_token={} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"chat",
        path("get"),
        raw.token
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    closed_within(&mut slow, Duration::from_secs(10)).await;
    // The simulator is still fine for everyone else.
    assert_eq!(errcode(&raw.call("list", json!({"limit": 1})).await), 0);
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let sim = start_with(config().max_connections(2)).await;
    let raw = Raw::new(&sim).await; // its connection goes back to its pool, idle: one slot
    let hog = TcpStream::connect(addr(&sim)).await.unwrap(); // the second slot
    let fresh = reqwest::Client::builder().timeout(Duration::from_millis(500)).build().unwrap();
    let health = format!("{}/__sim/health", sim.base_url());
    assert!(fresh.get(&health).send().await.is_err(), "a third connection is not served while two are held");
    drop(hog);
    drop(raw);
    let fresh = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let mut served = false;
    for _ in 0..50 {
        if fresh.get(&health).send().await.is_ok_and(|r| r.status() == 200) {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "served once a slot is free");
}

#[tokio::test]
async fn control_paths_refuse_what_a_web_page_can_send() {
    let sim = start().await;
    let base = sim.base_url();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let invalidate = format!("{base}/__sim/invalidate-tokens");
    let status = |r: reqwest::Response| r.status().as_u16();

    // A script's fetch (Origin), a form (simple content types), a rebound DNS name (Host).
    let refused = [
        http.post(&invalidate).header("Origin", "https://evil.example"),
        http.post(&invalidate).header("Content-Type", "text/plain").body("{}"),
        http.post(&invalidate).header("Content-Type", "application/x-www-form-urlencoded").body("a=b"),
        http.post(&invalidate).header("Content-Type", "multipart/form-data; boundary=x").body("--x--"),
        http.post(&invalidate).header("Host", "rebound.evil.example"),
        http.get(format!("{base}/__sim/hints")).header("Host", "rebound.evil.example"),
    ];
    for request in refused {
        assert_eq!(status(request.send().await.unwrap()), 403);
    }
    assert_eq!(sim.stats().tokens_issued, 0);

    // A tool's call: no body and no Content-Type, or JSON.
    assert_eq!(status(http.post(&invalidate).send().await.unwrap()), 200);
    let faults = http
        .post(format!("{base}/__sim/faults"))
        .header("Content-Type", "application/json")
        .body(r#"{"busy_fraction": 0.5}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(status(faults), 200);
    assert_eq!(sim.faults().busy_fraction, 0.5);
    let localhost = base.replace("127.0.0.1", "localhost");
    assert_eq!(status(http.get(format!("{localhost}/__sim/health")).send().await.unwrap()), 200);

    // WeCom's own paths are not control paths: a client may send anything there.
    sim.set_faults(wecom_groupchat_sim::Faults::none()).unwrap();
    let raw = Raw::new(&sim).await;
    let (code, _) = raw.post("list", r#"{"limit": 1}"#).await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn a_simulator_open_to_other_hosts_answers_any_host_name() {
    let mut open = config();
    open.allow_non_loopback = true;
    let sim = start_with(open).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let response =
        http.get(format!("{}/__sim/health", sim.base_url())).header("Host", "sim.lan.example").send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_lost_answer_leaves_the_write_done_and_the_client_unsure() {
    let sim = start().await;
    let client = client(&sim);
    let hints = sim.hints();
    let chat = hints.resigned_owners[0].chat_ids[0].clone();
    sim.inject(ScriptedFault::new(Some("transfer"), FaultKind::LostAnswer, 1)).unwrap();
    let error = client.transfer(&TransferRequest::new([&chat], &hints.eligible_new_owners[0])).await.unwrap_err();
    assert!(error.outcome_unknown(), "{error:?}");
    assert_eq!(sim.calls("transfer"), 1, "not replayed");
    assert_eq!(sim.chat_status(&chat), Some(wecom_groupchat::types::ChatStatus::Transferring), "but it happened");
    assert_eq!(sim.stats().faults["lost_answer"], 1);

    // A read whose answer is lost is simply read again.
    sim.inject(ScriptedFault::new(Some("get"), FaultKind::LostAnswer, 1)).unwrap();
    client.get(&GetRequest::new(&chat)).await.unwrap();
    assert_eq!(sim.calls("get"), 2);
}
