//! The ratchet state machine: session creation, encryption, atomic decryption and the
//! versioned binary encoding of a state.

use crate::keys::{ChainKey, DhKeyPair, HexBytes, MessageKey, RootKey};
use crate::skipped::{
    ConfirmMode, Decrypted, Limits, NewSkippedKey, Receipt, SkippedKeyChanges, SkippedKeys,
};
use crate::suite::{Suite, SuiteId, spec_initial, suite};
use crate::{DecryptError, RatchetError, StateDecodeError};
use core::fmt;
use pfs_crypto::{RandomSource, SecretBytes, SecretVec};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The version byte of [`RatchetState::to_bytes`].
pub const STATE_FORMAT_VERSION: u8 = 1;

/// Upper bound of a serialized state body (the largest is about 250 bytes).
const MAX_STATE_LEN: usize = 512;

/// A Double Ratchet message header.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sk = SecretBytes::new([6; 32]); // from X3DH
/// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
/// let bob = RatchetState::new_spec_responder(&sk)?;
/// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
/// let (h0, c0) = alice.encrypt(b"one", b"")?;
/// let (h1, _) = alice.encrypt(b"two", b"")?;
/// assert_eq!((h0.n, h1.n, h0.pn), (0, 1, 0));
/// assert_eq!(h0.key.len(), 32); // an X25519 ratchet key
/// let d = bob.decrypt(&(), &h0, &c0, b"", &mut OsRandom, &limits, mode)?;
/// // Bob's reply starts a new chain under a new key, and tells how long Alice's was.
/// let mut bob = d.state;
/// let (reply, _) = bob.encrypt(b"three", b"")?;
/// assert_ne!(reply.key, h0.key);
/// assert_eq!((reply.n, reply.pn), (0, 0));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Header {
    /// The sender's ratchet public key, as on the wire (33 or 32 bytes).
    pub key: Vec<u8>,
    /// The message number in the sending chain.
    pub n: u32,
    /// The length of the sender's previous sending chain.
    pub pn: u32,
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("key", &HexBytes(&self.key))
            .field("n", &self.n)
            .field("pn", &self.pn)
            .finish()
    }
}

/// Everything an encryption produced, for callers (and vector verifiers) that need the
/// message key and associated data as well.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sk = SecretBytes::new([6; 32]); // from X3DH
/// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
/// let bob = RatchetState::new_spec_responder(&sk)?;
/// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
/// let e = alice.encrypt_detailed(b"hello", b"prefix")?;
/// // `iv ‖ ct ‖ tag`: 16 + 5 + 32 bytes.
/// assert_eq!(e.ciphertext.len(), 16 + 5 + 32);
/// assert!(e.associated_data.starts_with(b"prefix"));
/// assert!(e.associated_data.ends_with(&e.header.key));
/// let d = bob.decrypt(&(), &e.header, &e.ciphertext, b"prefix", &mut OsRandom, &limits, mode)?;
/// assert_eq!(d.message_key, e.message_key);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Encrypted {
    /// The header to send.
    pub header: Header,
    /// The AEAD output (`iv ‖ ct ‖ tag`).
    pub ciphertext: Vec<u8>,
    /// The message key used.
    pub message_key: MessageKey,
    /// The associated data used: `ad_prefix ‖ LE32(n) ‖ LE32(pn) ‖ key`.
    pub associated_data: Vec<u8>,
}

/// One session's Double Ratchet state (the status-go session row).
///
/// `Clone` copies secrets; every copy is zeroized on drop.
///
/// The counters after a short exchange:
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sk = SecretBytes::new([6; 32]);
/// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
/// let bob = RatchetState::new_spec_responder(&sk)?;
/// alice.encrypt(b"1", b"")?;
/// let (h, c) = alice.encrypt(b"2", b"")?; // message 0 is lost
/// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
/// let d = bob.decrypt(&(), &h, &c, b"", &mut OsRandom, &limits, mode)?;
/// assert_eq!((alice.send_chain_n(), d.state.recv_chain_n()), (2, 2));
/// assert_eq!(d.state.dhr(), alice.dhs_public());
/// // One key kept for message 0.
/// assert_eq!((d.changes.insert.len(), d.state.keys_count()), (1, 2));
/// # Ok(())
/// # }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RatchetState {
    suite: SuiteId,
    dhs: Option<DhKeyPair>,
    dhr: Option<Vec<u8>>,
    root: RootKey,
    send: Option<ChainKey>,
    send_n: u32,
    recv: Option<ChainKey>,
    recv_n: u32,
    pn: u32,
    keys_count: u64,
}

impl fmt::Debug for RatchetState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RatchetState")
            .field("suite", &self.suite)
            .field(
                "dhs_public",
                &self.dhs.as_ref().map(|k| HexBytes(&k.public)),
            )
            .field("dhr", &self.dhr.as_deref().map(HexBytes))
            .field("send_chain_n", &self.send_n)
            .field("recv_chain_n", &self.recv_n)
            .field("pn", &self.pn)
            .field("keys_count", &self.keys_count)
            .finish_non_exhaustive()
    }
}

fn check_sk(sk: &SecretBytes<32>) -> Result<(), RatchetError> {
    if sk.is_zero() {
        Err(RatchetError::ZeroSharedSecret)
    } else {
        Ok(())
    }
}

/// The checks of status-go's `skipMessageKeys`, done before any key is derived.
fn check_skip(recv_n: u32, until: u32, limits: &Limits) -> Result<(), DecryptError> {
    if until < recv_n {
        return Err(DecryptError::DuplicateOrEvicted {
            n: until,
            recv_chain_n: recv_n,
        });
    }
    if u64::from(recv_n) + u64::from(limits.max_skip) < u64::from(until) {
        return Err(DecryptError::TooManySkipped {
            recv_chain_n: recv_n,
            until,
            max_skip: limits.max_skip,
        });
    }
    Ok(())
}

impl RatchetState {
    // ----- construction -------------------------------------------------------------

    /// status-go passive side (Bob, `dr.New(id, sk, spk)`): DHs = the signed prekey pair,
    /// no DHr, root = sending = receiving chain key = SK, all counters 0.
    ///
    /// ```
    /// use pfs_ratchet::{DhKeyPair, RatchetError, RatchetState, SecretBytes};
    /// # use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let spk = SecretKey::generate(&mut OsRandom)?;
    /// # let public = spk.public_key().to_compressed().to_vec();
    /// # let spk = DhKeyPair { secret: spk.to_bytes(), public };
    /// let sk = SecretBytes::new([7; 32]);
    /// let bob = RatchetState::new_status_go_responder(&sk, spk.clone())?;
    /// assert_eq!(bob.dhs_public(), Some(&spk.public[..]));
    /// assert_eq!(
    ///     (bob.dhr(), bob.send_chain_n(), bob.recv_chain_n()),
    ///     (None, 0, 0)
    /// );
    /// assert_eq!(bob.root_chain_key().expose(), sk.expose());
    ///
    /// let zero = RatchetState::new_status_go_responder(&SecretBytes::zero(), spk);
    /// assert_eq!(zero.err(), Some(RatchetError::ZeroSharedSecret));
    /// # Ok(())
    /// # }
    /// ```
    pub fn new_status_go_responder(
        sk: &SecretBytes<32>,
        spk_keypair: DhKeyPair,
    ) -> Result<Self, RatchetError> {
        check_sk(sk)?;
        let s = suite(SuiteId::StatusGo);
        if spk_keypair.public.len() != s.public_key_len() {
            return Err(RatchetError::InvalidKeyLength {
                suite: SuiteId::StatusGo,
                expected: s.public_key_len(),
                actual: spk_keypair.public.len(),
            });
        }
        Ok(Self {
            suite: SuiteId::StatusGo,
            dhs: Some(spk_keypair),
            dhr: None,
            root: RootKey::new(sk.clone()),
            send: Some(ChainKey::new(sk.clone())),
            send_n: 0,
            recv: Some(ChainKey::new(sk.clone())),
            recv_n: 0,
            pn: 0,
            keys_count: 0,
        })
    }

    /// status-go active side (Alice, `dr.NewWithRemoteKey(id, sk, spk)`): DHs = a new key
    /// (consumes one key from `rng`), DHr = SPK_B, receiving chain = SK,
    /// (root, sending chain) = `KDF_RK(SK, DH(DHs, SPK_B))`, all counters 0.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{RatchetError, RatchetState, SecretBytes, SuiteId};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([7; 32]);
    /// let spk = pfs_crypto::secp256k1::SecretKey::generate(&mut OsRandom)?.public_key();
    /// let alice = RatchetState::new_status_go_initiator(&sk, spk.as_compressed(), &mut OsRandom)?;
    /// assert_eq!(alice.dhr(), Some(&spk.as_compressed()[..]));
    /// assert!(alice.can_send());
    ///
    /// // A 32-byte (X25519-sized) key is not a status-go ratchet key.
    /// let wrong = RatchetState::new_status_go_initiator(&sk, &[9; 32], &mut OsRandom);
    /// assert_eq!(
    ///     wrong.err(),
    ///     Some(RatchetError::InvalidKeyLength {
    ///         suite: SuiteId::StatusGo,
    ///         expected: 33,
    ///         actual: 32
    ///     })
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn new_status_go_initiator(
        sk: &SecretBytes<32>,
        their_spk: &[u8],
        rng: &mut dyn RandomSource,
    ) -> Result<Self, RatchetError> {
        Ok(Self::new_status_go_initiator_detailed(sk, their_spk, rng)?.0)
    }

    /// [`Self::new_status_go_initiator`], also returning the initial DH output
    /// (`session_init.dh_out` of the vectors).
    ///
    /// ```
    /// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// use pfs_ratchet::{RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk = SecretKey::generate(&mut OsRandom)?;
    /// let sk = SecretBytes::new([7; 32]);
    /// let (alice, dh_out) = RatchetState::new_status_go_initiator_detailed(
    ///     &sk,
    ///     spk.public_key().as_compressed(),
    ///     &mut OsRandom,
    /// )?;
    /// // The DH output is ECDH(DHs, SPK_B), which Bob gets from his side.
    /// let dhs = alice.dhs_public().ok_or("no DHs")?;
    /// let from_bob = spk.diffie_hellman(&pfs_crypto::secp256k1::PublicKey::from_compressed(dhs)?);
    /// assert_eq!(dh_out, from_bob);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new_status_go_initiator_detailed(
        sk: &SecretBytes<32>,
        their_spk: &[u8],
        rng: &mut dyn RandomSource,
    ) -> Result<(Self, SecretBytes<32>), RatchetError> {
        check_sk(sk)?;
        let s = suite(SuiteId::StatusGo);
        if their_spk.len() != s.public_key_len() {
            return Err(RatchetError::InvalidKeyLength {
                suite: SuiteId::StatusGo,
                expected: s.public_key_len(),
                actual: their_spk.len(),
            });
        }
        let dhs = s.generate_keypair(rng)?;
        let dh_out = s.dh(&dhs, their_spk)?;
        let (root, send, _) = s.kdf_rk(&RootKey::new(sk.clone()), &dh_out)?;
        Ok((
            Self {
                suite: SuiteId::StatusGo,
                dhs: Some(dhs),
                dhr: Some(their_spk.to_vec()),
                root,
                send: Some(send),
                send_n: 0,
                recv: Some(ChainKey::new(sk.clone())),
                recv_n: 0,
                pn: 0,
                keys_count: 0,
            },
            dh_out,
        ))
    }

    /// Spec suite initiator: (root, sending chain) = HKDF-SHA256(IKM = SK, salt = 32 zero
    /// bytes, info = "pfs spec suite v1 initial chain", 64); DHs = a new X25519 pair
    /// (consumes one key from `rng`); no DHr, no receiving chain.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetError, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([5; 32]);
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let mut bob = RatchetState::new_spec_responder(&sk)?;
    /// // The responder cannot write before it has read.
    /// assert_eq!(
    ///     bob.encrypt(b"too early", b"").err(),
    ///     Some(RatchetError::NoSendingChain)
    /// );
    ///
    /// let (header, ct) = alice.encrypt(b"hello", b"")?;
    /// assert_eq!(header.key.len(), 32); // an X25519 ratchet key
    /// let got = bob.decrypt(
    ///     &(),
    ///     &header,
    ///     &ct,
    ///     b"",
    ///     &mut OsRandom,
    ///     &Limits::default(),
    ///     ConfirmMode::Immediate,
    /// )?;
    /// assert_eq!(got.plaintext, b"hello");
    /// bob = got.state;
    /// assert!(bob.can_send());
    /// # Ok(())
    /// # }
    /// ```
    pub fn new_spec_initiator(
        sk: &SecretBytes<32>,
        rng: &mut dyn RandomSource,
    ) -> Result<Self, RatchetError> {
        check_sk(sk)?;
        let (root, chain) = spec_initial(sk)?;
        let dhs = suite(SuiteId::Spec).generate_keypair(rng)?;
        Ok(Self {
            suite: SuiteId::Spec,
            dhs: Some(dhs),
            dhr: None,
            root,
            send: Some(chain),
            send_n: 0,
            recv: None,
            recv_n: 0,
            pn: 0,
            keys_count: 0,
        })
    }

    /// Spec suite responder: the same root and chain as the initiator, the chain being its
    /// receiving chain; no DHs, no DHr, no sending chain until the first message arrives.
    ///
    /// ```
    /// use pfs_ratchet::{RatchetError, RatchetState, SecretBytes, SuiteId};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let bob = RatchetState::new_spec_responder(&SecretBytes::new([5; 32]))?;
    /// assert_eq!(bob.suite_id(), SuiteId::Spec);
    /// assert!(bob.dhs().is_none() && bob.send_chain_key().is_none() && !bob.can_send());
    /// assert!(bob.recv_chain_key().is_some());
    /// assert_eq!(
    ///     RatchetState::new_spec_responder(&SecretBytes::zero()).err(),
    ///     Some(RatchetError::ZeroSharedSecret)
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn new_spec_responder(sk: &SecretBytes<32>) -> Result<Self, RatchetError> {
        check_sk(sk)?;
        let (root, chain) = spec_initial(sk)?;
        Ok(Self {
            suite: SuiteId::Spec,
            dhs: None,
            dhr: None,
            root,
            send: None,
            send_n: 0,
            recv: Some(chain),
            recv_n: 0,
            pn: 0,
            keys_count: 0,
        })
    }

    // ----- accessors ----------------------------------------------------------------

    /// The suite of this session.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([6; 32]); // from X3DH
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let bob = RatchetState::new_spec_responder(&sk)?;
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// use pfs_ratchet::SuiteId;
    /// assert_eq!((alice.suite_id(), bob.suite_id()), (SuiteId::Spec, SuiteId::Spec));
    /// # let _ = (&mut alice, limits, mode);
    /// # Ok(())
    /// # }
    /// ```
    pub fn suite_id(&self) -> SuiteId {
        self.suite
    }
    /// The suite of this session, as primitives.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([6; 32]); // from X3DH
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let bob = RatchetState::new_spec_responder(&sk)?;
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// assert_eq!(alice.suite().public_key_len(), 32);
    /// assert_eq!(alice.suite().id(), alice.suite_id());
    /// # let _ = (&mut alice, bob, limits, mode);
    /// # Ok(())
    /// # }
    /// ```
    pub fn suite(&self) -> &'static dyn Suite {
        suite(self.suite)
    }
    /// Our sending ratchet key pair (`None` for a spec responder before its first message).
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([6; 32]); // from X3DH
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let bob = RatchetState::new_spec_responder(&sk)?;
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// let pair = alice.dhs().ok_or("an initiator has a sending key")?;
    /// assert_eq!(Some(&pair.public[..]), alice.dhs_public());
    /// assert!(bob.dhs().is_none()); // a spec responder has none before it reads a message
    /// # let _ = (&mut alice, limits, mode);
    /// # Ok(())
    /// # }
    /// ```
    pub fn dhs(&self) -> Option<&DhKeyPair> {
        self.dhs.as_ref()
    }
    /// Our sending ratchet secret key.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([6; 32]); // from X3DH
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let bob = RatchetState::new_spec_responder(&sk)?;
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// // The secret and public halves belong together (X25519).
    /// let secret = alice.dhs_private().ok_or("no key")?;
    /// let public = pfs_crypto::x25519::SecretKey::from_bytes(secret.expose())?.public_key();
    /// assert_eq!(Some(&public.as_bytes()[..]), alice.dhs_public());
    /// # let _ = (&mut alice, bob, limits, mode);
    /// # Ok(())
    /// # }
    /// ```
    pub fn dhs_private(&self) -> Option<&SecretBytes<32>> {
        self.dhs.as_ref().map(|k| &k.secret)
    }
    /// Our sending ratchet public key, as on the wire.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([6; 32]); // from X3DH
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let bob = RatchetState::new_spec_responder(&sk)?;
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// let (h, _) = alice.encrypt(b"hi", b"")?;
    /// assert_eq!(alice.dhs_public(), Some(&h.key[..])); // the key in every header of the chain
    /// # let _ = (bob, limits, mode);
    /// # Ok(())
    /// # }
    /// ```
    pub fn dhs_public(&self) -> Option<&[u8]> {
        self.dhs.as_ref().map(|k| k.public.as_slice())
    }
    /// The peer's current ratchet public key (`None` if not known yet).
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([6; 32]); // from X3DH
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let bob = RatchetState::new_spec_responder(&sk)?;
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// assert_eq!(bob.dhr(), None); // not known before the first message
    /// let (h, c) = alice.encrypt(b"hi", b"")?;
    /// let d = bob.decrypt(&(), &h, &c, b"", &mut OsRandom, &limits, mode)?;
    /// assert_eq!(d.state.dhr(), alice.dhs_public());
    /// # Ok(())
    /// # }
    /// ```
    pub fn dhr(&self) -> Option<&[u8]> {
        self.dhr.as_deref()
    }
    /// The root key.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([6; 32]); // from X3DH
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let bob = RatchetState::new_spec_responder(&sk)?;
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// let bytes = alice.to_bytes();
    /// let restored = RatchetState::from_bytes(bytes.expose())?;
    /// assert_eq!(restored.root_chain_key(), alice.root_chain_key());
    /// // A DH ratchet step (Bob's reply arrives) moves the root key on.
    /// let (h, c) = alice.encrypt(b"hi", b"")?;
    /// let mut bob = bob.decrypt(&(), &h, &c, b"", &mut OsRandom, &limits, mode)?.state;
    /// let (h, c) = bob.encrypt(b"hello", b"")?;
    /// let after = alice.decrypt(&(), &h, &c, b"", &mut OsRandom, &limits, mode)?.state;
    /// assert_ne!(after.root_chain_key(), alice.root_chain_key());
    /// # Ok(())
    /// # }
    /// ```
    pub fn root_chain_key(&self) -> &RootKey {
        &self.root
    }
    /// The sending chain key (`None` for a spec responder until it sends its first
    /// message: the chain is derived then).
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([6; 32]); // from X3DH
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let bob = RatchetState::new_spec_responder(&sk)?;
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// assert!(bob.send_chain_key().is_none()); // a spec responder before its first message
    /// let (h, c) = alice.encrypt(b"hi", b"")?;
    /// let d = bob.decrypt(&(), &h, &c, b"", &mut OsRandom, &limits, mode)?;
    /// // Both chains advanced by one step: the symmetric ratchet agrees.
    /// assert_eq!(alice.send_chain_key(), d.state.recv_chain_key());
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_chain_key(&self) -> Option<&ChainKey> {
        self.send.as_ref()
    }
    /// Messages already sent in the current sending chain (the `n` of the next one).
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([6; 32]); // from X3DH
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let bob = RatchetState::new_spec_responder(&sk)?;
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// assert_eq!(alice.send_chain_n(), 0);
    /// let (h, _) = alice.encrypt(b"hi", b"")?;
    /// assert_eq!((h.n, alice.send_chain_n()), (0, 1));
    /// # let _ = (bob, limits, mode);
    /// # Ok(())
    /// # }
    /// ```
    pub fn send_chain_n(&self) -> u32 {
        self.send_n
    }
    /// The receiving chain key (`None` before a spec initiator's first received message).
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([6; 32]); // from X3DH
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let bob = RatchetState::new_spec_responder(&sk)?;
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// assert!(alice.recv_chain_key().is_none()); // a spec initiator before its first reply
    /// let (h, c) = alice.encrypt(b"hi", b"")?;
    /// let mut bob = bob.decrypt(&(), &h, &c, b"", &mut OsRandom, &limits, mode)?.state;
    /// let (h, c) = bob.encrypt(b"hello", b"")?;
    /// let alice = alice.decrypt(&(), &h, &c, b"", &mut OsRandom, &limits, mode)?.state;
    /// assert_eq!(alice.recv_chain_key(), bob.send_chain_key());
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv_chain_key(&self) -> Option<&ChainKey> {
        self.recv.as_ref()
    }
    /// Keys already derived in the current receiving chain.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([6; 32]); // from X3DH
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let bob = RatchetState::new_spec_responder(&sk)?;
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// alice.encrypt(b"lost", b"")?;
    /// let (h, c) = alice.encrypt(b"second", b"")?;
    /// let d = bob.decrypt(&(), &h, &c, b"", &mut OsRandom, &limits, mode)?;
    /// assert_eq!(d.state.recv_chain_n(), 2); // message 0's key was derived (and kept) too
    /// # Ok(())
    /// # }
    /// ```
    pub fn recv_chain_n(&self) -> u32 {
        self.recv_n
    }
    /// Length of our previous sending chain.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([6; 32]); // from X3DH
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let bob = RatchetState::new_spec_responder(&sk)?;
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// alice.encrypt(b"one", b"")?;
    /// alice.encrypt(b"two", b"")?;
    /// let (h, c) = alice.encrypt(b"three", b"")?;
    /// let mut bob = bob.decrypt(&(), &h, &c, b"", &mut OsRandom, &limits, mode)?.state;
    /// let (h, c) = bob.encrypt(b"reply", b"")?;
    /// let mut alice = alice.decrypt(&(), &h, &c, b"", &mut OsRandom, &limits, mode)?.state;
    /// let (next, _) = alice.encrypt(b"four", b"")?;
    /// assert_eq!((alice.pn(), next.pn, next.n), (3, 3, 0)); // three sent in the previous chain
    /// # Ok(())
    /// # }
    /// ```
    pub fn pn(&self) -> u32 {
        self.pn
    }
    /// status-go's skipped-key store counter: +1 per skipped key stored and per message
    /// decrypted through the chain; the next sequence number.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([6; 32]); // from X3DH
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let bob = RatchetState::new_spec_responder(&sk)?;
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// alice.encrypt(b"lost", b"")?;
    /// let (h, c) = alice.encrypt(b"second", b"")?;
    /// let d = bob.decrypt(&(), &h, &c, b"", &mut OsRandom, &limits, mode)?;
    /// assert_eq!(d.state.keys_count(), 2); // one skipped key stored, one message decrypted
    /// # Ok(())
    /// # }
    /// ```
    pub fn keys_count(&self) -> u64 {
        self.keys_count
    }
    /// True when [`Self::encrypt`] can be called: a sending chain exists, or (spec
    /// responder after its first received message) can be derived from DHs and DHr.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{ConfirmMode, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([6; 32]); // from X3DH
    /// let mut alice = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// let bob = RatchetState::new_spec_responder(&sk)?;
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// assert!(alice.can_send());
    /// assert!(!bob.can_send()); // a spec responder must read first
    /// let (h, c) = alice.encrypt(b"hi", b"")?;
    /// let d = bob.decrypt(&(), &h, &c, b"", &mut OsRandom, &limits, mode)?;
    /// assert!(d.state.can_send());
    /// # Ok(())
    /// # }
    /// ```
    pub fn can_send(&self) -> bool {
        self.dhs.is_some() && (self.send.is_some() || self.dhr.is_some())
    }

    // ----- encryption ---------------------------------------------------------------

    /// Encrypts `plaintext`; the AD is `ad_prefix ‖ LE32(n) ‖ LE32(pn) ‖ DHs.pub`.
    /// Fails without mutating the state if there is no sending chain yet.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk = pfs_crypto::secp256k1::SecretKey::generate(&mut OsRandom)?.public_key();
    /// let mut alice = RatchetState::new_status_go_initiator(
    ///     &SecretBytes::new([7; 32]),
    ///     spk.as_compressed(),
    ///     &mut OsRandom,
    /// )?;
    /// let (header, ct) = alice.encrypt(b"hello", b"")?;
    /// assert_eq!((header.n, alice.send_chain_n()), (0, 1));
    /// // iv (16) ‖ AES-256-CTR ciphertext (as long as the plaintext) ‖ HMAC-SHA256 tag (32).
    /// assert_eq!(ct.len(), 16 + 5 + 32);
    /// # Ok(())
    /// # }
    /// ```
    pub fn encrypt(
        &mut self,
        plaintext: &[u8],
        ad_prefix: &[u8],
    ) -> Result<(Header, Vec<u8>), RatchetError> {
        let e = self.encrypt_detailed(plaintext, ad_prefix)?;
        Ok((e.header, e.ciphertext))
    }

    /// [`Self::encrypt`], also returning the message key and associated data.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk = pfs_crypto::secp256k1::SecretKey::generate(&mut OsRandom)?.public_key();
    /// let mut alice = RatchetState::new_status_go_initiator(
    ///     &SecretBytes::new([7; 32]),
    ///     spk.as_compressed(),
    ///     &mut OsRandom,
    /// )?;
    /// alice.encrypt(b"first", b"")?;
    /// let e = alice.encrypt_detailed(b"second", b"prefix")?;
    /// // AD = ad_prefix ‖ LE32(n) ‖ LE32(pn) ‖ ratchet key.
    /// let expected = [
    ///     &b"prefix"[..],
    ///     &1u32.to_le_bytes(),
    ///     &0u32.to_le_bytes(),
    ///     &e.header.key,
    /// ]
    /// .concat();
    /// assert_eq!(e.associated_data, expected);
    /// # Ok(())
    /// # }
    /// ```
    pub fn encrypt_detailed(
        &mut self,
        plaintext: &[u8],
        ad_prefix: &[u8],
    ) -> Result<Encrypted, RatchetError> {
        let s = suite(self.suite);
        let Some(dhs) = self.dhs.as_ref() else {
            return Err(RatchetError::NoSendingChain);
        };
        // A spec responder's first sending chain is derived on its first message:
        // (root, send) = KDF_RK(root, DH(DHs, DHr)). Computed on the side, committed with
        // the rest below.
        let pending_root = match (&self.send, &self.dhr) {
            (None, Some(dhr)) => Some(s.kdf_rk(&self.root, &s.dh(dhs, dhr)?)?),
            _ => None,
        };
        let ck = match (&pending_root, &self.send) {
            (Some((_, ck, _)), _) | (None, Some(ck)) => ck,
            (None, None) => return Err(RatchetError::NoSendingChain),
        };
        let header = Header {
            key: dhs.public.clone(),
            n: self.send_n,
            pn: self.pn,
        };
        let next_n = self
            .send_n
            .checked_add(1)
            .ok_or(RatchetError::NoSendingChain)?;
        let (next_ck, mk) = s.kdf_ck(ck);
        let mut ad = Vec::with_capacity(ad_prefix.len() + 8 + header.key.len());
        ad.extend_from_slice(ad_prefix);
        s.encode_header(&header, &mut ad);
        let ciphertext = s.encrypt(&mk, plaintext, &ad)?;
        if let Some((root, _, _)) = pending_root {
            self.root = root;
        }
        self.send = Some(next_ck);
        self.send_n = next_n;
        Ok(Encrypted {
            header,
            ciphertext,
            message_key: mk,
            associated_data: ad,
        })
    }

    // ----- decryption ---------------------------------------------------------------

    /// Decrypts one message, atomically and without side effects: returns the plaintext,
    /// the new state and the changes to apply to the skipped-key store, or an error (then
    /// the caller keeps its state and store as they are).
    ///
    /// The algorithm is status-go's (vectors README §8.3): a key found in `skipped` is
    /// used as is; otherwise, on a copy of the state, a DH ratchet step if `header.key`
    /// differs from DHr (skipping the old chain up to `pn` only if a DHr exists; one new
    /// key is drawn from `rng`), skip to `n`, derive, decrypt. Skips beyond
    /// `limits.max_skip` and message numbers below the chain position are rejected before
    /// any key is derived.
    ///
    /// ```
    /// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
    /// use pfs_ratchet::{ConfirmMode, DecryptError, DhKeyPair, Limits, RatchetState, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let spk = SecretKey::generate(&mut OsRandom)?;
    /// let spk = DhKeyPair {
    ///     secret: spk.to_bytes(),
    ///     public: spk.public_key().to_compressed().to_vec(),
    /// };
    /// let sk = SecretBytes::new([7; 32]);
    /// let mut alice = RatchetState::new_status_go_initiator(&sk, &spk.public, &mut OsRandom)?;
    /// let bob = RatchetState::new_status_go_responder(&sk, spk)?;
    /// let (header, ct) = alice.encrypt(b"hello", b"ad")?;
    ///
    /// // `()` is an empty skipped-key store. Bob's state is not touched: he keeps the new one.
    /// let (limits, mode) = (Limits::default(), ConfirmMode::Immediate);
    /// let d = bob.decrypt(&(), &header, &ct, b"ad", &mut OsRandom, &limits, mode)?;
    /// assert_eq!(d.plaintext, b"hello");
    /// assert_eq!((bob.recv_chain_n(), d.state.recv_chain_n()), (0, 1));
    ///
    /// // Wrong associated data: a typed error, nothing to apply.
    /// let wrong = bob.decrypt(&(), &header, &ct, b"other", &mut OsRandom, &limits, mode);
    /// assert_eq!(wrong.err(), Some(DecryptError::AuthenticationFailed));
    /// # Ok(())
    /// # }
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn decrypt(
        &self,
        skipped: &dyn SkippedKeys,
        header: &Header,
        ciphertext: &[u8],
        ad_prefix: &[u8],
        rng: &mut dyn RandomSource,
        limits: &Limits,
        mode: ConfirmMode,
    ) -> Result<Decrypted, DecryptError> {
        let s = suite(self.suite);
        if header.key.len() != s.public_key_len() {
            return Err(DecryptError::InvalidHeaderKey {
                expected: s.public_key_len(),
                actual: header.key.len(),
            });
        }
        let mut ad = Vec::with_capacity(ad_prefix.len() + 8 + header.key.len());
        ad.extend_from_slice(ad_prefix);
        s.encode_header(header, &mut ad);

        // 1. A stored (skipped or unconfirmed) key.
        if let Some(mk) = skipped.get(&header.key, header.n)? {
            let plaintext = s.decrypt(&mk, ciphertext, &ad)?;
            let mut changes = SkippedKeyChanges {
                keep_newest: limits.max_keys_per_session,
                ..SkippedKeyChanges::default()
            };
            let receipt = match mode {
                ConfirmMode::Immediate => {
                    changes.remove.push((header.key.clone(), header.n));
                    None
                }
                ConfirmMode::TwoPhase => Some(Receipt {
                    ratchet_key: header.key.clone(),
                    n: header.n,
                }),
            };
            return Ok(Decrypted {
                plaintext,
                state: self.clone(),
                changes,
                message_key: mk,
                associated_data: ad,
                receipt,
            });
        }

        // 2. Cheap checks first: nothing is derived for a header that will be rejected.
        let dh_step = self.dhr.as_deref() != Some(header.key.as_slice());
        let first_spec_receive = dh_step && self.dhs.is_none();
        if dh_step {
            if first_spec_receive {
                check_skip(self.recv_n, header.n, limits)?;
            } else {
                if self.dhr.is_some() && self.recv.is_some() {
                    if header.pn < self.recv_n {
                        return Err(DecryptError::InvalidPreviousChainLength {
                            pn: header.pn,
                            recv_chain_n: self.recv_n,
                        });
                    }
                    check_skip(self.recv_n, header.pn, limits)?;
                }
                check_skip(0, header.n, limits)?;
            }
        } else {
            check_skip(self.recv_n, header.n, limits)?;
        }

        // 3. Work on a copy.
        let mut st = self.clone();
        let mut insert = Vec::new();
        if dh_step {
            if first_spec_receive {
                // Spec responder: adopt the header key on the initial receiving chain and
                // draw our first ratchet key. The DH that derives the sending chain waits
                // for our first message (see `encrypt_detailed`), as Olm's inactive ratchet
                // does: a responder that only reads never pays for it.
                if st.recv.is_none() {
                    return Err(DecryptError::NoReceivingChain);
                }
                st.dhr = Some(header.key.clone());
                st.dhs = Some(s.generate_keypair(rng)?);
                st.send = None;
                st.send_n = 0;
                st.pn = 0;
            } else {
                if let Some(old) = st.dhr.clone() {
                    st.skip(s, &old, header.pn, &mut insert);
                }
                let dhs_old = st.dhs.as_ref().ok_or(DecryptError::NoReceivingChain)?;
                let (root, recv, _) = s.kdf_rk(&st.root, &s.dh(dhs_old, &header.key)?)?;
                st.pn = st.send_n;
                st.dhr = Some(header.key.clone());
                st.root = root;
                st.recv = Some(recv);
                st.recv_n = 0;
                let dhs = s.generate_keypair(rng)?;
                let (root, send, _) = s.kdf_rk(&st.root, &s.dh(&dhs, &header.key)?)?;
                st.root = root;
                st.send = Some(send);
                st.send_n = 0;
                st.dhs = Some(dhs);
            }
        }
        st.skip(s, &header.key, header.n, &mut insert);
        let ck = st.recv.as_ref().ok_or(DecryptError::NoReceivingChain)?;
        let (next_ck, mk) = s.kdf_ck(ck);
        let plaintext = s.decrypt(&mk, ciphertext, &ad)?;
        st.recv = Some(next_ck);
        st.recv_n = st.recv_n.saturating_add(1);
        let seq = st.keys_count;
        st.keys_count = st.keys_count.saturating_add(1);
        let receipt = match mode {
            ConfirmMode::Immediate => None,
            ConfirmMode::TwoPhase => {
                insert.push(NewSkippedKey {
                    ratchet_key: header.key.clone(),
                    n: header.n,
                    mk: mk.clone(),
                    seq,
                });
                Some(Receipt {
                    ratchet_key: header.key.clone(),
                    n: header.n,
                })
            }
        };
        let delete_seq_at_or_below =
            (st.keys_count >= limits.max_keep).then(|| st.keys_count - limits.max_keep);
        Ok(Decrypted {
            plaintext,
            state: st,
            changes: SkippedKeyChanges {
                insert,
                remove: Vec::new(),
                keep_newest: limits.max_keys_per_session,
                delete_seq_at_or_below,
            },
            message_key: mk,
            associated_data: ad,
            receipt,
        })
    }

    /// Derives and records the receiving chain's keys up to (not including) `until`.
    /// The limits were checked by the caller.
    fn skip(&mut self, s: &dyn Suite, key: &[u8], until: u32, out: &mut Vec<NewSkippedKey>) {
        let Some(mut ck) = self.recv.take() else {
            return;
        };
        while self.recv_n < until {
            let (next, mk) = s.kdf_ck(&ck);
            out.push(NewSkippedKey {
                ratchet_key: key.to_vec(),
                n: self.recv_n,
                mk,
                seq: self.keys_count,
            });
            ck = next;
            self.recv_n += 1;
            self.keys_count = self.keys_count.saturating_add(1);
        }
        self.recv = Some(ck);
    }

    // ----- encoding -----------------------------------------------------------------

    /// A versioned binary encoding: [`STATE_FORMAT_VERSION`] then postcard of the fields.
    /// Contains secrets, hence a [`SecretVec`].
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{RatchetState, STATE_FORMAT_VERSION, SecretBytes};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let sk = SecretBytes::new([3; 32]);
    /// let mut state = RatchetState::new_spec_initiator(&sk, &mut OsRandom)?;
    /// state.encrypt(b"advance the chain", b"")?;
    /// let bytes = state.to_bytes();
    /// assert_eq!(bytes.expose()[0], STATE_FORMAT_VERSION);
    /// assert_eq!(RatchetState::from_bytes(bytes.expose())?, state);
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_bytes(&self) -> SecretVec {
        let wire = StateWire::from(self);
        // Serialise into a buffer allocated once (no reallocation leaves secret copies
        // behind). The largest state is well below `MAX_STATE_LEN`.
        let mut out = vec![0u8; 1 + MAX_STATE_LEN];
        let used = match out.split_first_mut() {
            Some((version, body)) => {
                *version = STATE_FORMAT_VERSION;
                postcard::to_slice(&wire, body)
                    .map(|b| b.len())
                    .unwrap_or(0)
            }
            None => 0,
        };
        out.truncate(1 + used);
        SecretVec::new(out)
    }

    /// Decodes [`Self::to_bytes`], validating every field.
    ///
    /// ```
    /// use pfs_crypto::OsRandom;
    /// use pfs_ratchet::{RatchetState, SecretBytes, StateDecodeError};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let state = RatchetState::new_spec_initiator(&SecretBytes::new([3; 32]), &mut OsRandom)?;
    /// let mut bytes = state.to_bytes().expose().to_vec();
    /// assert_eq!(RatchetState::from_bytes(&[]), Err(StateDecodeError::Empty));
    /// bytes.push(0);
    /// assert_eq!(
    ///     RatchetState::from_bytes(&bytes),
    ///     Err(StateDecodeError::TrailingBytes(1))
    /// );
    /// bytes[0] = 99;
    /// assert_eq!(
    ///     RatchetState::from_bytes(&bytes),
    ///     Err(StateDecodeError::UnknownVersion(99))
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StateDecodeError> {
        let (&version, body) = bytes.split_first().ok_or(StateDecodeError::Empty)?;
        if version != STATE_FORMAT_VERSION {
            return Err(StateDecodeError::UnknownVersion(version));
        }
        let (wire, rest): (StateWire, &[u8]) = postcard::take_from_bytes(body)
            .map_err(|e| StateDecodeError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(StateDecodeError::TrailingBytes(rest.len()));
        }
        Self::try_from(&wire)
    }
}

/// The serialized form of a state. Zeroized on drop.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct StateWire {
    #[zeroize(skip)]
    suite: SuiteId,
    dhs_private: Option<[u8; 32]>,
    dhs_public: Option<Vec<u8>>,
    dhr: Option<Vec<u8>>,
    root: [u8; 32],
    send: Option<[u8; 32]>,
    send_n: u32,
    recv: Option<[u8; 32]>,
    recv_n: u32,
    pn: u32,
    keys_count: u64,
}

impl From<&RatchetState> for StateWire {
    fn from(s: &RatchetState) -> Self {
        Self {
            suite: s.suite,
            dhs_private: s.dhs.as_ref().map(|k| *k.secret.expose()),
            dhs_public: s.dhs.as_ref().map(|k| k.public.clone()),
            dhr: s.dhr.clone(),
            root: *s.root.expose(),
            send: s.send.as_ref().map(|k| *k.expose()),
            send_n: s.send_n,
            recv: s.recv.as_ref().map(|k| *k.expose()),
            recv_n: s.recv_n,
            pn: s.pn,
            keys_count: s.keys_count,
        }
    }
}

impl TryFrom<&StateWire> for RatchetState {
    type Error = StateDecodeError;

    fn try_from(w: &StateWire) -> Result<Self, StateDecodeError> {
        let len = suite(w.suite).public_key_len();
        let dhs = match (&w.dhs_private, &w.dhs_public) {
            (Some(secret), Some(public)) => {
                if public.len() != len {
                    return Err(StateDecodeError::Invalid("DHs public key length"));
                }
                Some(DhKeyPair {
                    secret: SecretBytes::new(*secret),
                    public: public.clone(),
                })
            }
            (None, None) => None,
            _ => return Err(StateDecodeError::Invalid("half a DHs key pair")),
        };
        if w.dhr.as_ref().is_some_and(|k| k.len() != len) {
            return Err(StateDecodeError::Invalid("DHr public key length"));
        }
        if dhs.is_none() && w.send.is_some() {
            return Err(StateDecodeError::Invalid("a sending chain without DHs"));
        }
        if w.recv.is_none() && w.send.is_none() {
            return Err(StateDecodeError::Invalid(
                "neither a sending nor a receiving chain",
            ));
        }
        Ok(Self {
            suite: w.suite,
            dhs,
            dhr: w.dhr.clone(),
            root: RootKey::from_bytes(w.root),
            send: w.send.map(ChainKey::from_bytes),
            send_n: w.send_n,
            recv: w.recv.map(ChainKey::from_bytes),
            recv_n: w.recv_n,
            pn: w.pn,
            keys_count: w.keys_count,
        })
    }
}

impl Serialize for RatchetState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        StateWire::from(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RatchetState {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = StateWire::deserialize(deserializer)?;
        RatchetState::try_from(&wire).map_err(serde::de::Error::custom)
    }
}
