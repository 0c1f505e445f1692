//! Keccak-256 (Ethereum's, not SHA3-256) and SHA-256.

use sha3::Digest;

/// Keccak-256 of `data` (the original Keccak padding, as Ethereum uses it).
///
/// ```
/// use pfs_crypto::hash::keccak256;
/// // The well-known Keccak-256 of the empty string (SHA3-256 would give a7ffc6f8…).
/// assert_eq!(
///     hex::encode(keccak256(b"")),
///     "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
/// );
/// // The ERC-20 `transfer(address,uint256)` selector is the first four bytes.
/// assert_eq!(
///     hex::encode(&keccak256(b"transfer(address,uint256)")[..4]),
///     "a9059cbb"
/// );
/// ```
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    let mut h = sha3::Keccak256::new();
    h.update(data);
    h.finalize().into()
}

/// Keccak-256 of the concatenation of `parts`.
///
/// ```
/// use pfs_crypto::hash::{keccak256, keccak256_concat};
/// assert_eq!(
///     hex::encode(keccak256_concat(&[b"a", b"", b"bc"])),
///     "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45" // Keccak-256("abc")
/// );
/// assert_eq!(keccak256_concat(&[]), keccak256(b""));
/// ```
pub fn keccak256_concat(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = sha3::Keccak256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// SHA-256 of `data`.
///
/// ```
/// use pfs_crypto::hash::sha256;
/// // FIPS 180-2, appendix B.1.
/// assert_eq!(
///     hex::encode(sha256(b"abc")),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// SHA-256 of the concatenation of `parts`.
///
/// ```
/// use pfs_crypto::hash::{sha256, sha256_concat};
/// assert_eq!(
///     hex::encode(sha256_concat(&[])),
///     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" // SHA-256("")
/// );
/// assert_eq!(sha256_concat(&[b"ab", b"c"]), sha256(b"abc"));
/// ```
pub fn sha256_concat(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}
