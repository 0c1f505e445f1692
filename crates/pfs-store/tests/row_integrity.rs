//! Schema version 2: the rows that decide who a message goes to or what the user is shown
//! (contacts, installations, peer prekeys) are authenticated under the store key, bound
//! to their primary key. Each test edits the database file with a raw SQLite connection,
//! as someone with write access to the file but without the passphrase could, and checks
//! that the store refuses the row with [`StoreError::Tampered`] instead of using it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use pfs_store::conformance as common;

use common::*;
use pfs_store::*;
use rusqlite::params;
use std::path::{Path, PathBuf};

const KEY: [u8; 32] = [0x5a; 32];

fn store_key() -> StoreKey {
    StoreKey::new(KEY)
}

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.sqlite");
    (dir, path)
}

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open_with_key(path, &store_key(), SqliteOptions::default()).unwrap()
}

fn raw(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

fn bob() -> ContactRecord {
    contact(1, ContactState::Added, Some("Bob"))
}

fn carol() -> ContactRecord {
    contact(2, ContactState::Accepted, Some("Carol"))
}

/// A store with two contacts, three installations and two peer prekeys, closed.
fn create(path: &Path) {
    let mut store = open(path);
    let mut tx = store.begin().unwrap();
    tx.put_contact(&bob()).unwrap();
    tx.put_contact(&carol()).unwrap();
    tx.put_installation(&installation(1, "inst-1", 100))
        .unwrap();
    tx.put_installation(&installation(1, "inst-2", 101))
        .unwrap();
    tx.put_installation(&installation(2, "inst-1", 200))
        .unwrap();
    tx.put_peer_prekey(&peer_prekey(1, "inst-1", 20, 1))
        .unwrap();
    tx.put_peer_prekey(&peer_prekey(1, "inst-1", 21, 2))
        .unwrap();
    tx.commit().unwrap();
    store.close().unwrap();
}

/// Asserts that `r` is the tamper error for `table`, naming the row (`row_part`).
#[track_caller]
fn assert_tampered<T: std::fmt::Debug>(r: Result<T, StoreError>, table: &str, row_part: &str) {
    let err = r.expect_err("a tampered row was accepted");
    let debug = format!("{err:?}");
    assert!(debug.starts_with("Tampered"), "not a tamper error: {debug}");
    let shown = err.to_string();
    assert!(shown.contains(table), "{shown}");
    assert!(shown.contains(row_part), "{shown}");
}

fn hex33(b: u8) -> String {
    k33(b).iter().map(|x| format!("{x:02x}")).collect()
}

/// Swaps the given columns between the contacts of k33(a) and k33(b).
fn swap_contact_columns(path: &Path, a: u8, b: u8, columns: &[&str]) {
    let c = raw(path);
    for column in columns {
        let get = |who: u8| -> rusqlite::types::Value {
            c.query_row(
                &format!("SELECT {column} FROM contacts WHERE identity = ?1"),
                [&k33(who)[..]],
                |r| r.get(0),
            )
            .unwrap()
        };
        let (va, vb) = (get(a), get(b));
        for (who, v) in [(a, vb), (b, va)] {
            let n = c
                .execute(
                    &format!("UPDATE contacts SET {column} = ?1 WHERE identity = ?2"),
                    params![v, &k33(who)[..]],
                )
                .unwrap();
            assert_eq!(n, 1);
        }
    }
}

#[test]
fn swapped_contact_names_are_refused() {
    let (_d, path) = temp();
    create(&path);
    // The attack of the report: Bob's row now says "Carol" and the other way round, so
    // `send --to Bob` would look up Carol's identity.
    swap_contact_columns(&path, 1, 2, &["name"]);
    let mut store = open(&path);
    let tx = store.begin().unwrap();
    assert_tampered(tx.contact(&ik(1)), "contacts", &hex33(1));
    assert_tampered(tx.contact(&ik(2)), "contacts", &hex33(2));
    assert_tampered(tx.contacts(), "contacts", &hex33(1));
    // Nothing else was touched: the other tables still read.
    assert_eq!(tx.installations(&ik(1)).unwrap().len(), 2);
}

#[test]
fn swapping_every_non_key_column_of_two_contacts_is_refused() {
    let (_d, path) = temp();
    create(&path);
    let cols: Vec<String> = {
        let c = raw(&path);
        let mut st = c
            .prepare("SELECT name FROM pragma_table_info('contacts')")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    // The authentication column is there, and every column but the key is swapped with
    // it: a whole sealed row moved under another identity.
    assert!(cols.len() > 4, "{cols:?}");
    let moved: Vec<&str> = cols
        .iter()
        .map(String::as_str)
        .filter(|c| *c != "identity")
        .collect();
    swap_contact_columns(&path, 1, 2, &moved);
    let mut store = open(&path);
    let tx = store.begin().unwrap();
    assert_tampered(tx.contact(&ik(1)), "contacts", &hex33(1));
    assert_tampered(tx.contact(&ik(2)), "contacts", &hex33(2));
}

#[test]
fn any_changed_contact_byte_or_field_is_refused() {
    let edits: &[&str] = &[
        // A flipped byte in the name ("Bob" → "Bnb").
        "UPDATE contacts SET name = 'Bnb' WHERE identity = ?1",
        // The state, to another valid one and to an invalid code (refused as tampered,
        // not as a decode error).
        "UPDATE contacts SET state = 2 WHERE identity = ?1",
        "UPDATE contacts SET state = 9 WHERE identity = ?1",
        "UPDATE contacts SET updated_at = updated_at + 1 WHERE identity = ?1",
        "UPDATE contacts SET name = NULL WHERE identity = ?1",
        // The same value with another SQL type.
        "UPDATE contacts SET name = CAST(name AS BLOB) WHERE identity = ?1",
    ];
    for sql in edits {
        let (_d, path) = temp();
        create(&path);
        raw(&path).execute(sql, [&k33(1)[..]]).unwrap();
        let mut store = open(&path);
        let tx = store.begin().unwrap();
        assert_tampered(tx.contact(&ik(1)), "contacts", &hex33(1));
        // The other contact is intact.
        assert_eq!(tx.contact(&ik(2)).unwrap(), Some(carol()), "{sql}");
    }
}

#[test]
fn flipped_or_removed_authentication_bytes_are_refused() {
    for table in ["contacts", "installations", "peer_prekeys"] {
        for edit in ["flip", "null", "truncate"] {
            let (_d, path) = temp();
            create(&path);
            {
                let c = raw(&path);
                let (rowid, mut mac): (i64, Vec<u8>) = c
                    .query_row(
                        &format!("SELECT rowid, row_mac FROM {table} ORDER BY rowid LIMIT 1"),
                        [],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap();
                let v = match edit {
                    "flip" => {
                        mac[5] ^= 0x01;
                        rusqlite::types::Value::Blob(mac)
                    }
                    "truncate" => rusqlite::types::Value::Blob(mac[..16].to_vec()),
                    _ => rusqlite::types::Value::Null,
                };
                c.execute(
                    &format!("UPDATE {table} SET row_mac = ?1 WHERE rowid = ?2"),
                    params![v, rowid],
                )
                .unwrap();
            }
            let mut store = open(&path);
            let tx = store.begin().unwrap();
            let r = match table {
                "contacts" => tx.contacts().map(|_| ()),
                "installations" => tx.all_installations().map(|_| ()),
                _ => tx.peer_prekeys(&ik(1), &inst("inst-1")).map(|_| ()),
            };
            assert_tampered(r, table, &hex33(1));
        }
    }
}

#[test]
fn changed_installation_flags_and_fields_are_refused() {
    let edits: &[&str] = &[
        "UPDATE installations SET enabled = 1 - enabled",
        "UPDATE installations SET stale = 1 - stale",
        "UPDATE installations SET heard_with_protocol_version = 1",
        "UPDATE installations SET protocol_version = 7",
        "UPDATE installations SET timestamp = timestamp + 1",
        "UPDATE installations SET first_seen = 0",
        "UPDATE installations SET last_bundle_at = 0",
        "UPDATE installations SET missing_since = 5",
        // The key columns: a row moved to another identity or installation id.
        "UPDATE installations SET installation_id = 'inst-9'",
        "UPDATE installations SET identity = ?3",
    ];
    for sql in edits {
        let (_d, path) = temp();
        create(&path);
        let where_ = " WHERE identity = ?1 AND installation_id = ?2";
        let n = raw(&path)
            .execute(
                &format!("{sql}{where_}"),
                params![&k33(1)[..], "inst-1", &k33(3)[..]]
                    .get(..sql.matches('?').count() + 2)
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(n, 1, "{sql}");
        let mut store = open(&path);
        let tx = store.begin().unwrap();
        if sql.contains("installation_id =") {
            assert_tampered(
                tx.installation(&ik(1), &inst("inst-9")),
                "installations",
                "inst-9",
            );
        } else if sql.contains("identity =") {
            assert_tampered(tx.installations(&ik(3)), "installations", &hex33(3));
        } else {
            assert_tampered(
                tx.installation(&ik(1), &inst("inst-1")),
                "installations",
                "inst-1",
            );
            assert_tampered(tx.installations(&ik(1)), "installations", &hex33(1));
        }
        assert_tampered(tx.all_installations(), "installations", "inst-");
        // The untouched rows still read.
        assert_eq!(
            tx.installation(&ik(2), &inst("inst-1")).unwrap(),
            Some(installation(2, "inst-1", 200)),
            "{sql}"
        );
    }
}

#[test]
fn swapped_installation_rows_are_refused() {
    // Swap everything but the key between two installations of the same identity.
    let (_d, path) = temp();
    create(&path);
    {
        let c = raw(&path);
        let cols = "timestamp, enabled, protocol_version, first_seen, last_bundle_at, \
                    missing_since, stale, heard_with_protocol_version, row_mac";
        c.execute_batch(&format!(
            "CREATE TEMP TABLE t AS SELECT installation_id AS iid, {cols} FROM installations;
             UPDATE installations SET ({cols}) = (SELECT {cols} FROM t WHERE t.iid =
                 CASE installations.installation_id WHEN 'inst-1' THEN 'inst-2' ELSE 'inst-1' END)
             WHERE identity = x'{}';",
            hex33(1)
        ))
        .unwrap();
    }
    let mut store = open(&path);
    let tx = store.begin().unwrap();
    assert_tampered(
        tx.installation(&ik(1), &inst("inst-1")),
        "installations",
        "inst-1",
    );
    assert_tampered(
        tx.installation(&ik(1), &inst("inst-2")),
        "installations",
        "inst-2",
    );
}

#[test]
fn changed_peer_prekeys_are_refused() {
    // (edit, the installation id under which the edited row is then read)
    let edits: &[(&str, &str)] = &[
        // Another prekey for the same installation: X3DH would target it.
        (
            "UPDATE peer_prekeys SET public = ?2 WHERE public = ?1",
            "inst-1",
        ),
        (
            "UPDATE peer_prekeys SET version = 9 WHERE public = ?1",
            "inst-1",
        ),
        (
            "UPDATE peer_prekeys SET expired = 0 WHERE public = ?1",
            "inst-1",
        ),
        (
            "UPDATE peer_prekeys SET received_at = 0 WHERE public = ?1",
            "inst-1",
        ),
        // The row moved to another installation of the same identity.
        (
            "UPDATE peer_prekeys SET installation_id = 'x' WHERE public = ?1",
            "x",
        ),
    ];
    for (sql, read_under) in edits {
        let (_d, path) = temp();
        create(&path);
        let n = raw(&path)
            .execute(
                sql,
                params![&k33(20)[..], &k33(29)[..]]
                    .get(..sql.matches('?').count())
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(n, 1, "{sql}");
        let mut store = open(&path);
        let tx = store.begin().unwrap();
        assert_tampered(
            tx.peer_prekeys(&ik(1), &inst(read_under)),
            "peer_prekeys",
            &format!("{read_under:?}"),
        );
    }
}

#[test]
fn rewriting_a_tampered_row_through_the_store_repairs_it() {
    // A tampered row is refused, never used; putting the record again (e.g. re-adding the
    // contact) replaces it with a sealed row of the new values.
    let (_d, path) = temp();
    create(&path);
    swap_contact_columns(&path, 1, 2, &["name"]);
    let mut store = open(&path);
    {
        let tx = store.begin().unwrap();
        assert_tampered(tx.contact(&ik(1)), "contacts", &hex33(1));
    }
    let mut tx = store.begin().unwrap();
    tx.put_contact(&bob()).unwrap();
    assert_eq!(tx.contact(&ik(1)).unwrap(), Some(bob()));
    tx.commit().unwrap();
    store.close().unwrap();
    let mut store = open(&path);
    let tx = store.begin().unwrap();
    assert_eq!(tx.contact(&ik(1)).unwrap(), Some(bob()));
    assert_tampered(tx.contact(&ik(2)), "contacts", &hex33(2));
}

// --- upgrading a version 1 store --------------------------------------------------------

const MIGRATION_1: &str = include_str!("../migrations/0001_initial.sql");

/// `aad("meta", "key_check", [])` of the version 1 layout (see the sqlite module docs).
fn key_check_aad() -> Vec<u8> {
    let mut out = Vec::new();
    for p in [&b"pfs-store/v1"[..], b"meta", b"key_check"] {
        out.extend_from_slice(&(p.len() as u32).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// A version 1 store as released: schema 0001 only, a raw-key key check, and contacts,
/// installations and peer prekeys in clear, written with plain SQL.
fn create_v1(path: &Path) {
    let c = raw(path);
    c.execute_batch(MIGRATION_1).unwrap();
    c.pragma_update(None, "user_version", 1).unwrap();
    let nonce = [7u8; 12];
    let ct = pfs_crypto::cipher::aes256_gcm_seal(
        &KEY,
        &nonce,
        &key_check_aad(),
        b"pfs-store key check v1",
    )
    .unwrap();
    let check = [&nonce[..], &ct].concat();
    c.execute(
        "INSERT INTO meta (name, value) VALUES ('kdf', ?1), ('key_check', ?2)",
        params![&b"raw-key"[..], check],
    )
    .unwrap();
    for r in [bob(), carol(), contact(3, ContactState::Declined, None)] {
        let state = match r.state {
            ContactState::Added => 0,
            ContactState::RequestReceived => 1,
            ContactState::Accepted => 2,
            ContactState::Declined => 3,
            ContactState::Blocked => 4,
        };
        c.execute(
            "INSERT INTO contacts (identity, state, name, updated_at) VALUES (?1, ?2, ?3, ?4)",
            params![&r.identity.as_bytes()[..], state, r.name, r.updated_at],
        )
        .unwrap();
    }
    for i in v1_installations() {
        c.execute(
            "INSERT INTO installations (identity, installation_id, timestamp, enabled, \
             protocol_version, first_seen, last_bundle_at, missing_since, stale, \
             heard_with_protocol_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                &i.identity.as_bytes()[..],
                i.installation_id.as_str(),
                i.timestamp,
                i.enabled,
                i.protocol_version,
                i.first_seen,
                i.last_bundle_at,
                i.missing_since,
                i.stale,
                i.heard_with_protocol_version
            ],
        )
        .unwrap();
    }
    for p in v1_peer_prekeys() {
        c.execute(
            "INSERT INTO peer_prekeys (identity, installation_id, public, version, \
             protocol_version, bundle_timestamp, expired, received_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                &p.identity.as_bytes()[..],
                p.installation_id.as_str(),
                &p.public.as_bytes()[..],
                p.version,
                p.protocol_version,
                p.bundle_timestamp,
                p.expired,
                p.received_at
            ],
        )
        .unwrap();
    }
}

fn v1_installations() -> Vec<InstallationRecord> {
    // Ordered as all_installations returns them; covers both values of every flag and
    // missing_since both set and unset.
    vec![
        installation(1, "inst-1", 100),
        installation(1, "inst-2", 105),
        installation(2, "inst-1", 210),
        installation(2, "ä", i64::MIN + 7),
    ]
}

fn v1_peer_prekeys() -> Vec<PeerPreKeyRecord> {
    // Ordered as peer_prekeys(k33(1), "inst-1") returns them.
    vec![
        peer_prekey(1, "inst-1", 21, 2),
        peer_prekey(1, "inst-1", 20, 1),
    ]
}

fn user_version(path: &Path) -> u32 {
    raw(path)
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

fn unauthenticated_rows(path: &Path) -> i64 {
    let c = raw(path);
    ["contacts", "installations", "peer_prekeys"]
        .iter()
        .map(|t| {
            c.query_row(
                &format!("SELECT count(*) FROM {t} WHERE row_mac IS NULL"),
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
        })
        .sum()
}

#[test]
fn a_version_1_store_is_upgraded_at_open_and_reads_back_identically() {
    let (_d, path) = temp();
    create_v1(&path);
    assert_eq!(user_version(&path), 1);

    let check = |store: &mut SqliteStore| {
        let tx = store.begin().unwrap();
        assert_eq!(
            tx.contacts().unwrap(),
            [bob(), carol(), contact(3, ContactState::Declined, None)]
        );
        assert_eq!(tx.contact(&ik(1)).unwrap(), Some(bob()));
        assert_eq!(tx.all_installations().unwrap(), v1_installations());
        assert_eq!(
            tx.installation(&ik(2), &inst("ä")).unwrap(),
            Some(installation(2, "ä", i64::MIN + 7))
        );
        assert_eq!(
            tx.peer_prekeys(&ik(1), &inst("inst-1")).unwrap(),
            v1_peer_prekeys()
        );
    };
    let mut store = open(&path);
    check(&mut store);
    store.close().unwrap();
    assert_eq!(user_version(&path), SqliteStore::SCHEMA_VERSION);
    const { assert!(SqliteStore::SCHEMA_VERSION >= 2) };
    assert_eq!(unauthenticated_rows(&path), 0, "every row was sealed");

    // Opening again changes nothing (the upgrade ran once).
    let macs = |path: &Path| -> Vec<Vec<u8>> {
        let c = raw(path);
        let mut st = c
            .prepare(
                "SELECT row_mac FROM contacts UNION ALL SELECT row_mac FROM installations \
                 UNION ALL SELECT row_mac FROM peer_prekeys",
            )
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let before = macs(&path);
    assert_eq!(before.len(), 3 + 4 + 2);
    let mut store = open(&path);
    check(&mut store);
    store.close().unwrap();
    assert_eq!(macs(&path), before);

    // The upgraded rows are really authenticated.
    swap_contact_columns(&path, 1, 2, &["name"]);
    let mut store = open(&path);
    let tx = store.begin().unwrap();
    assert_tampered(tx.contact(&ik(1)), "contacts", &hex33(1));
}

#[test]
fn an_upgrade_with_the_wrong_key_changes_nothing() {
    let (_d, path) = temp();
    create_v1(&path);
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open_with_key(&path, &StoreKey::new([1; 32]), SqliteOptions::default())
        .unwrap_err();
    assert!(matches!(err, StoreError::WrongKey), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(user_version(&path), 1);
}

#[test]
fn the_memory_store_keeps_whatever_it_is_given() {
    // No authentication layer there: the same records round-trip unchanged.
    let mut store = MemoryStore::new();
    let mut tx = store.begin().unwrap();
    tx.put_contact(&bob()).unwrap();
    tx.put_installation(&installation(1, "inst-1", 100))
        .unwrap();
    tx.commit().unwrap();
    let tx = store.begin().unwrap();
    assert_eq!(tx.contacts().unwrap(), [bob()]);
    assert_eq!(
        tx.all_installations().unwrap(),
        [installation(1, "inst-1", 100)]
    );
}

#[test]
fn app_record_values_are_sealed_and_bound_to_kind_key_and_due() {
    let (_d, path) = temp();
    {
        let mut store = open(&path);
        let mut tx = store.begin().unwrap();
        tx.put_app_record("outbox", b"m1", b"secret text one", 10)
            .unwrap();
        tx.put_app_record("outbox", b"m2", b"secret text two", 20)
            .unwrap();
        tx.commit().unwrap();
        store.close().unwrap();
    }
    let conn = raw(&path);
    let values: Vec<Vec<u8>> = conn
        .prepare("SELECT value FROM app_records ORDER BY key")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for v in &values {
        assert!(
            !v.windows(11).any(|w| w == b"secret text"),
            "stored in clear"
        );
    }
    // moving m2's value to m1: refused
    conn.execute(
        "UPDATE app_records SET value = ?1 WHERE key = ?2",
        params![values[1], b"m1".to_vec()],
    )
    .unwrap();
    // editing m2's due time: refused
    conn.execute(
        "UPDATE app_records SET due = 5 WHERE key = ?1",
        params![b"m2".to_vec()],
    )
    .unwrap();
    drop(conn);
    let mut store = open(&path);
    let tx = store.begin().unwrap();
    assert!(matches!(
        tx.app_record("outbox", b"m1"),
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        tx.app_record("outbox", b"m2"),
        Err(StoreError::Corrupt(_))
    ));
    assert!(tx.due_app_records("outbox", 100, 10).is_err());
}

/// Maintenance marks a session expired only on an authenticated peer prekey row: a row
/// forged to read `expired` makes `expire_sessions_on_invalid_prekeys` fail as tampered,
/// changing nothing. (A row forged the other way, to read unexpired, leaves its sessions
/// alone, as an older copy of the row, which the tags cannot detect, would.)
#[test]
fn maintenance_expires_sessions_on_authenticated_prekeys_only() {
    let (_d, path) = temp();
    create(&path);
    let mut s = session(skey(1, b"on-21"), "inst-1", 4);
    s.we_initiated = true;
    s.rooted_spk = spk(21);
    s.expired_at = None;
    {
        let mut store = open(&path);
        let mut tx = store.begin().unwrap();
        tx.put_session(&s).unwrap();
        tx.commit().unwrap();
        store.close().unwrap();
    }
    let n = raw(&path)
        .execute(
            "UPDATE peer_prekeys SET expired = 1 WHERE public = ?1",
            [&k33(21)[..]],
        )
        .unwrap();
    assert_eq!(n, 1);
    let mut store = open(&path);
    let mut tx = store.begin().unwrap();
    assert_tampered(
        tx.expire_sessions_on_invalid_prekeys(77),
        "peer_prekeys",
        &hex33(21),
    );
    assert_eq!(tx.session(&s.key).unwrap(), Some(s));
}
