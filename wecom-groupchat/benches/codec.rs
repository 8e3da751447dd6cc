//! Encode/decode throughput of each endpoint's largest payload (`cargo bench -p wecom-groupchat --bench codec`):
//! a payload sized here where one is (a 500-member chat, a page of 1,000), else the endpoint's largest
//! documented example from the spec, so that an endpoint added to the spec is measured with no line here.
//! `cargo xtask bench` runs it with `CRITERION_HOME=target/bench/criterion` (emptied first) and reads the
//! results from `target/bench/criterion/codec/<id>/new/{benchmark,estimates}.json`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Value, json};
use wecom_groupchat::endpoint::{Endpoint, EndpointVisitor};
use wecom_groupchat::endpoints;

/// Payloads sized for the benchmark, larger than the documented examples: endpoint, side, and the JSON.
fn sized_payloads() -> Vec<(&'static str, &'static str, Value)> {
    let ids = |n: usize, p: &str| (0..n).map(|i| format!("wrOgQhDgAA{p}{i:08}")).collect::<Vec<_>>();
    let members: Vec<Value> = (0..500)
        .map(|i| {
            if i % 3 == 0 {
                json!({"userid": format!("staff{i:04}"), "type": 1, "join_time": 1_700_000_000 + i, "join_scene": 1,
                       "invitor": {"userid": "zhangsan"}, "group_nickname": format!("客服{i}"), "name": format!("员工{i}")})
            } else {
                json!({"userid": format!("wmOgQhDgAAuXFJGwbve4g4iXkn{i:06}"), "type": 2, "unionid": format!("ozynqsulJFCZ2z1aYeS8h-nu{i:06}"),
                       "join_time": 1_700_000_000 + i, "join_scene": 3, "state": "channel-a", "group_nickname": format!("顾客{i}"), "name": format!("客户{i}")})
            }
        })
        .collect();
    let data = json!({"new_chat_cnt": 2, "chat_total": 20, "chat_has_msg": 9, "new_member_cnt": 31, "member_total": 240,
                      "member_has_msg": 80, "msg_total": 1200, "migrate_trainee_chat_cnt": 0});
    vec![
        (
            "get",
            "response",
            json!({"errcode": 0, "errmsg": "ok", "group_chat": {
            "chat_id": "wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA", "name": "销售客服群", "owner": "zhangsan", "create_time": 1_700_000_000,
            "notice": "文明沟通,拒绝脏话", "member_list": members, "admin_list": [{"userid": "sam"}, {"userid": "pony"}],
            "member_version": "71217227bbd112ecfe3a49c482195cb4"}}),
        ),
        (
            "list",
            "response",
            json!({"errcode": 0, "errmsg": "ok",
            "group_chat_list": ids(1000, "L").iter().enumerate().map(|(i, id)| json!({"chat_id": id, "status": i % 4})).collect::<Vec<_>>(),
            "next_cursor": "tJzlB9tdqfh-g7i_J-ehOz_TWcd7dSKa39_AqCIeMFw"}),
        ),
        (
            "statistic",
            "response",
            json!({"errcode": 0, "errmsg": "ok", "total": 5000, "next_offset": 1000,
            "items": (0..1000).map(|i| json!({"owner": format!("owner{i:04}"), "data": data})).collect::<Vec<_>>()}),
        ),
        (
            "statistic_group_by_day",
            "response",
            json!({"errcode": 0, "errmsg": "ok",
            "items": (0..30).map(|i| json!({"stat_time": 1_600_272_000 + i * 86_400, "data": data})).collect::<Vec<_>>()}),
        ),
        (
            "transfer",
            "response",
            json!({"errcode": 0, "errmsg": "ok",
            "failed_chat_list": ids(100, "T").iter().map(|id| json!({"chat_id": id, "errcode": 90500, "errmsg": "the owner of this chat is not resigned"})).collect::<Vec<_>>()}),
        ),
        ("onjob_transfer", "request", json!({"chat_id_list": ids(100, "O"), "new_owner": "zhangsan"})),
        (
            "add_join_way",
            "request",
            json!({"scene": 2, "remark": "aa_remark", "auto_create_room": 1, "room_base_name": "销售客服群",
            "room_base_id": 10, "chat_id_list": ids(5, "J"), "state": "klsdup3kj3s1", "mark_source": true}),
        ),
        (
            "update_join_way",
            "request",
            json!({"config_id": "9ad7fa5cdaa6511298498f979c4722de", "scene": 2, "remark": "bb_remark",
            "auto_create_room": 1, "room_base_name": "销售客服群", "room_base_id": 10, "chat_id_list": ids(5, "U"), "state": "klsdup3kj3s1"}),
        ),
        (
            "get_join_way",
            "response",
            json!({"errcode": 0, "errmsg": "ok", "join_way": {"config_id": "9ad7fa5cdaa6511298498f979c472aaa",
            "scene": 2, "remark": "aa_remark", "auto_create_room": 1, "room_base_name": "销售客服群", "room_base_id": 10,
            "chat_id_list": ids(5, "G"), "qr_code": "http://p.qpic.cn/wwhead/nMl9ssowtibVGyrmvBiaibzDtp703nXuzpibnKtbSDBRJTLwS3ic4ECrf3ibLVtIFb0N6wWwy5LVuyvMQ22/0",
            "state": "klsdup3kj3s1", "mark_source": true}}),
        ),
        ("del_join_way", "request", json!({"config_id": "42b34949e138eb6e027c123cba77faaa"})),
        ("opengid_to_chatid", "request", json!({"opengid": "oAAAAAAA"})),
    ]
}

struct Bench<'a> {
    c: &'a mut Criterion,
    side: &'static str,
    json: Value,
}

impl EndpointVisitor for Bench<'_> {
    type Output = ();

    fn visit<R: Endpoint>(self) {
        match self.side {
            "request" => run::<R>(self.c, R::INFO.name, self.side, &self.json),
            _ => run::<R::Response>(self.c, R::INFO.name, self.side, &self.json),
        }
    }
}

fn run<T: serde::Serialize + serde::de::DeserializeOwned>(c: &mut Criterion, endpoint: &str, side: &str, json: &Value) {
    let bytes = serde_json::to_vec(json).unwrap();
    let typed: T = serde_json::from_slice(&bytes).unwrap();
    let mut group = c.benchmark_group("codec");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function(format!("{endpoint}.{side}/decode"), |b| {
        b.iter(|| serde_json::from_slice::<T>(std::hint::black_box(&bytes)).unwrap())
    });
    group.bench_function(format!("{endpoint}.{side}/encode"), |b| {
        b.iter(|| serde_json::to_vec(std::hint::black_box(&typed)).unwrap())
    });
    group.finish();
}

/// The endpoint's largest documented example: its response, or its request when no response is documented.
fn documented_payload(endpoint: &'static str) -> Option<(&'static str, &'static str, Value)> {
    let examples = || wecom_groupchat::examples::EXAMPLES.iter().filter(|e| e.endpoint == endpoint);
    let largest = |texts: Vec<&'static str>| texts.into_iter().max_by_key(|t| t.len());
    let (side, text) = match largest(examples().filter_map(|e| e.response).collect()) {
        Some(response) => ("response", response),
        None => ("request", largest(examples().filter_map(|e| e.request).collect())?),
    };
    Some((endpoint, side, serde_json::from_str(text).expect("the spec's examples are JSON")))
}

/// One payload per endpoint of the spec: the sized one, else the documented one.
fn payloads() -> Vec<(&'static str, &'static str, Value)> {
    let mut payloads = sized_payloads();
    for info in endpoints::ALL {
        if !payloads.iter().any(|(name, _, _)| *name == info.name) {
            let documented = documented_payload(info.name);
            payloads.push(documented.unwrap_or_else(|| panic!("`{}` has no documented example", info.name)));
        }
    }
    payloads
}

fn codec(c: &mut Criterion) {
    for (name, side, json) in payloads() {
        endpoints::visit(name, Bench { c, side, json });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = codec
}
criterion_main!(benches);
