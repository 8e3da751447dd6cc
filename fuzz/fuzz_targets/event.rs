//! A decrypted callback message, read as the receiver reads it (`xml::parse_bytes`, then
//! `CallbackEvent::decode`): no input panics, the reader's plain-document path reads every document as its
//! general reader does (same tree, same error), and whatever reads round-trips — the message written back
//! with `to_xml` reads again to the same event (typed or raw), and `to_json` always makes an object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wecom_groupchat::callback::xml;
use wecom_groupchat::events::CallbackEvent;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        assert_eq!(xml::parse(text), xml::parse_general(text), "the plain and the general reader differ");
    }
    let Ok(root) = xml::parse_bytes(data) else { return };
    let event = CallbackEvent::decode(root);
    let _ = event.to_json();
    let written = event.to_xml();
    let again = xml::parse(&written).unwrap_or_else(|e| panic!("the written message does not parse ({e}): {written}"));
    assert_eq!(CallbackEvent::decode(again), event, "the written message reads differently: {written}");
});
