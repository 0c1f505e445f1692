//! Whisper proof of work, in the two incompatible variants status networks used.
//!
//! Both give `PoW = 2^bits / divisor / TTL`:
//!
//! | variant | hashed input | `bits` | divisor |
//! | --- | --- | --- | --- |
//! | [`PowVariant::V1_4_10`] | `Keccak256(rlp_without_nonce) ‖ 24 zero bytes ‖ BE64(nonce)` | trailing zero bits of the Keccak-256 | `size = 20 + len(data)` |
//! | [`PowVariant::V1_5_2`] | `rlp_without_nonce ‖ BE64(nonce)` | leading zero bits of the Keccak-256 | `len(rlp_without_nonce)` |
//!
//! Sealing searches the smallest nonce whose `bits` reach
//! `max(1, ceil(log2(pow_target × size × TTL)))` (the same target rule in both variants),
//! within a caller-given number of iterations instead of a wall-clock time.
//!
//! In both variants the nonce is the last 8 bytes of the hashed input, after a prefix that
//! is the same for every nonce. [`PowHasher`] feeds that prefix to a [`sha3::Keccak256`]
//! hasher once and, per nonce, clones the hasher and feeds it only the 8-byte nonce (the
//! clone keeps the prefix's last partial block buffered, so finalizing costs one or two
//! permutations). So trying a nonce costs the same for a 200 kB envelope as for a
//! 200-byte one, where hashing the whole envelope again made sealing 200 kB take seconds;
//! the hashes are those of Keccak-256 over the whole input.

use crate::envelope::Envelope;
use pfs_crypto::hash::keccak256;
use sha3::{Digest, Keccak256};

/// Which whisper proof-of-work formula to use. A network uses exactly one: an envelope
/// sealed with one formula is almost always far below the minimum under the other.
///
/// ```
/// use pfs_transport::pow::PowHasher;
/// use pfs_transport::{Envelope, PowVariant, Topic};
///
/// let env = Envelope { expiry: 60, ttl: 50, topic: Topic([1, 2, 3, 4]), data: vec![9; 40], nonce: 0 };
/// // the two variants divide by different lengths: the envelope size, or its nonce-less RLP
/// assert_eq!(PowHasher::new(&env, PowVariant::V1_4_10).divisor(), env.size());
/// assert_eq!(PowHasher::new(&env, PowVariant::V1_5_2).divisor(), env.rlp_without_nonce().len());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PowVariant {
    /// whisper ≤ v1.4.14 (status-go until 2019-10-09): trailing zero bits of
    /// `Keccak256(Keccak256(rlp_without_nonce) ‖ 0^24 ‖ BE64(nonce))`, divided by the size.
    V1_4_10,
    /// whisper ≥ v1.5.1, v1.6.1 and Waku v1: leading zero bits of
    /// `Keccak256(rlp_without_nonce ‖ BE64(nonce))`, divided by the RLP length.
    V1_5_2,
}

/// Errors of sealing.
///
/// ```
/// use pfs_transport::pow::{self, PowError};
/// use pfs_transport::{Envelope, PowVariant, Topic};
///
/// let mut env = Envelope { expiry: 60, ttl: 50, topic: Topic([1, 2, 3, 4]), data: vec![9; 40], nonce: 0 };
/// assert_eq!(pow::seal(&mut env, PowVariant::V1_5_2, -1.0, 10), Err(PowError::InvalidTarget(-1.0)));
/// assert!(matches!(pow::seal(&mut env, PowVariant::V1_5_2, 1e9, 10), Err(PowError::WorkLimit { iterations: 10, .. })));
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PowError {
    /// The PoW target is negative, NaN or infinite.
    #[error("invalid proof-of-work target {0}")]
    InvalidTarget(f64),
    /// No nonce within the work limit reached the target.
    #[error("proof-of-work target of {target_bits} bits not reached in {iterations} iterations")]
    WorkLimit {
        /// Bits required.
        target_bits: u32,
        /// Nonces tried.
        iterations: u64,
    },
}

/// A Keccak-256 hasher that has been fed `prefix`.
fn absorb(prefix: &[u8]) -> Keccak256 {
    let mut h = Keccak256::new();
    h.update(prefix);
    h
}

/// Keccak-256(prefix ‖ suffix), from a clone of a hasher fed `prefix` by [`absorb`].
fn hash_with(absorbed: &Keccak256, suffix: &[u8; 8]) -> [u8; 32] {
    let mut h = absorbed.clone();
    h.update(suffix);
    h.finalize().into()
}

/// Computes PoW hashes of one envelope (its nonce-less part fixed) for any nonce.
///
/// ```
/// use pfs_crypto::hash::keccak256;
/// use pfs_transport::pow::{PowHasher, leading_zero_bits, pow_value};
/// use pfs_transport::{Envelope, PowVariant, Topic};
///
/// let env = Envelope { expiry: 60, ttl: 50, topic: Topic([1, 2, 3, 4]), data: vec![9; 300], nonce: 0 };
/// let h = PowHasher::new(&env, PowVariant::V1_5_2);
/// // V1_5_2 hashes rlp_without_nonce ‖ BE64(nonce)
/// let mut input = env.rlp_without_nonce();
/// input.extend_from_slice(&7u64.to_be_bytes());
/// assert_eq!(h.input(7), input);
/// assert_eq!(h.hash(7), keccak256(&input));
/// assert_eq!(h.zero_bits(7), leading_zero_bits(&keccak256(&input)));
/// assert_eq!(h.pow(7, 50), pow_value(h.zero_bits(7), h.divisor(), 50));
/// ```
#[derive(Debug, Clone)]
pub struct PowHasher {
    variant: PowVariant,
    prefix: Vec<u8>,
    /// A Keccak-256 hasher fed `prefix` once: each nonce only costs the last block or two.
    absorbed: Keccak256,
    divisor: usize,
}

impl PowHasher {
    /// Prepares the nonce-independent part of the PoW input of `env`.
    ///
    /// ```
    /// use pfs_crypto::hash::keccak256;
    /// use pfs_transport::pow::PowHasher;
    /// use pfs_transport::{Envelope, PowVariant, Topic};
    ///
    /// let env = Envelope { expiry: 60, ttl: 50, topic: Topic([1, 2, 3, 4]), data: vec![9; 40], nonce: 0 };
    /// let h = PowHasher::new(&env, PowVariant::V1_4_10);
    /// // V1_4_10 hashes Keccak256(rlp_without_nonce) ‖ 24 zero bytes ‖ BE64(nonce)
    /// let mut input = keccak256(&env.rlp_without_nonce()).to_vec();
    /// input.extend_from_slice(&[0; 24]);
    /// input.extend_from_slice(&1u64.to_be_bytes());
    /// assert_eq!(h.input(1), input);
    /// assert_eq!(h.hash(1), keccak256(&input));
    /// ```
    pub fn new(env: &Envelope, variant: PowVariant) -> Self {
        let rlp = env.rlp_without_nonce();
        match variant {
            PowVariant::V1_4_10 => {
                let mut prefix = Vec::with_capacity(56);
                prefix.extend_from_slice(&keccak256(&rlp));
                prefix.resize(56, 0);
                Self {
                    variant,
                    absorbed: absorb(&prefix),
                    prefix,
                    divisor: env.size(),
                }
            }
            PowVariant::V1_5_2 => {
                let divisor = rlp.len();
                Self {
                    variant,
                    absorbed: absorb(&rlp),
                    prefix: rlp,
                    divisor,
                }
            }
        }
    }

    /// The bytes hashed for `nonce`.
    ///
    /// ```
    /// use pfs_transport::pow::PowHasher;
    /// use pfs_transport::{Envelope, PowVariant, Topic};
    ///
    /// let env = Envelope { expiry: 60, ttl: 50, topic: Topic([1, 2, 3, 4]), data: vec![9; 40], nonce: 0 };
    /// let h = PowHasher::new(&env, PowVariant::V1_5_2);
    /// // the nonce is the last 8 bytes, big-endian
    /// assert_eq!(h.input(0x0102)[h.input(0).len() - 8..], [0, 0, 0, 0, 0, 0, 1, 2]);
    /// assert_eq!(h.input(5).len(), env.rlp_without_nonce().len() + 8);
    /// ```
    pub fn input(&self, nonce: u64) -> Vec<u8> {
        let mut v = self.prefix.clone();
        v.extend_from_slice(&nonce.to_be_bytes());
        v
    }

    /// The Keccak-256 of [`PowHasher::input`], without hashing the prefix again.
    ///
    /// ```
    /// use pfs_crypto::hash::keccak256;
    /// use pfs_transport::pow::PowHasher;
    /// use pfs_transport::{Envelope, PowVariant, Topic};
    ///
    /// let env = Envelope { expiry: 60, ttl: 50, topic: Topic([1, 2, 3, 4]), data: vec![9; 40], nonce: 0 };
    /// for variant in [PowVariant::V1_4_10, PowVariant::V1_5_2] {
    ///     let h = PowHasher::new(&env, variant);
    ///     assert_eq!(h.hash(42), keccak256(&h.input(42)));
    /// }
    /// ```
    pub fn hash(&self, nonce: u64) -> [u8; 32] {
        hash_with(&self.absorbed, &nonce.to_be_bytes())
    }

    /// The number of zero bits counted by this variant for `nonce`.
    ///
    /// ```
    /// use pfs_transport::pow::{PowHasher, leading_zero_bits, trailing_zero_bits};
    /// use pfs_transport::{Envelope, PowVariant, Topic};
    ///
    /// let env = Envelope { expiry: 60, ttl: 50, topic: Topic([1, 2, 3, 4]), data: vec![9; 40], nonce: 0 };
    /// let old = PowHasher::new(&env, PowVariant::V1_4_10);
    /// let new = PowHasher::new(&env, PowVariant::V1_5_2);
    /// assert_eq!(old.zero_bits(9), trailing_zero_bits(&old.hash(9)));
    /// assert_eq!(new.zero_bits(9), leading_zero_bits(&new.hash(9)));
    /// ```
    pub fn zero_bits(&self, nonce: u64) -> u32 {
        let h = self.hash(nonce);
        match self.variant {
            PowVariant::V1_4_10 => trailing_zero_bits(&h),
            PowVariant::V1_5_2 => leading_zero_bits(&h),
        }
    }

    /// The divisor of this variant (size, or length of the nonce-less RLP).
    ///
    /// ```
    /// use pfs_transport::pow::PowHasher;
    /// use pfs_transport::{Envelope, PowVariant, Topic};
    ///
    /// let env = Envelope { expiry: 60, ttl: 50, topic: Topic([1, 2, 3, 4]), data: vec![9; 40], nonce: 0 };
    /// assert_eq!(PowHasher::new(&env, PowVariant::V1_4_10).divisor(), 20 + 40);
    /// assert_eq!(PowHasher::new(&env, PowVariant::V1_5_2).divisor(), env.rlp_without_nonce().len());
    /// ```
    pub const fn divisor(&self) -> usize {
        self.divisor
    }

    /// `2^bits / divisor / ttl` as whisper computes it in `float64`.
    ///
    /// ```
    /// use pfs_transport::pow::{PowHasher, pow_value};
    /// use pfs_transport::{Envelope, PowVariant, Topic};
    ///
    /// let env = Envelope { expiry: 60, ttl: 50, topic: Topic([1, 2, 3, 4]), data: vec![9; 40], nonce: 0 };
    /// let h = PowHasher::new(&env, PowVariant::V1_5_2);
    /// assert_eq!(h.pow(3, 50), pow_value(h.zero_bits(3), h.divisor(), 50));
    /// // a longer TTL lowers the PoW of the same work
    /// assert!(h.pow(3, 100) < h.pow(3, 50));
    /// ```
    pub fn pow(&self, nonce: u64, ttl: u64) -> f64 {
        pow_value(self.zero_bits(nonce), self.divisor, ttl)
    }
}

/// `2^bits / divisor / ttl`, dividing in that order as Go does.
///
/// ```
/// use pfs_transport::pow::pow_value;
/// // 2^20 / 1024 / 4 = 256
/// assert_eq!(pow_value(20, 1024, 4), 256.0);
/// ```
pub fn pow_value(bits: u32, divisor: usize, ttl: u64) -> f64 {
    let two_pow = f64::from_bits((1023 + u64::from(bits.min(1023))) << 52);
    two_pow / divisor as f64 / ttl as f64
}

/// Trailing zero bits of a hash read as a big-endian integer (go-ethereum
/// `math.FirstBitSet`, which returns 0 for the zero value).
///
/// ```
/// use pfs_transport::pow::trailing_zero_bits;
///
/// let mut h = [0u8; 32];
/// h[30] = 0x10; // the last byte is 0, then 4 more zero bits
/// assert_eq!(trailing_zero_bits(&h), 8 + 4);
/// assert_eq!(trailing_zero_bits(&[0; 32]), 0); // go-ethereum's FirstBitSet of zero
/// ```
pub fn trailing_zero_bits(h: &[u8; 32]) -> u32 {
    let mut n = 0;
    for &b in h.iter().rev() {
        if b == 0 {
            n += 8;
        } else {
            return n + b.trailing_zeros();
        }
    }
    0
}

/// Leading zero bits of a hash read as a big-endian integer (`256 − BitLen`).
///
/// ```
/// use pfs_transport::pow::{leading_zero_bits, trailing_zero_bits};
/// let mut h = [0xffu8; 32];
/// h[0] = 0x00;
/// h[1] = 0x0f;
/// assert_eq!(leading_zero_bits(&h), 8 + 4);
/// h[31] = 0x80;
/// assert_eq!(trailing_zero_bits(&h), 7);
/// assert_eq!(leading_zero_bits(&[0; 32]), 256);
/// ```
pub fn leading_zero_bits(h: &[u8; 32]) -> u32 {
    let mut n = 0;
    for &b in h {
        if b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

/// The sealing target `max(1, ceil(log2(pow_target × size × ttl)))`.
///
/// The ceiling of the base-2 logarithm is taken exactly from the floating-point
/// representation (as Go's `math.Log2` does for the exponent part), so it does not depend
/// on a platform `log2`.
///
/// ```
/// use pfs_transport::pow::target_bits;
/// // ceil(log2(0.002 × 512 × 10)) = ceil(log2(10.24)) = 4
/// assert_eq!(target_bits(0.002, 512, 10)?, 4);
/// // an exact power of two is not rounded up: log2(1 × 256 × 4) = 10
/// assert_eq!(target_bits(1.0, 256, 4)?, 10);
/// assert_eq!(target_bits(0.0, 512, 10)?, 1, "at least one bit");
/// assert!(target_bits(f64::NAN, 512, 10).is_err());
/// # Ok::<(), pfs_transport::pow::PowError>(())
/// ```
pub fn target_bits(pow_target: f64, size: usize, ttl: u32) -> Result<u32, PowError> {
    if !pow_target.is_finite() || pow_target < 0.0 {
        return Err(PowError::InvalidTarget(pow_target));
    }
    let x = pow_target * size as f64 * f64::from(ttl);
    if !x.is_finite() {
        return Err(PowError::InvalidTarget(pow_target));
    }
    if x <= 0.0 || !x.is_normal() {
        return Ok(1);
    }
    let bits = x.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mantissa = bits & ((1u64 << 52) - 1);
    let ceil = exponent + i64::from(mantissa != 0);
    Ok(u32::try_from(ceil.max(1)).unwrap_or(1))
}

/// Seals `env`: sets its nonce to the smallest one reaching the target, trying at most
/// `max_iterations` nonces. A target of 0 leaves the nonce at 0 and returns `None`;
/// otherwise the target in bits is returned.
///
/// ```
/// use pfs_transport::pow::{self, PowHasher, target_bits};
/// use pfs_transport::{Envelope, PowVariant, Topic};
///
/// let mut env = Envelope { expiry: 60, ttl: 50, topic: Topic([1, 2, 3, 4]), data: vec![9; 40], nonce: 0 };
/// let bits = pow::seal(&mut env, PowVariant::V1_5_2, 0.002, 1 << 20)?.ok_or("no target")?;
/// assert_eq!(bits, target_bits(0.002, env.size(), 50)?);
/// let h = PowHasher::new(&env, PowVariant::V1_5_2);
/// assert!(h.zero_bits(env.nonce) >= bits);
/// // the smallest such nonce
/// assert!((0..env.nonce).all(|n| h.zero_bits(n) < bits));
/// assert_eq!(pow::seal(&mut env, PowVariant::V1_5_2, 0.0, 0)?, None);
/// assert_eq!(env.nonce, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn seal(
    env: &mut Envelope,
    variant: PowVariant,
    pow_target: f64,
    max_iterations: u64,
) -> Result<Option<u32>, PowError> {
    if pow_target == 0.0 {
        env.nonce = 0;
        return Ok(None);
    }
    let target = target_bits(pow_target, env.size(), env.ttl)?;
    let hasher = PowHasher::new(env, variant);
    for nonce in 0..max_iterations {
        if hasher.zero_bits(nonce) >= target {
            env.nonce = nonce;
            return Ok(Some(target));
        }
    }
    Err(PowError::WorkLimit {
        target_bits: target,
        iterations: max_iterations,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use pfs_crypto::hash::keccak256_concat;

    /// Deterministic test bytes.
    fn bytes(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i.wrapping_mul(131) as u8) ^ seed.wrapping_mul(29))
            .collect()
    }

    /// Keccak-256 rate (bytes absorbed per permutation): 1600 − 2 × 256 bits.
    const RATE: usize = 136;

    /// The clone-based hash (prefix fed once, hasher cloned per suffix) equals a one-shot
    /// Keccak-256 of prefix ‖ suffix at every prefix length around the block boundaries
    /// (tail + suffix in one block, exactly filling it, spilling into a second), and for
    /// empty and multi-block prefixes; and hashing one suffix leaves the absorbed hasher
    /// unchanged for the next.
    #[test]
    fn absorbed_prefix_hash_is_keccak256_of_the_whole_input() {
        let lengths = (0..=3 * RATE + 10).chain([10 * RATE - 1, 10 * RATE, 10 * RATE + 1]);
        for len in lengths {
            let prefix = bytes(len, len as u8);
            let absorbed = absorb(&prefix);
            for suffix in [[0u8; 8], [0xff; 8], 0x0123_4567_89ab_cdefu64.to_be_bytes()] {
                assert_eq!(
                    hash_with(&absorbed, &suffix),
                    keccak256_concat(&[&prefix, &suffix]),
                    "prefix length {len}"
                );
            }
        }
    }

    /// The straightforward computation: hash the whole input again for every nonce.
    fn naive_zero_bits(env: &Envelope, variant: PowVariant, nonce: u64) -> u32 {
        let rlp = env.rlp_without_nonce();
        let input = match variant {
            PowVariant::V1_4_10 => {
                let mut v = keccak256(&rlp).to_vec();
                v.resize(56, 0);
                v
            }
            PowVariant::V1_5_2 => rlp,
        };
        let h = keccak256_concat(&[&input, &nonce.to_be_bytes()]);
        match variant {
            PowVariant::V1_4_10 => trailing_zero_bits(&h),
            PowVariant::V1_5_2 => leading_zero_bits(&h),
        }
    }

    /// The straightforward seal: the first nonce whose whole-input hash reaches the target.
    fn naive_seal(env: &Envelope, variant: PowVariant, pow_target: f64) -> u64 {
        let target = target_bits(pow_target, env.size(), env.ttl).unwrap();
        (0..1u64 << 24)
            .find(|&n| naive_zero_bits(env, variant, n) >= target)
            .unwrap()
    }

    #[test]
    fn pow_matches_the_straightforward_computation() {
        // Data lengths on both sides of the 136-byte block boundaries of the RLP.
        for (i, len) in [0usize, 1, 100, 113, 114, 120, 121, 250, 257, 1000, 4096]
            .into_iter()
            .enumerate()
        {
            let env = Envelope {
                expiry: 1_700_000_000 + i as u32,
                ttl: 10 + i as u32,
                topic: crate::topic::Topic::from_string(&format!("topic {i}")),
                data: bytes(len, i as u8),
                nonce: 0,
            };
            for variant in [PowVariant::V1_4_10, PowVariant::V1_5_2] {
                let hasher = PowHasher::new(&env, variant);
                for nonce in [0u64, 1, 2, 255, 256, 65_537, u64::MAX] {
                    let mut input = hasher.input(nonce);
                    assert_eq!(hasher.hash(nonce), keccak256(&input), "len {len}");
                    assert_eq!(
                        hasher.zero_bits(nonce),
                        naive_zero_bits(&env, variant, nonce),
                        "len {len} {variant:?} nonce {nonce}"
                    );
                    input.truncate(input.len() - 8);
                    assert_eq!(input, hasher.prefix);
                }
                // Sealing finds the same nonce as the straightforward search.
                let target = 0.01;
                let mut sealed = env.clone();
                let bits = seal(&mut sealed, variant, target, 1 << 24).unwrap();
                assert_eq!(sealed.nonce, naive_seal(&env, variant, target), "len {len}");
                assert!(naive_zero_bits(&env, variant, sealed.nonce) >= bits.unwrap());
            }
        }
    }

    #[test]
    fn bit_counts() {
        let mut h = [0u8; 32];
        h[31] = 0b1000;
        assert_eq!(trailing_zero_bits(&h), 3);
        assert_eq!(leading_zero_bits(&h), 252);
        h[0] = 0x10;
        assert_eq!(leading_zero_bits(&h), 3);
        assert_eq!(leading_zero_bits(&[0u8; 32]), 256);
        assert_eq!(trailing_zero_bits(&[0u8; 32]), 0);
    }

    #[test]
    fn target_rule() {
        // 0.002 × 304 × 10 = 6.08 → ceil(log2) = 3
        assert_eq!(target_bits(0.002, 304, 10), Ok(3));
        // exact powers of two are not rounded up
        assert_eq!(target_bits(1.0, 8, 1), Ok(3));
        assert_eq!(target_bits(0.0001, 20, 1), Ok(1));
        assert!(target_bits(-1.0, 20, 1).is_err());
        assert!(target_bits(f64::NAN, 20, 1).is_err());
    }
}
