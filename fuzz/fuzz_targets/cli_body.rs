//! The CLI's `--body` input (`wecom-groupchat call <endpoint> --body JSON`): any JSON, as any endpoint's
//! request, goes through decoding, validation and encoding without a panic; errors format; and a body
//! that is accepted round-trips — the request's JSON decodes again to the same request.
//!
//! Input: a byte choosing the endpoint (modulo the endpoint table), then the body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wecom_groupchat::{dynamic, endpoints, wire};

fuzz_target!(|data: &[u8]| {
    let [selector, body @ ..] = data else { return };
    let name = endpoints::ALL[usize::from(*selector) % endpoints::ALL.len()].name;
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(body) else { return };
    let request = match dynamic::decode_request(name, &body) {
        Ok(request) => request,
        Err(e) => {
            let _ = format!("{e} {e:?}");
            return;
        }
    };
    if let Err(e) = request.validate() {
        let _ = format!("{e} {e:?}");
    }
    let json = request.to_json();
    match wire::encode_request(&json) {
        Ok(_) => {}
        Err(wire::RequestEncodingError::Escape(e)) => {
            let _ = format!("{e} {e:?}");
        }
        Err(e @ wire::RequestEncodingError::Json(_)) => panic!("{name}: a JSON value does not encode: {e:?}"),
    }
    match dynamic::decode_request(name, &json) {
        Ok(again) => assert_eq!(again.to_json(), json, "{name}: the request's JSON decodes differently"),
        Err(e) => panic!("{name}: the request's own JSON {json} does not decode: {e}"),
    }
});
