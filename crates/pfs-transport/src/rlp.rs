//! A tiny, strict RLP encoder and decoder: just what the envelope needs.
//!
//! Encoding always produces the canonical form. Decoding rejects every non-canonical
//! form that go-ethereum's `rlp` package rejects: a single byte below `0x80` wrapped in a
//! one-byte string header, long-form lengths below 56 or with leading zero bytes,
//! integers with leading zero bytes (including `00` for zero, which must be `80`),
//! integers wider than their field, and trailing bytes. Lengths are checked against
//! the input before anything is sliced, so truncated input is an error, never a panic.

/// Errors of the RLP decoder.
///
/// ```
/// use pfs_transport::rlp::{RlpError, decode_exact};
///
/// assert_eq!(decode_exact(&[0x83, 1, 2]), Err(RlpError::Truncated { needed: 4, available: 3 }));
/// assert_eq!(decode_exact(&[0x81, 0x05]), Err(RlpError::NonCanonicalSingleByte));
/// // a long-form length (b8) of 1 byte: lengths below 56 must use the short form
/// assert_eq!(decode_exact(&[0xb8, 0x01, 0x00]), Err(RlpError::NonCanonicalLength));
/// assert_eq!(decode_exact(&[0x01, 0x02]), Err(RlpError::TrailingBytes(1)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RlpError {
    /// The input ends before the item its header announces.
    #[error("RLP input truncated: the item needs {needed} bytes, {available} are present")]
    Truncated {
        /// Bytes the item needs (header included).
        needed: usize,
        /// Bytes that were present.
        available: usize,
    },
    /// A length that does not fit in `usize`.
    #[error("RLP length does not fit in memory")]
    LengthOverflow,
    /// A long-form length below 56 or with leading zero bytes.
    #[error("non-canonical RLP length header")]
    NonCanonicalLength,
    /// A single byte below `0x80` encoded as a one-byte string (`81 xx`).
    #[error("non-canonical RLP single byte (81 xx with xx < 0x80)")]
    NonCanonicalSingleByte,
    /// An integer with a leading zero byte.
    #[error("non-minimal RLP integer (leading zero byte)")]
    NonMinimalInteger,
    /// An integer wider than its field.
    #[error("RLP integer of {len} bytes does not fit in {max} bytes")]
    IntegerTooWide {
        /// Encoded width.
        len: usize,
        /// Maximum width of the field.
        max: usize,
    },
    /// A string was found where a list was expected.
    #[error("expected an RLP list, found a string")]
    ExpectedList,
    /// A list was found where a string was expected.
    #[error("expected an RLP string, found a list")]
    ExpectedString,
    /// A fixed-size string of the wrong length.
    #[error("RLP string of {actual} bytes where exactly {expected} are required")]
    WrongLength {
        /// Required length.
        expected: usize,
        /// Length found.
        actual: usize,
    },
    /// Bytes left over after the item (or after the last list element).
    #[error("{0} trailing bytes after the RLP item")]
    TrailingBytes(usize),
    /// A list ended before all required elements were read.
    #[error("RLP list has too few elements")]
    MissingElement,
}

/// One decoded RLP item, borrowing its payload from the input.
///
/// ```
/// use pfs_transport::rlp::{Item, decode_exact};
///
/// // [ "cat", "dog" ] of the RLP specification
/// let list = [0xc8, 0x83, b'c', b'a', b't', 0x83, b'd', b'o', b'g'];
/// assert_eq!(decode_exact(&list)?, Item::List(&list[1..]));
/// assert_eq!(decode_exact(&list[1..5])?, Item::String(b"cat"));
/// # Ok::<(), pfs_transport::rlp::RlpError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// A byte string.
    String(&'a [u8]),
    /// A list; the slice is the concatenated encoding of its elements.
    List(&'a [u8]),
}

fn push_length(out: &mut Vec<u8>, len: usize, base: u8) {
    if len < 56 {
        // len < 56, so the sum stays below 0xf8.
        out.push(base + len as u8);
    } else {
        let be = (len as u64).to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count();
        let width = be.len() - skip;
        out.push(base + 55 + width as u8);
        out.extend_from_slice(be.get(skip..).unwrap_or_default());
    }
}

/// Appends the canonical encoding of the byte string `b`.
///
/// ```
/// use pfs_transport::rlp::encode_bytes;
/// // the examples of the Ethereum RLP specification
/// let enc = |b: &[u8]| { let mut v = Vec::new(); encode_bytes(&mut v, b); v };
/// assert_eq!(enc(b"dog"), [0x83, b'd', b'o', b'g']);
/// assert_eq!(enc(b""), [0x80]);
/// assert_eq!(enc(&[0x0f]), [0x0f], "a single byte below 0x80 is itself");
/// let lorem = b"Lorem ipsum dolor sit amet, consectetur adipisicing elit";
/// assert_eq!(&enc(lorem)[..2], [0xb8, 0x38], "56 bytes: a long-string header");
/// ```
pub fn encode_bytes(out: &mut Vec<u8>, b: &[u8]) {
    match b {
        [single] if *single < 0x80 => out.push(*single),
        _ => {
            push_length(out, b.len(), 0x80);
            out.extend_from_slice(b);
        }
    }
}

/// Appends the canonical encoding of an unsigned integer (minimal big-endian bytes;
/// zero is the empty string `80`).
///
/// ```
/// use pfs_transport::rlp::encode_uint;
/// let enc = |n| { let mut v = Vec::new(); encode_uint(&mut v, n); v };
/// assert_eq!(enc(0), [0x80]);
/// assert_eq!(enc(15), [0x0f]);
/// assert_eq!(enc(1024), [0x82, 0x04, 0x00]);
/// ```
pub fn encode_uint(out: &mut Vec<u8>, v: u64) {
    let be = v.to_be_bytes();
    let skip = be.iter().take_while(|b| **b == 0).count();
    encode_bytes(out, be.get(skip..).unwrap_or_default());
}

/// Appends a list header for a list whose elements take `payload_len` bytes.
///
/// ```
/// use pfs_transport::rlp::{encode_bytes, encode_list_header};
/// // ["cat", "dog"] = c8 83 cat 83 dog (the RLP specification)
/// let mut items = Vec::new();
/// encode_bytes(&mut items, b"cat");
/// encode_bytes(&mut items, b"dog");
/// let mut list = Vec::new();
/// encode_list_header(&mut list, items.len());
/// list.extend_from_slice(&items);
/// assert_eq!(list, [0xc8, 0x83, b'c', b'a', b't', 0x83, b'd', b'o', b'g']);
/// let mut empty = Vec::new();
/// encode_list_header(&mut empty, 0);
/// assert_eq!(empty, [0xc0]);
/// ```
pub fn encode_list_header(out: &mut Vec<u8>, payload_len: usize) {
    push_length(out, payload_len, 0xc0);
}

/// Length of the encoding of a byte string of `len` bytes whose first byte is `first`.
///
/// ```
/// use pfs_transport::rlp::{encode_bytes, encoded_bytes_len};
///
/// assert_eq!(encoded_bytes_len(1, Some(0x05)), 1); // a byte below 0x80 is its own encoding
/// assert_eq!(encoded_bytes_len(1, Some(0x80)), 2);
/// assert_eq!(encoded_bytes_len(3, Some(b'd')), 4); // 83 "dog"
/// let long = [7u8; 1024];
/// let mut out = Vec::new();
/// encode_bytes(&mut out, &long);
/// assert_eq!(encoded_bytes_len(1024, Some(7)), out.len());
/// ```
pub fn encoded_bytes_len(len: usize, first: Option<u8>) -> usize {
    match (len, first) {
        (1, Some(b)) if b < 0x80 => 1,
        _ => header_len(len) + len,
    }
}

/// Length of the header of a string or list of `payload_len` bytes.
///
/// ```
/// use pfs_transport::rlp::header_len;
///
/// assert_eq!(header_len(55), 1); // short form
/// assert_eq!(header_len(56), 2); // b8 38
/// assert_eq!(header_len(1024), 3); // b9 04 00
/// ```
pub fn header_len(payload_len: usize) -> usize {
    if payload_len < 56 {
        1
    } else {
        let bits = usize::BITS - payload_len.leading_zeros();
        1 + bits.div_ceil(8) as usize
    }
}

/// Decodes one item at the start of `input`, returning it and the rest of the input.
///
/// ```
/// use pfs_transport::rlp::{Item, RlpError, decode_item};
///
/// // "dog" followed by the integer 15
/// let (item, rest) = decode_item(&[0x83, b'd', b'o', b'g', 0x0f])?;
/// assert_eq!((item, rest), (Item::String(b"dog"), &[0x0f][..]));
/// assert_eq!(decode_item(&[]), Err(RlpError::Truncated { needed: 1, available: 0 }));
/// # Ok::<(), RlpError>(())
/// ```
pub fn decode_item(input: &[u8]) -> Result<(Item<'_>, &[u8]), RlpError> {
    let Some(&b) = input.first() else {
        return Err(RlpError::Truncated {
            needed: 1,
            available: 0,
        });
    };
    let (is_list, offset, len) = match b {
        0x00..=0x7f => {
            let (item, rest) = input.split_at(1);
            return Ok((Item::String(item), rest));
        }
        0x80..=0xb7 => (false, 1, usize::from(b - 0x80)),
        0xb8..=0xbf => {
            let width = usize::from(b - 0xb7);
            (false, 1 + width, long_length(input, width)?)
        }
        0xc0..=0xf7 => (true, 1, usize::from(b - 0xc0)),
        0xf8..=0xff => {
            let width = usize::from(b - 0xf7);
            (true, 1 + width, long_length(input, width)?)
        }
    };
    let end = offset.checked_add(len).ok_or(RlpError::LengthOverflow)?;
    if end > input.len() {
        return Err(RlpError::Truncated {
            needed: end,
            available: input.len(),
        });
    }
    let (head, rest) = input.split_at(end);
    let payload = head.get(offset..).unwrap_or_default();
    if is_list {
        Ok((Item::List(payload), rest))
    } else {
        if let [single] = payload
            && *single < 0x80
        {
            return Err(RlpError::NonCanonicalSingleByte);
        }
        Ok((Item::String(payload), rest))
    }
}

/// Reads a long-form length of `width` bytes following the first byte of `input`.
fn long_length(input: &[u8], width: usize) -> Result<usize, RlpError> {
    let bytes = input.get(1..1 + width).ok_or(RlpError::Truncated {
        needed: 1 + width,
        available: input.len(),
    })?;
    if bytes.first() == Some(&0) {
        return Err(RlpError::NonCanonicalLength);
    }
    let mut v: u64 = 0;
    for &x in bytes {
        v = (v << 8) | u64::from(x);
    }
    if v < 56 {
        return Err(RlpError::NonCanonicalLength);
    }
    usize::try_from(v).map_err(|_| RlpError::LengthOverflow)
}

/// Decodes exactly one item spanning all of `input` (no trailing bytes).
///
/// ```
/// use pfs_transport::rlp::{Item, decode_exact};
/// assert_eq!(decode_exact(&[0x83, b'd', b'o', b'g'])?, Item::String(b"dog"));
/// assert_eq!(decode_exact(&[0xc0])?, Item::List(&[]));
/// assert!(decode_exact(&[0x83, b'd', b'o']).is_err(), "truncated");
/// assert!(decode_exact(&[0x81, 0x05]).is_err(), "non-canonical: 05 is its own encoding");
/// assert!(decode_exact(&[0x80, 0x80]).is_err(), "trailing bytes");
/// # Ok::<(), pfs_transport::rlp::RlpError>(())
/// ```
pub fn decode_exact(input: &[u8]) -> Result<Item<'_>, RlpError> {
    let (item, rest) = decode_item(input)?;
    if !rest.is_empty() {
        return Err(RlpError::TrailingBytes(rest.len()));
    }
    Ok(item)
}

/// Reads the elements of a list one by one.
///
/// ```
/// use pfs_transport::rlp::{ListReader, RlpError, decode_exact};
///
/// // [ 1024, "cat", [] ]
/// let bytes = [0xc8, 0x82, 0x04, 0x00, 0x83, b'c', b'a', b't', 0xc0];
/// let mut list = ListReader::new(decode_exact(&bytes)?)?;
/// assert_eq!(list.uint(2)?, 1024);
/// assert_eq!(list.fixed::<3>()?, *b"cat");
/// assert_eq!(list.bytes(), Err(RlpError::ExpectedString));
/// list.finish()?;
/// // a string is not a list
/// assert!(matches!(ListReader::new(decode_exact(&[0x80])?), Err(RlpError::ExpectedList)));
/// # Ok::<(), RlpError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ListReader<'a> {
    rest: &'a [u8],
}

impl<'a> ListReader<'a> {
    /// A reader over the payload of `item`, which must be a list.
    ///
    /// ```
    /// use pfs_transport::rlp::{Item, ListReader, RlpError};
    ///
    /// assert!(ListReader::new(Item::List(&[0x01])).is_ok());
    /// assert!(matches!(ListReader::new(Item::String(b"dog")), Err(RlpError::ExpectedList)));
    /// ```
    pub fn new(item: Item<'a>) -> Result<Self, RlpError> {
        match item {
            Item::List(payload) => Ok(Self { rest: payload }),
            Item::String(_) => Err(RlpError::ExpectedList),
        }
    }

    /// The next element, which must be a byte string.
    ///
    /// ```
    /// use pfs_transport::rlp::{ListReader, RlpError, decode_exact};
    ///
    /// let mut list = ListReader::new(decode_exact(&[0xc4, 0x83, b'd', b'o', b'g'])?)?;
    /// assert_eq!(list.bytes()?, b"dog");
    /// assert_eq!(list.bytes(), Err(RlpError::MissingElement));
    /// # Ok::<(), RlpError>(())
    /// ```
    pub fn bytes(&mut self) -> Result<&'a [u8], RlpError> {
        if self.rest.is_empty() {
            return Err(RlpError::MissingElement);
        }
        let (item, rest) = decode_item(self.rest)?;
        self.rest = rest;
        match item {
            Item::String(s) => Ok(s),
            Item::List(_) => Err(RlpError::ExpectedString),
        }
    }

    /// The next element, a byte string of exactly `N` bytes.
    ///
    /// ```
    /// use pfs_transport::rlp::{ListReader, RlpError, decode_exact};
    ///
    /// let mut list = ListReader::new(decode_exact(&[0xc4, 0x83, b'd', b'o', b'g'])?)?;
    /// assert_eq!(list.fixed::<4>(), Err(RlpError::WrongLength { expected: 4, actual: 3 }));
    /// # Ok::<(), RlpError>(())
    /// ```
    pub fn fixed<const N: usize>(&mut self) -> Result<[u8; N], RlpError> {
        let s = self.bytes()?;
        s.try_into().map_err(|_| RlpError::WrongLength {
            expected: N,
            actual: s.len(),
        })
    }

    /// The next element, a minimal unsigned integer of at most `max_width` bytes.
    ///
    /// ```
    /// use pfs_transport::rlp::{ListReader, RlpError, decode_exact};
    ///
    /// // [ 0, 00, 01020304 05 ]: 80 is zero, 00 is a non-minimal zero
    /// let mut list = ListReader::new(decode_exact(&[0xc8, 0x80, 0x00, 0x85, 1, 2, 3, 4, 5])?)?;
    /// assert_eq!(list.uint(4)?, 0);
    /// assert_eq!(list.uint(4), Err(RlpError::NonMinimalInteger));
    /// assert_eq!(list.uint(4), Err(RlpError::IntegerTooWide { len: 5, max: 4 }));
    /// # Ok::<(), RlpError>(())
    /// ```
    pub fn uint(&mut self, max_width: usize) -> Result<u64, RlpError> {
        let s = self.bytes()?;
        if s.first() == Some(&0) {
            return Err(RlpError::NonMinimalInteger);
        }
        if s.len() > max_width.min(8) {
            return Err(RlpError::IntegerTooWide {
                len: s.len(),
                max: max_width.min(8),
            });
        }
        Ok(s.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    /// Succeeds when every element has been read.
    ///
    /// ```
    /// use pfs_transport::rlp::{ListReader, RlpError, decode_exact};
    ///
    /// let mut list = ListReader::new(decode_exact(&[0xc2, 0x01, 0x02])?)?;
    /// assert_eq!(list.uint(1)?, 1);
    /// assert_eq!(list.finish(), Err(RlpError::TrailingBytes(1)));
    /// # Ok::<(), RlpError>(())
    /// ```
    pub fn finish(self) -> Result<(), RlpError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(RlpError::TrailingBytes(self.rest.len()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc_uint(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        encode_uint(&mut out, v);
        out
    }

    // Examples from the Ethereum yellow paper / wiki RLP page.
    #[test]
    fn known_encodings() {
        assert_eq!(enc_uint(0), vec![0x80]);
        assert_eq!(enc_uint(15), vec![0x0f]);
        assert_eq!(enc_uint(1024), vec![0x82, 0x04, 0x00]);
        let mut out = Vec::new();
        encode_bytes(&mut out, b"dog");
        assert_eq!(out, vec![0x83, b'd', b'o', b'g']);
        let lorem = b"Lorem ipsum dolor sit amet, consectetur adipisicing elit";
        let mut out = Vec::new();
        encode_bytes(&mut out, lorem);
        assert_eq!(&out[..2], &[0xb8, 0x38]);
        assert_eq!(encoded_bytes_len(lorem.len(), Some(b'L')), out.len());
    }

    #[test]
    fn rejects_non_canonical() {
        assert_eq!(
            decode_exact(&[0x81, 0x05]),
            Err(RlpError::NonCanonicalSingleByte)
        );
        assert_eq!(
            decode_exact(&[0xb8, 0x01, 0x00]),
            Err(RlpError::NonCanonicalLength)
        );
        assert_eq!(
            decode_exact(&[0xb9, 0x00, 0x40]),
            Err(RlpError::NonCanonicalLength)
        );
        assert_eq!(
            decode_exact(&[0x83, 1, 2]),
            Err(RlpError::Truncated {
                needed: 4,
                available: 3
            })
        );
        assert_eq!(decode_exact(&[0x01, 0x02]), Err(RlpError::TrailingBytes(1)));
        let list = [0xc1, 0x00];
        let mut r = ListReader::new(decode_exact(&list).unwrap()).unwrap();
        assert_eq!(r.uint(4), Err(RlpError::NonMinimalInteger));
        let list = [0xc6, 0x85, 1, 2, 3, 4, 5];
        let mut r = ListReader::new(decode_exact(&list).unwrap()).unwrap();
        assert_eq!(r.uint(4), Err(RlpError::IntegerTooWide { len: 5, max: 4 }));
    }
}
