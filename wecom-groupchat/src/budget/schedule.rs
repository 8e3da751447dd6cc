//! The schedule every rate budget keeps, in process ([`super::MemoryBudget`], and the fallback of the Redis
//! budget) or on Redis (`reserve.lua`, this module's twin: the same state, the same steps, checked against
//! each other by `tests/tests/rate_budget.rs`).
//!
//! A call asks for a **slot**, an instant at which it may be sent, and waits for it. Slots are handed out
//! in the order they are asked for (first come, first served), and each is final: nobody is overtaken,
//! and a caller that gives up (cancelled, timed out) leaves its slot unused — the budget stays safe, one
//! call of it is lost. What a slot respects:
//!
//! - **The shortest window** (WeCom's minute) by **pacing**: slots at least `(W + margin) / L` apart. Any
//!   stretch of `W + margin` then holds at most `L` slots, however the server aligns its windows, and the
//!   budget is spent to the last call: `L` calls per `W + margin`, with no burst allowance to give up.
//! - **Every longer window** (WeCom's hour) by **counting** the slots in buckets of `1/120` of the window: a
//!   slot is given when fewer than `L` slots lie in the buckets that overlap the last `W + margin`. A bucket
//!   half out of the window still counts whole, so this never lets more than `L` through and at worst
//!   holds back one bucket's worth (0.8 % of the window) early. Pacing at the minute's rate is what lets a
//!   short job use the minute's budget while the hour's still caps a long one: a token bucket (GCRA) on
//!   the hour would either pace at the hour's average (a quarter of the minute's rate) or need a burst
//!   allowance that the hour's limit then has to give up for good.
//! - **A block**: after a 45009 the endpoint is blocked until the end of the shortest window; no slot
//!   falls inside it (or, failing fast, none is given).
//!
//! Times are integer microseconds on the budget's clock (Redis's `TIME`, or the process's monotonic
//! clock): below 2^53, so Lua's doubles hold them exactly.

use std::collections::VecDeque;
use std::time::Duration;

use crate::ratelimit::Window;

/// Buckets a long window is counted in.
pub(crate) const BUCKETS: i64 = 120;

/// A duration in whole microseconds (saturating far below `i64::MAX`, so sums cannot overflow).
pub(crate) fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 4).min(i64::MAX / 4)
}

/// The inverse of [`micros`]: whole microseconds as a duration, a negative count as zero.
pub(crate) fn from_micros(us: i64) -> Duration {
    Duration::from_micros(u64::try_from(us).unwrap_or(0))
}

fn div_ceil(a: i64, b: i64) -> i64 {
    (a + b - 1).div_euclid(b)
}

/// What the windows of one endpoint allow, in the budget's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Least distance between two slots (µs).
    pub(crate) pace: i64,
    /// The longer windows.
    pub(crate) long: Vec<LongWindow>,
    /// How long a 45009 blocks the endpoint: the shortest window.
    pub(crate) block: Duration,
    /// How long the state matters after the last slot (µs): the longest window with its margin.
    pub(crate) keep: i64,
}

/// A window longer than the shortest, counted in buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LongWindow {
    /// Slots allowed in any `span`.
    pub(crate) limit: u64,
    /// The window plus the margin (µs).
    pub(crate) span: i64,
    /// Bucket width (µs).
    pub(crate) width: i64,
}

impl Plan {
    /// The plan of `windows` spent at `share` of each limit, divided among `divisor` instances (1 for the
    /// whole budget), each window lengthened by `margin`. `None` when there is nothing to limit.
    pub(crate) fn new(windows: &[Window], share: f64, divisor: u32, margin: Duration) -> Option<Plan> {
        let mut windows: Vec<Window> = windows.iter().copied().filter(|w| w.calls > 0 && !w.period.is_zero()).collect();
        windows.sort_by_key(|w| (w.period, w.calls));
        let shortest = *windows.first()?;
        let limit = |w: &Window| -> u64 {
            let l = (f64::from(w.calls) * share / f64::from(divisor.max(1))).floor();
            if l.is_finite() && l >= 1.0 { l as u64 } else { 1 }
        };
        let margin = micros(margin);
        let span = |w: &Window| micros(w.period).saturating_add(margin);
        let pace = div_ceil(span(&shortest), i64::try_from(limit(&shortest)).unwrap_or(i64::MAX)).max(1);
        let long: Vec<LongWindow> = windows[1..]
            .iter()
            .map(|w| LongWindow { limit: limit(w), span: span(w), width: div_ceil(span(w), BUCKETS).max(1) })
            .collect();
        let keep = long.iter().map(|w| w.span).chain([span(&shortest)]).max().unwrap_or(0);
        Some(Plan { pace, long, block: shortest.period, keep })
    }
}

/// Slots counted per bucket of one long window, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Counts {
    /// (bucket index, slots), indexes increasing.
    buckets: VecDeque<(i64, u64)>,
    total: u64,
}

impl Counts {
    /// Drops the buckets wholly before the window that ends at `slot`.
    fn prune(&mut self, w: &LongWindow, slot: i64) {
        while let Some(&(k, n)) = self.buckets.front() {
            if (k + 1).saturating_mul(w.width) > slot - w.span {
                break;
            }
            self.buckets.pop_front();
            self.total -= n;
        }
    }

    fn add(&mut self, k: i64, n: u64) {
        self.total += n;
        add_to(&mut self.buckets, k, n);
    }
}

/// Adds `n` to bucket `k` of a list of buckets kept in order.
fn add_to(buckets: &mut VecDeque<(i64, u64)>, k: i64, n: u64) {
    match buckets.back_mut() {
        Some((last, count)) if *last == k => *count += n,
        Some((last, _)) if *last > k => {
            let at = buckets.partition_point(|(b, _)| *b < k);
            match buckets.get_mut(at) {
                Some((b, count)) if *b == k => *count += n,
                _ => buckets.insert(at, (k, n)),
            }
        }
        _ => buckets.push_back((k, n)),
    }
}

/// What a reservation gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reservation {
    /// The call may go at this instant.
    Slot(i64),
    /// The endpoint is blocked until this instant (failing fast: no slot was taken).
    Blocked(i64),
}

/// The schedule of one endpoint (of one corp, on one server).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct State {
    /// The earliest instant of the next slot.
    pub(crate) tat: i64,
    /// The end of a block (45009), if it lies ahead.
    pub(crate) blocked_until: i64,
    long: Vec<Counts>,
    /// A fallback's own slots per long window, kept while they may still lie in a window of a slot to
    /// come (the counts above are pruned for the slot being placed, which may lie far ahead): what it
    /// hands back to the fleet's schedule. `None` outside a fallback.
    ledger: Option<Vec<VecDeque<(i64, u64)>>>,
}

impl State {
    /// The next slot at or after `now`, taken; or, failing fast while the endpoint is blocked, the block.
    pub(crate) fn reserve(&mut self, plan: &Plan, now: i64, fail_fast: bool) -> Reservation {
        if fail_fast && self.blocked_until > now {
            return Reservation::Blocked(self.blocked_until);
        }
        self.long.resize_with(plan.long.len(), Counts::default);
        let mut slot = now.max(self.tat).max(self.blocked_until);
        for (w, counts) in plan.long.iter().zip(&mut self.long) {
            loop {
                counts.prune(w, slot);
                if counts.total < w.limit {
                    break;
                }
                // Full: wait until the oldest bucket has left the window (pushing the slot on only prunes
                // more in the windows already checked, so they still hold).
                let Some(&(oldest, _)) = counts.buckets.front() else { break };
                slot = slot.max((oldest + 1).saturating_mul(w.width).saturating_add(w.span));
            }
        }
        self.tat = slot.saturating_add(plan.pace);
        for (w, counts) in plan.long.iter().zip(&mut self.long) {
            counts.add(slot.div_euclid(w.width), 1);
        }
        if let Some(ledger) = &mut self.ledger {
            ledger.resize_with(plan.long.len(), VecDeque::new);
            for (w, own) in plan.long.iter().zip(ledger) {
                while own.front().is_some_and(|&(k, _)| (k + 1).saturating_mul(w.width) <= now - w.span) {
                    own.pop_front();
                }
                add_to(own, slot.div_euclid(w.width), 1);
            }
        }
        Reservation::Slot(slot)
    }

    /// Blocks the endpoint from `now` for `duration` µs (a longer block already recorded stays).
    pub(crate) fn block(&mut self, now: i64, duration: i64) {
        self.blocked_until = self.blocked_until.max(now.saturating_add(duration));
    }

    /// The count of each long window as of the last slot (after it).
    #[cfg(all(test, feature = "redis"))]
    pub(crate) fn totals(&self) -> Vec<u64> {
        self.long.iter().map(|c| c.total).collect()
    }

    #[cfg(any(test, feature = "redis"))]
    /// A state for a fallback that starts at `now`, after the fleet's schedule was last seen with its next
    /// slot at `fleet_tat` and `totals` slots in its long windows at `seen_at`: this instance keeps its
    /// share (`1 / divisor`) of what the fleet had left, and its first slot comes after the fleet's.
    pub(crate) fn seeded(plan: &Plan, now: i64, fleet_tat: i64, seen_at: i64, totals: &[u64], divisor: u32) -> State {
        let mut state =
            State { tat: fleet_tat.max(now), ledger: Some(vec![VecDeque::new(); plan.long.len()]), ..State::default() };
        state.long.resize_with(plan.long.len(), Counts::default);
        for ((w, counts), total) in plan.long.iter().zip(&mut state.long).zip(totals) {
            let share = total.div_ceil(u64::from(divisor.max(1)));
            if share > 0 {
                counts.add(seen_at.div_euclid(w.width), share);
            }
        }
        state
    }

    #[cfg(any(test, feature = "redis"))]
    /// This instance's own slots in each long window, as (end of its bucket, slots) with the end relative to
    /// `now` — what a fallback hands back to the fleet's schedule when Redis returns.
    pub(crate) fn debts(&self, plan: &Plan, now: i64) -> Vec<Vec<(i64, u64)>> {
        plan.long
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let Some(own) = self.ledger.as_ref().and_then(|l| l.get(i)) else { return Vec::new() };
                own.iter()
                    .map(|&(k, n)| ((k + 1).saturating_mul(w.width) - now, n))
                    .filter(|&(end, _)| end > -w.span)
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1000;
    const S: i64 = 1_000_000;

    fn window(calls: u32, secs: u64) -> Window {
        Window { calls, period: Duration::from_secs(secs) }
    }

    fn slot(r: Reservation) -> i64 {
        match r {
            Reservation::Slot(t) => t,
            Reservation::Blocked(until) => panic!("blocked until {until}"),
        }
    }

    /// The most slots any half-open stretch of `span` holds.
    fn densest(slots: &[i64], span: i64) -> usize {
        let mut sorted = slots.to_vec();
        sorted.sort_unstable();
        let mut best = 0;
        let mut start = 0;
        for end in 0..sorted.len() {
            while sorted[end] - sorted[start] >= span {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    /// A pseudo-random sequence (xorshift), so the tests are deterministic.
    fn arrivals(seed: u64, n: usize, mean_gap: i64) -> Vec<i64> {
        let mut x = seed | 1;
        let mut t = 0;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                // Bursts (many at the same instant) and pauses both.
                t += match x % 10 {
                    0..=5 => 0,
                    6..=8 => (x >> 8) as i64 % (2 * mean_gap),
                    _ => (x >> 8) as i64 % (50 * mean_gap),
                };
                t
            })
            .collect()
    }

    #[test]
    fn plans_take_the_shortest_window_as_pace_and_count_the_others() {
        let plan = Plan::new(&[window(150_000, 3600), window(10_000, 60)], 1.0, 1, Duration::from_millis(500)).unwrap();
        assert_eq!(plan.pace, div_ceil(60_500 * MS, 10_000));
        assert_eq!(plan.block, Duration::from_secs(60));
        assert_eq!(
            plan.long,
            [LongWindow { limit: 150_000, span: 3_600_500 * MS, width: div_ceil(3_600_500 * MS, BUCKETS) }]
        );
        assert_eq!(plan.keep, 3_600_500 * MS);
        // A share, and a fallback's part of it.
        let plan = Plan::new(&[window(600, 6), window(1_000, 60)], 0.9, 4, Duration::ZERO).unwrap();
        assert_eq!(plan.pace, div_ceil(6 * S, 135));
        assert_eq!(plan.long[0].limit, 225);
        // At least one call, however small the share.
        assert_eq!(Plan::new(&[window(3, 1)], 0.1, 8, Duration::ZERO).unwrap().pace, S);
        assert_eq!(Plan::new(&[], 1.0, 1, Duration::ZERO), None);
        assert_eq!(Plan::new(&[window(0, 1)], 1.0, 1, Duration::ZERO), None);
    }

    #[test]
    fn no_window_ever_holds_more_than_its_limit() {
        let windows = [window(50, 1), window(400, 20)];
        let plan = Plan::new(&windows, 1.0, 1, Duration::ZERO).unwrap();
        for seed in 1..6 {
            let mut state = State::default();
            let slots: Vec<i64> =
                arrivals(seed, 3_000, 5 * MS).into_iter().map(|now| slot(state.reserve(&plan, now, false))).collect();
            assert!(slots.windows(2).all(|p| p[1] - p[0] >= plan.pace), "paced, in order");
            assert!(densest(&slots, S) <= 50, "seed {seed}: {} in 1 s", densest(&slots, S));
            assert!(densest(&slots, 20 * S) <= 400, "seed {seed}: {} in 20 s", densest(&slots, 20 * S));
        }
    }

    #[test]
    fn the_budget_is_spent_exactly() {
        // Demand far above the limit: the shortest window is spent to the last call…
        let plan = Plan::new(&[window(600, 6)], 1.0, 1, Duration::ZERO).unwrap();
        let mut state = State::default();
        let slots: Vec<i64> = (0..6_000).map(|_| slot(state.reserve(&plan, 0, false))).collect();
        assert_eq!(densest(&slots, 6 * S), 600);
        assert_eq!(slots[5_999], 5_999 * 10 * MS, "600 per 6 s, evenly");
        // …and a long window lets a short job run at the short window's pace until it is full, then holds
        // it until its oldest bucket leaves.
        let plan = Plan::new(&[window(100, 1), window(300, 60)], 1.0, 1, Duration::ZERO).unwrap();
        let mut state = State::default();
        let slots: Vec<i64> = (0..301).map(|_| slot(state.reserve(&plan, 0, false))).collect();
        assert_eq!(slots[299], 299 * 10 * MS, "300 slots at the pace of the short window");
        assert_eq!(slots[300], plan.long[0].width + 60 * S, "the 301st once the first bucket is out");
        assert_eq!(densest(&slots, 60 * S), 300);
    }

    #[test]
    fn a_block_holds_every_slot_or_refuses_one() {
        let plan = Plan::new(&[window(10, 1)], 1.0, 1, Duration::ZERO).unwrap();
        let mut state = State::default();
        assert_eq!(slot(state.reserve(&plan, 0, false)), 0);
        state.block(50 * MS, micros(plan.block));
        assert_eq!(state.reserve(&plan, 60 * MS, true), Reservation::Blocked(1_050 * MS));
        assert_eq!(slot(state.reserve(&plan, 60 * MS, false)), 1_050 * MS);
        assert_eq!(slot(state.reserve(&plan, 60 * MS, false)), 1_150 * MS, "paced after the block");
        // A shorter block recorded later does not shorten it.
        state.block(100 * MS, 10 * MS);
        assert_eq!(state.blocked_until, 1_050 * MS);
    }

    #[test]
    fn a_fallback_keeps_its_share_of_what_the_fleet_left_and_hands_back_its_own_calls() {
        let plan = Plan::new(&[window(100, 1), window(400, 60)], 1.0, 4, Duration::ZERO).unwrap();
        assert_eq!((plan.pace, plan.long[0].limit), (40 * MS, 100));
        // The fleet had spent 240 of its 400 when this instance last saw it: a quarter of that is this
        // instance's, so 40 more fit before the seen bucket leaves the window.
        let mut state = State::seeded(&plan, 5 * S, 5 * S + 3 * MS, 5 * S, &[240], 4);
        let slots: Vec<i64> = (0..41).map(|_| slot(state.reserve(&plan, 5 * S, false))).collect();
        assert_eq!(slots[0], 5 * S + 3 * MS, "after the fleet's last slot");
        assert!(slots[39] < 7 * S && slots[40] > 60 * S, "{:?}", &slots[38..]);
        // Its own 41 calls go back, the seeded 60 do not.
        let debts = state.debts(&plan, 6 * S);
        assert_eq!(debts[0].iter().map(|d| d.1).sum::<u64>(), 41);
    }
}
