//! The simulated company: staff, customer group chats, join ways and statistics, plus the bookkeeping
//! the documented rules need (pending transfers, daily transfer quotas, on-the-job transfer history).
//!
//! Chats are never removed or reordered, so a chat's index is a stable position for `list` cursors.
//! Times are the simulator clock's (see `clock.rs`), never the system's.

mod changes;
mod data;
mod generate;
mod hints;
mod statistics;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wecom_groupchat::events::{ChangeExternalChat, UpdateDetail};
use wecom_groupchat::time;
use wecom_groupchat::types::{ChatStatus, GroupChatMember, JoinScene, JoinWay, MemberType};

pub use data::{ChatData, CompanyData, StaffData, StatisticDay, StatisticsData};
pub use hints::{Hints, OpengidHint, OwnerChats};
pub use statistics::STAT_DAYS;
use statistics::Statistics;

/// A member of staff.
#[derive(Debug, Clone)]
pub(crate) struct Staff {
    pub(crate) userid: String,
    pub(crate) name: String,
    pub(crate) resigned: bool,
    pub(crate) customer_contact: bool,
    pub(crate) real_name: bool,
}

impl Staff {
    /// May receive chats: active, real-name verified, customer contact enabled.
    pub(crate) fn eligible_owner(&self) -> bool {
        !self.resigned && self.real_name && self.customer_contact
    }
}

/// How a chat's member list is kept.
#[derive(Debug, Clone)]
pub(crate) enum Members {
    /// Stored as given.
    Listed(Vec<GroupChatMember>),
    /// Made on demand from the seed and the chat's index (large generated companies).
    Generated { count: u32 },
}

/// A customer group chat.
#[derive(Debug, Clone)]
pub(crate) struct Chat {
    pub(crate) chat_id: String,
    pub(crate) name: String,
    /// Index into `Company::staff`.
    pub(crate) owner: u32,
    pub(crate) create_time: i64,
    pub(crate) notice: Option<String>,
    pub(crate) admins: Vec<String>,
    pub(crate) members: Members,
    pub(crate) status: ChatStatus,
    pub(crate) opengid: Option<String>,
    /// The new owner while a resigned-owner transfer is in progress.
    pub(crate) pending_owner: Option<u32>,
    /// Times of on-the-job transfers (at most 2 per 90 natural days).
    pub(crate) onjob_transfers: Vec<i64>,
    /// Dismissed: no longer in the indexes (`get` and transfers do not find it, `list` skips it), kept
    /// in place so that positions (`list` cursors) stay stable.
    pub(crate) dismissed: bool,
}

impl Chat {
    /// What the statistics count of this chat, as (time, chats, members): its creation and its members'
    /// joins. Members of generated chats (made on demand) count from the chat's creation, so that a large
    /// company need not make every member list up front.
    pub(crate) fn stat_events(&self) -> Vec<(i64, i64, i64)> {
        match &self.members {
            Members::Listed(members) => std::iter::once((self.create_time, 1, 0))
                .chain(members.iter().map(|m| (m.join_time.unwrap_or(self.create_time), 0, 1)))
                .collect(),
            Members::Generated { count } => vec![(self.create_time, 1, i64::from(*count))],
        }
    }
}

/// The whole company. Guarded by one mutex in the server, so every operation is atomic.
#[derive(Debug)]
pub(crate) struct Company {
    pub(crate) staff: Vec<Staff>,
    pub(crate) staff_index: HashMap<String, u32>,
    pub(crate) chats: Vec<Chat>,
    pub(crate) chat_index: HashMap<String, u32>,
    pub(crate) opengids: HashMap<String, u32>,
    /// Chats per owner (sorted indexes), kept in step with `Chat::owner`.
    pub(crate) by_owner: HashMap<u32, BTreeSet<u32>>,
    pub(crate) join_ways: BTreeMap<String, JoinWay>,
    pub(crate) stats: Statistics,
    /// Size of the app's visible range (81017 rule).
    pub(crate) visible_staff: usize,
    /// 00:00 UTC+8 of the day the company was built: generated times lie before it, so one seed gives
    /// the same company all day.
    pub(crate) anchor: i64,
    /// Transfers in progress: (when they complete, Unix ms, chat index).
    pub(crate) pending: BTreeSet<(i64, u32)>,
    /// How long a transfer stays in progress, in ms.
    pub(crate) settle_ms: i64,
    /// Chats moved per (old owner, new owner, day) by `transfer` and `onjob_transfer`.
    pub(crate) transfer_quota: HashMap<(u32, u32, i64), u32>,
    /// Seed of generated member lists.
    pub(crate) member_seed: u64,
    /// Ids of new join ways and new chats.
    pub(crate) rng: ChaCha8Rng,
    /// Events of the changes made under the current lock, with their time (Unix seconds): the server
    /// pushes them to the callback URL, in order, before the lock is released.
    pub(crate) outbox: Vec<(i64, ChangeExternalChat)>,
    /// Whether owner changes by API transfers push `change_owner` (`--callback-api-writes`).
    pub(crate) api_write_events: bool,
}

impl Company {
    fn empty(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(3);
        Company {
            staff: Vec::new(),
            staff_index: HashMap::new(),
            chats: Vec::new(),
            chat_index: HashMap::new(),
            opengids: HashMap::new(),
            by_owner: HashMap::new(),
            join_ways: BTreeMap::new(),
            stats: Statistics::new(seed),
            visible_staff: 0,
            anchor: 0,
            pending: BTreeSet::new(),
            settle_ms: 0,
            transfer_quota: HashMap::new(),
            member_seed: seed,
            rng,
            outbox: Vec::new(),
            api_write_events: false,
        }
    }

    pub(crate) fn staff_id(&self, userid: &str) -> Option<u32> {
        self.staff_index.get(userid).copied()
    }

    pub(crate) fn chat_id(&self, chat_id: &str) -> Option<u32> {
        self.chat_index.get(chat_id).copied()
    }

    pub(crate) fn userid(&self, staff: u32) -> &str {
        &self.staff[staff as usize].userid
    }

    fn push_staff(&mut self, staff: Staff) -> Result<u32, String> {
        let id = self.staff.len() as u32;
        if self.staff_index.insert(staff.userid.clone(), id).is_some() {
            return Err(format!("staff `{}` is listed twice", staff.userid));
        }
        self.staff.push(staff);
        Ok(id)
    }

    fn push_chat(&mut self, chat: Chat) -> Result<u32, String> {
        let id = self.chats.len() as u32;
        if self.chat_index.insert(chat.chat_id.clone(), id).is_some() {
            return Err(format!("chat `{}` is listed twice", chat.chat_id));
        }
        if let Some(opengid) = &chat.opengid
            && self.opengids.insert(opengid.clone(), id).is_some()
        {
            return Err(format!("opengid `{opengid}` is listed twice"));
        }
        self.by_owner.entry(chat.owner).or_default().insert(id);
        self.chats.push(chat);
        Ok(id)
    }

    /// Synthesizes every owner's statistics from the chats as they are now (when the company is built).
    pub(crate) fn synthesize_statistics(&mut self) {
        self.stats.synthesize(self.chats.iter().map(|c| (c.owner, c.stat_events())));
    }

    /// Changes a chat's owner at Unix time `at`, keeping the owner index in step. The new owner must be
    /// a member of the chat: when they are not, they join it (internal, invited directly, at `at`).
    ///
    /// The statistics follow: from `at`'s day on, the chat is the new owner's.
    pub(crate) fn set_owner(&mut self, chat: u32, owner: u32, at: i64) {
        // A generated member list is made from the owner: made concrete first, it keeps its members
        // (and its member version) under the new owner.
        self.listed_members(chat);
        let old = self.chats[chat as usize].owner;
        if let Some(set) = self.by_owner.get_mut(&old) {
            set.remove(&chat);
        }
        self.by_owner.entry(owner).or_default().insert(chat);
        // Before the new owner joins: their join is theirs alone, never the old owner's.
        self.stats.move_chat(old, owner, at, &self.chats[chat as usize].stat_events());
        let staff = &self.staff[owner as usize];
        let c = &mut self.chats[chat as usize];
        c.owner = owner;
        // An owner is not also an admin.
        c.admins.retain(|a| *a != staff.userid);
        // Made concrete above.
        if let Members::Listed(members) = &mut c.members
            && !members.iter().any(|m| m.userid.as_deref() == Some(staff.userid.as_str()))
        {
            let joined = at.max(c.create_time);
            members.push(
                GroupChatMember::new()
                    .userid(staff.userid.clone())
                    .member_type(MemberType::Internal)
                    .join_time(joined)
                    .join_scene(JoinScene::DirectInvite)
                    .name(staff.name.clone()),
            );
            self.stats.owner_joined(owner, joined);
        }
    }

    /// Changes a chat's owner by an API call (`transfer` settling, `onjob_transfer`) at Unix time `at`,
    /// as [`Company::set_owner`] does; with [`Company::api_write_events`], records the `change_owner` event.
    pub(crate) fn transfer_owner(&mut self, chat: u32, owner: u32, at: i64) {
        let before = self.api_write_events.then(|| self.member_version(chat));
        self.set_owner(chat, owner, at);
        if let Some(before) = before {
            let change = self.update_event(chat, UpdateDetail::ChangeOwner, before);
            self.outbox.push((at, change));
        }
    }

    /// Completes the transfers due at `now_ms` (simulator clock), or all of them when `all`; returns how
    /// many.
    pub(crate) fn settle_transfers(&mut self, now_ms: i64, all: bool) -> usize {
        let mut done = 0;
        while let Some(&(at, chat)) = self.pending.first() {
            if !all && at > now_ms {
                break;
            }
            self.pending.pop_first();
            if let Some(owner) = self.chats[chat as usize].pending_owner.take() {
                self.transfer_owner(chat, owner, at.min(now_ms).div_euclid(1000));
                self.chats[chat as usize].status = ChatStatus::Transferred;
                done += 1;
            }
        }
        done
    }

    /// The member list of a chat, names included.
    pub(crate) fn members(&self, chat: u32) -> Vec<GroupChatMember> {
        let c = &self.chats[chat as usize];
        match &c.members {
            Members::Listed(m) => m.clone(),
            Members::Generated { count } => generate::members(self, chat, *count as usize),
        }
    }

    /// The chat's `member_version`, as `get` answers it.
    pub(crate) fn member_version(&self, chat: u32) -> String {
        member_version(self.members(chat).iter().filter_map(|m| m.userid.as_deref()))
    }

    /// Marks a member of staff resigned; their chats await transfer (status 1). Returns whether they exist.
    pub(crate) fn resign(&mut self, userid: &str) -> bool {
        let Some(id) = self.staff_id(userid) else { return false };
        self.staff[id as usize].resigned = true;
        let chats: Vec<u32> = self.by_owner.get(&id).map(|s| s.iter().copied().collect()).unwrap_or_default();
        for chat in chats {
            let c = &mut self.chats[chat as usize];
            if c.pending_owner.is_none() {
                c.status = ChatStatus::Resigned;
            }
        }
        true
    }
}

pub(crate) use changes::{ChangeError, NewChat};
pub(crate) use generate::qr_code_url;

/// A short, stable version of a member list: it changes whenever a member joins or leaves.
pub(crate) fn member_version(userids: impl Iterator<Item = impl AsRef<str>>) -> String {
    let (mut a, mut b) = (0xCBF2_9CE4_8422_2325_u64, 0x8422_2325_CBF2_9CE4_u64);
    for u in userids {
        for byte in u.as_ref().bytes().chain([0]) {
            a = (a ^ u64::from(byte)).wrapping_mul(0x0100_0000_01B3);
            b = (b ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3).rotate_left(7);
        }
    }
    format!("{a:016x}{b:016x}")
}

/// A new join-way config id, unique in the company.
pub(crate) fn generate_config_id(c: &mut Company) -> String {
    loop {
        let id = generate::hex_id(&mut c.rng);
        if !c.join_ways.contains_key(&id) {
            return id;
        }
    }
}

/// Builds a company from a data source at Unix time `now` (simulator clock). Generated data is anchored
/// to the start of `now`'s day (UTC+8): the same seed on the same day gives the same company.
pub(crate) fn build(source: &crate::config::DataSource, seed: u64, now: i64) -> Result<Company, crate::SimError> {
    use crate::config::DataSource;
    let anchor = time::day_start(now);
    match source {
        DataSource::Demo => Company::from_data(CompanyData::demo(seed, anchor), seed, anchor),
        DataSource::File(path) => Company::from_data(CompanyData::from_file(path)?, seed, anchor),
        DataSource::Data(data) => Company::from_data((**data).clone(), seed, anchor),
        DataSource::Scale(scale) => generate::scale(scale, seed, anchor).map_err(crate::SimError::Data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_owner_joins_once_and_is_no_admin() {
        let data = CompanyData::from_yaml_str(
            "staff: [{userid: a}, {userid: b, name: Bee}, {userid: c}, {userid: d}]\n\
             chats: [{chat_id: wr1, owner: a, create_time: 1000, admins: [b], members: [{userid: a, type: 1, join_time: 1000}, {userid: b, type: 1, join_time: 2000}]}]",
        )
        .unwrap();
        let mut company = Company::from_data(data, 1, 1_764_000_000).unwrap();
        company.set_owner(0, 1, 5000);
        assert_eq!(company.members(0).len(), 2, "b was a member already");
        assert!(company.chats[0].admins.is_empty(), "the owner is not also an admin");
        company.set_owner(0, 2, 6000);
        let members = company.members(0);
        assert_eq!(members.len(), 3);
        let c = &members[2];
        assert_eq!(
            (c.userid.as_deref(), c.member_type, c.join_time),
            (Some("c"), Some(MemberType::Internal), Some(6000))
        );
        assert_eq!(company.by_owner[&2].iter().copied().collect::<Vec<_>>(), [0]);
        assert!(company.by_owner[&0].is_empty() && company.by_owner[&1].is_empty());
        // A join time before the chat existed is moved to its creation.
        company.set_owner(0, 3, 1);
        assert_eq!(company.members(0)[3].join_time, Some(1000));
    }
}
