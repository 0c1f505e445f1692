//! The signed wrapper `ApplicationMetadataMessage` (status-go `v1/message.go`
//! `WrapMessageV1` and `StatusMessage.HandleApplicationLayer`).
//!
//! ```text
//! ApplicationMetadataMessage { signature = 1: R‖S‖V (65 B, V ∈ {0,1}) of keccak256(payload),
//!                              payload = 2, type = 3 }
//! message id = keccak256(uncompressed sender key (65 B) ‖ wrapper bytes as received)
//! ```

use pfs_crypto::hash::{keccak256, keccak256_concat};
use pfs_crypto::secp256k1::{PublicKey, RecoverableSignature, SecretKey};
use pfs_wire::app::ApplicationMetadataMessage;
use prost::Message;

use crate::{MAX_MESSAGE_SIZE, MessageKind};

/// Why a message could not be wrapped.
///
/// ```
/// use pfs_app::{MAX_MESSAGE_SIZE, MessageKind, WrapError};
/// use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = SecretKey::from_bytes(&[1; 32])?;
/// let too_big = vec![0; MAX_MESSAGE_SIZE + 1];
/// assert_eq!(
///     pfs_app::wrap(&too_big, MessageKind::ChatMessage, &key),
///     Err(WrapError::TooLarge(MAX_MESSAGE_SIZE + 1))
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WrapError {
    /// The payload is larger than [`MAX_MESSAGE_SIZE`].
    #[error("payload of {0} bytes is too large to wrap")]
    TooLarge(usize),
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(String),
}

/// Why received bytes are not a valid signed wrapper from the expected sender.
///
/// A caller feeding received bytes gets the reason:
///
/// ```
/// use pfs_app::{MessageKind, UnwrapError};
/// use pfs_crypto::secp256k1::SecretKey;
/// use pfs_wire::{Message, app::ApplicationMetadataMessage};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (alice, mallory) = (SecretKey::from_bytes(&[1; 32])?, SecretKey::from_bytes(&[2; 32])?);
/// let bytes = pfs_app::wrap(b"hello", MessageKind::ChatMessage, &mallory)?;
/// // Signed by another key than the sender the transport authenticated.
/// let from_alice = pfs_app::unwrap(&bytes, &alice.public_key());
/// let Err(UnwrapError::WrongSigner { signer }) = from_alice else {
///     panic!("wrong signer")
/// };
/// assert_eq!(*signer, mallory.public_key());
/// // Truncated: no longer a protobuf.
/// assert!(matches!(
///     pfs_app::unwrap(&bytes[..bytes.len() - 1], &mallory.public_key()),
///     Err(UnwrapError::Malformed(_))
/// ));
/// // Unsigned (a legacy message): no 65-byte signature.
/// let mut m = ApplicationMetadataMessage::decode(&bytes[..])?;
/// m.signature.clear();
/// assert_eq!(
///     pfs_app::unwrap(&m.encode_to_vec(), &mallory.public_key()),
///     Err(UnwrapError::BadSignatureLength(0))
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnwrapError {
    /// The input is larger than [`MAX_MESSAGE_SIZE`].
    #[error("wrapper of {0} bytes exceeds the maximum")]
    TooLarge(usize),
    /// Not a protobuf `ApplicationMetadataMessage`.
    #[error("malformed ApplicationMetadataMessage: {0}")]
    Malformed(String),
    /// The signature is not 65 bytes (an unsigned or legacy message included).
    #[error("signature of {0} bytes, expected 65")]
    BadSignatureLength(usize),
    /// No public key can be recovered from the signature.
    #[error("invalid signature")]
    BadSignature,
    /// The signature is valid but made by another key than the sender the transport
    /// authenticated.
    #[error("wrapper signed by another key than the authenticated sender")]
    WrongSigner {
        /// The key recovered from the signature.
        signer: Box<PublicKey>,
    },
}

/// A verified wrapper.
///
/// ```
/// use pfs_app::{MessageKind, wrapper};
/// use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let alice = SecretKey::from_bytes(&[1; 32])?;
/// let bytes = pfs_app::wrap(b"payload", MessageKind::ChatMessage, &alice)?;
/// let u = pfs_app::unwrap(&bytes, &alice.public_key())?;
/// assert_eq!(u.payload, b"payload");
/// assert_eq!(u.type_number, MessageKind::ChatMessage as i32);
/// assert_eq!(u.signer, alice.public_key());
/// assert_eq!(u.id, wrapper::message_id(&alice.public_key(), &bytes));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped {
    /// The message type, as its number (unknown numbers are kept; see [`Unwrapped::kind`]).
    pub type_number: i32,
    /// The inner application message.
    pub payload: Vec<u8>,
    /// The signer (equal to the expected sender).
    pub signer: PublicKey,
    /// status-go's message id: keccak256(uncompressed signer ‖ wrapper bytes).
    pub id: [u8; 32],
}

impl Unwrapped {
    /// The message type, if this crate knows its number.
    ///
    /// ```
    /// use pfs_app::{MessageKind, Unwrapped};
    /// use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let signer = SecretKey::from_bytes(&[1; 32])?.public_key();
    /// let u = |type_number| Unwrapped {
    ///     type_number,
    ///     payload: vec![],
    ///     signer: signer.clone(),
    ///     id: [0; 32],
    /// };
    /// assert_eq!(u(1).kind(), Some(MessageKind::ChatMessage));
    /// assert_eq!(u(9999).kind(), None); // kept as a number, reported, not an error
    /// # Ok(())
    /// # }
    /// ```
    pub fn kind(&self) -> Option<MessageKind> {
        MessageKind::try_from(self.type_number).ok()
    }
}

/// status-go's message id of a wrapper: keccak256(uncompressed sender key ‖ wrapper bytes).
///
/// ```
/// use pfs_app::{MessageKind, wrapper};
/// use pfs_crypto::{hash::keccak256, secp256k1::SecretKey};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let alice = SecretKey::from_bytes(&[1; 32])?;
/// let bytes = wrapper::wrap(b"payload", MessageKind::ChatMessage, &alice)?;
/// let by_hand = keccak256(&[&alice.public_key().to_uncompressed()[..], &bytes].concat());
/// assert_eq!(wrapper::message_id(&alice.public_key(), &bytes), by_hand);
/// assert_eq!(pfs_app::unwrap(&bytes, &alice.public_key())?.id, by_hand);
/// # Ok(())
/// # }
/// ```
pub fn message_id(sender: &PublicKey, wrapper_bytes: &[u8]) -> [u8; 32] {
    keccak256_concat(&[&sender.to_uncompressed(), wrapper_bytes])
}

/// Signs `payload` with `signer` and encodes the wrapper of type `kind`.
///
/// ```
/// use pfs_app::{MAX_MESSAGE_SIZE, MessageKind, WrapError};
/// use pfs_crypto::{hash::keccak256, secp256k1::SecretKey};
/// use pfs_wire::{Message, app::ApplicationMetadataMessage};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let alice = SecretKey::from_bytes(&[1; 32])?;
/// let bytes = pfs_app::wrap(b"hello", MessageKind::ChatMessage, &alice)?;
/// // The layout: signature 1 (R‖S‖V of keccak256(payload)), payload 2, type 3.
/// let m = ApplicationMetadataMessage::decode(&bytes[..])?;
/// assert_eq!(
///     (m.payload.as_slice(), m.r#type),
///     (&b"hello"[..], MessageKind::ChatMessage as i32)
/// );
/// let sig = alice.sign_prehash_recoverable(&keccak256(b"hello"))?;
/// assert_eq!(m.signature, sig.to_bytes()); // RFC 6979: deterministic
///
/// let too_big = vec![0; MAX_MESSAGE_SIZE + 1];
/// let refused = pfs_app::wrap(&too_big, MessageKind::ChatMessage, &alice);
/// assert_eq!(refused, Err(WrapError::TooLarge(MAX_MESSAGE_SIZE + 1)));
/// # Ok(())
/// # }
/// ```
pub fn wrap(payload: &[u8], kind: MessageKind, signer: &SecretKey) -> Result<Vec<u8>, WrapError> {
    if payload.len() > MAX_MESSAGE_SIZE {
        return Err(WrapError::TooLarge(payload.len()));
    }
    let sig = signer
        .sign_prehash_recoverable(&keccak256(payload))
        .map_err(|e| WrapError::Sign(e.to_string()))?;
    let msg = ApplicationMetadataMessage {
        signature: sig.to_bytes().to_vec(),
        payload: payload.to_vec(),
        r#type: kind as i32,
    };
    Ok(msg.encode_to_vec())
}

/// Decodes a wrapper without checking who signed it: the signer is recovered and returned.
///
/// ```
/// use pfs_app::{MessageKind, UnwrapError, wrapper};
/// use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let bob = SecretKey::from_bytes(&[2; 32])?;
/// let bytes = pfs_app::wrap(b"hi", MessageKind::ContactUpdate, &bob)?;
/// let u = wrapper::unwrap_any(&bytes)?;
/// assert_eq!(u.signer, bob.public_key());
/// assert_eq!(u.kind(), Some(MessageKind::ContactUpdate));
/// // A wrapper without a signature (field 2 only).
/// let unsigned = [0x12, 2, b'h', b'i'];
/// assert_eq!(
///     wrapper::unwrap_any(&unsigned),
///     Err(UnwrapError::BadSignatureLength(0))
/// );
/// # Ok(())
/// # }
/// ```
pub fn unwrap_any(bytes: &[u8]) -> Result<Unwrapped, UnwrapError> {
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Err(UnwrapError::TooLarge(bytes.len()));
    }
    let msg = ApplicationMetadataMessage::decode(bytes)
        .map_err(|e| UnwrapError::Malformed(e.to_string()))?;
    let sig = RecoverableSignature::from_bytes(&msg.signature)
        .map_err(|_| UnwrapError::BadSignatureLength(msg.signature.len()))?;
    let signer = sig
        .recover(&keccak256(&msg.payload))
        .map_err(|_| UnwrapError::BadSignature)?;
    let id = message_id(&signer, bytes);
    Ok(Unwrapped {
        type_number: msg.r#type,
        payload: msg.payload,
        signer,
        id,
    })
}

/// Decodes and verifies a wrapper received from `expected_sender` (the identity the
/// transport authenticated). A valid signature by any other key is
/// [`UnwrapError::WrongSigner`].
///
/// ```
/// use pfs_app::{MessageKind, UnwrapError};
/// use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (alice, mallory) = (
///     SecretKey::from_bytes(&[1; 32])?,
///     SecretKey::from_bytes(&[3; 32])?,
/// );
/// let bytes = pfs_app::wrap(b"hello", MessageKind::ChatMessage, &alice)?;
/// assert_eq!(
///     pfs_app::unwrap(&bytes, &alice.public_key())?.payload,
///     b"hello"
/// );
///
/// // Signed by another key than the one the transport authenticated.
/// let forged = pfs_app::wrap(b"hello", MessageKind::ChatMessage, &mallory)?;
/// let refused = pfs_app::unwrap(&forged, &alice.public_key());
/// let Err(UnwrapError::WrongSigner { signer }) = refused else {
///     panic!("wrong signer")
/// };
/// assert_eq!(*signer, mallory.public_key());
/// // A changed payload no longer matches the signature.
/// let mut tampered = bytes.clone();
/// let last = tampered.len() - 3; // inside "hello"
/// tampered[last] ^= 1;
/// assert!(pfs_app::unwrap(&tampered, &alice.public_key()).is_err());
/// # Ok(())
/// # }
/// ```
pub fn unwrap(bytes: &[u8], expected_sender: &PublicKey) -> Result<Unwrapped, UnwrapError> {
    let u = unwrap_any(bytes)?;
    if &u.signer != expected_sender {
        return Err(UnwrapError::WrongSigner {
            signer: Box::new(u.signer),
        });
    }
    Ok(u)
}
