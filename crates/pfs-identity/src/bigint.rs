//! The little big-integer arithmetic status-go does with `math/big`: remainder by a small
//! modulus and conversion to a small base, on unsigned big-endian byte strings.

/// Remainder of the big-endian unsigned integer `be` by `m`; `None` when `m == 0`.
///
/// ```
/// use pfs_identity::bigint::rem_small;
/// assert_eq!(rem_small(&[0x01, 0x00], 11), Some(256 % 11));
/// assert_eq!(
///     rem_small(&u64::MAX.to_be_bytes(), 1000),
///     Some((u64::MAX % 1000) as u32)
/// );
/// assert_eq!(rem_small(&[5], 0), None);
/// ```
pub fn rem_small(be: &[u8], m: u32) -> Option<u32> {
    if m == 0 {
        return None;
    }
    let m = u64::from(m);
    let r = be.iter().fold(0u64, |r, &b| ((r << 8) | u64::from(b)) % m);
    u32::try_from(r).ok()
}

/// The digits of the big-endian unsigned integer `be` in base `base`, most significant
/// first, without leading zeros; zero gives `[0]` (status-go `identity.ToBigBase`).
/// `None` when `base < 2`.
///
/// ```
/// use pfs_identity::bigint::to_base;
/// assert_eq!(to_base(&[0x01, 0x00], 10), Some(vec![2, 5, 6])); // 256
/// assert_eq!(to_base(&[0x00, 0xff], 16), Some(vec![15, 15]));
/// assert_eq!(to_base(&[], 160), Some(vec![0]));
/// assert_eq!(to_base(&[1], 1), None);
/// ```
pub fn to_base(be: &[u8], base: u32) -> Option<Vec<u32>> {
    if base < 2 {
        return None;
    }
    let b = u64::from(base);
    let mut num: Vec<u8> = strip_leading_zeros(be).to_vec();
    let mut digits = Vec::new();
    while !num.is_empty() {
        // One long division of `num` by `base`.
        let mut rem = 0u64;
        let mut quotient = Vec::with_capacity(num.len());
        for &byte in &num {
            let cur = (rem << 8) | u64::from(byte);
            let q = u8::try_from(cur / b).ok()?;
            rem = cur % b;
            if !(quotient.is_empty() && q == 0) {
                quotient.push(q);
            }
        }
        digits.push(u32::try_from(rem).ok()?);
        num = quotient;
    }
    if digits.is_empty() {
        digits.push(0);
    }
    digits.reverse();
    Some(digits)
}

/// `be` without its leading zero bytes (the minimal big-endian form, `big.Int.Bytes()`).
///
/// ```
/// use pfs_identity::bigint::strip_leading_zeros;
/// assert_eq!(strip_leading_zeros(&[0, 0, 7, 0]), &[7, 0]);
/// assert!(strip_leading_zeros(&[0, 0]).is_empty());
/// ```
pub fn strip_leading_zeros(be: &[u8]) -> &[u8] {
    let first = be.iter().position(|&b| b != 0).unwrap_or(be.len());
    be.get(first..).unwrap_or(&[])
}

/// Minimal lowercase hex of a big-endian integer as `big.Int.Text(16)` prints it:
/// no leading zeros, `"0"` for zero.
///
/// ```
/// use pfs_identity::bigint::minimal_hex;
/// assert_eq!(minimal_hex(&[0x00, 0x0a, 0xbc]), "abc");
/// assert_eq!(minimal_hex(&[0, 0]), "0");
/// ```
pub fn minimal_hex(be: &[u8]) -> String {
    let h = hex::encode(strip_leading_zeros(be));
    let t = h.trim_start_matches('0');
    if t.is_empty() {
        "0".to_owned()
    } else {
        t.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_cases() {
        assert_eq!(to_base(&[], 160), Some(vec![0]));
        assert_eq!(to_base(&[0, 0], 10), Some(vec![0]));
        assert_eq!(to_base(&[1, 0], 10), Some(vec![2, 5, 6]));
        assert_eq!(to_base(&[0xff, 0xff], 256), Some(vec![255, 255]));
        assert_eq!(to_base(&[1], 1), None);
        assert_eq!(rem_small(&[1, 0], 11), Some(256 % 11));
        assert_eq!(rem_small(&[1], 0), None);
        assert_eq!(minimal_hex(&[0, 0x0a, 0xbc]), "abc");
        assert_eq!(minimal_hex(&[0]), "0");
    }
}
