//! # wecom-groupchat-sim
//!
//! A stateful fake of the WeCom (企业微信) customer group chat (客户群) server API, for tests, demos
//! and CI: nobody can test against the real WeCom without a real company, resigned staff and real
//! customer groups.
//!
//! - **Faithful**: requests are decoded into the generated request types of [`wecom_groupchat`] and
//!   checked by their generated validation, and answers are the generated response types, so the
//!   simulator cannot drift from the spec. Documented rules answer documented errcodes (see the README).
//! - **Any client**: it speaks WeCom's wire format (`GET /cgi-bin/gettoken`, `POST` JSON with
//!   `?access_token=`), not only this project's client.
//! - **Deterministic**: one seed drives the data, ids, tokens and fault decisions.
//! - **Controllable**: counters, token invalidation, faults and rate limits from code ([`Simulator`])
//!   or over HTTP under `/__sim/` ([`control`](crate#control-paths)).
//! - **Callbacks**: with a [`CallbackTarget`], what people do in the WeCom app (played on control paths)
//!   pushes signed, encrypted `change_external_chat` events to a callback URL — in order per chat, retried,
//!   logged, with delivery faults on demand ([`CallbackFaults`]).
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use wecom_groupchat::types::TransferRequest;
//! use wecom_groupchat_sim::{SimConfig, Simulator};
//!
//! let sim = Simulator::start(SimConfig::default()).await?;
//! let hints = sim.hints();
//! let resigned = &hints.resigned_owners[0];
//! let client = sim.client_builder().build()?;
//! let request = TransferRequest::new(resigned.chat_ids.iter().take(3), &hints.eligible_new_owners[0]);
//! let response = client.transfer(&request).await?;
//! assert!(response.failed_chat_list.unwrap_or_default().is_empty());
//! # Ok(())
//! # }
//! ```
//!
//! ## Control paths
//!
//! See the README, or the table in the source of `control.rs`: `GET /__sim/stats`,
//! `POST /__sim/invalidate-tokens`, `GET|POST /__sim/faults`, `POST /__sim/faults/next`,
//! `POST /__sim/settle-transfers`, `POST /__sim/staff/{userid}/resign`, `GET /__sim/hints`,
//! `POST /__sim/token-ttl`, `POST /__sim/stats/reset`, `GET|POST /__sim/clock`, `GET /__sim/health`;
//! what people do in the app: `POST /__sim/chats` (create), `POST /__sim/chats/{chat_id}/join`, `/quit`,
//! `/rename`, `/notice`, `/owner`, `/dismiss`; the deliveries: `GET /__sim/callbacks[?wait=MS]`,
//! `GET|POST /__sim/callbacks/faults`.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod answer;
mod args;
mod auth;
mod callbacks;
mod clock;
mod company;
mod config;
mod control;
mod counters;
mod error;
mod faults;
mod handlers;
mod lock;
mod server;
mod simulator;

pub use args::{SimArgs, run_foreground};
pub use callbacks::{
    AttemptOutcome, CallbackAttempt, CallbackFaults, CallbackTarget, DEFAULT_AGENT_ID, DEFAULT_CALLBACK_BACKOFF,
    DEFAULT_CALLBACK_CONCURRENCY, DEFAULT_CALLBACK_LOG_SIZE, DEFAULT_CALLBACK_QUEUE_CAP, DEFAULT_CALLBACK_RETRIES,
    DEFAULT_CALLBACK_TIMEOUT, MAX_CALLBACK_RETRIES, REORDER_WAIT,
};
pub use clock::MAX_CLOCK_OFFSET_SECS;
pub use company::{
    ChatData, CompanyData, Hints, OpengidHint, OwnerChats, STAT_DAYS, StaffData, StatisticDay, StatisticsData,
};
pub use config::{DEFAULT_CORP_ID, DEFAULT_CORP_SECRET, DEFAULT_SEED, DataSource, Scale, SimConfig};
pub use counters::{GETTOKEN, Stats};
pub use error::SimError;
pub use faults::{
    DEFAULT_OVERSIZE_BYTES, FaultKind, Faults, MAX_OVERSIZE_BYTES, RateLimitRule, ScriptedFault, endpoint_names,
};
pub use simulator::Simulator;
