//! The callback receiver's input: any request to the callback URL — method, query and body — through
//! `Receiver::handle`, and any bytes through the strict XML reader (`xml::parse_bytes`). No input panics,
//! and the answers keep their promises:
//!
//! - the status is one of the documented table (200, 400, 401, 405, 413; never 503 here: the handler
//!   accepts at once), an error's body is its generic text, a 200 to a POST is the message's reply (empty
//!   or `success`);
//! - 405 exactly for a method other than GET and POST, 413 exactly for a POST body over the cap;
//! - a request the harness signed is never refused for its signature (401);
//! - a message sealed by the library is answered 200 with exactly its plaintext (URL verification) or
//!   handed to the handler exactly as sealed, once, when it is XML the reader takes (400 otherwise); a
//!   redelivery of it is answered 200 again without a second handling;
//! - a document the XML reader accepts keeps its bounds (depth, element count) and trimmed texts.
//!
//! Input: a mode byte — its low 3 bits choose the shape of the request ([`Mode`]), bit 3 a small body
//! cap ([`SMALL_CAP`]) — then the rest, read as that mode says.
#![no_main]

use std::sync::{Arc, Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use wecom_groupchat::callback::xml::{self, MAX_DEPTH, MAX_ELEMENTS};
use wecom_groupchat::callback::{CallbackCrypto, CallbackMessage, CallbackResponse, Receiver, Reject};

// The sample configuration of WeCom's doc 90968: the official sample requests verify with it.
const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const RECEIVE_ID: &str = "wx5823bf96d3bd56c7";
const TIMESTAMP: &str = "1409659813";
const NONCE: &str = "1372623149";

/// The body cap with bit 3 of the mode byte set (the default cap, 1 MiB, is beyond any fuzz input).
const SMALL_CAP: usize = 512;

/// The shape of the request, from the low 3 bits of the mode byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// GET; the rest is the query string.
    RawGet,
    /// POST; the rest is the query string, a 0 byte, the body.
    RawPost,
    /// POST; the rest is the body, signed by the harness (over the `Encrypt` it finds, if any).
    SignedPost,
    /// GET; the rest is an `echostr`, signed by the harness.
    SignedGet,
    /// POST; the rest is a message, sealed by the library.
    SealedPost,
    /// GET; the rest is a message sealed by the library as the `echostr`.
    SealedGet,
    /// Another method: the rest is its name, a 0 byte, the body.
    OtherMethod,
    /// The sealed POST delivered twice.
    Redelivered,
}

const MODES: [Mode; 8] = [
    Mode::RawGet,
    Mode::RawPost,
    Mode::SignedPost,
    Mode::SignedGet,
    Mode::SealedPost,
    Mode::SealedGet,
    Mode::OtherMethod,
    Mode::Redelivered,
];

const ERROR_BODIES: [&str; 5] =
    ["bad request", "unauthorized", "method not allowed", "payload too large", "unavailable"];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a Tokio runtime"))
}

fn crypto() -> &'static CallbackCrypto {
    static CRYPTO: OnceLock<CallbackCrypto> = OnceLock::new();
    CRYPTO.get_or_init(|| CallbackCrypto::new(TOKEN, KEY, RECEIVE_ID).expect("the sample configuration"))
}

/// Splits at the first 0 byte (the separator is dropped); all of it and nothing if there is none.
fn split_zero(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[]),
    }
}

/// Percent-encodes every byte but the unreserved ones, so the query decodes to exactly `text`.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn signed_query(encrypted: &str) -> String {
    let signature = crypto().signature(TIMESTAMP, NONCE, encrypted);
    format!("msg_signature={signature}&timestamp={TIMESTAMP}&nonce={NONCE}")
}

/// The `Encrypt` text the library will sign-check: that of the first `Encrypt` child, if the body parses.
fn envelope_encrypt(body: &[u8]) -> String {
    xml::parse_bytes(body).ok().and_then(|root| root.child_text("Encrypt").map(str::to_string)).unwrap_or_default()
}

/// What every answer promises, whatever the request.
fn check_answer(answer: &CallbackResponse, method: &str, body_len: usize, cap: usize) {
    assert!([200, 400, 401, 405, 413].contains(&answer.status), "status {}", answer.status);
    let is_known = method == "GET" || method == "POST";
    assert_eq!(answer.status == 405, !is_known, "405 exactly for another method ({method:?})");
    let too_big = method == "POST" && body_len > cap;
    assert_eq!(answer.status == 413, too_big, "413 exactly for a POST body over {cap} bytes ({body_len})");
    if answer.status != 200 {
        assert!(ERROR_BODIES.contains(&answer.body.as_str()), "error body {:?}", answer.body);
    } else if method == "POST" {
        assert!(answer.body.is_empty() || answer.body == "success", "POST answered {:?}", answer.body);
    }
}

/// A document the reader took keeps its bounds and its texts are trimmed.
fn check_document(root: &xml::Element) {
    let all = root.walk();
    assert!(all.len() <= MAX_ELEMENTS, "{} elements", all.len());
    for (depth, element) in all {
        assert!(depth < MAX_DEPTH, "depth {depth}");
        assert!(!element.name().is_empty(), "an element without a name");
        let text = element.text();
        let space = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
        assert!(!text.starts_with(space) && !text.ends_with(space), "untrimmed text {text:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else { return };
    let cap = if mode & 0x08 != 0 { SMALL_CAP } else { wecom_groupchat::callback::receiver::DEFAULT_MAX_BODY };
    let mode = MODES[usize::from(mode & 0x07)];

    if let Ok(root) = xml::parse_bytes(rest) {
        check_document(&root);
    }

    // The message the harness sealed, if any: what the handler or the answer must carry exactly.
    let mut sealed_message: Option<String> = None;
    let (method, query, body): (String, String, Vec<u8>) = match mode {
        Mode::RawGet => ("GET".into(), String::from_utf8_lossy(rest).into_owned(), Vec::new()),
        Mode::RawPost => {
            let (query, body) = split_zero(rest);
            ("POST".into(), String::from_utf8_lossy(query).into_owned(), body.to_vec())
        }
        Mode::SignedPost => ("POST".into(), signed_query(&envelope_encrypt(rest)), rest.to_vec()),
        Mode::SignedGet => {
            let echostr = String::from_utf8_lossy(rest);
            ("GET".into(), format!("{}&echostr={}", signed_query(&echostr), encode(&echostr)), Vec::new())
        }
        Mode::SealedPost | Mode::Redelivered | Mode::SealedGet => {
            let message = String::from_utf8_lossy(rest).into_owned();
            let sealed =
                crypto().encrypt_with_random(&message, TIMESTAMP, NONCE, [7; 16]).expect("a short message seals");
            sealed_message = Some(message);
            if mode == Mode::SealedGet {
                ("GET".into(), sealed.verify_url_query(), Vec::new())
            } else {
                ("POST".into(), sealed.post_query(), sealed.post_body(RECEIVE_ID, Some("1000002")).into_bytes())
            }
        }
        Mode::OtherMethod => {
            let (method, body) = split_zero(rest);
            (String::from_utf8_lossy(method).into_owned(), String::new(), body.to_vec())
        }
    };

    // A fresh receiver each time, so that a run does not depend on the inputs before it. The handler keeps
    // each message and the reply it says the callback gets.
    let handled: Arc<Mutex<Vec<(String, &'static str)>>> = Arc::default();
    let seen = handled.clone();
    let receiver = Receiver::builder(crypto().clone()).max_body(cap).handler(move |message: CallbackMessage| {
        let seen = seen.clone();
        async move {
            assert!(xml::parse(&message.xml).is_ok(), "a handed-over message is XML the reader takes");
            let reply = message.reply();
            seen.lock().expect("not poisoned").push((message.xml, reply));
            Ok::<(), Reject>(())
        }
    });
    let answer = runtime().block_on(receiver.handle(&method, &query, &body));
    check_answer(&answer, &method, body.len(), cap);
    let handled_now = handled.lock().expect("not poisoned").clone();
    if method == "POST" {
        assert_eq!(handled_now.len(), usize::from(answer.status == 200), "one handling per POST answered 200");
        if let [(_, reply)] = handled_now.as_slice() {
            assert_eq!(answer.body, *reply, "a POST is answered with its message's reply");
        }
    } else {
        assert!(handled_now.is_empty(), "a {method:?} is never handed over");
    }

    if matches!(mode, Mode::SignedPost | Mode::SignedGet | Mode::SealedPost | Mode::SealedGet | Mode::Redelivered) {
        assert_ne!(answer.status, 401, "{mode:?}: a request signed right is not refused for its signature");
    }
    let Some(message) = sealed_message else { return };
    match mode {
        Mode::SealedGet => {
            assert_eq!(answer.status, 200, "a sealed echostr verifies");
            assert_eq!(answer.body, message, "URL verification answers the plaintext exactly");
        }
        _ if body.len() > cap => assert_eq!(answer.status, 413),
        _ => {
            let parsed = xml::parse(&message);
            assert_eq!(answer.status == 200, parsed.is_ok(), "a sealed message is taken iff it is XML: {parsed:?}");
            if parsed.is_ok() {
                assert_eq!(handled_now[0].0, message, "the handler gets the message exactly");
                if mode == Mode::Redelivered {
                    let again = runtime().block_on(receiver.handle(&method, &query, &body));
                    assert_eq!(again, answer, "a redelivery is answered as the first delivery");
                    assert_eq!(handled.lock().expect("not poisoned").len(), 1, "and is not handled again");
                }
            }
        }
    }
});
