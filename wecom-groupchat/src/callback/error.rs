//! The error of the callback crypto: what is wrong with a key, a signature, a ciphertext or an envelope.
//! No variant carries the token, the key or any decrypted text.

use crate::callback::xml::XmlError;

/// Why a callback could not be verified, decrypted or sealed, or why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The EncodingAESKey is not [`ENCODING_AES_KEY_CHARS`](crate::events::crypto::ENCODING_AES_KEY_CHARS)
    /// (43) characters long.
    #[error("EncodingAESKey must be {} characters, got {len}", crate::events::crypto::ENCODING_AES_KEY_CHARS)]
    KeyLength {
        /// The number of characters given.
        len: usize,
    },
    /// The EncodingAESKey has characters outside the base64 alphabet.
    #[error("EncodingAESKey is not base64")]
    KeyEncoding,
    /// `msg_signature` does not match the token, timestamp, nonce and encrypted text.
    #[error("signature does not match")]
    Signature,
    /// The encrypted text is not base64.
    #[error("encrypted text is not base64")]
    Base64,
    /// The ciphertext is empty or not a whole number of AES blocks.
    #[error("ciphertext of {len} bytes is not a non-zero multiple of 16")]
    CiphertextLength {
        /// Length of the decoded ciphertext.
        len: usize,
    },
    /// The PKCS#7 padding is not a value in 1..=32 repeated that many times.
    #[error("bad padding")]
    Padding,
    /// The message length field points outside the decrypted text, or the text is too short to hold it.
    #[error("message length out of bounds")]
    MessageLength,
    /// The receive id after the message is not this app's (corp id or suite id).
    #[error("receive id does not match")]
    ReceiveId,
    /// The decrypted message is not UTF-8.
    #[error("decrypted message is not UTF-8")]
    Utf8,
    /// The message to seal is longer than the 4-byte length field can say.
    #[error("message too long to encrypt")]
    TooLong,
    /// The envelope or the message is not acceptable XML.
    #[error("XML: {0}")]
    Xml(#[from] XmlError),
    /// The POST envelope is well-formed XML but has no `Encrypt` element, or more than one.
    #[error("envelope: {0}")]
    Envelope(&'static str),
}

impl CallbackError {
    /// Whether the request failed authentication (the signature), as opposed to being malformed.
    pub fn is_signature(&self) -> bool {
        matches!(self, CallbackError::Signature)
    }
}
