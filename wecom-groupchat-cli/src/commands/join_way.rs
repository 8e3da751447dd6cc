//! `join-way add|get|update|del`: "join group chat" configurations, with a flag for every field.

use serde_json::json;
use wecom_groupchat::types::{
    AddJoinWayRequest, AutoCreateRoom, DelJoinWayRequest, GetJoinWayRequest, JoinWay, JoinWayScene,
    UpdateJoinWayRequest,
};
use wecom_groupchat::validate::Validate;
use wecom_groupchat::{Client, ValidationError};

use crate::args::{Global, JoinWayCommand, JoinWayFields, OptionalField, Output, Scene, UpdateJoinWayArgs};
use crate::commands;
use crate::failure::{Failure, Outcome};
use crate::output::{self, Rows, code_and_name};

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
        JoinWayCommand::Update(args) => update(global, args).await,
        JoinWayCommand::Del(arg) => {
            let request = DelJoinWayRequest::new(arg.config_id.clone());
            request.validate().map_err(|e| Failure::Usage(format!("del_join_way: invalid request: {e}")))?;
            let client = commands::client(global)?;
            commands::transfer::confirm(&format!("delete join way {}?", arg.config_id), arg.yes)?;
            client.del_join_way(&request).await?;
            eprintln!("deleted {}", arg.config_id);
            Ok(())
        }
    }
}

async fn update(global: &Global, args: UpdateJoinWayArgs) -> Outcome {
    let UpdateJoinWayArgs { config_id, fields, merge, clear } = args;
    if let Some(field) = clear.iter().find(|f| is_given(&fields, **f)) {
        let flag = field.flag();
        let name = flag.trim_start_matches("--");
        return Err(Failure::Usage(format!("--clear {name} and {flag} contradict each other: give one")));
    }
    let invalid = |e: ValidationError| Failure::Usage(format!("update_join_way: invalid request: {e}"));
    let request = if merge {
        // The flags' own limits, before reading the current config: the scene and chats not given are
        // stand-ins here (the current ones are checked with the rest once merged).
        let mut given = UpdateJoinWayRequest::new(
            config_id.clone(),
            fields.scene.map_or(JoinWayScene::QrCode, scene),
            if fields.chat_ids.is_empty() { vec!["(current)".to_string()] } else { fields.chat_ids.clone() },
        );
        overlay(&mut given, fields.clone());
        given.validate().map_err(invalid)?;
        None
    } else {
        let (s, chats) = required(&fields, MERGE_HINT)?;
        let mut request = UpdateJoinWayRequest::new(config_id.clone(), s, chats);
        overlay(&mut request, fields.clone());
        request.validate().map_err(invalid)?;
        Some(request)
    };
    let client = commands::client(global)?;
    let request = match request {
        Some(request) => request,
        None => merged(&client, &config_id, fields, &clear).await?,
    };
    client.update_join_way(&request).await?;
    eprintln!("updated {config_id}");
    Ok(())
}

fn is_given(fields: &JoinWayFields, field: OptionalField) -> bool {
    match field {
        OptionalField::Remark => fields.remark.is_some(),
        OptionalField::AutoCreateRoom => fields.auto_create_room.is_some(),
        OptionalField::RoomBaseName => fields.room_base_name.is_some(),
        OptionalField::RoomBaseId => fields.room_base_id.is_some(),
        OptionalField::State => fields.state.is_some(),
        OptionalField::MarkSource => fields.mark_source.is_some(),
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

/// WeCom overwrites the whole config on update: start from the current one so unset flags keep their
/// values, and `--clear` ones lose them.
async fn merged(
    client: &Client,
    config_id: &str,
    fields: JoinWayFields,
    clear: &[OptionalField],
) -> Result<UpdateJoinWayRequest, Failure> {
    let current = client.get_join_way(&GetJoinWayRequest::new(config_id)).await?.join_way;
    // Guessing a scene or chats the server did not report would change the config behind the user's back.
    // The read has been made by now, so this is the answer's failing (exit 3), not the user's input (exit 2).
    let Some(current_scene) = fields.scene.map(scene).or(current.scene) else {
        return Err(Failure::Incomplete(format!(
            "join way {config_id}: WeCom's answer has no scene, which the merge needs: pass --scene (mini-program \
             or qr-code)"
        )));
    };
    let current_chats = current.chat_id_list.clone().unwrap_or_default();
    if fields.chat_ids.is_empty() && current_chats.is_empty() {
        return Err(Failure::Incomplete(format!(
            "join way {config_id}: WeCom's answer lists no chats, which the merge needs: pass --chat-id"
        )));
    }
    let mut request = UpdateJoinWayRequest::new(config_id, current_scene, current_chats);
    request.remark = current.remark;
    request.auto_create_room = current.auto_create_room;
    request.room_base_name = current.room_base_name;
    request.room_base_id = current.room_base_id;
    request.state = current.state;
    request.mark_source = current.mark_source;
    overlay(&mut request, fields);
    for field in clear {
        match field {
            OptionalField::Remark => request.remark = None,
            OptionalField::AutoCreateRoom => request.auto_create_room = None,
            OptionalField::RoomBaseName => request.room_base_name = None,
            OptionalField::RoomBaseId => request.room_base_id = None,
            OptionalField::State => request.state = None,
            OptionalField::MarkSource => request.mark_source = None,
        }
    }
    Ok(request)
}

/// One row per field: the value as WeCom has it, and the name of an enum value in the last column (as
/// `list` and `get` print them).
fn print_join_way(way: &JoinWay, format: Output) -> Outcome {
    if format == Output::Json {
        return output::json_line(way);
    }
    let plain = |value: serde_json::Value| [value, serde_json::Value::Null];
    let fields = [
        ("config_id", plain(json!(way.config_id))),
        ("type", plain(json!(way.join_way_type))),
        ("scene", code_and_name(way.scene)),
        ("remark", plain(json!(way.remark))),
        ("auto_create_room", code_and_name(way.auto_create_room)),
        ("room_base_name", plain(json!(way.room_base_name))),
        ("room_base_id", plain(json!(way.room_base_id))),
        ("chat_id_list", plain(json!(way.chat_id_list.clone().unwrap_or_default().join(", ")))),
        ("qr_code", plain(json!(way.qr_code))),
        ("state", plain(json!(way.state))),
        ("mark_source", plain(json!(way.mark_source))),
    ];
    let mut rows = Rows::new(&["field", "value", "name"]);
    for (field, [value, name]) in fields {
        rows.push(vec![json!(field), value, name]);
    }
    rows.print(format)
}
