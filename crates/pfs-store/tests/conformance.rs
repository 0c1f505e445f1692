//! Runs the conformance suite (tests/common/mod.rs) against every store:
//! [`MemoryStore`], [`SqliteStore`] on a temporary file, and [`SqliteStore`] closed and
//! reopened before every transaction (so every committed value must survive a reopen).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use pfs_store::conformance as common;

use pfs_store::{SqliteOptions, SqliteStore, Store, StoreError, Transaction};
use std::path::PathBuf;

const PASSPHRASE: &[u8] = b"conformance passphrase";

fn options() -> SqliteOptions {
    SqliteOptions::default().with_kdf_iterations(2)
}

/// A SQLite store on a file in a temporary directory removed on drop.
struct TempSqlite {
    store: Option<SqliteStore>,
    path: PathBuf,
    reopen_each_time: bool,
    _dir: tempfile::TempDir,
}

impl TempSqlite {
    fn new(reopen_each_time: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        let store = SqliteStore::open(&path, PASSPHRASE, options()).unwrap();
        Self {
            store: Some(store),
            path,
            reopen_each_time,
            _dir: dir,
        }
    }
}

impl TempSqlite {
    /// The store, closed and reopened first when `reopen_each_time`.
    fn current(&mut self) -> Result<&mut SqliteStore, StoreError> {
        if self.reopen_each_time {
            // Close first: the store holds an exclusive lock.
            self.store = None;
            self.store = Some(SqliteStore::open(&self.path, PASSPHRASE, options())?);
        }
        self.store
            .as_mut()
            .ok_or_else(|| StoreError::Io("closed".into()))
    }
}

impl Store for TempSqlite {
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, StoreError> {
        self.current()?.begin()
    }

    fn begin_durable(&mut self) -> Result<Box<dyn Transaction + '_>, StoreError> {
        self.current()?.begin_durable()
    }
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $( #[test] fn $name() { super::common::$name(&mut pfs_store::MemoryStore::new()); } )*
        }
        mod sqlite {
            $( #[test] fn $name() { super::common::$name(&mut super::TempSqlite::new(false)); } )*
        }
        mod sqlite_reopened {
            $( #[test] fn $name() { super::common::$name(&mut super::TempSqlite::new(true)); } )*
        }
        #[test]
        fn every_case_is_instantiated() {
            let listed = [$(stringify!($name)),*];
            assert_eq!(listed.len(), common::CASES.len());
            for (name, _) in common::CASES {
                assert!(listed.contains(name), "{name} is not run");
            }
        }
    };
}

cases!(
    durable_transactions_commit_and_roll_back,
    empty_store_reads_nothing,
    account_round_trip_and_replace,
    own_prekeys_order_replace_delete,
    installations_order_replace_delete,
    peer_prekeys_order_and_scope,
    sessions_lookup_order_and_secrets,
    delete_session_removes_its_skipped_keys,
    skipped_keys_put_get_replace_delete,
    skipped_keys_rejected_inputs_store_nothing,
    truncate_keeps_highest_seq,
    delete_upto_is_inclusive,
    unconfirmed_keys_by_message_id,
    x3dh_seen_and_rate_limits,
    contacts_round_trip_and_order,
    read_your_writes,
    drop_rolls_back,
    commits_accumulate,
    app_records_by_kind_due_and_key,
    session_maintenance_queries,
);

/// The one-line form a third-party store uses runs every case.
#[test]
fn run_all_runs_every_case_on_a_fresh_store() {
    let mut made = 0;
    common::run_all(|| {
        made += 1;
        Box::new(pfs_store::MemoryStore::new())
    });
    assert_eq!(made, common::CASES.len());
}
