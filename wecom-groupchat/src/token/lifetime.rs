//! The lifetimes a token may claim. Both the built-in provider and the manager (for any provider's
//! token) check a claim against them, so a lifetime no clock can hold never reaches a store.

use std::fmt;
use std::time::Duration;

use crate::error::TokenError;

/// The longest lifetime a token may claim. WeCom's are 7,200 s; a claim of years (or of `i64::MAX` seconds,
/// which overflows clocks) is an answer not to trust, refused rather than cached.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Whether a claimed lifetime is one to cache: 1 s to [`MAX_TOKEN_LIFETIME`].
pub(super) fn in_range(lifetime: Duration) -> bool {
    lifetime >= Duration::from_secs(1) && lifetime <= MAX_TOKEN_LIFETIME
}

/// The refusal of a token said to live `claimed` seconds.
pub(super) fn refusal(claimed: impl fmt::Display) -> TokenError {
    TokenError::Fetch(format!(
        "a token said to live {claimed} s; refused (a lifetime must be 1 s to {} s)",
        MAX_TOKEN_LIFETIME.as_secs()
    ))
}
