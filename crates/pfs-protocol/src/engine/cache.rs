//! Facts the engine keeps in memory between transactions, coherent with the store.
//!
//! The engine is its store's only writer, so a fact read or written by a transaction stays
//! true after that transaction commits, and must be forgotten if it rolls back. A
//! [`TxCache`] keeps the committed facts, and apart from them what the open transaction
//! noted; [`TxCache::commit`] moves the second into the first, [`TxCache::rollback`] drops
//! it. A lookup sees the open transaction's notes first (its own writes), then the
//! committed facts.

use std::collections::HashMap;
use std::hash::Hash;

/// Committed facts plus the open transaction's notes (see the module documentation).
pub(super) struct TxCache<K, V> {
    committed: HashMap<K, V>,
    /// In the order noted: the last note of a key wins.
    pending: Vec<(K, V)>,
    /// Committed entries before the cache starts over (a bound on memory, not an LRU:
    /// every fact can be read again from the store).
    max: usize,
}

impl<K: Eq + Hash, V> TxCache<K, V> {
    pub(super) fn new(max: usize) -> Self {
        Self {
            committed: HashMap::new(),
            pending: Vec::new(),
            max,
        }
    }

    /// What the open transaction last noted for `key`, else the committed fact.
    pub(super) fn get(&self, key: &K) -> Option<&V> {
        self.pending
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .or_else(|| self.committed.get(key))
    }

    /// The committed fact only.
    #[cfg(test)]
    pub(super) fn committed(&self, key: &K) -> Option<&V> {
        self.committed.get(key)
    }

    /// Notes what the open transaction read or wrote.
    pub(super) fn note(&mut self, key: K, value: V) {
        self.pending.push((key, value));
    }

    /// A transaction begins: the notes of an earlier one were not committed.
    pub(super) fn rollback(&mut self) {
        self.pending.clear();
    }

    /// The open transaction committed: its notes become facts.
    pub(super) fn commit(&mut self) {
        if self.committed.len() + self.pending.len() > self.max {
            self.committed.clear();
        }
        self.committed.extend(self.pending.drain(..));
    }
}

#[cfg(test)]
mod tests {
    use super::TxCache;

    #[test]
    fn notes_are_seen_first_and_kept_only_when_committed() {
        let mut c = TxCache::new(8);
        c.note("a", 1);
        c.note("a", 2);
        assert_eq!(c.get(&"a"), Some(&2));
        assert_eq!(c.committed(&"a"), None);
        c.rollback();
        assert_eq!(c.get(&"a"), None);
        c.note("a", 3);
        c.commit();
        assert_eq!(c.committed(&"a"), Some(&3));
        c.note("a", 4);
        assert_eq!(c.get(&"a"), Some(&4));
        assert_eq!(c.committed(&"a"), Some(&3));
    }

    #[test]
    fn starts_over_past_its_bound() {
        let mut c = TxCache::new(2);
        c.note(1, ());
        c.note(2, ());
        c.commit();
        c.note(3, ());
        c.commit();
        assert_eq!(c.get(&1), None);
        assert_eq!(c.get(&3), Some(&()));
    }
}
