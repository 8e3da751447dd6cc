//! (9) The floor of the callback benchmark: a WeCom event POST opened the plainest way, written for the
//! bench alone — `quick-xml`'s pull reader for the envelope, `sha1` + `hex` for the signature, `base64`
//! into a buffer kept from one event to the next, `aes` + `cbc` decrypting that buffer in place, and
//! `quick-xml` again straight into a [`BenchEvent`]. It checks what opening the message correctly needs
//! (the signature, the padding, `msg_len`, the receive id) and nothing more: no bound on depth or size,
//! no refusal of a DOCTYPE, entity references other than the five predefined ones skipped, no
//! constant-time comparison. What our library does beyond that is what the benchmark measures.

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, KeyIvInit};
use quick_xml::Reader;
use quick_xml::events::Event;
use sha1::{Digest, Sha1};

use crate::callback::{BenchEvent, Delivery};

/// The EncodingAESKey's 43rd character may carry non-zero trailing bits.
const LENIENT: GeneralPurpose =
    GeneralPurpose::new(&base64::alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));

/// The floor's state: the configuration and the buffer every event is decoded and decrypted in.
#[derive(Debug)]
pub struct Floor {
    token: String,
    key: [u8; 32],
    receive_id: String,
    buf: Vec<u8>,
}

impl Floor {
    /// The same Token, EncodingAESKey and receive id as our side's `CallbackCrypto`.
    pub fn new(token: &str, encoding_aes_key: &str, receive_id: &str) -> Result<Self, String> {
        let key = LENIENT.decode(format!("{encoding_aes_key}=")).map_err(|e| format!("EncodingAESKey: {e}"))?;
        let key: [u8; 32] = key.try_into().map_err(|_| "EncodingAESKey: not 32 bytes".to_string())?;
        Ok(Floor { token: token.to_string(), key, receive_id: receive_id.to_string(), buf: Vec::with_capacity(4096) })
    }

    /// One event POST, from the query's three values and the body to the decoded event.
    pub fn open(&mut self, delivery: &Delivery) -> Result<BenchEvent, String> {
        let encrypt = envelope_encrypt(&delivery.body)?;
        self.verify(&delivery.signature, &delivery.timestamp, &delivery.nonce, encrypt)?;
        let xml = self.decrypt(encrypt)?;
        decode(xml)
    }

    /// `hex(sha1(sorted(token, timestamp, nonce, encrypt)))` equals the signature.
    pub fn verify(&self, signature: &str, timestamp: &str, nonce: &str, encrypt: &str) -> Result<(), String> {
        let mut parts = [self.token.as_str(), timestamp, nonce, encrypt];
        parts.sort_unstable();
        let mut sha = Sha1::new();
        for part in parts {
            sha.update(part.as_bytes());
        }
        let mut hex = [0u8; 40];
        hex::encode_to_slice(sha.finalize(), &mut hex).map_err(|e| e.to_string())?;
        if hex[..] == *signature.as_bytes() { Ok(()) } else { Err("signature does not match".into()) }
    }

    /// base64 → AES-256-CBC in place → PKCS#7 (32) → `random(16) || msg_len || msg || receive_id`; the
    /// message, borrowed from the buffer.
    pub fn decrypt(&mut self, encrypt: &str) -> Result<&str, String> {
        self.buf.clear();
        STANDARD.decode_vec(encrypt, &mut self.buf).map_err(|e| format!("base64: {e}"))?;
        let key = self.key.into();
        let iv: [u8; 16] = self.key[..16].try_into().map_err(|_| "iv".to_string())?;
        let plain = cbc::Decryptor::<Aes256>::new(&key, &iv.into())
            .decrypt_padded_mut::<NoPadding>(&mut self.buf)
            .map_err(|_| "ciphertext is not whole blocks".to_string())?;
        let pad = usize::from(*plain.last().ok_or("empty")?);
        if !(1..=32).contains(&pad)
            || pad > plain.len()
            || plain[plain.len() - pad..].iter().any(|&b| usize::from(b) != pad)
        {
            return Err("bad padding".into());
        }
        let content = &plain[..plain.len() - pad];
        let len: [u8; 4] = content.get(16..20).and_then(|b| b.try_into().ok()).ok_or("too short")?;
        let end = 20usize.checked_add(u32::from_be_bytes(len) as usize).filter(|&e| e <= content.len());
        let end = end.ok_or("msg_len out of bounds")?;
        if &content[end..] != self.receive_id.as_bytes() {
            return Err("receive id does not match".into());
        }
        std::str::from_utf8(&content[20..end]).map_err(|_| "not UTF-8".into())
    }
}

/// The text of `<Encrypt>` in `<xml><ToUserName/><AgentID/><Encrypt/></xml>`, borrowed from the body.
pub fn envelope_encrypt(body: &str) -> Result<&str, String> {
    let mut reader = Reader::from_str(body);
    let mut in_encrypt = false;
    loop {
        match reader.read_event().map_err(|e| format!("envelope: {e}"))? {
            Event::Start(e) => in_encrypt = e.name().as_ref() == b"Encrypt",
            Event::End(_) => in_encrypt = false,
            Event::CData(text) if in_encrypt => return borrowed(text.into_inner()),
            Event::Text(text) if in_encrypt => return borrowed(text.into_inner()),
            Event::Eof => return Err("envelope: no Encrypt".into()),
            _ => {}
        }
    }
}

/// Text that `Reader::from_str` handed out borrowed (it always does: the input is a `&str`).
fn borrowed(text: std::borrow::Cow<'_, [u8]>) -> Result<&str, String> {
    match text {
        std::borrow::Cow::Borrowed(bytes) => std::str::from_utf8(bytes).map_err(|_| "not UTF-8".into()),
        std::borrow::Cow::Owned(_) => Err("unexpected owned text".into()),
    }
}

/// The decrypted message straight into the event: each field's text or CDATA, trimmed.
pub fn decode(xml: &str) -> Result<BenchEvent, String> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut event = BenchEvent::default();
    let mut field: Vec<u8> = Vec::new();
    let mut in_list = false;
    loop {
        let text = match reader.read_event().map_err(|e| format!("message: {e}"))? {
            Event::Start(e) => {
                match e.name().as_ref() {
                    b"MemChangeList" => {
                        in_list = true;
                        event.mem_change_list = Some(Vec::with_capacity(16));
                    }
                    name => {
                        field.clear();
                        field.extend_from_slice(name);
                    }
                }
                continue;
            }
            Event::End(e) => {
                if e.name().as_ref() == b"MemChangeList" {
                    in_list = false;
                }
                field.clear();
                continue;
            }
            Event::Text(text) => text.decode().map_err(|e| e.to_string())?,
            Event::CData(text) => text.decode().map_err(|e| e.to_string())?,
            Event::Eof => return Ok(event),
            _ => continue,
        };
        let text = text.trim();
        if in_list {
            if field == b"Item"
                && let Some(list) = &mut event.mem_change_list
            {
                list.push(text.to_string());
            }
            continue;
        }
        let number = || text.parse::<i64>().ok();
        match field.as_slice() {
            b"ToUserName" => event.to_user_name = text.to_string(),
            b"FromUserName" => event.from_user_name = text.to_string(),
            b"CreateTime" => event.create_time = number().unwrap_or_default(),
            b"MsgType" => event.msg_type = text.to_string(),
            b"Event" => event.event = text.to_string(),
            b"ChatId" => event.chat_id = text.to_string(),
            b"ChangeType" => event.change_type = text.to_string(),
            b"UpdateDetail" => event.update_detail = Some(text.to_string()),
            b"JoinScene" => event.join_scene = number(),
            b"QuitScene" => event.quit_scene = number(),
            b"MemChangeCnt" => event.mem_change_cnt = number(),
            b"LastMemVer" => event.last_mem_ver = Some(text.to_string()),
            b"CurMemVer" => event.cur_mem_ver = Some(text.to_string()),
            _ => {}
        }
    }
}
