//! The installation the tool works on: [`pfs_client::Device`] (the engine over the home's
//! SQLite store, plus the identity key that signs and opens Waku messages).

use std::path::Path;

pub use pfs_client::device::{Device, MAX_MESSAGE_SIZE, OpenFailure, now_ns};
use pfs_store::SqliteStore;

use crate::error::CliError;

/// Opens (creating the file when absent) a SQLite store.
pub fn open_store(
    path: &Path,
    passphrase: &[u8],
    kdf_iterations: Option<u32>,
) -> Result<SqliteStore, CliError> {
    pfs_client::device::open_store(path, passphrase, kdf_iterations).map_err(CliError::from)
}
