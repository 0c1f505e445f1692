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
/// assert!(content_topic(&topic).as_str().starts_with("/waku/1/0x"));
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

/// Why a string is not a content topic.
///
/// ```
/// use pfs_transport::topic::{ContentTopic, InvalidContentTopic};
///
/// assert_eq!(ContentTopic::new("chat"), Err(InvalidContentTopic::Format));
/// assert_eq!(ContentTopic::new("/1/app/1/name/proto"), Err(InvalidContentTopic::Generation));
/// assert_eq!(ContentTopic::new("/app/1//proto"), Err(InvalidContentTopic::EmptyField));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidContentTopic {
    /// Not `/{application}/{version}/{name}/{encoding}`, optionally after a
    /// `/{generation}` field.
    #[error("not /{{application}}/{{version}}/{{name}}/{{encoding}}")]
    Format,
    /// The generation field is not `0`, the only one defined.
    #[error("only generation 0 is defined")]
    Generation,
    /// The application, version, name or encoding field is empty.
    #[error("a content topic field is empty")]
    EmptyField,
}

/// A Waku content topic (23/WAKU2-TOPICS): `/{application}/{version}/{name}/{encoding}`,
/// optionally preceded by `/{generation}` (only `0` is defined), every field non-empty.
///
/// What subscriptions and history queries name, checked once when it is made; js-waku
/// refuses the same strings (`ensureValidContentTopic`), and nwaku needs the leading `/`
/// that js-waku does not check. A received [`WakuMessage`](crate::waku::WakuMessage) keeps
/// its content topic as the string it came with: that field is whatever its sender chose.
///
/// ```
/// use pfs_transport::Topic;
/// use pfs_transport::topic::ContentTopic;
///
/// let chat: ContentTopic = "/toy-chat/2/huilong/proto".parse()?;
/// assert_eq!(chat.as_str(), "/toy-chat/2/huilong/proto");
/// assert_eq!(chat, "/toy-chat/2/huilong/proto");
/// assert!(ContentTopic::new("/0/toy-chat/2/huilong/proto").is_ok()); // generation 0
/// assert!(ContentTopic::new("toy-chat/2/huilong/proto").is_err()); // no leading '/'
/// // Status's topics: a 4-byte topic in hex
/// let status = ContentTopic::from_topic(&Topic([0xde, 0xad, 0x00, 0x0f]));
/// assert_eq!(status, "/waku/1/0xdead000f/rfc26");
/// assert_eq!(status.status_topic(), Some(Topic([0xde, 0xad, 0x00, 0x0f])));
/// assert_eq!(chat.status_topic(), None);
/// # Ok::<(), pfs_transport::topic::InvalidContentTopic>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ContentTopic(String);

impl ContentTopic {
    /// Checks `s` and wraps it.
    ///
    /// ```
    /// use pfs_transport::topic::{ContentTopic, InvalidContentTopic};
    ///
    /// assert!(ContentTopic::new("/a/1/b/proto").is_ok());
    /// assert!(ContentTopic::new(String::from("/myapp/v1.1/mytopic/cbor")).is_ok());
    /// assert_eq!(ContentTopic::new(""), Err(InvalidContentTopic::Format));
    /// assert_eq!(ContentTopic::new("/a/1/b"), Err(InvalidContentTopic::Format));
    /// assert_eq!(ContentTopic::new("/a/1/b/proto/x/y"), Err(InvalidContentTopic::Format));
    /// assert_eq!(ContentTopic::new("/x/a/1/b/proto"), Err(InvalidContentTopic::Generation));
    /// assert_eq!(ContentTopic::new("//1/b/proto"), Err(InvalidContentTopic::EmptyField));
    /// ```
    pub fn new(s: impl Into<String>) -> Result<Self, InvalidContentTopic> {
        let s = s.into();
        check_content_topic(&s)?;
        Ok(Self(s))
    }

    /// The content topic Status gives a 4-byte topic: `/waku/1/0x{hex}/rfc26`.
    ///
    /// ```
    /// use pfs_transport::Topic;
    /// use pfs_transport::topic::ContentTopic;
    ///
    /// assert_eq!(ContentTopic::from_topic(&Topic([1, 2, 3, 0xff])).as_str(), "/waku/1/0x010203ff/rfc26");
    /// ```
    pub fn from_topic(topic: &Topic) -> Self {
        Self(format!("/waku/1/0x{}/rfc26", hex::encode(topic.0)))
    }

    /// The 4-byte topic inside a Status content topic, if this is one.
    ///
    /// ```
    /// use pfs_transport::Topic;
    /// use pfs_transport::topic::ContentTopic;
    ///
    /// let t = ContentTopic::new("/waku/1/0x0102a0ff/rfc26")?;
    /// assert_eq!(t.status_topic(), Some(Topic([1, 2, 0xa0, 0xff])));
    /// assert_eq!(ContentTopic::new("/waku/1/0x0102a0ff/proto")?.status_topic(), None);
    /// # Ok::<(), pfs_transport::topic::InvalidContentTopic>(())
    /// ```
    pub fn status_topic(&self) -> Option<Topic> {
        crate::waku::parse_content_topic(&self.0)
    }

    /// The content topic as a string.
    ///
    /// ```
    /// use pfs_transport::topic::ContentTopic;
    ///
    /// assert_eq!(ContentTopic::new("/a/1/b/proto")?.as_str(), "/a/1/b/proto");
    /// # Ok::<(), pfs_transport::topic::InvalidContentTopic>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The content topic as an owned string (for a
    /// [`WakuMessage`](crate::waku::WakuMessage)'s field).
    ///
    /// ```
    /// use pfs_transport::topic::ContentTopic;
    ///
    /// assert_eq!(ContentTopic::new("/a/1/b/proto")?.into_string(), "/a/1/b/proto");
    /// # Ok::<(), pfs_transport::topic::InvalidContentTopic>(())
    /// ```
    pub fn into_string(self) -> String {
        self.0
    }
}

/// The rules of 23/WAKU2-TOPICS as js-waku's `ensureValidContentTopic` applies them,
/// plus the leading `/`.
fn check_content_topic(s: &str) -> Result<(), InvalidContentTopic> {
    let rest = s.strip_prefix('/').ok_or(InvalidContentTopic::Format)?;
    let fields: Vec<&str> = rest.split('/').collect();
    let named = match fields.as_slice() {
        [generation, named @ ..] if named.len() == 4 => {
            if *generation != "0" {
                return Err(InvalidContentTopic::Generation);
            }
            named
        }
        named if named.len() == 4 => named,
        _ => return Err(InvalidContentTopic::Format),
    };
    if named.iter().any(|f| f.is_empty()) {
        return Err(InvalidContentTopic::EmptyField);
    }
    Ok(())
}

impl std::str::FromStr for ContentTopic {
    type Err = InvalidContentTopic;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for ContentTopic {
    type Error = InvalidContentTopic;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<&str> for ContentTopic {
    type Error = InvalidContentTopic;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<ContentTopic> for String {
    fn from(t: ContentTopic) -> Self {
        t.0
    }
}

impl std::fmt::Display for ContentTopic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ContentTopic {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for ContentTopic {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for ContentTopic {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for ContentTopic {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for ContentTopic {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl PartialEq<ContentTopic> for String {
    fn eq(&self, other: &ContentTopic) -> bool {
        *self == other.0
    }
}

impl PartialEq<ContentTopic> for &str {
    fn eq(&self, other: &ContentTopic) -> bool {
        *self == other.0
    }
}
