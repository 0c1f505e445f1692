//! Opens every envelope recorded from status-go (shared/vectors/whisper-envelope.json)
//! and checks payload and signer; decodes every recorded ECIES negative case.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_crypto::secp256k1::SecretKey;
use pfs_transport::envelope::{DEFAULT_MAX_ENVELOPE_SIZE, OpenKey, OpenOptions, open_bytes};
use pfs_transport::{PowVariant, SymKey, ecies};
use serde_json::Value;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/vectors/whisper-envelope.json"
);

fn hexf(v: &Value, k: &str) -> Option<Vec<u8>> {
    v.get(k)
        .and_then(Value::as_str)
        .map(|s| hex::decode(s).unwrap())
}

fn key(doc: &Value, name: &str) -> SecretKey {
    SecretKey::from_bytes(&hexf(&doc["keys"][name], "private_key").unwrap()).unwrap()
}

#[test]
fn open_recorded_envelopes() {
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(VECTORS).unwrap()).unwrap();
    let mut opened = 0;
    for (run_name, run) in doc["runs"].as_object().unwrap() {
        let variant = match run["generator"]["pow_variant"].as_str().unwrap() {
            "v1.4.10" => PowVariant::V1_4_10,
            _ => PowVariant::V1_5_2,
        };
        let cases = run["envelopes"]
            .as_array()
            .unwrap()
            .iter()
            .chain(run["status_sends"].as_array().unwrap());
        for c in cases {
            let name = c["name"].as_str().unwrap();
            let ev = &c["envelope"];
            let Some(rlp) = hexf(ev, "rlp") else {
                continue; // compacted (70000-byte payload): covered by `cargo xtask vectors`
            };
            let params = &c["params"];
            let opts = OpenOptions {
                now: params["now_unix"].as_u64().unwrap() as u32,
                variant,
                // status-go's minimum PoW; the sealed vectors all pass it in their own variant.
                min_pow: if params["pow_target"].as_f64().unwrap() > 0.0 {
                    0.001
                } else {
                    0.0
                },
                max_envelope_size: DEFAULT_MAX_ENVELOPE_SIZE,
            };
            let sym;
            let sk;
            let open_key = match c["encryption"].as_str().unwrap() {
                "symmetric" => {
                    sym = SymKey::from_bytes(&hexf(params, "sym_key").unwrap()).unwrap();
                    OpenKey::Symmetric(&sym)
                }
                _ => {
                    sk = key(&doc, params["recipient"].as_str().unwrap());
                    OpenKey::Asymmetric(&sk)
                }
            };
            let (env, msg) = open_bytes(&rlp, open_key, &opts)
                .unwrap_or_else(|e| panic!("{run_name} {name}: {e}"));
            assert_eq!(
                env.hash().to_vec(),
                hexf(ev, "hash").unwrap(),
                "{run_name} {name}"
            );
            assert_eq!(
                msg.payload,
                hexf(c, "payload").unwrap(),
                "{run_name} {name}"
            );
            let want_signer = c["opened"]["signer"]["public_key_uncompressed"]
                .as_str()
                .map(|s| hex::decode(s).unwrap());
            assert_eq!(
                msg.signer.map(|p| p.to_uncompressed().to_vec()),
                want_signer,
                "{run_name} {name}"
            );
            opened += 1;
        }
        for c in run
            .get("ecies_negative")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let sk = key(&doc, c["decrypt_with"].as_str().unwrap());
            let err = ecies::decrypt(&sk, &hexf(c, "input").unwrap()).unwrap_err();
            assert_eq!(err.to_string(), c["error"].as_str().unwrap());
        }
    }
    assert!(opened >= 40, "opened {opened} envelopes");
}
