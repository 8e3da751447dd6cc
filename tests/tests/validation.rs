//! Every limit the documentation states is checked before anything is sent, and the error names the
//! field, the value and the limit.

use serde_json::{Value, json};
use wecom_groupchat::dynamic::decode_request;
use wecom_groupchat::time;
use wecom_groupchat_tests::*;
use wiremock::MockServer;

fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("wrOgQhDgAA{i:06}")).collect()
}

/// `(endpoint, body, expected message or None when valid)`.
fn cases() -> Vec<(&'static str, Value, Option<String>)> {
    let now = time::now_unix();
    let day = |n: i64| time::day_before(now, n);
    let fmt = |n: i64| time::format_day(day(n));
    vec![
        // transfer / onjob_transfer: chat_id_list 1 ~ 100, new_owner required.
        ("transfer", json!({"chat_id_list": ids(100), "new_owner": "zhangsan"}), None),
        ("transfer", json!({"chat_id_list": ids(101), "new_owner": "zhangsan"}), Some("chat_id_list: 101 items, at most 100".into())),
        ("transfer", json!({"chat_id_list": [], "new_owner": "zhangsan"}), Some("chat_id_list: 0 items, at least 1".into())),
        ("transfer", json!({"chat_id_list": ["a"], "new_owner": ""}), Some("new_owner: 0 characters, must not be empty".into())),
        ("transfer", json!({"chat_id_list": ["a", ""], "new_owner": "x"}), Some("chat_id_list[1]: 0 characters, must not be empty".into())),
        ("onjob_transfer", json!({"chat_id_list": ids(101), "new_owner": "zhangsan"}), Some("chat_id_list: 101 items, at most 100".into())),
        // list: limit 1 ~ 1000, owner_filter.userid_list at most 100.
        ("list", json!({"limit": 1000}), None),
        ("list", json!({"limit": 0}), Some("limit: 0, at least 1".into())),
        ("list", json!({"limit": 1001}), Some("limit: 1001, at most 1000".into())),
        ("list", json!({"limit": 10, "owner_filter": {"userid_list": ids(101)}}), Some("owner_filter.userid_list: 101 items, at most 100".into())),
        ("list", json!({"limit": 10, "status_filter": 4}), Some("status_filter: 4, must be one of 0 (All), 1 (Resigned), 2 (Transferring), 3 (Transferred) (StatusFilter)".into())),
        // get: chat_id required; need_name 0/1.
        ("get", json!({"chat_id": ""}), Some("chat_id: 0 characters, must not be empty".into())),
        ("get", json!({"chat_id": "c", "need_name": 2}), Some("need_name: 2, must be one of 0 (No), 1 (Yes) (NeedName)".into())),
        // join ways: at most 5 chats, room_base_name ≤ 40, state ≤ 30 UTF-8 characters, scene 1 or 2.
        ("add_join_way", json!({"scene": 2, "chat_id_list": ids(5), "state": "状".repeat(30), "room_base_name": "群".repeat(40)}), None),
        ("add_join_way", json!({"scene": 2, "chat_id_list": ids(6)}), Some("chat_id_list: 6 items, at most 5".into())),
        ("add_join_way", json!({"scene": 2, "chat_id_list": []}), Some("chat_id_list: 0 items, at least 1".into())),
        ("add_join_way", json!({"scene": 2, "chat_id_list": ["c"], "state": "状".repeat(31)}), Some("state: 31 characters, at most 30 characters".into())),
        ("add_join_way", json!({"scene": 2, "chat_id_list": ["c"], "room_base_name": "群".repeat(41)}), Some("room_base_name: 41 characters, at most 40 characters".into())),
        ("add_join_way", json!({"scene": 3, "chat_id_list": ["c"]}), Some("scene: 3, must be one of 1 (MiniProgram), 2 (QrCode) (JoinWayScene)".into())),
        // The server cuts remark to 30 characters: documented behaviour, not an error.
        ("add_join_way", json!({"scene": 1, "chat_id_list": ["c"], "remark": "r".repeat(31)}), None),
        ("update_join_way", json!({"config_id": "cfg", "scene": 2, "chat_id_list": ids(6)}), Some("chat_id_list: 6 items, at most 5".into())),
        ("update_join_way", json!({"config_id": "", "scene": 2, "chat_id_list": ["c"]}), Some("config_id: 0 characters, must not be empty".into())),
        ("get_join_way", json!({"config_id": ""}), Some("config_id: 0 characters, must not be empty".into())),
        ("del_join_way", json!({"config_id": ""}), Some("config_id: 0 characters, must not be empty".into())),
        ("opengid_to_chatid", json!({"opengid": ""}), Some("opengid: 0 characters, must not be empty".into())),
        // statistics: yesterday back to 180 days, closed span of at most 30 days, at most 100 owners.
        ("statistic", json!({"day_begin_time": day(30), "day_end_time": day(1), "owner_filter": {"userid_list": ["a"]}}), None),
        ("statistic", json!({"day_begin_time": day(180), "owner_filter": {"userid_list": ["a"]}}), None),
        ("statistic", json!({"day_begin_time": day(0), "owner_filter": {"userid_list": ["a"]}}), Some(format!("day_begin_time: {} (today, UTC+8), must be yesterday or earlier", fmt(0)))),
        ("statistic", json!({"day_begin_time": day(181), "owner_filter": {"userid_list": ["a"]}}), Some(format!("day_begin_time: {} (181 days ago, UTC+8), at most 180 days ago (only the last 180 days are kept)", fmt(181)))),
        ("statistic", json!({"day_begin_time": day(31), "day_end_time": day(1), "owner_filter": {"userid_list": ["a"]}}), Some(format!("day_end_time: {}..{} spans 31 days, at most 30 days including both ends", fmt(31), fmt(1)))),
        ("statistic", json!({"day_begin_time": day(2), "day_end_time": day(3), "owner_filter": {"userid_list": ["a"]}}), Some(format!("day_end_time: {}, must not be before day_begin_time {}", fmt(3), fmt(2)))),
        ("statistic", json!({"day_begin_time": day(2), "owner_filter": {"userid_list": ids(101)}}), Some("owner_filter.userid_list: 101 items, at most 100".into())),
        ("statistic", json!({"day_begin_time": day(2), "owner_filter": {"userid_list": ["a"]}, "limit": 1001}), Some("limit: 1001, at most 1000".into())),
        ("statistic", json!({"day_begin_time": day(2), "owner_filter": {"userid_list": ["a"]}, "order_by": 5}), Some("order_by: 5, must be one of 1 (NewChatCount), 2 (ChatTotal), 3 (NewMemberCount), 4 (MemberTotal) (StatisticOrderBy)".into())),
        ("statistic_group_by_day", json!({"day_begin_time": day(31), "day_end_time": day(1), "owner_filter": {"userid_list": ["a"]}}), Some(format!("day_end_time: {}..{} spans 31 days, at most 30 days including both ends", fmt(31), fmt(1)))),
        ("statistic_group_by_day", json!({"day_begin_time": day(0) + 3600, "owner_filter": {"userid_list": ["a"]}}), Some(format!("day_begin_time: {} (today, UTC+8), must be yesterday or earlier", fmt(0)))),
    ]
}

#[test]
fn documented_limits_are_enforced() {
    for (endpoint, body, expected) in cases() {
        let request = decode_request(endpoint, &body).unwrap_or_else(|e| panic!("{endpoint} {body}: {e}"));
        let got = request.validate().err().map(|e| e.to_string());
        assert_eq!(got, expected, "{endpoint} {body}");
    }
}

#[test]
fn broken_limits_carry_the_server_errcode() {
    let now = time::now_unix();
    let join = decode_request("add_join_way", &json!({"scene": 2, "chat_id_list": ids(6)})).unwrap();
    assert_eq!(join.validate().unwrap_err().errcode, Some(41091));
    let stat = decode_request(
        "statistic",
        &json!({"day_begin_time": time::day_before(now, 0), "owner_filter": {"userid_list": ["a"]}}),
    )
    .unwrap();
    assert_eq!(stat.validate().unwrap_err().errcode, Some(600018));
    let list = decode_request("list", &json!({"limit": 0})).unwrap();
    assert_eq!(list.validate().unwrap_err().server_errcode(), 40058);
}

#[tokio::test]
async fn nothing_is_sent_when_validation_fails() {
    let server = MockServer::start().await;
    mount_tokens(&server, TokenSequence::new(&["T"])).await;
    let client = client(&server);
    for (endpoint, body, expected) in cases() {
        if expected.is_none() {
            continue;
        }
        let error = decode_request(endpoint, &body).unwrap().call(&client).await.unwrap_err();
        match &error {
            wecom_groupchat::Error::Validation { endpoint: e, error: v } => {
                assert_eq!(*e, endpoint);
                assert_eq!(Some(v.to_string()), expected);
            }
            other => panic!("{endpoint}: expected a validation error, got {other}"),
        }
    }
    assert!(server.received_requests().await.unwrap().is_empty(), "a request was sent (not even a token fetch may be)");
}

#[test]
fn bodies_that_do_not_fit_are_rejected_with_the_reason() {
    let unknown = decode_request("nope", &json!({})).unwrap_err().to_string();
    assert!(
        unknown.starts_with("unknown endpoint `nope`; known endpoints: add_join_way, del_join_way, get,"),
        "{unknown}"
    );
    let missing = decode_request("transfer", &json!({"chat_id_list": ["a"]})).unwrap_err().to_string();
    assert_eq!(missing, "transfer: body does not match TransferRequest: missing field `new_owner`");
    let typo = decode_request(
        "list",
        &json!({"limit": 10, "limt": 5, "owner_filter": {"userid_list": [], "partyid_list": [1]}}),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(typo, "list: unknown field(s) limt, owner_filter.partyid_list");
    // `null` means unset, as WeCom reads it.
    assert!(decode_request("list", &json!({"limit": 10, "cursor": null})).is_ok());
}
