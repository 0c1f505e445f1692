//! Ethereum Node Records (EIP-778), identity scheme "v4", with the Waku fields of
//! 31/WAKU2-ENR.
//!
//! A record is the RLP list `[signature, seq, k1, v1, k2, v2, ...]` with the keys sorted
//! and unique, at most [`MAX_ENR_SIZE`] bytes. The signature is the 64-byte `r ‖ s`
//! secp256k1 ECDSA signature of `keccak256(rlp([seq, k1, v1, ...]))`, by the key in the
//! `secp256k1` pair (33-byte compressed). The text form is `enr:` and the unpadded
//! URL-safe base64 of the record.
//!
//! Keys read and written here: `id` (`"v4"`), `secp256k1`, `ip` (4 bytes), `tcp` and
//! `udp` (big-endian integers), and the Waku keys: `waku2`, a one-byte capability
//! bitfield ([`Waku2`]), and `multiaddrs`, multiaddrs without `/p2p` (for example a
//! `/ws` address), each prefixed by its length in two big-endian bytes. Other keys are
//! kept as they are (they count in the signature) and ignored.
//!
//! Decoding never trusts the input: the size is checked first, the RLP must be
//! canonical, every value is checked when it is read, and the signature is verified
//! before [`Enr::decode`] returns.

use std::net::Ipv4Addr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};
use pfs_crypto::hash::keccak256;
use pfs_crypto::secp256k1::{PublicKey, SecretKey, verify_prehash};
use pfs_transport::rlp::{self, Item, RlpError};

/// Largest encoded record (EIP-778: "The maximum encoded size of a node record is 300
/// bytes").
pub const MAX_ENR_SIZE: usize = 300;

/// Why a record was refused or could not be built.
///
/// # Examples
///
/// A caller matches the reason: a truncated record is an RLP error, an oversized one is
/// refused before it is parsed, a text without `enr:` is not an ENR text.
///
/// ```
/// use pfs_node::enr::{Enr, EnrError};
///
/// // the example record of EIP-778 ("Test Vectors")
/// let text = concat!(
///     "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04j",
///     "RzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2Vj",
///     "cDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCC",
///     "dl8",
/// );
/// let raw = Enr::from_text(text)?.as_bytes().to_vec();
/// assert!(matches!(Enr::decode(&raw[..raw.len() - 1]), Err(EnrError::Rlp(_))));
/// assert_eq!(Enr::decode(&[0u8; 301]), Err(EnrError::TooLarge(301)));
/// assert_eq!(Enr::from_text("enx:abc"), Err(EnrError::Text));
/// # Ok::<(), EnrError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnrError {
    /// The record is larger than [`MAX_ENR_SIZE`].
    #[error("record of {0} bytes exceeds the 300-byte limit")]
    TooLarge(usize),
    /// The text form does not start with `enr:` or is not unpadded URL-safe base64.
    #[error("not an ENR text (enr:<base64url>)")]
    Text,
    /// The RLP is malformed or not canonical.
    #[error("RLP: {0}")]
    Rlp(#[from] RlpError),
    /// The list holds no signature, no sequence number or a key without a value.
    #[error("record structure: {0}")]
    Structure(&'static str),
    /// The keys are not sorted, or one appears twice.
    #[error("keys not sorted or repeated")]
    KeyOrder,
    /// The identity scheme is not "v4".
    #[error("identity scheme {0:?} is not v4")]
    Scheme(String),
    /// A required key is missing.
    #[error("no {0} key")]
    Missing(&'static str),
    /// A value has the wrong form.
    #[error("invalid {key} value: {reason}")]
    Value {
        /// The key.
        key: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// The signature does not verify under the record's key.
    #[error("invalid signature")]
    Signature,
    /// Signing failed, or the node key is not a secp256k1 key.
    #[error("cannot sign: {0}")]
    Sign(&'static str),
}

/// The 31/WAKU2-ENR `waku2` capability bits (js-waku `@waku/enr` `encodeWaku2`).
///
/// # Examples
///
/// ```
/// use pfs_node::enr::Waku2;
///
/// let w = Waku2(Waku2::RELAY | Waku2::LIGHTPUSH);
/// assert_eq!(w.0, 0b1001);
/// assert!(w.relay() && w.lightpush() && !w.store() && !w.filter());
/// assert_eq!(Waku2::default(), Waku2(0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Waku2(pub u8);

impl Waku2 {
    /// Relay (bit 0).
    pub const RELAY: u8 = 0x01;
    /// Store (bit 1).
    pub const STORE: u8 = 0x02;
    /// Filter (bit 2).
    pub const FILTER: u8 = 0x04;
    /// Lightpush (bit 3).
    pub const LIGHTPUSH: u8 = 0x08;

    /// Whether the relay bit is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_node::enr::Waku2;
    ///
    /// assert!(Waku2(Waku2::RELAY).relay());
    /// assert!(!Waku2(0xff & !Waku2::RELAY).relay());
    /// ```
    pub fn relay(self) -> bool {
        self.0 & Self::RELAY != 0
    }
    /// Whether the store bit is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_node::enr::Waku2;
    ///
    /// assert!(Waku2(Waku2::STORE).store());
    /// assert!(!Waku2(0xff & !Waku2::STORE).store());
    /// ```
    pub fn store(self) -> bool {
        self.0 & Self::STORE != 0
    }
    /// Whether the filter bit is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_node::enr::Waku2;
    ///
    /// assert!(Waku2(Waku2::FILTER).filter());
    /// assert!(!Waku2(0xff & !Waku2::FILTER).filter());
    /// ```
    pub fn filter(self) -> bool {
        self.0 & Self::FILTER != 0
    }
    /// Whether the lightpush bit is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_node::enr::Waku2;
    ///
    /// assert!(Waku2(Waku2::LIGHTPUSH).lightpush());
    /// assert!(!Waku2(0xff & !Waku2::LIGHTPUSH).lightpush());
    /// ```
    pub fn lightpush(self) -> bool {
        self.0 & Self::LIGHTPUSH != 0
    }
}

/// The fields of a record to sign (absent fields are left out).
///
/// # Examples
///
/// Only the fields that are set appear in the signed record:
///
/// ```
/// use std::net::Ipv4Addr;
/// use pfs_node::Keypair;
/// use pfs_node::enr::{Enr, EnrFields};
///
/// let kp = Keypair::generate_secp256k1();
/// let ip = Some(Ipv4Addr::new(10, 0, 0, 1));
/// let fields = EnrFields { ip, tcp: Some(60000), ..EnrFields::default() };
/// let enr = Enr::sign_with_keypair(&kp, 1, &fields)?;
/// assert_eq!((enr.ip()?, enr.tcp()?), (ip, Some(60000)));
/// assert_eq!((enr.udp()?, enr.waku2()?), (None, None));
/// assert_eq!(enr.get(b"udp"), None);
/// assert!(enr.multiaddrs()?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnrFields {
    /// `ip`.
    pub ip: Option<Ipv4Addr>,
    /// `tcp`.
    pub tcp: Option<u16>,
    /// `udp`.
    pub udp: Option<u16>,
    /// `waku2`.
    pub waku2: Option<Waku2>,
    /// `multiaddrs` (without `/p2p`; left out when empty).
    pub multiaddrs: Vec<Multiaddr>,
}

/// A decoded record whose signature verified.
///
/// # Examples
///
/// The example record of EIP-778 ("Test Vectors"):
///
/// ```
/// use pfs_node::enr::Enr;
///
/// // the example record of EIP-778 ("Test Vectors")
/// let text = concat!(
///     "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04j",
///     "RzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2Vj",
///     "cDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCC",
///     "dl8",
/// );
/// let enr = Enr::from_text(text)?;
/// assert_eq!(enr.seq(), 1);
/// assert_eq!(enr.get(b"id"), Some(&b"v4"[..]));
/// assert_eq!(
///     hex::encode(enr.public_key().as_compressed()),
///     "03ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd3138"
/// );
/// # Ok::<(), pfs_node::enr::EnrError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enr {
    raw: Vec<u8>,
    seq: u64,
    signature: [u8; 64],
    public: PublicKey,
    /// (key, value) in record order; values are the RLP string contents, or the whole
    /// encoded item for a list value.
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
}

fn value_err(key: &'static str, reason: &'static str) -> EnrError {
    EnrError::Value { key, reason }
}

/// Encodes the `multiaddrs` value: each address prefixed by its length (2 bytes, BE).
fn encode_multiaddrs(addrs: &[Multiaddr]) -> Result<Vec<u8>, EnrError> {
    let mut out = Vec::new();
    for a in addrs {
        if a.iter().any(|p| matches!(p, Protocol::P2p(_))) {
            return Err(value_err("multiaddrs", "a multiaddr with /p2p"));
        }
        let bytes = a.to_vec();
        let len = u16::try_from(bytes.len()).map_err(|_| value_err("multiaddrs", "too long"))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

/// Decodes the `multiaddrs` value.
fn decode_multiaddrs(mut v: &[u8]) -> Result<Vec<Multiaddr>, EnrError> {
    let mut out = Vec::new();
    while !v.is_empty() {
        let (len, rest) = v
            .split_first_chunk::<2>()
            .ok_or(value_err("multiaddrs", "truncated length"))?;
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return Err(value_err("multiaddrs", "truncated multiaddr"));
        }
        let (addr, rest) = rest.split_at(len);
        let addr = Multiaddr::try_from(addr.to_vec())
            .map_err(|_| value_err("multiaddrs", "not a multiaddr"))?;
        out.push(addr);
        v = rest;
    }
    Ok(out)
}

/// Big-endian unsigned integer of at most `width` bytes, minimal (RLP integer rules).
fn decode_uint(v: &[u8], key: &'static str, width: usize) -> Result<u64, EnrError> {
    if v.first() == Some(&0) {
        return Err(value_err(key, "leading zero byte"));
    }
    if v.len() > width {
        return Err(value_err(key, "too wide"));
    }
    Ok(v.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// `rlp([seq, k1, v1, ...])` from already-encoded pairs.
fn content(seq: u64, encoded_pairs: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(encoded_pairs.len() + 9);
    rlp::encode_uint(&mut body, seq);
    body.extend_from_slice(encoded_pairs);
    let mut out = Vec::with_capacity(body.len() + 3);
    rlp::encode_list_header(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

impl Enr {
    /// Builds and signs a record with `key` (identity scheme v4).
    ///
    /// # Examples
    ///
    /// The example record of EIP-778 ("Test Vectors"), rebuilt byte for byte from its key:
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::net::Ipv4Addr;
    /// use pfs_crypto::secp256k1::SecretKey;
    /// use pfs_node::enr::{Enr, EnrFields};
    ///
    /// let key = SecretKey::from_bytes(&hex::decode("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")?)?;
    /// let fields = EnrFields { ip: Some(Ipv4Addr::LOCALHOST), udp: Some(30303), ..EnrFields::default() };
    /// let enr = Enr::sign(&key, 1, &fields)?;
    /// assert_eq!(enr.to_text(), "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8");
    /// assert_eq!(hex::encode(enr.node_id()), "a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7");
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// Waku fields round trip, and the record names the libp2p peer id of the same key:
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pfs_node::enr::{Enr, EnrFields, Waku2};
    /// use pfs_node::{Keypair, Multiaddr};
    ///
    /// let kp = Keypair::generate_secp256k1();
    /// let addr: Multiaddr = "/ip4/127.0.0.1/tcp/60000/ws".parse()?;
    /// let fields = EnrFields {
    ///     waku2: Some(Waku2(Waku2::RELAY | Waku2::STORE)),
    ///     multiaddrs: vec![addr.clone()],
    ///     ..EnrFields::default()
    /// };
    /// let enr = Enr::from_text(&Enr::sign_with_keypair(&kp, 7, &fields)?.to_text())?;
    /// assert_eq!(enr.peer_id()?, kp.public().to_peer_id());
    /// assert_eq!(enr.seq(), 7);
    /// let waku2 = enr.waku2()?.ok_or("no waku2")?;
    /// assert!(waku2.relay() && waku2.store() && !waku2.filter() && !waku2.lightpush());
    /// assert_eq!(enr.multiaddrs()?, vec![addr]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn sign(key: &SecretKey, seq: u64, fields: &EnrFields) -> Result<Enr, EnrError> {
        let public = key.public_key();
        // keys in sorted order: id, ip, multiaddrs, secp256k1, tcp, udp, waku2
        let mut pairs = Vec::new();
        let mut push = |k: &[u8], v: &[u8], as_uint: bool| {
            rlp::encode_bytes(&mut pairs, k);
            if as_uint {
                let n = v.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
                rlp::encode_uint(&mut pairs, n);
            } else {
                rlp::encode_bytes(&mut pairs, v);
            }
        };
        push(b"id", b"v4", false);
        if let Some(ip) = fields.ip {
            push(b"ip", &ip.octets(), false);
        }
        if !fields.multiaddrs.is_empty() {
            push(
                b"multiaddrs",
                &encode_multiaddrs(&fields.multiaddrs)?,
                false,
            );
        }
        push(b"secp256k1", public.as_compressed(), false);
        if let Some(p) = fields.tcp {
            push(b"tcp", &p.to_be_bytes(), true);
        }
        if let Some(p) = fields.udp {
            push(b"udp", &p.to_be_bytes(), true);
        }
        if let Some(w) = fields.waku2 {
            push(b"waku2", &[w.0], false);
        }
        let hash = keccak256(&content(seq, &pairs));
        let sig = key
            .sign_prehash_recoverable(&hash)
            .map_err(|_| EnrError::Sign("ECDSA signing failed"))?;
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&sig.as_bytes()[..64]);
        let mut body = Vec::with_capacity(pairs.len() + 80);
        rlp::encode_bytes(&mut body, &signature);
        rlp::encode_uint(&mut body, seq);
        body.extend_from_slice(&pairs);
        let mut raw = Vec::with_capacity(body.len() + 3);
        rlp::encode_list_header(&mut raw, body.len());
        raw.extend_from_slice(&body);
        if raw.len() > MAX_ENR_SIZE {
            return Err(EnrError::TooLarge(raw.len()));
        }
        Enr::decode(&raw)
    }

    /// Signs a record with a libp2p node key (which must be secp256k1).
    ///
    /// # Examples
    ///
    /// The record names the peer id of the same key; a key that is not secp256k1 is refused.
    ///
    /// ```
    /// use pfs_node::Keypair;
    /// use pfs_node::enr::{Enr, EnrError, EnrFields};
    ///
    /// let kp = Keypair::generate_secp256k1();
    /// let enr = Enr::sign_with_keypair(&kp, 3, &EnrFields::default())?;
    /// assert_eq!(enr.peer_id()?, kp.public().to_peer_id());
    /// assert_eq!(enr.seq(), 3);
    /// let ed = Keypair::generate_ed25519();
    /// assert!(matches!(
    ///     Enr::sign_with_keypair(&ed, 1, &EnrFields::default()),
    ///     Err(EnrError::Sign(_))
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn sign_with_keypair(
        keypair: &libp2p::identity::Keypair,
        seq: u64,
        fields: &EnrFields,
    ) -> Result<Enr, EnrError> {
        let kp = keypair
            .clone()
            .try_into_secp256k1()
            .map_err(|_| EnrError::Sign("the node key is not a secp256k1 key"))?;
        let secret = SecretKey::from_bytes(&kp.secret().to_bytes())
            .map_err(|_| EnrError::Sign("invalid secp256k1 node key"))?;
        Enr::sign(&secret, seq, fields)
    }

    /// Decodes a record and verifies its signature.
    ///
    /// # Examples
    ///
    /// A flipped bit anywhere is refused; so is a text that is not `enr:<base64url>`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use pfs_node::enr::{Enr, EnrError};
    ///
    /// let text = "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8";
    /// let enr = Enr::from_text(text)?;
    /// assert_eq!((enr.ip()?, enr.udp()?, enr.tcp()?), (Some([127, 0, 0, 1].into()), Some(30303), None));
    /// let mut raw = enr.as_bytes().to_vec();
    /// let last = raw.len() - 1;
    /// raw[last] ^= 1; // inside the udp port, which the signature covers
    /// assert!(matches!(Enr::decode(&raw), Err(EnrError::Signature)));
    /// assert!(matches!(Enr::from_text("-IS4QHCY"), Err(EnrError::Text)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn decode(raw: &[u8]) -> Result<Enr, EnrError> {
        if raw.len() > MAX_ENR_SIZE {
            return Err(EnrError::TooLarge(raw.len()));
        }
        let Item::List(mut rest) = rlp::decode_exact(raw)? else {
            return Err(RlpError::ExpectedList.into());
        };
        let next_string = |rest: &mut &[u8], what: &'static str| -> Result<Vec<u8>, EnrError> {
            if rest.is_empty() {
                return Err(EnrError::Structure(what));
            }
            let (item, r) = rlp::decode_item(rest)?;
            *rest = r;
            match item {
                Item::String(s) => Ok(s.to_vec()),
                Item::List(_) => Err(EnrError::Structure(what)),
            }
        };
        let sig = next_string(&mut rest, "no signature")?;
        let signature: [u8; 64] = sig
            .as_slice()
            .try_into()
            .map_err(|_| value_err("signature", "not 64 bytes"))?;
        // everything after the signature (seq and the pairs) is what was signed
        let seq_bytes = next_string(&mut rest, "no sequence number")?;
        let encoded_pairs = rest;
        let seq = decode_uint(&seq_bytes, "seq", 8)?;
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut r = encoded_pairs;
        while !r.is_empty() {
            let key = next_string(&mut r, "key")?;
            if r.is_empty() {
                return Err(EnrError::Structure("a key without a value"));
            }
            let before = r;
            let (item, after) = rlp::decode_item(r)?;
            r = after;
            let value = match item {
                Item::String(s) => s.to_vec(),
                Item::List(_) => before
                    .get(..before.len() - after.len())
                    .unwrap_or_default()
                    .to_vec(),
            };
            if let Some((last, _)) = pairs.last()
                && *last >= key
            {
                return Err(EnrError::KeyOrder);
            }
            pairs.push((key, value));
        }
        let get = |k: &[u8]| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v);
        let id = get(b"id").ok_or(EnrError::Missing("id"))?;
        if id.as_slice() != b"v4" {
            return Err(EnrError::Scheme(String::from_utf8_lossy(id).into_owned()));
        }
        let pk = get(b"secp256k1").ok_or(EnrError::Missing("secp256k1"))?;
        let public = PublicKey::from_compressed(pk)
            .map_err(|_| value_err("secp256k1", "not a compressed secp256k1 point"))?;
        let hash = keccak256(&content(seq, encoded_pairs));
        verify_prehash(&public, &hash, &signature).map_err(|_| EnrError::Signature)?;
        let enr = Enr {
            raw: raw.to_vec(),
            seq,
            signature,
            public,
            pairs,
        };
        // the typed values must be well formed too
        enr.ip()?;
        enr.tcp()?;
        enr.udp()?;
        enr.waku2()?;
        enr.multiaddrs()?;
        Ok(enr)
    }

    /// Decodes the text form `enr:<base64url>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_node::enr::{Enr, EnrError};
    ///
    /// // the example record of EIP-778 ("Test Vectors")
    /// let text = concat!(
    ///     "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04j",
    ///     "RzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2Vj",
    ///     "cDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCC",
    ///     "dl8",
    /// );
    /// let enr = Enr::from_text(text)?;
    /// assert_eq!(Enr::decode(enr.as_bytes())?, enr);
    /// assert_eq!(Enr::from_text("enr:!!!"), Err(EnrError::Text));
    /// let long = format!("enr:{}", "A".repeat(404));
    /// assert!(matches!(Enr::from_text(&long), Err(EnrError::TooLarge(_))));
    /// # Ok::<(), EnrError>(())
    /// ```
    pub fn from_text(text: &str) -> Result<Enr, EnrError> {
        let b64 = text.strip_prefix("enr:").ok_or(EnrError::Text)?;
        // 300 bytes are 400 base64 characters
        if b64.len() > MAX_ENR_SIZE.div_ceil(3) * 4 {
            return Err(EnrError::TooLarge(b64.len() * 3 / 4));
        }
        let raw = URL_SAFE_NO_PAD.decode(b64).map_err(|_| EnrError::Text)?;
        Enr::decode(&raw)
    }

    /// The text form `enr:<base64url>`.
    ///
    /// # Examples
    ///
    /// The text of a decoded record is its input, byte for byte:
    ///
    /// ```
    /// use pfs_node::enr::Enr;
    ///
    /// let text = concat!(
    ///     "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04j",
    ///     "RzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2Vj",
    ///     "cDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCC",
    ///     "dl8",
    /// );
    /// assert_eq!(Enr::from_text(text)?.to_text(), text);
    /// # Ok::<(), pfs_node::enr::EnrError>(())
    /// ```
    pub fn to_text(&self) -> String {
        format!("enr:{}", URL_SAFE_NO_PAD.encode(&self.raw))
    }

    /// The encoded record.
    ///
    /// # Examples
    ///
    /// An RLP list (EIP-778: `[signature, seq, k, v, ...]`) of at most 300 bytes:
    ///
    /// ```
    /// use pfs_node::enr::{Enr, MAX_ENR_SIZE};
    ///
    /// // the example record of EIP-778 ("Test Vectors")
    /// let text = concat!(
    ///     "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04j",
    ///     "RzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2Vj",
    ///     "cDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCC",
    ///     "dl8",
    /// );
    /// let enr = Enr::from_text(text)?;
    /// let raw = enr.as_bytes();
    /// assert!(raw[0] >= 0xf8 && raw.len() <= MAX_ENR_SIZE);
    /// assert_eq!(Enr::decode(raw)?, enr);
    /// # Ok::<(), pfs_node::enr::EnrError>(())
    /// ```
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    /// The sequence number.
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_node::Keypair;
    /// use pfs_node::enr::{Enr, EnrFields};
    ///
    /// let kp = Keypair::generate_secp256k1();
    /// let enr = Enr::sign_with_keypair(&kp, 42, &EnrFields::default())?;
    /// assert_eq!(Enr::decode(enr.as_bytes())?.seq(), 42);
    /// # Ok::<(), pfs_node::enr::EnrError>(())
    /// ```
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The 64-byte `r ‖ s` signature.
    ///
    /// # Examples
    ///
    /// The signature of the EIP-778 example record (also the record's first RLP item):
    ///
    /// ```
    /// use pfs_node::enr::Enr;
    ///
    /// // the example record of EIP-778 ("Test Vectors")
    /// let text = concat!(
    ///     "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04j",
    ///     "RzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2Vj",
    ///     "cDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCC",
    ///     "dl8",
    /// );
    /// let enr = Enr::from_text(text)?;
    /// assert_eq!(
    ///     hex::encode(enr.signature()),
    ///     concat!(
    ///         "7098ad865b00a582051940cb9cf36836572411a47278783077011599ed5cd16b",
    ///         "76f2635f4e234738f30813a89eb9137e3e3df5266e3a1f11df72ecf1145ccb9c",
    ///     )
    /// );
    /// // after the list header (f8 84) and the 64-byte string header (b8 40)
    /// assert_eq!(enr.as_bytes()[..4], [0xf8, 0x84, 0xb8, 0x40]);
    /// assert_eq!(&enr.as_bytes()[4..68], enr.signature());
    /// # Ok::<(), pfs_node::enr::EnrError>(())
    /// ```
    pub fn signature(&self) -> &[u8; 64] {
        &self.signature
    }

    /// The record's secp256k1 public key.
    ///
    /// # Examples
    ///
    /// The key of the EIP-778 example record is the public key of its published secret key:
    ///
    /// ```
    /// use pfs_crypto::secp256k1::SecretKey;
    /// use pfs_node::enr::Enr;
    ///
    /// // the example record of EIP-778 ("Test Vectors")
    /// let text = concat!(
    ///     "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04j",
    ///     "RzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2Vj",
    ///     "cDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCC",
    ///     "dl8",
    /// );
    /// let enr = Enr::from_text(text)?;
    /// let key = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291";
    /// let key = SecretKey::from_bytes(&hex::decode(key)?)?;
    /// assert_eq!(enr.public_key(), &key.public_key());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The v4 node id: keccak256 of the uncompressed key without its `04` prefix.
    ///
    /// # Examples
    ///
    /// The node id of the EIP-778 example record:
    ///
    /// ```
    /// use pfs_node::enr::Enr;
    ///
    /// // the example record of EIP-778 ("Test Vectors")
    /// let text = concat!(
    ///     "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04j",
    ///     "RzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2Vj",
    ///     "cDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCC",
    ///     "dl8",
    /// );
    /// let enr = Enr::from_text(text)?;
    /// assert_eq!(
    ///     hex::encode(enr.node_id()),
    ///     "a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7"
    /// );
    /// # Ok::<(), pfs_node::enr::EnrError>(())
    /// ```
    pub fn node_id(&self) -> [u8; 32] {
        let un = self.public.to_uncompressed();
        keccak256(un.get(1..).unwrap_or_default())
    }

    /// The libp2p peer id of the record's key.
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_node::Keypair;
    /// use pfs_node::enr::{Enr, EnrFields};
    ///
    /// let kp = Keypair::generate_secp256k1();
    /// let enr = Enr::sign_with_keypair(&kp, 1, &EnrFields::default())?;
    /// assert_eq!(enr.peer_id()?, kp.public().to_peer_id());
    /// # Ok::<(), pfs_node::enr::EnrError>(())
    /// ```
    pub fn peer_id(&self) -> Result<PeerId, EnrError> {
        let pk =
            libp2p::identity::secp256k1::PublicKey::try_from_bytes(self.public.as_compressed())
                .map_err(|_| value_err("secp256k1", "not a libp2p secp256k1 key"))?;
        Ok(libp2p::identity::PublicKey::from(pk).to_peer_id())
    }

    /// The raw value of a key (string contents; a list value as its whole encoding).
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_node::enr::Enr;
    ///
    /// // the example record of EIP-778 ("Test Vectors")
    /// let text = concat!(
    ///     "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04j",
    ///     "RzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2Vj",
    ///     "cDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCC",
    ///     "dl8",
    /// );
    /// let enr = Enr::from_text(text)?;
    /// assert_eq!(enr.get(b"id"), Some(&b"v4"[..]));
    /// assert_eq!(enr.get(b"ip"), Some(&[127, 0, 0, 1][..]));
    /// assert_eq!(enr.get(b"udp"), Some(&[0x76, 0x5f][..])); // 30303
    /// assert_eq!(enr.get(b"tcp"), None);
    /// # Ok::<(), pfs_node::enr::EnrError>(())
    /// ```
    pub fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    /// `ip`.
    ///
    /// # Examples
    ///
    /// The EIP-778 example record has `ip` 127.0.0.1 and `udp` 30303, no `tcp`:
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use pfs_node::enr::Enr;
    ///
    /// // the example record of EIP-778 ("Test Vectors")
    /// let text = concat!(
    ///     "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04j",
    ///     "RzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2Vj",
    ///     "cDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCC",
    ///     "dl8",
    /// );
    /// let enr = Enr::from_text(text)?;
    /// assert_eq!(enr.ip()?, Some(Ipv4Addr::LOCALHOST));
    /// assert_eq!(enr.udp()?, Some(30303));
    /// assert_eq!(enr.tcp()?, None);
    /// # Ok::<(), pfs_node::enr::EnrError>(())
    /// ```
    pub fn ip(&self) -> Result<Option<Ipv4Addr>, EnrError> {
        match self.get(b"ip") {
            None => Ok(None),
            Some(v) => <[u8; 4]>::try_from(v)
                .map(|b| Some(Ipv4Addr::from(b)))
                .map_err(|_| value_err("ip", "not 4 bytes")),
        }
    }

    fn port(&self, key: &'static str) -> Result<Option<u16>, EnrError> {
        match self.get(key.as_bytes()) {
            None => Ok(None),
            Some(v) => Ok(Some(decode_uint(v, key, 2)? as u16)),
        }
    }

    /// `tcp`.
    ///
    /// # Examples
    ///
    /// The EIP-778 example record has `ip` 127.0.0.1 and `udp` 30303, no `tcp`:
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use pfs_node::enr::Enr;
    ///
    /// // the example record of EIP-778 ("Test Vectors")
    /// let text = concat!(
    ///     "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04j",
    ///     "RzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2Vj",
    ///     "cDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCC",
    ///     "dl8",
    /// );
    /// let enr = Enr::from_text(text)?;
    /// assert_eq!(enr.ip()?, Some(Ipv4Addr::LOCALHOST));
    /// assert_eq!(enr.udp()?, Some(30303));
    /// assert_eq!(enr.tcp()?, None);
    /// # Ok::<(), pfs_node::enr::EnrError>(())
    /// ```
    pub fn tcp(&self) -> Result<Option<u16>, EnrError> {
        self.port("tcp")
    }

    /// `udp`.
    ///
    /// # Examples
    ///
    /// The EIP-778 example record has `ip` 127.0.0.1 and `udp` 30303, no `tcp`:
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use pfs_node::enr::Enr;
    ///
    /// // the example record of EIP-778 ("Test Vectors")
    /// let text = concat!(
    ///     "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04j",
    ///     "RzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2Vj",
    ///     "cDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCC",
    ///     "dl8",
    /// );
    /// let enr = Enr::from_text(text)?;
    /// assert_eq!(enr.ip()?, Some(Ipv4Addr::LOCALHOST));
    /// assert_eq!(enr.udp()?, Some(30303));
    /// assert_eq!(enr.tcp()?, None);
    /// # Ok::<(), pfs_node::enr::EnrError>(())
    /// ```
    pub fn udp(&self) -> Result<Option<u16>, EnrError> {
        self.port("udp")
    }

    /// `waku2`.
    ///
    /// # Examples
    ///
    /// Absent from a plain Ethereum record, present in a Waku node's:
    ///
    /// ```
    /// use pfs_node::Keypair;
    /// use pfs_node::enr::{Enr, EnrFields, Waku2};
    ///
    /// // the example record of EIP-778 ("Test Vectors")
    /// let text = concat!(
    ///     "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04j",
    ///     "RzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2Vj",
    ///     "cDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCC",
    ///     "dl8",
    /// );
    /// assert_eq!(Enr::from_text(text)?.waku2()?, None);
    /// let fields = EnrFields { waku2: Some(Waku2(Waku2::STORE)), ..EnrFields::default() };
    /// let enr = Enr::sign_with_keypair(&Keypair::generate_secp256k1(), 1, &fields)?;
    /// assert_eq!(enr.waku2()?, Some(Waku2(Waku2::STORE)));
    /// assert_eq!(enr.get(b"waku2"), Some(&[0x02][..]));
    /// # Ok::<(), pfs_node::enr::EnrError>(())
    /// ```
    pub fn waku2(&self) -> Result<Option<Waku2>, EnrError> {
        match self.get(b"waku2") {
            None => Ok(None),
            Some([b]) => Ok(Some(Waku2(*b))),
            Some(_) => Err(value_err("waku2", "not one byte")),
        }
    }

    /// `multiaddrs` (empty when absent).
    ///
    /// # Examples
    ///
    /// Each address is stored after its length in two big-endian bytes (31/WAKU2-ENR):
    ///
    /// ```
    /// use pfs_node::enr::{Enr, EnrFields};
    /// use pfs_node::{Keypair, Multiaddr};
    ///
    /// let ws: Multiaddr = "/ip4/10.0.0.1/tcp/8000/ws".parse()?;
    /// let fields = EnrFields { multiaddrs: vec![ws.clone()], ..EnrFields::default() };
    /// let enr = Enr::sign_with_keypair(&Keypair::generate_secp256k1(), 1, &fields)?;
    /// assert_eq!(enr.multiaddrs()?, vec![ws.clone()]);
    /// let raw = enr.get(b"multiaddrs").ok_or("no multiaddrs")?;
    /// assert_eq!(usize::from(u16::from_be_bytes([raw[0], raw[1]])), ws.to_vec().len());
    /// assert_eq!(&raw[2..], ws.to_vec().as_slice());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn multiaddrs(&self) -> Result<Vec<Multiaddr>, EnrError> {
        match self.get(b"multiaddrs") {
            None => Ok(Vec::new()),
            Some(v) => decode_multiaddrs(v),
        }
    }

    /// The addresses to dial the node at, each ending in `/p2p/<peer id>`: `/ip4/IP/tcp/PORT`
    /// from `ip` and `tcp`, then the `multiaddrs`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv4Addr;
    /// use pfs_node::enr::{Enr, EnrFields};
    /// use pfs_node::{Keypair, Multiaddr};
    ///
    /// let kp = Keypair::generate_secp256k1();
    /// let peer = kp.public().to_peer_id();
    /// let fields = EnrFields {
    ///     ip: Some(Ipv4Addr::new(10, 0, 0, 1)),
    ///     tcp: Some(60000),
    ///     multiaddrs: vec!["/ip4/10.0.0.1/tcp/8000/ws".parse::<Multiaddr>()?],
    ///     ..EnrFields::default()
    /// };
    /// let addrs = Enr::sign_with_keypair(&kp, 1, &fields)?.dial_addrs()?;
    /// let addrs: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    /// assert_eq!(addrs, [
    ///     format!("/ip4/10.0.0.1/tcp/60000/p2p/{peer}"),
    ///     format!("/ip4/10.0.0.1/tcp/8000/ws/p2p/{peer}"),
    /// ]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dial_addrs(&self) -> Result<Vec<Multiaddr>, EnrError> {
        let peer = self.peer_id()?;
        let mut out = Vec::new();
        if let (Some(ip), Some(tcp)) = (self.ip()?, self.tcp()?) {
            out.push(
                Multiaddr::empty()
                    .with(Protocol::Ip4(ip))
                    .with(Protocol::Tcp(tcp))
                    .with(Protocol::P2p(peer)),
            );
        }
        for a in self.multiaddrs()? {
            out.push(a.with(Protocol::P2p(peer)));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // EIP-778 "Test Vectors": the example record, its key and its node id.
    const EIP778_TEXT: &str = "enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8";
    const EIP778_KEY: &str = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291";
    const EIP778_NODE_ID: &str = "a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7";
    const EIP778_PUBKEY: &str =
        "03ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd3138";
    const EIP778_SIG: &str = "7098ad865b00a582051940cb9cf36836572411a47278783077011599ed5cd16b76f2635f4e234738f30813a89eb9137e3e3df5266e3a1f11df72ecf1145ccb9c";

    fn key() -> SecretKey {
        SecretKey::from_bytes(&hex::decode(EIP778_KEY).unwrap()).unwrap()
    }

    #[test]
    fn eip778_example_decodes_and_verifies() {
        let enr = Enr::from_text(EIP778_TEXT).unwrap();
        assert_eq!(enr.seq(), 1);
        assert_eq!(hex::encode(enr.signature()), EIP778_SIG);
        assert_eq!(hex::encode(enr.public_key().as_compressed()), EIP778_PUBKEY);
        assert_eq!(hex::encode(enr.node_id()), EIP778_NODE_ID);
        assert_eq!(enr.ip().unwrap(), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(enr.udp().unwrap(), Some(30303));
        assert_eq!(enr.tcp().unwrap(), None);
        assert_eq!(enr.waku2().unwrap(), None);
        assert_eq!(enr.get(b"id"), Some(&b"v4"[..]));
        assert_eq!(enr.to_text(), EIP778_TEXT);
    }

    #[test]
    fn eip778_example_reencodes_byte_for_byte_from_the_key() {
        let fields = EnrFields {
            ip: Some(Ipv4Addr::new(127, 0, 0, 1)),
            udp: Some(30303),
            ..EnrFields::default()
        };
        let enr = Enr::sign(&key(), 1, &fields).unwrap();
        assert_eq!(enr.to_text(), EIP778_TEXT);
        assert_eq!(
            hex::encode(key().public_key().as_compressed()),
            EIP778_PUBKEY
        );
    }

    #[test]
    fn tampered_records_are_refused() {
        let raw = Enr::from_text(EIP778_TEXT).unwrap().as_bytes().to_vec();
        // flip one bit of the ip value (7f000001 -> 7f000101): the signature fails
        let pos = raw.windows(4).position(|w| w == [0x7f, 0, 0, 1]).unwrap();
        let mut bad = raw.clone();
        bad[pos + 2] ^= 1;
        assert_eq!(Enr::decode(&bad), Err(EnrError::Signature));
        // a flipped signature byte
        let mut bad = raw.clone();
        bad[5] ^= 0x80;
        assert_eq!(Enr::decode(&bad), Err(EnrError::Signature));
        // truncations never panic
        for n in 0..raw.len() {
            assert!(Enr::decode(&raw[..n]).is_err());
        }
        // trailing bytes
        let mut bad = raw.clone();
        bad.push(0);
        assert!(matches!(Enr::decode(&bad), Err(EnrError::Rlp(_))));
        // oversized
        assert_eq!(Enr::decode(&[0u8; 301]), Err(EnrError::TooLarge(301)));
        assert_eq!(Enr::from_text("enx:abc"), Err(EnrError::Text));
        assert_eq!(Enr::from_text("enr:!!!"), Err(EnrError::Text));
    }

    #[test]
    fn every_single_bit_flip_of_the_example_is_refused() {
        let raw = Enr::from_text(EIP778_TEXT).unwrap().as_bytes().to_vec();
        for i in 0..raw.len() {
            for bit in 0..8 {
                let mut bad = raw.clone();
                bad[i] ^= 1 << bit;
                assert!(Enr::decode(&bad).is_err(), "byte {i} bit {bit}");
            }
        }
    }

    /// Builds `[sig, seq, pairs...]` with a valid signature over arbitrary raw pairs.
    fn signed_raw(seq: u64, encoded_pairs: &[u8]) -> Vec<u8> {
        let hash = keccak256(&content(seq, encoded_pairs));
        let sig = key().sign_prehash_recoverable(&hash).unwrap();
        let mut body = Vec::new();
        rlp::encode_bytes(&mut body, &sig.as_bytes()[..64]);
        rlp::encode_uint(&mut body, seq);
        body.extend_from_slice(encoded_pairs);
        let mut raw = Vec::new();
        rlp::encode_list_header(&mut raw, body.len());
        raw.extend_from_slice(&body);
        raw
    }

    fn pairs(list: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in list {
            rlp::encode_bytes(&mut out, k);
            rlp::encode_bytes(&mut out, v);
        }
        out
    }

    #[test]
    fn structure_rules() {
        let pk = key().public_key().to_compressed();
        let ok = signed_raw(3, &pairs(&[(b"id", b"v4"), (b"secp256k1", &pk)]));
        assert_eq!(Enr::decode(&ok).unwrap().seq(), 3);
        // unsorted
        let bad = signed_raw(3, &pairs(&[(b"secp256k1", &pk), (b"id", b"v4")]));
        assert_eq!(Enr::decode(&bad), Err(EnrError::KeyOrder));
        // repeated
        let bad = signed_raw(
            3,
            &pairs(&[(b"id", b"v4"), (b"id", b"v4"), (b"secp256k1", &pk)]),
        );
        assert_eq!(Enr::decode(&bad), Err(EnrError::KeyOrder));
        // other scheme, no key
        let bad = signed_raw(3, &pairs(&[(b"id", b"v5"), (b"secp256k1", &pk)]));
        assert_eq!(Enr::decode(&bad), Err(EnrError::Scheme("v5".into())));
        let bad = signed_raw(3, &pairs(&[(b"id", b"v4")]));
        assert_eq!(Enr::decode(&bad), Err(EnrError::Missing("secp256k1")));
        // bad typed values
        let bad = signed_raw(
            3,
            &pairs(&[(b"id", b"v4"), (b"ip", &[1, 2, 3]), (b"secp256k1", &pk)]),
        );
        assert!(matches!(
            Enr::decode(&bad),
            Err(EnrError::Value { key: "ip", .. })
        ));
        let bad = signed_raw(
            3,
            &pairs(&[(b"id", b"v4"), (b"secp256k1", &pk), (b"tcp", &[1, 2, 3])]),
        );
        assert!(matches!(
            Enr::decode(&bad),
            Err(EnrError::Value { key: "tcp", .. })
        ));
        let bad = signed_raw(
            3,
            &pairs(&[
                (b"id", b"v4"),
                (b"multiaddrs", &[0, 9, 4]),
                (b"secp256k1", &pk),
            ]),
        );
        assert!(matches!(
            Enr::decode(&bad),
            Err(EnrError::Value {
                key: "multiaddrs",
                ..
            })
        ));
        let bad = signed_raw(
            3,
            &pairs(&[(b"id", b"v4"), (b"secp256k1", &pk), (b"waku2", &[1, 2])]),
        );
        assert!(matches!(
            Enr::decode(&bad),
            Err(EnrError::Value { key: "waku2", .. })
        ));
        // a key without a value
        let mut p = pairs(&[(b"id", b"v4"), (b"secp256k1", &pk)]);
        rlp::encode_bytes(&mut p, b"tcp");
        assert!(matches!(
            Enr::decode(&signed_raw(3, &p)),
            Err(EnrError::Structure(_))
        ));
    }

    #[test]
    fn waku_fields_round_trip() {
        let ws: Multiaddr = "/ip4/127.0.0.1/tcp/8001/ws".parse().unwrap();
        let fields = EnrFields {
            ip: Some(Ipv4Addr::new(127, 0, 0, 1)),
            tcp: Some(60000),
            waku2: Some(Waku2(Waku2::RELAY | Waku2::STORE)),
            multiaddrs: vec![ws.clone()],
            ..EnrFields::default()
        };
        let enr = Enr::sign(&key(), 7, &fields).unwrap();
        let back = Enr::from_text(&enr.to_text()).unwrap();
        assert_eq!(back, enr);
        assert_eq!(back.tcp().unwrap(), Some(60000));
        let w = back.waku2().unwrap().unwrap();
        assert!(w.relay() && w.store() && !w.filter() && !w.lightpush());
        assert_eq!(back.multiaddrs().unwrap(), vec![ws]);
        let peer = back.peer_id().unwrap();
        let addrs = back.dial_addrs().unwrap();
        assert_eq!(
            addrs[0].to_string(),
            format!("/ip4/127.0.0.1/tcp/60000/p2p/{peer}")
        );
        assert_eq!(
            addrs[1].to_string(),
            format!("/ip4/127.0.0.1/tcp/8001/ws/p2p/{peer}")
        );
        // a /p2p multiaddr is refused when building
        let with_p2p = EnrFields {
            multiaddrs: vec![addrs[0].clone()],
            ..EnrFields::default()
        };
        assert!(matches!(
            Enr::sign(&key(), 1, &with_p2p),
            Err(EnrError::Value { .. })
        ));
    }

    #[test]
    fn peer_id_matches_libp2p() {
        let secret = hex::decode(EIP778_KEY).unwrap();
        let sk = libp2p::identity::secp256k1::SecretKey::try_from_bytes(secret).unwrap();
        let kp = libp2p::identity::Keypair::from(libp2p::identity::secp256k1::Keypair::from(sk));
        let enr = Enr::sign_with_keypair(&kp, 1, &EnrFields::default()).unwrap();
        assert_eq!(enr.peer_id().unwrap(), kp.public().to_peer_id());
        let ed = libp2p::identity::Keypair::generate_ed25519();
        assert!(matches!(
            Enr::sign_with_keypair(&ed, 1, &EnrFields::default()),
            Err(EnrError::Sign(_))
        ));
    }
}
