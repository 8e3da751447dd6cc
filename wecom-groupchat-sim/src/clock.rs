//! The simulator's clock: real time plus an offset that only moves forward.
//!
//! Every rule that depends on time reads this clock, not the system's: token expiry, transfer settling,
//! the daily transfer quota, the 90-day on-the-job window, which days have statistics and rate-limit
//! windows. Tests move it with [`crate::Simulator::advance_clock`] or `POST /__sim/clock` instead of
//! waiting a day (or 90).

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wecom_groupchat::time::DAY;

/// Largest distance, in seconds, between the simulated clock and the real one (about 100 years): far
/// enough for any test, near enough that no time arithmetic can overflow.
pub const MAX_CLOCK_OFFSET_SECS: i64 = 100 * 366 * DAY;

/// Real time shifted by a configured offset plus whatever was advanced since.
#[derive(Debug)]
pub(crate) struct Clock {
    /// When the clock was made; elapsed time is measured from it (monotonic, so a system clock change
    /// cannot move the simulated time backwards).
    started: Instant,
    /// Simulated Unix time in milliseconds at `started`.
    start_ms: i64,
    /// The offset given at start, in milliseconds.
    initial_offset_ms: i64,
    /// Milliseconds advanced since.
    advanced_ms: AtomicI64,
}

impl Clock {
    /// A clock `offset_secs` ahead of real time (behind when negative).
    ///
    /// # Errors
    /// A message when the offset is beyond [`MAX_CLOCK_OFFSET_SECS`].
    pub(crate) fn new(offset_secs: i64) -> Result<Clock, String> {
        check_offset(offset_secs)?;
        let real_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, millis);
        let initial_offset_ms = offset_secs * 1000;
        Ok(Clock {
            started: Instant::now(),
            start_ms: real_ms.saturating_add(initial_offset_ms),
            initial_offset_ms,
            advanced_ms: AtomicI64::new(0),
        })
    }

    /// Simulated Unix time in milliseconds.
    pub(crate) fn now_ms(&self) -> i64 {
        self.start_ms
            .saturating_add(millis(self.started.elapsed()))
            .saturating_add(self.advanced_ms.load(Ordering::Relaxed))
    }

    /// Simulated Unix time in seconds.
    pub(crate) fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// How far the simulated clock is ahead of the real one, in seconds.
    pub(crate) fn offset_secs(&self) -> i64 {
        (self.initial_offset_ms + self.advanced_ms.load(Ordering::Relaxed)).div_euclid(1000)
    }

    /// Moves the clock forward.
    ///
    /// # Errors
    /// A message when the clock would end up more than [`MAX_CLOCK_OFFSET_SECS`] ahead of real time.
    pub(crate) fn advance(&self, by: Duration) -> Result<(), String> {
        let by_ms = millis(by);
        self.advanced_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |advanced| {
                let total = advanced.checked_add(by_ms)?;
                check_offset((self.initial_offset_ms.checked_add(total)?).div_euclid(1000)).ok()?;
                Some(total)
            })
            .map(|_| ())
            .map_err(|_| {
                format!(
                    "the clock cannot run more than {MAX_CLOCK_OFFSET_SECS} seconds (about 100 years) ahead; it is {} s ahead now",
                    self.offset_secs()
                )
            })
    }
}

fn check_offset(offset_secs: i64) -> Result<(), String> {
    if offset_secs.unsigned_abs() > MAX_CLOCK_OFFSET_SECS.unsigned_abs() {
        return Err(format!("clock offset {offset_secs} s is beyond ±{MAX_CLOCK_OFFSET_SECS} s (about 100 years)"));
    }
    Ok(())
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_shift_and_advance_the_time() {
        let real = wecom_groupchat::time::now_unix();
        let clock = Clock::new(-DAY).unwrap();
        assert!((clock.now() - (real - DAY)).abs() <= 2, "{} vs {}", clock.now(), real - DAY);
        assert_eq!(clock.offset_secs(), -DAY);
        clock.advance(Duration::from_secs(2 * DAY as u64)).unwrap();
        assert_eq!(clock.offset_secs(), DAY);
        assert!((clock.now() - (real + DAY)).abs() <= 2);
    }

    #[test]
    fn absurd_offsets_are_refused_not_overflowed() {
        assert!(Clock::new(i64::MAX).is_err());
        assert!(Clock::new(i64::MIN).is_err());
        let clock = Clock::new(MAX_CLOCK_OFFSET_SECS).unwrap();
        assert!(clock.advance(Duration::from_secs(1)).is_err());
        assert!(clock.advance(Duration::MAX).is_err());
        assert_eq!(clock.offset_secs(), MAX_CLOCK_OFFSET_SECS, "a refused advance changes nothing");
        let clock = Clock::new(0).unwrap();
        assert!(clock.advance(Duration::from_secs(u64::MAX)).is_err());
        assert!(clock.advance(Duration::from_secs(DAY as u64)).is_ok());
    }
}
