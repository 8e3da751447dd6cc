//! `join-way add|get|update|del`: "join group chat" configurations, with a flag for every field.

use serde_json::json;
use wecom_groupchat::Client;
use wecom_groupchat::types::{
    AddJoinWayRequest, AutoCreateRoom, DelJoinWayRequest, GetJoinWayRequest, JoinWay, JoinWayScene,
    UpdateJoinWayRequest,
};

use crate::args::{Global, JoinWayCommand, JoinWayFields, Output, Scene};
use crate::commands;
use crate::commands::get::named;
use crate::failure::{Failure, Outcome};
use crate::output::{self, Rows};

fn scene(s: Scene) -> JoinWayScene {
    match s {
        Scene::MiniProgram => JoinWayScene::MiniProgram,
        Scene::QrCode => JoinWayScene::QrCode,
    }
}

fn auto(b: bool) -> AutoCreateRoom {
    if b { AutoCreateRoom::Yes } else { AutoCreateRoom::No }
}

/// The fields WeCom requires, from the flags. `hint` ends the message (how else to get them).
fn required(fields: &JoinWayFields, hint: &str) -> Result<(JoinWayScene, Vec<String>), Failure> {
    let Some(s) = fields.scene else {
        return Err(Failure::Usage(format!("--scene is required (mini-program or qr-code){hint}")));
    };
    if fields.chat_ids.is_empty() {
        return Err(Failure::Usage(format!("--chat-id is required (1 to 5 chats, repeat the flag){hint}")));
    }
    Ok((scene(s), fields.chat_ids.clone()))
}

const MERGE_HINT: &str = "; or --merge to keep the current values of the fields not given";

pub async fn run(global: &Global, command: JoinWayCommand) -> Outcome {
    let format = output::resolve(global.output);
    match command {
        JoinWayCommand::Add(fields) => {
            let (s, chats) = required(&fields, "")?;
            let mut request = AddJoinWayRequest::new(s, chats);
            request.remark = fields.remark;
            request.auto_create_room = fields.auto_create_room.map(auto);
            request.room_base_name = fields.room_base_name;
            request.room_base_id = fields.room_base_id;
            request.state = fields.state;
            request.mark_source = fields.mark_source;
            let created = commands::client(global)?.add_join_way(&request).await?;
            match format {
                Output::Json => output::json_line(&json!({"config_id": created.config_id})),
                _ => output::line(&created.config_id),
            }
        }
        JoinWayCommand::Get(arg) => {
            let way = commands::client(global)?.get_join_way(&GetJoinWayRequest::new(arg.config_id)).await?.join_way;
            print_join_way(&way, format)
        }
        JoinWayCommand::Update(args) => {
            // Input first: a usage error needs no credentials.
            let replacement = if args.merge { None } else { Some(required(&args.fields, MERGE_HINT)?) };
            let client = commands::client(global)?;
            let request = match replacement {
                None => merged(&client, &args.config_id, args.fields).await?,
                Some((s, chats)) => {
                    let mut request = UpdateJoinWayRequest::new(args.config_id.clone(), s, chats);
                    overlay(&mut request, args.fields);
                    request
                }
            };
            client.update_join_way(&request).await?;
            eprintln!("updated {}", args.config_id);
            Ok(())
        }
        JoinWayCommand::Del(arg) => {
            commands::client(global)?.del_join_way(&DelJoinWayRequest::new(arg.config_id.clone())).await?;
            eprintln!("deleted {}", arg.config_id);
            Ok(())
        }
    }
}

fn overlay(request: &mut UpdateJoinWayRequest, fields: JoinWayFields) {
    if let Some(s) = fields.scene {
        request.scene = scene(s);
    }
    if !fields.chat_ids.is_empty() {
        request.chat_id_list = fields.chat_ids;
    }
    request.remark = fields.remark.or(request.remark.take());
    request.auto_create_room = fields.auto_create_room.map(auto).or(request.auto_create_room);
    request.room_base_name = fields.room_base_name.or(request.room_base_name.take());
    request.room_base_id = fields.room_base_id.or(request.room_base_id);
    request.state = fields.state.or(request.state.take());
    request.mark_source = fields.mark_source.or(request.mark_source);
}

/// WeCom overwrites the whole config on update: start from the current one so unset flags keep their values.
async fn merged(client: &Client, config_id: &str, fields: JoinWayFields) -> Result<UpdateJoinWayRequest, Failure> {
    let current = client.get_join_way(&GetJoinWayRequest::new(config_id)).await?.join_way;
    let mut request = UpdateJoinWayRequest::new(
        config_id,
        current.scene.unwrap_or(JoinWayScene::QrCode),
        current.chat_id_list.clone().unwrap_or_default(),
    );
    request.remark = current.remark;
    request.auto_create_room = current.auto_create_room;
    request.room_base_name = current.room_base_name;
    request.room_base_id = current.room_base_id;
    request.state = current.state;
    request.mark_source = current.mark_source;
    overlay(&mut request, fields);
    Ok(request)
}

fn print_join_way(way: &JoinWay, format: Output) -> Outcome {
    if format == Output::Json {
        return output::json_line(way);
    }
    let mut rows = Rows::new(&["field", "value"]);
    rows.push(vec![json!("config_id"), json!(way.config_id)]);
    rows.push(vec![json!("scene"), named(way.scene)]);
    rows.push(vec![json!("remark"), json!(way.remark)]);
    rows.push(vec![json!("auto_create_room"), named(way.auto_create_room)]);
    rows.push(vec![json!("room_base_name"), json!(way.room_base_name)]);
    rows.push(vec![json!("room_base_id"), json!(way.room_base_id)]);
    rows.push(vec![json!("chat_id_list"), json!(way.chat_id_list.clone().unwrap_or_default().join(", "))]);
    rows.push(vec![json!("qr_code"), json!(way.qr_code)]);
    rows.push(vec![json!("state"), json!(way.state)]);
    rows.push(vec![json!("mark_source"), json!(way.mark_source)]);
    rows.print(format)
}
