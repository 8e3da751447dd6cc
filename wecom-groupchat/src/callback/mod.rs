//! Receiving WeCom callbacks: events such as `change_external_chat` that WeCom pushes to an app's callback
//! URL, signed and AES-encrypted (WXBizMsgCrypt).
//!
//! - [`CallbackCrypto`] ([`crypto`]): the signature and the encryption, both ways — verify and decrypt what
//!   WeCom sends, and seal messages the way WeCom does (for simulators and passive replies).
//! - [`xml`]: a strict little XML reader (no DTD, no entities beyond the predefined five, bounded depth
//!   and size) for the envelope and the decrypted message.
//! - [`Receiver`] ([`receiver`]): a framework-agnostic HTTP core — `handle(method, query, body)` answers
//!   URL verification, verifies and decrypts events, drops redeliveries, and hands each new message to an
//!   async [`CallbackHandler`] or to a bounded channel. WeCom's redelivery is the retry mechanism: a
//!   message is acknowledged (200) only once the application has it.
//! - `axum` (feature `axum`): the receiver as an axum `Router`.
//!
//! - The typed events of [`crate::events`], which the generator makes from `api-spec/callbacks.yaml` and
//!   `api-spec/events/`: a [`CallbackMessage`] carries its message read as a
//!   [`CallbackEvent`](crate::events::CallbackEvent); an event without a type here is a [`RawEvent`].
//!
//! ```no_run
//! use wecom_groupchat::callback::{CallbackCrypto, CallbackMessage, Receiver, Reject};
//! use wecom_groupchat::events::Event;
//!
//! # fn example() -> Result<(), wecom_groupchat::callback::CallbackError> {
//! let crypto = CallbackCrypto::new("token", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "ww0123456789abcdef")?;
//! let receiver = Receiver::new(crypto, |msg: CallbackMessage| async move {
//!     if let Event::ChangeExternalChat(change) = &msg.event.event {
//!         println!("{} {}: {:?}", change.chat_id, change.change_type, change.update_detail);
//!     }
//!     Ok::<(), Reject>(())
//! });
//! // In any HTTP framework: let answer = receiver.handle("POST", query, &body).await;
//! # let _ = receiver;
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "axum")]
pub mod axum;
// The runtime of the generated events: not part of the API but for the types re-exported below.
#[doc(hidden)]
pub mod codec;
pub mod crypto;
pub mod dedupe;
mod error;
pub mod receiver;
pub mod xml;

pub use codec::{EventError, EventExample, RawEvent};
pub use crypto::{CallbackCrypto, Sealed};
pub use error::CallbackError;
pub use receiver::{CallbackHandler, CallbackMessage, CallbackResponse, Receiver, ReceiverBuilder, Reject};
pub use xml::{Element, XmlError};
