//! Plain-text `ChatMessage`s and the classification of received application messages.
//!
//! ```text
//! ChatMessage { clock = 1 (≠ 0), timestamp = 2 (ms, ≠ 0), text = 3 (1..=4096 characters),
//!               response_to = 4, chat_id = 6 (non-empty; the recipient's 0x04… key for 1:1),
//!               message_type = 7 (ONE_TO_ONE = 1), content_type = 8 (TEXT_PLAIN = 1,
//!               CONTACT_REQUEST = 11), display_name = 14,
//!               contact_request_propagated_state = 15 }
//! ```
//!
//! Unknown fields are skipped by the decoder, unknown content and message types are
//! reported as [`Received::Unsupported`] / [`Received::OtherContent`], never an error.

use pfs_wire::app::chat_message::ContentType;
use pfs_wire::app::{
    AcceptContactRequest, ChatMessage, ContactCodeAdvertisement, ContactRequestPropagatedState,
    ContactUpdate, MessageType, RetractContactRequest,
};
use prost::Message;

use crate::{MAX_MESSAGE_SIZE, MessageKind, Unwrapped};

/// Longest text, in Unicode scalar values (status-go counts runes).
pub const MAX_TEXT_CHARS: usize = 4096;

/// Why a chat message could not be built or is not a valid text message.
///
/// ```
/// use pfs_app::chat::{ChatError, MAX_TEXT_CHARS, TextMessage, parse_text};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let ok = TextMessage {
///     clock: 1,
///     timestamp_ms: 2,
///     text: "hi".into(),
///     chat_id: "c".into(),
///     ..Default::default()
/// };
/// let long = TextMessage { text: "x".repeat(MAX_TEXT_CHARS + 1), ..ok.clone() };
/// assert_eq!(long.encode(), Err(ChatError::TextTooLong(MAX_TEXT_CHARS + 1)));
/// assert_eq!(TextMessage { clock: 0, ..ok.clone() }.encode(), Err(ChatError::ZeroClock));
/// let no_chat = TextMessage { chat_id: String::new(), ..ok.clone() };
/// assert_eq!(no_chat.validate(), Err(ChatError::EmptyChatId));
/// // Truncated bytes: the last field is cut short.
/// let bytes = ok.encode()?;
/// let truncated = parse_text(&bytes[..bytes.len() - 1]);
/// assert!(matches!(truncated, Err(ChatError::Malformed { what: "ChatMessage", .. })));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChatError {
    /// The text is empty.
    #[error("empty text")]
    EmptyText,
    /// The text has more than [`MAX_TEXT_CHARS`] characters.
    #[error("text of {0} characters exceeds 4096")]
    TextTooLong(usize),
    /// The Lamport clock is 0.
    #[error("clock is 0")]
    ZeroClock,
    /// The timestamp is 0.
    #[error("timestamp is 0")]
    ZeroTimestamp,
    /// The chat id is empty.
    #[error("empty chat id")]
    EmptyChatId,
    /// The input is larger than [`MAX_MESSAGE_SIZE`].
    #[error("message of {0} bytes exceeds the maximum")]
    TooLarge(usize),
    /// The Lamport clock is further ahead of the transport timestamp than allowed
    /// (status-go refuses clocks more than 120 s ahead).
    #[error("clock {clock} is ahead of the allowed {limit}")]
    ClockTooFarAhead {
        /// The message's clock.
        clock: u64,
        /// The largest clock accepted.
        limit: u64,
    },
    /// Not a protobuf encoding of the message its wrapper type names.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which message.
        what: &'static str,
        /// prost's description.
        reason: String,
    },
}

/// A text message (TEXT_PLAIN, or CONTACT_REQUEST with its propagated state).
///
/// ```
/// use pfs_app::chat::{TextMessage, parse_text};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let msg = TextMessage {
///     clock: 1,
///     timestamp_ms: 1_700_000_000_000,
///     text: "hello 👋".into(),
///     chat_id: "0x04…".into(),
///     display_name: Some("Alice".into()),
///     ..Default::default()
/// };
/// assert_eq!(parse_text(&msg.encode()?)?, msg);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextMessage {
    /// Lamport clock, ≠ 0.
    pub clock: u64,
    /// Unix milliseconds, ≠ 0.
    pub timestamp_ms: u64,
    /// The text.
    pub text: String,
    /// Chat id (the sender writes the recipient's `0x04…` key for 1:1).
    pub chat_id: String,
    /// Id of the message replied to.
    pub response_to: Option<String>,
    /// Sender's display name.
    pub display_name: Option<String>,
    /// Set for a contact request (content type CONTACT_REQUEST).
    pub contact_request: Option<ContactRequestPropagatedState>,
    /// Numbers of the fields of the received message that this crate does not declare
    /// (status-go fields 9–13, 16–19, or newer ones), in order of appearance; their bytes
    /// stay in the wrapper payload. Empty for messages built here.
    pub unknown_fields: Vec<u32>,
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

impl TextMessage {
    /// Checks the rules of a valid text message.
    ///
    /// ```
    /// use pfs_app::chat::{ChatError, TextMessage};
    /// let msg = TextMessage {
    ///     clock: 1,
    ///     timestamp_ms: 1_700_000_000_000,
    ///     text: "hi".into(),
    ///     chat_id: "0x04…".into(),
    ///     ..Default::default()
    /// };
    /// assert_eq!(msg.validate(), Ok(()));
    /// assert_eq!(
    ///     TextMessage {
    ///         clock: 0,
    ///         ..msg.clone()
    ///     }
    ///     .validate(),
    ///     Err(ChatError::ZeroClock)
    /// );
    /// assert_eq!(
    ///     TextMessage {
    ///         text: String::new(),
    ///         ..msg.clone()
    ///     }
    ///     .validate(),
    ///     Err(ChatError::EmptyText)
    /// );
    /// // 4096 characters (not bytes) at most.
    /// let long = TextMessage {
    ///     text: "é".repeat(4097),
    ///     ..msg
    /// };
    /// assert_eq!(long.validate(), Err(ChatError::TextTooLong(4097)));
    /// ```
    pub fn validate(&self) -> Result<(), ChatError> {
        if self.clock == 0 {
            return Err(ChatError::ZeroClock);
        }
        if self.timestamp_ms == 0 {
            return Err(ChatError::ZeroTimestamp);
        }
        if self.text.is_empty() {
            return Err(ChatError::EmptyText);
        }
        let chars = self.text.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(ChatError::TextTooLong(chars));
        }
        if self.chat_id.is_empty() {
            return Err(ChatError::EmptyChatId);
        }
        Ok(())
    }

    /// The protobuf `ChatMessage` (ONE_TO_ONE).
    ///
    /// ```
    /// use pfs_app::chat::TextMessage;
    /// use pfs_wire::app::{ContactRequestPropagatedState, MessageType, chat_message::ContentType};
    /// let msg = TextMessage {
    ///     clock: 1,
    ///     timestamp_ms: 1_700_000_000_000,
    ///     text: "hi".into(),
    ///     chat_id: "0x04…".into(),
    ///     ..Default::default()
    /// };
    /// let p = msg.to_proto();
    /// assert_eq!(
    ///     (p.message_type, p.content_type),
    ///     (MessageType::OneToOne as i32, ContentType::TextPlain as i32)
    /// );
    /// // A contact request is the same message with another content type.
    /// let request = TextMessage {
    ///     contact_request: Some(ContactRequestPropagatedState::default()),
    ///     ..msg
    /// };
    /// assert_eq!(
    ///     request.to_proto().content_type,
    ///     ContentType::ContactRequest as i32
    /// );
    /// ```
    pub fn to_proto(&self) -> ChatMessage {
        let content_type = if self.contact_request.is_some() {
            ContentType::ContactRequest
        } else {
            ContentType::TextPlain
        };
        ChatMessage {
            clock: self.clock,
            timestamp: self.timestamp_ms,
            text: self.text.clone(),
            response_to: self.response_to.clone().unwrap_or_default(),
            ens_name: String::new(),
            chat_id: self.chat_id.clone(),
            message_type: MessageType::OneToOne as i32,
            content_type: content_type as i32,
            display_name: self.display_name.clone().unwrap_or_default(),
            contact_request_propagated_state: self.contact_request,
        }
    }

    /// Validates and encodes the `ChatMessage` (the payload of a CHAT_MESSAGE wrapper).
    ///
    /// ```
    /// use pfs_app::chat::{ChatError, TextMessage};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let msg = TextMessage {
    ///     clock: 1,
    ///     timestamp_ms: 2,
    ///     text: "hi".into(),
    ///     chat_id: "c".into(),
    ///     ..Default::default()
    /// };
    /// // clock 1, timestamp 2, text "hi", chat_id "c", message_type 1, content_type 1.
    /// let expected = [
    ///     0x08, 1, 0x10, 2, 0x1a, 2, b'h', b'i', 0x32, 1, b'c', 0x38, 1, 0x40, 1,
    /// ];
    /// assert_eq!(msg.encode()?, expected);
    /// assert_eq!(
    ///     TextMessage {
    ///         timestamp_ms: 0,
    ///         ..msg
    ///     }
    ///     .encode(),
    ///     Err(ChatError::ZeroTimestamp)
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn encode(&self) -> Result<Vec<u8>, ChatError> {
        self.validate()?;
        Ok(self.to_proto().encode_to_vec())
    }

    /// Takes a decoded `ChatMessage` of content type TEXT_PLAIN or CONTACT_REQUEST and checks
    /// it.
    ///
    /// ```
    /// use pfs_app::chat::{ChatError, TextMessage};
    /// use pfs_wire::app::ChatMessage;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let m = ChatMessage {
    ///     clock: 5,
    ///     timestamp: 6,
    ///     text: "yo".into(),
    ///     chat_id: "c".into(),
    ///     ..Default::default()
    /// };
    /// let t = TextMessage::from_proto(&m)?;
    /// assert_eq!((t.clock, t.text.as_str(), t.response_to), (5, "yo", None));
    /// let no_chat = ChatMessage {
    ///     chat_id: String::new(),
    ///     ..m
    /// };
    /// assert_eq!(
    ///     TextMessage::from_proto(&no_chat),
    ///     Err(ChatError::EmptyChatId)
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_proto(m: &ChatMessage) -> Result<Self, ChatError> {
        let contact_request = if m.content_type == ContentType::ContactRequest as i32 {
            Some(m.contact_request_propagated_state.unwrap_or_default())
        } else {
            None
        };
        let t = Self {
            clock: m.clock,
            timestamp_ms: m.timestamp,
            text: m.text.clone(),
            chat_id: m.chat_id.clone(),
            response_to: non_empty(&m.response_to),
            display_name: non_empty(&m.display_name),
            contact_request,
            unknown_fields: Vec::new(),
        };
        t.validate()?;
        Ok(t)
    }
}

fn decode<M: Message + Default>(what: &'static str, bytes: &[u8]) -> Result<M, ChatError> {
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Err(ChatError::TooLarge(bytes.len()));
    }
    M::decode(bytes).map_err(|e| ChatError::Malformed {
        what,
        reason: e.to_string(),
    })
}

/// Decodes and checks the payload of a CHAT_MESSAGE wrapper as a text message.
///
/// ```
/// use pfs_app::chat::{ChatError, TextMessage, parse_text};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let msg = TextMessage {
///     clock: 1,
///     timestamp_ms: 2,
///     text: "hi".into(),
///     chat_id: "c".into(),
///     ..Default::default()
/// };
/// let mut bytes = msg.encode()?;
/// assert_eq!(parse_text(&bytes)?, msg);
/// // A field this crate does not declare (9, a varint) is kept and reported, not an error.
/// bytes.extend_from_slice(&[0x48, 0x01]);
/// assert_eq!(parse_text(&bytes)?.unknown_fields, [9]);
/// assert!(matches!(
///     parse_text(&[0x1a, 0x05, b'h']),
///     Err(ChatError::Malformed { .. })
/// ));
/// # Ok(())
/// # }
/// ```
pub fn parse_text(bytes: &[u8]) -> Result<TextMessage, ChatError> {
    let m: ChatMessage = decode("ChatMessage", bytes)?;
    let mut t = TextMessage::from_proto(&m)?;
    t.unknown_fields = undeclared_fields(bytes, CHAT_MESSAGE_FIELDS);
    Ok(t)
}

/// The field numbers `ChatMessage` declares here.
pub const CHAT_MESSAGE_FIELDS: &[u32] = &[1, 2, 3, 4, 5, 6, 7, 8, 14, 15];

/// The top-level field numbers of a protobuf encoding that are not in `declared`, in order
/// of appearance, without repeats. Stops at the first malformed tag (the decoder reports
/// that).
///
/// ```
/// use pfs_app::chat::{CHAT_MESSAGE_FIELDS, undeclared_fields};
/// // Field 1 (varint), field 16 (length-delimited, tag 82 01), field 1 again, field 9 (varint).
/// let bytes = [
///     0x08, 0x01, 0x82, 0x01, 0x02, b'h', b'i', 0x08, 0x02, 0x48, 0x00,
/// ];
/// assert_eq!(undeclared_fields(&bytes, CHAT_MESSAGE_FIELDS), [16, 9]);
/// assert_eq!(undeclared_fields(&bytes, &[]), [1, 16, 9]);
/// ```
pub fn undeclared_fields(bytes: &[u8], declared: &[u32]) -> Vec<u32> {
    fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*i)?;
            *i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let Some(tag) = varint(bytes, &mut i) else {
            break;
        };
        let Ok(field) = u32::try_from(tag >> 3) else {
            break;
        };
        let skip = match tag & 7 {
            0 => varint(bytes, &mut i).map(|_| 0),
            1 => Some(8),
            2 => varint(bytes, &mut i).and_then(|l| usize::try_from(l).ok()),
            5 => Some(4),
            _ => None,
        };
        let Some(skip) = skip else { break };
        i = match i.checked_add(skip) {
            Some(n) if n <= bytes.len() => n,
            _ => break,
        };
        if !declared.contains(&field) && !out.contains(&field) {
            out.push(field);
        }
    }
    out
}

/// A received application message, by type.
///
/// ```
/// use pfs_app::chat::{Received, classify};
/// use pfs_app::{MessageKind, wrapper};
/// use pfs_crypto::secp256k1::SecretKey;
/// use pfs_wire::{Message, app::ChatMessage};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let alice = SecretKey::from_bytes(&[1; 32])?;
/// // A sticker (content type 2) in a 1:1 chat: decoded, reported, not handled.
/// let sticker = ChatMessage {
///     clock: 1,
///     timestamp: 2,
///     chat_id: "c".into(),
///     message_type: 1,
///     content_type: 2,
///     ..Default::default()
/// };
/// let wrapped = pfs_app::wrap(&sticker.encode_to_vec(), MessageKind::ChatMessage, &alice)?;
/// let Received::OtherContent { message_type, content_type, .. } =
///     classify(&wrapper::unwrap_any(&wrapped)?)?
/// else {
///     panic!("other content")
/// };
/// assert_eq!((message_type, content_type), (1, 2));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Received {
    /// A 1:1 text message or contact request.
    Text(TextMessage),
    /// A chat message of another content type or message type (sticker, image, group, ...):
    /// reported with its numbers, not handled.
    OtherContent {
        /// `ChatMessage.message_type`.
        message_type: i32,
        /// `ChatMessage.content_type`.
        content_type: i32,
        /// The decoded message.
        message: Box<ChatMessage>,
    },
    /// A `ContactUpdate` (type 2).
    ContactUpdate(ContactUpdate),
    /// An `AcceptContactRequest` (type 46).
    AcceptContactRequest(AcceptContactRequest),
    /// A `RetractContactRequest` (type 47).
    RetractContactRequest(RetractContactRequest),
    /// A `ContactCodeAdvertisement` (type 15).
    ContactCodeAdvertisement(ContactCodeAdvertisement),
    /// A type this crate does not handle: its number and payload, for the caller to report.
    Unsupported {
        /// The wrapper type number.
        type_number: i32,
        /// The inner payload, undecoded.
        payload: Vec<u8>,
    },
}

/// Decodes the payload of a verified wrapper according to its type. Types this crate does
/// not handle are [`Received::Unsupported`], not errors; a handled type whose payload does
/// not decode or breaks the rules is an error.
///
/// ```
/// use pfs_app::chat::{Received, TextMessage, classify};
/// use pfs_app::{MessageKind, wrapper};
/// use pfs_crypto::secp256k1::SecretKey;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let alice = SecretKey::from_bytes(&[1; 32])?;
/// let (text, chat_id) = ("hi".into(), "c".into());
/// let text = TextMessage {
///     clock: 1,
///     timestamp_ms: 2,
///     text,
///     chat_id,
///     ..Default::default()
/// };
/// let wrapped = pfs_app::wrap(&text.encode()?, MessageKind::ChatMessage, &alice)?;
/// let u = wrapper::unwrap_any(&wrapped)?;
/// assert_eq!(classify(&u)?, Received::Text(text));
///
/// // A type this crate does not handle is reported with its number.
/// let pin = wrapper::unwrap_any(&pfs_app::wrap(b"?", MessageKind::PinMessage, &alice)?)?;
/// let Received::Unsupported { type_number, .. } = classify(&pin)? else {
///     panic!("unsupported")
/// };
/// assert_eq!(type_number, MessageKind::PinMessage as i32);
/// # Ok(())
/// # }
/// ```
pub fn classify(u: &Unwrapped) -> Result<Received, ChatError> {
    let p = &u.payload;
    Ok(match u.kind() {
        Some(MessageKind::ChatMessage) => {
            let m: ChatMessage = decode("ChatMessage", p)?;
            let text_like = m.content_type == ContentType::TextPlain as i32
                || m.content_type == ContentType::ContactRequest as i32;
            if text_like && m.message_type == MessageType::OneToOne as i32 {
                let mut t = TextMessage::from_proto(&m)?;
                t.unknown_fields = undeclared_fields(p, CHAT_MESSAGE_FIELDS);
                Received::Text(t)
            } else {
                Received::OtherContent {
                    message_type: m.message_type,
                    content_type: m.content_type,
                    message: Box::new(m),
                }
            }
        }
        Some(MessageKind::ContactUpdate) => Received::ContactUpdate(decode("ContactUpdate", p)?),
        Some(MessageKind::AcceptContactRequest) => {
            Received::AcceptContactRequest(decode("AcceptContactRequest", p)?)
        }
        Some(MessageKind::RetractContactRequest) => {
            Received::RetractContactRequest(decode("RetractContactRequest", p)?)
        }
        Some(MessageKind::ContactCodeAdvertisement) => {
            Received::ContactCodeAdvertisement(decode("ContactCodeAdvertisement", p)?)
        }
        _ => Received::Unsupported {
            type_number: u.type_number,
            payload: p.clone(),
        },
    })
}
