//! The simulated company: staff, customer group chats, join ways and statistics, plus the bookkeeping
//! the documented rules need (pending transfers, daily transfer quotas, on-the-job transfer history).
//!
//! Chats are never removed or reordered, so a chat's index is a stable position for `list` cursors.
//! Times are the simulator clock's (see `clock.rs`), never the system's.

mod data;
mod generate;
mod hints;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wecom_groupchat::time::{self, DAY};
use wecom_groupchat::types::{ChatStatus, GroupChatMember, JoinScene, JoinWay, MemberType, StatisticData};

pub use data::{ChatData, CompanyData, StaffData, StatisticDay, StatisticsData};
pub use hints::{Hints, OpengidHint, OwnerChats};

/// Days of statistics WeCom keeps (yesterday back to 180 days ago).
pub const STAT_DAYS: i64 = wecom_groupchat::types::StatisticRequest::DAY_BEGIN_TIME_DAYS_AGO_MAX;

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

/// Dated changes of a number of chats and of members, kept as sorted times with running totals, so the
/// sum of the changes before any time is one binary search.
#[derive(Debug, Clone, Default)]
pub(crate) struct Series {
    times: Vec<i64>,
    /// Sum of the chat changes at or before `times[i]`.
    chats: Vec<i64>,
    /// Sum of the member changes at or before `times[i]`.
    members: Vec<i64>,
}

impl Series {
    /// Builds the series from changes: (time, chats, members).
    pub(crate) fn new(mut changes: Vec<(i64, i64, i64)>) -> Self {
        changes.sort_unstable_by_key(|e| e.0);
        let mut series = Series::default();
        let (mut chats, mut members) = (0i64, 0i64);
        for (at, c, m) in changes {
            chats = chats.saturating_add(c);
            members = members.saturating_add(m);
            // Changes at the same time share one entry.
            if series.times.last() != Some(&at) {
                series.times.push(at);
                series.chats.push(0);
                series.members.push(0);
            }
            let last = series.times.len() - 1;
            series.chats[last] = chats;
            series.members[last] = members;
        }
        series
    }

    /// Adds changes. Rebuilds the series: only transfers add changes after the start, and they add
    /// them to the (short) series of corrections.
    fn add(&mut self, changes: impl IntoIterator<Item = (i64, i64, i64)>) {
        // Changes that cancel out (a chat moved away and back) leave no entry behind.
        let all = self.changes().chain(changes).filter(|(_, c, m)| *c != 0 || *m != 0).collect();
        *self = Series::new(all);
    }

    /// The changes the series was made of (those at one time summed).
    fn changes(&self) -> impl Iterator<Item = (i64, i64, i64)> + '_ {
        let previous = |i: usize| if i == 0 { (0, 0) } else { (self.chats[i - 1], self.members[i - 1]) };
        self.times.iter().enumerate().map(move |(i, t)| {
            let (c, m) = previous(i);
            (*t, self.chats[i].saturating_sub(c), self.members[i].saturating_sub(m))
        })
    }

    /// Sums of the (chats, members) changes before `t`.
    fn before(&self, t: i64) -> (i64, i64) {
        match self.times.partition_point(|x| *x < t) {
            0 => (0, 0),
            i => (self.chats[i - 1], self.members[i - 1]),
        }
    }

    /// Sums of the changes in `[from, to)`.
    fn between(&self, from: i64, to: i64) -> (i64, i64) {
        let (c0, m0) = self.before(from);
        let (c1, m1) = self.before(to);
        (c1.saturating_sub(c0), m1.saturating_sub(m0))
    }
}

/// One owner's statistics history.
///
/// A chat counts for whoever owned it at the end of a day (UTC+8). `built` holds the chats owned when
/// the company was built, each creation and member join at its time; it is made once and never
/// changes, so startup stays cheap. Transfers are corrections on top of it, as dated changes: the
/// totals of the moved chat leave the old owner and reach the new one at the time of the transfer, and
/// the chats created and members joined from that day on are the new owner's "new" ones.
#[derive(Debug, Clone, Default)]
pub(crate) struct History {
    built: Series,
    /// Corrections of the totals (chats owned, their members).
    moved_totals: Series,
    /// Corrections of the creations and joins counted as the day's new chats and members.
    moved_new: Series,
}

impl History {
    pub(crate) fn new(built: Series) -> Self {
        History { built, ..History::default() }
    }

    /// (chats, members) owned at `t`: created or joined before it.
    fn totals(&self, t: i64) -> (u32, u32) {
        let (c, m) = self.built.before(t);
        let (dc, dm) = self.moved_totals.before(t);
        (clamp(c.saturating_add(dc)), clamp(m.saturating_add(dm)))
    }

    /// (chats created, members joined) in `[from, to)`.
    fn new_between(&self, from: i64, to: i64) -> (u32, u32) {
        let (c, m) = self.built.between(from, to);
        let (dc, dm) = self.moved_new.between(from, to);
        (clamp(c.saturating_add(dc)), clamp(m.saturating_add(dm)))
    }
}

/// A figure as the API gives it; corrections never take a sum below 0, but no input may wrap it.
fn clamp(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// Statistics per owner and day, made on demand: the figures of any day are a pure function of the
/// chats the owner had at the end of the day (created, members joined by then) and of the seed, so
/// whatever "yesterday" is when a request comes, it has figures, and the same day always has the same
/// ones (a transfer changes the days from its own on, never those before it).
#[derive(Debug, Clone, Default)]
pub(crate) struct Statistics {
    /// Whether figures are synthesized from the chats (off: only `explicit` ones).
    pub(crate) synthesized: bool,
    /// Owners with synthesized statistics: those owning chats when the company was built or since.
    pub(crate) auto: HashMap<u32, History>,
    /// Figures given explicitly (data file), overriding the synthesized ones.
    pub(crate) explicit: HashMap<(u32, i64), StatisticData>,
    /// Drives the message figures.
    pub(crate) seed: u64,
}

impl Statistics {
    /// Whether the owner has any statistics.
    pub(crate) fn has_owner(&self, owner: u32) -> bool {
        self.auto.contains_key(&owner) || self.explicit.keys().any(|(o, _)| *o == owner)
    }

    /// The figures of `owner` on the day starting at `day` (00:00 UTC+8).
    pub(crate) fn day(&self, owner: u32, day: i64) -> Option<StatisticData> {
        if let Some(data) = self.explicit.get(&(owner, day)) {
            return Some(data.clone());
        }
        let history = self.auto.get(&owner)?;
        let end = day.saturating_add(DAY);
        let (chat_total, member_total) = history.totals(end);
        let (new_chats, new_members) = history.new_between(day, end);
        // Message figures: drawn from (seed, owner, day), bounded by that day's totals.
        let mut rng = ChaCha8Rng::seed_from_u64(
            self.seed ^ u64::from(owner).wrapping_mul(0xD1B5_4A32_D192_ED03) ^ (day as u64).wrapping_mul(0x9E37_79B9),
        );
        rng.set_stream(5);
        let chat_has_msg = rng.random_range(0..=chat_total);
        let member_has_msg = rng.random_range(0..=member_total.min(chat_has_msg.saturating_mul(5)));
        let msg_total = member_has_msg.saturating_mul(rng.random_range(1..=6));
        Some(
            StatisticData::new()
                .new_chat_cnt(new_chats.into())
                .chat_total(chat_total.into())
                .chat_has_msg(chat_has_msg.into())
                .new_member_cnt(new_members.into())
                .member_total(member_total.into())
                .member_has_msg(member_has_msg.into())
                .msg_total(msg_total.into()),
        )
    }

    /// A chat moves from `old` to `new` at `at`. `events` are its creation and member joins as
    /// (time, chats, members). From `at` on the chat's totals are the new owner's: what happened up to
    /// `at` moves in one change at `at`, what happens later at its own time. Creations and joins from
    /// `at`'s day on become the new owner's "new" ones, since they own the chat at that day's end.
    fn move_chat(&mut self, old: u32, new: u32, at: i64, events: &[(i64, i64, i64)]) {
        if !self.synthesized || old == new {
            return;
        }
        let from_day = time::day_start(at);
        let (mut chats_so_far, mut members_so_far) = (0i64, 0i64);
        let mut totals = Vec::new();
        for &(t, c, m) in events {
            if t <= at {
                chats_so_far += c;
                members_so_far += m;
            } else {
                totals.push((t, c, m));
            }
        }
        totals.push((at, chats_so_far, members_so_far));
        let news: Vec<(i64, i64, i64)> = events.iter().copied().filter(|(t, _, _)| *t >= from_day).collect();
        for (owner, sign) in [(old, -1), (new, 1)] {
            let history = self.auto.entry(owner).or_default();
            history.moved_totals.add(totals.iter().map(|&(t, c, m)| (t, sign * c, sign * m)));
            history.moved_new.add(news.iter().map(|&(t, c, m)| (t, sign * c, sign * m)));
        }
    }

    /// The owner of a chat joined it at `at` (on a transfer): one more member, and a new one that day.
    fn owner_joined(&mut self, owner: u32, at: i64) {
        if !self.synthesized {
            return;
        }
        let history = self.auto.entry(owner).or_default();
        history.moved_totals.add([(at, 0, 1)]);
        history.moved_new.add([(at, 0, 1)]);
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
            stats: Statistics { seed, ..Statistics::default() },
            visible_staff: 0,
            anchor: 0,
            pending: BTreeSet::new(),
            settle_ms: 0,
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
        if let Some(opengid) = &chat.opengid
            && self.opengids.insert(opengid.clone(), id).is_some()
        {
            return Err(format!("opengid `{opengid}` is listed twice"));
        }
        self.by_owner.entry(chat.owner).or_default().insert(id);
        self.chats.push(chat);
        Ok(id)
    }

    /// Changes a chat's owner at Unix time `at`, keeping the owner index in step. The new owner must be
    /// a member of the chat: when they are not, they join it (internal, invited directly, at `at`).
    ///
    /// The statistics follow: from `at`'s day on, the chat is the new owner's.
    pub(crate) fn set_owner(&mut self, chat: u32, owner: u32, at: i64) {
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
        // Generated member lists put the current owner first on their own.
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
                self.set_owner(chat, owner, at.min(now_ms).div_euclid(1000));
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

    const NOW: i64 = 1_764_000_000;

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

    /// An ownership change made by a test: (chat, when, new owner).
    type Move = (u32, i64, u32);

    /// The figures the API describes, worked out the slow way: a chat counts for whoever owned it at the
    /// end of the day, with its creation and its members' joins up to then. Returns [chat_total,
    /// member_total, new_chat_cnt, new_member_cnt].
    fn expected(company: &Company, first_owners: &[u32], moves: &[Move], owner: u32, day: i64) -> [i64; 4] {
        let end = day + DAY;
        let mut figures = [0i64; 4];
        for (id, chat) in company.chats.iter().enumerate() {
            let owner_then = moves
                .iter()
                .filter(|(c, at, _)| *c == id as u32 && *at < end)
                .map(|(_, _, to)| *to)
                .next_back()
                .unwrap_or(first_owners[id]);
            if owner_then != owner {
                continue;
            }
            for (t, c, m) in chat.stat_events().into_iter().filter(|e| e.0 < end) {
                let new = i64::from(t >= day);
                figures = [figures[0] + c, figures[1] + m, figures[2] + new * c, figures[3] + new * m];
            }
        }
        figures
    }

    fn figures(company: &Company, owner: u32, day: i64) -> [i64; 4] {
        let d = company.stats.day(owner, day).unwrap_or_default();
        [d.chat_total, d.member_total, d.new_chat_cnt, d.new_member_cnt].map(|f| f.unwrap_or(0))
    }

    /// Moves chats in the week before the build day: every chat of a resigned owner on day -6, one chat
    /// twice on day -3 (the middle owner never owns it at a day's end) and back on day -1. Checks every
    /// owner on every day from day -8 to day 7 against `expected`, the days before the first move against
    /// the figures from before it, and the invariants of the message figures.
    fn check_moves(mut company: Company) {
        let anchor = company.anchor;
        let first_owners: Vec<u32> = company.chats.iter().map(|c| c.owner).collect();
        let staff = company.staff.len() as u32;
        let owner_days: Vec<(u32, i64)> =
            (0..staff).flat_map(|o| (-8..=7).map(move |i| (o, anchor + i * DAY))).collect();
        let before: Vec<_> = owner_days.iter().map(|(o, d)| company.stats.day(*o, *d)).collect();

        let eligible: Vec<u32> = (0..staff).filter(|o| company.staff[*o as usize].eligible_owner()).collect();
        let (b, c, d) = (eligible[0], eligible[1], eligible[2]);
        let resigned = (0..staff).find(|o| company.staff[*o as usize].resigned && company.by_owner.contains_key(o));
        let resigned = resigned.expect("a resigned owner with chats");
        let first_move = anchor - 6 * DAY + 2 * 3600;
        let mut moves: Vec<Move> = company.by_owner[&resigned].iter().map(|chat| (*chat, first_move, b)).collect();
        let busy = *company.by_owner[&c].first().unwrap();
        moves.extend([
            (busy, anchor - 3 * DAY + 5 * 3600, d),
            (busy, anchor - 3 * DAY + 20 * 3600, b),
            (busy, anchor - DAY, c),
        ]);
        for (chat, at, to) in &moves {
            company.set_owner(*chat, *to, *at);
        }

        for (i, (o, day)) in owner_days.iter().copied().enumerate() {
            let data = company.stats.day(o, day);
            if day < time::day_start(first_move) {
                // A new statistics owner has zeros for the days before (no statistics before, none then).
                let zeros = before[i].is_none()
                    && data.as_ref().is_some_and(|d| d.chat_total == Some(0) && d.member_total == Some(0));
                assert!(data == before[i] || zeros, "{o} on {day}: the days before a transfer keep their figures");
            }
            assert_eq!(figures(&company, o, day), expected(&company, &first_owners, &moves, o, day), "{o} on {day}");
            if let Some(data) = data {
                assert!(data.chat_has_msg <= data.chat_total && data.member_has_msg <= data.member_total);
                assert!(data.new_chat_cnt <= data.chat_total && data.new_member_cnt <= data.member_total);
            }
        }
        // The resigned owner has nothing left from the move on; the new owners have statistics.
        assert_eq!(figures(&company, resigned, time::day_start(first_move))[0], 0);
        assert!(company.stats.has_owner(b) && company.stats.has_owner(d));
    }

    /// A small company whose chats are created and joined around the moves of `check_moves`, one even
    /// after the build day (a data file may say so).
    fn company_around_the_moves() -> Company {
        let anchor = time::day_start(NOW);
        let h = 3600;
        let member = |userid: &str, at: i64| {
            GroupChatMember::new().userid(userid).member_type(MemberType::External).join_time(at)
        };
        let chat = |id: &str, owner: &str, created: i64, joins: &[i64]| {
            let mut chat = ChatData::new(id, owner)
                .members(joins.iter().enumerate().map(|(i, t)| member(&format!("wm{id}{i}"), *t)));
            chat.create_time = Some(created);
            chat
        };
        let day = |i: i64| anchor + i * DAY;
        let data = CompanyData {
            staff: vec![
                StaffData::new("r").resigned(true),
                StaffData::new("a"),
                StaffData::new("b"),
                StaffData::new("c"),
            ],
            chats: vec![
                chat("1", "r", day(-7), &[day(-7) + h, day(-6) + h, day(-6) + 3 * h, day(-4)]),
                chat("2", "r", day(-2) + 5 * h, &[day(-2) + 6 * h, day(3)]),
                chat("3", "r", day(2), &[]),
                chat("4", "b", day(-10), &[day(-3) + 2 * h, day(-3) + 10 * h, day(-3) + 22 * h, day(-2)]),
                chat("5", "b", day(-9), &[day(-1)]),
            ],
            ..CompanyData::default()
        };
        Company::from_data(data, 5, NOW).unwrap()
    }

    #[test]
    fn statistics_follow_transfers_from_their_day_on() {
        check_moves(company_around_the_moves());
        check_moves(Company::from_data(CompanyData::demo(3, NOW), 3, NOW).unwrap());
        let scale = crate::config::Scale::groups(300).large_group_members(40);
        check_moves(generate::scale(&scale, 3, NOW).unwrap());
    }

    #[test]
    fn without_synthesized_statistics_transfers_add_none() {
        let data = CompanyData::from_yaml_str(
            "staff: [{userid: a}, {userid: b}]\nchats: [{chat_id: wr1, owner: a}]\nstatistics: {auto: false}",
        )
        .unwrap();
        let mut company = Company::from_data(data, 1, NOW).unwrap();
        company.set_owner(0, 1, NOW);
        assert!(!company.stats.has_owner(0) && !company.stats.has_owner(1));
    }

    #[test]
    fn series_sum_changes_before_a_time() {
        let mut series = Series::new(vec![(10, 1, 2), (5, 1, 0), (10, 0, 1)]);
        assert_eq!([series.before(5), series.before(6), series.before(11)], [(0, 0), (1, 0), (2, 3)]);
        series.add([(7, -1, 4), (10, 1, 0), (20, 0, 0)]);
        assert_eq!(series.changes().collect::<Vec<_>>(), [(5, 1, 0), (7, -1, 4), (10, 2, 3)]);
        assert_eq!(series.between(6, 11), (1, 7));
    }
}
