//! Seals a message as WeCom seals a callback, and prints as JSON what WeCom would send: the query and body
//! of the event POST, and the query of a URL verification with the message as `echostr`. For trying a
//! callback receiver by hand, and for the fuzz seeds `cargo xtask fuzz-corpus` writes.
//!
//! ```sh
//! echo -n '<xml>…</xml>' | cargo run -q -p wecom-groupchat --example seal_callback -- \
//!     --token TOKEN --aes-key KEY --receive-id ww0123456789abcdef > sealed.json
//! curl "http://127.0.0.1:8080/callback?$(jq -r .post_query sealed.json)" --data-binary "$(jq -r .post_body sealed.json)"
//! ```
//!
//! Flags: `--token`, `--aes-key` (or `WECOM_CALLBACK_TOKEN`, `WECOM_CALLBACK_AES_KEY`), `--receive-id`,
//! `--timestamp` (default: now), `--nonce` (default: `1372623149`), `--agent-id` (default: none, as in a
//! third-party callback), `--random HEX` (the 16 random bytes as 32 hex digits, for a reproducible output;
//! default: fresh ones). The message is read from stdin, as it is. Neither the token nor the key is printed.

use std::io::Read;
use std::process::ExitCode;

use wecom_groupchat::callback::CallbackCrypto;

fn main() -> ExitCode {
    match run() {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<String, String> {
    let mut token = std::env::var("WECOM_CALLBACK_TOKEN").ok();
    let mut key = std::env::var("WECOM_CALLBACK_AES_KEY").ok();
    let (mut receive_id, mut timestamp, mut nonce, mut agent_id, mut random) = (None, None, None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--token" => &mut token,
            "--aes-key" => &mut key,
            "--receive-id" => &mut receive_id,
            "--timestamp" => &mut timestamp,
            "--nonce" => &mut nonce,
            "--agent-id" => &mut agent_id,
            "--random" => &mut random,
            _ => return Err(format!("unknown flag {flag:?}")),
        };
        *slot = Some(args.next().ok_or_else(|| format!("{flag} needs a value"))?);
    }
    let token = token.ok_or("--token (or WECOM_CALLBACK_TOKEN) is required")?;
    let key = key.ok_or("--aes-key (or WECOM_CALLBACK_AES_KEY) is required")?;
    let receive_id = receive_id.ok_or("--receive-id is required")?;
    let timestamp = timestamp.unwrap_or_else(|| wecom_groupchat::time::now_unix().to_string());
    let nonce = nonce.unwrap_or_else(|| "1372623149".to_string());

    let mut message = String::new();
    std::io::stdin().read_to_string(&mut message).map_err(|e| format!("cannot read the message from stdin: {e}"))?;
    let crypto = CallbackCrypto::new(token, &key, receive_id.as_str()).map_err(|e| format!("--aes-key: {e}"))?;
    let sealed = match random {
        None => crypto.encrypt(&message, &timestamp, &nonce),
        Some(hex) => {
            let bytes = hex::decode(&hex).ok().and_then(|b| <[u8; 16]>::try_from(b).ok());
            let random = bytes.ok_or("--random takes 32 hex digits")?;
            crypto.encrypt_with_random(&message, &timestamp, &nonce, random)
        }
    }
    .map_err(|e| e.to_string())?;
    let json = serde_json::json!({
        "encrypted": sealed.encrypted,
        "signature": sealed.signature,
        "timestamp": sealed.timestamp,
        "nonce": sealed.nonce,
        "post_query": sealed.post_query(),
        "post_body": sealed.post_body(&receive_id, agent_id.as_deref()),
        "verify_url_query": sealed.verify_url_query(),
    });
    Ok(json.to_string())
}
