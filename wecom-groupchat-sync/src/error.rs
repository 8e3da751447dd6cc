//! What can stop the mirror. No variant carries a password, a token or a secret.

/// Why a mirror operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The database URL is not one the mirror takes (another scheme, no path or host, malformed).
    /// Found before anything connects.
    #[error("--db: {0}")]
    Url(String),
    /// The database cannot be reached, or its schema cannot be brought up to date, at start: nothing was
    /// called, nothing changed.
    #[error("cannot open the database {url}: {message}")]
    Unreachable {
        /// The URL, password masked.
        url: String,
        /// The driver's reason (password masked).
        message: String,
    },
    /// A statement failed while the mirror was running (the database went away, a disk is full …). Every
    /// change is made in a transaction, so the rows and the queue are as they were before it: run again
    /// to resume.
    #[error("database {url}: {message} (the queue is intact: run again to resume)")]
    Database {
        /// The URL, password masked.
        url: String,
        /// The driver's reason (password masked).
        message: String,
    },
    /// A WeCom call that the run cannot do without failed (listing, the access token).
    #[error(transparent)]
    Api(#[from] wecom_groupchat::Error),
    /// The options make no sense (a concurrency of 0 …).
    #[error("{0}")]
    Config(String),
}

impl SyncError {
    /// Whether this is the database failing (at start or later).
    pub fn is_database(&self) -> bool {
        matches!(self, SyncError::Unreachable { .. } | SyncError::Database { .. })
    }
}
