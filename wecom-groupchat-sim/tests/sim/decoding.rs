use serde_json::{Value, json};
use wecom_groupchat::endpoints;

use crate::common::*;

#[tokio::test]
async fn bad_bodies_get_wecom_errcodes() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    let raw = &raw;
    let code = |endpoint: &'static str, body: &'static str| async move { errcode(&raw.post(endpoint, body).await.1) };
    assert_eq!(code("list", "").await, 40063, "empty body");
    assert_eq!(code("list", "{\"limit\": 1").await, 40058, "not JSON");
    assert_eq!(code("list", "limit=1").await, 40058, "form, not JSON");
    assert_eq!(code("list", "[1, 2]").await, 40058, "not an object");
    assert_eq!(code("list", "{}").await, 40063, "required field missing");
    assert_eq!(code("list", r#"{"limit": "10"}"#).await, 40058, "wrong type");
    assert_eq!(code("list", r#"{"limit": null}"#).await, 40058, "null required field");
    assert_eq!(code("list", r#"{"limit": 10, "unknown_field": {"x": 1}}"#).await, 0, "unknown fields ignored");
    assert_eq!(code("get", r#"{"chat_id": "\u0077r"}"#).await, 40033, "\\u escapes refused");
    // GET instead of POST.
    let url = format!("{}{}?access_token={}", raw.base, path("list"), raw.token);
    let answer: Value = raw.http.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(errcode(&answer), 40063);
    // errmsg in WeCom's style: official text, hint, help link.
    let (_, answer) = raw.post("list", r#"{"limit": 0}"#).await;
    let errmsg = answer["errmsg"].as_str().unwrap();
    assert!(errmsg.contains("hint: [limit: 0, at least 1]") && errmsg.contains("?e=40058"), "{errmsg}");
}

/// A small deterministic generator of garbage.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn body(&mut self) -> Vec<u8> {
        const PIECES: [&str; 16] = [
            "{",
            "}",
            "[",
            "]",
            "\"chat_id_list\":",
            "\"limit\":",
            "\"owner_filter\":",
            "\"userid_list\":",
            "1e999",
            "-1",
            "null",
            "\"群\"",
            ",",
            "\"day_begin_time\":",
            "99999999999999999999",
            "true",
        ];
        match self.next() % 3 {
            0 => (0..self.next() % 64).map(|_| self.next() as u8).collect(),
            _ => {
                let mut s = String::new();
                for _ in 0..self.next() % 24 {
                    s.push_str(PIECES[(self.next() % PIECES.len() as u64) as usize]);
                }
                s.into_bytes()
            }
        }
    }
}

#[tokio::test]
async fn no_body_makes_the_simulator_fail_with_a_500() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    let mut garbage = Lcg(42);
    for info in endpoints::ALL {
        let mut bodies: Vec<Vec<u8>> = (0..40).map(|_| garbage.body()).collect();
        bodies.push(b"{\"chat_id_list\": [\"a\"], \"new_owner\": {\"deep\": [[[[[]]]]]}}".to_vec());
        bodies.push(format!("{{\"limit\": {}}}", u64::MAX).into_bytes());
        bodies.push(b"{\"day_begin_time\": -99999999999, \"owner_filter\": {\"userid_list\": [\"\"]}}".to_vec());
        for body in bodies {
            let (status, answer) = raw.post(info.name, body.clone()).await;
            assert_eq!(status, 200, "{} {:?}", info.name, String::from_utf8_lossy(&body));
            assert!(answer.get("errcode").is_some(), "{answer}");
        }
    }
    assert!(sim.stats().total_calls > 400);
}

#[tokio::test]
async fn every_endpoint_of_the_spec_is_served() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    for info in endpoints::ALL {
        let (status, answer) = raw.post(info.name, "{}").await;
        assert_eq!(status, 200, "{}", info.name);
        assert_ne!(errcode(&answer), 404, "{} is not routed", info.name);
    }
    let (status, answer) = raw.post_with_token("list", None, "").await;
    assert_eq!((status, errcode(&answer)), (200, 41001));
    let unknown = raw.http.post(format!("{}/cgi-bin/nope", raw.base)).send().await.unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test]
async fn extreme_numbers_and_garbage_cursors_answer_errcodes() {
    let sim = start().await;
    let raw = Raw::new(&sim).await;
    let long_cursor = "f".repeat(10_000);
    let bodies = [
        ("list", json!({"limit": i64::MAX})),
        ("list", json!({"limit": i64::MIN})),
        ("list", json!({"limit": -1})),
        ("list", json!({"limit": 10, "cursor": "zzzzzzzzzzzzzzzz"})),
        ("list", json!({"limit": 10, "cursor": "ffffffffffffffff"})),
        ("list", json!({"limit": 10, "cursor": long_cursor})),
        ("list", json!({"limit": 10, "cursor": "群群群群群群群群"})),
        ("list", json!({"limit": 10, "cursor": 12})),
        ("list", json!({"limit": 10, "status_filter": i64::MAX})),
        ("get", json!({"chat_id": "x", "need_name": i64::MIN})),
        ("add_join_way", json!({"scene": i64::MAX, "chat_id_list": ["x"]})),
        ("transfer", json!({"chat_id_list": ["x"], "new_owner": i64::MAX})),
    ];
    for (endpoint, body) in bodies {
        let (status, answer) = raw.post(endpoint, body.to_string()).await;
        assert_eq!(status, 200, "{endpoint} {body}: {answer}");
        let code = errcode(&answer);
        assert!([40058, 40063, 40050].contains(&code), "{endpoint} {body}: {answer}");
    }
    // Numbers the spec leaves open are kept, not overflowed.
    let chat = sim.hints().active_owners[0].chat_ids[0].clone();
    let body = json!({"scene": 2, "chat_id_list": [chat], "room_base_id": i64::MAX});
    let added = raw.call("add_join_way", body).await;
    assert_eq!(errcode(&added), 0, "{added}");
    let way = raw.call("get_join_way", json!({"config_id": added["config_id"]})).await;
    assert_eq!(way["join_way"]["room_base_id"], i64::MAX);
}
