//! # pfs-identity: pictures and names of a chat key (level 3)
//!
//! The identicon, colour hash, colour ID, `zQ3sh…` compressed key, three-word name
//! and emoji hash that the Status app shows for a chat key, computed byte for byte as
//! status-go does, so that people can compare them face to face.
//!
//! Layer: this crate only depends on `pfs-crypto` (level 0) for secp256k1 point parsing;
//! it holds no secrets and does no I/O except loading the word lists that the caller
//! points it at ([`WordLists::load_dir`], [`RingPalette::load_dir`]). The word and emoji
//! lists are inputs, never compiled in.
//!
//! What each representation proves (and does not) is written down in
//! `docs/identity-visuals.md`: only the full [`zq3`] key or the [`emoji`] hash are fit
//! for verifying a key; the three-word [`alias`] and the [`identicon`] are labels.
//!
//! Entry points: [`Visuals`] bundles everything for one key; each module exposes the
//! single representation and its intermediate values.
//!
//! ## Example
//!
//! ```
//! use pfs_identity::Visuals;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The chat key of the secret key 1 (the generator G); expected values from status-go.
//! let v = Visuals::from_chat_key(
//!     "zQ3shVc2UkAfJCdc1TR8E66J85h48P43r93q8jGPkPpjF9Ef9",
//!     None,
//!     None,
//! )?;
//! assert_eq!(
//!     v.public_key_compressed_hex,
//!     "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
//! );
//! assert_eq!(v.color_id, 9);
//! assert_eq!(
//!     v.emoji_hash_indices,
//!     [
//!         1673, 2460, 1673, 1988, 2507, 775, 439, 154, 2292, 568, 562, 2058, 955, 2262
//!     ]
//! );
//! assert_eq!(v.identicon.color_hex(), "#8cd9a8");
//! // Names and emojis need the word lists (data files, not compiled in).
//! assert_eq!((v.alias, v.emoji_hash), (None, None));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

pub mod alias;
pub mod bigint;
pub mod colorhash;
pub mod emoji;
pub mod identicon;
pub mod key;
pub mod visuals;
pub mod words;
pub mod zq3;

pub use alias::{Alias, Lfsr};
pub use colorhash::{ColorHash, color_id, color_id_from_str};
pub use emoji::{EmojiHash, Slices};
pub use identicon::{Identicon, IdenticonError, TerminalStyle};
pub use key::{
    KeyError, parse_chat_key, parse_key_bytes, parse_public_key_string, public_key_string,
};
pub use visuals::Visuals;
pub use words::{DataError, RingPalette, WordLists};
pub use zq3::{parse_zq3, to_zq3};
