//! `statistic` (per owner over a range of days) and `statistic_group_by_day` (per day, summed over
//! owners).
//!
//! Days are 00:00 UTC+8; non-midnight times are floored; the range is closed. The generated
//! `Validate` answers 600018 for a day before 180 days ago or after yesterday, and for a reversed range
//! or one longer than 30 days. Without `owner_filter` every owner with statistics is covered, unless
//! more than 1,000 people are visible (81017).
//!
//! Aggregation over a range (by owner): the "new" figures (`new_chat_cnt`, `new_member_cnt`,
//! `migrate_trainee_chat_cnt`) are summed over the days; the "as of that day" figures (`chat_total`,
//! `chat_has_msg`, `member_total`, `member_has_msg`, `msg_total`) are those of the last day.

use wecom_groupchat::time::{self, DAY};
use wecom_groupchat::types::{
    OrderAsc, OwnerFilter, StatisticData, StatisticDayItem, StatisticGroupByDayRequest, StatisticGroupByDayResponse,
    StatisticOrderBy, StatisticOwnerItem, StatisticRequest, StatisticResponse,
};

use super::{CallCtx, Handle, TOO_MANY, VISIBLE_LIMIT};
use crate::answer::Failure;
use crate::company::Company;

/// The owners covered, in the order given (without duplicates or staff lacking statistics); without an
/// owner filter, every owner in the app's visible range.
fn owners(c: &Company, filter: &Option<OwnerFilter>) -> Result<Vec<u32>, Failure> {
    let Some(filter) = filter else {
        if c.visible_staff > VISIBLE_LIMIT {
            return Err(Failure::new(
                TOO_MANY,
                format!(
                    "{} people in the visible range, more than {VISIBLE_LIMIT}; give owner_filter",
                    c.visible_staff
                ),
            ));
        }
        let mut all: Vec<u32> = (0..c.staff.len() as u32).filter(|o| c.stats.has_owner(*o)).collect();
        all.sort_by(|a, b| c.userid(*a).cmp(c.userid(*b)));
        return Ok(all);
    };
    let mut out = Vec::new();
    for userid in &filter.userid_list {
        if let Some(id) = c.staff_id(userid)
            && c.stats.has_owner(id)
            && !out.contains(&id)
        {
            out.push(id);
        }
    }
    Ok(out)
}

/// Most days in one request (the generated validation refuses longer ranges with 600018).
const MAX_DAYS: usize = StatisticRequest::DAY_BEGIN_TIME_SPAN_MAX_DAYS as usize;

/// The days of the closed range, floored to 00:00 UTC+8. Validation has bounded the range already; the
/// cap and the checked steps only make sure no input can overflow or run long.
fn days(begin: i64, end: Option<i64>) -> Vec<i64> {
    let first = time::day_start(begin);
    let last = time::day_start(end.unwrap_or(begin));
    std::iter::successors(Some(first), |d| d.checked_add(DAY)).take_while(|d| *d <= last).take(MAX_DAYS).collect()
}

/// Sums figures; explicit figures from a data file can be anything, so saturate.
fn add(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (None, None) => None,
        (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
    }
}

fn zero() -> StatisticData {
    StatisticData::new()
        .new_chat_cnt(0)
        .chat_total(0)
        .chat_has_msg(0)
        .new_member_cnt(0)
        .member_total(0)
        .member_has_msg(0)
        .msg_total(0)
}

/// One owner over the range.
fn over_range(c: &Company, owner: u32, days: &[i64]) -> StatisticData {
    let mut out = zero();
    for day in days {
        let d = c.stats.day(owner, *day).unwrap_or_else(zero);
        out.new_chat_cnt = add(out.new_chat_cnt, d.new_chat_cnt);
        out.new_member_cnt = add(out.new_member_cnt, d.new_member_cnt);
        out.migrate_trainee_chat_cnt = add(out.migrate_trainee_chat_cnt, d.migrate_trainee_chat_cnt);
        out.chat_total = d.chat_total.or(Some(0));
        out.chat_has_msg = d.chat_has_msg.or(Some(0));
        out.member_total = d.member_total.or(Some(0));
        out.member_has_msg = d.member_has_msg.or(Some(0));
        out.msg_total = d.msg_total.or(Some(0));
    }
    out
}

/// Several owners on one day.
fn summed(c: &Company, owners: &[u32], day: i64) -> StatisticData {
    let mut out = zero();
    for owner in owners {
        let d = c.stats.day(*owner, day).unwrap_or_else(zero);
        out.new_chat_cnt = add(out.new_chat_cnt, d.new_chat_cnt);
        out.chat_total = add(out.chat_total, d.chat_total);
        out.chat_has_msg = add(out.chat_has_msg, d.chat_has_msg);
        out.new_member_cnt = add(out.new_member_cnt, d.new_member_cnt);
        out.member_total = add(out.member_total, d.member_total);
        out.member_has_msg = add(out.member_has_msg, d.member_has_msg);
        out.msg_total = add(out.msg_total, d.msg_total);
        out.migrate_trainee_chat_cnt = add(out.migrate_trainee_chat_cnt, d.migrate_trainee_chat_cnt);
    }
    out
}

impl Handle for StatisticRequest {
    fn handle(self, c: &mut Company, _ctx: &CallCtx) -> Result<StatisticResponse, Failure> {
        let days = days(self.day_begin_time, self.day_end_time);
        let mut items: Vec<(String, StatisticData)> = owners(c, &self.owner_filter)?
            .into_iter()
            .map(|o| (c.userid(o).to_string(), over_range(c, o, &days)))
            .collect();
        let key = |d: &StatisticData| match self.order_by_or_default() {
            StatisticOrderBy::ChatTotal => d.chat_total,
            StatisticOrderBy::NewMemberCount => d.new_member_cnt,
            StatisticOrderBy::MemberTotal => d.member_total,
            _ => d.new_chat_cnt,
        };
        let ascending = self.order_asc_or_default() == OrderAsc::Ascending;
        // Ties are broken by userid, so pages never overlap.
        items.sort_by(|(ua, a), (ub, b)| {
            let by_key = if ascending { key(a).cmp(&key(b)) } else { key(b).cmp(&key(a)) };
            by_key.then_with(|| ua.cmp(ub))
        });
        let total = items.len();
        // Validation bounds both; clamp anyway so no value can wrap.
        let offset = usize::try_from(self.offset_or_default().max(0)).unwrap_or(usize::MAX).min(total);
        let limit = usize::try_from(self.limit_or_default().max(1)).unwrap_or(usize::MAX);
        let page: Vec<StatisticOwnerItem> = items
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|(owner, data)| StatisticOwnerItem::new().owner(owner).data(data))
            .collect();
        let mut response = StatisticResponse::new();
        response.total = Some(total as i64);
        response.next_offset = Some((offset + page.len()) as i64);
        response.items = Some(page);
        Ok(response)
    }
}

impl Handle for StatisticGroupByDayRequest {
    fn handle(self, c: &mut Company, _ctx: &CallCtx) -> Result<StatisticGroupByDayResponse, Failure> {
        let owners = owners(c, &self.owner_filter)?;
        let items: Vec<StatisticDayItem> = days(self.day_begin_time, self.day_end_time)
            .into_iter()
            .map(|day| StatisticDayItem::new().stat_time(day).data(summed(c, &owners, day)))
            .collect();
        let mut response = StatisticGroupByDayResponse::new();
        response.items = Some(items);
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_closed_and_floored() {
        let d = time::parse_day("2026-03-01").unwrap();
        assert_eq!(days(d + 5 * 3600, Some(d + 2 * DAY + 100)), vec![d, d + DAY, d + 2 * DAY]);
        assert_eq!(days(d + 1, None), vec![d]);
    }

    #[test]
    fn extreme_ranges_stay_bounded() {
        assert_eq!(days(i64::MAX, None).len(), 1);
        assert_eq!(days(i64::MIN, Some(i64::MAX)).len(), MAX_DAYS);
        assert!(days(i64::MAX, Some(i64::MIN)).is_empty());
        assert_eq!(add(Some(i64::MAX), Some(1)), Some(i64::MAX));
        assert_eq!(add(Some(i64::MIN), Some(-1)), Some(i64::MIN));
    }
}
