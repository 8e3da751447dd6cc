use futures::TryStreamExt;
use wecom_groupchat::types::{ChatStatus, GetJoinWayRequest, GetRequest, ListRequest, NeedName, StatusFilter};
use wecom_groupchat_sim::{CompanyData, DataSource, Scale, SimConfig, Simulator};

use crate::common::*;

fn example() -> DataSource {
    DataSource::File(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/company.yaml").into())
}

#[tokio::test]
async fn the_example_data_file_loads() {
    let sim = start_with(config().data(example())).await;
    let client = client(&sim);
    let chats: Vec<_> = client.list_stream(ListRequest::new(10)).try_collect().await.unwrap();
    assert_eq!(chats.len(), 4);
    let resigned = client.list(&ListRequest::new(10).status_filter(StatusFilter::Resigned)).await.unwrap();
    assert_eq!(resigned.group_chat_list.unwrap().len(), 2);
    let chat = client
        .get(&GetRequest::new("wrOgQhDgAAMYQiS5ol9G7gK9JVAAAA").need_name(NeedName::Yes))
        .await
        .unwrap()
        .group_chat;
    assert_eq!(chat.owner.as_deref(), Some("LiSi"));
    assert_eq!(chat.notice.as_deref(), Some("文明沟通,拒绝脏话"));
    let members = chat.member_list.unwrap();
    assert_eq!(members[2].unionid.as_deref(), Some("ozynqsulJFCZ2z1aYeS8h-nuasdAAA"));
    assert_eq!(members[2].state.as_deref(), Some("klsdup3kj3s1"));
    assert_eq!(members[1].invitor.as_ref().map(|i| i.userid.as_deref().unwrap_or_default()), Some("LiSi"));
    assert_eq!(chat.admin_list.unwrap()[0].userid.as_deref(), Some("ZhangSan"));
    let way = client.get_join_way(&GetJoinWayRequest::new("9ad7fa5cdaa6511298498f979c472aaa")).await.unwrap();
    assert_eq!(way.join_way.room_base_id, Some(10));
    assert_eq!(sim.chat_status("wrOgQhDgAALPUthpRAKvl7mgiQRwAAA"), Some(ChatStatus::Transferred));
    let hints = sim.hints();
    assert_eq!(hints.eligible_new_owners, ["ZhangSan"]);
    assert_eq!(hints.without_customer_contact, ["WangWu"]);
    assert_eq!(hints.not_real_name, ["ZhaoLiu"]);
}

#[tokio::test]
async fn the_example_json_form_loads_too() {
    let yaml = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/company.yaml")).unwrap();
    let data = CompanyData::from_yaml_str(&yaml).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("company.json");
    std::fs::write(&path, serde_json::to_string_pretty(&data).unwrap()).unwrap();
    let sim = start_with(config().data(DataSource::File(path))).await;
    assert_eq!(sim.hints().chats, 4);
    // Bad files are reported, naming the field.
    std::fs::write(dir.path().join("bad.yaml"), "staff: [{userid: a, resigend: true}]").unwrap();
    let error = Simulator::start(config().data(DataSource::File(dir.path().join("bad.yaml")))).await.unwrap_err();
    assert!(error.to_string().contains("resigend"), "{error}");
}

#[tokio::test]
async fn the_demo_company_depends_only_on_the_seed() {
    let a = start_with(SimConfig::default().seed(1)).await;
    let b = start_with(SimConfig::default().seed(1)).await;
    let c = start_with(SimConfig::default().seed(2)).await;
    assert_eq!(a.hints(), b.hints());
    assert_ne!(a.hints(), c.hints());
    let first = a.hints().resigned_owners[0].chat_ids[0].clone();
    assert_eq!(a.group_chat(&first), b.group_chat(&first));
    let hints = a.hints();
    assert_eq!((hints.staff, hints.chats), (40, 300));
    assert_eq!(hints.resigned_staff.len(), 6);
    assert_eq!(hints.join_way_config_ids.len(), 3);
}

#[tokio::test]
async fn large_generated_companies_serve_every_chat() {
    let scale = Scale::groups(10_000).large_group_members(500);
    let sim = start_with(config().data(DataSource::Scale(scale))).await;
    let client = client(&sim);
    let chats: Vec<_> = client.list_stream(ListRequest::new(1000)).try_collect().await.unwrap();
    assert_eq!(chats.len(), 10_000);
    let big = client.get(&GetRequest::new(&chats[0].chat_id)).await.unwrap().group_chat;
    assert_eq!(big.member_list.unwrap().len(), 500);
    let small = client.get(&GetRequest::new(&chats[1].chat_id)).await.unwrap().group_chat;
    assert_eq!(small.member_list.unwrap().len(), 3);
    assert_eq!(sim.hints().staff, 100);
}
