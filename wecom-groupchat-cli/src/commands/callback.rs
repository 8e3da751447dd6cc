//! `callback …`: WeCom callbacks — the events WeCom pushes to an app's callback URL, signed and encrypted
//! (WXBizMsgCrypt). Every subcommand works through the library's `wecom_groupchat::callback`; none does
//! crypto of its own.
//!
//! - `decrypt`: verify and open one request by hand — the echostr of a URL verification or the body of an
//!   event POST — and print the plaintext.

use std::io::Read;

use wecom_groupchat::callback::{CallbackCrypto, CallbackError};

use crate::args::{CallbackCommand, CallbackDecryptArgs, CallbackKeys};
use crate::failure::{Failure, Outcome};
use crate::output;

/// Runs a `callback` subcommand.
pub async fn run(command: CallbackCommand) -> Outcome {
    match command {
        CallbackCommand::Decrypt(args) => decrypt(args),
    }
}

impl CallbackKeys {
    /// The app's callback crypto. A key that is not 43 base64 characters, or an empty token, is a usage
    /// error (exit 2); the message names the length, never the key.
    pub fn crypto(&self) -> Result<CallbackCrypto, Failure> {
        if self.token.is_empty() {
            return Err(Failure::Usage("--token is empty: give the callback Token (or WECOM_CALLBACK_TOKEN)".into()));
        }
        CallbackCrypto::new(self.token.as_str(), &self.aes_key, self.receive_id.as_str())
            .map_err(|e| Failure::Usage(format!("--aes-key: {e}")))
    }
}

/// `callback decrypt`: verifies the signature, decrypts, and writes the plaintext — exactly, nothing
/// added — only once all of it checked out.
fn decrypt(args: CallbackDecryptArgs) -> Outcome {
    let crypto = args.keys.crypto()?;
    let (signature, timestamp, nonce) = (&args.msg_signature, &args.timestamp, &args.nonce);
    let plaintext = match (&args.echostr, &args.body) {
        (Some(echostr), None) => crypto.verify_url(signature, timestamp, nonce, echostr).map_err(|e| {
            // An echostr copied from a URL as it was, still percent-encoded, can only fail: say so.
            let hint = if echostr.contains('%') { " (--echostr looks URL-encoded: give it decoded)" } else { "" };
            refusal(&e, hint)
        })?,
        (None, Some(body)) => {
            let body = read_body(body)?;
            crypto.decrypt_post(signature, timestamp, nonce, &body).map_err(|e| refusal(&e, ""))?
        }
        // clap's `ciphertext` group requires exactly one of them.
        _ => return Err(Failure::Usage("give --echostr or --body, not both".into())),
    };
    output::exact(&plaintext)
}

/// The POST body of `--body`: `@FILE` or `-` (stdin), as bytes (the library refuses one that is not
/// UTF-8, as a malformed envelope).
fn read_body(source: &str) -> Result<Vec<u8>, Failure> {
    if source == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .read_to_end(&mut body)
            .map_err(|e| Failure::Usage(format!("--body: cannot read stdin: {e}")))?;
        return Ok(body);
    }
    let Some(path) = source.strip_prefix('@') else {
        // Not echoed: it may be a whole body.
        return Err(Failure::Usage("--body takes @FILE or - (stdin), not the body itself".into()));
    };
    std::fs::read(path).map_err(|e| Failure::Usage(format!("--body: cannot read {path}: {e}")))
}

/// Why a request did not verify or decrypt, in one line (exit 3), with what to check.
fn refusal(error: &CallbackError, hint: &str) -> Failure {
    let what = match error {
        CallbackError::Signature => {
            "signature does not match: --msg-signature is not the signature of this ciphertext for --token, \
             --timestamp and --nonce"
                .to_string()
        }
        CallbackError::ReceiveId => "receive id does not match: the message is not for --receive-id".to_string(),
        CallbackError::Base64
        | CallbackError::CiphertextLength { .. }
        | CallbackError::Padding
        | CallbackError::MessageLength
        | CallbackError::Utf8 => format!("cannot decrypt: {error} (a wrong --aes-key, or a corrupt ciphertext)"),
        CallbackError::Xml(_) | CallbackError::Envelope(_) => format!("--body is not a callback envelope: {error}"),
        other => other.to_string(),
    };
    Failure::Callback(format!("callback decrypt: {what}{hint}"))
}
