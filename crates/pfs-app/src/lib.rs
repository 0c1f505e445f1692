//! # pfs-app: the Status application layer (level 3)
//!
//! What a current Status client expects inside the decrypted bytes of the 1:1 protocol,
//! as sans-IO functions and bounded state machines: bytes in, bytes out, no clock, no
//! store, no network.
//!
//! * [`wrapper`]: the signed `ApplicationMetadataMessage {signature 1, payload 2, type 3}`
//!   (65-byte secp256k1 signature over keccak256(payload)), its signer bound to the sender
//!   the transport authenticated, and the status-go message id;
//! * [`chat`]: plain-text `ChatMessage` building and checking, and a classifier that reports
//!   the message types this crate does not handle instead of failing on them;
//! * [`mvds`]: MVDS datasync for 1:1 chats (the 1:1 group id, the MVDS message id, wrapping,
//!   parsing, acks; non-MVDS payloads fall through);
//! * [`segment`]: status-go's segmentation layer with Reed-Solomon parity segments, and a
//!   reassembler with bounded memory that recovers missing data segments from parity;
//! * [`messenger`]: the stateful layer of one account (outbox with MVDS resends until
//!   acknowledged, deduplication, Lamport clock, contact-request messages), its records
//!   behind a [`messenger::RecordStore`];
//! * [`fuzz`]: the fuzz bodies of the decoders, replayed by `cargo test`.
//!
//! The byte layouts and what is verified against status-go are in `docs/protocol.md`
//! ("Application layer"). Every decoder takes untrusted bytes and returns a typed error of
//! its own operation; nothing here panics on bad input.
//!
//! ## Example
//!
//! Alice sends a text; Bob receives it and acknowledges it; the acknowledgement clears
//! Alice's outbox. The plaintexts are what the engine encrypts and decrypts.
//!
//! ```
//! use pfs_app::messenger::{Config, Event, MemoryRecords, Messenger};
//! use pfs_crypto::secp256k1::SecretKey;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (alice_key, bob_key) = (
//!     SecretKey::from_bytes(&[1; 32])?,
//!     SecretKey::from_bytes(&[2; 32])?,
//! );
//! let (alice_pk, bob_pk) = (alice_key.public_key(), bob_key.public_key());
//! let alice = Messenger::new(alice_key, Config::default());
//! let bob = Messenger::new(bob_key, Config::default());
//! let (mut alice_db, mut bob_db) = (MemoryRecords::default(), MemoryRecords::default());
//! let now = 1_700_000_000_000; // ms
//!
//! let out = alice.text(&mut alice_db, &bob_pk, "hello Bob", None, now)?;
//! let got = bob.receive(&mut bob_db, &alice_pk, &out.plaintext, now, now)?;
//! let [Event::Text { message, .. }] = &got.events[..] else {
//!     panic!("one text")
//! };
//! assert_eq!(message.text, "hello Bob");
//!
//! let ack = got.ack.ok_or("Bob acknowledges")?;
//! let back = alice.receive(&mut alice_db, &bob_pk, &ack.plaintext, now, now)?;
//! let [Event::Delivered { message_ids, .. }] = &back.events[..] else {
//!     panic!("delivered")
//! };
//! assert_eq!(*message_ids, out.message_ids);
//! assert_eq!(alice.unacknowledged(&alice_db)?, 0);
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod chat;
pub mod fuzz;
pub mod messenger;
pub mod mvds;
pub mod segment;
pub mod wrapper;

pub use pfs_wire::app::application_metadata_message::Type as MessageKind;
pub use wrapper::{UnwrapError, Unwrapped, WrapError, unwrap, wrap};

/// Largest application-layer message this crate decodes, in bytes (the Waku maximum message
/// size status-go uses, 1 MiB).
pub const MAX_MESSAGE_SIZE: usize = 1 << 20;
