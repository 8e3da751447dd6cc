//! Any endpoint's answer, read exactly as a call reads it (status, envelope, value cap, typed decoding):
//! no input panics, every error formats with `{}` and `{:?}`, and an answer that decodes round-trips —
//! its re-encoded JSON, answered with HTTP 200, decodes again to the same value.
//!
//! Input: a byte choosing the endpoint (modulo the endpoint table), a byte choosing the HTTP status from
//! [`STATUSES`], then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wecom_groupchat::{dynamic, endpoints};

/// Mostly successes, so that most inputs reach the typed decoding.
const STATUSES: [u16; 10] = [200, 200, 200, 204, 301, 302, 404, 500, 502, 503];
const JSON: Option<&str> = Some("application/json");

fuzz_target!(|data: &[u8]| {
    let [selector, status, body @ ..] = data else { return };
    let name = endpoints::ALL[usize::from(*selector) % endpoints::ALL.len()].name;
    let status = STATUSES[usize::from(*status) % STATUSES.len()];
    let result = dynamic::decode_response(name, status, JSON, body)
        .unwrap_or_else(|| panic!("`{name}` is in endpoints::ALL but endpoints::visit does not know it"));
    match result {
        Ok(value) => {
            let again = serde_json::to_vec(&value).expect("a serde_json::Value always encodes");
            match dynamic::decode_response(name, 200, JSON, &again) {
                Some(Ok(decoded)) => assert_eq!(decoded, value, "{name}: the re-encoded answer decodes differently"),
                Some(Err(e)) => panic!("{name}: the re-encoded answer {value} does not decode: {e}"),
                None => unreachable!(),
            }
        }
        Err(e) => {
            let _ = format!("{e} {e:?}");
        }
    }
});
