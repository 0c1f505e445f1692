//! `pfs demo`: the whole protocol in one run, every step checked.
//!
//! Alice (a laptop and a phone, paired) and Bob (a phone, later a tablet recovered from
//! his phrase) each run a real engine on their own encrypted SQLite store in a temporary
//! directory. Every message travels as a real WakuMessage with a signed, ECIES-encrypted
//! version 1 payload, exactly what the Waku network carries; "the network" is the demo
//! itself, which hands messages to devices in the order it chooses (out of order on
//! purpose at one step).

use pfs_protocol::MessageId;
use std::time::{Duration, Instant};

use pfs_crypto::secp256k1::PublicKey;
use pfs_protocol::{Config, Delivered, DeliveredKind, Outgoing, OutgoingKind, ReceiveError};

use pfs_app::messenger::{Config as MessengerConfig, Event as AppEvent, Messenger};

use crate::commands::Ctx;
use crate::device::{Device, OpenFailure, now_ns, open_store};
use crate::error::CliError;
use crate::show::{short, short_id, short_installation};

/// PBKDF2 iterations of the demo's throwaway stores (real homes use the store default).
const DEMO_KDF_ITERATIONS: u32 = 1_000;

/// A device in the demo, with its Status application layer.
struct Dev {
    label: &'static str,
    d: Device,
    m: Messenger,
}

impl Dev {
    fn new(label: &'static str, d: Device) -> Self {
        let m = Messenger::new(d.signing_key(), MessengerConfig::default());
        Self { label, d, m }
    }
}

fn now_ms() -> i64 {
    now_ns() / 1_000_000
}

/// A WakuMessage in flight.
struct Env {
    bytes: Vec<u8>,
    content_topic: String,
    kind: OutgoingKind,
    recipient: PublicKey,
    entries: Vec<pfs_store::InstallationId>,
    forward_secret: bool,
    text: String,
}

struct Demo {
    /// `--json`: one object per step, line and check, then a summary object.
    json: bool,
    step: usize,
    checks: usize,
    failed: usize,
    messages: usize,
    envelopes: usize,
    crypto: Duration,
}

fn fs(b: bool) -> &'static str {
    if b {
        "forward secret"
    } else {
        "NOT forward secret"
    }
}

impl Demo {
    fn step(&mut self, title: &str) {
        self.step += 1;
        if self.json {
            println!(
                "{}",
                serde_json::json!({ "type": "step", "step": self.step, "title": title })
            );
            return;
        }
        println!();
        println!("{:>2}. {title}", self.step);
    }

    fn say(&self, text: &str) {
        if self.json {
            self.line(text);
        } else {
            println!("    {text}");
        }
    }

    /// A line of text as is (JSON mode: a `say` object with the text trimmed).
    fn line(&self, text: &str) {
        if self.json {
            println!(
                "{}",
                serde_json::json!({ "type": "say", "step": self.step, "text": text.trim() })
            );
        } else {
            println!("{text}");
        }
    }

    fn check(&mut self, ok: bool, what: &str) -> bool {
        self.checks += 1;
        if !ok {
            self.failed += 1;
        }
        if self.json {
            println!(
                "{}",
                serde_json::json!({ "type": "check", "step": self.step, "ok": ok, "check": what })
            );
        } else if ok {
            println!("      ✓ {what}");
        } else {
            println!("      ✗ FAILED: {what}");
        }
        ok
    }

    fn seal(
        &mut self,
        from: &mut Dev,
        outs: Vec<Outgoing>,
        text: &str,
    ) -> Result<Vec<Env>, CliError> {
        self.seal_with(from, outs, text, false)
    }

    fn seal_with(
        &mut self,
        from: &mut Dev,
        outs: Vec<Outgoing>,
        text: &str,
        negotiated: bool,
    ) -> Result<Vec<Env>, CliError> {
        let now = now_ns();
        let mut envs = Vec::new();
        for o in outs {
            let t = Instant::now();
            let msg = from.d.seal_with(&o, now, negotiated)?;
            self.crypto += t.elapsed();
            self.envelopes += 1;
            envs.push(Env {
                bytes: pfs_transport::waku::encode_message(&msg),
                content_topic: msg.content_topic.clone(),
                kind: o.kind,
                recipient: o.recipient,
                entries: o.entries,
                forward_secret: o.forward_secret,
                text: text.to_owned(),
            });
        }
        Ok(envs)
    }

    /// `from` sends `text` to `to`: the engine's messages, sealed into WakuMessages.
    fn send(
        &mut self,
        from: &mut Dev,
        to: &PublicKey,
        to_name: &str,
        text: &str,
    ) -> Result<Vec<Env>, CliError> {
        let t = Instant::now();
        // the Status application layer: ChatMessage, signed wrapper, MVDS payload
        let now = now_ms();
        let app = pfs_client::with_app_records(&mut from.d, &from.m, |m, r| {
            m.text(r, to, text, None, now)
        })?;
        let outs = from.d.engine.send(to, &app.plaintext)?;
        self.crypto += t.elapsed();
        self.messages += 1;
        let envs = self.seal(from, outs, text)?;
        for e in &envs {
            let whom = match e.kind {
                OutgoingKind::OwnDevicesCopy => "own devices (copy)".to_owned(),
                _ => to_name.to_owned(),
            };
            self.say(&format!(
                "{} → {whom}: {text:?}  [message {} bytes, {} device(s): {}, {}]",
                from.label,
                e.bytes.len(),
                e.entries.len(),
                e.entries.iter().map(short_id).collect::<Vec<_>>().join(" "),
                fs(e.forward_secret)
            ));
        }
        Ok(envs)
    }

    /// Hands a message to a device: open (verify signer) and decrypt.
    fn deliver(&mut self, env: &Env, to: &mut Dev) -> Result<Delivered, String> {
        let t = Instant::now();
        let opened = match to.d.open_bytes(&env.bytes) {
            Ok(o) => o,
            Err(e) => {
                self.crypto += t.elapsed();
                self.say(&format!("{} ✗ message refused: {e}", to.label));
                return Err(e.to_string());
            }
        };
        let mut r = to.d.engine.decrypt(
            &opened.sender,
            &opened.payload,
            &MessageId::from(&opened.hash),
        );
        // the Status application layer: MVDS, signed wrapper (its signer must be the sender
        // the payload signature names), ChatMessage
        if let Ok(d) = &mut r
            && d.kind == DeliveredKind::Direct
            && !d.plaintext.is_empty()
        {
            let (from, plaintext, now) = (d.sender.clone(), d.plaintext.clone(), now_ms());
            let sent = opened.timestamp_ns / 1_000_000;
            match pfs_client::with_app_records(&mut to.d, &to.m, |m, rec| {
                m.receive(rec, &from, &plaintext, sent, now)
            }) {
                Ok(inc) => {
                    let text = inc.events.iter().find_map(|e| match e {
                        AppEvent::Text { message, .. } => Some(message.text.clone()),
                        _ => None,
                    });
                    d.plaintext = text.unwrap_or_default().into_bytes();
                }
                Err(e) => {
                    self.crypto += t.elapsed();
                    self.say(&format!("{} ✗ not a Status message: {e}", to.label));
                    return Err(e.to_string());
                }
            }
        }
        self.crypto += t.elapsed();
        match &r {
            Ok(d) if d.kind == DeliveredKind::BundleOnly => self.say(&format!(
                "{} ← bundle of {} (device {})",
                to.label,
                short(&d.sender),
                short_installation(&d.sender_installation)
            )),
            Ok(d) => self.say(&format!(
                "{} ← {:?} from {} device {}  [{}, PFS {}{}]",
                to.label,
                String::from_utf8_lossy(&d.plaintext),
                short(&d.sender),
                short_installation(&d.sender_installation),
                fs(d.forward_secret),
                if d.pfs_established {
                    "established"
                } else {
                    "not established"
                },
                if d.contact_request {
                    ", contact request"
                } else {
                    ""
                }
            )),
            Err(e) => self.say(&format!("{} ✗ {e}", to.label)),
        }
        r.map_err(|e| e.to_string())
    }

    /// Delivers and checks the plaintext and forward secrecy.
    fn expect(&mut self, env: &Env, to: &mut Dev, from: &PublicKey) -> Option<Delivered> {
        match self.deliver(env, to) {
            Ok(d) => {
                let ok = d.plaintext == env.text.as_bytes()
                    && d.forward_secret == env.forward_secret
                    && d.sender == *from;
                self.check(
                    ok,
                    &format!(
                        "{} reads exactly what was sent, {}, sender verified from the payload signature",
                        to.label,
                        fs(env.forward_secret)
                    ),
                );
                Some(d)
            }
            Err(e) => {
                self.check(
                    false,
                    &format!("{} could not read the message: {e}", to.label),
                );
                None
            }
        }
    }

    fn replies(&mut self, from: &mut Dev) -> Result<Vec<Env>, CliError> {
        let outs = from.d.engine.take_outgoing();
        self.seal(from, outs, "")
    }
}

fn new_store(dir: &std::path::Path, name: &str) -> Result<Box<dyn pfs_store::Store>, CliError> {
    let home = dir.join(name);
    std::fs::create_dir_all(&home)
        .map_err(|e| CliError::io("cannot create the demo directory", e))?;
    Ok(Box::new(open_store(
        &home.join("store.sqlite"),
        b"demo passphrase (throwaway store)",
        Some(DEMO_KDF_ITERATIONS),
    )?))
}

fn own_installation(
    dev: &mut Dev,
    id: &pfs_store::InstallationId,
) -> Option<pfs_protocol::InstallationView> {
    let me = dev.d.identity();
    dev.d
        .engine
        .installations()
        .ok()?
        .into_iter()
        .find(|i| i.identity == me && i.installation_id == *id)
}

fn skipped_keys(dev: &mut Dev, peer: &PublicKey) -> usize {
    dev.d
        .engine
        .sessions()
        .map(|s| {
            s.iter()
                .filter(|s| s.peer == *peer)
                .map(|s| s.skipped_keys)
                .sum()
        })
        .unwrap_or(usize::MAX)
}

/// `pfs demo`.
pub fn run(ctx: &Ctx, keep: bool) -> Result<(), CliError> {
    let started = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix("pfs-demo-")
        .tempdir()
        .map_err(|e| CliError::io("cannot create a temporary directory", e))?;
    let dir = tmp.path().to_path_buf();
    let pics = ctx.pictures()?;
    let mut demo = Demo {
        json: ctx.json,
        step: 0,
        checks: 0,
        failed: 0,
        messages: 0,
        envelopes: 0,
        crypto: Duration::ZERO,
    };
    demo.line("pfs demo: Alice (laptop + phone) and Bob talk with the Status 1:1 protocol.");
    demo.line(&format!(
        "Each device has its own encrypted SQLite store under {}.",
        dir.display()
    ));
    demo.line("Every message travels as a WakuMessage with a signed, encrypted version 1 payload");
    demo.line(
        "(ECIES to the recipient's chat key, partitioned content topic); the demo plays the network."
    );
    demo.line(
        "Texts are what a Status app sends: ChatMessage, signed ApplicationMetadataMessage, MVDS payload."
    );

    // ------------------------------------------------------------------ accounts
    demo.step("Alice creates her account on her laptop");
    let (d, alice_phrase) = Device::create(new_store(&dir, "alice-laptop")?, Config::default())?;
    let mut laptop = Dev::new("Alice's laptop", d);
    let alice = laptop.d.identity();
    demo.say(&format!(
        "chat key {}  installation {}",
        pfs_identity::to_zq3(&alice),
        short_id(laptop.d.installation_id())
    ));
    demo.say(&format!("recovery phrase (throwaway): {alice_phrase}"));

    demo.step("Alice sets up her phone with the same recovery phrase");
    let d = Device::recover(
        new_store(&dir, "alice-phone")?,
        Config::default(),
        &alice_phrase,
    )?;
    let mut phone = Dev::new("Alice's phone", d);
    demo.say(&format!(
        "installation {}",
        short_id(phone.d.installation_id())
    ));
    demo.check(phone.d.identity() == alice, "same chat key as the laptop");
    demo.check(
        phone.d.installation_id() != laptop.d.installation_id(),
        "a new installation id: recovery makes a new device",
    );

    demo.step("Pairing: the phone announces itself, the laptop answers, both approve");
    let out = phone.d.engine.encrypt_for(&alice, &[], false)?;
    let announce = demo.seal(&mut phone, vec![out], "")?;
    let mut pairing_ok = false;
    if let Some(env) = announce.first() {
        let r = demo.deliver(env, &mut laptop);
        demo.check(
            matches!(&r, Err(e) if e == &ReceiveError::NotPairedDevice.to_string()),
            "the laptop is not paired yet: nothing in the message for it (expected)",
        );
        let phone_id = phone.d.installation_id();
        let pending = own_installation(&mut laptop, &phone_id);
        demo.check(
            pending.as_ref().is_some_and(|i| !i.enabled),
            "but the laptop stored the phone's bundle: phone pending approval",
        );
        let replies = demo.replies(&mut laptop)?;
        demo.check(
            replies.len() == 1 && replies.iter().all(|r| r.kind == OutgoingKind::BundleReply),
            "the laptop answers with a bundle reply",
        );
        for r in &replies {
            let ok = demo
                .deliver(r, &mut phone)
                .is_ok_and(|d| d.kind == DeliveredKind::BundleOnly);
            demo.check(ok, "the phone stores the laptop's bundle");
        }
        laptop.d.engine.enable_installation(&phone_id)?;
        let laptop_id = laptop.d.installation_id();
        let r = phone.d.engine.enable_installation(&laptop_id);
        demo.check(r.is_ok(), "approved on both devices");
        let b = laptop.d.engine.own_bundle()?;
        pairing_ok = demo.check(
            b.signed_pre_keys.len() == 2,
            "the laptop's bundle now lists both of Alice's devices",
        );
    }
    if !pairing_ok {
        demo.say("(pairing failed: the rest would not make sense)");
        return finish(&demo, started, keep, tmp);
    }

    demo.step("Bob creates his account on his phone");
    let (d, bob_phrase) = Device::create(new_store(&dir, "bob-phone")?, Config::default())?;
    let mut bob = Dev::new("Bob's phone", d);
    let bob_key = bob.d.identity();
    demo.say(&format!(
        "chat key {}  installation {}",
        pfs_identity::to_zq3(&bob_key),
        short_id(bob.d.installation_id())
    ));

    // ------------------------------------------------------------------ contacts
    demo.step("Alice and Bob exchange contact codes (QR codes, face to face)");
    let alice_code = laptop.d.engine.contact_code()?;
    let bob_code = bob.d.engine.contact_code()?;
    demo.say(&format!(
        "Alice's contact code: {} characters (a signed bundle of 2 devices)",
        alice_code.len()
    ));
    demo.say("Bob compares the pictures of the key in the code with those on Alice's screen:");
    for line in pics.describe(&alice, "      ").lines() {
        demo.line(line);
    }
    let added = bob.d.engine.add_contact_code(&alice_code, Some("Alice"));
    demo.check(
        added.as_ref().is_ok_and(|k| *k == alice),
        "Bob verifies Alice's code and adds her",
    );
    let added = laptop.d.engine.add_contact_code(&bob_code, Some("Bob"));
    demo.check(
        added.as_ref().is_ok_and(|k| *k == bob_key),
        "Alice's laptop adds Bob",
    );
    let added = phone.d.engine.add_contact_code(&bob_code, Some("Bob"));
    demo.check(
        added.as_ref().is_ok_and(|k| *k == bob_key),
        "Alice's phone adds Bob",
    );

    // ------------------------------------------------------------------ first message
    demo.step("Alice writes to Bob from her laptop (X3DH, then the Double Ratchet)");
    let envs = demo.send(&mut laptop, &bob_key, "Bob", "Hi Bob! It's Alice.")?;
    demo.check(
        envs.len() == 2
            && envs
                .first()
                .is_some_and(|e| e.kind == OutgoingKind::Message && e.recipient == bob_key)
            && envs
                .get(1)
                .is_some_and(|e| e.kind == OutgoingKind::OwnDevicesCopy && e.recipient == alice),
        "two WakuMessages: one for Bob, one copy for Alice's own phone",
    );
    if let Some(e) = envs.first() {
        if let Some(d) = demo.expect(e, &mut bob, &alice) {
            demo.check(
                !d.contact_request && d.pfs_established,
                "not a contact request (Bob added Alice); PFS established",
            );
        }
        let r = demo.deliver(e, &mut phone);
        demo.check(
            r.as_ref().err().is_some_and(|e| e.contains("not for us")),
            "Alice's phone cannot even open Bob's message (ECIES to Bob's key)",
        );
    }
    if let Some(e) = envs.get(1)
        && let Some(d) = demo.expect(e, &mut phone, &alice)
    {
        demo.check(
            d.sender_installation == Some(laptop.d.installation_id()),
            "the phone sees which of Alice's devices sent it",
        );
    }

    // ------------------------------------------------------------------ out of order
    demo.step("Out-of-order delivery: Alice sends three messages, Bob gets them 3, 1, 2");
    let texts = [
        "one: are you free tonight?",
        "two: there's a film at 8",
        "three: tell me by 6!",
    ];
    let mut batch = Vec::new();
    for t in texts {
        batch.push(demo.send(&mut laptop, &bob_key, "Bob", t)?);
    }
    for b in &batch {
        if let Some(copy) = b.get(1) {
            demo.expect(copy, &mut phone, &alice);
        }
    }
    let order = [2usize, 0, 1];
    for (k, &i) in order.iter().enumerate() {
        if let Some(e) = batch.get(i).and_then(|b| b.first()) {
            demo.expect(e, &mut bob, &alice);
        }
        if k == 0 {
            let n = skipped_keys(&mut bob, &alice);
            demo.check(
                n == 2,
                &format!("Bob's store keeps the 2 skipped message keys (has {n})"),
            );
        }
    }
    let n = skipped_keys(&mut bob, &alice);
    demo.check(n == 0, "the skipped keys were used once and deleted");

    // ------------------------------------------------------------------ ratchet turn
    demo.step("Ratchet turn: Bob answers; his message reaches both of Alice's devices");
    let envs = demo.send(
        &mut bob,
        &alice,
        "Alice",
        "Got all three, in a funny order. Yes to the film!",
    )?;
    demo.check(envs.len() == 1, "one WakuMessage (Bob has no other device)");
    if let Some(e) = envs.first() {
        demo.check(
            e.entries.len() == 2,
            "one message with an entry for each of Alice's 2 devices",
        );
        demo.expect(e, &mut laptop, &bob_key);
        demo.expect(e, &mut phone, &bob_key);
    }
    demo.step("Alice answers from her phone (her laptop gets the copy)");
    let envs = demo.send(&mut phone, &bob_key, "Bob", "Great, see you at 8.")?;
    if let Some(e) = envs.first() {
        demo.expect(e, &mut bob, &alice);
    }
    if let Some(e) = envs.get(1) {
        demo.expect(e, &mut laptop, &alice);
    }

    demo.step("Bob answers on the topic negotiated with Alice, as status-go does once both speak protocol version 1");
    let now = now_ms();
    let app = pfs_client::with_app_records(&mut bob.d, &bob.m, |m, r| {
        m.text(r, &alice, "Negotiated topic, AES-GCM.", None, now)
    })?;
    let outs = bob.d.engine.send(&alice, &app.plaintext)?;
    demo.messages += 1;
    let envs = demo.seal_with(&mut bob, outs, "Negotiated topic, AES-GCM.", true)?;
    let partitioned =
        pfs_transport::waku::content_topic(&pfs_transport::status::partitioned_topic(&alice));
    demo.check(
        !envs.is_empty() && envs.iter().all(|e| e.content_topic != partitioned),
        "sent on the negotiated content topic (symmetric key from ECDH of the identity keys), not on Alice's partitioned one",
    );
    if let Some(e) = envs.first() {
        demo.say(&format!("Bob's phone → Alice on {}", e.content_topic));
        demo.expect(e, &mut laptop, &bob_key);
        demo.expect(e, &mut phone, &bob_key);
    }

    // ------------------------------------------------------------------ attacks
    demo.step("Replays and tampering are refused");
    if let Some(e) = batch.first().and_then(|b| b.first()) {
        let r = demo.deliver(e, &mut bob);
        demo.check(
            r.is_err(),
            "replaying message one to Bob fails (its key was deleted)",
        );
        let mut bad = Env {
            bytes: e.bytes.clone(),
            content_topic: e.content_topic.clone(),
            kind: e.kind,
            recipient: e.recipient.clone(),
            entries: Vec::new(),
            forward_secret: e.forward_secret,
            text: e.text.clone(),
        };
        // one bit of the encrypted payload flipped, the WakuMessage re-encoded around it
        let tampered = pfs_transport::waku::decode_message(&e.bytes, usize::MAX)
            .ok()
            .and_then(|mut m| {
                let at = m.payload.len().saturating_sub(40);
                *m.payload.get_mut(at)? ^= 0x01;
                Some(pfs_transport::waku::encode_message(&m))
            });
        if let Some(bytes) = tampered {
            bad.bytes = bytes;
            let r = demo.deliver(&bad, &mut bob);
            demo.check(
                r.is_err(),
                "one flipped bit in the payload: the encryption's MAC rejects it",
            );
        }
    }
    let forged = bob.d.open_bytes(b"\xc0");
    demo.check(
        matches!(forged, Err(OpenFailure::Malformed(_))),
        "garbage is reported as a corrupt message",
    );

    // ------------------------------------------------------------------ recovery
    demo.step("Bob loses his phone and recovers his account on a new tablet");
    drop(bob);
    let d = Device::recover(
        new_store(&dir, "bob-tablet")?,
        Config::default(),
        &bob_phrase,
    )?;
    let mut tablet = Dev::new("Bob's tablet", d);
    demo.check(tablet.d.identity() == bob_key, "same chat key");
    let tablet_id = tablet.d.installation_id();
    demo.say(&format!(
        "new installation {}; no sessions, no contacts",
        short_id(&tablet_id)
    ));

    demo.step("Alice writes; only Bob's lost phone is in her session list");
    let envs = demo.send(&mut laptop, &bob_key, "Bob", "Are you there, Bob?")?;
    let mut healed = false;
    if let Some(e) = envs.first() {
        let r = demo.deliver(e, &mut tablet);
        demo.check(
            matches!(&r, Err(e) if e == &ReceiveError::DeviceNotFound.to_string()),
            "the tablet has no entry in it (expected)",
        );
        let replies = demo.replies(&mut tablet)?;
        demo.check(
            replies.len() == 1
                && replies
                    .iter()
                    .all(|r| r.kind == OutgoingKind::BundleReply && r.recipient == alice),
            "the tablet automatically answers with a bundle reply to Alice",
        );
        for r in &replies {
            let d1 = demo.deliver(r, &mut laptop);
            demo.check(
                d1.is_ok_and(|d| d.new_installations.iter().any(|(_, i)| *i == tablet_id)),
                "Alice's laptop learns Bob's tablet",
            );
            let d2 = demo.deliver(r, &mut phone);
            healed = demo.check(
                d2.is_ok_and(|d| d.new_installations.iter().any(|(_, i)| *i == tablet_id)),
                "Alice's phone learns it too",
            );
        }
    }
    if let Some(e) = envs.get(1) {
        demo.expect(e, &mut phone, &alice);
    }

    demo.step("Alice writes again: a new session with the tablet heals the conversation");
    let envs = demo.send(
        &mut laptop,
        &bob_key,
        "Bob",
        "Welcome back! Still on for 8?",
    )?;
    if let Some(e) = envs.first() {
        demo.check(
            e.entries.contains(&tablet_id),
            "the message now has an entry for the tablet",
        );
        if let Some(d) = demo.expect(e, &mut tablet, &alice) {
            demo.check(
                d.contact_request,
                "the tablet has no contacts yet, so it shows Alice as a contact request",
            );
        }
    }
    if let Some(e) = envs.get(1) {
        demo.expect(e, &mut phone, &alice);
    }
    tablet.d.engine.accept_contact(&alice)?;
    demo.say("Bob compares Alice's pictures again and accepts.");
    let envs = demo.send(
        &mut tablet,
        &alice,
        "Alice",
        "Yes! New tablet, same me. See you at 8.",
    )?;
    if let Some(e) = envs.first() {
        demo.check(
            e.entries.len() == 2,
            "Bob's tablet reaches both of Alice's devices",
        );
        demo.expect(e, &mut laptop, &bob_key);
        demo.expect(e, &mut phone, &bob_key);
    }
    demo.check(
        healed
            && tablet.d.engine.pfs_established(&alice).unwrap_or(false)
            && laptop.d.engine.pfs_established(&bob_key).unwrap_or(false),
        "PFS established again between Alice and Bob's tablet",
    );

    // ------------------------------------------------------------------ summary
    demo.step("Sessions held by each device");
    for dev in [&mut laptop, &mut phone, &mut tablet] {
        let sessions = dev.d.engine.sessions()?;
        demo.say(&format!("{}: {} session(s)", dev.label, sessions.len()));
        for s in sessions {
            demo.say(&format!(
                "  with {} device {}  {} suite, {}, {}, skipped keys {}",
                short(&s.peer),
                short_id(s.peer_installation.as_str()),
                match s.suite {
                    pfs_protocol::SuiteId::Spec => "X25519 (spec)",
                    pfs_protocol::SuiteId::StatusGo => "secp256k1 (status-go)",
                },
                if s.active { "active" } else { "expired" },
                if s.we_initiated {
                    "we started it"
                } else {
                    "they started it"
                },
                s.skipped_keys
            ));
        }
    }
    finish(&demo, started, keep, tmp)
}

fn finish(
    demo: &Demo,
    started: Instant,
    keep: bool,
    tmp: tempfile::TempDir,
) -> Result<(), CliError> {
    let total = started.elapsed();
    let per = demo
        .crypto
        .checked_div(u32::try_from(demo.envelopes.max(1)).unwrap_or(u32::MAX))
        .unwrap_or_default();
    if demo.json {
        let kept = keep.then(|| tmp.keep().display().to_string());
        println!(
            "{}",
            serde_json::json!({
                "type": "summary",
                "messages": demo.messages,
                "waku_messages": demo.envelopes,
                "checks": demo.checks,
                "failed": demo.failed,
                "crypto_ms": demo.crypto.as_secs_f64() * 1000.0,
                "ms_per_waku_message": per.as_secs_f64() * 1000.0,
                "total_s": total.as_secs_f64(),
                "kept": kept,
                "passed": demo.failed == 0,
            })
        );
        if demo.failed > 0 {
            return Err(CliError::DemoFailed(demo.failed));
        }
        return Ok(());
    }
    println!();
    println!("Summary");
    println!(
        "  {} messages sent as {} WakuMessages; {} checks, {} failed",
        demo.messages, demo.envelopes, demo.checks, demo.failed
    );
    println!(
        "  time in protocol + payload encryption: {:.1} ms ({:.2} ms per WakuMessage, store writes included); whole demo {:.2} s",
        demo.crypto.as_secs_f64() * 1000.0,
        per.as_secs_f64() * 1000.0,
        total.as_secs_f64()
    );
    if keep {
        let path = tmp.keep();
        println!("  stores kept in {}", path.display());
    }
    if demo.failed > 0 {
        return Err(CliError::DemoFailed(demo.failed));
    }
    println!("  every check passed");
    Ok(())
}
