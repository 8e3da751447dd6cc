//! (9) Callback decoding: what opening one WeCom event POST costs, on one thread. The event is a
//! `change_external_chat` `add_member` with 10 members in the self-built-app form, sealed as WeCom seals
//! it (a few pre-sealed messages, cycled through). Per event: parse the envelope for `Encrypt`, verify
//! `msg_signature`, base64-decode, AES-256-CBC-decrypt, strip the PKCS#7 (32) padding, check `msg_len` and
//! the receive id, parse the decrypted XML and decode it into a [`BenchEvent`].
//!
//! Three sides on the same messages: the floor ([`crate::callback_floor`], written plainly for the bench),
//! ours (`CallbackCrypto::decrypt_post`, `xml::parse` and [`decode_ours`]) and wechatpy
//! (`WeChatCrypto.decrypt_message` and `parse_message`, in Python, `peer/wechatpy_callback.py`), each of
//! which must decode every message into the same fields before anything is timed.

use serde::{Deserialize, Serialize};
use wecom_groupchat::callback::CallbackCrypto;

use crate::callback_floor::Floor;

/// The app's Token.
pub const TOKEN: &str = "cbenchT0kenQDG6eK";
/// The app's EncodingAESKey (the official sample key: its last character carries trailing bits).
pub const ENCODING_AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
/// The receive id: for a corp's own app, the corp id.
pub const CORP_ID: &str = "ww55ca070cb9b7eb22";
/// The envelope's `AgentID`.
pub const AGENT_ID: &str = "1000002";
/// Members joining in each event (`MemChangeCnt`, the `<Item>`s of `MemChangeList`).
pub const MEMBERS: usize = 10;
/// Target: our time per event (median) at most this many times the floor's.
pub const RATIO_TARGET: f64 = 1.2;
/// Target: at least this many events per second on one core (ours, from the mean time per event).
pub const RATE_TARGET: f64 = 80_000.0;
/// The wechatpy script, relative to the workspace root.
pub const SCRIPT: &str = "wecom-groupchat-bench/peer/wechatpy_callback.py";

/// The event's fields, as each side decodes them. The JSON names are the XML names (the wechatpy script
/// reports its dicts in this shape).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BenchEvent {
    /// The corp id.
    pub to_user_name: String,
    /// Always `sys`.
    pub from_user_name: String,
    /// Seconds.
    pub create_time: i64,
    /// `event`.
    pub msg_type: String,
    /// `change_external_chat`.
    pub event: String,
    /// The chat.
    pub chat_id: String,
    /// `create`, `update`, `dismiss`.
    pub change_type: String,
    /// `add_member`, `del_member` …
    pub update_detail: Option<String>,
    /// How the members joined.
    pub join_scene: Option<i64>,
    /// How members left.
    pub quit_scene: Option<i64>,
    /// How many members changed.
    pub mem_change_cnt: Option<i64>,
    /// The members who changed (`<Item>`s).
    pub mem_change_list: Option<Vec<String>>,
    /// The member-list version before the change.
    pub last_mem_ver: Option<String>,
    /// The member-list version after it.
    pub cur_mem_ver: Option<String>,
}

/// What WeCom sends for one event: the query's `msg_signature`, `timestamp`, `nonce`, and the body.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// `msg_signature`.
    pub signature: String,
    /// `timestamp`.
    pub timestamp: String,
    /// `nonce`.
    pub nonce: String,
    /// `<xml><ToUserName/><AgentID/><Encrypt/></xml>`.
    pub body: String,
}

/// The messages of a run and what they must decode to.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The sealed messages.
    pub deliveries: Vec<Delivery>,
    /// The event each one carries.
    pub expected: Vec<BenchEvent>,
    /// Size of the first decrypted XML.
    pub xml_bytes: usize,
    /// Size of the first POST body.
    pub body_bytes: usize,
}

/// Our side's configuration.
pub fn crypto() -> Result<CallbackCrypto, String> {
    CallbackCrypto::new(TOKEN, ENCODING_AES_KEY, CORP_ID).map_err(|e| e.to_string())
}

/// The floor's configuration: the same three values.
pub fn floor() -> Result<Floor, String> {
    Floor::new(TOKEN, ENCODING_AES_KEY, CORP_ID)
}

/// `n` events sealed with [`crypto`], each with its own chat, members, versions, time and nonce.
pub fn workload(n: usize) -> Result<Workload, String> {
    let crypto = crypto()?;
    let mut deliveries = Vec::with_capacity(n);
    let mut expected = Vec::with_capacity(n);
    for i in 0..n.max(1) {
        let event = event(i);
        let xml = event_xml(&event);
        let timestamp = (event.create_time + 1).to_string();
        let nonce = format!("{}", 1_320_562_132 + i * 7919);
        let sealed = crypto.encrypt(&xml, &timestamp, &nonce).map_err(|e| e.to_string())?;
        deliveries.push(Delivery {
            body: sealed.post_body(CORP_ID, Some(AGENT_ID)),
            signature: sealed.signature,
            timestamp,
            nonce,
        });
        expected.push(event);
    }
    let xml_bytes = event_xml(&expected[0]).len();
    let body_bytes = deliveries[0].body.len();
    Ok(Workload { deliveries, expected, xml_bytes, body_bytes })
}

/// The `i`-th event: an `add_member` of [`MEMBERS`] external contacts who scanned the group's QR code.
pub fn event(i: usize) -> BenchEvent {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut text = |prefix: &str, len: usize, alphabet: &[u8]| {
        let mut s = String::with_capacity(prefix.len() + len);
        s.push_str(prefix);
        for _ in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push(char::from(alphabet[(seed % alphabet.len() as u64) as usize]));
        }
        s
    };
    const ID: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const HEX: &[u8] = b"0123456789abcdef";
    let chat_id = text("wrOgQhDgAA", 22, ID);
    let members: Vec<String> = (0..MEMBERS).map(|_| text("wmOgQhDgAA", 22, ID)).collect();
    BenchEvent {
        to_user_name: CORP_ID.into(),
        from_user_name: "sys".into(),
        create_time: 1_764_115_200 + i as i64 * 61,
        msg_type: "event".into(),
        event: "change_external_chat".into(),
        chat_id,
        change_type: "update".into(),
        update_detail: Some("add_member".into()),
        join_scene: Some(3),
        quit_scene: Some(0),
        mem_change_cnt: Some(MEMBERS as i64),
        mem_change_list: Some(members),
        last_mem_ver: Some(text("", 32, HEX)),
        cur_mem_ver: Some(text("", 32, HEX)),
    }
}

/// The decrypted message WeCom sends for `event`: the documented layout (tabs and newlines), strings
/// in CDATA as real payloads have them, numbers as text.
pub fn event_xml(event: &BenchEvent) -> String {
    use std::fmt::Write as _;
    let mut x = String::with_capacity(1024);
    let cdata = |x: &mut String, name: &str, value: &str| {
        let _ = writeln!(x, "\t<{name}><![CDATA[{value}]]></{name}>");
    };
    let number = |x: &mut String, name: &str, value: i64| {
        let _ = writeln!(x, "\t<{name}>{value}</{name}>");
    };
    x.push_str("<xml>\n");
    cdata(&mut x, "ToUserName", &event.to_user_name);
    cdata(&mut x, "FromUserName", &event.from_user_name);
    number(&mut x, "CreateTime", event.create_time);
    cdata(&mut x, "MsgType", &event.msg_type);
    cdata(&mut x, "Event", &event.event);
    cdata(&mut x, "ChatId", &event.chat_id);
    cdata(&mut x, "ChangeType", &event.change_type);
    if let Some(v) = &event.update_detail {
        cdata(&mut x, "UpdateDetail", v);
    }
    for (name, value) in
        [("JoinScene", event.join_scene), ("QuitScene", event.quit_scene), ("MemChangeCnt", event.mem_change_cnt)]
    {
        if let Some(v) = value {
            number(&mut x, name, v);
        }
    }
    if let Some(list) = &event.mem_change_list {
        x.push_str("\t<MemChangeList>\n");
        for item in list {
            let _ = writeln!(x, "\t\t<Item><![CDATA[{item}]]></Item>");
        }
        x.push_str("\t</MemChangeList>\n");
    }
    for (name, value) in [("LastMemVer", &event.last_mem_ver), ("CurMemVer", &event.cur_mem_ver)] {
        if let Some(v) = value {
            cdata(&mut x, name, v);
        }
    }
    x.push_str("</xml>");
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_opens_every_message() {
        let work = workload(4).unwrap();
        let mut floor = floor().unwrap();
        for (delivery, expected) in work.deliveries.iter().zip(&work.expected) {
            assert_eq!(&floor.open(delivery).unwrap(), expected);
        }
        assert_eq!(work.expected[0].mem_change_list.as_ref().map(Vec::len), Some(MEMBERS));
        assert_ne!(work.expected[0], work.expected[1]);
        // A wrong signature, a wrong receive id are refused.
        let mut forged = work.deliveries[0].clone();
        forged.signature = work.deliveries[1].signature.clone();
        assert!(floor.open(&forged).is_err());
        let mut other = Floor::new(TOKEN, ENCODING_AES_KEY, "ww0000000000000000").unwrap();
        assert!(other.open(&work.deliveries[0]).is_err());
    }
}
