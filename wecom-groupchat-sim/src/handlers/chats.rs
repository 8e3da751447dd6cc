//! `list`, `get` and `opengid_to_chatid`.

use wecom_groupchat::types::{
    ChatStatus, GetRequest, GetResponse, GroupChat, GroupChatAdmin, GroupChatListItem, ListRequest, ListResponse,
    NeedName, OpengidToChatidRequest, OpengidToChatidResponse, StatusFilter,
};

use wecom_groupchat::codes;

use super::{CallCtx, Handle, VISIBLE_LIMIT};
use crate::answer::Failure;
use crate::company::{Company, member_version};

/// Cursors are opaque: a chat position and a check derived from the seed, so a made-up or damaged
/// cursor is refused (`INVALID_PARAMETER`). Chats never move, so a cursor stays valid while the data changes.
mod cursor {
    fn check(pos: u32, salt: u64) -> u32 {
        let mut x = u64::from(pos) ^ salt ^ 0x5EED_C0DE_0000_0000;
        x = (x ^ (x >> 33)).wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x = (x ^ (x >> 33)).wrapping_mul(0xC4CE_B9FE_1A85_EC53);
        (x ^ (x >> 33)) as u32
    }

    pub(super) fn encode(pos: u32, salt: u64) -> String {
        format!("{:08x}{pos:08x}", check(pos, salt))
    }

    pub(super) fn decode(text: &str, salt: u64) -> Option<u32> {
        if text.len() != 16 || !text.is_ascii() {
            return None;
        }
        let c = u32::from_str_radix(&text[..8], 16).ok()?;
        let pos = u32::from_str_radix(&text[8..], 16).ok()?;
        (check(pos, salt) == c).then_some(pos)
    }
}

fn status_matches(filter: StatusFilter, status: ChatStatus) -> bool {
    match filter {
        StatusFilter::Resigned => status == ChatStatus::Resigned,
        StatusFilter::Transferring => status == ChatStatus::Transferring,
        StatusFilter::Transferred => status == ChatStatus::Transferred,
        _ => true,
    }
}

impl Handle for ListRequest {
    fn handle(self, c: &mut Company, _ctx: &CallCtx) -> Result<ListResponse, Failure> {
        let start = match self.cursor.as_deref() {
            None | Some("") => 0,
            Some(text) => cursor::decode(text, c.member_seed)
                .ok_or_else(|| Failure::new(codes::INVALID_PARAMETER, "cursor: not a cursor this server returned"))?,
        };
        let candidates: Box<dyn Iterator<Item = u32>> = match &self.owner_filter {
            // Unknown userids match no chat.
            Some(filter) => {
                let mut ids: Vec<u32> = filter
                    .userid_list
                    .iter()
                    .filter_map(|u| c.staff_id(u))
                    .filter_map(|o| c.by_owner.get(&o))
                    .flat_map(|set| set.range(start..).copied())
                    .collect();
                ids.sort_unstable();
                ids.dedup();
                Box::new(ids.into_iter())
            }
            None if c.visible_staff > VISIBLE_LIMIT => {
                return Err(Failure::new(
                    codes::TOO_MANY_ITEMS_REQUESTED,
                    format!(
                        "{} people in the visible range, more than {VISIBLE_LIMIT}; give owner_filter",
                        c.visible_staff
                    ),
                ));
            }
            None => Box::new(start..c.chats.len() as u32),
        };
        let filter = self.status_filter_or_default();
        // Validation keeps limit in 1..=1000; no value may wrap all the same.
        let limit = usize::try_from(self.limit.max(1)).unwrap_or(usize::MAX);
        let mut page = Vec::with_capacity(limit.min(1000));
        let mut next = None;
        let shown = |i: &u32| {
            let chat = &c.chats[*i as usize];
            !chat.dismissed && status_matches(filter, chat.status)
        };
        for i in candidates.filter(shown) {
            if page.len() == limit {
                next = Some(i);
                break;
            }
            let chat = &c.chats[i as usize];
            page.push(GroupChatListItem::new(chat.chat_id.clone()).status(chat.status));
        }
        let mut response = ListResponse::new().group_chat_list(page);
        // An empty next_cursor means there is no more data.
        response.next_cursor = Some(next.map(|n| cursor::encode(n, c.member_seed)).unwrap_or_default());
        Ok(response)
    }
}

impl Handle for GetRequest {
    fn handle(self, c: &mut Company, _ctx: &CallCtx) -> Result<GetResponse, Failure> {
        let id = c
            .chat_id(&self.chat_id)
            .ok_or_else(|| Failure::new(codes::CHAT_NOT_FOUND, format!("chat_id `{}` does not exist", self.chat_id)))?;
        let mut members = c.members(id);
        if self.need_name_or_default() != NeedName::Yes {
            for m in &mut members {
                m.name = None;
            }
        }
        let chat = &c.chats[id as usize];
        let version = member_version(members.iter().filter_map(|m| m.userid.as_deref()));
        let mut group = GroupChat::new(chat.chat_id.clone())
            .name(chat.name.clone())
            .owner(c.userid(chat.owner))
            .create_time(chat.create_time)
            .admin_list(chat.admins.iter().map(|a| GroupChatAdmin::new().userid(a)))
            .member_list(members)
            .member_version(version);
        group.notice = chat.notice.clone();
        Ok(GetResponse::new(group))
    }
}

impl Handle for OpengidToChatidRequest {
    fn handle(self, c: &mut Company, _ctx: &CallCtx) -> Result<OpengidToChatidResponse, Failure> {
        let id = c
            .opengids
            .get(&self.opengid)
            .ok_or_else(|| Failure::new(codes::INVALID_OPENGID, "opengid does not exist or is invalid"))?;
        Ok(OpengidToChatidResponse::new(c.chats[*id as usize].chat_id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        let c = cursor::encode(1234, 99);
        assert_eq!(cursor::decode(&c, 99), Some(1234));
        assert_eq!(cursor::decode(&c, 98), None);
        assert_eq!(cursor::decode("0000000000000001", 99), None);
        assert_eq!(cursor::decode("garbage", 99), None);
        assert_eq!(cursor::decode("群群群群群群群群", 99), None);
    }

    #[test]
    fn member_versions_follow_members() {
        assert_eq!(member_version(["a", "b"].iter()), member_version(["a", "b"].iter()));
        assert_ne!(member_version(["a", "b"].iter()), member_version(["ab"].iter()));
        assert_eq!(member_version(["a"].iter()).len(), 32);
    }
}
