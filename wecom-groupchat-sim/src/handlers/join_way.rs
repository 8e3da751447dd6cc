//! `add_join_way`, `get_join_way`, `update_join_way` (overwrite), `del_join_way`.
//!
//! The generated `Validate` already answers the spec's errcodes for its limits (too many chats, a state or
//! a room_base_name too long); here the remark is cut as the spec says, unknown chats are refused, config
//! ids are unique and `qr_code` exists only for QR-code configs. The config's fields come through the
//! generated glue (`join_way_config`, `set_join_way_config`), so a field added to the spec is stored and
//! answered with no code here.

use wecom_groupchat::codes;
use wecom_groupchat::types::{
    AddJoinWayRequest, AddJoinWayResponse, DelJoinWayRequest, DelJoinWayResponse, GetJoinWayRequest,
    GetJoinWayResponse, JoinWay, JoinWayConfig, JoinWayScene, UpdateJoinWayRequest, UpdateJoinWayResponse,
};

use super::{CallCtx, Handle};
use crate::answer::Failure;
use crate::company::{Company, generate_config_id, qr_code_url};

/// The stored config of an add or an update: overwrite semantics, so every field comes from the request,
/// as the server keeps it — the remark cut, the defaults applied, a QR code for a QR-code config.
fn into_join_way(c: &Company, config_id: String, config: JoinWayConfig) -> Result<JoinWay, Failure> {
    for chat in config.chat_id_list.iter().flatten() {
        if c.chat_id(chat).is_none() {
            return Err(Failure::new(codes::CHAT_NOT_FOUND, format!("chat_id_list: `{chat}` does not exist")));
        }
    }
    let auto_create_room = config.auto_create_room_or_default();
    let mut way = JoinWay::new(config_id);
    way.set_join_way_config(config);
    way.auto_create_room = Some(auto_create_room);
    way.remark = way.remark.map(|r| r.chars().take(JoinWayConfig::REMARK_TRUNCATED_CHARS).collect());
    if way.scene == Some(JoinWayScene::QrCode) {
        way.qr_code = Some(qr_code_url(&way.config_id));
    }
    Ok(way)
}

fn unknown_config(config_id: &str) -> Failure {
    Failure::new(codes::INVALID_PARAMETER, format!("config_id `{config_id}` does not exist"))
}

impl Handle for AddJoinWayRequest {
    fn handle(self, c: &mut Company, _ctx: &CallCtx) -> Result<AddJoinWayResponse, Failure> {
        let config_id = generate_config_id(c);
        let way = into_join_way(c, config_id.clone(), self.join_way_config())?;
        c.join_ways.insert(config_id.clone(), way);
        Ok(AddJoinWayResponse::new(config_id))
    }
}

impl Handle for GetJoinWayRequest {
    fn handle(self, c: &mut Company, _ctx: &CallCtx) -> Result<GetJoinWayResponse, Failure> {
        let way = c.join_ways.get(&self.config_id).ok_or_else(|| unknown_config(&self.config_id))?;
        Ok(GetJoinWayResponse::new(way.clone()))
    }
}

impl Handle for UpdateJoinWayRequest {
    fn handle(self, c: &mut Company, _ctx: &CallCtx) -> Result<UpdateJoinWayResponse, Failure> {
        if !c.join_ways.contains_key(&self.config_id) {
            return Err(unknown_config(&self.config_id));
        }
        let config_id = self.config_id.clone();
        let way = into_join_way(c, config_id.clone(), self.join_way_config())?;
        c.join_ways.insert(config_id, way);
        Ok(UpdateJoinWayResponse::new())
    }
}

impl Handle for DelJoinWayRequest {
    fn handle(self, c: &mut Company, _ctx: &CallCtx) -> Result<DelJoinWayResponse, Failure> {
        c.join_ways.remove(&self.config_id).ok_or_else(|| unknown_config(&self.config_id))?;
        Ok(DelJoinWayResponse::new())
    }
}
