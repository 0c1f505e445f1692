//! Per-value encryption of secrets at rest (used by the SQLite store).
//!
//! A sealed value is `nonce(12) ‖ AES-256-GCM ciphertext ‖ tag(16)` under the store key,
//! with a fresh random nonce and associated data that names the table, the column and
//! the row's identifying columns (see [`aad`]). Opening a value with the AAD of another
//! row, column or table fails authentication.

use crate::{StoreError, StoreKey};
use pfs_crypto::cipher::{GCM_NONCE_LEN, GCM_TAG_LEN, aes256_gcm_open, aes256_gcm_seal};
use pfs_crypto::{RandomSource, SecretBytes, SecretVec, ct_eq};
use std::collections::HashMap;

/// Domain separator at the start of every AAD (bumped only with a new encryption scheme).
const AAD_DOMAIN: &[u8] = b"pfs-store/v1";

/// The plaintext of the key-check value kept in the meta table.
pub(crate) const KEY_CHECK_PLAINTEXT: &[u8] = b"pfs-store key check v1";

/// Length of the PBKDF2 salt.
pub(crate) const SALT_LEN: usize = 16;

/// Associated data: domain ‖ table ‖ column ‖ each identifying column, every part
/// prefixed by its length as a 4-byte big-endian integer (so no two lists of parts
/// encode alike).
pub(crate) fn aad(table: &str, column: &str, ids: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    let parts = [AAD_DOMAIN, table.as_bytes(), column.as_bytes()];
    for p in parts.iter().chain(ids.iter()) {
        // Identifying columns are short (keys, ids): their length fits a u32.
        let len = u32::try_from(p.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// Seals `plaintext` with a fresh nonce from `rng`.
pub(crate) fn seal(
    key: &StoreKey,
    rng: &mut dyn RandomSource,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let mut nonce = [0u8; GCM_NONCE_LEN];
    rng.fill_bytes(&mut nonce)
        .map_err(|e| StoreError::Io(format!("no randomness for a nonce: {e}")))?;
    let ct = aes256_gcm_seal(key.expose(), &nonce, aad, plaintext)
        .map_err(|e| StoreError::Io(format!("encryption failed: {e}")))?;
    let mut out = Vec::with_capacity(GCM_NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Opens a sealed value; any failure (short, tampered, wrong row, wrong key) is
/// [`StoreError::Corrupt`] naming `what`.
pub(crate) fn open(
    key: &StoreKey,
    aad: &[u8],
    sealed: &[u8],
    what: &str,
) -> Result<SecretVec, StoreError> {
    if sealed.len() < GCM_NONCE_LEN + GCM_TAG_LEN {
        return Err(StoreError::Corrupt(format!(
            "{what}: sealed value too short"
        )));
    }
    let (nonce, ct) = sealed.split_at(GCM_NONCE_LEN);
    let mut n = [0u8; GCM_NONCE_LEN];
    n.copy_from_slice(nonce);
    aes256_gcm_open(key.expose(), &n, aad, ct)
        .map(SecretVec::new)
        .map_err(|_| StoreError::Corrupt(format!("{what}: failed authentication")))
}

/// Opens a sealed 32-byte secret.
pub(crate) fn open32(
    key: &StoreKey,
    aad: &[u8],
    sealed: &[u8],
    what: &'static str,
) -> Result<SecretBytes<32>, StoreError> {
    let pt = open(key, aad, sealed, what)?;
    SecretBytes::from_slice(what, pt.expose())
        .map_err(|_| StoreError::Corrupt(format!("{what}: wrong length")))
}

/// Entries kept by a [`SealCache`] before it starts over.
const SEAL_CACHE_MAX: usize = 1024;

/// Remembers, per AAD, one 32-byte secret and a sealing of it, for secrets that are
/// written and read again and again unchanged (a session's X3DH shared secret is
/// re-written with every ratchet step, our prekey secrets are read for every bundle).
///
/// Each entry is a fact independent of what the database holds: `sealed` is a valid
/// sealing of `plaintext` under the store key and `aad`. So a rolled-back transaction
/// cannot make an entry wrong. Writing a value equal to the cached one re-uses the cached
/// sealing (same bytes as before: no new nonce is used with the key); reading exactly
/// the cached sealed bytes returns the cached plaintext (what authenticated decryption
/// of those bytes gives). Any other bytes are opened, and authenticated, as usual.
#[derive(Default)]
pub(crate) struct SealCache {
    map: HashMap<Vec<u8>, (SecretBytes<32>, Vec<u8>)>,
}

impl SealCache {
    fn remember(&mut self, aad: Vec<u8>, plaintext: SecretBytes<32>, sealed: Vec<u8>) {
        if self.map.len() >= SEAL_CACHE_MAX && !self.map.contains_key(&aad) {
            self.map.clear();
        }
        self.map.insert(aad, (plaintext, sealed));
    }

    /// [`open32`], skipping the decryption when `sealed` is the cached sealing for `aad`.
    pub(crate) fn open32(
        &mut self,
        key: &StoreKey,
        aad: Vec<u8>,
        sealed: &[u8],
        what: &'static str,
    ) -> Result<SecretBytes<32>, StoreError> {
        if let Some((pt, s)) = self.map.get(&aad)
            && s.as_slice() == sealed
        {
            return Ok(pt.clone());
        }
        let pt = open32(key, &aad, sealed, what)?;
        self.remember(aad, pt.clone(), sealed.to_vec());
        Ok(pt)
    }

    /// [`seal`] of a 32-byte secret, re-using the cached sealing when the value is the
    /// cached one.
    pub(crate) fn seal32(
        &mut self,
        key: &StoreKey,
        rng: &mut dyn RandomSource,
        aad: Vec<u8>,
        plaintext: &SecretBytes<32>,
    ) -> Result<Vec<u8>, StoreError> {
        if let Some((pt, s)) = self.map.get(&aad)
            && ct_eq(pt.expose(), plaintext.expose())
        {
            return Ok(s.clone());
        }
        let sealed = seal(key, rng, &aad, plaintext.expose())?;
        self.remember(aad, plaintext.clone(), sealed.clone());
        Ok(sealed)
    }
}

/// Domain separator at the start of every row-authentication input (schema version 2).
const ROW_DOMAIN: &[u8] = b"pfs-store/v2";

/// Label from which the row-authentication key is derived from the store key.
const ROW_KEY_LABEL: &[u8] = b"pfs-store/v2 row authentication key";

/// Length of a row tag (HMAC-SHA256).
pub(crate) const ROW_MAC_LEN: usize = 32;

/// The key of the row tags: HMAC-SHA256(store key, label), so that the AES-GCM key of
/// the sealed values is never used as an HMAC key too.
pub(crate) fn row_key(key: &StoreKey) -> SecretBytes<32> {
    SecretBytes::new(pfs_crypto::kdf::hmac_sha256(key.expose(), ROW_KEY_LABEL))
}

/// One column value as the row tag sees it: its SQLite type and its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RowValue<'a> {
    /// NULL.
    Null,
    /// An integer (8 bytes big-endian in the tag input).
    Integer(i64),
    /// A floating-point value (its IEEE-754 bits; no table of ours holds one).
    Real(f64),
    /// Text (its bytes as stored).
    Text(&'a [u8]),
    /// A blob.
    Blob(&'a [u8]),
}

/// The tag of one row: HMAC-SHA256(row key, domain ‖ table ‖ "row" ‖ each column value
/// in schema order as `type tag(1) ‖ bytes`), every part prefixed by its length as a
/// 4-byte big-endian integer. The primary key columns are among the values, so a tag is
/// bound to its row: moving a tag, or any column, to another row fails, and so does
/// changing a value's type (the integer 1 and the text "1" differ).
pub(crate) fn row_mac(
    row_key: &SecretBytes<32>,
    table: &str,
    values: &[RowValue<'_>],
) -> [u8; ROW_MAC_LEN] {
    let mut input = Vec::with_capacity(160);
    let mut part = |tag: Option<u8>, bytes: &[u8]| {
        // Column values are short (keys, ids, names): their length fits a u32.
        let len = bytes.len() + usize::from(tag.is_some());
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        input.extend_from_slice(&len.to_be_bytes());
        if let Some(t) = tag {
            input.push(t);
        }
        input.extend_from_slice(bytes);
    };
    part(None, ROW_DOMAIN);
    part(None, table.as_bytes());
    part(None, b"row");
    for v in values {
        match *v {
            RowValue::Null => part(Some(0), &[]),
            RowValue::Integer(i) => part(Some(1), &i.to_be_bytes()),
            RowValue::Real(f) => part(Some(2), &f.to_bits().to_be_bytes()),
            RowValue::Text(t) => part(Some(3), t),
            RowValue::Blob(b) => part(Some(4), b),
        }
    }
    pfs_crypto::kdf::hmac_sha256(row_key.expose(), &input)
}

/// Checks a stored row tag in constant time; `None` (a NULL tag) never verifies.
pub(crate) fn row_mac_ok(
    row_key: &SecretBytes<32>,
    table: &str,
    values: &[RowValue<'_>],
    stored: Option<&[u8]>,
) -> bool {
    match stored {
        Some(tag) if tag.len() == ROW_MAC_LEN => ct_eq(&row_mac(row_key, table, values), tag),
        _ => false,
    }
}

/// PBKDF2-HMAC-SHA256(passphrase, salt, iterations) → store key.
pub(crate) fn derive_key(
    passphrase: &[u8],
    salt: &[u8],
    iterations: u32,
) -> Result<StoreKey, StoreError> {
    let mut key = StoreKey::zero();
    pfs_crypto::kdf::pbkdf2_hmac_sha256(passphrase, salt, iterations, key.expose_mut())
        .map_err(|e| StoreError::Invalid(format!("key derivation: {e}")))?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_tags_bind_every_value_its_type_and_the_table() {
        let k = row_key(&StoreKey::new([9u8; 32]));
        let base = [RowValue::Blob(b"id"), RowValue::Integer(1), RowValue::Null];
        let tag = row_mac(&k, "contacts", &base);
        assert!(row_mac_ok(&k, "contacts", &base, Some(&tag)));
        for other in [
            [RowValue::Blob(b"iD"), RowValue::Integer(1), RowValue::Null],
            [RowValue::Blob(b"id"), RowValue::Integer(0), RowValue::Null],
            [RowValue::Blob(b"id"), RowValue::Text(b"1"), RowValue::Null],
            [
                RowValue::Blob(b"id"),
                RowValue::Integer(1),
                RowValue::Blob(b""),
            ],
            [RowValue::Text(b"id"), RowValue::Integer(1), RowValue::Null],
        ] {
            assert!(!row_mac_ok(&k, "contacts", &other, Some(&tag)), "{other:?}");
        }
        assert!(!row_mac_ok(&k, "installations", &base, Some(&tag)));
        assert!(!row_mac_ok(&k, "contacts", &base, None));
        assert!(!row_mac_ok(&k, "contacts", &base, Some(&tag[..31])));
        // Parts are length-prefixed: no two lists of values encode alike.
        assert_ne!(
            row_mac(&k, "t", &[RowValue::Blob(b"ab"), RowValue::Blob(b"c")]),
            row_mac(&k, "t", &[RowValue::Blob(b"a"), RowValue::Blob(b"bc")])
        );
        // Another store key, another row key.
        let k2 = row_key(&StoreKey::new([8u8; 32]));
        assert!(!row_mac_ok(&k2, "contacts", &base, Some(&tag)));
    }

    #[test]
    fn aad_parts_are_unambiguous() {
        assert_ne!(aad("t", "c", &[b"ab", b"c"]), aad("t", "c", &[b"a", b"bc"]));
        assert_ne!(aad("t", "c", &[b""]), aad("t", "c", &[]));
    }

    #[test]
    fn seal_cache_reuses_sealings_and_still_authenticates() {
        let key = StoreKey::new([7u8; 32]);
        let mut rng = pfs_crypto::OsRandom;
        let mut cache = SealCache::default();
        let a = aad("sessions", "shared_secret", &[b"peer", b"id"]);
        let v1 = SecretBytes::new([1u8; 32]);
        let s1 = cache.seal32(&key, &mut rng, a.clone(), &v1).unwrap();
        // the same value again: the same sealing, which opens to it without the cache too
        assert_eq!(cache.seal32(&key, &mut rng, a.clone(), &v1).unwrap(), s1);
        assert_eq!(open32(&key, &a, &s1, "x").unwrap(), v1);
        assert_eq!(cache.open32(&key, a.clone(), &s1, "x").unwrap(), v1);
        // a new value: a new sealing
        let v2 = SecretBytes::new([2u8; 32]);
        let s2 = cache.seal32(&key, &mut rng, a.clone(), &v2).unwrap();
        assert_ne!(s2, s1);
        assert_eq!(open32(&key, &a, &s2, "x").unwrap(), v2);
        // bytes other than the cached sealing are authenticated: tampering still fails,
        // and an old sealing still opens to its own value
        let mut bad = s2.clone();
        bad[20] ^= 1;
        assert!(matches!(
            cache.open32(&key, a.clone(), &bad, "x"),
            Err(StoreError::Corrupt(_))
        ));
        assert_eq!(cache.open32(&key, a.clone(), &s1, "x").unwrap(), v1);
        // a sealing is bound to its AAD even when cached under another one
        let b = aad("sessions", "shared_secret", &[b"peer", b"id2"]);
        assert!(matches!(
            cache.open32(&key, b, &s1, "x"),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn sealed_value_is_bound_to_its_aad_and_key() {
        let key = StoreKey::new([7u8; 32]);
        let mut rng = pfs_crypto::OsRandom;
        let a = aad("sessions", "state", &[b"peer", b"id"]);
        let sealed = seal(&key, &mut rng, &a, b"secret state").unwrap();
        assert_eq!(sealed.len(), GCM_NONCE_LEN + 12 + GCM_TAG_LEN);
        assert_eq!(
            open(&key, &a, &sealed, "x").unwrap().expose(),
            b"secret state"
        );
        let other = aad("sessions", "state", &[b"peer", b"id2"]);
        assert!(matches!(
            open(&key, &other, &sealed, "x"),
            Err(StoreError::Corrupt(_))
        ));
        let wrong = StoreKey::new([8u8; 32]);
        assert!(matches!(
            open(&wrong, &a, &sealed, "x"),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            open(&key, &a, &sealed[..20], "x"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
