//! Days as WeCom counts them: Unix seconds of 00:00 in the spec's day zone ([`DAY_ZONE`], [`DAY_UTC_OFFSET_SECONDS`]),
//! no daylight saving.

use std::time::{SystemTime, UNIX_EPOCH};

pub use crate::generated::{DAY_UTC_OFFSET_SECONDS, DAY_ZONE};

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// The current Unix time in seconds.
pub fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// The start (00:00 UTC+8) of the day holding `ts`, as the server floors non-midnight input.
///
/// Arithmetic saturates: timestamps come from users and servers, and `i64::MAX` must give an error
/// message (a day far in the future), not an overflow.
pub fn day_start(ts: i64) -> i64 {
    ts.saturating_add(DAY_UTC_OFFSET_SECONDS).div_euclid(DAY).saturating_mul(DAY).saturating_sub(DAY_UTC_OFFSET_SECONDS)
}

/// How many days before the day of `now` the day of `ts` lies (0 = today, 1 = yesterday, negative = future).
pub fn days_ago(ts: i64, now: i64) -> i64 {
    day_start(now).saturating_sub(day_start(ts)) / DAY
}

/// The day `n` days before the day of `now` (00:00 UTC+8).
pub fn day_before(now: i64, n: i64) -> i64 {
    day_start(now).saturating_sub(n.saturating_mul(DAY))
}

/// The day of `ts` with how far it lies from today, for messages: `2026-11-24 (yesterday, UTC+8)`.
pub fn describe_day(ts: i64, now: i64) -> String {
    let day = format_day(ts);
    match days_ago(ts, now) {
        0 => format!("{day} (today, {DAY_ZONE})"),
        1 => format!("{day} (yesterday, {DAY_ZONE})"),
        n if n < 0 => format!("{day} (in the future, {DAY_ZONE})"),
        n => format!("{day} ({n} days ago, {DAY_ZONE})"),
    }
}

fn offset() -> time::UtcOffset {
    time::UtcOffset::from_whole_seconds(DAY_UTC_OFFSET_SECONDS as i32).unwrap_or(time::UtcOffset::UTC)
}

/// `YYYY-MM-DD` of the day holding `ts`, in UTC+8; `@ts` for a second `time` cannot hold as a UTC+8 date
/// (its last hours in UTC are already year 10000 in UTC+8, where `to_offset` would panic).
pub fn format_day(ts: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(ts).ok().and_then(|t| t.checked_to_offset(offset())) {
        Some(t) => {
            let d = t.date();
            format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
        }
        None => format!("@{ts}"),
    }
}

/// Parses `YYYY-MM-DD` as that day's 00:00 in UTC+8.
pub fn parse_day(text: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(text.trim(), &format).ok()?;
    Some(date.midnight().assume_offset(offset()).unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_like_the_docs_example() {
        // 1554296400 = Wed Apr 3 21:00:00 CST 2019 → 1554220800 = Wed Apr 3 00:00:00 CST 2019.
        assert_eq!(day_start(1_554_296_400), 1_554_220_800);
        assert_eq!(day_start(1_554_220_800), 1_554_220_800);
        assert_eq!(day_start(1_554_220_799), 1_554_220_800 - DAY);
        assert_eq!(format_day(1_554_220_800), "2019-04-03");
        assert_eq!(parse_day("2019-04-03"), Some(1_554_220_800));
        assert_eq!(parse_day("2020-09-17"), Some(1_600_272_000));
        assert_eq!(parse_day("2019-02-30"), None);
    }

    #[test]
    fn days_ago_counts_utc8_days() {
        let midnight = 1_600_272_000; // 2020-09-17 00:00 UTC+8 = 2020-09-16 16:00 UTC
        assert_eq!(days_ago(midnight, midnight + 10), 0);
        assert_eq!(days_ago(midnight - 1, midnight + 10), 1);
        assert_eq!(days_ago(midnight, midnight + DAY), 1);
        assert_eq!(day_before(midnight + 5 * 3600, 2), midnight - 2 * DAY);
        assert_eq!(describe_day(midnight, midnight + 10), "2020-09-17 (today, UTC+8)");
        assert_eq!(describe_day(midnight - 1, midnight), "2020-09-16 (yesterday, UTC+8)");
        assert_eq!(describe_day(midnight + DAY, midnight), "2020-09-18 (in the future, UTC+8)");
        assert_eq!(describe_day(midnight - 3 * DAY, midnight), "2020-09-14 (3 days ago, UTC+8)");
    }

    #[test]
    fn extreme_timestamps_saturate_instead_of_overflowing() {
        let now = 1_600_272_000;
        for ts in [i64::MAX, i64::MIN, i64::MAX - 1, i64::MIN + 1, 253_402_300_799] {
            let _ = day_start(ts);
            let _ = format_day(ts);
        }
        assert!(days_ago(i64::MAX, now) < -180, "far in the future");
        assert!(days_ago(i64::MIN, now) > 180, "far in the past");
        assert!(day_before(now, i64::MAX) < 0 && day_before(now, i64::MIN) > now);
    }
}
