use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A fixed-size secret byte string: zeroized on drop, redacted in `Debug`,
/// compared in constant time.
///
/// ```
/// use pfs_crypto::{CryptoError, SecretBytes};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let key = SecretBytes::<4>::from_slice("demo key", &[1, 2, 3, 4])?;
/// assert_eq!(key.expose(), &[1, 2, 3, 4]);
/// assert_eq!(format!("{key:?}"), "SecretBytes<4>(<redacted>)");
/// assert!(SecretBytes::<4>::zero().is_zero());
/// assert_eq!(
///     SecretBytes::<4>::from_slice("demo key", &[1, 2, 3]),
///     Err(CryptoError::InvalidLength {
///         what: "demo key",
///         expected: 4,
///         actual: 3
///     })
/// );
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes<const N: usize>([u8; N]);

impl<const N: usize> SecretBytes<N> {
    /// Wraps bytes (the caller's copy is not zeroized by this call).
    ///
    /// ```
    /// use pfs_crypto::SecretBytes;
    /// let s = SecretBytes::new([5u8; 16]);
    /// assert_eq!(s.expose(), &[5; 16]);
    /// assert_eq!(s, SecretBytes::new([5u8; 16]));
    /// assert_ne!(s, SecretBytes::new([6u8; 16]));
    /// ```
    pub const fn new(bytes: [u8; N]) -> Self {
        Self(bytes)
    }

    /// Copies a slice of exactly `N` bytes.
    ///
    /// ```
    /// use pfs_crypto::{CryptoError, SecretBytes};
    /// # fn main() -> Result<(), CryptoError> {
    /// assert_eq!(SecretBytes::<2>::from_slice("pair", &[1, 2])?.expose(), &[1, 2]);
    /// assert_eq!(
    ///     SecretBytes::<2>::from_slice("pair", &[1, 2, 3]),
    ///     Err(CryptoError::InvalidLength { what: "pair", expected: 2, actual: 3 })
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_slice(what: &'static str, bytes: &[u8]) -> Result<Self, crate::CryptoError> {
        let arr: [u8; N] = bytes
            .try_into()
            .map_err(|_| crate::CryptoError::InvalidLength {
                what,
                expected: N,
                actual: bytes.len(),
            })?;
        Ok(Self(arr))
    }

    /// All zero bytes.
    ///
    /// ```
    /// use pfs_crypto::SecretBytes;
    /// assert_eq!(SecretBytes::<8>::zero().expose(), &[0; 8]);
    /// ```
    pub const fn zero() -> Self {
        Self([0u8; N])
    }

    /// The secret bytes. Handle with care: do not log or copy them around.
    ///
    /// ```
    /// use pfs_crypto::SecretBytes;
    /// let s = SecretBytes::new(*b"key!");
    /// assert_eq!(s.expose(), b"key!");
    /// ```
    pub const fn expose(&self) -> &[u8; N] {
        &self.0
    }

    /// Mutable access, for filling the secret in place.
    ///
    /// ```
    /// use pfs_crypto::SecretBytes;
    /// let mut s = SecretBytes::<4>::zero();
    /// s.expose_mut().copy_from_slice(b"fill");
    /// assert_eq!(s.expose(), b"fill");
    /// ```
    pub fn expose_mut(&mut self) -> &mut [u8; N] {
        &mut self.0
    }

    /// True when every byte is zero (checked in constant time).
    ///
    /// ```
    /// use pfs_crypto::SecretBytes;
    /// assert!(SecretBytes::<32>::zero().is_zero());
    /// let mut s = SecretBytes::<32>::zero();
    /// s.expose_mut()[31] = 1;
    /// assert!(!s.is_zero());
    /// ```
    pub fn is_zero(&self) -> bool {
        crate::ct_eq(&self.0, &[0u8; N])
    }
}

impl<const N: usize> PartialEq for SecretBytes<N> {
    fn eq(&self, other: &Self) -> bool {
        crate::ct_eq(&self.0, &other.0)
    }
}
impl<const N: usize> Eq for SecretBytes<N> {}

impl<const N: usize> fmt::Debug for SecretBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes<{N}>(<redacted>)")
    }
}

/// A variable-length secret byte string: zeroized on drop, redacted in `Debug`.
///
/// ```
/// use pfs_crypto::SecretVec;
/// let s = SecretVec::new(b"hunter2".to_vec());
/// assert_eq!((s.expose(), s.len()), (&b"hunter2"[..], 7));
/// assert_eq!(format!("{s:?}"), "SecretVec(<redacted 7 bytes>)");
/// ```
#[derive(Clone, Default, Zeroize, ZeroizeOnDrop)]
pub struct SecretVec(Vec<u8>);

impl SecretVec {
    /// Takes ownership of the bytes.
    ///
    /// ```
    /// use pfs_crypto::SecretVec;
    /// let s = SecretVec::new(vec![1, 2, 3]);
    /// assert_eq!(s.expose(), [1, 2, 3]);
    /// assert_eq!(format!("{s:?}"), "SecretVec(<redacted 3 bytes>)");
    /// ```
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
    /// The secret bytes.
    ///
    /// ```
    /// use pfs_crypto::SecretVec;
    /// assert_eq!(SecretVec::new(b"pin".to_vec()).expose(), b"pin");
    /// ```
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
    /// Length in bytes.
    ///
    /// ```
    /// use pfs_crypto::SecretVec;
    /// assert_eq!(SecretVec::new(vec![0; 5]).len(), 5);
    /// ```
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// True when empty.
    ///
    /// ```
    /// use pfs_crypto::SecretVec;
    /// assert!(SecretVec::default().is_empty());
    /// assert!(!SecretVec::new(vec![0]).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PartialEq for SecretVec {
    fn eq(&self, other: &Self) -> bool {
        crate::ct_eq(&self.0, &other.0)
    }
}
impl Eq for SecretVec {}

impl fmt::Debug for SecretVec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretVec(<redacted {} bytes>)", self.0.len())
    }
}
