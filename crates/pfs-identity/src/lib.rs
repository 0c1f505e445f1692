//! # pfs-identity: pictures and names of a chat key (level 3)
//!
//! The identicon, colour hash, colour ID, `zQ3sh…` compressed key, three-word name
//! and emoji hash that the Status app shows for a chat key, computed byte for byte as
//! status-go does, so that people can compare them face to face.
#![forbid(unsafe_code)]
