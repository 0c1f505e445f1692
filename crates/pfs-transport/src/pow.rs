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

use crate::envelope::Envelope;
use pfs_crypto::hash::{keccak256, keccak256_concat};

/// Which whisper proof-of-work formula to use. A network uses exactly one: an envelope
/// sealed with one formula is almost always far below the minimum under the other.
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

/// Computes PoW hashes of one envelope (its nonce-less part fixed) for any nonce.
#[derive(Debug, Clone)]
pub struct PowHasher {
    variant: PowVariant,
    prefix: Vec<u8>,
    divisor: usize,
}

impl PowHasher {
    /// Prepares the nonce-independent part of the PoW input of `env`.
    pub fn new(env: &Envelope, variant: PowVariant) -> Self {
        let rlp = env.rlp_without_nonce();
        match variant {
            PowVariant::V1_4_10 => {
                let mut prefix = Vec::with_capacity(56);
                prefix.extend_from_slice(&keccak256(&rlp));
                prefix.resize(56, 0);
                Self {
                    variant,
                    prefix,
                    divisor: env.size(),
                }
            }
            PowVariant::V1_5_2 => {
                let divisor = rlp.len();
                Self {
                    variant,
                    prefix: rlp,
                    divisor,
                }
            }
        }
    }

    /// The bytes hashed for `nonce`.
    pub fn input(&self, nonce: u64) -> Vec<u8> {
        let mut v = self.prefix.clone();
        v.extend_from_slice(&nonce.to_be_bytes());
        v
    }

    /// The Keccak-256 of [`PowHasher::input`].
    pub fn hash(&self, nonce: u64) -> [u8; 32] {
        keccak256_concat(&[&self.prefix, &nonce.to_be_bytes()])
    }

    /// The number of zero bits counted by this variant for `nonce`.
    pub fn zero_bits(&self, nonce: u64) -> u32 {
        let h = self.hash(nonce);
        match self.variant {
            PowVariant::V1_4_10 => trailing_zero_bits(&h),
            PowVariant::V1_5_2 => leading_zero_bits(&h),
        }
    }

    /// The divisor of this variant (size, or length of the nonce-less RLP).
    pub const fn divisor(&self) -> usize {
        self.divisor
    }

    /// `2^bits / divisor / ttl` as whisper computes it in `float64`.
    pub fn pow(&self, nonce: u64, ttl: u64) -> f64 {
        pow_value(self.zero_bits(nonce), self.divisor, ttl)
    }
}

/// `2^bits / divisor / ttl`, dividing in that order as Go does.
pub fn pow_value(bits: u32, divisor: usize, ttl: u64) -> f64 {
    let two_pow = f64::from_bits((1023 + u64::from(bits.min(1023))) << 52);
    two_pow / divisor as f64 / ttl as f64
}

/// Trailing zero bits of a hash read as a big-endian integer (go-ethereum
/// `math.FirstBitSet`, which returns 0 for the zero value).
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
    use super::*;

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
