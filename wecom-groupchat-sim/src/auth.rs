//! Access tokens: `gettoken` checks the corp id and secret and issues a token with `expires_in`;
//! business calls are checked for a missing (41001), unknown (40014) or expired (42001) token.
//!
//! A new `gettoken` does not invalidate earlier tokens (WeCom lets them overlap); each lives for the
//! configured lifetime. "Invalidate all" expires every token at once, as WeCom may do early.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use wecom_groupchat::codes::{ACCESS_TOKEN_EXPIRED, ACCESS_TOKEN_MISSING, INVALID_ACCESS_TOKEN};

use crate::clock::millis;
use crate::lock;

/// Expired tokens are forgotten (then answered as unknown) this long after they expired, in ms.
const FORGET_AFTER_MS: i64 = 24 * 3600 * 1000;
/// The table is swept of forgotten tokens when it grows past this size.
const SWEEP_AT: usize = 4096;

/// Issued tokens and their expiry. Times are the simulator clock's Unix milliseconds, given by the
/// caller, so that advancing the clock expires tokens. `Debug` shows how many, never the tokens.
pub(crate) struct Tokens {
    issued: Mutex<HashMap<String, i64>>,
    ttl: RwLock<Duration>,
    rng: Mutex<ChaCha8Rng>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("issued", &lock::mutex(&self.issued).len())
            .field("ttl", &self.ttl())
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub(crate) fn new(ttl: Duration, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(2);
        Tokens { issued: Mutex::new(HashMap::new()), ttl: RwLock::new(ttl), rng: Mutex::new(rng) }
    }

    pub(crate) fn ttl(&self) -> Duration {
        *lock::read(&self.ttl)
    }

    pub(crate) fn set_ttl(&self, ttl: Duration) {
        *lock::write(&self.ttl) = ttl;
    }

    /// Issues a new token at `now_ms`; returns it and its lifetime in seconds.
    pub(crate) fn issue(&self, now_ms: i64) -> (String, u64) {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let ttl = self.ttl();
        let mut issued = lock::mutex(&self.issued);
        let token = loop {
            let mut rng = lock::mutex(&self.rng);
            let token: String = (0..86).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
            if !issued.contains_key(&token) {
                break token;
            }
        };
        if issued.len() >= SWEEP_AT {
            issued.retain(|_, expires| now_ms < expires.saturating_add(FORGET_AFTER_MS));
        }
        // A lifetime too long for the clock saturates: "never expires".
        issued.insert(token.clone(), now_ms.saturating_add(millis(ttl)));
        (token, ttl.as_secs().max(1))
    }

    /// Checks a business call's token: `Err(errcode)` when it is missing, unknown or expired.
    pub(crate) fn check(&self, token: Option<&str>, now_ms: i64) -> Result<(), i64> {
        let token = match token {
            Some(t) if !t.is_empty() => t,
            _ => return Err(ACCESS_TOKEN_MISSING),
        };
        match lock::mutex(&self.issued).get(token) {
            None => Err(INVALID_ACCESS_TOKEN),
            Some(expires) if now_ms >= *expires => Err(ACCESS_TOKEN_EXPIRED),
            Some(_) => Ok(()),
        }
    }

    /// Expires one token now.
    pub(crate) fn expire(&self, token: &str, now_ms: i64) {
        if let Some(expires) = lock::mutex(&self.issued).get_mut(token) {
            *expires = (*expires).min(now_ms);
        }
    }

    /// Expires every live token now; returns how many were live.
    pub(crate) fn invalidate_all(&self, now_ms: i64) -> usize {
        let mut n = 0;
        for expires in lock::mutex(&self.issued).values_mut() {
            if *expires > now_ms {
                *expires = now_ms;
                n += 1;
            }
        }
        n
    }

    /// Tokens still valid at `now_ms`.
    pub(crate) fn live(&self, now_ms: i64) -> usize {
        lock::mutex(&self.issued).values().filter(|e| **e > now_ms).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_764_000_000_000;

    #[test]
    fn tokens_live_expire_and_are_unknown() {
        let tokens = Tokens::new(Duration::from_secs(60), 1);
        let (a, ttl) = tokens.issue(T);
        let (b, _) = tokens.issue(T);
        assert_eq!(ttl, 60);
        assert_ne!(a, b);
        assert_eq!(tokens.check(Some(&a), T), Ok(()));
        assert_eq!(tokens.check(None, T), Err(ACCESS_TOKEN_MISSING));
        assert_eq!(tokens.check(Some(""), T), Err(ACCESS_TOKEN_MISSING));
        assert_eq!(tokens.check(Some("nope"), T), Err(INVALID_ACCESS_TOKEN));
        tokens.expire(&a, T);
        assert_eq!(tokens.check(Some(&a), T), Err(ACCESS_TOKEN_EXPIRED));
        assert_eq!(tokens.check(Some(&b), T), Ok(()));
        assert_eq!(tokens.invalidate_all(T), 1);
        assert_eq!(tokens.check(Some(&b), T), Err(ACCESS_TOKEN_EXPIRED));
        assert_eq!(tokens.live(T), 0);
    }

    #[test]
    fn tokens_expire_when_the_clock_passes_their_lifetime() {
        let tokens = Tokens::new(Duration::from_secs(60), 1);
        let (a, _) = tokens.issue(T);
        assert_eq!(tokens.check(Some(&a), T + 59_999), Ok(()));
        assert_eq!(tokens.check(Some(&a), T + 60_000), Err(ACCESS_TOKEN_EXPIRED));
        assert_eq!(tokens.live(T + 60_000), 0);
    }

    #[test]
    fn absurd_lifetimes_and_times_do_not_overflow() {
        let tokens = Tokens::new(Duration::from_secs(u64::MAX), 1);
        let (t, ttl) = tokens.issue(T);
        assert_eq!(ttl, u64::MAX);
        assert_eq!(tokens.check(Some(&t), T), Ok(()));
        let (late, _) = tokens.issue(i64::MAX);
        assert_eq!(
            tokens.check(Some(&late), i64::MAX),
            Err(ACCESS_TOKEN_EXPIRED),
            "saturated: expires at the end of time"
        );
        tokens.issue(i64::MIN);
    }

    #[test]
    fn same_seed_same_tokens() {
        let a = Tokens::new(Duration::from_secs(1), 9).issue(T).0;
        let b = Tokens::new(Duration::from_secs(1), 9).issue(T).0;
        assert_eq!(a, b);
    }
}
