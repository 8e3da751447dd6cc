//! The simulator's own error type: what can stop it from starting or running.

use std::net::SocketAddr;

/// Why the simulator cannot start or keep running. Never carries the corp secret or a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The company data could not be read or makes no sense (unknown owner, duplicate ids …).
    #[error("company data: {0}")]
    Data(String),
    /// The configuration is unusable (a non-loopback address without permission, a bad flag value …).
    #[error("configuration: {0}")]
    Config(String),
    /// An I/O error while serving (writing the URL line, waiting for signals).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
