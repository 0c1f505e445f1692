//! Double Ratchet checks: the `kdf_rk`, `kdf_ck`, `dr_header_encode` and `dr_encrypt`
//! primitives (README §3) and a ratchet-level replay of the conversation flow (README §5,
//! §8) against `pfs-ratchet` with the status-go suite in two-phase confirmation mode.
//!
//! The replay feeds each receive step the DR header and payload of the recorded
//! `protocol_message_view` (no protobuf decoding at this level) and compares every
//! recorded ratchet state, message key, associated data, plaintext and `session_init`
//! value. Random keys: the ratchet consumes only ratchet keys, so the replaying source
//! hands out, in `seq` order, the generated keys that appear as a `DR_header.key` or as a
//! recorded `dhs_public` (README §4, method B to identify them, method A's order to hand
//! them out), excluding Bob's signed prekey (the responder's initial DHs). Every such key
//! must be consumed by the end of the replay.

use super::{Report, cases, hexf, text_or_unknown};
use pfs_crypto::hash::keccak256_concat;
use pfs_crypto::{CryptoError, RandomSource, SecretBytes, secp256k1};
use pfs_ratchet::{
    ChainKey, ConfirmMode, DhKeyPair, Header, Limits, MessageKey, RatchetError, RatchetState,
    RootKey, Session, SuiteId, suite,
};
use serde_json::Value;
use std::collections::{HashSet, VecDeque};

/// The primitives this module checks; the others are left to their owners.
pub const PRIMITIVES: &[&str] = &["kdf_rk", "kdf_ck", "dr_header_encode", "dr_encrypt"];

/// Flow name of the conversation replay.
pub const CONVERSATION_FLOW: &str = "x3dh_double_ratchet_conversation";

/// Verifies the ratchet primitives and replays every conversation flow of `doc`.
pub fn verify(doc: &Value, report: &mut Report) {
    if let Some(p) = doc.get("primitives").and_then(Value::as_object) {
        for (name, v) in p {
            if PRIMITIVES.contains(&name.as_str()) {
                verify_primitive(name, v, report);
            }
        }
    }
    if let Some(flows) = doc.get("flows").and_then(Value::as_array) {
        for flow in flows {
            if flow.get("name").and_then(Value::as_str) == Some(CONVERSATION_FLOW) {
                let r = replay_conversation(doc, flow, report);
                report.check_result("ratchet replay: completed", r);
            }
        }
    }
}

fn b32(v: &Value, key: &str) -> Result<[u8; 32], String> {
    let b = hexf(v, key)?;
    b.try_into()
        .map_err(|b: Vec<u8>| format!("field `{key}`: {} bytes, expected 32", b.len()))
}

fn num(v: &Value, key: &str) -> Result<u64, String> {
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("missing number `{key}`"))
}

fn num32(v: &Value, key: &str) -> Result<u32, String> {
    u32::try_from(num(v, key)?).map_err(|e| format!("`{key}`: {e}"))
}

fn verify_primitive(name: &str, v: &Value, report: &mut Report) {
    for (i, case) in cases(v).into_iter().enumerate() {
        let label = format!("primitives.{name}[{i}]");
        let r = match name {
            "kdf_rk" => check_kdf_rk(&label, case, report),
            "kdf_ck" => check_kdf_ck(&label, case, report),
            "dr_header_encode" => check_header_encode(&label, case, report),
            "dr_encrypt" => check_dr_encrypt(&label, case, report),
            _ => Ok(()),
        };
        if let Err(e) = r {
            report.fail(&label, &e);
        }
    }
}

fn check_kdf_rk(label: &str, c: &Value, report: &mut Report) -> Result<(), String> {
    let s = suite(SuiteId::StatusGo);
    let rk = RootKey::from_bytes(b32(c, "rk")?);
    let dh = SecretBytes::new(b32(c, "dh_out")?);
    let (root, chain, header) = s.kdf_rk(&rk, &dh).map_err(|e| e.to_string())?;
    report.check_eq(
        &format!("{label}.root_key"),
        root.expose().to_vec(),
        hexf(c, "root_key")?,
    );
    report.check_eq(
        &format!("{label}.chain_key"),
        chain.expose().to_vec(),
        hexf(c, "chain_key")?,
    );
    report.check_eq(
        &format!("{label}.header_key"),
        header.expose().to_vec(),
        hexf(c, "header_key")?,
    );
    Ok(())
}

fn check_kdf_ck(label: &str, c: &Value, report: &mut Report) -> Result<(), String> {
    let s = suite(SuiteId::StatusGo);
    let (next, mk) = s.kdf_ck(&ChainKey::from_bytes(b32(c, "ck")?));
    report.check_eq(
        &format!("{label}.next_chain_key"),
        next.expose().to_vec(),
        hexf(c, "next_chain_key")?,
    );
    report.check_eq(
        &format!("{label}.message_key"),
        mk.expose().to_vec(),
        hexf(c, "message_key")?,
    );
    Ok(())
}

fn check_header_encode(label: &str, c: &Value, report: &mut Report) -> Result<(), String> {
    let h = Header {
        key: hexf(c, "dh")?,
        n: num32(c, "n")?,
        pn: num32(c, "pn")?,
    };
    let s = pfs_ratchet::suite_for_key_len(h.key.len()).unwrap_or(suite(SuiteId::StatusGo));
    let mut out = Vec::new();
    s.encode_header(&h, &mut out);
    report.check_eq(&format!("{label}.encoded"), out, hexf(c, "encoded")?);
    Ok(())
}

fn check_dr_encrypt(label: &str, c: &Value, report: &mut Report) -> Result<(), String> {
    let s = suite(SuiteId::StatusGo);
    let mk = MessageKey::from_bytes(b32(c, "mk")?);
    let pt = hexf(c, "plaintext")?;
    let ad = hexf(c, "ad")?;
    let output = hexf(c, "output")?;
    let enc = s.encrypt(&mk, &pt, &ad).map_err(|e| e.to_string())?;
    report.check_eq(&format!("{label}.encrypt"), enc, output.clone());
    report.check(
        &format!("{label}.decrypt"),
        s.decrypt(&mk, &output, &ad).as_deref() == Ok(pt.as_slice()),
        || "decryption of the recorded output did not give the plaintext".into(),
    );
    // Every single-bit flip of the input is rejected.
    let mut accepted = Vec::new();
    for bit in 0..output.len() * 8 {
        let mut bad = output.clone();
        if let Some(b) = bad.get_mut(bit / 8) {
            *b ^= 1 << (bit % 8);
        }
        if s.decrypt(&mk, &bad, &ad) != Err(RatchetError::AuthenticationFailed) {
            accepted.push(bit);
        }
    }
    report.check(
        &format!("{label}.bit_flips_rejected"),
        accepted.is_empty(),
        || format!("flipped bits not rejected: {accepted:?}"),
    );
    // A wrong AD: one extra byte, and (if not empty) a flipped bit.
    let mut longer = ad.clone();
    longer.push(0);
    let mut wrong_ad_ok =
        s.decrypt(&mk, &output, &longer) == Err(RatchetError::AuthenticationFailed);
    if let Some(b) = ad.first() {
        let mut flipped = ad.clone();
        flipped[0] = b ^ 0x01;
        wrong_ad_ok &= s.decrypt(&mk, &output, &flipped) == Err(RatchetError::AuthenticationFailed);
    } else {
        wrong_ad_ok &= s.decrypt(&mk, &output, b"x") == Err(RatchetError::AuthenticationFailed);
    }
    report.check(&format!("{label}.wrong_ad_rejected"), wrong_ad_ok, || {
        "a wrong associated data was accepted".into()
    });
    // Every input shorter than 48 bytes is rejected as too short.
    let short_ok = (0..48.min(output.len() + 1)).all(|len| {
        matches!(
            s.decrypt(&mk, output.get(..len).unwrap_or(&[]), &ad),
            Err(RatchetError::CiphertextTooShort { .. })
        )
    });
    report.check(&format!("{label}.short_input_rejected"), short_ok, || {
        "an input shorter than 48 bytes was not rejected as too short".into()
    });
    Ok(())
}

// ----- conversation replay ------------------------------------------------------------

/// Hands out recorded secp256k1 private keys in order; any other randomness is an error.
struct ReplayKeys {
    keys: VecDeque<(u64, [u8; 32])>,
}

impl RandomSource for ReplayKeys {
    fn fill_bytes(&mut self, _dest: &mut [u8]) -> Result<(), CryptoError> {
        Err(CryptoError::RandomnessExhausted(
            "the ratchet replay expects no random bytes other than ratchet keys".into(),
        ))
    }
    fn secp256k1_secret(&mut self) -> Result<SecretBytes<32>, CryptoError> {
        self.keys
            .pop_front()
            .map(|(_, k)| SecretBytes::new(k))
            .ok_or_else(|| CryptoError::RandomnessExhausted("no more recorded ratchet keys".into()))
    }
}

/// Collects every string value of `v` under any of `keys` (recursively).
fn collect(v: &Value, keys: &[&str], out: &mut HashSet<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if keys.contains(&k.as_str())
                    && let Some(s) = x.as_str()
                {
                    out.insert(s.to_owned());
                }
                collect(x, keys, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect(x, keys, out)),
        _ => {}
    }
}

fn ratchet_keys(doc: &Value, flow: &Value) -> Result<VecDeque<(u64, [u8; 32])>, String> {
    let mut seen = HashSet::new();
    // `key` fields inside DR_header objects, and every recorded dhs_public.
    fn dr_keys(v: &Value, out: &mut HashSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k == "DR_header"
                        && let Some(s) = x.get("key").and_then(Value::as_str)
                    {
                        out.insert(s.to_owned());
                    }
                    dr_keys(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| dr_keys(x, out)),
            _ => {}
        }
    }
    dr_keys(flow, &mut seen);
    collect(flow, &["dhs_public"], &mut seen);
    let spk_b = flow
        .pointer("/bob/signed_pre_key/public_key_compressed")
        .and_then(Value::as_str)
        .ok_or("missing bob.signed_pre_key")?;
    seen.remove(spk_b);
    let mut out = VecDeque::new();
    for g in doc
        .get("generated_keys")
        .and_then(Value::as_array)
        .ok_or("missing generated_keys")?
    {
        let public = g
            .get("public_key_compressed")
            .and_then(Value::as_str)
            .unwrap_or("");
        if seen.contains(public) {
            out.push_back((num(g, "seq")?, b32(g, "private_key")?));
        }
    }
    Ok(out)
}

fn secp(v: &Value, ptr: &str) -> Result<secp256k1::SecretKey, String> {
    let hex = v
        .pointer(ptr)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing {ptr}"))?;
    let b = hex::decode(hex).map_err(|e| format!("{ptr}: {e}"))?;
    secp256k1::SecretKey::from_bytes(&b).map_err(|e| format!("{ptr}: {e}"))
}

fn pubkey(hex_key: &[u8]) -> Result<secp256k1::PublicKey, String> {
    secp256k1::PublicKey::from_compressed(hex_key).map_err(|e| e.to_string())
}

/// Passive X3DH (README §3): SK = Keccak256(ECDH(SPK_B, IK_A) ‖ ECDH(IK_B, EK_A) ‖ ECDH(SPK_B, EK_A)).
fn passive_sk(flow: &Value, ek_a: &[u8]) -> Result<SecretBytes<32>, String> {
    let spk_b = secp(flow, "/bob/signed_pre_key/private_key")?;
    let ik_b = secp(flow, "/bob/identity/private_key")?;
    let ik_a = pubkey(
        &hex::decode(
            flow.pointer("/alice/identity/public_key_compressed")
                .and_then(Value::as_str)
                .ok_or("missing alice identity")?,
        )
        .map_err(|e| e.to_string())?,
    )?;
    let ek = pubkey(ek_a)?;
    let d1 = spk_b.diffie_hellman(&ik_a);
    let d2 = ik_b.diffie_hellman(&ek);
    let d3 = spk_b.diffie_hellman(&ek);
    Ok(SecretBytes::new(keccak256_concat(&[
        d1.expose(),
        d2.expose(),
        d3.expose(),
    ])))
}

fn opt_hex(b: Option<&[u8]>) -> String {
    b.map(hex::encode).unwrap_or_default()
}

/// Compares a state with a recorded state view (README §2), all fields; one check.
fn check_state(report: &mut Report, name: &str, got: Option<&RatchetState>, want: Option<&Value>) {
    match (got, want) {
        (None, None | Some(Value::Null)) => report.pass(name),
        (Some(s), Some(w)) if !w.is_null() => {
            let fields: [(&str, String, String); 10] = [
                (
                    "dhs_private",
                    opt_hex(s.dhs_private().map(|k| &k.expose()[..])),
                    str_of(w, "dhs_private"),
                ),
                (
                    "dhs_public",
                    opt_hex(s.dhs_public()),
                    str_of(w, "dhs_public"),
                ),
                ("dhr", opt_hex(s.dhr()), str_of(w, "dhr")),
                (
                    "root_chain_key",
                    hex::encode(s.root_chain_key().expose()),
                    str_of(w, "root_chain_key"),
                ),
                (
                    "send_chain_key",
                    opt_hex(s.send_chain_key().map(|k| &k.expose()[..])),
                    str_of(w, "send_chain_key"),
                ),
                (
                    "send_chain_n",
                    s.send_chain_n().to_string(),
                    num_of(w, "send_chain_n"),
                ),
                (
                    "recv_chain_key",
                    opt_hex(s.recv_chain_key().map(|k| &k.expose()[..])),
                    str_of(w, "recv_chain_key"),
                ),
                (
                    "recv_chain_n",
                    s.recv_chain_n().to_string(),
                    num_of(w, "recv_chain_n"),
                ),
                ("pn", s.pn().to_string(), num_of(w, "pn")),
                (
                    "keys_count",
                    s.keys_count().to_string(),
                    num_of(w, "keys_count"),
                ),
            ];
            let bad: Vec<String> = fields
                .iter()
                .filter(|(_, g, w)| g != w)
                .map(|(f, g, w)| format!("{f}: got {g}, want {w}"))
                .collect();
            report.check(name, bad.is_empty(), || bad.join("; "));
        }
        (g, w) => report.fail(
            name,
            &format!(
                "session existence differs: have {}, recorded {:?}",
                g.is_some(),
                w
            ),
        ),
    }
}

fn str_of(w: &Value, k: &str) -> String {
    w.get(k)
        .and_then(Value::as_str)
        .unwrap_or("<missing>")
        .to_owned()
}

fn num_of(w: &Value, k: &str) -> String {
    w.get(k)
        .and_then(Value::as_u64)
        .map_or("<missing>".into(), |n| n.to_string())
}

/// The single DirectMessageProtocol view of a send step, addressed to `to`.
fn direct_message<'a>(step: &'a Value, flow: &Value, to: &str) -> Result<&'a Value, String> {
    let dm = step
        .pointer("/protocol_message_view/direct_message")
        .and_then(Value::as_object)
        .ok_or("missing protocol_message_view.direct_message")?;
    let inst = flow
        .pointer(&format!("/{to}/installation_id"))
        .and_then(Value::as_str)
        .unwrap_or("");
    dm.get(inst)
        .or_else(|| dm.values().next())
        .ok_or_else(|| "empty direct_message".into())
}

fn dr_header(dmp: &Value) -> Result<Header, String> {
    let h = dmp.get("DR_header").ok_or("missing DR_header")?;
    Ok(Header {
        key: hexf(h, "key")?,
        n: num32(h, "n")?,
        pn: num32(h, "pn")?,
    })
}

struct Party {
    name: &'static str,
    session: Option<Session>,
    sends: Vec<usize>,
}

fn replay_conversation(doc: &Value, flow: &Value, report: &mut Report) -> Result<(), String> {
    let steps = flow
        .get("steps")
        .and_then(Value::as_array)
        .ok_or("flow without steps")?;
    let mut rng = ReplayKeys {
        keys: ratchet_keys(doc, flow)?,
    };
    let n_keys = rng.keys.len();
    let spk_b_pub = hexf(
        flow.pointer("/bob/signed_pre_key")
            .ok_or("missing bob.signed_pre_key")?,
        "public_key_compressed",
    )?;
    let spk_b_priv = hexf(
        flow.pointer("/bob/signed_pre_key")
            .ok_or("missing bob.signed_pre_key")?,
        "private_key",
    )?;
    let limits = Limits::default();
    let mut parties = [
        Party {
            name: "alice",
            session: None,
            sends: Vec::new(),
        },
        Party {
            name: "bob",
            session: None,
            sends: Vec::new(),
        },
    ];
    let idx = |name: &str| -> Result<usize, String> {
        match name {
            "alice" => Ok(0),
            "bob" => Ok(1),
            other => Err(format!("unknown party `{other}`")),
        }
    };

    for (i, step) in steps.iter().enumerate() {
        let label = format!(
            "ratchet replay step {i} ({})",
            text_or_unknown(step, "step")
        );
        if let Some(from) = step.get("from").and_then(Value::as_str) {
            // ----- send step -----
            let to = step
                .get("to")
                .and_then(Value::as_str)
                .ok_or("send step without `to`")?;
            let p = idx(from)?;
            parties[p].sends.push(i);
            check_state(
                report,
                &format!("{label}: sender_state_before"),
                parties[p].session.as_ref().map(Session::state),
                step.get("sender_state_before"),
            );
            if let Some(init) = step.get("session_init") {
                if parties[p].session.is_some() {
                    report.fail(
                        &label,
                        "session_init on a step whose sender already has a session",
                    );
                }
                let sk = SecretBytes::new(b32(init, "sk")?);
                let (state, dh_out) =
                    RatchetState::new_status_go_initiator_detailed(&sk, &spk_b_pub, &mut rng)
                        .map_err(|e| format!("{label}: initiator: {e}"))?;
                report.check_eq(
                    &format!("{label}: session_init.dh_out"),
                    hex::encode(dh_out.expose()),
                    str_of(init, "dh_out"),
                );
                report.check_eq(
                    &format!("{label}: session_init.root_key_after_init"),
                    hex::encode(state.root_chain_key().expose()),
                    str_of(init, "root_key_after_init"),
                );
                report.check_eq(
                    &format!("{label}: session_init.send_chain_key_initial"),
                    opt_hex(state.send_chain_key().map(|k| &k.expose()[..])),
                    str_of(init, "send_chain_key_initial"),
                );
                parties[p].session = Some(Session::new(state, limits, ConfirmMode::TwoPhase));
            }
            let session = parties[p]
                .session
                .as_mut()
                .ok_or_else(|| format!("{label}: no session to send with"))?;
            let pt = hexf(step, "plaintext")?;
            let e = session
                .encrypt_detailed(&pt, &[])
                .map_err(|e| format!("{label}: encrypt: {e}"))?;
            let dmp = direct_message(step, flow, to)?;
            report.check_eq(
                &format!("{label}: DR_header"),
                e.header.clone(),
                dr_header(dmp)?,
            );
            report.check_eq(
                &format!("{label}: message_key"),
                e.message_key.expose().to_vec(),
                hexf(step, "message_key")?,
            );
            report.check_eq(
                &format!("{label}: associated_data"),
                e.associated_data.clone(),
                hexf(step, "associated_data")?,
            );
            report.check_eq(
                &format!("{label}: payload"),
                e.ciphertext.clone(),
                hexf(dmp, "payload")?,
            );
            check_state(
                report,
                &format!("{label}: sender_state_after"),
                Some(session.state()),
                step.get("sender_state_after"),
            );
        } else if let Some(receiver) = step.get("receiver").and_then(Value::as_str) {
            // ----- receive step -----
            let r = idx(receiver)?;
            let sender = 1 - r;
            let id = hex::decode(
                step.get("message_id")
                    .and_then(Value::as_str)
                    .ok_or("missing message_id")?,
            )
            .map_err(|e| e.to_string())?;
            let id = String::from_utf8(id).map_err(|e| e.to_string())?;
            let k: usize = id
                .get(1..)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("bad message_id `{id}`"))?;
            if !id.starts_with(&parties[sender].name[..1]) {
                report.fail(
                    &label,
                    &format!("message_id `{id}` is not from {}", parties[sender].name),
                );
            }
            let send_idx = *parties[sender]
                .sends
                .get(k.wrapping_sub(1))
                .ok_or_else(|| format!("{label}: message `{id}` not sent yet"))?;
            let send_step = steps.get(send_idx).ok_or("bad send index")?;
            let dmp = direct_message(send_step, flow, receiver)?;
            let header = dr_header(dmp)?;
            let payload = hexf(dmp, "payload")?;
            check_state(
                report,
                &format!("{label}: receiver_state_before"),
                parties[r].session.as_ref().map(Session::state),
                step.get("receiver_state_before"),
            );
            if parties[r].session.is_none() {
                // Passive side (README §8.3): SK from passive X3DH, DHs = own SPK pair.
                let x3dh = dmp
                    .get("X3DH_header")
                    .ok_or_else(|| format!("{label}: no session and no X3DH header"))?;
                let sk = passive_sk(flow, &hexf(x3dh, "key")?)?;
                let recorded_sk = steps
                    .iter()
                    .find_map(|s| s.pointer("/session_init/sk").and_then(Value::as_str))
                    .unwrap_or("");
                report.check_eq(
                    &format!("{label}: passive X3DH SK == session_init.sk"),
                    hex::encode(sk.expose()),
                    recorded_sk.to_owned(),
                );
                let spk = DhKeyPair {
                    secret: SecretBytes::from_slice("SPK", &spk_b_priv)
                        .map_err(|e| e.to_string())?,
                    public: spk_b_pub.clone(),
                };
                let state = RatchetState::new_status_go_responder(&sk, spk)
                    .map_err(|e| format!("{label}: responder: {e}"))?;
                parties[r].session = Some(Session::new(state, limits, ConfirmMode::TwoPhase));
            }
            let session = parties[r].session.as_mut().ok_or("no session")?;
            match session.decrypt_detailed(&header, &payload, &[], &mut rng) {
                Ok(d) => {
                    report.check_eq(
                        &format!("{label}: decrypted"),
                        d.plaintext.clone(),
                        hexf(step, "decrypted")?,
                    );
                    report.check_eq(
                        &format!("{label}: message_key"),
                        d.message_key.expose().to_vec(),
                        hexf(send_step, "message_key")?,
                    );
                    report.check_eq(
                        &format!("{label}: associated_data"),
                        d.associated_data.clone(),
                        hexf(send_step, "associated_data")?,
                    );
                    report.check(
                        &format!("{label}: receipt"),
                        d.receipt
                            .as_ref()
                            .is_some_and(|rc| rc.ratchet_key == header.key && rc.n == header.n),
                        || "missing or wrong two-phase receipt".into(),
                    );
                }
                Err(e) => report.fail(&format!("{label}: decrypt"), &e.to_string()),
            }
            check_state(
                report,
                &format!("{label}: receiver_state_after"),
                parties[r].session.as_ref().map(Session::state),
                step.get("receiver_state_after"),
            );
        }
        // Bundle steps carry no ratchet state.
    }
    report.check(
        "ratchet replay: every recorded ratchet key consumed",
        rng.keys.is_empty(),
        || {
            format!(
                "{} of {n_keys} ratchet keys left: seq {:?}",
                rng.keys.len(),
                rng.keys.iter().map(|k| k.0).collect::<Vec<_>>()
            )
        },
    );
    Ok(())
}
