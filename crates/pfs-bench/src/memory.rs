//! Bytes of serialized session state (item 7 of the benchmark issue).
//!
//! Ours: [`pfs_ratchet::RatchetState::to_bytes`] (version byte + postcard, before the
//! store's encryption at rest) plus, per skipped key, its minimal record: ratchet key
//! (33 or 32 bytes) ‖ n (4) ‖ message key (32) ‖ seq (8). vodozemac: the serde JSON of
//! `SessionPickle` (the skipped keys live inside the session, at most 40 per chain), and
//! in the note the encrypted base64 pickle an application stores.

use crate::{GAP, SMALL, SUITES, olm, ratchet};
use pfs_ratchet::Session;

/// One row of the memory table.
#[derive(Debug, Clone)]
pub struct MemoryRow {
    /// What was measured.
    pub item: String,
    /// Our bytes.
    pub ours: usize,
    /// vodozemac's bytes (JSON pickle).
    pub vodozemac: usize,
    /// vodozemac's encrypted pickle, for the note.
    pub vodozemac_encrypted: usize,
}

fn our_bytes(s: &Session) -> usize {
    let skipped: usize = s
        .skipped_entries()
        .iter()
        .map(|(k, _, _)| k.len() + 4 + 32 + 8)
        .sum();
    s.state().to_bytes().expose().len() + skipped
}

/// Sizes after 10 messages received and after a 1000-key gap, for both suites.
pub fn sizes() -> Vec<MemoryRow> {
    let mut rows = Vec::new();
    // after 10 messages (Alice → Bob, measured at Bob)
    let (mut oa, mut ob) = olm::pair();
    for _ in 0..10 {
        let m = oa.encrypt(SMALL).unwrap();
        ob.decrypt(&m).unwrap();
    }
    let (v10, v10e) = olm::pickle_sizes(&ob);
    // after a gap: only the last of GAP + 1 messages received
    let (mut og, msgs) = olm::gap_fixture();
    if let Some(last) = msgs.last() {
        og.decrypt(last).unwrap();
    }
    let (vg, vge) = olm::pickle_sizes(&og);
    for (suite, name) in SUITES {
        let (mut a, mut b) = ratchet::pair(suite);
        for _ in 0..10 {
            let m = ratchet::send(&mut a, &SMALL);
            ratchet::recv(&mut b, &m);
        }
        rows.push(MemoryRow {
            item: format!("state after 10 messages ({name})"),
            ours: our_bytes(&b),
            vodozemac: v10,
            vodozemac_encrypted: v10e,
        });
        let (mut b, msgs) = ratchet::gap_fixture(suite);
        if let Some(last) = msgs.last() {
            ratchet::recv(&mut b, last);
        }
        assert_eq!(b.skipped_len(), GAP);
        rows.push(MemoryRow {
            item: format!("state after a {GAP}-key gap ({name})"),
            ours: our_bytes(&b),
            vodozemac: vg,
            vodozemac_encrypted: vge,
        });
    }
    rows
}
