//! Receiving WeCom callbacks: events such as `change_external_chat` that WeCom pushes to an app's callback
//! URL, signed and AES-encrypted (WXBizMsgCrypt).
//!
//! - [`CallbackCrypto`] ([`crypto`]): the signature and the encryption, both ways — verify and decrypt what
//!   WeCom sends, and seal messages the way WeCom does (for simulators and passive replies).
//! - [`xml`]: a strict little XML reader (no DTD, no entities beyond the predefined five, bounded depth
//!   and size) for the envelope and the decrypted message.

pub mod crypto;
mod error;
pub mod xml;

pub use crypto::{CallbackCrypto, Sealed};
pub use error::CallbackError;
pub use xml::{Element, XmlError};
