//! Typed callback events (generated from `api-spec/callbacks.yaml` and `api-spec/events/`): every
//! documented example reads into its type and writes back to the same message; unknown values, elements
//! and events are kept; a message that does not read as its type loses nothing.

use serde_json::json;
use wecom_groupchat::callback::dedupe::dedupe_key;
use wecom_groupchat::callback::xml::{self, Element};
use wecom_groupchat::callback::{EventError, RawEvent};
use wecom_groupchat::events::{
    AppHeader, CallbackEvent, ChangeExternalChat, ChangeType, EXAMPLES, Event, EventJoinScene, Form, Header, QuitScene,
    ThirdPartyHeader, UpdateDetail,
};

fn read(xml: &str) -> CallbackEvent {
    CallbackEvent::decode(xml::parse(xml).expect("well-formed"))
}

fn change(event: &CallbackEvent) -> &ChangeExternalChat {
    match &event.event {
        Event::ChangeExternalChat(change) => change,
        other => panic!("not a change_external_chat: {other:?}"),
    }
}

#[test]
fn every_example_reads_typed_and_writes_back_the_same_message() {
    assert!(!EXAMPLES.is_empty());
    for example in EXAMPLES {
        let event = read(example.xml);
        assert_eq!(event.name(), example.event, "{}", example.name);
        assert!(event.header.is_some(), "{}: no header", example.name);
        if let Event::Other(raw) = &event.event {
            panic!("{}: not typed: {raw:?}", example.name);
        }
        if let Event::ChangeExternalChat(change) = &event.event {
            assert!(change.extra.is_empty(), "{}: elements the spec misses: {:?}", example.name, change.extra);
        }
        let written = event.to_xml();
        assert_eq!(read(&written), event, "{}", example.name);
        // Same message, same dedupe key, whatever the order and CDATA of the writing.
        let (a, b) = (xml::parse(example.xml).unwrap(), xml::parse(&written).unwrap());
        assert_eq!(sorted(a.children()), sorted(b.children()), "{}", example.name);
    }
}

fn sorted(elements: &[Element]) -> Vec<Element> {
    let mut v = elements.to_vec();
    v.sort_by(|a, b| a.name().cmp(b.name()));
    v
}

#[test]
fn the_official_sample_reads_every_element() {
    let event = read(EXAMPLES.iter().find(|e| e.name == "add_member").unwrap().xml);
    let Some(Header::App(header)) = &event.header else { panic!("{:?}", event.header) };
    assert_eq!(header.to_user_name, "ww55ca070cb9b7eb22");
    assert_eq!(header.from_user_name, "sys");
    assert_eq!(header.create_time, 1403610513);
    assert_eq!(header.msg_type, "event");
    let c = change(&event);
    assert_eq!(c.chat_id, "wrx7HUARsKwGRaQBVKPBTcEyzdHA4HrQ");
    assert_eq!(c.change_type, ChangeType::Update);
    assert_eq!(c.update_detail, Some(UpdateDetail::AddMember));
    // The sample's 1 is not a documented JoinScene: kept, not refused.
    assert_eq!(c.join_scene, Some(EventJoinScene::Unknown(1)));
    assert_eq!(c.quit_scene, Some(QuitScene::Left));
    assert_eq!(c.mem_change_cnt, Some(10));
    assert_eq!(c.mem_change_list.as_deref(), Some(&["Jack".to_string(), "Rose".to_string()][..]));
    assert_eq!(c.last_mem_ver.as_deref(), Some("9c3f97c2ada667dfb5f6d03308d963e1"));
    assert_eq!(c.cur_mem_ver.as_deref(), Some("71217227bbd112ecfe3a49c482195cb4"));
    assert_eq!(event.reply(), "");

    let json = serde_json::Value::Object(event.to_json());
    assert_eq!(
        json,
        json!({
            "to_user_name": "ww55ca070cb9b7eb22", "from_user_name": "sys", "create_time": 1403610513,
            "msg_type": "event", "event": "change_external_chat", "chat_id": "wrx7HUARsKwGRaQBVKPBTcEyzdHA4HrQ",
            "change_type": "update", "update_detail": "add_member", "join_scene": 1, "quit_scene": 0,
            "mem_change_cnt": 10, "mem_change_list": ["Jack", "Rose"],
            "last_mem_ver": "9c3f97c2ada667dfb5f6d03308d963e1", "cur_mem_ver": "71217227bbd112ecfe3a49c482195cb4"
        })
    );
}

#[test]
fn the_third_party_form_has_its_own_header_and_reply() {
    let event = read(EXAMPLES.iter().find(|e| e.name == "create_third_party").unwrap().xml);
    let Some(Header::ThirdParty(header)) = &event.header else { panic!("{:?}", event.header) };
    assert_eq!(header.suite_id, "ww4asffe99e54c0f4c");
    assert_eq!(header.auth_corp_id.as_deref(), Some("wxf8b4f85f3a794e77"));
    assert_eq!(header.time_stamp, 1403610513);
    assert_eq!(event.reply(), "success");
    assert_eq!(change(&event).change_type, ChangeType::Create);
    let json = event.to_json();
    assert_eq!(json["info_type"], "change_external_chat");
    assert_eq!(json["suite_id"], "ww4asffe99e54c0f4c");
    assert!(!json.contains_key("event"));
}

#[test]
fn unknown_values_and_elements_are_kept_and_written_back() {
    let event = read(
        "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>7</CreateTime>\
         <MsgType>event</MsgType><Event>change_external_chat</Event><ChatId>c1</ChatId>\
         <ChangeType>archive</ChangeType><UpdateDetail>change_avatar</UpdateDetail><JoinScene>9</JoinScene>\
         <NewThing><![CDATA[x]]></NewThing><Tags><Tag>a</Tag><Tag>b</Tag></Tags></xml>",
    );
    let c = change(&event);
    assert_eq!(c.change_type, ChangeType::Unknown("archive".into()));
    assert_eq!(c.change_type.as_str(), "archive");
    assert_eq!(c.update_detail, Some(UpdateDetail::Unknown("change_avatar".into())));
    assert_eq!(c.join_scene, Some(EventJoinScene::Unknown(9)));
    assert_eq!(c.extra.iter().map(Element::name).collect::<Vec<_>>(), ["NewThing", "Tags"]);
    let again = read(&event.to_xml());
    assert_eq!(again, event);
    let json = event.to_json();
    assert_eq!(json["change_type"], "archive");
    assert_eq!(json["new_thing"], "x");
    assert_eq!(json["tags"], json!(["a", "b"]));
}

#[test]
fn member_lists_read_items_or_a_comma_separated_text() {
    let base = "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>7</CreateTime>\
                <MsgType>event</MsgType><Event>change_external_chat</Event><ChatId>c1</ChatId>\
                <ChangeType>update</ChangeType>";
    let items =
        read(&format!("{base}<MemChangeList><Item><![CDATA[u1]]></Item><Item> u2 </Item></MemChangeList></xml>"));
    assert_eq!(change(&items).mem_change_list.as_deref(), Some(&["u1".to_string(), "u2".to_string()][..]));
    let comma = read(&format!("{base}<MemChangeList><![CDATA[u1,u2]]></MemChangeList></xml>"));
    assert_eq!(change(&comma).mem_change_list, change(&items).mem_change_list);
    let empty = read(&format!("{base}<MemChangeList></MemChangeList></xml>"));
    assert_eq!(change(&empty).mem_change_list.as_deref(), Some(&[][..]));
}

#[test]
fn events_without_a_type_pass_through_with_every_element() {
    let xml = "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>7</CreateTime>\
               <MsgType>event</MsgType><Event>change_external_contact</Event><ChangeType>add_external_contact</ChangeType>\
               <UserID>zhangsan</UserID><ExternalUserID>woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA</ExternalUserID></xml>";
    let event = read(xml);
    assert!(matches!(event.header, Some(Header::App(_))));
    let Event::Other(raw) = &event.event else { panic!("{event:?}") };
    assert_eq!(raw.name, "change_external_contact");
    assert_eq!(raw.error, None);
    assert_eq!(raw.get("UserID"), Some("zhangsan"));
    assert_eq!(raw.elements.len(), 3);
    let json = event.to_json();
    assert_eq!(json["event"], "change_external_contact");
    assert_eq!(json["user_id"], "zhangsan");
    // Written back, it is the same message (same dedupe key up to element order).
    let again = xml::parse(&event.to_xml()).unwrap();
    assert_eq!(sorted(again.children()), sorted(xml::parse(xml).unwrap().children()));
}

#[test]
fn a_typed_event_that_does_not_read_is_kept_raw_with_the_reason() {
    let missing = read(
        "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>7</CreateTime>\
         <MsgType>event</MsgType><Event>change_external_chat</Event><ChangeType>create</ChangeType></xml>",
    );
    let Event::Other(RawEvent { name, elements, error, .. }) = &missing.event else { panic!("{missing:?}") };
    assert_eq!((name.as_str(), error), ("change_external_chat", &Some(EventError::Missing("ChatId"))));
    assert_eq!(elements.len(), 1);

    let not_int = read(
        "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>7</CreateTime>\
         <MsgType>event</MsgType><Event>change_external_chat</Event><ChatId>c</ChatId><ChangeType>update</ChangeType>\
         <MemChangeCnt>ten</MemChangeCnt></xml>",
    );
    // An optional element that does not read stays in `extra`; the event is still typed.
    let c = change(&not_int);
    assert_eq!((c.mem_change_cnt, c.extra.len()), (None, 1));
    assert_eq!(c.extra[0].name(), "MemChangeCnt");
    assert_eq!(read(&not_int.to_xml()), not_int);

    // A required element shaped otherwise: the event is kept raw, nothing dropped.
    let malformed = read(
        "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>7</CreateTime>\
         <MsgType>event</MsgType><Event>change_external_chat</Event><ChatId>c<Sub>x</Sub></ChatId>\
         <ChangeType>update</ChangeType></xml>",
    );
    let Event::Other(raw) = &malformed.event else { panic!("{malformed:?}") };
    assert_eq!(raw.error, Some(EventError::Malformed("ChatId")));
    assert_eq!(raw.elements.len(), 2, "nothing taken out of a message that does not read");
    assert_eq!(malformed.to_json()["decode_error"], "element `ChatId` is not shaped as its type");

    // A header that does not read: no header, every element in the raw event.
    let bad_header =
        read("<xml><Event>change_external_chat</Event><ChatId>c</ChatId><ChangeType>create</ChangeType></xml>");
    assert_eq!(bad_header.header, None);
    let Event::Other(raw) = &bad_header.event else { panic!("{bad_header:?}") };
    assert_eq!(raw.error, Some(EventError::Missing("ToUserName")));
    assert_eq!(raw.elements.len(), 2, "every element but the one naming the event");
    assert_eq!(bad_header.form, Some(Form::App));
    assert_eq!(bad_header.name(), "change_external_chat");
    assert_eq!(
        dedupe_key(&xml::parse(&bad_header.to_xml()).unwrap()),
        dedupe_key(
            &xml::parse(
                "<xml><Event>change_external_chat</Event><ChatId>c</ChatId><ChangeType>create</ChangeType></xml>"
            )
            .unwrap()
        )
    );

    // No element naming an event at all (a plain message): no header, an unnamed raw event.
    let plain = read("<xml><MsgType>text</MsgType><Content>hi</Content></xml>");
    assert_eq!((plain.header.as_ref(), plain.name(), plain.reply()), (None, "", ""));
}

#[test]
fn optional_elements_that_do_not_read_stay_as_received() {
    let base = "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>7</CreateTime>\
                <MsgType>event</MsgType><Event>change_external_chat</Event><ChatId>c1</ChatId>\
                <ChangeType>update</ChangeType>";
    for odd in [
        "<JoinScene></JoinScene>",
        "<JoinScene>three</JoinScene>",
        "<MemChangeList>x,y<Item>a</Item></MemChangeList>",
        "<MemChangeList><Item>a</Item><Other>o</Other></MemChangeList>",
        "<UpdateDetail>add_member<K>v</K></UpdateDetail>",
    ] {
        let event = read(&format!("{base}{odd}</xml>"));
        let c = change(&event);
        assert_eq!(c.extra.len(), 1, "{odd}: {c:?}");
        let written = xml::parse(&event.to_xml()).unwrap();
        let original = xml::parse(&format!("{base}{odd}</xml>")).unwrap();
        assert_eq!(sorted(written.children()), sorted(original.children()), "{odd}: an element was lost");
    }
}

#[test]
fn third_party_callbacks_without_a_corp_are_still_answered_success() {
    // suite_ticket (every 10 minutes) has no AuthCorpId; the reply comes from the form, not the header.
    let ticket = read(
        "<xml><SuiteId><![CDATA[ww4asffe99e54c0f4c]]></SuiteId><InfoType><![CDATA[suite_ticket]]></InfoType>\
         <TimeStamp>1403610513</TimeStamp><SuiteTicket><![CDATA[asdfasfdasdfasdf]]></SuiteTicket></xml>",
    );
    assert_eq!(ticket.form, Some(Form::ThirdParty));
    assert_eq!(ticket.reply(), "success");
    assert_eq!(ticket.name(), "suite_ticket");
    let broken = read("<xml><InfoType>suite_ticket</InfoType></xml>");
    assert_eq!((broken.header.as_ref(), broken.reply()), (None, "success"));
}

#[test]
fn events_built_in_code_write_what_wecom_sends() {
    let mut c = ChangeExternalChat::new("chat1", ChangeType::Update);
    c.update_detail = Some(UpdateDetail::DelMember);
    c.quit_scene = Some(QuitScene::Removed);
    c.mem_change_cnt = Some(1);
    c.mem_change_list = Some(vec!["u]]>1".into()]);
    c.last_mem_ver = Some("v1".into());
    c.cur_mem_ver = Some("v2".into());
    let event = CallbackEvent::new(AppHeader::new("ww1", 1_700_000_000), c.clone());
    let xml = event.to_xml();
    assert!(xml.starts_with("<xml><ToUserName><![CDATA[ww1]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[change_external_chat]]></Event><ChatId>"), "{xml}");
    let back = read(&xml);
    assert_eq!(back, event);
    assert_eq!(change(&back), &c);

    let third =
        CallbackEvent::new(ThirdPartyHeader::new("suite", 5), ChangeExternalChat::new("c", ChangeType::Dismiss));
    assert_eq!(read(&third.to_xml()), third);
}
