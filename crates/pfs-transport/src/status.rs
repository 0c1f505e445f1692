//! Status's topic and key rules (status-protocol-go `transport/whisper`, identical to
//! status-go HEAD `protocol/transport/topic.go`).
//!
//! | filter | chat id (topic = `Topic::from_string(chat id)`) | encryption |
//! | --- | --- | --- |
//! | generic discovery | `contact-discovery` | asymmetric |
//! | personal discovery | `contact-discovery-<hex(uncompressed key)>` | asymmetric |
//! | partitioned | `contact-discovery-<decimal(X mod 5000)>` | asymmetric |
//! | contact code | `0x<hex(uncompressed key)>-contact-code` | symmetric, PBKDF2(chat id) |
//! | negotiated | topic string `hex(shared secret)` | symmetric, PBKDF2(hex(shared secret)) |

use crate::symmetric::{SymKey, SymmetricError};
use crate::topic::Topic;
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_crypto::{SecretBytes, SecretVec};

/// The generic discovery chat id.
pub const GENERIC_DISCOVERY: &str = "contact-discovery";
/// Number of partitions of the partitioned discovery topic.
pub const PARTITIONS: u32 = 5000;

/// What a filter listens to.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::status::{FilterKind, identity_filters, negotiated_filter};
///
/// let me = SecretKey::generate(&mut OsRandom)?;
/// let peer = SecretKey::generate(&mut OsRandom)?;
/// // discovery and partitioned filters decrypt with our key; contact code and negotiated ones symmetrically
/// for f in identity_filters(&me.public_key())?.iter().chain([&negotiated_filter(&me, &peer.public_key())?]) {
///     let symmetric = matches!(f.kind, FilterKind::ContactCode | FilterKind::Negotiated);
///     assert_eq!(f.sym_key.is_some(), symmetric, "{:?}", f.kind);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FilterKind {
    /// `contact-discovery-<X mod 5000>` of our key.
    Partitioned,
    /// `contact-discovery-<hex key>`.
    PersonalDiscovery,
    /// `contact-discovery`.
    GenericDiscovery,
    /// `0x<hex key>-contact-code`.
    ContactCode,
    /// The topic negotiated with one peer.
    Negotiated,
}

/// A filter description: what status-go's `InitFilters` / `LoadNegotiated` create.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::Topic;
/// use pfs_transport::status::{FilterKind, identity_filters};
///
/// let me = SecretKey::generate(&mut OsRandom)?.public_key();
/// let filters = identity_filters(&me)?;
/// let partitioned = filters.iter().find(|f| f.kind == FilterKind::Partitioned).ok_or("partitioned")?;
/// assert_eq!(partitioned.topic, Topic::from_string(&partitioned.chat_id));
/// assert!(partitioned.one_to_one && !partitioned.discovery && !partitioned.negotiated);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterSpec {
    /// Kind of filter.
    pub kind: FilterKind,
    /// The chat id (a local label; for negotiated filters it is not hashed).
    pub chat_id: String,
    /// The topic listened to.
    pub topic: Topic,
    /// The symmetric key, or `None` for filters decrypting with our private key.
    pub sym_key: Option<SymKey>,
    /// Whether the filter carries one-to-one messages.
    pub one_to_one: bool,
    /// Whether it is a discovery filter.
    pub discovery: bool,
    /// Whether it is a negotiated filter.
    pub negotiated: bool,
}

/// `value mod m` of a big-endian unsigned integer of any length (`m > 0`; 0 gives 0).
///
/// # Examples
///
/// ```
/// use pfs_transport::status::mod_be;
///
/// assert_eq!(mod_be(&[0x13, 0x89], 5000), 1); // 5001
/// // 2^64 = 18446744073709551616, which is 1616 mod 5000.
/// assert_eq!(mod_be(&[1, 0, 0, 0, 0, 0, 0, 0, 0], 5000), 1616);
/// assert_eq!(mod_be(&[0xff], 0), 0);
/// ```
pub fn mod_be(bytes: &[u8], m: u32) -> u32 {
    if m == 0 {
        return 0;
    }
    let m = u64::from(m);
    let r = bytes
        .iter()
        .fold(0u64, |acc, &b| ((acc << 8) | u64::from(b)) % m);
    // r < m ≤ u32::MAX
    u32::try_from(r).unwrap_or(0)
}

/// Lowercase hex without `0x`.
fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// The affine x coordinate of a public key, big-endian.
///
/// ```
/// use pfs_crypto::secp256k1::SecretKey;
/// use pfs_transport::status::x_coordinate;
///
/// // the key of the secret 1 is the generator G, whose x is 79be667e…16f81798 (SEC 2)
/// let mut one = [0u8; 32];
/// one[31] = 1;
/// let g = SecretKey::from_bytes(&one)?.public_key();
/// assert_eq!(hex::encode(x_coordinate(&g)), "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn x_coordinate(pk: &PublicKey) -> [u8; 32] {
    let u = pk.to_uncompressed();
    let mut x = [0u8; 32];
    x.copy_from_slice(u.get(1..33).unwrap_or(&[0u8; 32]));
    x
}

/// `X mod 5000` of the key.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::status::{PARTITIONS, mod_be, partition, x_coordinate};
///
/// let pk = SecretKey::generate(&mut OsRandom)?.public_key();
/// assert!(partition(&pk) < PARTITIONS);
/// assert_eq!(partition(&pk), mod_be(&x_coordinate(&pk), 5000));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn partition(pk: &PublicKey) -> u32 {
    mod_be(&x_coordinate(pk), PARTITIONS)
}

/// `contact-discovery-<decimal(X mod 5000)>`: where 1:1 messages to `pk` go.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::status::{partition, partitioned_chat_id};
///
/// let pk = SecretKey::generate(&mut OsRandom)?.public_key();
/// assert_eq!(partitioned_chat_id(&pk), format!("contact-discovery-{}", partition(&pk)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn partitioned_chat_id(pk: &PublicKey) -> String {
    format!("{GENERIC_DISCOVERY}-{}", partition(pk))
}

/// The partitioned topic of `pk`.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::Topic;
/// use pfs_transport::status::{partitioned_chat_id, partitioned_topic};
///
/// let pk = SecretKey::generate(&mut OsRandom)?.public_key();
/// assert_eq!(partitioned_topic(&pk), Topic::from_string(&partitioned_chat_id(&pk)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn partitioned_topic(pk: &PublicKey) -> Topic {
    Topic::from_string(&partitioned_chat_id(pk))
}

/// `contact-discovery-<hex(uncompressed key)>`.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::status::personal_discovery_chat_id;
///
/// let pk = SecretKey::generate(&mut OsRandom)?.public_key();
/// let id = personal_discovery_chat_id(&pk);
/// assert_eq!(id, format!("contact-discovery-{}", hex::encode(pk.to_uncompressed())));
/// assert!(id.starts_with("contact-discovery-04"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn personal_discovery_chat_id(pk: &PublicKey) -> String {
    format!("{GENERIC_DISCOVERY}-{}", hex_lower(&pk.to_uncompressed()))
}

/// `0x<hex(uncompressed key)>-contact-code`.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::status::contact_code_chat_id;
///
/// let pk = SecretKey::generate(&mut OsRandom)?.public_key();
/// assert_eq!(contact_code_chat_id(&pk), format!("0x{}-contact-code", hex::encode(pk.to_uncompressed())));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn contact_code_chat_id(pk: &PublicKey) -> String {
    format!("0x{}-contact-code", hex_lower(&pk.to_uncompressed()))
}

/// `0x<hex(their uncompressed key)>-negotiated`: a local label only.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::status::negotiated_chat_id;
///
/// let pk = SecretKey::generate(&mut OsRandom)?.public_key();
/// assert_eq!(negotiated_chat_id(&pk), format!("0x{}-negotiated", hex::encode(pk.to_uncompressed())));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn negotiated_chat_id(their: &PublicKey) -> String {
    format!("0x{}-negotiated", hex_lower(&their.to_uncompressed()))
}

/// The shared secret of two identity keys: the x coordinate of `ECDH(my, their)`.
///
/// ```
/// use pfs_crypto::{OsRandom, secp256k1::SecretKey};
/// use pfs_transport::status::shared_secret;
///
/// let alice = SecretKey::generate(&mut OsRandom)?;
/// let bob = SecretKey::generate(&mut OsRandom)?;
/// assert_eq!(shared_secret(&alice, &bob.public_key()), shared_secret(&bob, &alice.public_key()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn shared_secret(my: &SecretKey, their: &PublicKey) -> SecretBytes<32> {
    my.diffie_hellman(their)
}

/// `hex(shared_secret)`: the negotiated topic string and key password (secret).
///
/// ```
/// use pfs_crypto::SecretBytes;
/// use pfs_transport::status::negotiated_password;
///
/// let password = negotiated_password(&SecretBytes::new([0xab; 32]));
/// assert_eq!(password.expose(), "ab".repeat(32).as_bytes());
/// ```
pub fn negotiated_password(secret: &SecretBytes<32>) -> SecretVec {
    SecretVec::new(hex_lower(secret.expose()).into_bytes())
}

/// The negotiated topic `Topic(hex(secret))`.
///
/// ```
/// use pfs_crypto::SecretBytes;
/// use pfs_transport::Topic;
/// use pfs_transport::status::negotiated_topic;
///
/// assert_eq!(negotiated_topic(&SecretBytes::new([0xab; 32])), Topic::from_string(&"ab".repeat(32)));
/// ```
pub fn negotiated_topic(secret: &SecretBytes<32>) -> Topic {
    Topic::from_hash_input(negotiated_password(secret).expose())
}

/// The negotiated key `PBKDF2(hex(secret))`.
///
/// ```
/// use pfs_crypto::SecretBytes;
/// use pfs_transport::SymKey;
/// use pfs_transport::status::negotiated_key;
///
/// assert_eq!(negotiated_key(&SecretBytes::new([0xab; 32]))?, SymKey::from_password(&"ab".repeat(32))?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn negotiated_key(secret: &SecretBytes<32>) -> Result<SymKey, SymmetricError> {
    SymKey::from_password_bytes(negotiated_password(secret).expose())
}

/// The four filters status-go's `InitFilters` creates for an identity: contact code,
/// generic discovery, personal discovery and partitioned.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use pfs_crypto::OsRandom;
/// use pfs_crypto::secp256k1::SecretKey;
/// use pfs_transport::Topic;
/// use pfs_transport::status::{FilterKind, GENERIC_DISCOVERY, PARTITIONS, identity_filters, partition, partitioned_chat_id};
///
/// let pk = SecretKey::generate(&mut OsRandom)?.public_key();
/// let filters = identity_filters(&pk)?;
/// let kinds: Vec<FilterKind> = filters.iter().map(|f| f.kind).collect();
/// use FilterKind::*;
/// assert_eq!(kinds, [ContactCode, GenericDiscovery, PersonalDiscovery, Partitioned]);
/// assert!(filters[0].sym_key.is_some() && filters[0].chat_id.ends_with("-contact-code"));
/// assert_eq!(filters[1].topic, Topic::from_string(GENERIC_DISCOVERY));
/// assert!(partition(&pk) < PARTITIONS);
/// assert_eq!(filters[3].chat_id, partitioned_chat_id(&pk));
/// assert_eq!(filters[3].chat_id, format!("contact-discovery-{}", partition(&pk)));
/// # Ok(())
/// # }
/// ```
pub fn identity_filters(pk: &PublicKey) -> Result<Vec<FilterSpec>, SymmetricError> {
    let contact_code = contact_code_chat_id(pk);
    let personal = personal_discovery_chat_id(pk);
    let partitioned = partitioned_chat_id(pk);
    Ok(vec![
        FilterSpec {
            kind: FilterKind::ContactCode,
            topic: Topic::from_string(&contact_code),
            sym_key: Some(SymKey::from_password(&contact_code)?),
            chat_id: contact_code,
            one_to_one: false,
            discovery: false,
            negotiated: false,
        },
        FilterSpec {
            kind: FilterKind::GenericDiscovery,
            chat_id: GENERIC_DISCOVERY.to_owned(),
            topic: Topic::from_string(GENERIC_DISCOVERY),
            sym_key: None,
            one_to_one: true,
            discovery: true,
            negotiated: false,
        },
        FilterSpec {
            kind: FilterKind::PersonalDiscovery,
            topic: Topic::from_string(&personal),
            chat_id: personal,
            sym_key: None,
            one_to_one: true,
            discovery: true,
            negotiated: false,
        },
        FilterSpec {
            kind: FilterKind::Partitioned,
            topic: Topic::from_string(&partitioned),
            chat_id: partitioned,
            sym_key: None,
            one_to_one: true,
            discovery: false,
            negotiated: false,
        },
    ])
}

/// The negotiated filter `my` keeps for `their` key (status-go `LoadNegotiated`).
///
/// # Examples
///
/// Both sides derive the same topic and key from ECDH, each labelling it with the
/// other's key:
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use pfs_crypto::OsRandom;
/// use pfs_crypto::secp256k1::SecretKey;
/// use pfs_transport::status::{FilterKind, negotiated_chat_id, negotiated_filter};
///
/// let alice = SecretKey::generate(&mut OsRandom)?;
/// let bob = SecretKey::generate(&mut OsRandom)?;
/// let at_alice = negotiated_filter(&alice, &bob.public_key())?;
/// let at_bob = negotiated_filter(&bob, &alice.public_key())?;
/// assert_eq!(at_alice.topic, at_bob.topic);
/// assert_eq!(at_alice.sym_key, at_bob.sym_key);
/// assert_eq!(at_alice.kind, FilterKind::Negotiated);
/// assert_eq!(at_alice.chat_id, negotiated_chat_id(&bob.public_key()));
/// assert!(at_alice.chat_id.ends_with("-negotiated"));
/// # Ok(())
/// # }
/// ```
pub fn negotiated_filter(my: &SecretKey, their: &PublicKey) -> Result<FilterSpec, SymmetricError> {
    let secret = shared_secret(my, their);
    Ok(FilterSpec {
        kind: FilterKind::Negotiated,
        chat_id: negotiated_chat_id(their),
        topic: negotiated_topic(&secret),
        sym_key: Some(negotiated_key(&secret)?),
        one_to_one: true,
        discovery: false,
        negotiated: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mod_be_small_values() {
        assert_eq!(mod_be(&[], 5000), 0);
        assert_eq!(mod_be(&[0x13, 0x88], 5000), 0); // 5000
        assert_eq!(mod_be(&[0x13, 0x89], 5000), 1);
        // 2^64 mod 5000 = 18446744073709551616 mod 5000 = 1616
        assert_eq!(mod_be(&[1, 0, 0, 0, 0, 0, 0, 0, 0], 5000), 1616);
    }
}
