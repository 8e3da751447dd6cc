//! The error-code table ([`crate::error_codes::ERROR_CODES`], generated from `api-spec/errors.yaml`).

use crate::generated::error_codes::ERROR_CODES;

/// What a client should do with an error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorRetry {
    /// Transient: back off and retry (reads only).
    Backoff,
    /// The access token is bad: refresh it and replay once.
    RefreshToken,
    /// Retry only after a wait (a rate-limit window, an asynchronous job).
    Later,
    /// A caller or configuration problem: do not retry.
    Never,
}

/// One documented error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ErrorCodeInfo {
    /// The errcode.
    pub code: i64,
    /// The name of its constant in [`crate::codes`] (`API_FREQ_OUT_OF_LIMIT`).
    pub name: &'static str,
    /// Official Chinese text.
    pub zh: &'static str,
    /// English gloss.
    pub en: &'static str,
    /// The `errmsg` the server sends, where the docs show one.
    pub errmsg: Option<&'static str>,
    /// What to do.
    pub retry: ErrorRetry,
}

/// Looks up a code in the table.
pub fn lookup(code: i64) -> Option<&'static ErrorCodeInfo> {
    ERROR_CODES.binary_search_by_key(&code, |e| e.code).ok().map(|i| &ERROR_CODES[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_lookup_finds_every_row() {
        assert!(ERROR_CODES.windows(2).all(|w| w[0].code < w[1].code));
        for row in ERROR_CODES {
            assert_eq!(lookup(row.code), Some(row));
        }
        assert_eq!(lookup(crate::codes::SYSTEM_BUSY).map(|e| e.retry), Some(ErrorRetry::Backoff));
        assert_eq!(lookup(crate::codes::ACCESS_TOKEN_EXPIRED).map(|e| e.retry), Some(ErrorRetry::RefreshToken));
        assert_eq!(lookup(123_456_789), None);
    }
}
