//! `add_join_way`, `get_join_way`, `update_join_way` (overwrite), `del_join_way`.
//!
//! The generated `Validate` already answers 41091 for more than 5 chats and 40058 for a state over 30
//! characters or a room_base_name over 40; here the remark is cut to 30 characters, unknown chats are
//! refused, config ids are unique and `qr_code` exists only for scene 2.

use wecom_groupchat::types::{
    AddJoinWayRequest, AddJoinWayResponse, AutoCreateRoom, DelJoinWayRequest, DelJoinWayResponse, GetJoinWayRequest,
    GetJoinWayResponse, JoinWay, JoinWayScene, UpdateJoinWayRequest, UpdateJoinWayResponse,
};

use super::chats::NO_SUCH_CHAT;
use super::{CallCtx, Handle, INVALID_PARAMETER};
use crate::answer::Failure;
use crate::company::{Company, generate_config_id, qr_code_url};

/// Characters of a remark kept; the rest is cut.
pub(crate) const REMARK_CHARS: usize = 30;

/// The fields a config is made of (add and update take the same ones).
struct Fields {
    scene: JoinWayScene,
    remark: Option<String>,
    auto_create_room: AutoCreateRoom,
    room_base_name: Option<String>,
    room_base_id: Option<i64>,
    chat_id_list: Vec<String>,
    state: Option<String>,
    mark_source: Option<bool>,
}

/// The `Fields` of an add or an update request: two generated types with the same config fields.
macro_rules! fields_of {
    ($request:expr) => {{
        let r = $request;
        Fields {
            // Read before the moves below.
            auto_create_room: r.auto_create_room_or_default(),
            scene: r.scene,
            remark: r.remark,
            room_base_name: r.room_base_name,
            room_base_id: r.room_base_id,
            chat_id_list: r.chat_id_list,
            state: r.state,
            mark_source: r.mark_source,
        }
    }};
}

impl Fields {
    /// The stored config: overwrite semantics, so every field comes from this request.
    fn into_join_way(self, c: &Company, config_id: String) -> Result<JoinWay, Failure> {
        for chat in &self.chat_id_list {
            if c.chat_id(chat).is_none() {
                return Err(Failure::new(NO_SUCH_CHAT, format!("chat_id_list: `{chat}` does not exist")));
            }
        }
        let mut way = JoinWay::new(config_id)
            .scene(self.scene)
            .auto_create_room(self.auto_create_room)
            .chat_id_list(self.chat_id_list);
        way.remark = self.remark.map(|r| r.chars().take(REMARK_CHARS).collect());
        way.room_base_name = self.room_base_name;
        way.room_base_id = self.room_base_id;
        way.state = self.state;
        way.mark_source = self.mark_source;
        if self.scene == JoinWayScene::QrCode {
            way.qr_code = Some(qr_code_url(&way.config_id));
        }
        Ok(way)
    }
}

fn unknown_config(config_id: &str) -> Failure {
    Failure::new(INVALID_PARAMETER, format!("config_id `{config_id}` does not exist"))
}

impl Handle for AddJoinWayRequest {
    fn handle(self, c: &mut Company, _ctx: &CallCtx) -> Result<AddJoinWayResponse, Failure> {
        let fields = fields_of!(self);
        let config_id = generate_config_id(c);
        let way = fields.into_join_way(c, config_id.clone())?;
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
        let way = fields_of!(self).into_join_way(c, config_id.clone())?;
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
