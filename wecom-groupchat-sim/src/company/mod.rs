//! The simulated company: staff, customer group chats, join ways and statistics, plus the bookkeeping
//! the documented rules need (pending transfers, daily transfer quotas, on-the-job transfer history).
//!
//! Chats are never removed or reordered, so a chat's index is a stable position for `list` cursors.

mod data;
mod generate;
mod hints;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use wecom_groupchat::types::{ChatStatus, GroupChatMember, JoinWay, StatisticData};

pub use data::{ChatData, CompanyData, StaffData, StatisticDay, StatisticsData};
pub use hints::{Hints, OpengidHint, OwnerChats};

/// Days of statistics WeCom keeps (yesterday back to 180 days ago).
pub const STAT_DAYS: i64 = 180;

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

impl Members {
    pub(crate) fn len(&self) -> usize {
        match self {
            Members::Listed(m) => m.len(),
            Members::Generated { count } => *count as usize,
        }
    }
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
}

/// Figures of one owner on one day, compact (the synthesized series).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct DayFigures {
    pub(crate) new_chat: u32,
    pub(crate) chat_total: u32,
    pub(crate) chat_has_msg: u32,
    pub(crate) new_member: u32,
    pub(crate) member_total: u32,
    pub(crate) member_has_msg: u32,
    pub(crate) msg_total: u32,
}

impl DayFigures {
    fn to_data(self) -> StatisticData {
        StatisticData::new()
            .new_chat_cnt(self.new_chat.into())
            .chat_total(self.chat_total.into())
            .chat_has_msg(self.chat_has_msg.into())
            .new_member_cnt(self.new_member.into())
            .member_total(self.member_total.into())
            .member_has_msg(self.member_has_msg.into())
            .msg_total(self.msg_total.into())
    }
}

/// Statistics per owner and day.
#[derive(Debug, Clone, Default)]
pub(crate) struct Statistics {
    /// 00:00 UTC+8 of the newest day of the series (yesterday when the company was built).
    pub(crate) newest_day: i64,
    /// Per owner, index 0 = `newest_day`, index i = i days before it.
    pub(crate) series: HashMap<u32, Vec<DayFigures>>,
    /// Figures given explicitly (data file), overriding the series.
    pub(crate) explicit: HashMap<(u32, i64), StatisticData>,
}

impl Statistics {
    /// Whether the owner has any statistics.
    pub(crate) fn has_owner(&self, owner: u32) -> bool {
        self.series.contains_key(&owner) || self.explicit.keys().any(|(o, _)| *o == owner)
    }

    /// The figures of `owner` on the day starting at `day`.
    pub(crate) fn day(&self, owner: u32, day: i64) -> Option<StatisticData> {
        if let Some(data) = self.explicit.get(&(owner, day)) {
            return Some(data.clone());
        }
        let offset = (self.newest_day - day).div_euclid(wecom_groupchat::time::DAY);
        if (self.newest_day - day).rem_euclid(wecom_groupchat::time::DAY) != 0 || offset < 0 {
            return None;
        }
        self.series.get(&owner)?.get(offset as usize).map(|f| f.to_data())
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
    /// Transfers in progress: (when they complete, chat index).
    pub(crate) pending: BTreeSet<(Instant, u32)>,
    /// How long a transfer stays in progress.
    pub(crate) settle: Duration,
    /// Chats moved per (old owner, new owner, day) by `transfer` and `onjob_transfer`.
    pub(crate) transfer_quota: HashMap<(u32, u32, i64), u32>,
    /// Seed of generated member lists.
    pub(crate) member_seed: u64,
    /// Ids of new join ways.
    pub(crate) rng: ChaCha8Rng,
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
            stats: Statistics::default(),
            visible_staff: 0,
            pending: BTreeSet::new(),
            settle: Duration::ZERO,
            transfer_quota: HashMap::new(),
            member_seed: seed,
            rng,
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
        if let Some(opengid) = &chat.opengid {
            if self.opengids.insert(opengid.clone(), id).is_some() {
                return Err(format!("opengid `{opengid}` is listed twice"));
            }
        }
        self.by_owner.entry(chat.owner).or_default().insert(id);
        self.chats.push(chat);
        Ok(id)
    }

    /// Changes a chat's owner, keeping the owner index in step.
    pub(crate) fn set_owner(&mut self, chat: u32, owner: u32) {
        let old = self.chats[chat as usize].owner;
        if let Some(set) = self.by_owner.get_mut(&old) {
            set.remove(&chat);
        }
        self.by_owner.entry(owner).or_default().insert(chat);
        self.chats[chat as usize].owner = owner;
    }

    /// Completes the transfers whose time has come (`now` = now) or all of them (`None`); returns how many.
    pub(crate) fn settle_transfers(&mut self, now: Option<Instant>) -> usize {
        let mut done = 0;
        while let Some(&(at, chat)) = self.pending.first() {
            if now.is_some_and(|now| at > now) {
                break;
            }
            self.pending.pop_first();
            if let Some(owner) = self.chats[chat as usize].pending_owner.take() {
                self.set_owner(chat, owner);
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

pub(crate) use generate::qr_code_url;

/// A new join-way config id, unique in the company.
pub(crate) fn generate_config_id(c: &mut Company) -> String {
    loop {
        let id = generate::hex_id(&mut c.rng);
        if !c.join_ways.contains_key(&id) {
            return id;
        }
    }
}

/// Builds a company from a data source.
pub(crate) fn build(source: &crate::config::DataSource, seed: u64, now: i64) -> Result<Company, crate::SimError> {
    use crate::config::DataSource;
    match source {
        DataSource::Demo => Company::from_data(CompanyData::demo(seed, now), seed, now),
        DataSource::File(path) => Company::from_data(CompanyData::from_file(path)?, seed, now),
        DataSource::Data(data) => Company::from_data((**data).clone(), seed, now),
        DataSource::Scale(scale) => generate::scale(scale, seed, now).map_err(crate::SimError::Data),
    }
}
