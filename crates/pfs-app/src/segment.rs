//! The segmentation layer (status-go `protocol/common/message_segmentation.go`, V2).
//!
//! A payload longer than the segment size (¾ of the maximum message size, 786 432 B) is
//! cut into `n = ceil(len / size)` data segments of `size` bytes (the last one shorter), and
//! `p = floor(n / 8)` Reed-Solomon parity segments are added when `p > 0` and `n + p ≤ 256`:
//!
//! ```text
//! data   : SegmentMessage { entire_message_hash = keccak256(whole), index = i,
//!                           segments_count = n, payload = bytes[i·size ..] }
//! parity : SegmentMessage { entire_message_hash, segments_count = 0,
//!                           parity_segment_index = j, parity_segments_count = p,
//!                           payload = parity shard j (size bytes) }
//! ```
//!
//! Parity is computed over the data segments with the last one zero-padded to `size`, with
//! the systematic Vandermonde code of Backblaze's JavaReedSolomon over GF(2^8) that
//! klauspost/reedsolomon implements (here: the `reed-solomon-erasure` crate, same
//! construction). The [`Reassembler`] keeps incomplete sets per sender with bounded memory
//! and rebuilds a message once it holds `n` segments of any kind (at least one of them a
//! data segment, which carries `n`).

use std::collections::{BTreeMap, VecDeque};

use pfs_crypto::hash::keccak256;
use pfs_crypto::secp256k1::PublicKey;
use pfs_wire::app::SegmentMessage;
use prost::Message;
use reed_solomon_erasure::galois_8::ReedSolomon;

use crate::MAX_MESSAGE_SIZE;

/// The segment size status-go uses: ¾ of the 1 MiB maximum message size.
pub const SEGMENT_SIZE: usize = MAX_MESSAGE_SIZE / 4 * 3;
/// How many trailing zero bytes a last data segment rebuilt from parity may have kept.
pub const MAX_TRAILING_ZEROS: usize = 256;
/// Most data plus parity segments for which status-go computes parity.
pub const REED_SOLOMON_MAX_SHARDS: usize = 256;

/// Why a payload could not be split.
///
/// ```
/// use pfs_app::segment::{self, SplitError};
/// assert_eq!(segment::split(b"payload", 0), Err(SplitError::ZeroSegmentSize));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SplitError {
    /// A segment size of 0.
    #[error("segment size must be positive")]
    ZeroSegmentSize,
    /// More segments than a `u32` counts.
    #[error("payload needs too many segments")]
    TooManySegments,
    /// The Reed-Solomon encoder refused the shards.
    #[error("reed-solomon: {0}")]
    ReedSolomon(String),
}

/// The parity count status-go adds to `n` data segments (0 when no parity is sent).
///
/// ```
/// use pfs_app::segment::parity_count;
/// // floor(n / 8), and none when data + parity would exceed 256 shards.
/// assert_eq!(
///     [parity_count(7), parity_count(8), parity_count(16)],
///     [0, 1, 2]
/// );
/// assert_eq!(parity_count(228), 28); // 228 + 28 = 256: the most
/// assert_eq!(parity_count(229), 0); // 229 + 28 = 257: no parity
/// ```
pub fn parity_count(data_segments: usize) -> usize {
    let p = data_segments / 8; // floor(n · 0.125)
    if p == 0 || data_segments + p > REED_SOLOMON_MAX_SHARDS {
        0
    } else {
        p
    }
}

/// Splits `payload` into encoded `SegmentMessage`s (data segments first, then parity), or
/// returns it alone when it is not longer than `segment_size`.
///
/// ```
/// use pfs_app::segment::{self, SplitError};
/// use pfs_crypto::hash::keccak256;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // status-go's fixture: 1000 bytes in 8 segments of 125 gives 8 data + 1 parity.
/// let payload: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
/// let segs = segment::split(&payload, 125)?;
/// assert_eq!(segs.len(), 9);
/// let first = segment::decode(&segs[0])?;
/// assert_eq!(
///     (first.index, first.segments_count, first.payload.len()),
///     (0, 8, 125)
/// );
/// assert_eq!(first.entire_message_hash, keccak256(&payload));
/// assert_eq!(segment::split(b"short", 125)?, [b"short".to_vec()]); // sent as is
/// assert_eq!(segment::split(b"x", 0), Err(SplitError::ZeroSegmentSize));
/// # Ok(())
/// # }
/// ```
pub fn split(payload: &[u8], segment_size: usize) -> Result<Vec<Vec<u8>>, SplitError> {
    if segment_size == 0 {
        return Err(SplitError::ZeroSegmentSize);
    }
    if payload.len() <= segment_size {
        return Ok(vec![payload.to_vec()]);
    }
    let hash = keccak256(payload).to_vec();
    let chunks: Vec<&[u8]> = payload.chunks(segment_size).collect();
    let n = chunks.len();
    let n32 = u32::try_from(n).map_err(|_| SplitError::TooManySegments)?;
    let mut out = Vec::with_capacity(n + n / 8);
    for (i, chunk) in chunks.iter().enumerate() {
        out.push(
            SegmentMessage {
                entire_message_hash: hash.clone(),
                index: u32::try_from(i).map_err(|_| SplitError::TooManySegments)?,
                segments_count: n32,
                payload: chunk.to_vec(),
                parity_segment_index: 0,
                parity_segments_count: 0,
            }
            .encode_to_vec(),
        );
    }
    let p = parity_count(n);
    if p == 0 {
        return Ok(out);
    }
    let mut shards: Vec<Vec<u8>> = chunks
        .iter()
        .map(|c| {
            let mut v = c.to_vec();
            v.resize(segment_size, 0);
            v
        })
        .collect();
    shards.extend((0..p).map(|_| vec![0u8; segment_size]));
    let rs = ReedSolomon::new(n, p).map_err(|e| SplitError::ReedSolomon(format!("{e:?}")))?;
    rs.encode(&mut shards)
        .map_err(|e| SplitError::ReedSolomon(format!("{e:?}")))?;
    let p32 = u32::try_from(p).map_err(|_| SplitError::TooManySegments)?;
    for (j, shard) in shards.into_iter().skip(n).enumerate() {
        out.push(
            SegmentMessage {
                entire_message_hash: hash.clone(),
                index: 0,
                segments_count: 0,
                payload: shard,
                parity_segment_index: u32::try_from(j).map_err(|_| SplitError::TooManySegments)?,
                parity_segments_count: p32,
            }
            .encode_to_vec(),
        );
    }
    Ok(out)
}

/// Bounds of the [`Reassembler`].
///
/// ```
/// use pfs_app::segment::{self, Limits, Reassembler, SegmentError};
/// use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let from = SecretKey::from_bytes(&[1; 32])?.public_key();
/// let segs = segment::split(&[9; 300], 100)?; // 3 data segments
/// let mut r = Reassembler::new(Limits {
///     max_segments: 2,
///     ..Limits::default()
/// });
/// assert_eq!(
///     r.push(&from, &segs[0], 0),
///     Err(SegmentError::TooManySegments(3))
/// );
/// assert_eq!(r.pending_sets(), 0); // refused segments leave nothing behind
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most data segments in one message.
    pub max_segments: u32,
    /// Most parity segments in one message.
    pub max_parity_segments: u32,
    /// Largest segment payload, in bytes.
    pub max_segment_payload: usize,
    /// Most incomplete sets held at once, all senders together.
    pub max_pending_sets: usize,
    /// Most incomplete sets of one sender.
    pub max_pending_per_sender: usize,
    /// Most bytes held in incomplete sets, all together.
    pub max_pending_bytes: usize,
    /// How many completed message hashes are remembered (to refuse late segments).
    pub completed_memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_segments: 128,
            max_parity_segments: 32,
            max_segment_payload: MAX_MESSAGE_SIZE,
            max_pending_sets: 64,
            max_pending_per_sender: 8,
            max_pending_bytes: 64 << 20,
            completed_memory: 1024,
        }
    }
}

/// Why a received segment was refused. The reassembler's state is unchanged by every
/// error except [`SegmentError::HashMismatch`] and [`SegmentError::InvalidParity`], which
/// drop the set.
///
/// ```
/// use pfs_app::segment::{self, Limits, Reassembler, SegmentError};
/// use pfs_crypto::secp256k1::SecretKey;
/// use pfs_wire::Message;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let from = SecretKey::from_bytes(&[1; 32])?.public_key();
/// let segs = segment::split(&[3; 250], 100)?;
/// let mut r = Reassembler::new(Limits::default());
/// r.push(&from, &segs[0], 0)?;
/// assert_eq!(r.push(&from, &segs[0], 0), Err(SegmentError::Duplicate));
/// // Truncated bytes are not a SegmentMessage.
/// assert!(matches!(r.push(&from, &segs[1][..10], 0), Err(SegmentError::Malformed(_))));
/// // A data segment that claims to be the only one is not a segment set.
/// let mut alone = segment::decode(&segs[1])?;
/// alone.segments_count = 1;
/// assert_eq!(r.push(&from, &alone.encode_to_vec(), 0), Err(SegmentError::InvalidCount));
/// assert_eq!(r.pending_sets(), 1); // the refusals left the set as it was
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SegmentError {
    /// Not a protobuf `SegmentMessage`, or too large.
    #[error("malformed SegmentMessage: {0}")]
    Malformed(String),
    /// The whole-message hash is not 32 bytes.
    #[error("entire_message_hash of {0} bytes, expected 32")]
    BadHash(usize),
    /// Neither a data segment with `segments_count ≥ 2` nor a parity segment
    /// (status-go `ErrMessageSegmentsInvalidCount`), or an index out of range.
    #[error("invalid segment counts")]
    InvalidCount,
    /// More segments or parity segments than the limits allow.
    #[error("too many segments: {0}")]
    TooManySegments(u32),
    /// A segment payload larger than the limit, empty, or of the wrong size for its set.
    #[error("segment payload of {0} bytes refused")]
    BadPayloadSize(usize),
    /// This segment was already received.
    #[error("duplicate segment")]
    Duplicate,
    /// The counts disagree with earlier segments of the same set.
    #[error("segment counts differ from earlier segments of the set")]
    Inconsistent,
    /// The set was already reassembled (status-go `ErrMessageSegmentsAlreadyCompleted`).
    #[error("message already reassembled")]
    AlreadyCompleted,
    /// Too many incomplete sets (all senders, or this sender), or too many bytes held.
    #[error("too many incomplete segment sets")]
    TooManyPending,
    /// Reassembled bytes do not hash to `entire_message_hash`.
    #[error("reassembled message does not match its hash")]
    HashMismatch,
    /// The parity segments do not agree with the data (status-go
    /// `ErrMessageSegmentsInvalidParity`), or reconstruction failed.
    #[error("invalid parity segments")]
    InvalidParity,
}

/// The result of feeding a segment.
///
/// ```
/// use pfs_app::segment::{self, Limits, Outcome, Reassembler};
/// use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let from = SecretKey::from_bytes(&[1; 32])?.public_key();
/// let segs = segment::split(&[4; 120], 100)?;
/// let mut r = Reassembler::new(Limits::default());
/// assert_eq!(r.push(&from, &segs[1], 0)?, Outcome::Incomplete);
/// assert_eq!(r.push(&from, &segs[0], 0)?, Outcome::Complete(vec![4; 120]));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// More segments are needed.
    Incomplete,
    /// The whole message.
    Complete(Vec<u8>),
}

#[derive(Debug, Default)]
struct Set {
    /// Data count, known once a data segment arrived.
    data_count: Option<u32>,
    /// Parity count, known once a parity segment arrived.
    parity_count: Option<u32>,
    data: BTreeMap<u32, Vec<u8>>,
    parity: BTreeMap<u32, Vec<u8>>,
    bytes: usize,
    first_seen: u64,
}

type Key = (PublicKey, [u8; 32]);

/// Collects segments per (sender, whole-message hash) and rebuilds messages.
///
/// Sets are kept apart per sender: the same segments from two senders are two messages.
///
/// ```
/// use pfs_app::segment::{self, Limits, Outcome, Reassembler};
/// use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (a, b) = (
///     SecretKey::from_bytes(&[1; 32])?.public_key(),
///     SecretKey::from_bytes(&[2; 32])?.public_key(),
/// );
/// let segs = segment::split(&[5; 150], 100)?;
/// let mut r = Reassembler::new(Limits::default());
/// r.push(&a, &segs[0], 0)?;
/// assert_eq!(r.push(&b, &segs[1], 0)?, Outcome::Incomplete);
/// assert_eq!(r.pending_sets(), 2);
/// assert_eq!(r.push(&a, &segs[1], 0)?, Outcome::Complete(vec![5; 150]));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct Reassembler {
    limits: Limits,
    pending: BTreeMap<Key, Set>,
    pending_bytes: usize,
    completed: VecDeque<Key>,
}

/// Decodes an untrusted `SegmentMessage`.
///
/// ```
/// use pfs_app::segment::{self, SegmentError};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // index (field 2) = 1, segments_count (field 3) = 2.
/// let m = segment::decode(&[0x10, 1, 0x18, 2])?;
/// assert_eq!((m.index, m.segments_count), (1, 2));
/// assert!(matches!(
///     segment::decode(&[0x0a, 32]),
///     Err(SegmentError::Malformed(_))
/// ));
/// # Ok(())
/// # }
/// ```
pub fn decode(bytes: &[u8]) -> Result<SegmentMessage, SegmentError> {
    if bytes.len() > MAX_MESSAGE_SIZE + 1024 {
        return Err(SegmentError::Malformed(format!("{} bytes", bytes.len())));
    }
    SegmentMessage::decode(bytes).map_err(|e| SegmentError::Malformed(e.to_string()))
}

impl Reassembler {
    /// A reassembler with these limits.
    ///
    /// ```
    /// use pfs_app::segment::{self, Limits, Outcome, Reassembler};
    /// use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let from = SecretKey::from_bytes(&[1; 32])?.public_key();
    /// let payload = vec![7u8; 250];
    /// let segs = segment::split(&payload, 100)?; // 3 data segments, the last one of 50 bytes
    /// let mut r = Reassembler::new(Limits::default());
    /// assert_eq!(r.push(&from, &segs[2], 0)?, Outcome::Incomplete); // any order
    /// assert_eq!(r.push(&from, &segs[0], 0)?, Outcome::Incomplete);
    /// assert_eq!((r.pending_sets(), r.pending_bytes()), (1, 150));
    /// assert_eq!(r.push(&from, &segs[1], 0)?, Outcome::Complete(payload));
    /// assert_eq!(r.pending_sets(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Incomplete sets held.
    ///
    /// ```
    /// use pfs_app::segment::{self, Limits, Reassembler};
    /// use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let from = SecretKey::from_bytes(&[1; 32])?.public_key();
    /// let mut r = Reassembler::new(Limits::default());
    /// assert_eq!(r.pending_sets(), 0);
    /// r.push(&from, &segment::split(&[1; 200], 100)?[0], 0)?;
    /// r.push(&from, &segment::split(&[2; 200], 100)?[0], 0)?;
    /// assert_eq!(r.pending_sets(), 2);
    /// # Ok(())
    /// # }
    /// ```
    pub fn pending_sets(&self) -> usize {
        self.pending.len()
    }

    /// Bytes held in incomplete sets.
    ///
    /// The payload bytes of the segments held:
    ///
    /// ```
    /// use pfs_app::segment::{self, Limits, Reassembler};
    /// use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let from = SecretKey::from_bytes(&[1; 32])?.public_key();
    /// let segs = segment::split(&[1; 230], 100)?; // 100 + 100 + 30
    /// let mut r = Reassembler::new(Limits::default());
    /// r.push(&from, &segs[2], 0)?;
    /// assert_eq!(r.pending_bytes(), 30);
    /// r.push(&from, &segs[0], 0)?;
    /// assert_eq!(r.pending_bytes(), 130);
    /// r.push(&from, &segs[1], 0)?; // complete: nothing held
    /// assert_eq!(r.pending_bytes(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Drops incomplete sets first seen before `cutoff` (the caller's clock, any unit as
    /// long as it is the one passed to [`Reassembler::push`]). Returns how many.
    ///
    /// ```
    /// use pfs_app::segment::{self, Limits, Reassembler};
    /// use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let from = SecretKey::from_bytes(&[1; 32])?.public_key();
    /// let mut r = Reassembler::new(Limits::default());
    /// r.push(&from, &segment::split(&[1; 200], 100)?[0], 10)?; // first seen at 10
    /// r.push(&from, &segment::split(&[2; 200], 100)?[0], 20)?; // first seen at 20
    /// assert_eq!(r.expire(15), 1);
    /// assert_eq!((r.pending_sets(), r.pending_bytes()), (1, 100));
    /// # Ok(())
    /// # }
    /// ```
    pub fn expire(&mut self, cutoff: u64) -> usize {
        let before = self.pending.len();
        let mut freed = 0;
        self.pending.retain(|_, s| {
            let keep = s.first_seen >= cutoff;
            if !keep {
                freed += s.bytes;
            }
            keep
        });
        self.pending_bytes -= freed;
        before - self.pending.len()
    }

    fn check(&self, m: &SegmentMessage) -> Result<(), SegmentError> {
        if m.entire_message_hash.len() != 32 {
            return Err(SegmentError::BadHash(m.entire_message_hash.len()));
        }
        let is_parity = m.segments_count == 0 && m.parity_segments_count > 0;
        if is_parity {
            if m.parity_segments_count > self.limits.max_parity_segments {
                return Err(SegmentError::TooManySegments(m.parity_segments_count));
            }
            if m.parity_segment_index >= m.parity_segments_count {
                return Err(SegmentError::InvalidCount);
            }
        } else {
            if m.segments_count < 2 {
                return Err(SegmentError::InvalidCount);
            }
            if m.segments_count > self.limits.max_segments {
                return Err(SegmentError::TooManySegments(m.segments_count));
            }
            if m.index >= m.segments_count {
                return Err(SegmentError::InvalidCount);
            }
        }
        if m.payload.is_empty() || m.payload.len() > self.limits.max_segment_payload {
            return Err(SegmentError::BadPayloadSize(m.payload.len()));
        }
        Ok(())
    }

    /// Feeds one received segment (the transport payload, already decrypted by the
    /// transport but not by the ratchet) from `sender` at time `now`.
    ///
    /// ```
    /// use pfs_app::segment::{self, Limits, Outcome, Reassembler, SegmentError};
    /// use pfs_crypto::secp256k1::SecretKey;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let from = SecretKey::from_bytes(&[1; 32])?.public_key();
    /// let payload: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    /// let segs = segment::split(&payload, 125)?; // 8 data + 1 parity (status-go's table)
    /// let mut r = Reassembler::new(Limits::default());
    /// // Data segment 0 is lost: the parity segment stands in for it.
    /// for s in &segs[1..8] {
    ///     assert_eq!(r.push(&from, s, 0)?, Outcome::Incomplete);
    /// }
    /// assert_eq!(r.push(&from, &segs[8], 0)?, Outcome::Complete(payload));
    /// // A late segment of a completed message is refused.
    /// assert_eq!(
    ///     r.push(&from, &segs[0], 0),
    ///     Err(SegmentError::AlreadyCompleted)
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn push(
        &mut self,
        sender: &PublicKey,
        bytes: &[u8],
        now: u64,
    ) -> Result<Outcome, SegmentError> {
        let m = decode(bytes)?;
        self.check(&m)?;
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&m.entire_message_hash);
        let key = (sender.clone(), hash);
        if self.completed.contains(&key) {
            return Err(SegmentError::AlreadyCompleted);
        }
        let is_parity = m.segments_count == 0;
        let len = m.payload.len();
        match self.pending.get(&key) {
            Some(set) => Self::check_fits(set, &m, is_parity)?,
            None => {
                let of_sender = self.pending.keys().filter(|(s, _)| s == sender).count();
                if self.pending.len() >= self.limits.max_pending_sets
                    || of_sender >= self.limits.max_pending_per_sender
                {
                    return Err(SegmentError::TooManyPending);
                }
            }
        }
        if self.pending_bytes + len > self.limits.max_pending_bytes {
            return Err(SegmentError::TooManyPending);
        }
        let set = self.pending.entry(key.clone()).or_insert_with(|| Set {
            first_seen: now,
            ..Set::default()
        });
        if is_parity {
            set.parity_count = Some(m.parity_segments_count);
            set.parity.insert(m.parity_segment_index, m.payload);
        } else {
            set.data_count = Some(m.segments_count);
            set.data.insert(m.index, m.payload);
        }
        set.bytes += len;
        self.pending_bytes += len;

        let Some(n) = set.data_count else {
            return Ok(Outcome::Incomplete);
        };
        if set.data.len() + set.parity.len() < n as usize {
            return Ok(Outcome::Incomplete);
        }
        let result = Self::rebuild(set, n, &hash);
        if let Some(set) = self.pending.remove(&key) {
            self.pending_bytes -= set.bytes;
        }
        if result.is_ok() {
            self.completed.push_back(key);
            while self.completed.len() > self.limits.completed_memory {
                self.completed.pop_front();
            }
        }
        result.map(Outcome::Complete)
    }

    /// Checks a segment against the set it joins (duplicates, counts, sizes).
    fn check_fits(set: &Set, m: &SegmentMessage, is_parity: bool) -> Result<(), SegmentError> {
        if is_parity {
            if set.parity.contains_key(&m.parity_segment_index) {
                return Err(SegmentError::Duplicate);
            }
            if set
                .parity_count
                .is_some_and(|p| p != m.parity_segments_count)
            {
                return Err(SegmentError::Inconsistent);
            }
        } else {
            if set.data.contains_key(&m.index) {
                return Err(SegmentError::Duplicate);
            }
            if set.data_count.is_some_and(|n| n != m.segments_count) {
                return Err(SegmentError::Inconsistent);
            }
        }
        Ok(())
    }

    /// The segment size of a set: a parity shard's length, or a non-last data segment's.
    fn shard_size(set: &Set, n: u32) -> Option<usize> {
        set.parity.values().next().map(Vec::len).or_else(|| {
            set.data
                .iter()
                .find(|(i, _)| **i + 1 < n)
                .map(|(_, v)| v.len())
        })
    }

    fn rebuild(set: &Set, n: u32, hash: &[u8; 32]) -> Result<Vec<u8>, SegmentError> {
        let whole = if set.data.len() == n as usize {
            // All data segments: concatenate (status-go does not verify parity then).
            let mut whole = Vec::new();
            for v in set.data.values() {
                whole.extend_from_slice(v);
            }
            whole
        } else {
            let p = set.parity_count.ok_or(SegmentError::InvalidParity)? as usize;
            let size = Self::shard_size(set, n).ok_or(SegmentError::InvalidParity)?;
            let n = n as usize;
            let mut last_len = None;
            let mut shards: Vec<Option<Vec<u8>>> = vec![None; n + p];
            for (&i, v) in &set.data {
                let i = i as usize;
                if v.len() > size || (i + 1 < n && v.len() != size) {
                    return Err(SegmentError::BadPayloadSize(v.len()));
                }
                if i + 1 == n {
                    last_len = Some(v.len());
                }
                let mut s = v.clone();
                s.resize(size, 0);
                shards[i] = Some(s);
            }
            for (&j, v) in &set.parity {
                if v.len() != size {
                    return Err(SegmentError::BadPayloadSize(v.len()));
                }
                if let Some(slot) = shards.get_mut(n + j as usize) {
                    *slot = Some(v.clone());
                }
            }
            let rs = ReedSolomon::new(n, p).map_err(|_| SegmentError::InvalidParity)?;
            rs.reconstruct(&mut shards)
                .map_err(|_| SegmentError::InvalidParity)?;
            let full: Vec<Vec<u8>> = shards.into_iter().flatten().collect();
            if full.len() != n + p || !rs.verify(&full).unwrap_or(false) {
                return Err(SegmentError::InvalidParity);
            }
            let mut whole = Vec::with_capacity(n * size);
            for (i, s) in full.iter().take(n).enumerate() {
                if i + 1 == n {
                    // The last segment's real length: as received, or else the longest
                    // prefix that gives the right hash (it was zero-padded).
                    match last_len {
                        Some(l) => whole.extend_from_slice(&s[..l]),
                        None => return Self::trim_last(whole, s, hash),
                    }
                } else {
                    whole.extend_from_slice(s);
                }
            }
            whole
        };
        if &keccak256(&whole) != hash {
            return Err(SegmentError::HashMismatch);
        }
        Ok(whole)
    }

    /// The last data segment was recovered from parity, so its original length is unknown
    /// (status-go keeps the zero-padded shard, so its hash check fails there). Tries the
    /// padded length, then the length without trailing zeros plus up to
    /// [`MAX_TRAILING_ZEROS`] zeros, against the hash: bounded work, one pass over the data.
    fn trim_last(
        mut whole: Vec<u8>,
        last: &[u8],
        hash: &[u8; 32],
    ) -> Result<Vec<u8>, SegmentError> {
        use sha3::Digest;
        let nonzero = last.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        let mut h = sha3::Keccak256::new();
        h.update(&whole);
        h.update(&last[..nonzero]);
        let zeros = last.len() - nonzero;
        let candidates = std::iter::once(zeros).chain(0..zeros.min(MAX_TRAILING_ZEROS));
        for k in candidates {
            let mut t = h.clone();
            t.update(&last[nonzero..nonzero + k]);
            let d: [u8; 32] = t.finalize().into();
            if &d == hash {
                whole.extend_from_slice(&last[..nonzero + k]);
                return Ok(whole);
            }
        }
        Err(SegmentError::HashMismatch)
    }
}
