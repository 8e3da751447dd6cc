//! `callback …`: WeCom callbacks — the events WeCom pushes to an app's callback URL, signed and encrypted
//! (WXBizMsgCrypt). Every subcommand works through the library's `wecom_groupchat::callback`; none does
//! crypto of its own.
//!
//! - `decrypt`: verify and open one request by hand — the echostr of a URL verification or the body of an
//!   event POST — and print the plaintext.
//! - `serve`: a callback URL — URL verification answered, each event printed as one JSON line (the event's
//!   elements under their snake_case names, plus `dedupe_key`), redeliveries acknowledged once printed.

use std::io::Read;

use serde_json::Value;
use tokio::sync::watch;
use wecom_groupchat::callback::{CallbackCrypto, CallbackError, CallbackMessage, Receiver, Reject};

use crate::args::{CallbackCommand, CallbackDecryptArgs, CallbackKeys, CallbackServeArgs};
use crate::failure::{Failure, Outcome};
use crate::output;
use crate::signals::Signals;

/// Runs a `callback` subcommand.
pub async fn run(command: CallbackCommand) -> Outcome {
    match command {
        CallbackCommand::Decrypt(args) => decrypt(args),
        CallbackCommand::Serve(args) => serve(args).await,
    }
}

/// The app's callback crypto. A key that is not 43 base64 characters, or an empty token, is a usage
/// error (exit 2); the message names the length, never the key.
fn crypto(keys: &CallbackKeys) -> Result<CallbackCrypto, Failure> {
    if keys.token.is_empty() {
        return Err(Failure::Usage("--token is empty: give the callback Token (or WECOM_CALLBACK_TOKEN)".into()));
    }
    CallbackCrypto::new(keys.token.as_str(), &keys.aes_key, keys.receive_id.as_str())
        .map_err(|e| Failure::Usage(format!("--aes-key: {e}")))
}

/// `callback decrypt`: verifies the signature, decrypts, and writes the plaintext — exactly, nothing
/// added — only once all of it checked out.
fn decrypt(args: CallbackDecryptArgs) -> Outcome {
    let crypto = crypto(&args.keys)?;
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

/// `callback serve`: a callback URL on this machine, until SIGINT or SIGTERM (exit 0) or until stdout is
/// closed. An event is acknowledged only once its line is written, so a line that could not be written is
/// delivered again by WeCom.
async fn serve(args: CallbackServeArgs) -> Outcome {
    let crypto = crypto(&args.keys)?;
    // Set when stdout is gone: the server stops (the events not printed stay unacknowledged).
    let (closed_tx, mut closed_rx) = watch::channel(false);
    let receiver = Receiver::new(crypto, move |message: CallbackMessage| {
        let closed_tx = closed_tx.clone();
        async move {
            match output::line(&event_line(&message)) {
                Ok(()) => Ok(()),
                Err(_) => {
                    let _ = closed_tx.send(true);
                    Err(Reject::new("stdout is closed"))
                }
            }
        }
    });
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| Failure::Io(format!("cannot listen on {}: {e}", args.addr)))?;
    let local = listener.local_addr().map_err(|e| Failure::Io(format!("cannot read the bound address: {e}")))?;
    let mut signals = Signals::new()?;
    output::line(&format!("callback: http://{local}{}", args.path))?;

    let app = wecom_groupchat::callback::axum::router(receiver, &args.path);
    let stop = async move {
        tokio::select! {
            signal = signals.next() => eprintln!("{}: stopping", signal.name()),
            _ = closed_rx.wait_for(|closed| *closed) => {}
        }
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(stop)
        .await
        .map_err(|e| Failure::Io(format!("callback server: {e}")))
}

/// The printed line: the event's JSON (see `CallbackEvent::to_json`) and its dedupe key.
fn event_line(message: &CallbackMessage) -> String {
    let mut json = message.event.to_json();
    json.insert("dedupe_key".into(), Value::String(message.dedupe_key.clone()));
    Value::Object(json).to_string()
}
