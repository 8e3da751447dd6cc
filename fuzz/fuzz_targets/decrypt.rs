//! The callback crypto's decrypt paths — `decrypt_unverified`, `verify_url`, `decrypt_post` — and the key
//! check of `CallbackCrypto::new`, on any input. No input panics, and:
//!
//! - what `encrypt` sealed opens to exactly the message sealed (through all three paths), and is refused
//!   with `ReceiveId` by an app whose receive id differs;
//! - a sealed message with its ciphertext, base64 text or signature mutated: `verify_url` is
//!   `decrypt_unverified` when the signature matches the text and `Signature` otherwise, `decrypt_post` of
//!   the text in an envelope is `verify_url`, and an unchanged text still opens exactly;
//! - a key is accepted exactly when it is 43 base64 characters, and any accepted key round-trips.
//!
//! Input: a mode byte ([`Mode`], modulo 3), then the rest, read as that mode says.
#![no_main]

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use libfuzzer_sys::fuzz_target;
use wecom_groupchat::callback::{CallbackCrypto, CallbackError, xml};

// The sample configuration of WeCom's doc 90968.
const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const RECEIVE_ID: &str = "wx5823bf96d3bd56c7";
const TIMESTAMP: &str = "1409659813";
const NONCE: &str = "1372623149";

/// The receive ids a message may be sealed for: this app's, then others (empty, a prefix, longer, not
/// ASCII).
const SEAL_FOR: [&str; 5] = [RECEIVE_ID, "", "wx5823bf96d3bd56c", "wx5823bf96d3bd56c7 ", "中文的接收方"];

/// What a base64 text mutation may write: the alphabet and the padding character, so that the text stays
/// something an envelope carries unchanged.
const BASE64_CHARS: &[u8; 65] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
const HEX_CHARS: &[u8; 16] = b"0123456789abcdef";

/// How the rest of the input is read.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// The rest split at 0 bytes: `msg_signature`, `timestamp`, `nonce`, the encrypted text (also the POST
    /// body). With bit 7 of the mode byte set, the signature is replaced by the right one, so that any
    /// ciphertext reaches decryption.
    Raw,
    /// Seal, then mutate: a byte choosing the receive id to seal for ([`SEAL_FOR`]), 16 random bytes, a
    /// mutation count (modulo 9), that many 4-byte mutations ([`mutate`]), then the message.
    SealThenMutate,
    /// The rest is an EncodingAESKey.
    Key,
}

fn crypto() -> &'static CallbackCrypto {
    static CRYPTO: OnceLock<CallbackCrypto> = OnceLock::new();
    CRYPTO.get_or_init(|| CallbackCrypto::new(TOKEN, KEY, RECEIVE_ID).expect("the sample configuration"))
}

/// Reads bytes off the front of the input; zeros once it runs out.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn rest(self) -> &'a [u8] {
        self.0
    }
}

fn envelope(encrypted: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{RECEIVE_ID}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID>1000002</AgentID></xml>"
    )
}

/// Every decrypt path on one (signature, timestamp, nonce, text): their results agree as they must.
/// Returns `decrypt_unverified`'s.
fn open_all(
    crypto: &CallbackCrypto,
    signature: &str,
    timestamp: &str,
    nonce: &str,
    encrypted: &str,
) -> Result<String, CallbackError> {
    let unverified = crypto.decrypt_unverified(encrypted);
    let verified = crypto.verify_url(signature, timestamp, nonce, encrypted);
    let signed_right = crypto.signature(timestamp, nonce, encrypted) == signature;
    assert_eq!(crypto.verify_signature(signature, timestamp, nonce, encrypted).is_ok(), signed_right);
    if signed_right {
        assert_eq!(verified, unverified, "a right signature: verify_url is decrypt_unverified");
    } else {
        assert_eq!(verified, Err(CallbackError::Signature), "a wrong signature is refused before decrypting");
    }
    for result in [&unverified, &verified] {
        if let Err(e) = result {
            let _ = format!("{e} {e:?}");
        }
    }
    unverified
}

fn raw(data: &[u8], sign: bool) {
    let fields: Vec<&[u8]> = data.splitn(4, |&b| b == 0).collect();
    let field = |i: usize| fields.get(i).copied().unwrap_or_default();
    let text = |i: usize| String::from_utf8_lossy(field(i)).into_owned();
    let (mut signature, timestamp, nonce, encrypted) = (text(0), text(1), text(2), text(3));
    if sign {
        signature = crypto().signature(&timestamp, &nonce, &encrypted);
    }
    let _ = open_all(crypto(), &signature, &timestamp, &nonce, &encrypted);
    // The last field as a whole POST body: opened as its one `Encrypt` text would be by `verify_url`.
    let body = field(3);
    let posted = crypto().decrypt_post(&signature, &timestamp, &nonce, body);
    let encrypts: Vec<String> = xml::parse_bytes(body)
        .map(|root| root.children().iter().filter(|c| c.name() == "Encrypt").map(|c| c.text().to_string()).collect())
        .unwrap_or_default();
    match (&posted, encrypts.as_slice()) {
        (Err(CallbackError::Xml(_) | CallbackError::Envelope(_)), _) => {}
        (_, [one]) => assert_eq!(posted, crypto().verify_url(&signature, &timestamp, &nonce, one)),
        _ => panic!("an envelope without exactly one Encrypt was opened: {posted:?}"),
    }
    if let Err(e) = posted {
        let _ = format!("{e} {e:?}");
    }
}

/// One mutation of four bytes: what (modulo 6), where (two bytes, big-endian), with what.
///
/// 0: xor a ciphertext byte; 1: cut the ciphertext short; 2: append a block of the value; 3: set a
/// character of the base64 text; 4: set a digit of the signature; 5: sign the final text anew.
struct Mutation {
    kind: u8,
    at: usize,
    value: u8,
}

fn seal_then_mutate(data: &[u8]) {
    let mut input = Bytes(data);
    let seal_for = SEAL_FOR[usize::from(input.byte()) % SEAL_FOR.len()];
    let mut random = [0u8; 16];
    random.iter_mut().for_each(|b| *b = input.byte());
    let count = input.byte() % 9;
    let mutations: Vec<Mutation> = (0..count)
        .map(|_| {
            let kind = input.byte() % 6;
            let at = usize::from(u16::from_be_bytes([input.byte(), input.byte()]));
            Mutation { kind, at, value: input.byte() }
        })
        .collect();
    let message = String::from_utf8_lossy(input.rest()).into_owned();

    let sealer = CallbackCrypto::new(TOKEN, KEY, seal_for).expect("the sample key");
    let ours = seal_for == RECEIVE_ID;
    let expected = if ours { Ok(message.clone()) } else { Err(CallbackError::ReceiveId) };

    // `encrypt` itself, with fresh random bytes: opens exactly.
    let fresh = sealer.encrypt(&message, TIMESTAMP, NONCE).expect("a short message seals");
    let opened = open_all(crypto(), &fresh.signature, TIMESTAMP, NONCE, &fresh.encrypted);
    assert_eq!(opened, expected, "what encrypt sealed opens exactly");
    assert_eq!(crypto().verify_url(&fresh.signature, TIMESTAMP, NONCE, &fresh.encrypted), expected);
    let post =
        crypto().decrypt_post(&fresh.signature, TIMESTAMP, NONCE, fresh.post_body(seal_for, Some("1")).as_bytes());
    assert_eq!(post, expected, "and so does its POST body");

    // The same with the random bytes of the input, then mutated.
    let sealed = sealer.encrypt_with_random(&message, TIMESTAMP, NONCE, random).expect("a short message seals");
    let mut cipher = STANDARD.decode(&sealed.encrypted).expect("sealed text is base64");
    let unpadded = 20 + message.len() + seal_for.len();
    assert_eq!(cipher.len(), unpadded + (32 - unpadded % 32), "PKCS#7 to 32, always a pad byte");

    for m in mutations.iter().filter(|m| m.kind <= 2) {
        match m.kind {
            0 if !cipher.is_empty() => {
                let at = m.at % cipher.len();
                cipher[at] ^= m.value;
            }
            1 => cipher.truncate(m.at % (cipher.len() + 1)),
            2 => cipher.extend([m.value; 16]),
            _ => {}
        }
    }
    let mut text = STANDARD.encode(&cipher).into_bytes();
    let mut resign = false;
    let mut digits: Vec<(usize, u8)> = Vec::new();
    for m in &mutations {
        match m.kind {
            3 if !text.is_empty() => {
                let at = m.at % text.len();
                text[at] = BASE64_CHARS[usize::from(m.value) % BASE64_CHARS.len()];
            }
            4 => digits.push((m.at % 40, HEX_CHARS[usize::from(m.value % 16)])),
            5 => resign = true,
            _ => {}
        }
    }
    let text = String::from_utf8(text).expect("base64 characters");
    let mut signature =
        if resign { sealer.signature(TIMESTAMP, NONCE, &text) } else { sealed.signature.clone() }.into_bytes();
    for (at, digit) in digits {
        signature[at] = digit;
    }
    let signature = String::from_utf8(signature).expect("hex digits");

    let opened = open_all(crypto(), &signature, TIMESTAMP, NONCE, &text);
    if text == sealed.encrypted {
        assert_eq!(opened, expected, "an unchanged ciphertext opens exactly");
    }
    let verified = crypto().verify_url(&signature, TIMESTAMP, NONCE, &text);
    let post = crypto().decrypt_post(&signature, TIMESTAMP, NONCE, envelope(&text).as_bytes());
    assert_eq!(post, verified, "an envelope carries the text unchanged");
}

fn key(data: &[u8]) {
    let key = String::from_utf8_lossy(data);
    let chars = key.chars().count();
    match CallbackCrypto::new("token", &key, RECEIVE_ID) {
        Ok(crypto) => {
            assert_eq!(chars, 43, "only a 43-character key is accepted");
            let sealed = crypto.encrypt_with_random("<xml/>", TIMESTAMP, NONCE, [1; 16]).expect("seals");
            assert_eq!(
                crypto.verify_url(&sealed.signature, TIMESTAMP, NONCE, &sealed.encrypted).as_deref(),
                Ok("<xml/>")
            );
        }
        Err(CallbackError::KeyLength { len }) => assert!(len == chars && len != 43, "{len} of {chars}"),
        Err(CallbackError::KeyEncoding) => assert_eq!(chars, 43),
        Err(e) => panic!("a key refused for another reason: {e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else { return };
    match [Mode::Raw, Mode::SealThenMutate, Mode::Key][usize::from(mode & 0x7f) % 3] {
        Mode::Raw => raw(rest, mode & 0x80 != 0),
        Mode::SealThenMutate => seal_then_mutate(rest),
        Mode::Key => key(rest),
    }
});
