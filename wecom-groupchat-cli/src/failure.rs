//! How a run ends: the exit-code contract, and the one line on stderr that says why.

use std::fmt;
use std::process::ExitCode;

use wecom_groupchat::{Error, TokenError};

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// Bad input, detected before any request was sent (exit 2).
    Usage(String),
    /// A call failed (exit 1, 2 or 3 by kind).
    Call(Error),
    /// A bulk command finished, but not every item succeeded (exit 4).
    Partial(String),
    /// Reading or writing a local file failed (exit 3).
    Io(String),
    /// The API's answer lacks data the command needs to go on (exit 3, like an answer that cannot be decoded).
    Incomplete(String),
    /// A callback does not verify or decrypt: a wrong signature, receive id or key, a corrupt ciphertext or
    /// envelope (exit 3). The message names the cause, never the token, the key or decrypted text.
    Callback(String),
    /// The reader of stdout went away (`| head`): stop quietly, nothing more to do (exit 0).
    StdoutClosed,
    /// A signal stopped the command after it wrote its record (exit 130 for SIGINT, 143 for SIGTERM).
    Interrupted {
        /// The exit code.
        code: u8,
        /// What was done before stopping.
        message: String,
    },
}

impl Failure {
    /// The exit code of the contract.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Partial(_) => 4,
            Failure::Io(_) | Failure::Incomplete(_) | Failure::Callback(_) => 3,
            Failure::StdoutClosed => 0,
            Failure::Interrupted { code, .. } => *code,
            Failure::Call(e) => call_exit_code(e),
        }
    }
}

/// 1: the API answered a non-zero errcode (gettoken included); 2: invalid input, nothing sent;
/// 3: transport or decode.
fn call_exit_code(e: &Error) -> u8 {
    match e {
        Error::Api(_) | Error::RateLimited(_) => 1,
        Error::Token(TokenError::Rejected { .. } | TokenError::CannotRefresh { .. }) => 1,
        Error::Validation { .. } | Error::Config(_) => 2,
        _ => 3,
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m)
            | Failure::Partial(m)
            | Failure::Io(m)
            | Failure::Incomplete(m)
            | Failure::Callback(m) => f.write_str(m),
            Failure::Call(e) => write!(f, "{e}"),
            Failure::StdoutClosed => f.write_str("stdout was closed"),
            Failure::Interrupted { message, .. } => f.write_str(message),
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Call(e)
    }
}

/// Prints the failure and turns it into the exit code.
pub fn report(failure: &Failure) -> ExitCode {
    if let Failure::StdoutClosed = failure {
        return ExitCode::SUCCESS;
    }
    // "error:" for usage errors too, as clap starts its own: every exit-2 message looks the same.
    let kind = match failure {
        Failure::Partial(_) => "partial failure",
        Failure::Interrupted { .. } => "interrupted",
        _ => "error",
    };
    eprintln!("{kind}: {failure}");
    match failure {
        // errcode, errmsg and the meaning are in the line above; add the doc link for a code the table lacks.
        Failure::Call(Error::Api(e)) if e.info.is_none() => eprintln!(
            "note: errcode {} is not in the error table; see https://developer.work.weixin.qq.com/devtool/query?e={}",
            e.code, e.code
        ),
        _ => {}
    }
    ExitCode::from(failure.exit_code())
}

/// `Result` of a command.
pub type Outcome = Result<(), Failure>;
