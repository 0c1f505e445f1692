//! X3DH on secp256k1 without one-time prekeys, exactly as status-go.
//!
//! ```text
//! initiator (Alice)                       responder (Bob)
//! DH1 = ECDH(IK_A, SPK_B)                 DH1 = ECDH(SPK_B, IK_A)
//! DH2 = ECDH(EK_A, IK_B)                  DH2 = ECDH(IK_B,  EK_A)
//! DH3 = ECDH(EK_A, SPK_B)                 DH3 = ECDH(SPK_B, EK_A)
//! SK  = Keccak-256(DH1 ‖ DH2 ‖ DH3)       // 32 bytes, the Double Ratchet's shared key
//! ```
//!
//! ECDH is the 32-byte x-coordinate, never hashed. There is no DH4, no HKDF and no
//! associated data. The initiator sends an [`X3dhHeader`]: its ephemeral public key and
//! the id (33-byte compressed encoding) of the signed prekey it used. The initiator's
//! identity is not in the message: the transport authenticates it.
//!
//! # Replays
//!
//! status-go repeats the X3DH header on every message of a session until the initiator
//! has received a reply, and the responder re-runs X3DH for each of them, which is
//! idempotent while the session exists. A message with an X3DH header **for which no
//! session exists** but whose [`InitialMessageId`] was seen before is a replay of an old
//! session start (for instance after that session was deleted or expired): the engine
//! must reject it instead of creating a session. So the engine, on receiving an X3DH
//! header: (1) looks for an existing session rooted in that header (same ephemeral and
//! SPK id) and continues it if found; (2) otherwise computes `InitialMessageId`, and
//! rejects the message if the store has it; (3) otherwise runs [`x3dh_respond`], and
//! once the first message decrypts, stores the id together with the new session (in the
//! same transaction). Ids are kept at least as long as the signed prekey they name
//! answers X3DH headers.

use pfs_crypto::hash::keccak256_concat;
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_crypto::{CryptoError, RandomSource, SecretBytes};
use pfs_wire::pb;

use crate::keys::{EphemeralKeyPair, IdentityKeyPair, SPK_ID_LEN};

/// Why an X3DH step failed.
///
/// ```
/// use pfs_crypto::{CryptoError, OsRandom, RandomSource};
/// use pfs_x3dh::{IdentityKeyPair, SignedPreKeyPair, X3dhError, X3dhHeader};
///
/// struct Dry;
/// impl RandomSource for Dry {
///     fn fill_bytes(&mut self, _: &mut [u8]) -> Result<(), CryptoError> {
///         Err(CryptoError::Randomness("no entropy".into()))
///     }
/// }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let alice = IdentityKeyPair::generate(&mut OsRandom)?;
/// let bob = IdentityKeyPair::generate(&mut OsRandom)?;
/// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
/// let dry = pfs_x3dh::x3dh_initiate(&alice, bob.public(), spk.public(), &mut Dry);
/// assert!(matches!(dry, Err(X3dhError::Randomness(_))));
/// let (_, header) =
///     pfs_x3dh::x3dh_initiate(&alice, bob.public(), spk.public(), &mut OsRandom)?;
/// // Bob no longer has the signed prekey the header names.
/// let gone = pfs_x3dh::x3dh_respond_to_header(&bob, alice.public(), &header, |_| None);
/// assert_eq!(gone, Err(X3dhError::UnknownSignedPreKey));
/// let mut wire = header.to_pb();
/// wire.id.truncate(20);
/// let short = X3dhHeader::from_pb(&wire);
/// assert_eq!(short, Err(X3dhError::InvalidSignedPreKeyId { len: 20 }));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum X3dhError {
    /// The header's ephemeral key is not a valid 33-byte compressed point.
    #[error("X3DH header key is not a valid compressed secp256k1 key ({len} bytes)")]
    InvalidEphemeralKey {
        /// Length of the field.
        len: usize,
    },
    /// The header's signed prekey id is not a valid 33-byte compressed key.
    #[error("X3DH header signed prekey id is not a valid compressed key ({len} bytes)")]
    InvalidSignedPreKeyId {
        /// Length of the field.
        len: usize,
    },
    /// The signed prekey named by the header is not one of ours (the caller's lookup
    /// failed; status-go answers "session not found").
    #[error("unknown signed prekey")]
    UnknownSignedPreKey,
    /// The randomness source failed.
    #[error("randomness source failed: {0}")]
    Randomness(CryptoError),
}

/// The X3DH header of an initial message.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::{IdentityKeyPair, SignedPreKeyPair};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let alice = IdentityKeyPair::generate(&mut OsRandom)?;
/// let bob = IdentityKeyPair::generate(&mut OsRandom)?;
/// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
/// let (sk_a, header) =
///     pfs_x3dh::x3dh_initiate(&alice, bob.public(), spk.public(), &mut OsRandom)?;
/// assert_eq!(header.spk_id, spk.id()); // which of Bob's prekeys was used
/// let find = |id: &[u8; 33]| (*id == spk.id()).then(|| spk.secret().clone());
/// let sk_b = pfs_x3dh::x3dh_respond_to_header(&bob, alice.public(), &header, find)?;
/// assert_eq!(sk_a, sk_b);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X3dhHeader {
    /// The initiator's ephemeral public key (`X3DHHeader.key`).
    pub ephemeral: PublicKey,
    /// The compressed encoding of the responder's signed prekey used (`X3DHHeader.id`).
    pub spk_id: [u8; SPK_ID_LEN],
}

impl X3dhHeader {
    /// The wire form.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::{EphemeralKeyPair, SignedPreKeyPair, X3dhHeader};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let header = X3dhHeader {
    ///     ephemeral: EphemeralKeyPair::generate(&mut OsRandom)?.public().clone(),
    ///     spk_id: SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?.id(),
    /// };
    /// let wire = header.to_pb();
    /// assert_eq!((wire.key.len(), wire.id.len()), (33, 33));
    /// assert_eq!(X3dhHeader::from_pb(&wire)?, header);
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_pb(&self) -> pb::X3dhHeader {
        pb::X3dhHeader {
            key: self.ephemeral.to_compressed().to_vec(),
            id: self.spk_id.to_vec(),
        }
    }

    /// Parses the wire form: the key must be a valid compressed point and the id a valid
    /// compressed key.
    ///
    /// ```
    /// use pfs_wire::pb;
    /// use pfs_x3dh::{X3dhError, X3dhHeader};
    /// let bad = pb::X3dhHeader {
    ///     key: vec![2; 32],
    ///     id: vec![],
    /// };
    /// assert_eq!(
    ///     X3dhHeader::from_pb(&bad),
    ///     Err(X3dhError::InvalidEphemeralKey { len: 32 })
    /// );
    /// ```
    pub fn from_pb(header: &pb::X3dhHeader) -> Result<Self, X3dhError> {
        let ephemeral = PublicKey::from_compressed(&header.key).map_err(|_| {
            X3dhError::InvalidEphemeralKey {
                len: header.key.len(),
            }
        })?;
        let spk = PublicKey::from_compressed(&header.id).map_err(|_| {
            X3dhError::InvalidSignedPreKeyId {
                len: header.id.len(),
            }
        })?;
        Ok(Self {
            ephemeral,
            spk_id: spk.to_compressed(),
        })
    }

    /// The replay-detection id of this header (see the module documentation).
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_x3dh::{IdentityKeyPair, SignedPreKeyPair, X3dhHeader};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let alice = IdentityKeyPair::generate(&mut OsRandom)?;
    /// let bob = IdentityKeyPair::generate(&mut OsRandom)?;
    /// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
    /// let (_, header) =
    ///     pfs_x3dh::x3dh_initiate(&alice, bob.public(), spk.public(), &mut OsRandom)?;
    /// // A replayed initial message carries the same header, hence the same id.
    /// let replayed = X3dhHeader::from_pb(&header.to_pb())?;
    /// assert_eq!(replayed.initial_message_id(), header.initial_message_id());
    /// # Ok(())
    /// # }
    /// ```
    pub fn initial_message_id(&self) -> InitialMessageId {
        InitialMessageId::new(&self.spk_id, &self.ephemeral)
    }
}

/// Identifies the session start an X3DH header belongs to:
/// `Keccak-256(spk_id ‖ compressed ephemeral)`. The store remembers these ids to detect
/// replayed initial messages (see the module documentation).
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::{EphemeralKeyPair, InitialMessageId, SignedPreKeyPair};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let spk_id = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?.id();
/// let e1 = EphemeralKeyPair::generate(&mut OsRandom)?;
/// let e2 = EphemeralKeyPair::generate(&mut OsRandom)?;
/// // Two session starts on the same prekey are told apart by their ephemeral keys.
/// let id1 = InitialMessageId::new(&spk_id, e1.public());
/// assert_ne!(id1, InitialMessageId::new(&spk_id, e2.public()));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InitialMessageId([u8; 32]);

impl InitialMessageId {
    /// Computes the id of a header's (SPK id, ephemeral) pair.
    ///
    /// ```
    /// use pfs_crypto::{OsRandom, hash::keccak256};
    /// use pfs_x3dh::{EphemeralKeyPair, InitialMessageId, SignedPreKeyPair, X3dhHeader};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk_id = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?.id();
    /// let ephemeral = EphemeralKeyPair::generate(&mut OsRandom)?.public().clone();
    /// let id = InitialMessageId::new(&spk_id, &ephemeral);
    /// assert_eq!(
    ///     id.as_bytes(),
    ///     &keccak256(&[&spk_id[..], ephemeral.as_compressed()].concat())
    /// );
    /// assert_eq!(X3dhHeader { ephemeral, spk_id }.initial_message_id(), id);
    /// assert_eq!(InitialMessageId::from_bytes(*id.as_bytes()), id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(spk_id: &[u8; SPK_ID_LEN], ephemeral: &PublicKey) -> Self {
        Self(keccak256_concat(&[spk_id, ephemeral.as_compressed()]))
    }

    /// Rebuilds an id from stored bytes.
    ///
    /// ```
    /// use pfs_x3dh::InitialMessageId;
    /// let stored = [7u8; 32];
    /// assert_eq!(InitialMessageId::from_bytes(stored).as_bytes(), &stored);
    /// assert!(InitialMessageId::from_bytes([1; 32]) < InitialMessageId::from_bytes([2; 32]));
    /// ```
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    ///
    /// ```
    /// use pfs_crypto::{OsRandom, hash::keccak256};
    /// use pfs_x3dh::{EphemeralKeyPair, InitialMessageId, SignedPreKeyPair};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk_id = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?.id();
    /// let e = EphemeralKeyPair::generate(&mut OsRandom)?;
    /// let id = InitialMessageId::new(&spk_id, e.public());
    /// // Keccak-256(spk_id ‖ compressed ephemeral), computed here by hand.
    /// let by_hand = keccak256(&[&spk_id[..], e.public().as_compressed()].concat());
    /// assert_eq!(id.as_bytes(), &by_hand);
    /// # Ok(())
    /// # }
    /// ```
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

fn combine(dh1: &SecretBytes<32>, dh2: &SecretBytes<32>, dh3: &SecretBytes<32>) -> SecretBytes<32> {
    SecretBytes::new(keccak256_concat(&[
        dh1.expose(),
        dh2.expose(),
        dh3.expose(),
    ]))
}

/// Initiator side with a given ephemeral (for replaying recorded runs). Returns SK and
/// the header to send.
///
/// ```
/// use pfs_crypto::hash::keccak256;
/// use pfs_crypto::secp256k1::SecretKey;
/// use pfs_x3dh::{EphemeralKeyPair, IdentityKeyPair};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let ik_a = IdentityKeyPair::from_bytes(&[1; 32])?;
/// let ik_b = IdentityKeyPair::from_bytes(&[2; 32])?;
/// let spk_b = SecretKey::from_bytes(&[3; 32])?;
/// let ek_a = EphemeralKeyPair::from_secret(SecretKey::from_bytes(&[4; 32])?);
/// let (sk, header) =
///     pfs_x3dh::x3dh_initiate_with_ephemeral(&ik_a, ik_b.public(), &spk_b.public_key(), &ek_a);
/// // SK = Keccak-256(DH(IK_A, SPK_B) ‖ DH(EK_A, IK_B) ‖ DH(EK_A, SPK_B)), by hand:
/// let dh1 = ik_a.secret().diffie_hellman(&spk_b.public_key());
/// let dh2 = ek_a.secret().diffie_hellman(ik_b.public());
/// let dh3 = ek_a.secret().diffie_hellman(&spk_b.public_key());
/// let by_hand = keccak256(&[&dh1.expose()[..], &dh2.expose()[..], &dh3.expose()[..]].concat());
/// assert_eq!(sk.expose(), &by_hand);
/// assert_eq!(
///     (&header.ephemeral, header.spk_id),
///     (ek_a.public(), spk_b.public_key().to_compressed())
/// );
/// # Ok(())
/// # }
/// ```
pub fn x3dh_initiate_with_ephemeral(
    our_identity: &IdentityKeyPair,
    their_identity: &PublicKey,
    their_spk: &PublicKey,
    ephemeral: &EphemeralKeyPair,
) -> (SecretBytes<32>, X3dhHeader) {
    let dh1 = our_identity.secret().diffie_hellman(their_spk);
    let dh2 = ephemeral.secret().diffie_hellman(their_identity);
    let dh3 = ephemeral.secret().diffie_hellman(their_spk);
    let sk = combine(&dh1, &dh2, &dh3);
    let header = X3dhHeader {
        ephemeral: ephemeral.public().clone(),
        spk_id: their_spk.to_compressed(),
    };
    (sk, header)
}

/// Initiator side: the ephemeral is the **first** key drawn from `rng`
/// (`secp256k1_secret`). Returns SK and the header to send.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::{IdentityKeyPair, SignedPreKeyPair};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (alice, bob) = (
///     IdentityKeyPair::generate(&mut OsRandom)?,
///     IdentityKeyPair::generate(&mut OsRandom)?,
/// );
/// let bob_spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
/// let (sk1, h1) = pfs_x3dh::x3dh_initiate(&alice, bob.public(), bob_spk.public(), &mut OsRandom)?;
/// let (sk2, h2) = pfs_x3dh::x3dh_initiate(&alice, bob.public(), bob_spk.public(), &mut OsRandom)?;
/// // A fresh ephemeral each time: a different key and a different replay id.
/// assert_ne!(sk1, sk2);
/// assert_ne!(h1.initial_message_id(), h2.initial_message_id());
/// assert_eq!(h1.spk_id, bob_spk.id());
/// # Ok(())
/// # }
/// ```
pub fn x3dh_initiate(
    our_identity: &IdentityKeyPair,
    their_identity: &PublicKey,
    their_spk: &PublicKey,
    rng: &mut dyn RandomSource,
) -> Result<(SecretBytes<32>, X3dhHeader), X3dhError> {
    let ephemeral = EphemeralKeyPair::generate(rng).map_err(X3dhError::Randomness)?;
    Ok(x3dh_initiate_with_ephemeral(
        our_identity,
        their_identity,
        their_spk,
        &ephemeral,
    ))
}

/// Responder side: `our_spk` is the secret of the signed prekey named by the header's id
/// (looked up by the caller), `their_identity` the transport-authenticated sender.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::{IdentityKeyPair, SignedPreKeyPair};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (alice, bob) = (
///     IdentityKeyPair::generate(&mut OsRandom)?,
///     IdentityKeyPair::generate(&mut OsRandom)?,
/// );
/// let bob_spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
/// let (alice_sk, header) =
///     pfs_x3dh::x3dh_initiate(&alice, bob.public(), bob_spk.public(), &mut OsRandom)?;
/// let bob_sk = pfs_x3dh::x3dh_respond(&bob, bob_spk.secret(), alice.public(), &header.ephemeral);
/// assert_eq!(bob_sk, alice_sk);
/// // Another claimed sender gets another key.
/// let mallory = IdentityKeyPair::generate(&mut OsRandom)?;
/// assert_ne!(
///     pfs_x3dh::x3dh_respond(&bob, bob_spk.secret(), mallory.public(), &header.ephemeral),
///     alice_sk
/// );
/// # Ok(())
/// # }
/// ```
pub fn x3dh_respond(
    our_identity: &IdentityKeyPair,
    our_spk: &SecretKey,
    their_identity: &PublicKey,
    header_ephemeral: &PublicKey,
) -> SecretBytes<32> {
    let dh1 = our_spk.diffie_hellman(their_identity);
    let dh2 = our_identity.secret().diffie_hellman(header_ephemeral);
    let dh3 = our_spk.diffie_hellman(header_ephemeral);
    combine(&dh1, &dh2, &dh3)
}

/// Responder side from a received header: `find_spk` looks up the secret of our signed
/// prekey whose compressed encoding is `header.spk_id` (status-go `GetPrivateKeyBundle`);
/// `None` gives [`X3dhError::UnknownSignedPreKey`].
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::{IdentityKeyPair, SignedPreKeyPair, X3dhError};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (alice, bob) = (
///     IdentityKeyPair::generate(&mut OsRandom)?,
///     IdentityKeyPair::generate(&mut OsRandom)?,
/// );
/// let old_spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
/// let (_, header) =
///     pfs_x3dh::x3dh_initiate(&alice, bob.public(), old_spk.public(), &mut OsRandom)?;
/// // Bob has since dropped that prekey: the lookup finds nothing.
/// let refused = pfs_x3dh::x3dh_respond_to_header(&bob, alice.public(), &header, |_| None);
/// assert_eq!(refused, Err(X3dhError::UnknownSignedPreKey));
/// # Ok(())
/// # }
/// ```
pub fn x3dh_respond_to_header(
    our_identity: &IdentityKeyPair,
    their_identity: &PublicKey,
    header: &X3dhHeader,
    find_spk: impl FnOnce(&[u8; SPK_ID_LEN]) -> Option<SecretKey>,
) -> Result<SecretBytes<32>, X3dhError> {
    let spk = find_spk(&header.spk_id).ok_or(X3dhError::UnknownSignedPreKey)?;
    Ok(x3dh_respond(
        our_identity,
        &spk,
        their_identity,
        &header.ephemeral,
    ))
}
