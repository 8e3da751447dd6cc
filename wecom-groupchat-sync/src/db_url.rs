//! Where the mirror lives: `sqlite://PATH` or `postgres://…`, checked before anything connects, and shown
//! with its password masked.

use std::fmt;

use crate::error::SyncError;

/// The database engines the mirror runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// An SQLite file, created on first use (the embedded default).
    Sqlite,
    /// A PostgreSQL database (for fleets: several `sync` processes share its queue).
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A checked database URL. `Display` and `Debug` mask a password (`postgres://mirror:***@db/crm`).
#[derive(Clone, PartialEq, Eq)]
pub struct DbUrl {
    backend: Backend,
    /// What the driver is given (for SQLite: with `mode=rwc`, so the file is created on first use).
    connect: String,
    /// What may be shown.
    shown: String,
    /// The password, to scrub from a driver's error message should one ever quote it.
    password: Option<String>,
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbUrl").field("backend", &self.backend).field("url", &self.shown).finish()
    }
}

impl fmt::Display for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Query parameters the SQLite driver takes in a URL.
const SQLITE_PARAMS: &[&str] = &["mode", "cache", "immutable", "vfs"];

impl DbUrl {
    /// Checks `text`: `sqlite://PATH` (relative, or `sqlite:///absolute/path`; `sqlite:PATH` too), or
    /// `postgres://` / `postgresql://` with a host. The error never quotes the URL (it may hold a password).
    ///
    /// # Errors
    /// [`SyncError::Url`] for another scheme, a missing path or host, or a URL that does not parse.
    pub fn parse(text: &str) -> Result<DbUrl, SyncError> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("sqlite://").or_else(|| text.strip_prefix("sqlite:")) {
            return Self::sqlite(rest);
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Self::postgres(text);
        }
        let scheme = text
            .split_once("://")
            .map(|(s, _)| s)
            .filter(|s| !s.is_empty() && s.len() <= 16 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+'));
        Err(SyncError::Url(match scheme {
            Some(scheme) => format!("unsupported database `{scheme}://`: give sqlite://PATH or postgres://…"),
            None => "not a database URL: give sqlite://PATH or postgres://…".into(),
        }))
    }

    fn sqlite(rest: &str) -> Result<DbUrl, SyncError> {
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        if path.is_empty() {
            return Err(SyncError::Url(
                "sqlite://: no file path (sqlite://PATH, e.g. sqlite://wecom-groupchat.db)".into(),
            ));
        }
        if path == ":memory:" {
            return Err(SyncError::Url("sqlite: an in-memory database keeps no mirror; give a file path".into()));
        }
        let mut params: Vec<(String, String)> = Vec::new();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if !SQLITE_PARAMS.contains(&key.as_ref()) {
                return Err(SyncError::Url(format!(
                    "sqlite: unknown parameter `{:.32}` (known: {})",
                    key,
                    SQLITE_PARAMS.join(", ")
                )));
            }
            params.push((key.into_owned(), value.into_owned()));
        }
        if !params.iter().any(|(k, _)| k == "mode") {
            // Created on first use.
            params.push(("mode".into(), "rwc".into()));
        }
        let query: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
        Ok(DbUrl {
            backend: Backend::Sqlite,
            connect: format!("sqlite://{path}?{query}"),
            shown: format!("sqlite://{path}"),
            password: None,
        })
    }

    fn postgres(text: &str) -> Result<DbUrl, SyncError> {
        let mut url = url::Url::parse(text).map_err(|e| SyncError::Url(format!("postgres: not a valid URL ({e})")))?;
        if url.host_str().is_none_or(str::is_empty) {
            return Err(SyncError::Url("postgres: no host (postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE)".into()));
        }
        let password = url.password().map(percent_decode);
        let connect = text.to_string();
        if url.password().is_some() {
            let _ = url.set_password(Some("***"));
        }
        // Query parameters may carry a password too (`?password=…`): shown masked.
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") { "***".to_string() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        let query_password =
            url.query_pairs().find(|(k, _)| k.eq_ignore_ascii_case("password")).map(|(_, v)| v.into_owned());
        if !pairs.is_empty() {
            url.query_pairs_mut().clear().extend_pairs(&pairs);
        }
        Ok(DbUrl {
            backend: Backend::Postgres,
            connect,
            shown: url.to_string().replace("%2A%2A%2A", "***"),
            password: password.or(query_password).filter(|p| !p.is_empty()),
        })
    }

    /// The same database, which must exist already: an SQLite file is not created (for reading a mirror,
    /// e.g. its status). A `mode` given in the URL is kept.
    pub fn must_exist(&self) -> DbUrl {
        let mut url = self.clone();
        if url.backend == Backend::Sqlite {
            url.connect = url.connect.replace("mode=rwc", "mode=rw");
        }
        url
    }

    /// The engine.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL given to the driver. It may hold a password: never print it.
    pub(crate) fn connect_url(&self) -> &str {
        &self.connect
    }

    /// `text` with the password, if it appears in it, masked: for a driver's error messages.
    pub(crate) fn scrub(&self, text: &str) -> String {
        match &self.password {
            Some(p) if p.len() >= 2 => text.replace(p.as_str(), "***"),
            _ => text.to_string(),
        }
    }
}

/// Decodes `%XX` escapes (a URL's user info); other bytes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_created_on_first_use() {
        let url = DbUrl::parse("sqlite://wecom-groupchat.db").unwrap();
        assert_eq!(url.backend(), Backend::Sqlite);
        assert_eq!(url.connect_url(), "sqlite://wecom-groupchat.db?mode=rwc");
        assert_eq!(url.to_string(), "sqlite://wecom-groupchat.db");
        let abs = DbUrl::parse("sqlite:///var/lib/crm/mirror.db?mode=rw").unwrap();
        assert_eq!(abs.connect_url(), "sqlite:///var/lib/crm/mirror.db?mode=rw");
        assert_eq!(DbUrl::parse("sqlite:mirror.db").unwrap().connect_url(), "sqlite://mirror.db?mode=rwc");
    }

    #[test]
    fn postgres_passwords_are_never_shown() {
        let url = DbUrl::parse("postgres://mirror:s3cr%40t-pw@db.example:5433/crm?sslmode=require").unwrap();
        assert_eq!(url.backend(), Backend::Postgres);
        assert_eq!(url.to_string(), "postgres://mirror:***@db.example:5433/crm?sslmode=require");
        assert!(!format!("{url:?}").contains("s3cr"));
        assert_eq!(url.scrub("auth failed for s3cr@t-pw"), "auth failed for ***");
        let query = DbUrl::parse("postgresql://mirror@db/crm?password=hunter22").unwrap();
        assert_eq!(query.to_string(), "postgresql://mirror@db/crm?password=***");
        assert_eq!(query.scrub("x hunter22 y"), "x *** y");
    }

    #[test]
    fn other_urls_are_refused_without_being_quoted() {
        for bad in ["mysql://root:pw@h/db", "http://x", "wecom-groupchat.db", "", "sqlite://", "postgres:///nohost"] {
            let e = DbUrl::parse(bad).unwrap_err();
            assert!(matches!(e, SyncError::Url(_)), "{bad}: {e:?}");
            if bad.contains("pw") {
                assert!(!e.to_string().contains("pw"));
            }
        }
        assert!(DbUrl::parse("sqlite://x.db?journal=wal").is_err());
        assert!(DbUrl::parse("sqlite::memory:").is_err());
    }
}
