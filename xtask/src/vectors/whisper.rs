//! Verifier of `whisper-envelope.json` (schema: `shared/reference/whisper-envelope.md` §10).
//!
//! Every case of both runs is rebuilt with `pfs-transport` from its inputs and the
//! recorded randomness (replayed through a `RandomSource`), then compared byte by byte;
//! every envelope is also decoded and opened again. The `a904` run uses the v1.4.10
//! proof of work, the `spg` run the v1.5.2 one.

use super::{Report, cases, hexf, text_or_unknown};
use pfs_crypto::hash::keccak256;
use pfs_crypto::secp256k1::{PublicKey, SecretKey};
use pfs_crypto::{CryptoError, RandomSource, SecretBytes};
use pfs_transport::ecies::{self, EciesError, EciesKeys};
use pfs_transport::envelope::{self, Envelope, OpenKey, OpenOptions, SealKey, SealOptions};
use pfs_transport::message;
use pfs_transport::pow::{self, PowHasher, PowVariant};
use pfs_transport::status::{self, FilterKind};
use pfs_transport::symmetric::{self, SymKey};
use pfs_transport::topic::Topic;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Upper bound of nonces tried when re-sealing a vector envelope.
const MAX_ITERATIONS: u64 = 1 << 24;

/// Replays recorded randomness: byte reads in order, secp256k1 secrets in order.
#[derive(Default)]
struct Replay {
    bytes: VecDeque<Vec<u8>>,
    secrets: VecDeque<[u8; 32]>,
}

impl RandomSource for Replay {
    fn fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), CryptoError> {
        let next = self
            .bytes
            .pop_front()
            .ok_or_else(|| CryptoError::RandomnessExhausted("no recorded read left".into()))?;
        if next.len() != dest.len() {
            return Err(CryptoError::RandomnessExhausted(format!(
                "recorded read of {} bytes, {} asked",
                next.len(),
                dest.len()
            )));
        }
        dest.copy_from_slice(&next);
        Ok(())
    }

    fn secp256k1_secret(&mut self) -> Result<SecretBytes<32>, CryptoError> {
        self.secrets
            .pop_front()
            .map(SecretBytes::new)
            .ok_or_else(|| CryptoError::RandomnessExhausted("no recorded key left".into()))
    }
}

struct Key {
    sk: SecretKey,
    pk: PublicKey,
}

struct Ctx<'a> {
    run: &'a str,
    variant: PowVariant,
    keys: &'a HashMap<String, Key>,
    /// Envelopes rebuilt by this verifier, by case name.
    built: HashMap<String, Envelope>,
}

impl Ctx<'_> {
    fn key(&self, name: &str) -> Result<&Key, String> {
        self.keys
            .get(name)
            .ok_or_else(|| format!("unknown key `{name}`"))
    }
}

fn s<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing string field `{key}`"))
}

fn u(v: &Value, key: &str) -> Result<u64, String> {
    v.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("missing integer field `{key}`"))
}

fn f(v: &Value, key: &str) -> Result<f64, String> {
    v.get(key)
        .and_then(Value::as_f64)
        .ok_or_else(|| format!("missing number field `{key}`"))
}

fn dec_u64(v: &Value, key: &str) -> Result<u64, String> {
    s(v, key)?
        .parse::<u64>()
        .map_err(|e| format!("field `{key}`: {e}"))
}

fn list<'a>(v: &'a Value, key: &str) -> Vec<&'a Value> {
    v.get(key).map(cases).unwrap_or_default()
}

/// Compares `got` with `obj[key]`, or with `obj[key_length]` and `obj[key_keccak256]`
/// when the field was compacted. Returns false when neither form is present.
fn check_bytes(report: &mut Report, name: &str, got: &[u8], obj: &Value, key: &str) -> bool {
    if obj.get(key).is_some() {
        match hexf(obj, key) {
            Ok(want) => report.check(name, got == want.as_slice(), || {
                format!("got {}, want {}", short(got), short(&want))
            }),
            Err(e) => report.fail(name, &e),
        }
        return true;
    }
    let len_key = format!("{key}_length");
    let hash_key = format!("{key}_keccak256");
    if obj.get(&len_key).is_some() {
        match (u(obj, &len_key), hexf(obj, &hash_key)) {
            (Ok(len), Ok(h)) => {
                report.check_eq(&format!("{name} (length)"), got.len() as u64, len);
                report.check(
                    &format!("{name} (keccak256)"),
                    keccak256(got).to_vec() == h,
                    || format!("keccak256 {} differs", hex::encode(keccak256(got))),
                );
            }
            (Err(e), _) | (_, Err(e)) => report.fail(name, &e),
        }
        return true;
    }
    false
}

fn short(b: &[u8]) -> String {
    let h = hex::encode(b);
    if h.len() > 80 {
        format!("{}…({} bytes)", &h[..80], b.len())
    } else {
        h
    }
}

/// The first `n` bytes of `Keccak256(p + "-0") ‖ Keccak256(p + "-1") ‖ …`.
fn pattern(p: &str, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 32);
    let mut i = 0usize;
    while out.len() < n {
        out.extend_from_slice(&keccak256(format!("{p}-{i}").as_bytes()));
        i += 1;
    }
    out.truncate(n);
    out
}

/// The raw ephemeral read turned into a key the way Go's `elliptic.GenerateKey` does.
fn go_ephemeral(read: &[u8]) -> Result<[u8; 32], String> {
    let mut k: [u8; 32] = read
        .try_into()
        .map_err(|_| format!("ephemeral read of {} bytes", read.len()))?;
    k[1] ^= 0x42;
    Ok(k)
}

pub fn verify(doc: &Value, report: &mut Report) {
    let keys = match load_keys(doc, report) {
        Ok(k) => k,
        Err(e) => {
            report.fail("whisper keys", &e);
            return;
        }
    };
    let Some(runs) = doc.get("runs").and_then(Value::as_object) else {
        report.fail("whisper runs", "missing `runs`");
        return;
    };
    for (run_name, run) in runs {
        let variant = match run
            .get("generator")
            .and_then(|g| g.get("pow_variant"))
            .and_then(Value::as_str)
        {
            Some("v1.4.10") => PowVariant::V1_4_10,
            Some("v1.5.2") => PowVariant::V1_5_2,
            other => {
                report.fail(&format!("{run_name} pow_variant"), &format!("{other:?}"));
                continue;
            }
        };
        let mut ctx = Ctx {
            run: run_name,
            variant,
            keys: &keys,
            built: HashMap::new(),
        };
        verify_run(&mut ctx, run, report);
    }
}

fn load_keys(doc: &Value, report: &mut Report) -> Result<HashMap<String, Key>, String> {
    let obj = doc
        .get("keys")
        .and_then(Value::as_object)
        .ok_or("missing `keys`")?;
    let mut out = HashMap::new();
    for (name, k) in obj {
        let sk_bytes = hexf(k, "private_key")?;
        let rule = keccak256(format!("whisper-interop-key-{name}").as_bytes());
        report.check_eq(&format!("key {name} rule"), sk_bytes.as_slice(), &rule[..]);
        let sk = SecretKey::from_bytes(&sk_bytes).map_err(|e| format!("key {name}: {e}"))?;
        let pk = sk.public_key();
        report.check_eq(
            &format!("key {name} compressed"),
            pk.to_compressed().to_vec(),
            hexf(k, "public_key_compressed")?,
        );
        report.check_eq(
            &format!("key {name} uncompressed"),
            pk.to_uncompressed().to_vec(),
            hexf(k, "public_key_uncompressed")?,
        );
        out.insert(name.clone(), Key { sk, pk });
    }
    Ok(out)
}

fn verify_run(ctx: &mut Ctx<'_>, run: &Value, report: &mut Report) {
    let r = ctx.run.to_owned();
    for t in list(run, "topics") {
        let name = format!("{r} topic {:?}", t.get("input_utf8"));
        let res = verify_topic(t, report, &name);
        report.check_result(&name, res);
    }
    if let Some(d) = run.get("direct_message_topics") {
        let name = format!("{r} direct_message_topics");
        report.check_result(&name, verify_direct_topics(d));
    }
    for k in list(run, "sym_keys_from_password") {
        let name = format!("{r} sym key {:?}", k.get("password_utf8"));
        report.check_result(&name, verify_sym_key(k));
    }
    for c in list(run, "ecies") {
        let name = format!("{r} ecies {}", text_or_unknown(c, "name"));
        let res = verify_ecies(ctx, c, report, &name);
        report.check_result(&name, res);
    }
    for c in list(run, "ecies_negative") {
        let name = format!("{r} ecies_negative {}", text_or_unknown(c, "name"));
        let res = verify_ecies_negative(ctx, c);
        report.check_result(&name, res);
    }
    for c in list(run, "envelopes") {
        let cname = text_or_unknown(c, "name").to_owned();
        let name = format!("{r} envelope {cname}");
        let res = verify_envelope_case(ctx, c, report, &name);
        report.check_result(&name, res);
    }
    for c in list(run, "pow") {
        let name = format!(
            "{r} pow {} nonce {}",
            text_or_unknown(c, "envelope"),
            text_or_unknown(c, "nonce")
        );
        let res = verify_pow_case(ctx, c, report, &name);
        report.check_result(&name, res);
    }
    for c in list(run, "status_sends") {
        let cname = text_or_unknown(c, "name").to_owned();
        let name = format!("{r} status_send {cname}");
        let res = verify_status_send(ctx, c, report, &name);
        report.check_result(&name, res);
    }
    for c in list(run, "partitioned_topics") {
        let name = format!("{r} partitioned {}", text_or_unknown(c, "key_name"));
        let res = verify_partitioned(ctx, c, report, &name);
        report.check_result(&name, res);
    }
    for c in list(run, "negotiated") {
        let name = format!(
            "{r} negotiated {}-{}",
            text_or_unknown(c, "a"),
            text_or_unknown(c, "b")
        );
        let res = verify_negotiated(ctx, c, report, &name);
        report.check_result(&name, res);
    }
    let name = format!("{r} random_stream_reads");
    let res = verify_random_stream(run, report, &name);
    report.check_result(&name, res);
}

fn verify_topic(t: &Value, report: &mut Report, name: &str) -> Result<(), String> {
    let s_in = s(t, "input_utf8")?;
    let input = hexf(t, "input")?;
    report.check_eq(&format!("{name} input"), s_in.as_bytes(), input.as_slice());
    report.check_eq(
        &format!("{name} keccak256"),
        keccak256(s_in.as_bytes()).to_vec(),
        hexf(t, "keccak256")?,
    );
    let topic = Topic::from_string(s_in);
    report.check_eq(
        &format!("{name} topic"),
        topic.0.to_vec(),
        hexf(t, "topic")?,
    );
    let bloom = hexf(t, "bloom")?;
    // The bloom also follows from the recorded topic alone.
    let recorded: [u8; 4] = hexf(t, "topic")?
        .try_into()
        .map_err(|_| "topic is not 4 bytes".to_owned())?;
    report.check_eq(
        &format!("{name} bloom of recorded topic"),
        Topic(recorded).bloom().to_vec(),
        bloom.clone(),
    );
    if topic.bloom().to_vec() == bloom {
        Ok(())
    } else {
        Err(format!("bloom {} differs", hex::encode(topic.bloom())))
    }
}

fn verify_direct_topics(d: &Value) -> Result<(), String> {
    let empty = Topic::from_string(status::GENERIC_DISCOVERY);
    let st = Topic::from_string("status");
    if empty.0.to_vec() != hexf(d, "empty_chat_topic")? {
        return Err("empty_chat_topic differs".into());
    }
    if st.0.to_vec() != hexf(d, "chat_status_topic")? {
        return Err("chat_status_topic differs".into());
    }
    Ok(())
}

fn verify_sym_key(k: &Value) -> Result<(), String> {
    let pw = s(k, "password_utf8")?;
    if pw.as_bytes() != hexf(k, "password")?.as_slice() {
        return Err("password hex differs from password_utf8".into());
    }
    let key = SymKey::from_password(pw).map_err(|e| e.to_string())?;
    if key.expose().to_vec() != hexf(k, "key")? {
        return Err("PBKDF2 key differs".into());
    }
    Ok(())
}

fn read_bytes(r: &Value) -> Result<Vec<u8>, String> {
    let b = hexf(r, "bytes")?;
    if b.len() as u64 != u(r, "length")? {
        return Err("random read length differs from its bytes".into());
    }
    Ok(b)
}

fn verify_ecies(ctx: &Ctx<'_>, c: &Value, report: &mut Report, name: &str) -> Result<(), String> {
    let recipient = ctx.key(s(c, "recipient")?)?;
    let plaintext = hexf(c, "plaintext")?;
    report.check_eq(
        &format!("{name} plaintext pattern"),
        plaintext.clone(),
        pattern("whisper-interop-ecies", plaintext.len()),
    );
    if !s(c, "s1")?.is_empty() || !s(c, "s2")?.is_empty() {
        return Err("s1/s2 are not empty".into());
    }
    let reads = list(c, "random_reads");
    let [eph_read, iv_read] = reads.as_slice() else {
        return Err("expected two random reads".into());
    };
    let eph = go_ephemeral(&read_bytes(eph_read)?)?;
    let iv = read_bytes(iv_read)?;
    let mut rng = Replay {
        bytes: VecDeque::from([iv.clone()]),
        secrets: VecDeque::from([eph]),
    };
    let output = hexf(c, "output")?;
    if plaintext.is_empty() {
        // go-ethereum returns an empty output here; we refuse to encrypt instead.
        report.check(
            &format!("{name} empty plaintext refused"),
            matches!(
                ecies::encrypt(&recipient.pk, &plaintext, &mut rng),
                Err(EciesError::EmptyPlaintext)
            ) && output.is_empty(),
            || "empty plaintext not refused or output not empty".into(),
        );
        let want = s(c, "decrypt_error")?;
        return match ecies::decrypt(&recipient.sk, &output) {
            Ok(_) => Err("decrypting the empty output succeeded".into()),
            Err(e) if e.to_string() == want => Ok(()),
            Err(e) => Err(format!("decrypt error `{e}`, want `{want}`")),
        };
    }
    let got = ecies::encrypt(&recipient.pk, &plaintext, &mut rng).map_err(|e| e.to_string())?;
    check_bytes(report, &format!("{name} output"), &got, c, "output");
    if let Some(d) = c.get("details") {
        check_ecies_details(report, name, d, &eph, &recipient.pk, &got)?;
    }
    let back = ecies::decrypt(&recipient.sk, &output).map_err(|e| e.to_string())?;
    if back != plaintext {
        return Err("decrypting the recorded output does not give the plaintext".into());
    }
    Ok(())
}

fn check_ecies_details(
    report: &mut Report,
    name: &str,
    d: &Value,
    eph: &[u8; 32],
    recipient: &PublicKey,
    data: &[u8],
) -> Result<(), String> {
    let eph_sk = SecretKey::from_bytes(eph).map_err(|e| e.to_string())?;
    check_bytes(
        report,
        &format!("{name} ephemeral_private_key"),
        eph,
        d,
        "ephemeral_private_key",
    );
    check_bytes(
        report,
        &format!("{name} ephemeral_public_key"),
        &eph_sk.public_key().to_uncompressed(),
        d,
        "ephemeral_public_key",
    );
    let z = eph_sk.diffie_hellman(recipient);
    check_bytes(report, &format!("{name} ecdh_z"), z.expose(), d, "ecdh_z");
    let keys = EciesKeys::derive(&z);
    check_bytes(
        report,
        &format!("{name} kdf_output"),
        keys.kdf_output(),
        d,
        "kdf_output",
    );
    check_bytes(report, &format!("{name} ke"), &keys.ke(), d, "ke");
    check_bytes(
        report,
        &format!("{name} km_raw"),
        keys.km_raw(),
        d,
        "km_raw",
    );
    check_bytes(report, &format!("{name} km"), keys.km(), d, "km");
    if data.len() < ecies::ECIES_OVERHEAD {
        return Err("ECIES output shorter than its overhead".into());
    }
    let (r, rest) = data.split_at(65);
    let (iv, rest) = rest.split_at(16);
    let (ct, tag) = rest.split_at(rest.len() - 32);
    report.check_eq(
        &format!("{name} R in output"),
        r.to_vec(),
        eph_sk.public_key().to_uncompressed().to_vec(),
    );
    check_bytes(report, &format!("{name} iv"), iv, d, "iv");
    check_bytes(report, &format!("{name} ciphertext"), ct, d, "ciphertext");
    check_bytes(report, &format!("{name} tag"), tag, d, "tag");
    Ok(())
}

fn verify_ecies_negative(ctx: &Ctx<'_>, c: &Value) -> Result<(), String> {
    let key = ctx.key(s(c, "decrypt_with")?)?;
    let input = hexf(c, "input")?;
    let want = s(c, "error")?;
    match ecies::decrypt(&key.sk, &input) {
        Ok(_) => Err("decryption succeeded".into()),
        Err(e) => {
            let kind_ok = match want {
                "ecies: invalid message" => e == EciesError::InvalidMessage,
                "ecies: invalid public key" => e == EciesError::InvalidPublicKey,
                _ => false,
            };
            if e.to_string() == want && kind_ok {
                Ok(())
            } else {
                Err(format!("error `{e}` ({e:?}), want `{want}`"))
            }
        }
    }
}

/// Rebuilds, checks and reopens one ENVELOPE CASE; records the rebuilt envelope.
fn verify_envelope_case(
    ctx: &mut Ctx<'_>,
    c: &Value,
    report: &mut Report,
    name: &str,
) -> Result<(), String> {
    let params = c.get("params").ok_or("missing params")?;
    let pm = c
        .get("plaintext_message")
        .ok_or("missing plaintext_message")?;
    let ev = c.get("envelope").ok_or("missing envelope")?;
    let random = c.get("random").ok_or("missing random")?;
    let opened = c.get("opened").ok_or("missing opened")?;
    let cname = s(c, "name")?.to_owned();

    // The payload: explicit, or regenerated from its pattern.
    let payload = if c.get("payload").is_some() {
        hexf(c, "payload")?
    } else {
        let p = s(c, "payload_pattern")?;
        let n = usize::try_from(u(c, "payload_length")?).map_err(|e| e.to_string())?;
        pattern(p, n)
    };
    check_bytes(report, &format!("{name} payload"), &payload, c, "payload");
    let pat = if cname.starts_with("a904_") || cname.starts_with("spg_") {
        "whisper-interop-status-payload"
    } else {
        "whisper-interop-payload"
    };
    report.check_eq(
        &format!("{name} payload pattern"),
        payload.clone(),
        pattern(pat, payload.len()),
    );

    // 1. The raw message.
    let signed = c
        .get("signed")
        .and_then(Value::as_bool)
        .ok_or("missing signed")?;
    let sender = if signed {
        Some(ctx.key(s(params, "sender")?)?)
    } else {
        None
    };
    let padding = hexf(random, "padding")?;
    let mut rng = Replay {
        bytes: VecDeque::from([padding.clone()]),
        ..Replay::default()
    };
    let raw = message::build(&payload, sender.map(|k| &k.sk), &mut rng)
        .map_err(|e| format!("build: {e}"))?;
    let n = usize::from(raw[0] & message::SIZE_MASK);
    report.check_eq(&format!("{name} flags"), u64::from(raw[0]), u(pm, "flags")?);
    check_bytes(
        report,
        &format!("{name} size field"),
        &raw[1..1 + n],
        pm,
        "payload_size_field",
    );
    report.check_eq(
        &format!("{name} padding_length"),
        padding.len() as u64,
        u(pm, "padding_length")?,
    );
    report.check_eq(
        &format!("{name} padding_length rule"),
        message::padding_len(payload.len(), signed).map_err(|e| e.to_string())?,
        padding.len(),
    );
    check_bytes(report, &format!("{name} padding"), &padding, pm, "padding");
    if signed {
        let body = &raw[..raw.len() - 65];
        let mut before = body.to_vec();
        before[0] &= !message::SIGNATURE_FLAG;
        // Optional in the schema (`raw_before_signing?`).
        check_bytes(
            report,
            &format!("{name} raw_before_signing"),
            &before,
            pm,
            "raw_before_signing",
        );
        check_bytes(
            report,
            &format!("{name} signed_hash"),
            &keccak256(body),
            pm,
            "signed_hash",
        );
        check_bytes(
            report,
            &format!("{name} signature"),
            &raw[raw.len() - 65..],
            pm,
            "signature",
        );
    }
    if !check_bytes(report, &format!("{name} raw"), &raw, pm, "raw") {
        report.fail(&format!("{name} raw"), "missing");
    }

    // 2. Encryption with the recorded randomness.
    let encryption = s(c, "encryption")?;
    let sym_key;
    let mut seal_rng = Replay {
        bytes: VecDeque::from([padding.clone()]),
        ..Replay::default()
    };
    let data = match encryption {
        "symmetric" => {
            sym_key =
                Some(SymKey::from_bytes(&hexf(params, "sym_key")?).map_err(|e| e.to_string())?);
            let key = sym_key.as_ref().ok_or("no key")?;
            let nonce = hexf(random, "gcm_nonce")?;
            let xor: Vec<u8> = hexf(random, "gcm_nonce_crypto_rand")?
                .iter()
                .zip(hexf(random, "gcm_nonce_math_rand")?)
                .map(|(a, b)| a ^ b)
                .collect();
            report.check_eq(
                &format!("{name} gcm_nonce = crypto ^ math"),
                xor,
                nonce.clone(),
            );
            seal_rng.bytes.push_back(nonce.clone());
            let mut rng = Replay {
                bytes: VecDeque::from([nonce]),
                ..Replay::default()
            };
            let data = symmetric::encrypt(key, &raw, &mut rng).map_err(|e| e.to_string())?;
            if let Some(l) = c.get("symmetric_layout") {
                let (ct, rest) = data.split_at(raw.len());
                let (tag, nonce) = rest.split_at(16);
                check_bytes(
                    report,
                    &format!("{name} layout ciphertext"),
                    ct,
                    l,
                    "ciphertext",
                );
                check_bytes(report, &format!("{name} layout gcm_tag"), tag, l, "gcm_tag");
                check_bytes(report, &format!("{name} layout nonce"), nonce, l, "nonce");
            }
            data
        }
        "asymmetric" => {
            sym_key = None;
            let recipient = ctx.key(s(params, "recipient")?)?;
            let eph = go_ephemeral(&hexf(random, "ecies_ephemeral_read")?)?;
            check_bytes(
                report,
                &format!("{name} ephemeral = read with byte1 ^ 0x42"),
                &eph,
                random,
                "ecies_ephemeral_private_key",
            );
            let iv = hexf(random, "ecies_iv")?;
            seal_rng.secrets.push_back(eph);
            seal_rng.bytes.push_back(iv.clone());
            let mut rng = Replay {
                bytes: VecDeque::from([iv]),
                secrets: VecDeque::from([eph]),
            };
            let data = ecies::encrypt(&recipient.pk, &raw, &mut rng).map_err(|e| e.to_string())?;
            if let Some(l) = c.get("asymmetric_layout") {
                check_ecies_details(report, name, l, &eph, &recipient.pk, &data)?;
            }
            data
        }
        other => return Err(format!("unknown encryption `{other}`")),
    };
    check_bytes(report, &format!("{name} data"), &data, ev, "data");

    // 3. The envelope.
    let now = u32::try_from(u(params, "now_unix")?).map_err(|e| e.to_string())?;
    let ttl = u32::try_from(u(params, "ttl")?).map_err(|e| e.to_string())?;
    let topic_bytes: [u8; 4] = hexf(ev, "topic")?
        .try_into()
        .map_err(|_| "topic is not 4 bytes".to_owned())?;
    if params.get("topic").is_some() {
        report.check_eq(
            &format!("{name} params.topic"),
            hexf(params, "topic")?,
            topic_bytes.to_vec(),
        );
    }
    let topic = Topic(topic_bytes);
    let mut env = Envelope::new(now, ttl, topic, data).ok_or("expiry overflow")?;
    report.check_eq(
        &format!("{name} expiry"),
        u64::from(env.expiry),
        u(ev, "expiry")?,
    );
    report.check_eq(&format!("{name} ttl"), u64::from(env.ttl), u(ev, "ttl")?);
    check_bytes(
        report,
        &format!("{name} rlp_without_nonce"),
        &env.rlp_without_nonce(),
        ev,
        "rlp_without_nonce",
    );
    report.check_eq(&format!("{name} size"), env.size() as u64, u(ev, "size")?);
    check_bytes(report, &format!("{name} bloom"), &env.bloom(), ev, "bloom");

    // 4. Proof of work and sealing.
    let pow_target = f(params, "pow_target")?;
    let recorded_nonce = dec_u64(ev, "nonce")?;
    let seal = ev.get("seal").ok_or("missing seal")?;
    let mut fresh = env.clone();
    let sealed = pow::seal(&mut fresh, ctx.variant, pow_target, MAX_ITERATIONS)
        .map_err(|e| format!("seal: {e}"))?;
    match seal.get("target_bits").and_then(Value::as_u64) {
        Some(bits) => {
            report.check_eq(
                &format!("{name} seal target_bits"),
                sealed.map(u64::from),
                Some(bits),
            );
            report.check_eq(
                &format!("{name} target rule"),
                pow::target_bits(pow_target, env.size(), ttl)
                    .ok()
                    .map(u64::from),
                Some(bits),
            );
        }
        None => {
            report.check(
                &format!("{name} no seal"),
                sealed.is_none() && recorded_nonce == 0,
                || format!("sealed {sealed:?}, recorded nonce {recorded_nonce}"),
            );
        }
    }
    report.check_eq(
        &format!("{name} minimal nonce"),
        fresh.nonce,
        recorded_nonce,
    );
    env.nonce = recorded_nonce;
    let p = ev.get("pow").ok_or("missing pow")?;
    check_pow(ctx, report, name, &env, p)?;
    let wire = env.encode();
    check_bytes(report, &format!("{name} rlp"), &wire, ev, "rlp");
    check_bytes(report, &format!("{name} hash"), &env.hash(), ev, "hash");
    report.check_eq(
        &format!("{name} hash = keccak(rlp)"),
        env.hash(),
        keccak256(&wire),
    );

    // The one-call path with the same randomness gives the same envelope.
    let opts = SealOptions {
        now,
        ttl,
        topic,
        pow_target,
        variant: ctx.variant,
        max_iterations: MAX_ITERATIONS,
        max_envelope_size: envelope::DEFAULT_MAX_ENVELOPE_SIZE,
    };
    let seal_key = match (&sym_key, encryption) {
        (Some(k), _) => SealKey::Symmetric(k),
        (None, _) => SealKey::Asymmetric(&ctx.key(s(params, "recipient")?)?.pk),
    };
    match envelope::seal_message(
        &payload,
        sender.map(|k| &k.sk),
        seal_key,
        &opts,
        &mut seal_rng,
    ) {
        Ok(e2) => report.check(&format!("{name} seal_message"), e2 == env, || {
            "seal_message gave a different envelope".into()
        }),
        Err(e) => report.fail(&format!("{name} seal_message"), &e.to_string()),
    }

    // 5. Decode and open.
    let open_opts = OpenOptions {
        now,
        variant: ctx.variant,
        min_pow: 0.0,
        max_envelope_size: envelope::DEFAULT_MAX_ENVELOPE_SIZE,
    };
    let recipient_sk;
    let open_key = match &sym_key {
        Some(k) => OpenKey::Symmetric(k),
        None => {
            recipient_sk = ctx.key(s(params, "recipient")?)?.sk.clone();
            OpenKey::Asymmetric(&recipient_sk)
        }
    };
    let (decoded, msg) =
        envelope::open_bytes(&wire, open_key, &open_opts).map_err(|e| format!("open: {e}"))?;
    report.check(&format!("{name} decode round trip"), decoded == env, || {
        "decoded envelope differs".into()
    });
    check_bytes(
        report,
        &format!("{name} opened payload"),
        &msg.payload,
        opened,
        "payload",
    );
    check_bytes(
        report,
        &format!("{name} opened padding"),
        &msg.padding,
        opened,
        "padding",
    );
    match (&msg.signature, opened.get("signature")) {
        (Some(sig), Some(_)) => {
            check_bytes(
                report,
                &format!("{name} opened signature"),
                sig.as_bytes(),
                opened,
                "signature",
            );
        }
        (None, None) | (None, Some(Value::Null)) => report.pass(&format!("{name} opened unsigned")),
        (None, Some(Value::String(x))) if x.is_empty() => {
            report.pass(&format!("{name} opened unsigned"))
        }
        (got, want) => report.fail(
            &format!("{name} opened signature"),
            &format!("got {got:?}, want {want:?}"),
        ),
    }
    match (&msg.signer, opened.get("signer")) {
        (Some(pk), Some(w)) if !w.is_null() => {
            check_bytes(
                report,
                &format!("{name} signer uncompressed"),
                &pk.to_uncompressed(),
                w,
                "public_key_uncompressed",
            );
            check_bytes(
                report,
                &format!("{name} signer compressed"),
                &pk.to_compressed(),
                w,
                "public_key_compressed",
            );
            let key_name = s(w, "key_name")?;
            report.check(
                &format!("{name} signer key_name"),
                ctx.key(key_name)?.pk == *pk,
                || format!("signer is not {key_name}"),
            );
            if let Some(snd) = sender {
                report.check_eq(&format!("{name} signer = sender"), &snd.pk, pk);
            }
        }
        (None, None) | (None, Some(Value::Null)) => report.pass(&format!("{name} no signer")),
        (got, want) => report.fail(
            &format!("{name} signer"),
            &format!("got {got:?}, want {want:?}"),
        ),
    }
    ctx.built.insert(cname, env);
    Ok(())
}

fn check_pow(
    ctx: &Ctx<'_>,
    report: &mut Report,
    name: &str,
    env: &Envelope,
    p: &Value,
) -> Result<(), String> {
    let nonce = dec_u64(p, "nonce")?;
    let h = PowHasher::new(env, ctx.variant);
    check_bytes(
        report,
        &format!("{name} pow_input"),
        &h.input(nonce),
        p,
        "pow_input",
    );
    check_bytes(
        report,
        &format!("{name} pow_hash"),
        &h.hash(nonce),
        p,
        "pow_hash",
    );
    report.check_eq(
        &format!("{name} zero_bits"),
        u64::from(h.zero_bits(nonce)),
        u(p, "zero_bits")?,
    );
    let got = h.pow(nonce, u64::from(env.ttl));
    let want = f(p, "pow")?;
    report.check(
        &format!("{name} pow value"),
        got.to_bits() == want.to_bits(),
        || format!("got {got:e}, want {want:e}"),
    );
    if nonce == env.nonce {
        let own = env.pow(ctx.variant);
        report.check(
            &format!("{name} Envelope::pow"),
            own.to_bits() == want.to_bits(),
            || format!("got {own:e}, want {want:e}"),
        );
    }
    Ok(())
}

fn verify_pow_case(
    ctx: &Ctx<'_>,
    c: &Value,
    report: &mut Report,
    name: &str,
) -> Result<(), String> {
    let ename = s(c, "envelope")?;
    let env = ctx
        .built
        .get(ename)
        .ok_or_else(|| format!("envelope `{ename}` was not rebuilt"))?;
    check_pow(ctx, report, name, env, c)
}

fn verify_status_send(
    ctx: &mut Ctx<'_>,
    c: &Value,
    report: &mut Report,
    name: &str,
) -> Result<(), String> {
    let params = c.get("params").ok_or("missing params")?;
    let ev = c.get("envelope").ok_or("missing envelope")?;
    let topic = hexf(ev, "topic")?;
    let cname = s(c, "name")?;
    // The topic (and key) rule of the send path.
    let alice = ctx.key("alice")?;
    let bob = ctx.key("bob")?;
    if let Some(chat) = params.get("chat").and_then(Value::as_str) {
        let want = if chat.is_empty() {
            Topic::from_string(status::GENERIC_DISCOVERY)
        } else {
            Topic::from_string(chat)
        };
        report.check_eq(
            &format!("{name} topic rule"),
            want.0.to_vec(),
            topic.clone(),
        );
        if let Some(pk) = params.get("recipient_public_key") {
            let _ = pk;
            report.check_eq(
                &format!("{name} recipient_public_key"),
                hexf(params, "recipient_public_key")?,
                bob.pk.to_uncompressed().to_vec(),
            );
        }
        if params.get("sym_key").is_some() {
            let k = SymKey::from_password(chat).map_err(|e| e.to_string())?;
            report.check_eq(
                &format!("{name} sym key rule"),
                k.expose().to_vec(),
                hexf(params, "sym_key")?,
            );
        }
    } else {
        let (want_topic, want_key) = match cname {
            "spg_private_partitioned" => (status::partitioned_topic(&bob.pk), None),
            "spg_private_discovery" => (Topic::from_string(status::GENERIC_DISCOVERY), None),
            "spg_private_negotiated" => {
                let secret = status::shared_secret(&alice.sk, &bob.pk);
                (
                    status::negotiated_topic(&secret),
                    Some(status::negotiated_key(&secret).map_err(|e| e.to_string())?),
                )
            }
            "spg_public_status" => (
                Topic::from_string("status"),
                Some(SymKey::from_password("status").map_err(|e| e.to_string())?),
            ),
            other => return Err(format!("unknown status send `{other}`")),
        };
        report.check_eq(&format!("{name} topic rule"), want_topic.0.to_vec(), topic);
        if let Some(k) = want_key {
            report.check_eq(
                &format!("{name} sym key rule"),
                k.expose().to_vec(),
                hexf(params, "sym_key")?,
            );
        }
    }
    verify_envelope_case(ctx, c, report, name)
}

fn verify_partitioned(
    ctx: &Ctx<'_>,
    c: &Value,
    report: &mut Report,
    name: &str,
) -> Result<(), String> {
    let key = ctx.key(s(c, "key_name")?)?;
    check_bytes(
        report,
        &format!("{name} public key"),
        &key.pk.to_uncompressed(),
        c,
        "public_key_uncompressed",
    );
    check_bytes(
        report,
        &format!("{name} x"),
        &status::x_coordinate(&key.pk),
        c,
        "x",
    );
    report.check_eq(
        &format!("{name} x mod 5000"),
        u64::from(status::partition(&key.pk)),
        u(c, "x_mod_5000")?,
    );
    report.check_eq(
        &format!("{name} chat id"),
        status::partitioned_chat_id(&key.pk),
        s(c, "partitioned_chat_id")?.to_owned(),
    );
    check_bytes(
        report,
        &format!("{name} topic"),
        &status::partitioned_topic(&key.pk).0,
        c,
        "partitioned_topic",
    );
    let ours = status::identity_filters(&key.pk).map_err(|e| e.to_string())?;
    let theirs = list(c, "filters");
    report.check_eq(&format!("{name} filter count"), ours.len(), theirs.len());
    for w in theirs {
        let kind = s(w, "kind")?;
        let k = match kind {
            "partitioned" => FilterKind::Partitioned,
            "personal_discovery" => FilterKind::PersonalDiscovery,
            "generic_discovery" => FilterKind::GenericDiscovery,
            "contact_code" => FilterKind::ContactCode,
            other => return Err(format!("unknown filter kind `{other}`")),
        };
        let fname = format!("{name} filter {kind}");
        let Some(g) = ours.iter().find(|x| x.kind == k) else {
            report.fail(&fname, "not produced");
            continue;
        };
        report.check_eq(
            &format!("{fname} chat_id"),
            g.chat_id.as_str(),
            s(w, "chat_id")?,
        );
        check_bytes(report, &format!("{fname} topic"), &g.topic.0, w, "topic");
        let enc = if g.sym_key.is_some() {
            "symmetric"
        } else {
            "asymmetric"
        };
        report.check_eq(&format!("{fname} encryption"), enc, s(w, "encryption")?);
        match &g.sym_key {
            Some(sk) => {
                check_bytes(
                    report,
                    &format!("{fname} sym_key"),
                    sk.expose(),
                    w,
                    "sym_key",
                );
            }
            None => report.check(
                &format!("{fname} no sym_key"),
                w.get("sym_key").is_none_or(Value::is_null),
                || "vector has a sym_key".into(),
            ),
        }
        report.check_eq(
            &format!("{fname} one_to_one"),
            Some(g.one_to_one),
            w.get("one_to_one").and_then(Value::as_bool),
        );
        report.check_eq(
            &format!("{fname} discovery"),
            Some(g.discovery),
            w.get("discovery").and_then(Value::as_bool),
        );
    }
    Ok(())
}

fn verify_negotiated(
    ctx: &Ctx<'_>,
    c: &Value,
    report: &mut Report,
    name: &str,
) -> Result<(), String> {
    let a = ctx.key(s(c, "a")?)?;
    let b = ctx.key(s(c, "b")?)?;
    let secret = status::shared_secret(&a.sk, &b.pk);
    let secret_b = status::shared_secret(&b.sk, &a.pk);
    report.check(
        &format!("{name} both sides agree"),
        secret == secret_b,
        || "ECDH differs".into(),
    );
    check_bytes(
        report,
        &format!("{name} shared_secret"),
        secret.expose(),
        c,
        "shared_secret",
    );
    report.check_eq(
        &format!("{name} password"),
        status::negotiated_password(&secret).expose().to_vec(),
        s(c, "password_utf8")?.as_bytes().to_vec(),
    );
    check_bytes(
        report,
        &format!("{name} topic"),
        &status::negotiated_topic(&secret).0,
        c,
        "topic",
    );
    let key = status::negotiated_key(&secret).map_err(|e| e.to_string())?;
    check_bytes(
        report,
        &format!("{name} sym_key"),
        key.expose(),
        c,
        "sym_key",
    );
    for (side, me, other) in [("side_a", a, b), ("side_b", b, a)] {
        let w = c.get(side).ok_or_else(|| format!("missing {side}"))?;
        let me_name = s(w, "me")?;
        report.check(
            &format!("{name} {side} me"),
            ctx.key(me_name)?.pk == me.pk,
            || format!("{side}.me is {me_name}"),
        );
        let fl = status::negotiated_filter(&me.sk, &other.pk).map_err(|e| e.to_string())?;
        report.check_eq(
            &format!("{name} {side} chat_id"),
            fl.chat_id.as_str(),
            s(w, "chat_id")?,
        );
        check_bytes(
            report,
            &format!("{name} {side} topic"),
            &fl.topic.0,
            w,
            "topic",
        );
        let sk = fl.sym_key.as_ref().ok_or("negotiated filter without key")?;
        check_bytes(
            report,
            &format!("{name} {side} sym_key"),
            sk.expose(),
            w,
            "sym_key",
        );
        report.check_eq(
            &format!("{name} {side} negotiated"),
            Some(fl.negotiated),
            w.get("negotiated").and_then(Value::as_bool),
        );
    }
    Ok(())
}

/// Checks the stream rule of every recorded `crypto/rand` read, and that every case's
/// `random_reads` are the run's reads with the same sequence numbers.
fn verify_random_stream(run: &Value, report: &mut Report, name: &str) -> Result<(), String> {
    let reads = list(run, "random_stream_reads");
    let mut by_seq = BTreeMap::new();
    let mut block = 1u64;
    let mut bad = Vec::new();
    for r in &reads {
        let seq = u(r, "seq")?;
        let bytes = read_bytes(r)?;
        let nblocks = bytes.len().div_ceil(32) as u64;
        let mut want = Vec::new();
        for k in block..block + nblocks {
            want.extend_from_slice(&keccak256(format!("whisper-interop-stream-{k}").as_bytes()));
        }
        want.truncate(bytes.len());
        if want != bytes {
            bad.push(seq);
        }
        block += nblocks;
        by_seq.insert(seq, bytes);
    }
    report.check(&format!("{name} stream rule"), bad.is_empty(), || {
        format!("reads {bad:?} do not follow the stream rule")
    });
    let mut cases = list(run, "ecies");
    cases.extend(list(run, "envelopes"));
    cases.extend(list(run, "status_sends"));
    let mut missing = Vec::new();
    for c in cases {
        for r in list(c, "random_reads") {
            let seq = u(r, "seq")?;
            if by_seq.get(&seq) != Some(&read_bytes(r)?) {
                missing.push(seq);
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "case reads {missing:?} are not in the run's stream"
        ))
    }
}
