//! # wecom-groupchat-sync
//!
//! A local, queryable mirror of every customer group (客户群) of a WeCom corp and of their members, in
//! SQLite (a file, created on first use) or PostgreSQL (for fleets), kept by three means:
//!
//! - **Reconcile** ([`Mirror::reconcile`]): list every chat, queue them, `get` each within the client's
//!   rate budget, and store each chat with its member set in one transaction (members who left are
//!   removed). A chat is marked dismissed — never deleted — when an event or `get` says so, never merely
//!   because a listing missed it. A run interrupted by a crash resumes from the queue without fetching
//!   again what it stored.
//! - **Events** ([`Mirror::callback_handler`], [`Mirror::apply_event`]): each callback event is stored
//!   (a redelivery is recognised by its dedupe key) and applied in one transaction before it is
//!   acknowledged. Member versions save calls: a member change already in the rows costs nothing, a
//!   `del_member` that follows the stored version is applied from the event; a join, a rename, a notice
//!   or an owner change queues a `get`, and several events for one chat make one `get`.
//! - **Workers** ([`Mirror::serve`]): the queue is shared — several processes on one PostgreSQL take
//!   chats with `FOR UPDATE SKIP LOCKED` and leases, so no chat is fetched by two of them at once.
//!
//! The schema is a contract, described in the crate's README; it is created and upgraded by migrations
//! embedded in the binary.
//!
//! ```no_run
//! # async fn example(client: wecom_groupchat::Client) -> Result<(), wecom_groupchat_sync::SyncError> {
//! use wecom_groupchat_sync::{DbUrl, Mirror, Store, SyncOptions};
//!
//! let store = Store::open(&DbUrl::parse("sqlite://wecom-groupchat.db")?).await?;
//! let mirror = Mirror::new(store, client, SyncOptions::default())?;
//! let report = mirror.reconcile().await?;
//! println!("{} chats listed, {} fetched", report.run.listed, report.run.fetched);
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod db_url;
mod error;
mod mirror;
mod plan;
mod store;

pub use db_url::{Backend, DbUrl};
pub use error::SyncError;
pub use mirror::{Change, ChangeKind, EventOutcome, Mirror, MirrorHandler, Progress, RunReport, SyncOptions};
pub use store::{ChatRow, MemberRow, RunRow, Status, Store};

/// The README's examples compile (doc tests).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
