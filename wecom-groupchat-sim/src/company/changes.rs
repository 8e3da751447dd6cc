//! What people do in the WeCom app, played on the company: a chat created, members joining and leaving,
//! a new name, notice or owner, a chat dismissed. Each change checks its input first (an error leaves
//! the company as it was), then changes the state and records its `change_external_chat` event in the
//! outbox (the server pushes it to the callback URL) and returns it.
//!
//! `LastMemVer`/`CurMemVer` are the chat's `member_version` before and after, as `get` answers it;
//! `create` and `dismiss` carry no version (the documentation gives them only `ChatId` and `ChangeType`).

use std::collections::HashSet;

use wecom_groupchat::events::{ChangeExternalChat, ChangeType, EventJoinScene, QuitScene, UpdateDetail};
use wecom_groupchat::types::{ChatStatus, GroupChatMember, Invitor, JoinScene, MemberType};

use super::{Chat, Company, Members, generate};

/// Why a change was refused: an HTTP status (400, 404, 409) and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChangeError {
    pub(crate) status: u16,
    pub(crate) message: String,
}

fn bad(message: impl Into<String>) -> ChangeError {
    ChangeError { status: 400, message: message.into() }
}

fn conflict(message: impl Into<String>) -> ChangeError {
    ChangeError { status: 409, message: message.into() }
}

/// A chat to create.
#[derive(Debug, Clone)]
pub(crate) struct NewChat {
    /// Owner userid: active staff with customer contact.
    pub(crate) owner: String,
    /// Name; default `客户群N`.
    pub(crate) name: Option<String>,
    /// Members besides the owner, in the wire shape of `groupchat/get` (see [`Company::check_joiners`]).
    pub(crate) members: Vec<GroupChatMember>,
}

/// The event's `JoinScene` for a member's `join_scene` in `get`: invited directly or through a link
/// is "invited by a member", a QR code is a QR code.
fn event_join_scene(scene: JoinScene) -> EventJoinScene {
    match scene {
        JoinScene::QrCode => EventJoinScene::QrCode,
        _ => EventJoinScene::MemberInvite,
    }
}

impl Company {
    /// A chat that exists (not dismissed), by id; 404 otherwise.
    fn live_chat(&self, chat_id: &str) -> Result<u32, ChangeError> {
        self.chat_id(chat_id).ok_or_else(|| ChangeError { status: 404, message: format!("no chat `{chat_id}`") })
    }

    /// The chat's member list, made concrete if it was generated on demand (before anything that changes
    /// what it is generated from: the owner).
    pub(super) fn listed_members(&mut self, chat: u32) -> &mut Vec<GroupChatMember> {
        if let Members::Generated { .. } = self.chats[chat as usize].members {
            let members = self.members(chat);
            self.chats[chat as usize].members = Members::Listed(members);
        }
        match &mut self.chats[chat as usize].members {
            Members::Listed(members) => members,
            Members::Generated { .. } => unreachable!("made concrete above"),
        }
    }

    /// An `update` event of `chat` after a change: `LastMemVer` = `before`, `CurMemVer` = the version now.
    pub(crate) fn update_event(&self, chat: u32, detail: UpdateDetail, before: String) -> ChangeExternalChat {
        let mut change = ChangeExternalChat::new(self.chats[chat as usize].chat_id.clone(), ChangeType::Update);
        change.update_detail = Some(detail);
        change.last_mem_ver = Some(before);
        change.cur_mem_ver = Some(self.member_version(chat));
        change
    }

    /// Records an event in the outbox and returns it.
    fn record(&mut self, at: i64, change: ChangeExternalChat) -> ChangeExternalChat {
        self.outbox.push((at, change.clone()));
        change
    }

    /// Checks members joining `chat` (or a new chat of `owner`) at `at`, and completes them: `userid`
    /// required, not yet a member, not listed twice; `type` internal for staff (active ones only) and
    /// external otherwise, unless given; `join_scene` 1, 2 or 3, default 1 (and with `one_scene`, the
    /// same for all: an event has one `JoinScene`); invited by the owner unless given or by QR code;
    /// staff named as in the company unless given; `join_time` is `at` (it may not be given). Unknown
    /// fields are refused (typos).
    fn check_joiners(
        &self,
        chat: Option<u32>,
        owner: u32,
        members: Vec<GroupChatMember>,
        at: i64,
        one_scene: bool,
    ) -> Result<Vec<GroupChatMember>, ChangeError> {
        let owner_userid = self.userid(owner).to_string();
        let mut present: HashSet<String> =
            chat.map(|c| self.members(c).into_iter().filter_map(|m| m.userid).collect()).unwrap_or_default();
        present.insert(owner_userid.clone());
        let mut seen = HashSet::new();
        let mut scene = None;
        let mut out = Vec::with_capacity(members.len());
        for (i, mut member) in members.into_iter().enumerate() {
            let at_i = format!("members[{i}]");
            if let Some(key) = member.extra.keys().next() {
                return Err(bad(format!("{at_i}: unknown field `{key}`")));
            }
            if member.join_time.is_some() {
                return Err(bad(format!("{at_i}.join_time: the time of the change; leave it out")));
            }
            let userid = member.userid.clone().filter(|u| !u.is_empty());
            let userid = userid.ok_or_else(|| bad(format!("{at_i}.userid: required")))?;
            if present.contains(&userid) {
                return Err(bad(format!("{at_i}: `{userid}` is already a member of the chat")));
            }
            if !seen.insert(userid.clone()) {
                return Err(bad(format!("{at_i}: `{userid}` is listed twice")));
            }
            let staff = self.staff_id(&userid);
            let kind =
                member.member_type.unwrap_or(if staff.is_some() { MemberType::Internal } else { MemberType::External });
            match (kind, staff) {
                (MemberType::Internal, None) => {
                    return Err(bad(format!("{at_i}: `{userid}` is internal (type 1) but no member of staff")));
                }
                (MemberType::Internal, Some(s)) if self.staff[s as usize].resigned => {
                    return Err(bad(format!("{at_i}: `{userid}` has resigned")));
                }
                (MemberType::Internal, Some(s)) => {
                    member.name = member.name.or_else(|| Some(self.staff[s as usize].name.clone()));
                }
                (MemberType::External, Some(_)) => {
                    return Err(bad(format!("{at_i}: `{userid}` is a member of staff, not an external contact")));
                }
                (MemberType::External, None) => {}
                (other, _) => {
                    return Err(bad(format!("{at_i}.type: {} is not a member type of the spec", i64::from(other))));
                }
            }
            member.member_type = Some(kind);
            let join_scene = member.join_scene.unwrap_or(JoinScene::DirectInvite);
            if let JoinScene::Unknown(v) = join_scene {
                return Err(bad(format!("{at_i}.join_scene: {v} is not a join scene of the spec")));
            }
            match scene {
                Some(first) if one_scene && first != join_scene => {
                    return Err(bad(format!(
                        "{at_i}.join_scene: the members of one join share one join_scene (its event has one JoinScene)"
                    )));
                }
                Some(_) => {}
                None => scene = Some(join_scene),
            }
            member.join_scene = Some(join_scene);
            if member.invitor.is_none() && join_scene != JoinScene::QrCode {
                member.invitor = Some(Invitor::new().userid(owner_userid.clone()));
            }
            member.join_time = Some(at);
            out.push(member);
        }
        Ok(out)
    }

    /// A member of staff who may own customer groups: active, with customer contact.
    fn owner_candidate(&self, userid: &str, field: &str) -> Result<u32, ChangeError> {
        let id = self.staff_id(userid).ok_or_else(|| bad(format!("{field}: `{userid}` is no member of staff")))?;
        let staff = &self.staff[id as usize];
        if staff.resigned {
            return Err(bad(format!("{field}: `{userid}` has resigned")));
        }
        if !staff.customer_contact {
            return Err(bad(format!("{field}: `{userid}` has no customer contact")));
        }
        Ok(id)
    }

    /// A chat created at `at` by its owner in the app, with the owner as its first member: `create`.
    pub(crate) fn create_chat(&mut self, new: NewChat, at: i64) -> Result<ChangeExternalChat, ChangeError> {
        let owner = self.owner_candidate(&new.owner, "owner")?;
        let joiners = self.check_joiners(None, owner, new.members, at, false)?;
        let chat_id = loop {
            let id = generate::chat_id(&mut self.rng);
            if self.chat_id(&id).is_none() {
                break id;
            }
        };
        let staff = &self.staff[owner as usize];
        let first = GroupChatMember::new()
            .userid(staff.userid.clone())
            .member_type(MemberType::Internal)
            .join_time(at)
            .join_scene(JoinScene::DirectInvite)
            .name(staff.name.clone());
        let members: Vec<GroupChatMember> = std::iter::once(first).chain(joiners).collect();
        let count = members.len() as i64;
        let name = new.name.unwrap_or_else(|| format!("客户群{}", self.chats.len() + 1));
        self.push_chat(Chat {
            chat_id: chat_id.clone(),
            name,
            owner,
            create_time: at,
            notice: None,
            admins: Vec::new(),
            members: Members::Listed(members),
            status: ChatStatus::Normal,
            opengid: None,
            pending_owner: None,
            onjob_transfers: Vec::new(),
            dismissed: false,
        })
        .map_err(conflict)?;
        self.stats.adjust(owner, at, 1, count, true);
        Ok(self.record(at, ChangeExternalChat::new(chat_id, ChangeType::Create)))
    }

    /// Members joining a chat at `at` (at least one): `update`/`add_member`.
    pub(crate) fn join_chat(
        &mut self,
        chat_id: &str,
        members: Vec<GroupChatMember>,
        at: i64,
    ) -> Result<ChangeExternalChat, ChangeError> {
        let chat = self.live_chat(chat_id)?;
        if members.is_empty() {
            return Err(bad("members: empty; give at least one"));
        }
        let owner = self.chats[chat as usize].owner;
        let joiners = self.check_joiners(Some(chat), owner, members, at, true)?;
        let scene = joiners[0].join_scene.unwrap_or(JoinScene::DirectInvite);
        let userids: Vec<String> = joiners.iter().filter_map(|m| m.userid.clone()).collect();
        let before = self.member_version(chat);
        self.listed_members(chat).extend(joiners);
        self.stats.adjust(owner, at, 0, userids.len() as i64, true);
        let mut change = self.update_event(chat, UpdateDetail::AddMember, before);
        change.join_scene = Some(event_join_scene(scene));
        change.mem_change_cnt = Some(userids.len() as i64);
        change.mem_change_list = Some(userids);
        Ok(self.record(at, change))
    }

    /// Members leaving a chat at `at` (at least one; never the owner): `update`/`del_member`.
    pub(crate) fn quit_chat(
        &mut self,
        chat_id: &str,
        userids: Vec<String>,
        scene: QuitScene,
        at: i64,
    ) -> Result<ChangeExternalChat, ChangeError> {
        let chat = self.live_chat(chat_id)?;
        if userids.is_empty() {
            return Err(bad("userids: empty; give at least one"));
        }
        if let QuitScene::Unknown(v) = scene {
            return Err(bad(format!("quit_scene: {v} is not a quit scene of the spec")));
        }
        let present: HashSet<String> = self.members(chat).into_iter().filter_map(|m| m.userid).collect();
        let owner = self.chats[chat as usize].owner;
        let mut leaving = HashSet::new();
        for (i, userid) in userids.iter().enumerate() {
            if !present.contains(userid) {
                return Err(bad(format!("userids[{i}]: `{userid}` is not a member of the chat")));
            }
            if userid == self.userid(owner) {
                return Err(bad(format!(
                    "userids[{i}]: `{userid}` owns the chat; change the owner first, or dismiss the chat"
                )));
            }
            if !leaving.insert(userid.as_str()) {
                return Err(bad(format!("userids[{i}]: `{userid}` is listed twice")));
            }
        }
        let before = self.member_version(chat);
        self.listed_members(chat).retain(|m| !m.userid.as_deref().is_some_and(|u| leaving.contains(u)));
        self.chats[chat as usize].admins.retain(|a| !leaving.contains(a.as_str()));
        self.stats.adjust(owner, at, 0, -(userids.len() as i64), false);
        let mut change = self.update_event(chat, UpdateDetail::DelMember, before);
        change.quit_scene = Some(scene);
        change.mem_change_cnt = Some(userids.len() as i64);
        change.mem_change_list = Some(userids);
        Ok(self.record(at, change))
    }

    /// A new name: `update`/`change_name` (the member version stays).
    pub(crate) fn rename_chat(
        &mut self,
        chat_id: &str,
        name: String,
        at: i64,
    ) -> Result<ChangeExternalChat, ChangeError> {
        let chat = self.live_chat(chat_id)?;
        let before = self.member_version(chat);
        self.chats[chat as usize].name = name;
        let change = self.update_event(chat, UpdateDetail::ChangeName, before);
        Ok(self.record(at, change))
    }

    /// A new notice: `update`/`change_notice` (the member version stays).
    pub(crate) fn set_notice(
        &mut self,
        chat_id: &str,
        notice: String,
        at: i64,
    ) -> Result<ChangeExternalChat, ChangeError> {
        let chat = self.live_chat(chat_id)?;
        let before = self.member_version(chat);
        self.chats[chat as usize].notice = Some(notice);
        let change = self.update_event(chat, UpdateDetail::ChangeNotice, before);
        Ok(self.record(at, change))
    }

    /// The owner hands the chat to another member of staff in the app: `update`/`change_owner`. A new
    /// owner who is not a member joins (and the member version changes). Refused while the owner has
    /// resigned (that takes `transfer`) or a transfer is in progress.
    pub(crate) fn change_owner(
        &mut self,
        chat_id: &str,
        new_owner: &str,
        at: i64,
    ) -> Result<ChangeExternalChat, ChangeError> {
        let chat = self.live_chat(chat_id)?;
        let new = self.owner_candidate(new_owner, "new_owner")?;
        let c = &self.chats[chat as usize];
        if c.owner == new {
            return Err(bad(format!("new_owner: `{new_owner}` owns the chat already")));
        }
        if c.pending_owner.is_some() {
            return Err(conflict("a transfer of this chat is in progress"));
        }
        if self.staff[c.owner as usize].resigned {
            return Err(conflict(format!(
                "the owner `{}` has resigned; their chats change hands by transfer",
                self.userid(c.owner)
            )));
        }
        let before = self.member_version(chat);
        self.set_owner(chat, new, at);
        let change = self.update_event(chat, UpdateDetail::ChangeOwner, before);
        Ok(self.record(at, change))
    }

    /// The owner dismisses the chat: `dismiss`. It leaves the indexes (`get` answers as for an unknown
    /// chat, `list` skips it, transfers do not find it) and its owner's statistics from `at` on.
    pub(crate) fn dismiss_chat(&mut self, chat_id: &str, at: i64) -> Result<ChangeExternalChat, ChangeError> {
        let chat = self.live_chat(chat_id)?;
        let members = self.members(chat).len() as i64;
        let c = &mut self.chats[chat as usize];
        c.dismissed = true;
        c.pending_owner = None;
        let (owner, opengid) = (c.owner, c.opengid.clone());
        self.pending.retain(|(_, i)| *i != chat);
        self.chat_index.remove(chat_id);
        if let Some(opengid) = opengid {
            self.opengids.remove(&opengid);
        }
        if let Some(owned) = self.by_owner.get_mut(&owner) {
            owned.remove(&chat);
        }
        self.stats.adjust(owner, at, -1, -members, false);
        Ok(self.record(at, ChangeExternalChat::new(chat_id, ChangeType::Dismiss)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::company::CompanyData;

    fn company() -> Company {
        let data = CompanyData::from_yaml_str(
            "staff: [{userid: a, name: Ay}, {userid: b}, {userid: c, resigned: true}, {userid: d, customer_contact: false}]\n\
             chats: [{chat_id: wr1, owner: a, create_time: 1000, admins: [b], members: [{userid: a, type: 1, join_time: 1000}, {userid: b, type: 1, join_time: 2000}, {userid: wmX, type: 2, join_time: 2000}]}]",
        )
        .unwrap();
        Company::from_data(data, 1, 1_764_000_000).unwrap()
    }

    fn member(userid: &str) -> GroupChatMember {
        GroupChatMember::new().userid(userid)
    }

    #[test]
    fn joins_and_quits_move_the_version_and_carry_the_members() {
        let mut c = company();
        let v0 = c.member_version(0);
        let join = c
            .join_chat(
                "wr1",
                vec![member("wmY").join_scene(JoinScene::QrCode), member("wmZ").join_scene(JoinScene::QrCode)],
                5000,
            )
            .unwrap();
        assert_eq!(join.last_mem_ver.as_deref(), Some(v0.as_str()));
        let v1 = c.member_version(0);
        assert_ne!(v0, v1);
        assert_eq!(join.cur_mem_ver.as_deref(), Some(v1.as_str()));
        assert_eq!(join.join_scene, Some(EventJoinScene::QrCode));
        assert_eq!(
            (join.mem_change_cnt, join.mem_change_list.as_deref()),
            (Some(2), Some(&["wmY".to_string(), "wmZ".to_string()][..]))
        );
        let joined = &c.members(0)[3];
        assert_eq!(
            (joined.member_type, joined.join_time, joined.invitor.as_ref()),
            (Some(MemberType::External), Some(5000), None)
        );

        let quit = c.quit_chat("wr1", vec!["b".into()], QuitScene::Removed, 6000).unwrap();
        assert_eq!(quit.last_mem_ver.as_deref(), Some(v1.as_str()));
        assert_eq!(quit.quit_scene, Some(QuitScene::Removed));
        assert!(c.chats[0].admins.is_empty(), "an admin who leaves is no admin");
        assert_eq!(c.outbox.len(), 2);
    }

    #[test]
    fn bad_changes_leave_the_company_as_it_was() {
        let mut c = company();
        let v0 = c.member_version(0);
        let cases: Vec<Result<ChangeExternalChat, ChangeError>> = vec![
            c.join_chat("wrNope", vec![member("wmY")], 1),
            c.join_chat("wr1", vec![], 1),
            c.join_chat("wr1", vec![member("b")], 1),
            c.join_chat("wr1", vec![member("wmY"), member("wmY")], 1),
            c.join_chat("wr1", vec![member("c")], 1),
            c.join_chat("wr1", vec![member("ghost").member_type(MemberType::Internal)], 1),
            c.join_chat("wr1", vec![member("wmY"), member("wmZ").join_scene(JoinScene::QrCode)], 1),
            c.join_chat("wr1", vec![member("wmY").join_scene(JoinScene::Unknown(9))], 1),
            c.join_chat("wr1", vec![member("wmY").join_time(5)], 1),
            c.quit_chat("wr1", vec!["a".into()], QuitScene::Left, 1),
            c.quit_chat("wr1", vec!["wmQ".into()], QuitScene::Left, 1),
            c.quit_chat("wr1", vec![], QuitScene::Left, 1),
            c.quit_chat("wr1", vec!["b".into()], QuitScene::Unknown(7), 1),
            c.change_owner("wr1", "a", 1),
            c.change_owner("wr1", "c", 1),
            c.change_owner("wr1", "d", 1),
            c.create_chat(NewChat { owner: "d".into(), name: None, members: vec![] }, 1),
        ];
        for (i, case) in cases.into_iter().enumerate() {
            let error = case.unwrap_err();
            assert!(matches!(error.status, 400 | 404), "{i}: {error:?}");
        }
        assert_eq!(c.member_version(0), v0);
        assert!(c.outbox.is_empty());
        assert_eq!(c.chats.len(), 1);
    }

    #[test]
    fn a_new_owner_joins_and_a_dismissed_chat_is_gone() {
        let mut c = company();
        let v0 = c.member_version(0);
        let named = c.rename_chat("wr1", "new".into(), 10).unwrap();
        assert_eq!(
            (named.last_mem_ver.as_deref(), named.cur_mem_ver.as_deref()),
            (Some(v0.as_str()), Some(v0.as_str()))
        );
        let moved = c.change_owner("wr1", "b", 20).unwrap();
        assert_eq!(moved.cur_mem_ver, moved.last_mem_ver, "b was a member already");
        let created = c
            .create_chat(NewChat { owner: "a".into(), name: Some("n".into()), members: vec![member("wmY")] }, 30)
            .unwrap();
        let id = c.chat_id(&created.chat_id).unwrap();
        assert_eq!(c.members(id).len(), 2);
        let dismissed = c.dismiss_chat(&created.chat_id, 40).unwrap();
        assert_eq!(dismissed.change_type, ChangeType::Dismiss);
        assert!(c.chat_id(&created.chat_id).is_none());
        assert!(c.dismiss_chat(&created.chat_id, 50).is_err());
    }
}
