//! [`SnapshotStore`]: a [`MemoryStore`] whose committed state can be copied out from
//! outside the engine that owns it (model tests: backup restore; fuzzing: templates).

use pfs_store::{MemoryStore, Store, StoreError, Transaction};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Cell {
    want: bool,
    taken: Option<MemoryStore>,
}

/// The outside end of a [`SnapshotStore`].
#[derive(Debug, Clone, Default)]
pub struct SnapshotHandle(Arc<Mutex<Cell>>);

impl SnapshotHandle {
    /// Asks for a copy of the committed state at the start of the next transaction.
    pub fn request(&self) {
        if let Ok(mut c) = self.0.lock() {
            c.want = true;
            c.taken = None;
        }
    }

    /// The copy taken since the last [`SnapshotHandle::request`], if a transaction started.
    pub fn take(&self) -> Option<MemoryStore> {
        self.0.lock().ok().and_then(|mut c| c.taken.take())
    }
}

/// A [`MemoryStore`] that copies its committed state into its [`SnapshotHandle`] when asked.
#[derive(Debug)]
pub struct SnapshotStore {
    inner: MemoryStore,
    handle: SnapshotHandle,
}

impl SnapshotStore {
    /// Wraps `inner`; returns the store and its handle.
    pub fn new(inner: MemoryStore) -> (Self, SnapshotHandle) {
        let handle = SnapshotHandle::default();
        (
            Self {
                inner,
                handle: handle.clone(),
            },
            handle,
        )
    }
}

impl Store for SnapshotStore {
    fn begin(&mut self) -> Result<Box<dyn Transaction + '_>, StoreError> {
        if let Ok(mut c) = self.handle.0.lock()
            && c.want
        {
            c.want = false;
            c.taken = Some(self.inner.clone());
        }
        self.inner.begin()
    }
}
