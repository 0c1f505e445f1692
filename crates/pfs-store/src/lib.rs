//! # pfs-store: persistence (level 2)
//!
//! Everything the protocol engine must remember, behind object-safe traits, with an
//! in-memory implementation and a SQLite implementation that pass one conformance
//! suite. Each engine operation runs as one atomic transaction. Stores serve the
//! engine and never call it.
#![forbid(unsafe_code)]
