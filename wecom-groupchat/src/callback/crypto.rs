//! WXBizMsgCrypt, the signature and encryption of WeCom callbacks (doc 90968), on RustCrypto crates.
//!
//! - Key: `Base64_Decode(EncodingAESKey + "=")`, 32 bytes (AES-256); IV: its first 16 bytes; mode CBC.
//!   The 43rd character of an EncodingAESKey may carry non-zero trailing bits (the official sample key
//!   does), so the key is decoded leniently, as every official SDK does.
//! - Plaintext: `random(16) || msg_len (u32 big-endian) || msg || receive_id`, PKCS#7-padded to a multiple
//!   of **32** bytes (pad values 1..=32); the ciphertext travels as base64.
//! - Signature: `hex(sha1(concat(sorted([token, timestamp, nonce, encrypted]))))`, lowercase, compared in
//!   constant time.
//!
//! The signature is checked before anything is decrypted, so a forger never reaches the padding or
//! length checks. Every check of a decrypted text is bounded: hostile input yields an error, never a panic
//! or a read past the buffer.

use std::borrow::Cow;
use std::fmt;

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::generic_array::GenericArray;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use rand::RngCore;
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use crate::callback::codec::XmlWriter;
use crate::callback::error::CallbackError;
use crate::callback::xml;
// The spec's sizes and names (`api-spec/callbacks.yaml`, `crypto`). PAD_BLOCK is WeCom's choice: 32, not the
// AES block size.
use crate::events::crypto::{ENCODING_AES_KEY_CHARS, PAD_BLOCK, envelope, query, reply};
use crate::secret::Secret;

/// The AES block size.
const AES_BLOCK: usize = 16;
/// Random bytes, then the 4-byte message length.
const RANDOM_LEN: usize = 16;
const HEADER_LEN: usize = RANDOM_LEN + 4;

/// Standard base64 that accepts non-zero trailing bits, for the EncodingAESKey only.
const LENIENT_KEY_BASE64: GeneralPurpose =
    GeneralPurpose::new(&base64::alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));

type Encryptor = cbc::Encryptor<Aes256>;
type Decryptor = cbc::Decryptor<Aes256>;

/// The callback configuration of one app — Token, EncodingAESKey and receive id — and the operations on
/// it. Its `Debug` shows the receive id only.
#[derive(Clone)]
pub struct CallbackCrypto {
    token: Secret,
    key: [u8; 32],
    receive_id: String,
}

impl fmt::Debug for CallbackCrypto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallbackCrypto").field("receive_id", &self.receive_id).finish_non_exhaustive()
    }
}

/// A message sealed as WeCom seals it: the encrypted text and its signature, for the timestamp and nonce
/// it was signed with. Build from it what WeCom sends (an event POST, a URL-verification GET) or what a
/// passive reply carries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sealed {
    /// The base64 ciphertext (`Encrypt`, or `echostr` in a URL verification).
    pub encrypted: String,
    /// `msg_signature`: lowercase hex SHA-1.
    pub signature: String,
    /// The timestamp signed over.
    pub timestamp: String,
    /// The nonce signed over.
    pub nonce: String,
}

impl CallbackCrypto {
    /// The configuration of one callback URL: the Token and EncodingAESKey set in the admin console, and
    /// the receive id — the corp id for a corp's own apps, the suite id for a third-party suite.
    ///
    /// Fails if the key is not [`ENCODING_AES_KEY_CHARS`] (43) base64 characters; the error names the
    /// length, never the key.
    pub fn new(
        token: impl Into<Secret>,
        encoding_aes_key: &str,
        receive_id: impl Into<String>,
    ) -> Result<Self, CallbackError> {
        let len = encoding_aes_key.chars().count();
        if len != ENCODING_AES_KEY_CHARS {
            return Err(CallbackError::KeyLength { len });
        }
        let mut padded = String::with_capacity(ENCODING_AES_KEY_CHARS + 1);
        padded.push_str(encoding_aes_key);
        padded.push('=');
        let bytes = LENIENT_KEY_BASE64.decode(padded.as_bytes()).map_err(|_| CallbackError::KeyEncoding)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| CallbackError::KeyEncoding)?;
        Ok(CallbackCrypto { token: token.into(), key, receive_id: receive_id.into() })
    }

    /// The receive id messages must end with.
    pub fn receive_id(&self) -> &str {
        &self.receive_id
    }

    /// The signature of `encrypted` for this timestamp and nonce: lowercase hex of
    /// `sha1(concat(sorted([token, timestamp, nonce, encrypted])))`.
    pub fn signature(&self, timestamp: &str, nonce: &str, encrypted: &str) -> String {
        self.signature_hex(timestamp, nonce, encrypted).iter().map(|&b| char::from(b)).collect()
    }

    /// [`CallbackCrypto::signature`] as bytes, on the stack.
    fn signature_hex(&self, timestamp: &str, nonce: &str, encrypted: &str) -> [u8; 40] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut parts = [self.token.expose(), timestamp, nonce, encrypted];
        parts.sort_unstable();
        let mut sha = Sha1::new();
        for part in parts {
            sha.update(part.as_bytes());
        }
        let mut hex = [0u8; 40];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(sha.finalize()) {
            pair[0] = HEX[usize::from(byte >> 4)];
            pair[1] = HEX[usize::from(byte & 0x0f)];
        }
        hex
    }

    /// Checks `msg_signature` against the signature of `encrypted`, in constant time.
    pub fn verify_signature(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        encrypted: &str,
    ) -> Result<(), CallbackError> {
        let expected = self.signature_hex(timestamp, nonce, encrypted);
        if bool::from(expected[..].ct_eq(msg_signature.as_bytes())) { Ok(()) } else { Err(CallbackError::Signature) }
    }

    /// Answers a URL verification (the GET WeCom sends when the callback URL is saved): verifies the
    /// signature over `echostr`, decrypts it and returns the plaintext — the exact body to answer with.
    ///
    /// All four values as they were in the query, URL-decoded.
    pub fn verify_url(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        echostr: &str,
    ) -> Result<String, CallbackError> {
        self.verify_signature(msg_signature, timestamp, nonce, echostr)?;
        self.decrypt_unverified(echostr)
    }

    /// Opens an event POST: reads `Encrypt` from the body
    /// (`<xml><ToUserName>…</ToUserName><AgentID>…</AgentID><Encrypt>…</Encrypt></xml>`, CDATA or text),
    /// verifies the signature over it and decrypts it. Returns the decrypted XML.
    ///
    /// `ToUserName` and `AgentID` of the envelope are not covered by the signature and are ignored; the
    /// decrypted message carries its own.
    pub fn decrypt_post(
        &self,
        msg_signature: &str,
        timestamp: &str,
        nonce: &str,
        body: &[u8],
    ) -> Result<String, CallbackError> {
        let encrypted = envelope_encrypt(body)?;
        self.verify_signature(msg_signature, timestamp, nonce, &encrypted)?;
        self.decrypt_unverified(&encrypted)
    }

    /// Decrypts base64 ciphertext and checks its layout and receive id, **without** checking any
    /// signature. Callers handling requests want [`CallbackCrypto::verify_url`] or
    /// [`CallbackCrypto::decrypt_post`].
    pub fn decrypt_unverified(&self, encrypted: &str) -> Result<String, CallbackError> {
        let mut buf = STANDARD.decode(encrypted.as_bytes()).map_err(|_| CallbackError::Base64)?;
        let len = buf.len();
        if len == 0 || len % AES_BLOCK != 0 {
            return Err(CallbackError::CiphertextLength { len });
        }
        // In place, over all blocks at once (AES-NI decrypts several CBC blocks in parallel).
        Decryptor::new(&self.key.into(), &self.iv().into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| CallbackError::CiphertextLength { len })?;
        let content = unpad(&buf)?;
        let (message, receive_id) = split_message(content)?;
        if receive_id != self.receive_id.as_bytes() {
            return Err(CallbackError::ReceiveId);
        }
        // The message becomes the string in the same buffer: no second allocation, no copy but the shift.
        let end = HEADER_LEN + message.len();
        buf.truncate(end);
        buf.drain(..HEADER_LEN);
        String::from_utf8(buf).map_err(|_| CallbackError::Utf8)
    }

    /// Seals a message as WeCom does: encrypted with fresh random bytes and this app's receive id, and
    /// signed for `timestamp` and `nonce`.
    ///
    /// Fails only for a message longer than 4 GiB.
    pub fn encrypt(&self, plaintext: &str, timestamp: &str, nonce: &str) -> Result<Sealed, CallbackError> {
        let mut random = [0u8; RANDOM_LEN];
        rand::rng().fill_bytes(&mut random);
        self.encrypt_with_random(plaintext, timestamp, nonce, random)
    }

    /// [`CallbackCrypto::encrypt`] with the 16 random bytes given: deterministic, for tests, seed corpora
    /// and fuzzing. Production code wants `encrypt`.
    #[doc(hidden)]
    pub fn encrypt_with_random(
        &self,
        plaintext: &str,
        timestamp: &str,
        nonce: &str,
        random: [u8; RANDOM_LEN],
    ) -> Result<Sealed, CallbackError> {
        let msg_len = u32::try_from(plaintext.len()).map_err(|_| CallbackError::TooLong)?;
        let unpadded = HEADER_LEN + plaintext.len() + self.receive_id.len();
        let pad = PAD_BLOCK - unpadded % PAD_BLOCK;
        let mut buf = Vec::with_capacity(unpadded + pad);
        buf.extend_from_slice(&random);
        buf.extend_from_slice(&msg_len.to_be_bytes());
        buf.extend_from_slice(plaintext.as_bytes());
        buf.extend_from_slice(self.receive_id.as_bytes());
        // `pad` is in 1..=32, so it fits a byte.
        buf.resize(unpadded + pad, pad as u8);
        let encrypted = self.encrypt_blocks(buf);
        let signature = self.signature(timestamp, nonce, &encrypted);
        Ok(Sealed { encrypted, signature, timestamp: timestamp.to_string(), nonce: nonce.to_string() })
    }

    /// AES-256-CBC over whole blocks (the caller has padded), then base64.
    fn encrypt_blocks(&self, mut buf: Vec<u8>) -> String {
        let mut encryptor = Encryptor::new(&self.key.into(), &self.iv().into());
        for block in buf.chunks_exact_mut(AES_BLOCK) {
            encryptor.encrypt_block_mut(GenericArray::from_mut_slice(block));
        }
        STANDARD.encode(&buf)
    }

    fn iv(&self) -> [u8; AES_BLOCK] {
        let mut iv = [0u8; AES_BLOCK];
        iv.copy_from_slice(&self.key[..AES_BLOCK]);
        iv
    }
}

/// Strips PKCS#7 padding of 1..=32 bytes, each equal to the count.
fn unpad(buf: &[u8]) -> Result<&[u8], CallbackError> {
    let pad = usize::from(*buf.last().ok_or(CallbackError::Padding)?);
    if !(1..=PAD_BLOCK).contains(&pad) || pad > buf.len() {
        return Err(CallbackError::Padding);
    }
    let (content, padding) = buf.split_at(buf.len() - pad);
    if padding.iter().any(|&b| usize::from(b) != pad) {
        return Err(CallbackError::Padding);
    }
    Ok(content)
}

/// Splits `random(16) || msg_len || msg || receive_id` into the message and the receive id.
fn split_message(content: &[u8]) -> Result<(&[u8], &[u8]), CallbackError> {
    let length: [u8; 4] =
        content.get(RANDOM_LEN..HEADER_LEN).and_then(|b| b.try_into().ok()).ok_or(CallbackError::MessageLength)?;
    let msg_len = usize::try_from(u32::from_be_bytes(length)).map_err(|_| CallbackError::MessageLength)?;
    let end =
        HEADER_LEN.checked_add(msg_len).filter(|&end| end <= content.len()).ok_or(CallbackError::MessageLength)?;
    Ok((&content[HEADER_LEN..end], &content[end..]))
}

/// The text of the one `Encrypt` child of an envelope (the whole envelope read as strictly as by
/// [`xml::parse_bytes`]), borrowed from the body unless it had to be rewritten.
fn envelope_encrypt(body: &[u8]) -> Result<Cow<'_, str>, CallbackError> {
    match xml::root_child_text(body, envelope::ENCRYPTED)? {
        (1, Some(encrypt)) => Ok(encrypt),
        (0, _) | (_, None) => Err(CallbackError::Envelope("no Encrypt element")),
        _ => Err(CallbackError::Envelope("more than one Encrypt element")),
    }
}

impl Sealed {
    /// The query string of an event POST: `msg_signature=…&timestamp=…&nonce=…`, URL-encoded.
    pub fn post_query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair(query::SIGNATURE, &self.signature)
            .append_pair(query::TIMESTAMP, &self.timestamp)
            .append_pair(query::NONCE, &self.nonce)
            .finish()
    }

    /// The body of an event POST as WeCom sends it:
    /// `<xml><ToUserName>…</ToUserName><AgentID>…</AgentID><Encrypt>…</Encrypt></xml>` — `to_user_name`
    /// is the corp id (or suite id); `AgentID` is left out when `None` (third-party callbacks).
    pub fn post_body(&self, to_user_name: &str, agent_id: Option<&str>) -> String {
        let mut w = XmlWriter::with_capacity(self.encrypted.len() + 128);
        w.string(envelope::TO_USER_NAME, to_user_name);
        if let Some(agent_id) = agent_id {
            w.string(envelope::AGENT_ID, agent_id);
        }
        w.string(envelope::ENCRYPTED, &self.encrypted);
        w.finish()
    }

    /// The query string of a URL-verification GET, with this ciphertext as `echostr`:
    /// `msg_signature=…&timestamp=…&nonce=…&echostr=…`, URL-encoded.
    pub fn verify_url_query(&self) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair(query::SIGNATURE, &self.signature)
            .append_pair(query::TIMESTAMP, &self.timestamp)
            .append_pair(query::NONCE, &self.nonce)
            .append_pair(query::ECHO, &self.encrypted)
            .finish()
    }

    /// The encrypted passive-reply envelope:
    /// `<xml><Encrypt><![CDATA[…]]></Encrypt><MsgSignature><![CDATA[…]]></MsgSignature><TimeStamp>…</TimeStamp><Nonce><![CDATA[…]]></Nonce></xml>`.
    pub fn reply_xml(&self) -> String {
        let mut w = XmlWriter::with_capacity(self.encrypted.len() + 160);
        w.string(envelope::ENCRYPTED, &self.encrypted);
        w.string(reply::SIGNATURE, &self.signature);
        w.text(reply::TIMESTAMP, &self.timestamp);
        w.string(reply::NONCE, &self.nonce);
        w.finish()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::callback::xml::XmlError;

    // The sample of WeCom's doc 90968 (加解密方案说明), as used by the official SDK samples.
    pub(crate) const TOKEN: &str = "QDG6eK";
    pub(crate) const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
    pub(crate) const RECEIVE_ID: &str = "wx5823bf96d3bd56c7";

    pub(crate) const URL_SIGNATURE: &str = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3";
    pub(crate) const URL_TIMESTAMP: &str = "1409659589";
    pub(crate) const URL_NONCE: &str = "263014780";
    pub(crate) const URL_ECHOSTR: &str =
        "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
    pub(crate) const URL_PLAINTEXT: &str = "1616140317555161061";

    pub(crate) const POST_SIGNATURE: &str = "477715d11cdb4164915debcba66cb864d751f3e6";
    pub(crate) const POST_TIMESTAMP: &str = "1409659813";
    pub(crate) const POST_NONCE: &str = "1372623149";
    pub(crate) const POST_ENCRYPT: &str = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";
    pub(crate) const POST_PLAINTEXT: &str = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>";

    pub(crate) fn sample() -> CallbackCrypto {
        CallbackCrypto::new(TOKEN, KEY, RECEIVE_ID).unwrap()
    }

    fn official_post_body() -> String {
        format!(
            "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[{POST_ENCRYPT}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
        )
    }

    /// Encrypts raw bytes (a whole number of AES blocks) as they are: for hand-made bad plaintexts.
    fn seal_raw(crypto: &CallbackCrypto, plain: Vec<u8>) -> String {
        assert_eq!(plain.len() % AES_BLOCK, 0);
        crypto.encrypt_blocks(plain)
    }

    /// `random || len || msg || rid`, with padding bytes chosen by the test.
    fn layout(msg_len: u32, msg: &[u8], rid: &[u8]) -> Vec<u8> {
        let mut plain = vec![7u8; RANDOM_LEN];
        plain.extend_from_slice(&msg_len.to_be_bytes());
        plain.extend_from_slice(msg);
        plain.extend_from_slice(rid);
        plain
    }

    fn padded(mut plain: Vec<u8>) -> Vec<u8> {
        let pad = PAD_BLOCK - plain.len() % PAD_BLOCK;
        plain.resize(plain.len() + pad, pad as u8);
        plain
    }

    #[test]
    fn official_url_verification_vector_verifies_and_decrypts() {
        let crypto = sample();
        assert_eq!(crypto.signature(URL_TIMESTAMP, URL_NONCE, URL_ECHOSTR), URL_SIGNATURE);
        assert_eq!(crypto.verify_url(URL_SIGNATURE, URL_TIMESTAMP, URL_NONCE, URL_ECHOSTR).unwrap(), URL_PLAINTEXT);
    }

    #[test]
    fn official_post_vector_verifies_and_decrypts_to_the_documented_xml() {
        let crypto = sample();
        assert_eq!(crypto.signature(POST_TIMESTAMP, POST_NONCE, POST_ENCRYPT), POST_SIGNATURE);
        let xml =
            crypto.decrypt_post(POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE, official_post_body().as_bytes()).unwrap();
        assert_eq!(xml, POST_PLAINTEXT);
        // The same envelope with plain text instead of CDATA, and whitespace around.
        let plain = format!(
            "<xml>\n  <ToUserName>wx5823bf96d3bd56c7</ToUserName>\n  <AgentID>218</AgentID>\n  <Encrypt>{POST_ENCRYPT}</Encrypt>\n</xml>\n"
        );
        assert_eq!(crypto.decrypt_post(POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE, plain.as_bytes()).unwrap(), xml);
    }

    #[test]
    fn the_sample_key_needs_lenient_decoding() {
        let strict = STANDARD.decode(format!("{KEY}=").as_bytes());
        assert!(strict.is_err(), "the official key has non-zero trailing bits");
        assert_eq!(sample().key.len(), 32);
    }

    #[test]
    fn round_trips_every_length_with_padding_to_32() {
        let crypto = sample();
        let mut lengths: Vec<usize> = (0..=130).collect();
        lengths.extend([255, 256, 257, 1000, 4096, 70_000]);
        for len in lengths {
            let message: String = "abcdefghijklmnopqrstuvwxyz0123456789".chars().cycle().take(len).collect();
            let sealed = crypto.encrypt(&message, "1700000000", "nonce").unwrap();
            let raw = STANDARD.decode(&sealed.encrypted).unwrap();
            assert_eq!(raw.len() % PAD_BLOCK, 0, "length {len}");
            let unpadded = HEADER_LEN + len + RECEIVE_ID.len();
            assert_eq!(raw.len(), unpadded + (PAD_BLOCK - unpadded % PAD_BLOCK), "length {len}");
            crypto.verify_signature(&sealed.signature, "1700000000", "nonce", &sealed.encrypted).unwrap();
            assert_eq!(crypto.decrypt_unverified(&sealed.encrypted).unwrap(), message, "length {len}");
        }
        // Multi-byte text: the length field counts bytes.
        let chinese = "<xml><Content><![CDATA[这是一个中文测试]]></Content></xml>";
        let sealed = crypto.encrypt(chinese, "1", "2").unwrap();
        assert_eq!(crypto.decrypt_unverified(&sealed.encrypted).unwrap(), chinese);
    }

    #[test]
    fn a_full_pad_block_is_added_when_the_plaintext_fills_whole_blocks() {
        let crypto = sample();
        // 20 + 26 + 18 = 64: a multiple of 32, so 32 bytes of value 32 are added.
        let message = "a".repeat(26);
        let sealed = crypto.encrypt_with_random(&message, "t", "n", [0; 16]).unwrap();
        assert_eq!(STANDARD.decode(&sealed.encrypted).unwrap().len(), 96);
        assert_eq!(crypto.decrypt_unverified(&sealed.encrypted).unwrap(), message);
        // Deterministic given the random bytes; different random bytes, different ciphertext.
        assert_eq!(sealed, crypto.encrypt_with_random(&message, "t", "n", [0; 16]).unwrap());
        assert_ne!(sealed.encrypted, crypto.encrypt_with_random(&message, "t", "n", [1; 16]).unwrap().encrypted);
    }

    #[test]
    fn refuses_bad_keys_without_echoing_them() {
        for (key, len) in [("", 0), (&KEY[..42], 42), (&format!("{KEY}A")[..], 44)] {
            let err = CallbackCrypto::new(TOKEN, key, RECEIVE_ID).unwrap_err();
            assert_eq!(err, CallbackError::KeyLength { len });
            assert_eq!(err.to_string(), format!("EncodingAESKey must be 43 characters, got {len}"));
        }
        let bad = format!("{}!", &KEY[..42]);
        let err = CallbackCrypto::new(TOKEN, &bad, RECEIVE_ID).unwrap_err();
        assert_eq!(err, CallbackError::KeyEncoding);
        assert!(!format!("{err} {err:?}").contains(&KEY[..10]));
        // 43 characters, not 43 bytes.
        let wide = format!("{}é", &KEY[..42]);
        assert_eq!(CallbackCrypto::new(TOKEN, &wide, RECEIVE_ID).unwrap_err(), CallbackError::KeyEncoding);
    }

    #[test]
    fn debug_shows_neither_token_nor_key() {
        let shown = format!("{:?}", sample());
        assert_eq!(shown, "CallbackCrypto { receive_id: \"wx5823bf96d3bd56c7\", .. }");
        assert!(!shown.contains(TOKEN) && !shown.contains(&KEY[..8]));
    }

    #[test]
    fn refuses_wrong_signatures() {
        let crypto = sample();
        for bad in ["", "0", &URL_SIGNATURE[..39], &URL_SIGNATURE.to_uppercase(), &format!("{URL_SIGNATURE}0")] {
            assert_eq!(
                crypto.verify_url(bad, URL_TIMESTAMP, URL_NONCE, URL_ECHOSTR),
                Err(CallbackError::Signature),
                "{bad:?}"
            );
        }
        // Any changed input changes the signature.
        assert_eq!(
            crypto.verify_url(URL_SIGNATURE, "1409659590", URL_NONCE, URL_ECHOSTR),
            Err(CallbackError::Signature)
        );
        assert_eq!(
            crypto.verify_url(URL_SIGNATURE, URL_TIMESTAMP, "263014781", URL_ECHOSTR),
            Err(CallbackError::Signature)
        );
        let other_token = CallbackCrypto::new("QDG6eL", KEY, RECEIVE_ID).unwrap();
        assert_eq!(
            other_token.verify_url(URL_SIGNATURE, URL_TIMESTAMP, URL_NONCE, URL_ECHOSTR),
            Err(CallbackError::Signature)
        );
        let body = official_post_body();
        assert_eq!(
            crypto.decrypt_post(URL_SIGNATURE, POST_TIMESTAMP, POST_NONCE, body.as_bytes()),
            Err(CallbackError::Signature)
        );
    }

    #[test]
    fn refuses_a_message_for_another_receive_id() {
        let other = CallbackCrypto::new(TOKEN, KEY, "wx5823bf96d3bd56c8").unwrap();
        assert_eq!(
            other.verify_url(URL_SIGNATURE, URL_TIMESTAMP, URL_NONCE, URL_ECHOSTR),
            Err(CallbackError::ReceiveId)
        );
        let sealed = other.encrypt("<xml/>", "1", "2").unwrap();
        assert_eq!(sample().decrypt_unverified(&sealed.encrypted), Err(CallbackError::ReceiveId));
        let empty = CallbackCrypto::new(TOKEN, KEY, "").unwrap();
        let sealed = empty.encrypt("<xml/>", "1", "2").unwrap();
        assert_eq!(sample().decrypt_unverified(&sealed.encrypted), Err(CallbackError::ReceiveId));
        assert_eq!(empty.decrypt_unverified(&sealed.encrypted).unwrap(), "<xml/>");
    }

    #[test]
    fn refuses_truncated_or_misaligned_ciphertext() {
        let crypto = sample();
        let raw = STANDARD.decode(URL_ECHOSTR).unwrap();
        assert_eq!(crypto.decrypt_unverified(""), Err(CallbackError::CiphertextLength { len: 0 }));
        for cut in [1, 5, 15, 17, raw.len() - 1] {
            let short = STANDARD.encode(&raw[..cut]);
            assert_eq!(crypto.decrypt_unverified(&short), Err(CallbackError::CiphertextLength { len: cut }));
        }
        // Whole blocks cut off the end: the padding no longer checks out.
        let short = STANDARD.encode(&raw[..raw.len() - 16]);
        assert_eq!(crypto.decrypt_unverified(&short), Err(CallbackError::Padding));
        // A signed but truncated ciphertext is refused all the same.
        let sig = crypto.signature("1", "2", &short);
        assert_eq!(crypto.verify_url(&sig, "1", "2", &short), Err(CallbackError::Padding));
    }

    #[test]
    fn refuses_bad_padding_bytes() {
        let crypto = sample();
        let base = layout(3, b"abc", RECEIVE_ID.as_bytes()); // 41 bytes
        for pad in [0u8, 33, 255] {
            let mut plain = base.clone();
            plain.resize(64, pad);
            assert_eq!(crypto.decrypt_unverified(&seal_raw(&crypto, plain)), Err(CallbackError::Padding), "pad {pad}");
        }
        // Last byte says 23 but the bytes before it differ.
        let mut plain = base.clone();
        plain.resize(63, 22);
        plain.push(23);
        assert_eq!(crypto.decrypt_unverified(&seal_raw(&crypto, plain)), Err(CallbackError::Padding));
        // A pad value of 32 over a 32-byte plaintext leaves nothing: too short for the header.
        assert_eq!(crypto.decrypt_unverified(&seal_raw(&crypto, vec![32; 32])), Err(CallbackError::MessageLength));
        // The same layout, well padded, decrypts (the helpers are right).
        assert_eq!(crypto.decrypt_unverified(&seal_raw(&crypto, padded(base))).unwrap(), "abc");
    }

    #[test]
    fn refuses_message_lengths_beyond_the_buffer() {
        let crypto = sample();
        for claimed in [4 + RECEIVE_ID.len() as u32, 1000, u32::MAX] {
            let plain = padded(layout(claimed, b"abc", RECEIVE_ID.as_bytes()));
            assert_eq!(
                crypto.decrypt_unverified(&seal_raw(&crypto, plain)),
                Err(CallbackError::MessageLength),
                "claimed {claimed}"
            );
        }
        // Shorter than random + length field.
        let plain = padded(vec![1u8; 19]);
        assert_eq!(crypto.decrypt_unverified(&seal_raw(&crypto, plain)), Err(CallbackError::MessageLength));
        // A length that swallows the receive id leaves the wrong id behind.
        let plain = padded(layout(5, b"abc", RECEIVE_ID.as_bytes()));
        assert_eq!(crypto.decrypt_unverified(&seal_raw(&crypto, plain)), Err(CallbackError::ReceiveId));
    }

    #[test]
    fn refuses_non_utf8_messages() {
        let crypto = sample();
        let plain = padded(layout(2, b"\xff\xfe", RECEIVE_ID.as_bytes()));
        assert_eq!(crypto.decrypt_unverified(&seal_raw(&crypto, plain)), Err(CallbackError::Utf8));
    }

    #[test]
    fn refuses_base64_garbage_and_huge_inputs_without_panicking() {
        let crypto = sample();
        for bad in ["!!!!", "P9nAzCzyDtyTWESH=", "P9nA zCzy", "%2F%2B", "====", "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3"] {
            let result = crypto.decrypt_unverified(bad);
            assert!(matches!(result, Err(CallbackError::Base64 | CallbackError::CiphertextLength { .. })), "{bad:?}");
        }
        assert_eq!(crypto.decrypt_unverified(&"!".repeat(4 << 20)), Err(CallbackError::Base64));
        let huge = STANDARD.encode(vec![0x5a; 4 << 20]);
        assert!(crypto.decrypt_unverified(&huge).is_err());
        // Random ciphertexts of many sizes: errors (or, rarely, a decryption), never a panic.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in (16..=1024).step_by(16) {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            let _ = crypto.decrypt_unverified(&STANDARD.encode(bytes));
        }
    }

    #[test]
    fn refuses_bad_envelopes() {
        let crypto = sample();
        let check = |body: &str| crypto.decrypt_post(POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE, body.as_bytes());
        assert_eq!(check("<xml><ToUserName>x</ToUserName></xml>"), Err(CallbackError::Envelope("no Encrypt element")));
        assert_eq!(
            check(&format!("<xml><Encrypt>{POST_ENCRYPT}</Encrypt><Encrypt>{POST_ENCRYPT}</Encrypt></xml>")),
            Err(CallbackError::Envelope("more than one Encrypt element"))
        );
        assert_eq!(
            check(&format!("<!DOCTYPE xml [<!ENTITY e \"{POST_ENCRYPT}\">]><xml><Encrypt>&e;</Encrypt></xml>")),
            Err(CallbackError::Xml(XmlError::Doctype))
        );
        assert!(matches!(check("<xml><Encrypt>"), Err(CallbackError::Xml(XmlError::Syntax(_)))));
        assert!(matches!(check(""), Err(CallbackError::Xml(XmlError::NoRoot))));
        assert_eq!(
            crypto.decrypt_post(POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE, b"<xml>\xff</xml>"),
            Err(CallbackError::Xml(XmlError::NotUtf8))
        );
    }

    #[test]
    fn sealed_builds_what_wecom_sends_and_the_passive_reply() {
        let crypto = sample();
        let sealed = crypto.encrypt("<xml><Content>hi]]>there</Content></xml>", "1700000000", "a b&c").unwrap();

        let query = sealed.post_query();
        assert_eq!(query, format!("msg_signature={}&timestamp=1700000000&nonce=a+b%26c", sealed.signature));
        let body = sealed.post_body("wx5823bf96d3bd56c7", Some("218"));
        assert!(body.starts_with("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><AgentID><![CDATA[218]]></AgentID><Encrypt><![CDATA["));
        let xml = crypto.decrypt_post(&sealed.signature, "1700000000", "a b&c", body.as_bytes()).unwrap();
        assert_eq!(xml, "<xml><Content>hi]]>there</Content></xml>");
        assert!(!sealed.post_body("suite", None).contains("AgentID"));

        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(sealed.verify_url_query().as_bytes()).into_owned().collect();
        assert_eq!(pairs[3], ("echostr".to_string(), sealed.encrypted.clone()));
        assert!(crypto.verify_url(&pairs[0].1, &pairs[1].1, &pairs[2].1, &pairs[3].1).is_ok());

        let reply = sealed.reply_xml();
        assert_eq!(
            reply,
            format!(
                "<xml><Encrypt><![CDATA[{}]]></Encrypt><MsgSignature><![CDATA[{}]]></MsgSignature><TimeStamp>1700000000</TimeStamp><Nonce><![CDATA[a b&c]]></Nonce></xml>",
                sealed.encrypted, sealed.signature
            )
        );
        let root = xml::parse(&reply).unwrap();
        let (enc, sig) = (root.child_text("Encrypt").unwrap(), root.child_text("MsgSignature").unwrap());
        let (ts, nonce) = (root.child_text("TimeStamp").unwrap(), root.child_text("Nonce").unwrap());
        crypto.verify_signature(sig, ts, nonce, enc).unwrap();
    }
}
