//! Seeds of the callback fuzz targets (`envelope`, `decrypt`): the official sample of WeCom's doc 90968, a
//! `change_external_chat` event sealed with its configuration, and broken variants of both — each laid out
//! as the target reads its input (see the documentation of `fuzz/fuzz_targets/envelope.rs` and
//! `decrypt.rs`).
//!
//! Sealing is the library's (`CallbackCrypto::encrypt_with_random`, fixed random bytes, so the seeds are the
//! same on every run), reached through its `seal_callback` example: xtask does not depend on the runtime,
//! so that `cargo xtask codegen` still builds when the checked-in generated code does not.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

// The sample configuration of doc 90968, which both targets use.
const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const RECEIVE_ID: &str = "wx5823bf96d3bd56c7";

// Its URL verification and event POST.
const URL_SIGNATURE: &str = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3";
const URL_TIMESTAMP: &str = "1409659589";
const URL_NONCE: &str = "263014780";
const URL_ECHOSTR: &str = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
const URL_PLAINTEXT: &str = "1616140317555161061";
const POST_SIGNATURE: &str = "477715d11cdb4164915debcba66cb864d751f3e6";
const POST_TIMESTAMP: &str = "1409659813";
const POST_NONCE: &str = "1372623149";
const POST_ENCRYPT: &str = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";

/// A `change_external_chat` event of a company's own app (the documented sample, CDATA as real traffic has it).
const EVENT: &str = "<xml>
\t<ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>
\t<FromUserName><![CDATA[sys]]></FromUserName>
\t<CreateTime>1403610513</CreateTime>
\t<MsgType><![CDATA[event]]></MsgType>
\t<Event><![CDATA[change_external_chat]]></Event>
\t<ChatId><![CDATA[wrx7HUARsKwGRaQBVKPBTcEyzdHA4HrQ]]></ChatId>
\t<ChangeType><![CDATA[update]]></ChangeType>
\t<UpdateDetail><![CDATA[add_member]]></UpdateDetail>
\t<JoinScene>3</JoinScene>
\t<QuitScene>0</QuitScene>
\t<MemChangeCnt>2</MemChangeCnt>
\t<MemChangeList>
\t\t<Item><![CDATA[Jack]]></Item>
\t\t<Item>Rose</Item>
\t</MemChangeList>
\t<LastMemVer><![CDATA[9c3f97c2ada667dfb5f6d03308d963e1]]></LastMemVer>
\t<CurMemVer><![CDATA[71217227bbd112ecfe3a49c482195cb4]]></CurMemVer>
</xml>";

/// The same event of a third-party suite (`InfoType`; answered `success`).
const THIRD_PARTY_EVENT: &str = "<xml><SuiteId><![CDATA[ww4asffe99e54c0f4c]]></SuiteId><AuthCorpId><![CDATA[wxf8b4f85f3a794e77]]></AuthCorpId><InfoType><![CDATA[change_external_chat]]></InfoType><TimeStamp>1403610513</TimeStamp><ChatId><![CDATA[wrx7HUARsKwGRaQBVKPBTcEyzdHA4HrQ]]></ChatId><ChangeType><![CDATA[create]]></ChangeType></xml>";

/// The random bytes of every sealed seed.
const RANDOM_HEX: &str = "000102030405060708090a0b0c0d0e0f";

/// The suffix of every seed file these functions write (what `write_seeds` may remove when it is gone).
pub(crate) const SUFFIX: &str = ".seed";

/// A message sealed by the library's `seal_callback` example.
struct Sealed {
    post_query: String,
    post_body: String,
}

/// Seals `message` with the sample configuration, for `timestamp` and the sample nonce.
fn seal(root: &Path, message: &str, timestamp: &str) -> Result<Sealed, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut child = Command::new(cargo)
        .current_dir(root)
        .args(["run", "--quiet", "--locked", "-p", "wecom-groupchat", "--example", "seal_callback", "--"])
        .args(["--token", TOKEN, "--aes-key", KEY, "--receive-id", RECEIVE_ID, "--agent-id", "1000002"])
        .args(["--timestamp", timestamp, "--nonce", POST_NONCE, "--random", RANDOM_HEX])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run the seal_callback example: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no stdin for the seal_callback example")?
        .write_all(message.as_bytes())
        .map_err(|e| format!("cannot write to the seal_callback example: {e}"))?;
    let output = child.wait_with_output().map_err(|e| format!("the seal_callback example: {e}"))?;
    if !output.status.success() {
        return Err(format!("the seal_callback example failed: {}", output.status));
    }
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("the seal_callback example printed no JSON: {e}"))?;
    let text = |name: &str| {
        json[name].as_str().map(str::to_string).ok_or_else(|| format!("the seal_callback example gave no {name}"))
    };
    Ok(Sealed { post_query: text("post_query")?, post_body: text("post_body")? })
}

/// Percent-encodes all but the unreserved characters.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn post_body(encrypt: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[{RECEIVE_ID}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
    )
}

fn query(signature: &str, timestamp: &str, nonce: &str) -> String {
    format!("msg_signature={signature}&timestamp={timestamp}&nonce={nonce}")
}

/// A seed: a mode byte, then the parts.
fn seed(name: &str, mode: u8, parts: &[&[u8]]) -> (String, Vec<u8>) {
    let mut bytes = vec![mode];
    for part in parts {
        bytes.extend_from_slice(part);
    }
    (format!("{name}{SUFFIX}"), bytes)
}

/// The seeds of the `envelope` target. Mode bytes: 0 GET (query), 1 POST (query, 0, body), 2 POST signed by
/// the harness (body), 3 GET signed by the harness (echostr), 4 POST sealed by the harness (message), 5 GET
/// sealed by the harness (message), 6 another method (name, 0, body), 7 a sealed POST delivered twice; +8
/// for the small body cap.
pub(crate) fn envelope(root: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let event = seal(root, EVENT, "1403610513")?;
    let official_query = query(POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE);
    let official_body = post_body(POST_ENCRYPT);
    let verify_query = format!("{}&echostr={}", query(URL_SIGNATURE, URL_TIMESTAMP, URL_NONCE), encode(URL_ECHOSTR));
    let mut bad_signature = POST_SIGNATURE.to_string();
    bad_signature.replace_range(39.., "0");
    let cut = post_body(&POST_ENCRYPT[..POST_ENCRYPT.len() - 20]);
    let two = format!("<xml><Encrypt>{POST_ENCRYPT}</Encrypt><Encrypt>{POST_ENCRYPT}</Encrypt></xml>");
    let deep = format!("{}{}", "<a>".repeat(33), "</a>".repeat(33));
    let (q, b) = (official_query.as_bytes(), official_body.as_bytes());
    Ok(vec![
        seed("official-url-verification", 0, &[verify_query.as_bytes()]),
        seed("official-post", 1, &[q, b"\0", b]),
        seed("sealed-change-external-chat", 1, &[event.post_query.as_bytes(), b"\0", event.post_body.as_bytes()]),
        seed(
            "sealed-change-external-chat-over-cap",
            1 | 8,
            &[event.post_query.as_bytes(), b"\0", event.post_body.as_bytes()],
        ),
        seed("signed-change-external-chat", 2, &[event.post_body.as_bytes()]),
        seed("signed-official-echostr", 3, &[URL_ECHOSTR.as_bytes()]),
        seed("seal-change-external-chat", 4, &[EVENT.as_bytes()]),
        seed("seal-third-party-event", 4, &[THIRD_PARTY_EVENT.as_bytes()]),
        seed("seal-echostr", 5, &[URL_PLAINTEXT.as_bytes()]),
        seed("redelivered-change-external-chat", 7, &[EVENT.as_bytes()]),
        seed("broken-signature", 1, &[query(&bad_signature, POST_TIMESTAMP, POST_NONCE).as_bytes(), b"\0", b]),
        seed("broken-missing-signature", 1, &[b"timestamp=1409659813&nonce=1372623149\0", b]),
        seed("broken-repeated-parameter", 0, &[verify_query.as_bytes(), b"&nonce=1"]),
        seed("broken-truncated-ciphertext", 2, &[cut.as_bytes()]),
        seed("broken-doctype", 2, &[b"<!DOCTYPE xml [<!ENTITY e \"x\">]><xml><Encrypt>&e;</Encrypt></xml>"]),
        seed("broken-two-encrypts", 2, &[two.as_bytes()]),
        seed("broken-no-encrypt", 2, &[b"<xml><ToUserName>x</ToUserName><AgentID>1</AgentID></xml>"]),
        seed("broken-not-utf8", 2, &[b"<xml><Encrypt>\xff\xfe</Encrypt></xml>"]),
        seed("broken-message-not-xml", 4, &[b"<xml><Event>change_external_chat</Event>"]),
        seed("broken-message-too-deep", 4, &[deep.as_bytes()]),
        seed("other-method", 6, &[b"PUT\0", b]),
    ])
}

/// The seeds of the `decrypt` target. Mode bytes: 0 raw (signature, 0, timestamp, 0, nonce, 0, text or
/// body; +0x80: signed by the harness), 1 seal then mutate (receive id choice, 16 random bytes, mutation
/// count, 4 bytes a mutation, message), 2 an EncodingAESKey.
pub(crate) fn decrypt() -> Vec<(String, Vec<u8>)> {
    let raw = |signature: &str, timestamp: &str, nonce: &str, text: &str| {
        [signature, "\0", timestamp, "\0", nonce, "\0", text].concat().into_bytes()
    };
    // Receive id choice, random bytes, then the mutations (count first).
    let seal = |receive_id: u8, mutations: &[[u8; 4]], message: &str| {
        let mut bytes = vec![receive_id];
        bytes.extend(0u8..16);
        bytes.push(mutations.len() as u8);
        bytes.extend(mutations.iter().flatten());
        bytes.extend(message.as_bytes());
        bytes
    };
    const RESIGN: [u8; 4] = [5, 0, 0, 0];
    vec![
        seed("official-url-verification", 0, &[&raw(URL_SIGNATURE, URL_TIMESTAMP, URL_NONCE, URL_ECHOSTR)]),
        seed("official-post-encrypt", 0, &[&raw(POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE, POST_ENCRYPT)]),
        seed("official-post-body", 0, &[&raw(POST_SIGNATURE, POST_TIMESTAMP, POST_NONCE, &post_body(POST_ENCRYPT))]),
        seed("signed-short-ciphertext", 0x80, &[&raw("", "1", "2", "P9nAzCzyDtyTWESH")]),
        seed("signed-official-echostr-cut", 0x80, &[&raw("", URL_TIMESTAMP, URL_NONCE, &URL_ECHOSTR[..64])]),
        seed("seal-change-external-chat", 1, &[&seal(0, &[], EVENT)]),
        seed("seal-echostr", 1, &[&seal(0, &[], URL_PLAINTEXT)]),
        seed("seal-for-another-receive-id", 1, &[&seal(2, &[], EVENT)]),
        seed("seal-for-an-empty-receive-id", 1, &[&seal(1, &[], URL_PLAINTEXT)]),
        seed("seal-flip-a-byte-resigned", 1, &[&seal(0, &[[0, 0, 40, 1], RESIGN], EVENT)]),
        seed("seal-flip-the-last-byte-resigned", 1, &[&seal(0, &[[0, 255, 255, 0x20], RESIGN], URL_PLAINTEXT)]),
        seed("seal-cut-a-block-resigned", 1, &[&seal(0, &[[1, 0, 48, 0], RESIGN], URL_PLAINTEXT)]),
        seed("seal-add-a-block-resigned", 1, &[&seal(0, &[[2, 0, 0, 32], RESIGN], URL_PLAINTEXT)]),
        seed("seal-change-a-character", 1, &[&seal(0, &[[3, 0, 10, 7]], EVENT)]),
        seed("seal-change-a-signature-digit", 1, &[&seal(0, &[[4, 0, 3, 5]], URL_PLAINTEXT)]),
        seed("key-official", 2, &[KEY.as_bytes()]),
        seed("key-too-short", 2, &[&KEY.as_bytes()[..42]]),
        seed("key-not-base64", 2, &[&KEY.as_bytes()[..42], b"!"]),
    ]
}

/// libFuzzer dictionary words of the `envelope` target: the envelope's and events' markup and names, the
/// query's parameters, what the strict reader refuses.
#[rustfmt::skip]
pub(crate) const ENVELOPE_WORDS: &[&str] = &[
    "<xml>", "</xml>", "<![CDATA[", "]]>", "<Encrypt>", "</Encrypt>", "<ToUserName>", "<AgentID>", "<Item>",
    "</Item>", "InfoType", "Event", "MsgType", "change_external_chat", "MemChangeList", "<!DOCTYPE", "<!ENTITY",
    "<?xml version=\"1.0\"?>", "<!--", "-->", "&lt;", "&amp;", "&#x", "&#", ";", "/>", "msg_signature=",
    "&timestamp=", "&nonce=", "&echostr=", "%2B", "%3D", "GET", "POST", "success",
];
