//! What the Redis token store and the Redis rate budget share: the client for a URL, and whether Redis
//! answers, as seen by one process (each with a state of its own): one warning per outage, one probe at a time while Redis is away.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A Redis client for `url` (not connected yet). A `rediss://` URL in a build without a TLS feature is
/// refused here, naming the features, rather than by redis's "feature is not enabled" on every call.
pub(crate) fn client(url: &str) -> Result<redis::Client, String> {
    if url.starts_with("rediss://") && !crate::client::TLS_BACKEND {
        return Err("a rediss:// URL needs TLS: build wecom-groupchat with its `rustls` (default) or `native-tls` \
                    feature"
            .into());
    }
    redis::Client::open(url).map_err(|e| format!("bad Redis URL: {e}"))
}

/// A state lock of the Redis-backed pieces, taken even after a panic elsewhere poisoned it (their states
/// stay consistent between statements).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether Redis answers, as seen by this process.
///
/// Every change bumps `epoch`; an operation changes the state only if the epoch is still the one it saw
/// when it started (compare-and-set), so a slow success that started before a failure cannot announce
/// "reachable again" in the middle of an outage, nor a slow failure a new outage after a recovery.
#[derive(Debug, Default)]
pub(crate) struct Health {
    epoch: u64,
    pub(crate) degraded: bool,
    /// While degraded, Redis is tried again (by one operation) only after this instant, so calls do not
    /// each wait on it.
    retry_at: Option<Instant>,
}

/// What an operation learnt about Redis, to log once the state lock is released.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Transition {
    None,
    Lost,
    Back,
}

impl Health {
    /// An operation starts: the epoch it sees, or `None` when it must not try Redis (degraded and not
    /// yet time to try again). When it is time, this operation is the one probe; the others keep using
    /// the fallback until `retry_after` later.
    pub(crate) fn begin(&mut self, now: Instant, retry_after: Duration) -> Option<u64> {
        if self.degraded {
            if self.retry_at.is_some_and(|at| now < at) {
                return None;
            }
            self.retry_at = Some(now + retry_after);
        }
        Some(self.epoch)
    }

    /// An operation that started at `epoch` ended. Only one that saw the current state may change it.
    pub(crate) fn finish(&mut self, epoch: u64, ok: bool, now: Instant, retry_after: Duration) -> Transition {
        if self.epoch != epoch {
            // The state changed while it ran: its outcome is older news than that change.
            return Transition::None;
        }
        match (ok, self.degraded) {
            (true, true) => {
                *self = Health { epoch: epoch + 1, degraded: false, retry_at: None };
                Transition::Back
            }
            (true, false) => Transition::None,
            (false, degraded) => {
                self.retry_at = Some(now + retry_after);
                if degraded {
                    return Transition::None;
                }
                self.degraded = true;
                self.epoch += 1;
                Transition::Lost
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RETRY: Duration = Duration::from_secs(1);

    #[test]
    fn one_warning_per_outage_and_a_stale_success_does_not_announce_recovery() {
        let mut health = Health::default();
        let t0 = Instant::now();
        // Two operations start while Redis is fine; Redis dies; the first fails, the second (sent before
        // the failure was seen) succeeds late.
        let (slow, failing) = (health.begin(t0, RETRY).unwrap(), health.begin(t0, RETRY).unwrap());
        assert_eq!(health.finish(failing, false, t0, RETRY), Transition::Lost);
        assert_eq!(health.finish(slow, true, t0, RETRY), Transition::None, "no flapping 'reachable again'");
        assert!(health.degraded);
        // Backing off: nobody tries Redis until `retry_at`.
        assert_eq!(health.begin(t0 + RETRY / 2, RETRY), None);
        // Then one probe goes; the others still back off. It fails: no second warning.
        let probe = health.begin(t0 + RETRY, RETRY).unwrap();
        assert_eq!(health.begin(t0 + RETRY, RETRY), None, "one probe at a time");
        assert_eq!(health.finish(probe, false, t0 + RETRY, RETRY), Transition::None);
        // The next probe succeeds: back, once.
        let probe = health.begin(t0 + RETRY * 2, RETRY).unwrap();
        assert_eq!(health.finish(probe, true, t0 + RETRY * 2, RETRY), Transition::Back);
        assert!(!health.degraded && health.retry_at.is_none());
    }

    #[test]
    fn a_stale_failure_does_not_announce_a_new_outage() {
        let mut health = Health::default();
        let t0 = Instant::now();
        // One operation hangs on a dying Redis; another fails; Redis comes back and a probe succeeds; then
        // the hung operation fails at last.
        let (hung, failing) = (health.begin(t0, RETRY).unwrap(), health.begin(t0, RETRY).unwrap());
        assert_eq!(health.finish(failing, false, t0, RETRY), Transition::Lost);
        let probe = health.begin(t0 + RETRY, RETRY).unwrap();
        assert_eq!(health.finish(probe, true, t0 + RETRY, RETRY), Transition::Back);
        assert_eq!(health.finish(hung, false, t0 + RETRY, RETRY), Transition::None, "older news than the recovery");
        assert!(!health.degraded);
    }
}
