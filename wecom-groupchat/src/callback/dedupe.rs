//! Recognising redeliveries. WeCom redelivers a message it got no 200 for (3 times in all, by forum
//! reports), possibly encrypted afresh with a new nonce, so a redelivery is recognised by what it says,
//! not by its ciphertext or signature: the key is a SHA-256 over a canonical form of the decrypted
//! message.
//!
//! [`Seen`] remembers the keys of acknowledged messages, bounded in number and in time.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::callback::xml::Element;

/// The dedupe key of a message: lowercase hex SHA-256 over the element names and texts in document
/// order, with their nesting.
///
/// Two deliveries of one message get the same key whatever their encryption, CDATA or plain text,
/// whitespace around elements and values, comments or attributes; any change of a name, a value or the
/// structure changes it.
pub fn dedupe_key(root: &Element) -> String {
    let mut sha = Sha256::new();
    let mut depths: Vec<usize> = Vec::new();
    for (depth, element) in root.walk() {
        // Close the elements this one is not inside of.
        while depths.last().is_some_and(|&open| open >= depth) {
            depths.pop();
            sha.update(b"E");
        }
        depths.push(depth);
        for (tag, part) in [(b'S', element.name()), (b'T', element.text())] {
            sha.update([tag]);
            sha.update((part.len() as u64).to_be_bytes());
            sha.update(part.as_bytes());
        }
    }
    for _ in depths {
        sha.update(b"E");
    }
    hex::encode(sha.finalize())
}

/// A bounded memory of keys: at most `capacity` keys (the oldest are forgotten first), each for at most
/// `window`; plus the keys being handled right now.
#[derive(Debug)]
pub struct Seen {
    capacity: usize,
    window: Duration,
    remembered: HashMap<String, Instant>,
    order: VecDeque<(String, Instant)>,
    in_flight: HashSet<String>,
}

/// What [`Seen::begin`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Not seen: now marked in flight; call [`Seen::finish`] when done.
    New,
    /// Acknowledged before, within the window.
    Done,
    /// Being handled right now.
    InFlight,
}

impl Seen {
    /// Remembers up to `capacity` keys for `window` each. A capacity of 0 remembers nothing.
    pub fn new(capacity: usize, window: Duration) -> Self {
        Seen { capacity, window, remembered: HashMap::new(), order: VecDeque::new(), in_flight: HashSet::new() }
    }

    /// Looks `key` up at `now`; marks it in flight if it is new.
    pub fn begin(&mut self, key: &str, now: Instant) -> Status {
        self.expire(now);
        if self.remembered.contains_key(key) {
            Status::Done
        } else if !self.in_flight.insert(key.to_string()) {
            Status::InFlight
        } else {
            Status::New
        }
    }

    /// Ends the handling of `key`; remembers it if it was acknowledged.
    pub fn finish(&mut self, key: &str, acknowledged: bool, now: Instant) {
        self.in_flight.remove(key);
        if acknowledged && self.capacity > 0 {
            self.expire(now);
            while self.remembered.len() >= self.capacity {
                if !self.pop_oldest() {
                    break;
                }
            }
            self.remembered.insert(key.to_string(), now);
            self.order.push_back((key.to_string(), now));
        }
    }

    /// Keys remembered now (acknowledged, within the window, not evicted).
    pub fn len(&self) -> usize {
        self.remembered.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.remembered.is_empty()
    }

    fn expire(&mut self, now: Instant) {
        while self.order.front().is_some_and(|(_, at)| now.saturating_duration_since(*at) >= self.window) {
            self.pop_oldest();
        }
    }

    /// Forgets the oldest key; `false` if there is none.
    fn pop_oldest(&mut self) -> bool {
        match self.order.pop_front() {
            Some((key, at)) => {
                // The key may have been remembered again later; only drop the entry this one made.
                if self.remembered.get(&key) == Some(&at) {
                    self.remembered.remove(&key);
                }
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callback::xml::parse;

    fn key(xml: &str) -> String {
        dedupe_key(&parse(xml).unwrap())
    }

    #[test]
    fn the_key_ignores_cdata_whitespace_comments_and_attributes() {
        let a = key("<xml><Event><![CDATA[change_external_chat]]></Event><L><Item>a</Item><Item>b</Item></L></xml>");
        let b = key(
            "<?xml version=\"1.0\"?>\n<xml>\n  <Event> change_external_chat </Event>\n  <!-- x -->\n  <L a=\"1\">\n    <Item><![CDATA[a]]></Item>\n    <Item>b</Item>\n  </L>\n</xml>",
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn the_key_changes_with_any_name_value_or_structure() {
        let base = key("<xml><A>1</A><B><Item>x</Item></B></xml>");
        for other in [
            "<xml><A>2</A><B><Item>x</Item></B></xml>",
            "<xml><C>1</C><B><Item>x</Item></B></xml>",
            "<xml><A>1</A><B><Item>y</Item></B></xml>",
            "<xml><A>1</A><B><Item>x</Item><Item>x</Item></B></xml>",
            "<xml><A>1</A><B/><Item>x</Item></xml>",
            "<xml><A>1<B><Item>x</Item></B></A></xml>",
            "<xml><B><Item>x</Item></B><A>1</A></xml>",
            "<xml><A>1</A><B>x</B></xml>",
            "<xml><A>1</A><B><Item>x</Item></B><C/></xml>",
        ] {
            assert_ne!(base, key(other), "{other}");
        }
        // Lengths are framed: moving characters between a name and a value changes the key.
        assert_ne!(key("<xml><AB>c</AB></xml>"), key("<xml><A>Bc</A></xml>"));
    }

    #[test]
    fn remembers_acknowledged_keys_and_forgets_failed_ones() {
        let t0 = Instant::now();
        let mut seen = Seen::new(10, Duration::from_secs(600));
        assert_eq!(seen.begin("a", t0), Status::New);
        assert_eq!(seen.begin("a", t0), Status::InFlight);
        seen.finish("a", false, t0);
        assert!(seen.is_empty());
        assert_eq!(seen.begin("a", t0), Status::New);
        seen.finish("a", true, t0);
        assert_eq!(seen.begin("a", t0), Status::Done);
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn forgets_after_the_window_and_beyond_the_capacity() {
        let t0 = Instant::now();
        let window = Duration::from_secs(600);
        let mut seen = Seen::new(3, window);
        for (i, k) in ["a", "b", "c", "d"].into_iter().enumerate() {
            let at = t0 + Duration::from_secs(i as u64);
            assert_eq!(seen.begin(k, at), Status::New);
            seen.finish(k, true, at);
        }
        assert_eq!(seen.len(), 3);
        let t = t0 + Duration::from_secs(10);
        assert_eq!(seen.begin("a", t), Status::New, "evicted as the oldest");
        seen.finish("a", false, t);
        assert_eq!(seen.begin("b", t), Status::Done);
        // "b" was remembered at t0+1s: gone once 600 s have passed since.
        assert_eq!(seen.begin("b", t0 + Duration::from_secs(601)), Status::New);
        assert_eq!(seen.begin("d", t0 + Duration::from_secs(601)), Status::Done);
        assert_eq!(seen.begin("d", t0 + Duration::from_secs(603)), Status::New);
        assert!(seen.is_empty());

        let mut nothing = Seen::new(0, window);
        assert_eq!(nothing.begin("a", t0), Status::New);
        nothing.finish("a", true, t0);
        assert_eq!(nothing.begin("a", t0), Status::New);
    }
}
