//! The statistics history: per owner and per day, the figures `groupchat/statistic` answers, made on
//! demand from the chats each owner had at the end of the day, and following transfers from their day on.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use wecom_groupchat::time::{self, DAY};
use wecom_groupchat::types::StatisticData;

/// Days of statistics WeCom keeps (yesterday back to 180 days ago).
pub const STAT_DAYS: i64 = wecom_groupchat::types::StatisticRequest::DAY_BEGIN_TIME_DAYS_AGO_MAX;

/// Statistics per owner and day, made on demand: the figures of any day are a pure function of the
/// chats the owner had at the end of the day (created, members joined by then) and of the seed, so
/// whatever "yesterday" is when a request comes, it has figures, and the same day always has the same
/// ones (a transfer changes the days from its own on, never those before it).
#[derive(Debug, Clone, Default)]
pub(crate) struct Statistics {
    /// Whether figures are synthesized from the chats (off: only `explicit` ones).
    synthesized: bool,
    /// Owners with synthesized statistics: those owning chats when the company was built or since.
    auto: HashMap<u32, History>,
    /// Figures given explicitly (data file), overriding the synthesized ones.
    pub(crate) explicit: HashMap<(u32, i64), StatisticData>,
    /// Drives the message figures.
    seed: u64,
}

impl Statistics {
    /// No statistics yet; `seed` drives the message figures.
    pub(crate) fn new(seed: u64) -> Self {
        Statistics { seed, ..Statistics::default() }
    }

    /// Synthesizes figures from the chats the company was built with, given as each chat's owner and
    /// its creation and member joins ([`Chat::stat_events`](super::Chat::stat_events)).
    pub(crate) fn synthesize(&mut self, chats: impl IntoIterator<Item = (u32, Vec<(i64, i64, i64)>)>) {
        let mut events: HashMap<u32, Vec<(i64, i64, i64)>> = HashMap::new();
        for (owner, chat_events) in chats {
            events.entry(owner).or_default().extend(chat_events);
        }
        self.synthesized = true;
        self.auto = events.into_iter().map(|(owner, events)| (owner, History::new(Series::new(events)))).collect();
    }

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
    pub(crate) fn move_chat(&mut self, old: u32, new: u32, at: i64, events: &[(i64, i64, i64)]) {
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
    pub(crate) fn owner_joined(&mut self, owner: u32, at: i64) {
        self.adjust(owner, at, 0, 1, true);
    }

    /// A change at `at` of the chats an owner has and of their members: chats created (`chats` > 0) or
    /// dismissed (< 0), members joined (`members` > 0) or left (< 0). With `new`, the change counts
    /// among that day's new chats and members too (creations and joins).
    pub(crate) fn adjust(&mut self, owner: u32, at: i64, chats: i64, members: i64, new: bool) {
        if !self.synthesized {
            return;
        }
        let history = self.auto.entry(owner).or_default();
        history.moved_totals.add([(at, chats, members)]);
        if new {
            history.moved_new.add([(at, chats, members)]);
        }
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
struct History {
    /// Creations and joins of the chats owned when the company was built.
    built: Series,
    /// Corrections of the totals (chats owned, their members).
    moved_totals: Series,
    /// Corrections of the creations and joins counted as the day's new chats and members.
    moved_new: Series,
}

impl History {
    /// The history of an owner whose chats at the build are `built`, with no transfers yet.
    fn new(built: Series) -> Self {
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

/// Dated changes of a number of chats and of members, kept as sorted times with running totals, so the
/// sum of the changes before any time is one binary search.
#[derive(Debug, Clone, Default)]
struct Series {
    /// Times of the changes, ascending, each once.
    times: Vec<i64>,
    /// Sum of the chat changes at or before `times[i]`.
    chats: Vec<i64>,
    /// Sum of the member changes at or before `times[i]`.
    members: Vec<i64>,
}

impl Series {
    /// Builds the series from changes: (time, chats, members).
    fn new(mut changes: Vec<(i64, i64, i64)>) -> Self {
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

/// A figure as the API gives it; corrections never take a sum below 0, but no input may wrap it.
fn clamp(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use wecom_groupchat::types::{GroupChatMember, MemberType};

    use super::*;
    use crate::company::{ChatData, Company, CompanyData, StaffData, generate};

    const NOW: i64 = 1_764_000_000;

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
