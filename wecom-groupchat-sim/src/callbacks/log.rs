//! The delivery log: one [`CallbackAttempt`] per attempt (and per dropped event), the last N kept.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// What became of one delivery attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// Answered 2xx in time: the event is delivered.
    Delivered,
    /// Failed (not 2xx, too slow, no connection); another attempt follows.
    Retrying,
    /// Failed, and it was the last attempt: the event is given up.
    GivenUp,
    /// Never sent: the `drop` fault.
    Dropped,
}

/// One attempt to deliver an event (the JSON of `GET /__sim/callbacks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallbackAttempt {
    /// Position in the log, from 1.
    pub seq: u64,
    /// When the attempt started, simulator clock, Unix milliseconds.
    pub time_ms: i64,
    /// The event's number, from 1, in the order events were queued (the same for its retries and its
    /// duplicate).
    pub event_id: u64,
    /// The event's number within its chat, from 1.
    pub chat_seq: u64,
    /// The chat.
    pub chat_id: String,
    /// The event's name (`change_external_chat`).
    pub event: String,
    /// `create`, `update` or `dismiss`.
    pub change_type: String,
    /// What changed, on updates: `add_member`, `del_member`, `change_owner`, `change_name`, `change_notice`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_detail: Option<String>,
    /// 1, or 2 for the second delivery of a duplicated event.
    pub copy: u32,
    /// 1 for the first attempt of a delivery, 2 for the first retry …; 0 for a dropped event.
    pub attempt: u32,
    /// The HTTP status answered, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why the attempt failed without a status (timeout, connection refused …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What became of it.
    pub outcome: AttemptOutcome,
    /// How long the attempt took, in milliseconds.
    pub ms: u64,
}

/// The last `capacity` attempts.
#[derive(Debug)]
pub(crate) struct Log {
    capacity: usize,
    next_seq: u64,
    entries: VecDeque<CallbackAttempt>,
}

impl Log {
    pub(crate) fn new(capacity: usize) -> Self {
        Log { capacity: capacity.max(1), next_seq: 1, entries: VecDeque::new() }
    }

    /// Adds an attempt, numbering it; forgets the oldest beyond the capacity.
    pub(crate) fn push(&mut self, mut attempt: CallbackAttempt) {
        attempt.seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(attempt);
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = &CallbackAttempt> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_last_entries() {
        let mut log = Log::new(2);
        let entry = CallbackAttempt {
            seq: 0,
            time_ms: 0,
            event_id: 1,
            chat_seq: 1,
            chat_id: "wr1".into(),
            event: "change_external_chat".into(),
            change_type: "create".into(),
            update_detail: None,
            copy: 1,
            attempt: 1,
            status: Some(200),
            error: None,
            outcome: AttemptOutcome::Delivered,
            ms: 1,
        };
        for _ in 0..3 {
            log.push(entry.clone());
        }
        assert_eq!(log.entries().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
    }
}
