//! Every request and response example of the spec (the seed's, plus the current docs') decodes into the
//! generated type and re-encodes to the same JSON value, with nothing left over.

use serde_json::Value;
use wecom_groupchat::endpoint::{Endpoint, EndpointVisitor};
use wecom_groupchat::endpoints;
use wecom_groupchat::wire::SpecDrift;

struct RoundTrip<'a> {
    request: Option<&'a Value>,
    response: Option<&'a Value>,
}

struct Outcome {
    request: Option<(Value, Result<(), String>)>,
    response: Option<(Value, Vec<String>)>,
}

impl EndpointVisitor for RoundTrip<'_> {
    type Output = Result<Outcome, String>;

    fn visit<R: Endpoint>(self) -> Self::Output {
        let request = match self.request {
            Some(json) => {
                let typed: R = serde_json::from_value(json.clone()).map_err(|e| format!("request: {e}"))?;
                // Statistics examples date from 2020: validate as of the day after their range.
                let now = ["day_end_time", "day_begin_time"]
                    .iter()
                    .find_map(|k| json.get(k).and_then(Value::as_i64))
                    .map(|day| day + 86_400 + 3600)
                    .unwrap_or_else(wecom_groupchat::time::now_unix);
                let valid = typed.validate_at(now).map_err(|e| e.to_string());
                Some((serde_json::to_value(&typed).unwrap(), valid))
            }
            None => None,
        };
        let response = match self.response {
            Some(json) => {
                let typed: R::Response = serde_json::from_value(json.clone()).map_err(|e| format!("response: {e}"))?;
                let drift = typed.drift().iter().map(ToString::to_string).collect();
                Some((serde_json::to_value(&typed).unwrap(), drift))
            }
            None => None,
        };
        Ok(Outcome { request, response })
    }
}

#[test]
fn every_example_round_trips() {
    let mut checked = 0;
    for info in endpoints::ALL {
        let examples: Vec<_> = wecom_groupchat::examples::EXAMPLES.iter().filter(|e| e.endpoint == info.name).collect();
        assert!(!examples.is_empty(), "{} has no example", info.name);
        for (i, ex) in examples.iter().enumerate() {
            let parse = |text: Option<&str>| text.map(|t| serde_json::from_str::<Value>(t).unwrap());
            let (ex_request, ex_response) = (parse(ex.request), parse(ex.response));
            let at = format!("{} example {i}", info.name);
            let visit = RoundTrip { request: ex_request.as_ref(), response: ex_response.as_ref() };
            let outcome =
                endpoints::visit(info.name, visit).expect("endpoint in table").unwrap_or_else(|e| panic!("{at}: {e}"));
            if let Some((encoded, valid)) = outcome.request {
                assert_eq!(&encoded, ex_request.as_ref().unwrap(), "{at}: request re-encodes differently");
                valid.unwrap_or_else(|e| panic!("{at}: the documented request fails validation: {e}"));
                checked += 1;
            }
            if let Some((encoded, drift)) = outcome.response {
                assert_eq!(&encoded, ex_response.as_ref().unwrap(), "{at}: response re-encodes differently");
                // The seed's get_join_way example shows scene 3, a value the docs do not define; it must
                // survive as an unknown value. Nothing else may be unknown.
                let expected: Vec<String> = if info.name == "get_join_way" && i == 0 {
                    vec!["unknown value 3 of JoinWayScene at `join_way.scene`".into()]
                } else {
                    vec![]
                };
                assert_eq!(drift, expected, "{at}: fields or values the spec does not model");
                checked += 1;
            }
        }
    }
    // 11 endpoints; examples: 11 requests + 11 responses from the seed and notes, plus 3 from current docs.
    assert!(checked >= 22, "only {checked} examples checked");
}

#[test]
fn unknown_fields_and_values_survive_a_round_trip() {
    let body = serde_json::json!({
        "errcode": 0, "errmsg": "ok",
        "group_chat": {
            "chat_id": "c1", "brand_new_field": {"x": [1, 2]},
            "member_list": [{"userid": "u1", "type": 9, "join_scene": 7, "future": true}]
        },
        "top_level_novelty": "yes"
    });
    let typed: wecom_groupchat::types::GetResponse = serde_json::from_value(body.clone()).unwrap();
    assert_eq!(serde_json::to_value(&typed).unwrap(), body);
    let member = &typed.group_chat.member_list.as_ref().unwrap()[0];
    assert_eq!(member.member_type, Some(wecom_groupchat::types::MemberType::Unknown(9)));
    let drift: Vec<String> = typed.drift().iter().map(ToString::to_string).collect();
    assert_eq!(
        drift,
        vec![
            "unknown field `top_level_novelty`",
            "unknown field `group_chat.brand_new_field`",
            "unknown field `group_chat.member_list[0].future`",
            "unknown value 9 of MemberType at `group_chat.member_list[0].type`",
            "unknown value 7 of JoinScene at `group_chat.member_list[0].join_scene`",
        ]
    );
}

#[test]
fn errcode_may_be_absent_on_success() {
    let typed: wecom_groupchat::types::AddJoinWayResponse =
        serde_json::from_str(r#"{"config_id": "9ad7fa5cdaa6511298498f979c472aaa"}"#).unwrap();
    assert_eq!((typed.errcode, typed.config_id.as_str()), (None, "9ad7fa5cdaa6511298498f979c472aaa"));
    // Read as 0, and proof enough of success: a success always carries `config_id`.
    use wecom_groupchat::wire::Envelope;
    assert_eq!(typed.errcode(), 0);
    assert!(typed.proves_status());
}

/// WeCom leaves out fields it does not know (an inviter's userid, an owner on a statistics row): only
/// `chat_id` is guaranteed, so nothing else may fail the decoding of a whole answer.
#[test]
fn everything_but_chat_id_may_be_missing() {
    use wecom_groupchat::types::{GetResponse, StatisticGroupByDayResponse, StatisticResponse};
    let chat: GetResponse = serde_json::from_value(serde_json::json!({
        "errcode": 0,
        "group_chat": {"chat_id": "c1", "member_list": [{"invitor": {}}, {}], "admin_list": [{}]}
    }))
    .unwrap();
    let members = chat.group_chat.member_list.unwrap();
    assert!(members[0].userid.is_none() && members[0].invitor.as_ref().unwrap().userid.is_none());
    let by_owner: StatisticResponse = serde_json::from_str(r#"{"items": [{"data": {}}]}"#).unwrap();
    assert!(by_owner.items.unwrap()[0].owner.is_none());
    let by_day: StatisticGroupByDayResponse = serde_json::from_str(r#"{"items": [{}]}"#).unwrap();
    assert!(by_day.items.unwrap()[0].stat_time.is_none());
    assert!(serde_json::from_str::<GetResponse>(r#"{"group_chat": {}}"#).is_err(), "chat_id is guaranteed");
}
