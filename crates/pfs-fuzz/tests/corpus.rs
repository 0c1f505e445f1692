//! Replays the fuzz corpora (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`) through
//! the harnesses, so `cargo test` exercises them without a fuzzer; and (ignored) regenerates
//! the seed corpora from real engine runs and the vector files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_protocol::MessageId;
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz")).to_path_buf()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn replay_corpora_and_regressions() {
    for target in pfs_fuzz::TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(target));
        assert!(
            corpus.len() >= 5,
            "{target}: seed corpus missing or too small ({} files)",
            corpus.len()
        );
        let regressions = files(&fuzz_dir().join("regressions").join(target));
        // PFS_FUZZ_REPLAY_DIR=fuzz/target/work-corpus also replays what a fuzzing run found
        let extra = std::env::var_os("PFS_FUZZ_REPLAY_DIR")
            .map(|d| files(&Path::new(&d).join(target)))
            .unwrap_or_default();
        for f in corpus.iter().chain(&regressions).chain(&extra) {
            let data = std::fs::read(f).unwrap();
            assert!(pfs_fuzz::run(target, &data), "{}", f.display());
        }
    }
}

#[test]
fn harness_seeds_run() {
    for target in pfs_fuzz::TARGETS {
        let seeds = pfs_fuzz::templates::seeds(target);
        assert!(!seeds.is_empty(), "{target}");
        for s in seeds {
            pfs_fuzz::run(target, &s);
        }
    }
}

/// The real messages of the engine template decrypt in the harness's fixed state (the
/// seeds reach the deep code paths instead of failing at the first check).
#[test]
fn engine_seeds_reach_decryption() {
    let t = pfs_fuzz::templates::engine();
    let mut e = t.open_bob();
    let d = e
        .decrypt(&t.alice, &t.pending.bytes, &MessageId::from(b"x"))
        .unwrap();
    assert_eq!(d.plaintext, t.pending_plaintext);
    // a replay of the same message is refused (its skipped key was used)
    assert!(
        e.decrypt(&t.alice, &t.pending.bytes, &MessageId::from(b"y"))
            .is_err()
    );
    // the same bytes claimed by a stranger are refused
    let mut e = t.open_bob();
    assert!(
        e.decrypt(&t.eve, &t.pending.bytes, &MessageId::from(b"z"))
            .is_err()
    );
}

#[test]
fn ratchet_seeds_reach_decryption() {
    for spec in [false, true] {
        let t = pfs_fuzz::templates::ratchet(spec);
        let mut ok = 0;
        for s in &t.seeds {
            let mut sess = t.receiver.clone();
            let parsed = s.get(2 + usize::from(s[1])..).unwrap();
            let header = pfs_ratchet::Header {
                key: s[2..2 + usize::from(s[1])].to_vec(),
                n: u32::from_le_bytes(parsed[..4].try_into().unwrap()),
                pn: u32::from_le_bytes(parsed[4..8].try_into().unwrap()),
            };
            let mut rng = pfs_fuzz::DetRng::new("t");
            if sess
                .decrypt(
                    &header,
                    &parsed[8..],
                    pfs_fuzz::templates::RATCHET_AD,
                    &mut rng,
                )
                .is_ok()
            {
                ok += 1;
            }
        }
        // messages 0 and 3 were already received; the other six are pending
        assert_eq!(ok, t.seeds.len() - 2, "spec={spec}");
    }
}

fn vector_strings(v: &serde_json::Value, keys: &[&str], out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                if let (true, Some(s)) = (keys.contains(&k.as_str()), x.as_str()) {
                    out.push(s.to_owned());
                }
                vector_strings(x, keys, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| vector_strings(x, keys, out)),
        _ => {}
    }
}

fn vector_seeds(keys: &[&str], hex_decode: bool) -> Vec<Vec<u8>> {
    let dir = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/vectors"
    ));
    let mut out = Vec::new();
    for f in files(dir) {
        if f.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let mut strings = Vec::new();
        vector_strings(&doc, keys, &mut strings);
        for s in strings {
            if hex_decode {
                if let Ok(b) = hex::decode(s.trim_start_matches("0x")) {
                    out.push(b);
                }
            } else {
                out.push(s.into_bytes());
            }
        }
    }
    out
}

/// The Waku seeds reach past the decoders: every payload seed opens with one of the fixed
/// keys, every message seed is a valid WakuMessage, and each RPC seed decodes as the
/// message it was made from.
#[test]
fn waku_seeds_reach_the_deep_paths() {
    use pfs_fuzz::{WAKU_PAYLOAD_ASYM_KEY, WAKU_PAYLOAD_SYM_KEY};
    use pfs_transport::{OpenKey, SymKey, payload, waku};
    use pfs_wire::Message;
    let sym = SymKey::from_bytes(&WAKU_PAYLOAD_SYM_KEY).unwrap();
    let sk = pfs_crypto::secp256k1::SecretKey::from_bytes(&WAKU_PAYLOAD_ASYM_KEY).unwrap();
    let seeds = pfs_fuzz::templates::seeds("waku_payload");
    for s in &seeds {
        let o = payload::open(s, OpenKey::Symmetric(&sym))
            .or_else(|_| payload::open(s, OpenKey::Asymmetric(&sk)))
            .unwrap();
        assert!(!o.payload.is_empty());
    }
    let signed = seeds
        .iter()
        .filter_map(|s| payload::open(s, OpenKey::Symmetric(&sym)).ok())
        .filter(|o| o.signer.is_some())
        .count();
    assert!(signed >= 2, "signed symmetric payload seeds: {signed}");
    for s in pfs_fuzz::templates::seeds("waku_message") {
        let m = waku::decode_message(&s, waku::DEFAULT_MAX_MESSAGE_SIZE).unwrap();
        waku::validate(&m, s.len(), waku::DEFAULT_MAX_MESSAGE_SIZE, None).unwrap();
    }
    let rpc = pfs_fuzz::templates::seeds("waku_rpc");
    assert_eq!(rpc.len(), 11);
    let m = pfs_wire::waku::StoreQueryResponse::decode(rpc[7].as_slice()).unwrap();
    assert_eq!(m.messages.len(), 1);
    let m = pfs_wire::waku::MessagePush::decode(rpc[10].as_slice()).unwrap();
    assert_eq!(m.waku_message.unwrap().version, Some(1));
}

/// Regenerates `fuzz/corpus/<target>/` (run with `--ignored`; files are named by the
/// SHA-256 of their content, as libFuzzer names them). `PFS_FUZZ_SEED_TARGETS=a,b` limits
/// it to those targets.
#[test]
#[ignore = "writes the seed corpora into fuzz/corpus"]
fn generate_seed_corpora() {
    let only = std::env::var("PFS_FUZZ_SEED_TARGETS").ok();
    for target in pfs_fuzz::TARGETS {
        if let Some(only) = &only
            && !only.split(',').any(|t| t == *target)
        {
            continue;
        }
        let mut seeds = pfs_fuzz::templates::seeds(target);
        match *target {
            "wire_decode" => seeds.extend(vector_seeds(&["protocol_message", "protobuf"], true)),
            "bundle_verify" => seeds.extend(vector_seeds(&["bundle_protobuf", "protobuf"], true)),
            "contact_code" => seeds.extend(vector_seeds(&["contact_code_base64"], false)),
            "envelope_open" => seeds.extend(
                vector_seeds(&["rlp"], true)
                    .into_iter()
                    .map(|r| [vec![0u8], r].concat()),
            ),
            _ => {}
        }
        seeds.sort();
        seeds.dedup();
        seeds.truncate(200);
        let dir = fuzz_dir().join("corpus").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for s in &seeds {
            let name = hex::encode(&pfs_crypto::hash::sha256(s)[..20]);
            std::fs::write(dir.join(name), s).unwrap();
        }
        println!("{target}: {} seeds", seeds.len());
    }
}
