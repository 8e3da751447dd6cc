//! A string that never shows itself in `Debug` or `Display`.

use std::fmt;

/// A corp secret or an access token. Its `Debug` and `Display` print `***`; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_string())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Names whose values are secrets wherever they appear in text: a query string (`access_token=…`), JSON
/// (`"corpsecret": "…"`) or a log line. `secret` also covers `corpsecret` and `client_secret`.
const SECRET_NAMES: &[&str] = &["access_token", "secret"];

/// `text` with the value after every secret name (`access_token=…`, `"secret":"…"`, case-insensitive)
/// replaced by `***`. For text from elsewhere that an error quotes or a log prints: a gateway page that
/// echoes the request URI would otherwise put the token in the logs.
pub fn mask_secrets(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let Some((name_end, value_start)) = SECRET_NAMES.iter().find_map(|name| {
            // Names are ASCII, so a match starts (and ends) on a character boundary.
            let here = bytes.get(at..at + name.len())?;
            here.eq_ignore_ascii_case(name.as_bytes()).then(|| {
                let name_end = at + name.len();
                value_after_name(bytes, name_end).map(|v| (name_end, v))
            })?
        }) else {
            at += 1;
            continue;
        };
        let value_end =
            bytes[value_start..].iter().position(|b| is_value_end(*b)).map_or(bytes.len(), |n| value_start + n);
        if value_end > value_start {
            out.push_str(&text[copied..value_start]);
            out.push_str("***");
            copied = value_end;
        }
        at = value_end.max(name_end);
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    std::borrow::Cow::Owned(out)
}

/// Where the value after a secret's name starts: past an optional closing quote, `=` or `:`, blanks and an
/// opening quote. `None` when no `=` or `:` follows (the name in prose, not a key).
fn value_after_name(bytes: &[u8], mut i: usize) -> Option<usize> {
    let skip = |i: &mut usize, set: &[u8]| {
        while *i < bytes.len() && set.contains(&bytes[*i]) {
            *i += 1;
        }
    };
    skip(&mut i, b"\"'\\");
    skip(&mut i, b" \t");
    if i >= bytes.len() || !matches!(bytes[i], b'=' | b':') {
        return None;
    }
    i += 1;
    skip(&mut i, b" \t");
    skip(&mut i, b"\"'\\");
    Some(i)
}

fn is_value_end(b: u8) -> bool {
    matches!(b, b'&' | b'"' | b'\'' | b'\\' | b',' | b';' | b'<' | b'>' | b'}' | b')' | b']' | b'#')
        || b.is_ascii_whitespace()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secret_values_in_any_form() {
        let cases = [
            ("GET /cgi-bin/x?access_token=TOKEN123&debug=1", "GET /cgi-bin/x?access_token=***&debug=1"),
            (r#"{"access_token": "TOKEN123", "expires_in": 7200}"#, r#"{"access_token": "***", "expires_in": 7200}"#),
            ("corpid=ww1&corpsecret=S3CRET", "corpid=ww1&corpsecret=***"),
            ("Access_Token=abc def", "Access_Token=*** def"),
            ("client_secret: xyz", "client_secret: ***"),
            (r#"{\"secret\":\"xyz\"}"#, r#"{\"secret\":\"***\"}"#),
            ("no secrets here, secret agent", "no secrets here, secret agent"),
            ("access_token=", "access_token="),
        ];
        for (input, masked) in cases {
            assert_eq!(mask_secrets(input), masked, "{input}");
        }
        assert!(matches!(mask_secrets("plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn never_prints_itself() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?} {s} {:?}", Some(&s)), "Secret(***) *** Some(Secret(***))");
        assert_eq!(s.expose(), "hunter2");
    }
}
