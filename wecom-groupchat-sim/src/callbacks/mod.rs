//! Callbacks: the simulator pushes `change_external_chat` events, signed and encrypted as WeCom does
//! (WXBizMsgCrypt, [`wecom_groupchat::callback::CallbackCrypto`]), to a configured callback URL, after the
//! changes the control paths under `/__sim/chats` play (what people do in the WeCom app) and, when asked,
//! after owner changes by API transfers.
//!
//! - [`config`]: [`CallbackTarget`] (URL, Token, EncodingAESKey, retries, timeout …) and
//!   [`CallbackFaults`] (duplicate, drop, delay, reorder).
//! - [`push`]: per-chat queues and their workers, the attempts.
//! - [`log`]: the log of attempts (`GET /__sim/callbacks`).

pub(crate) mod config;
pub(crate) mod log;
pub(crate) mod push;

pub use config::{
    CallbackFaults, CallbackTarget, DEFAULT_AGENT_ID, DEFAULT_CALLBACK_BACKOFF, DEFAULT_CALLBACK_CONCURRENCY,
    DEFAULT_CALLBACK_LOG_SIZE, DEFAULT_CALLBACK_QUEUE_CAP, DEFAULT_CALLBACK_RETRIES, DEFAULT_CALLBACK_TIMEOUT,
    MAX_CALLBACK_RETRIES, REORDER_WAIT,
};
pub use log::{AttemptOutcome, CallbackAttempt};
pub(crate) use push::Pusher;
