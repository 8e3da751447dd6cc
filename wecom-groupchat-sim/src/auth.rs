//! Access tokens: `gettoken` checks the corp id and secret and issues a token with `expires_in`;
//! business calls are checked for a missing (41001), unknown (40014) or expired (42001) token.
//!
//! A new `gettoken` does not invalidate earlier tokens (WeCom lets them overlap); each lives for the
//! configured lifetime. "Invalidate all" expires every token at once, as WeCom may do early.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::lock;

/// errcode: invalid corp id.
pub const INVALID_CORP_ID: i64 = 40013;
/// errcode: invalid secret.
pub const INVALID_SECRET: i64 = 40001;
/// errcode: missing access_token.
pub const MISSING_TOKEN: i64 = 41001;
/// errcode: invalid access_token.
pub const INVALID_TOKEN: i64 = 40014;
/// errcode: access_token expired.
pub const EXPIRED_TOKEN: i64 = 42001;

/// Expired tokens are forgotten (then answered 40014, unknown) this long after they expired.
const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The table is swept of forgotten tokens when it grows past this size.
const SWEEP_AT: usize = 4096;

/// Issued tokens and their expiry.
#[derive(Debug)]
pub(crate) struct Tokens {
    issued: Mutex<HashMap<String, Instant>>,
    ttl: RwLock<Duration>,
    rng: Mutex<ChaCha8Rng>,
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

    /// Issues a new token; returns it and its lifetime in seconds.
    pub(crate) fn issue(&self) -> (String, u64) {
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
        let now = Instant::now();
        if issued.len() >= SWEEP_AT {
            issued.retain(|_, expires| expires.checked_add(FORGET_AFTER).is_none_or(|forget| now < forget));
        }
        // A lifetime too long for the clock means "never expires".
        let expires = now.checked_add(ttl).unwrap_or_else(|| now + Duration::from_secs(100 * 365 * 86_400));
        issued.insert(token.clone(), expires);
        (token, ttl.as_secs().max(1))
    }

    /// Checks a business call's token: `Err(errcode)` when it is missing, unknown or expired.
    pub(crate) fn check(&self, token: Option<&str>) -> Result<(), i64> {
        let token = match token {
            Some(t) if !t.is_empty() => t,
            _ => return Err(MISSING_TOKEN),
        };
        match lock::mutex(&self.issued).get(token) {
            None => Err(INVALID_TOKEN),
            Some(expires) if Instant::now() >= *expires => Err(EXPIRED_TOKEN),
            Some(_) => Ok(()),
        }
    }

    /// Expires one token now.
    pub(crate) fn expire(&self, token: &str) {
        if let Some(expires) = lock::mutex(&self.issued).get_mut(token) {
            *expires = Instant::now();
        }
    }

    /// Expires every live token now; returns how many were live.
    pub(crate) fn invalidate_all(&self) -> usize {
        let now = Instant::now();
        let mut n = 0;
        for expires in lock::mutex(&self.issued).values_mut() {
            if *expires > now {
                *expires = now;
                n += 1;
            }
        }
        n
    }

    /// Tokens still valid.
    pub(crate) fn live(&self) -> usize {
        let now = Instant::now();
        lock::mutex(&self.issued).values().filter(|e| **e > now).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_live_expire_and_are_unknown() {
        let tokens = Tokens::new(Duration::from_secs(60), 1);
        let (a, ttl) = tokens.issue();
        let (b, _) = tokens.issue();
        assert_eq!(ttl, 60);
        assert_ne!(a, b);
        assert_eq!(tokens.check(Some(&a)), Ok(()));
        assert_eq!(tokens.check(None), Err(MISSING_TOKEN));
        assert_eq!(tokens.check(Some("")), Err(MISSING_TOKEN));
        assert_eq!(tokens.check(Some("nope")), Err(INVALID_TOKEN));
        tokens.expire(&a);
        assert_eq!(tokens.check(Some(&a)), Err(EXPIRED_TOKEN));
        assert_eq!(tokens.check(Some(&b)), Ok(()));
        assert_eq!(tokens.invalidate_all(), 1);
        assert_eq!(tokens.check(Some(&b)), Err(EXPIRED_TOKEN));
        assert_eq!(tokens.live(), 0);
    }

    #[test]
    fn absurd_lifetimes_do_not_overflow() {
        let tokens = Tokens::new(Duration::from_secs(u64::MAX), 1);
        let (t, ttl) = tokens.issue();
        assert_eq!(ttl, u64::MAX);
        assert_eq!(tokens.check(Some(&t)), Ok(()));
    }

    #[test]
    fn same_seed_same_tokens() {
        let a = Tokens::new(Duration::from_secs(1), 9).issue().0;
        let b = Tokens::new(Duration::from_secs(1), 9).issue().0;
        assert_eq!(a, b);
    }
}
