//! Protocol-level replay of the vector flows (README §5, §6, §12): our engine, fed the
//! recorded keys, nonces and timestamps, must reproduce every recorded message, state,
//! installation table and error.

use super::replay::Replay;
use super::{Report, hexf};
use pfs_crypto::secp256k1::PublicKey;
use pfs_protocol::MessageId;
use pfs_protocol::{Config, Engine, ManualClock, ReceiveError, SessionId};
use pfs_ratchet::RatchetState;
use pfs_store::MemoryStore;
use pfs_wire::{Message, pb};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn keys_of(doc: &Value) -> Result<Vec<[u8; 32]>, String> {
    let mut out = Vec::new();
    for k in doc
        .get("generated_keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let b = hexf(k, "private_key")?;
        out.push(
            b.try_into()
                .map_err(|_| "generated key is not 32 bytes".to_string())?,
        );
    }
    Ok(out)
}

fn reads_of(doc: &Value) -> Result<Vec<Vec<u8>>, String> {
    doc.get("random_stream_reads")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| hexf(r, "bytes"))
        .collect()
}

fn ts(v: &Value) -> Result<i64, String> {
    s(v, "timestamp")
        .parse::<i64>()
        .map_err(|e| format!("timestamp: {e}"))
}

fn pubkey(hex_str: &str) -> Result<PublicKey, String> {
    let b = hex::decode(hex_str).map_err(|e| e.to_string())?;
    PublicKey::from_sec1(&b).map_err(|e| e.to_string())
}

fn engine(
    clock: &ManualClock,
    rng: &Replay,
    secret_hex: &str,
    installation: &str,
) -> Result<Engine, String> {
    let secret = hex::decode(secret_hex).map_err(|e| e.to_string())?;
    let identity = pfs_x3dh::IdentityKeyPair::from_bytes(&secret).map_err(|e| e.to_string())?;
    let installation = pfs_x3dh::InstallationId::new(installation).map_err(|e| e.to_string())?;
    Engine::create_with_identity(
        Box::new(MemoryStore::new()),
        Box::new(clock.clone()),
        Box::new(rng.clone()),
        Config::status_go_compatible(),
        &identity,
        installation,
    )
    .map_err(|e| e.to_string())
}

/// The JSON view of a ratchet state (README §2 "Ratchet state view").
pub fn state_view(st: &RatchetState) -> Value {
    json!({
        "dhs_private": hex::encode(st.dhs_private().map(|k| k.expose().to_vec()).unwrap_or_default()),
        "dhs_public": hex::encode(st.dhs_public().unwrap_or_default()),
        "dhr": hex::encode(st.dhr().unwrap_or_default()),
        "root_chain_key": hex::encode(st.root_chain_key().expose()),
        "send_chain_key": hex::encode(st.send_chain_key().map(|k| k.expose().to_vec()).unwrap_or_default()),
        "send_chain_n": st.send_chain_n(),
        "recv_chain_key": hex::encode(st.recv_chain_key().map(|k| k.expose().to_vec()).unwrap_or_default()),
        "recv_chain_n": st.recv_chain_n(),
        "pn": st.pn(),
        "keys_count": st.keys_count(),
    })
}

fn check_state(report: &mut Report, name: &str, got: Option<RatchetState>, want: Option<&Value>) {
    match (got, want) {
        (None, None) => report.pass(name),
        (None, Some(Value::Null)) => report.pass(name),
        (Some(st), Some(w)) if !w.is_null() => {
            let view = state_view(&st);
            let mut diffs = Vec::new();
            if let Some(obj) = w.as_object() {
                for (k, v) in obj {
                    if view.get(k) != Some(v) {
                        diffs.push(format!(
                            "{k}: got {}, want {v}",
                            view.get(k).unwrap_or(&Value::Null)
                        ));
                    }
                }
            }
            report.check(name, diffs.is_empty(), || diffs.join("; "));
        }
        (g, w) => report.fail(
            name,
            &format!("state presence differs: got {}, want {:?}", g.is_some(), w),
        ),
    }
}

/// Re-orders the map entries of `ours` as they appear in `recorded` (README §7).
fn reorder_like(ours: &mut pb::ProtocolMessage, recorded: &pb::ProtocolMessage) {
    let pos = |id: &str| {
        recorded
            .direct_message
            .iter()
            .position(|e| e.installation_id == id)
            .unwrap_or(usize::MAX)
    };
    ours.direct_message.sort_by_key(|e| pos(&e.installation_id));
    for (b, rb) in ours.bundles.iter_mut().zip(&recorded.bundles) {
        reorder_bundle(b, rb);
    }
}

fn reorder_bundle(ours: &mut pb::Bundle, recorded: &pb::Bundle) {
    let pos = |id: &str| {
        recorded
            .signed_pre_keys
            .iter()
            .position(|e| e.installation_id == id)
            .unwrap_or(usize::MAX)
    };
    ours.signed_pre_keys
        .sort_by_key(|e| pos(&e.installation_id));
}

fn compare_message(
    report: &mut Report,
    name: &str,
    ours: &[u8],
    recorded_hex: &str,
) -> Option<pb::ProtocolMessage> {
    let Ok(recorded_bytes) = hex::decode(recorded_hex) else {
        report.fail(name, "recorded protocol_message is not hex");
        return None;
    };
    let Ok(recorded) = pb::ProtocolMessage::decode(recorded_bytes.as_slice()) else {
        report.fail(name, "recorded protocol_message does not decode");
        return None;
    };
    match pb::ProtocolMessage::decode(ours) {
        Ok(mut m) => {
            reorder_like(&mut m, &recorded);
            let ok = m.encode_to_vec() == recorded_bytes;
            report.check(name, ok, || {
                format!(
                    "bytes differ:\n  ours     {}\n  recorded {}",
                    hex::encode(m.encode_to_vec()),
                    recorded_hex
                )
            });
        }
        Err(e) => report.fail(name, &format!("our message does not decode: {e}")),
    }
    Some(recorded)
}

/// Our bundle against a recorded bundle view: same content, same signature, and our
/// encoding in the recorded entry order equals the recorded protobuf.
fn compare_bundle(report: &mut Report, name: &str, ours: &pb::Bundle, view: &Value) {
    let Ok(rec_bytes) = hexf(view, "protobuf") else {
        report.fail(name, "bundle view has no protobuf");
        return;
    };
    let Ok(recorded) = pb::Bundle::decode(rec_bytes.as_slice()) else {
        report.fail(name, "recorded bundle does not decode");
        return;
    };
    let mut o = ours.clone();
    reorder_bundle(&mut o, &recorded);
    report.check(
        &format!("{name} bytes"),
        o.encode_to_vec() == rec_bytes,
        || {
            format!(
                "ours {} recorded {}",
                hex::encode(o.encode_to_vec()),
                hex::encode(&rec_bytes)
            )
        },
    );
}

fn message_id_bytes(step: &Value) -> Vec<u8> {
    if let Some(u) = step.get("message_id_utf8").and_then(Value::as_str) {
        return u.as_bytes().to_vec();
    }
    hex::decode(s(step, "message_id")).unwrap_or_default()
}

// ------------------------------------------------------------------ v1 conversation

pub fn verify_conversation_file(doc: &Value, report: &mut Report) {
    let flows: Vec<&Value> = doc
        .get("flows")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .collect();
    let keys = match keys_of(doc) {
        Ok(k) => k,
        Err(e) => return report.fail("generated_keys", &e),
    };
    let reads = match reads_of(doc) {
        Ok(r) => r,
        Err(e) => return report.fail("random_stream_reads", &e),
    };
    let replay = Replay::new(keys.clone(), reads);
    let Some(conv) = flows.iter().find(|f| f.get("steps").is_some()) else {
        return report.skip("conversation flow", "file has none");
    };
    // the flows start at Bob's signed prekey (README §4: after the primitives' keys)
    let spk_pub = s(&conv["bob"]["signed_pre_key"], "private_key");
    let start = keys
        .iter()
        .position(|k| hex::encode(k) == spk_pub)
        .unwrap_or(3);
    replay.set_key_pos(start);
    let clock = ManualClock::new(0);
    if let Err(e) = conversation(conv, &clock, &replay, report) {
        report.fail("conversation flow", &e);
    }
    for f in flows.iter().filter(|f| f.get("steps").is_none()) {
        if let Err(e) = dh_flow(f, conv, &clock, &replay, report) {
            report.fail("dh flow", &e);
        }
    }
    let (k, r) = replay.remaining();
    report.check(
        "all recorded keys and reads consumed",
        k == 0 && r == 0,
        || format!("{k} keys and {r} reads left"),
    );
}

fn conversation(
    flow: &Value,
    clock: &ManualClock,
    replay: &Replay,
    report: &mut Report,
) -> Result<(), String> {
    let alice_v = &flow["alice"];
    let bob_v = &flow["bob"];
    let alice_pub = pubkey(s(&alice_v["identity"], "public_key_compressed"))?;
    let bob_pub = pubkey(s(&bob_v["identity"], "public_key_compressed"))?;
    let mut parties: BTreeMap<&str, (Engine, PublicKey)> = BTreeMap::new();
    parties.insert(
        "alice",
        (
            engine(
                clock,
                replay,
                s(&alice_v["identity"], "private_key"),
                s(alice_v, "installation_id"),
            )?,
            alice_pub.clone(),
        ),
    );
    parties.insert(
        "bob",
        (
            engine(
                clock,
                replay,
                s(&bob_v["identity"], "private_key"),
                s(bob_v, "installation_id"),
            )?,
            bob_pub.clone(),
        ),
    );
    for (_, (e, _)) in parties.iter_mut() {
        e.set_inspection(true);
    }
    let other = |p: &str| if p == "alice" { "bob" } else { "alice" };
    let mut sent: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut counters: BTreeMap<String, usize> = BTreeMap::new();
    for (i, step) in flow["steps"].as_array().into_iter().flatten().enumerate() {
        let label = format!("conversation step {i} ({})", s(step, "step"));
        if let Some(bundle) = step.get("bundle") {
            let owner = if s(bundle, "identity") == s(&bob_v["identity"], "public_key_compressed") {
                "bob"
            } else {
                "alice"
            };
            clock.set(ts(bundle)?);
            let ours = parties
                .get_mut(owner)
                .ok_or("party")?
                .0
                .own_bundle()
                .map_err(|e| e.to_string())?;
            compare_bundle(report, &format!("{label}: bundle"), &ours, bundle);
            let recorded = pb::Bundle::decode(hexf(bundle, "protobuf")?.as_slice())
                .map_err(|e| e.to_string())?;
            let r = parties
                .get_mut(other(owner))
                .ok_or("party")?
                .0
                .process_bundle(&recorded);
            report.check_result(&format!("{label}: peer stores bundle"), r.map(|_| ()));
        } else if step.get("plaintext").is_some() {
            let from = s(step, "from");
            let to = s(step, "to");
            let to_pub = parties.get(to).ok_or("party")?.1.clone();
            let view = &step["protocol_message_view"];
            clock.set(ts(&view["bundles"][0])?);
            let sid = SessionId::from_bytes(hexf(step, "sender_session_id")?);
            let e = &mut parties.get_mut(from).ok_or("party")?.0;
            let before = e.session_state(&to_pub, &sid).map_err(|e| e.to_string())?;
            check_state(
                report,
                &format!("{label}: sender_state_before"),
                before,
                step.get("sender_state_before"),
            );
            let out = e
                .encrypt_for(&to_pub, &hexf(step, "plaintext")?, false)
                .map_err(|e| e.to_string())?;
            compare_message(
                report,
                &format!("{label}: protocol_message"),
                &out.bytes,
                s(step, "protocol_message"),
            );
            let after = e.session_state(&to_pub, &sid).map_err(|e| e.to_string())?;
            check_state(
                report,
                &format!("{label}: sender_state_after"),
                after.clone(),
                step.get("sender_state_after"),
            );
            if let Some(ins) = e.inspection().and_then(|i| i.sent.first()) {
                check_sent_entry(report, &label, ins, step, "sender_session_id");
                if let Some(init) = step.get("session_init") {
                    let sk = ins
                        .new_session_sk
                        .as_ref()
                        .map(|k| hex::encode(k.expose()))
                        .unwrap_or_default();
                    report.check_eq(
                        &format!("{label}: session_init.sk"),
                        sk,
                        s(init, "sk").to_string(),
                    );
                    check_session_init(report, &label, init, after.as_ref());
                }
            } else {
                report.fail(&format!("{label}: inspection"), "no entry recorded");
            }
            let agreed = out
                .agreed_secret
                .map(|k| hex::encode(k.expose()))
                .unwrap_or_default();
            report.check_eq(
                &format!("{label}: spec_shared_secret_agreed"),
                agreed,
                s(step, "spec_shared_secret_agreed").to_string(),
            );
            let k = counters.entry(from.to_string()).or_insert(0);
            *k += 1;
            let id = format!("{}{}", &from[..1], k);
            sent.insert(
                hex::encode(id.as_bytes()),
                hex::decode(s(step, "protocol_message")).map_err(|e| e.to_string())?,
            );
        } else if step.get("receiver").is_some() {
            let to = s(step, "receiver");
            let from = other(to);
            let from_pub = parties.get(from).ok_or("party")?.1.clone();
            let bytes = sent
                .get(s(step, "message_id"))
                .ok_or("unknown message id")?
                .clone();
            let sid = SessionId::from_bytes(hexf(step, "receiver_session_id")?);
            let mid = hex::decode(s(step, "message_id")).map_err(|e| e.to_string())?;
            let e = &mut parties.get_mut(to).ok_or("party")?.0;
            let before = e
                .session_state(&from_pub, &sid)
                .map_err(|e| e.to_string())?;
            check_state(
                report,
                &format!("{label}: receiver_state_before"),
                before.clone(),
                step.get("receiver_state_before"),
            );
            tamper_check(report, &label, e, replay, &from_pub, &bytes, &sid);
            let d = e.decrypt(&from_pub, &bytes, &MessageId::from(&mid));
            match d {
                Ok(d) => report.check_eq(
                    &format!("{label}: decrypted"),
                    hex::encode(&d.plaintext),
                    s(step, "decrypted").to_string(),
                ),
                Err(err) => report.fail(&format!("{label}: decrypt"), &err.to_string()),
            }
            let after = e
                .session_state(&from_pub, &sid)
                .map_err(|e| e.to_string())?;
            check_state(
                report,
                &format!("{label}: receiver_state_after"),
                after,
                step.get("receiver_state_after"),
            );
        }
    }
    Ok(())
}

/// The message key, AD and session id of one sent entry against its recorded view.
fn check_sent_entry(
    report: &mut Report,
    label: &str,
    ins: &pfs_protocol::SentEntryInspection,
    view: &Value,
    session_id_field: &str,
) {
    report.check_eq(
        &format!("{label}: message_key"),
        hex::encode(ins.message_key.expose()),
        s(view, "message_key").to_string(),
    );
    report.check_eq(
        &format!("{label}: associated_data"),
        hex::encode(&ins.associated_data),
        s(view, "associated_data").to_string(),
    );
    report.check_eq(
        &format!("{label}: session id"),
        hex::encode(ins.session_id.as_bytes()),
        s(view, session_id_field).to_string(),
    );
}

fn check_session_init(
    report: &mut Report,
    label: &str,
    init: &Value,
    after: Option<&RatchetState>,
) {
    // dh_out = ECDH(initial ratchet key, SPK_B); (root, chain) = KDF_RK(sk, dh_out)
    let suite = pfs_ratchet::suite(pfs_ratchet::SuiteId::StatusGo);
    let res = (|| -> Result<(String, String, String), String> {
        let st = after.ok_or("no state")?;
        let dhs = st.dhs_private().ok_or("no dhs")?;
        let sk = pfs_crypto::secp256k1::SecretKey::from_bytes(dhs.expose())
            .map_err(|e| e.to_string())?;
        let spk = pubkey(&hex::encode(st.dhr().ok_or("no dhr")?))?;
        let dh = sk.diffie_hellman(&spk);
        let sk_bytes: [u8; 32] = hexf(init, "sk")?.try_into().map_err(|_| "sk length")?;
        let root = pfs_ratchet::RootKey::new(pfs_crypto::SecretBytes::new(sk_bytes));
        let (rk, ck, _) = suite.kdf_rk(&root, &dh).map_err(|e| e.to_string())?;
        Ok((
            hex::encode(dh.expose()),
            hex::encode(rk.expose()),
            hex::encode(ck.expose()),
        ))
    })();
    match res {
        Ok((dh, rk, ck)) => {
            report.check_eq(
                &format!("{label}: session_init.dh_out"),
                dh,
                s(init, "dh_out").to_string(),
            );
            report.check_eq(
                &format!("{label}: session_init.root_key_after_init"),
                rk,
                s(init, "root_key_after_init").to_string(),
            );
            report.check_eq(
                &format!("{label}: session_init.send_chain_key_initial"),
                ck,
                s(init, "send_chain_key_initial").to_string(),
            );
        }
        Err(e) => report.fail(&format!("{label}: session_init"), &e),
    }
}

/// Delivers tampered copies first: each must fail and change no session. The replay
/// position is restored so that a failed attempt consumes no recorded key.
fn tamper_check(
    report: &mut Report,
    label: &str,
    e: &mut Engine,
    replay: &Replay,
    from: &PublicKey,
    bytes: &[u8],
    sid: &SessionId,
) {
    let Ok(msg) = pb::ProtocolMessage::decode(bytes) else {
        return;
    };
    let before = e
        .session_state(from, sid)
        .ok()
        .flatten()
        .map(|s| state_view(&s));
    let mut variants = Vec::new();
    let own = e.installation_id().to_owned();
    for (i, entry) in msg.direct_message.iter().enumerate() {
        if entry.installation_id != own {
            continue;
        }
        let Some(dm) = &entry.message else { continue };
        if !dm.payload.is_empty() {
            let mut m = msg.clone();
            if let Some(p) = m.direct_message[i].message.as_mut() {
                let last = p.payload.len() - 1;
                p.payload[last] ^= 1;
            }
            variants.push(("payload", m));
        }
        if dm.dr_header.is_some() {
            let mut m = msg.clone();
            if let Some(h) = m.direct_message[i]
                .message
                .as_mut()
                .and_then(|p| p.dr_header.as_mut())
            {
                h.n ^= 1;
            }
            variants.push(("DR header n", m));
        }
    }
    for (what, m) in variants {
        let pos = replay.position();
        let r = e.decrypt(from, &m.encode_to_vec(), &MessageId::from(b"tampered"));
        replay.restore(pos);
        let after = e
            .session_state(from, sid)
            .ok()
            .flatten()
            .map(|s| state_view(&s));
        report.check(
            &format!("{label}: tampered {what} rejected, state unchanged"),
            r.is_err() && before == after,
            || {
                format!(
                    "accepted: {}, state changed: {}",
                    r.is_ok(),
                    before != after
                )
            },
        );
    }
}

fn dh_flow(
    flow: &Value,
    conv: &Value,
    clock: &ManualClock,
    replay: &Replay,
    report: &mut Report,
) -> Result<(), String> {
    let alice_v = &conv["alice"];
    let bob_v = &conv["bob"];
    let bob_pub = pubkey(s(&bob_v["identity"], "public_key_compressed"))?;
    let alice_pub = pubkey(s(&alice_v["identity"], "public_key_compressed"))?;
    let view = &flow["protocol_message_view"];
    clock.set(ts(&view["bundles"][0])?);
    let mut alice = engine(
        clock,
        replay,
        s(&alice_v["identity"], "private_key"),
        s(alice_v, "installation_id"),
    )?;
    let out = alice
        .encrypt_for(&bob_pub, &hexf(flow, "decrypted")?, false)
        .map_err(|e| e.to_string())?;
    report.check("dh flow: not forward secret", !out.forward_secret, || {
        "marked forward secret".into()
    });
    compare_message(
        report,
        "dh flow: protocol_message",
        &out.bytes,
        s(flow, "protocol_message"),
    );
    // aes_gcm_key from both sides
    let dh_key = pubkey(s(&view["direct_message"]["none"]["DH_header"], "key"))?;
    let bob_secret =
        pfs_crypto::secp256k1::SecretKey::from_bytes(&hexf(&bob_v["identity"], "private_key")?)
            .map_err(|e| e.to_string())?;
    report.check_eq(
        "dh flow: aes_gcm_key (receiver side)",
        hex::encode(bob_secret.diffie_hellman(&dh_key).expose()),
        s(flow, "aes_gcm_key").to_string(),
    );
    // the receiver decrypts the recorded bytes
    let mut bob = engine(
        clock,
        replay,
        s(&bob_v["identity"], "private_key"),
        s(bob_v, "installation_id"),
    )?;
    let recorded = hexf(flow, "protocol_message")?;
    match bob.decrypt(&alice_pub, &recorded, &MessageId::from(b"dh")) {
        Ok(d) => {
            report.check_eq(
                "dh flow: decrypted",
                hex::encode(&d.plaintext),
                s(flow, "decrypted").to_string(),
            );
            report.check(
                "dh flow: receiver marks it not forward secret",
                !d.forward_secret,
                || "forward secret".into(),
            );
        }
        Err(e) => report.fail("dh flow: decrypt", &e.to_string()),
    }
    Ok(())
}

// ------------------------------------------------------------------ multi-device

fn installations_view(e: &mut Engine) -> Result<Value, String> {
    let rows = e.installations().map_err(|e| e.to_string())?;
    Ok(Value::Array(
        rows.iter()
            .map(|r| {
                json!({
                    "identity": hex::encode(r.identity.to_compressed()),
                    "installation_id": r.installation_id,
                    "timestamp": r.timestamp.to_string(),
                    "enabled": r.enabled,
                    "version": r.protocol_version,
                })
            })
            .collect(),
    ))
}

fn check_installations(report: &mut Report, name: &str, e: &mut Engine, want: Option<&Value>) {
    let Some(want) = want else { return };
    match installations_view(e) {
        Ok(got) => report.check(name, &got == want, || format!("got {got}, want {want}")),
        Err(err) => report.fail(name, &err),
    }
}

fn sessions_snapshot(e: &mut Engine) -> Vec<(Vec<u8>, Value)> {
    let mut out = Vec::new();
    if let Ok(list) = e.sessions() {
        for s in list {
            let st = e
                .session_state(&s.peer, &s.id)
                .ok()
                .flatten()
                .map(|x| state_view(&x))
                .unwrap_or(Value::Null);
            out.push((s.id.as_bytes().to_vec(), st));
        }
    }
    out
}

pub fn verify_multidevice_file(doc: &Value, report: &mut Report) {
    let keys = match keys_of(doc) {
        Ok(k) => k,
        Err(e) => return report.fail("generated_keys", &e),
    };
    let reads = match reads_of(doc) {
        Ok(r) => r,
        Err(e) => return report.fail("random_stream_reads", &e),
    };
    let replay = Replay::new(keys, reads);
    for flow in doc
        .get("flows")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = s(flow, "name").to_string();
        if let Err(e) = multidevice_flow(doc, flow, &replay, report) {
            report.fail(&format!("flow {name}"), &e);
        }
    }
    let (k, r) = replay.remaining();
    report.check(
        "multidevice: all recorded keys consumed",
        k == 0 && r == 0,
        || format!("{k} keys and {r} reads left"),
    );
}

fn multidevice_flow(
    doc: &Value,
    flow: &Value,
    replay: &Replay,
    report: &mut Report,
) -> Result<(), String> {
    let fname = s(flow, "name").to_string();
    let clock = ManualClock::new(0);
    let ids = &doc["identities"];
    let mut devices: BTreeMap<String, (Engine, PublicKey, String)> = BTreeMap::new();
    let order: Vec<String> = flow["device_creation_order"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    for dev in &order {
        let d = &flow["devices"][dev.as_str()];
        let who = s(d, "identity");
        let idv = &ids[who];
        let mut e = engine(
            &clock,
            replay,
            s(idv, "private_key"),
            s(d, "installation_id"),
        )?;
        e.set_inspection(true);
        devices.insert(
            dev.clone(),
            (e, pubkey(s(idv, "public_key_compressed"))?, who.to_string()),
        );
    }
    let id_pub = |who: &str| pubkey(s(&ids[who], "public_key_compressed"));
    let mut sent: BTreeMap<String, (Vec<u8>, String)> = BTreeMap::new();
    for (i, step) in flow["steps"].as_array().into_iter().flatten().enumerate() {
        let label = format!("{fname} step {i} ({})", s(step, "step"));
        match s(step, "kind") {
            "bundle" => {
                let bundle = &step["bundle"];
                clock.set(ts(bundle)?);
                let before = replay.position();
                let e = &mut devices.get_mut(s(step, "device")).ok_or("device")?.0;
                let ours = e.own_bundle().map_err(|e| e.to_string())?;
                let generated = replay.position().0 > before.0;
                report.check_eq(
                    &format!("{label}: generated_signed_pre_key"),
                    generated,
                    step["generated_signed_pre_key"].as_bool().unwrap_or(false),
                );
                compare_bundle(report, &format!("{label}: bundle"), &ours, bundle);
            }
            "process_bundle" => {
                let bundle = pb::Bundle::decode(hexf(&step["bundle"], "protobuf")?.as_slice())
                    .map_err(|e| e.to_string())?;
                let e = &mut devices.get_mut(s(step, "device")).ok_or("device")?.0;
                match e.process_bundle(&bundle) {
                    Ok(added) => {
                        let got: Vec<Value> = added
                            .iter()
                            .map(|(id, v)| json!({"id": id, "version": v}))
                            .collect();
                        report.check_eq(
                            &format!("{label}: added_installations"),
                            Value::Array(got),
                            step["added_installations"].clone(),
                        );
                    }
                    Err(err) => report.fail(&format!("{label}: process_bundle"), &err.to_string()),
                }
                check_installations(
                    report,
                    &format!("{label}: installations_after"),
                    e,
                    step.get("installations_after"),
                );
            }
            "enable_installation" => {
                let e = &mut devices.get_mut(s(step, "device")).ok_or("device")?.0;
                let id = pfs_x3dh::InstallationId::new(s(step, "installation_id"))
                    .map_err(|e| e.to_string())?;
                let r = e.enable_installation(&id);
                report.check_result(&format!("{label}: enable"), r);
                check_installations(
                    report,
                    &format!("{label}: installations_after"),
                    e,
                    step.get("installations_after"),
                );
            }
            "send" => {
                let to_pub = id_pub(s(step, "to"))?;
                let view = &step["protocol_message_view"];
                clock.set(ts(&view["bundles"][0])?);
                let (e, _, _) = devices.get_mut(s(step, "from")).ok_or("device")?;
                check_installations(
                    report,
                    &format!("{label}: sender_installations"),
                    e,
                    step.get("sender_installations"),
                );
                let mut befores = BTreeMap::new();
                for (inst, entry) in step["entries"].as_object().into_iter().flatten() {
                    let sid = SessionId::from_bytes(hexf(entry, "session_id")?);
                    befores.insert(
                        inst.clone(),
                        e.session_state(&to_pub, &sid).map_err(|e| e.to_string())?,
                    );
                }
                let table = e.installations().map_err(|e| e.to_string())?;
                let out = e
                    .encrypt_for(&to_pub, &hexf(step, "plaintext")?, false)
                    .map_err(|e| e.to_string())?;
                let targeted: Vec<Value> = out
                    .targeted
                    .iter()
                    .map(|id| {
                        let v = table
                            .iter()
                            .find(|r| r.identity == to_pub && &r.installation_id == id)
                            .map(|r| r.protocol_version)
                            .unwrap_or(0);
                        json!({"id": id, "version": v})
                    })
                    .collect();
                report.check_eq(
                    &format!("{label}: targeted_installations"),
                    Value::Array(targeted),
                    step["targeted_installations"].clone(),
                );
                compare_message(
                    report,
                    &format!("{label}: protocol_message"),
                    &out.bytes,
                    s(step, "protocol_message"),
                );
                let inspected: Vec<_> = e.inspection().map(|i| i.sent.clone()).unwrap_or_default();
                for (inst, entry) in step["entries"].as_object().into_iter().flatten() {
                    let sid = SessionId::from_bytes(hexf(entry, "session_id")?);
                    check_state(
                        report,
                        &format!("{label}: {inst} state_before"),
                        befores.remove(inst).flatten(),
                        entry.get("state_before"),
                    );
                    let after = e.session_state(&to_pub, &sid).map_err(|e| e.to_string())?;
                    check_state(
                        report,
                        &format!("{label}: {inst} state_after"),
                        after.clone(),
                        entry.get("state_after"),
                    );
                    match inspected.iter().find(|x| &x.installation_id == inst) {
                        Some(x) => check_sent_entry(
                            report,
                            &format!("{label}: {inst}"),
                            x,
                            entry,
                            "session_id",
                        ),
                        None => report.fail(&format!("{label}: {inst}"), "no entry built"),
                    }
                    if let Some(init) = entry.get("session_init") {
                        check_session_init(
                            report,
                            &format!("{label}: {inst}"),
                            init,
                            after.as_ref(),
                        );
                    }
                }
                let agreed = out
                    .agreed_secret
                    .map(|k| hex::encode(k.expose()))
                    .unwrap_or_default();
                report.check_eq(
                    &format!("{label}: spec_shared_secret_agreed"),
                    agreed,
                    s(step, "spec_shared_secret_agreed").to_string(),
                );
                let from_identity = devices
                    .get(s(step, "from"))
                    .map(|d| d.2.clone())
                    .unwrap_or_default();
                sent.insert(
                    s(step, "message_id").to_string(),
                    (hexf(step, "protocol_message")?, from_identity),
                );
            }
            "receive" => {
                let (bytes, from_who) = sent
                    .get(s(step, "message_id"))
                    .ok_or("unknown message id")?
                    .clone();
                let from_pub = id_pub(&from_who)?;
                let mid = message_id_bytes(step);
                let (e, _, _) = devices.get_mut(s(step, "device")).ok_or("device")?;
                if let Some(err) = step.get("error").and_then(Value::as_str) {
                    let before = sessions_snapshot(e);
                    let r = e.decrypt(&from_pub, &bytes, &MessageId::from(&mid));
                    let kind_ok = matches!(
                        (&r, err),
                        (Err(ReceiveError::DeviceNotFound), "device not found")
                            | (
                                Err(ReceiveError::NotPairedDevice),
                                "received a message from not paired device"
                            )
                    );
                    report.check(&format!("{label}: error kind"), kind_ok, || {
                        format!("got {:?}, want {err}", r.as_ref().err())
                    });
                    let after = sessions_snapshot(e);
                    report.check(
                        &format!("{label}: no session changed"),
                        before == after,
                        || "sessions changed".into(),
                    );
                } else {
                    let sid = SessionId::from_bytes(hexf(step, "receiver_session_id")?);
                    let before = e
                        .session_state(&from_pub, &sid)
                        .map_err(|e| e.to_string())?;
                    check_state(
                        report,
                        &format!("{label}: receiver_state_before"),
                        before,
                        step.get("receiver_state_before"),
                    );
                    tamper_check(report, &label, e, replay, &from_pub, &bytes, &sid);
                    match e.decrypt(&from_pub, &bytes, &MessageId::from(&mid)) {
                        Ok(d) => report.check_eq(
                            &format!("{label}: decrypted"),
                            hex::encode(&d.plaintext),
                            s(step, "decrypted").to_string(),
                        ),
                        Err(err) => report.fail(&format!("{label}: decrypt"), &err.to_string()),
                    }
                    if let Some((k, _)) = e.inspection().and_then(|i| i.received.clone()) {
                        report.check_eq(
                            &format!("{label}: receiver_message_key"),
                            hex::encode(k.expose()),
                            s(step, "receiver_message_key").to_string(),
                        );
                    }
                    let after = e
                        .session_state(&from_pub, &sid)
                        .map_err(|e| e.to_string())?;
                    check_state(
                        report,
                        &format!("{label}: receiver_state_after"),
                        after,
                        step.get("receiver_state_after"),
                    );
                }
                check_installations(
                    report,
                    &format!("{label}: installations_after"),
                    e,
                    step.get("installations_after"),
                );
            }
            other => report.fail(&label, &format!("unknown step kind {other:?}")),
        }
    }
    Ok(())
}
