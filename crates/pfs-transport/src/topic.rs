//! Whisper topics (`Keccak256(s)[:4]`) and their 64-byte bloom filters.

use pfs_crypto::hash::keccak256;

/// Length of a topic in bytes.
pub const TOPIC_LEN: usize = 4;
/// Length of a topic bloom filter in bytes.
pub const BLOOM_LEN: usize = 64;

/// A 4-byte Whisper topic.
///
/// ```
/// use pfs_transport::Topic;
/// use pfs_transport::waku::content_topic;
///
/// let topic = Topic::from_string("contact-discovery");
/// assert_eq!(Topic::from(*topic.as_bytes()), topic);
/// // on Waku it travels as a Status content topic
/// assert!(content_topic(&topic).starts_with("/waku/1/0x"));
/// assert_eq!(Topic::default(), Topic([0; 4]));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
pub struct Topic(pub [u8; TOPIC_LEN]);

impl Topic {
    /// The topic of a string: the first 4 bytes of `Keccak256(UTF-8(s))`
    /// (status-go `ToTopic`, whisper `BytesToTopic(Keccak256(s))`).
    ///
    /// ```
    /// use pfs_transport::Topic;
    ///
    /// // Keccak-256("") starts c5d24601
    /// assert_eq!(Topic::from_string(""), Topic([0xc5, 0xd2, 0x46, 0x01]));
    /// assert_eq!(Topic::from_string("").as_bytes(), &[0xc5, 0xd2, 0x46, 0x01]);
    /// ```
    pub fn from_string(s: &str) -> Self {
        Self::from_hash_input(s.as_bytes())
    }

    /// The topic of arbitrary bytes: the first 4 bytes of their Keccak-256.
    ///
    /// # Examples
    ///
    /// The first 4 bytes of the Keccak-256 of the empty string (`c5d24601…`):
    ///
    /// ```
    /// use pfs_transport::Topic;
    ///
    /// assert_eq!(Topic::from_hash_input(b""), Topic([0xc5, 0xd2, 0x46, 0x01]));
    /// assert_eq!(Topic::from_string("chat"), Topic::from_hash_input(b"chat"));
    /// ```
    pub fn from_hash_input(bytes: &[u8]) -> Self {
        let h = keccak256(bytes);
        Self([h[0], h[1], h[2], h[3]])
    }

    /// The 4 topic bytes.
    ///
    /// ```
    /// use pfs_transport::Topic;
    ///
    /// assert_eq!(Topic::from([1, 2, 3, 4]).as_bytes(), &[1, 2, 3, 4]);
    /// ```
    pub const fn as_bytes(&self) -> &[u8; TOPIC_LEN] {
        &self.0
    }

    /// The bloom filter of this topic (whisper `TopicToBloom`).
    ///
    /// For `j` in 0..3 the bit index is `topic[j] + 256·(bit j of topic[3])`; the byte
    /// holding that bit is **assigned** `1 << (index % 8)`, not OR-ed, so when two indices
    /// share a byte only the later one survives (exactly as go-ethereum does).
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_transport::Topic;
    ///
    /// // Bit indices 1, 2 and 3 (bit j of topic[3] is 0): all in byte 0, assigned in turn,
    /// // so only the last one (1 << 3) survives.
    /// let bloom = Topic([1, 2, 3, 0]).bloom();
    /// assert_eq!(bloom[0], 1 << 3);
    /// assert!(bloom[1..].iter().all(|b| *b == 0));
    /// // Bit j of topic[3] moves index j into the upper half: 0 + 256 lands in byte 32.
    /// assert_eq!(Topic([0, 8, 16, 1]).bloom()[32], 1);
    /// ```
    pub fn bloom(&self) -> [u8; BLOOM_LEN] {
        let mut bloom = [0u8; BLOOM_LEN];
        let t = &self.0;
        for j in 0..3 {
            let mut index = usize::from(t[j]);
            if t[3] & (1 << j) != 0 {
                index += 256;
            }
            if let Some(byte) = bloom.get_mut(index / 8) {
                *byte = 1 << (index % 8);
            }
        }
        bloom
    }
}

impl From<[u8; TOPIC_LEN]> for Topic {
    fn from(b: [u8; TOPIC_LEN]) -> Self {
        Self(b)
    }
}
