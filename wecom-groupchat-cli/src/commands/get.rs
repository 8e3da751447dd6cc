//! `get CHAT_ID [--names]`: one group with its members.

use serde_json::json;
use wecom_groupchat::time;
use wecom_groupchat::types::{GetRequest, NeedName};

use crate::args::{GetArgs, Global, Output};
use crate::commands;
use crate::failure::Outcome;
use crate::output::{self, Rows, code_and_name};

/// An enum value with its name, e.g. `1 (Internal)` (the demo's tables).
#[cfg(feature = "simulator")]
pub fn named<E: wecom_groupchat::wire::WireEnum>(value: Option<E>) -> serde_json::Value {
    match value {
        Some(v) => match v.name() {
            Some(name) => json!(format!("{} ({name})", v.value())),
            None => json!(v.value()),
        },
        None => serde_json::Value::Null,
    }
}

/// A Unix time as `YYYY-MM-DD hh:mm:ss` in UTC+8.
pub fn datetime(ts: Option<i64>) -> serde_json::Value {
    match ts {
        Some(ts) => {
            let secs = (ts.rem_euclid(time::DAY) + time::DAY_UTC_OFFSET_SECONDS).rem_euclid(time::DAY);
            json!(format!("{} {:02}:{:02}:{:02}", time::format_day(ts), secs / 3600, secs / 60 % 60, secs % 60))
        }
        None => serde_json::Value::Null,
    }
}

pub async fn run(global: &Global, args: GetArgs) -> Outcome {
    let mut request = GetRequest::new(args.chat_id);
    if args.names {
        request = request.need_name(NeedName::Yes);
    }
    let format = output::resolve(global.output);
    let chat = commands::client(global)?.get(&request).await?.group_chat;
    if format == Output::Json {
        return output::json_line(&chat);
    }
    if format == Output::Table {
        let mut about = Rows::new(&["field", "value"]);
        about.push(vec![json!("chat_id"), json!(chat.chat_id)]);
        about.push(vec![json!("name"), json!(chat.name)]);
        about.push(vec![json!("owner"), json!(chat.owner)]);
        about.push(vec![json!("create_time"), datetime(chat.create_time)]);
        about.push(vec![json!("notice"), json!(chat.notice)]);
        about.push(vec![json!("members"), json!(chat.member_list.as_ref().map_or(0, Vec::len))]);
        about.push(vec![
            json!("admins"),
            json!(chat.admin_list.iter().flatten().filter_map(|a| a.userid.as_deref()).collect::<Vec<_>>().join(", ")),
        ]);
        about.push(vec![json!("member_version"), json!(chat.member_version)]);
        about.print(format)?;
    }
    // The name columns came after the others: they go last, so scripts reading columns by position still work.
    let mut members = Rows::new(&[
        "userid",
        "type",
        "name",
        "group_nickname",
        "join_time",
        "join_scene",
        "invitor",
        "unionid",
        "state",
        "type_name",
        "join_scene_name",
    ]);
    for m in chat.member_list.iter().flatten() {
        let [member_type, type_name] = code_and_name(m.member_type);
        let [join_scene, join_scene_name] = code_and_name(m.join_scene);
        members.push(vec![
            json!(m.userid),
            member_type,
            json!(m.name),
            json!(m.group_nickname),
            datetime(m.join_time),
            join_scene,
            json!(m.invitor.as_ref().map(|i| i.userid.clone())),
            json!(m.unionid),
            json!(m.state),
            type_name,
            join_scene_name,
        ]);
    }
    members.print(format)
}
