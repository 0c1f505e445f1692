//! End-to-end tests of the `pfs` binary: two and three homes talking through WakuMessage
//! lines (pipes), multi-device approval, recovery, contact requests, every error path,
//! and the demo.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::*;
use predicates::prelude::*;
use serde_json::Value;

/// `init` and returns (mnemonic, chat key, installation id).
fn init(h: &Home) -> (String, String, String) {
    let out = pfs(&h.path).args(["--json", "init"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json1(&out.stdout);
    (
        v["mnemonic"].as_str().unwrap().to_owned(),
        v["chat_key"].as_str().unwrap().to_owned(),
        v["installation_id"].as_str().unwrap().to_owned(),
    )
}

fn recover(h: &Home, phrase: &str) -> String {
    let out = pfs(&h.path)
        .args(["--json", "recover"])
        .write_stdin(phrase)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json1(&out.stdout)["installation_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn send(h: &Home, to: &str, text: &str) -> Vec<Value> {
    let out = pfs(&h.path)
        .args(["--json", "send", "--to", to, text])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json_lines(&out.stdout)
}

fn messages(v: &[Value]) -> Vec<&Value> {
    v.iter().filter(|o| o["type"] == "message").collect()
}

fn texts(v: &[Value]) -> Vec<String> {
    messages(v)
        .iter()
        .filter(|m| m["kind"] == "direct")
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

fn replies(v: &[Value]) -> String {
    v.iter()
        .filter(|o| o["type"] == "waku_message" && o["kind"] == "bundle-reply")
        .map(line)
        .collect()
}

/// The acknowledgements a `--json receive` printed (WakuMessages of kind "message").
fn acks(v: &[Value]) -> String {
    v.iter()
        .filter(|o| o["type"] == "waku_message" && o["kind"] == "message")
        .map(line)
        .collect()
}

/// The acknowledgement lines a text-mode `receive` wrote on stderr (each after its note).
fn acks_from_stderr(stderr: &str) -> String {
    let mut out = String::new();
    let mut take = false;
    for l in stderr.lines() {
        if take {
            out.push_str(l);
            out.push('\n');
        }
        take = l.starts_with("# acknowledgement");
    }
    out
}

#[test]
fn two_homes_talk_both_ways_out_of_order() {
    let (alice, bob) = (home(), home());
    init(&alice);
    init(&bob);
    pair_contacts(&alice, &bob);
    let m: Vec<Vec<Value>> = ["one", "two", "three"]
        .iter()
        .map(|t| send(&alice, "Bob", t))
        .collect();
    for e in &m {
        assert_eq!(e.len(), 1, "no own devices: one message");
        assert_eq!(e[0]["kind"], "message");
        assert_eq!(e[0]["forward_secret"], true);
    }
    // delivered 3, 1, 2 in one stdin
    let input = line(&m[2][0]) + &line(&m[0][0]) + &line(&m[1][0]);
    let (ok, out, err) = receive(&bob, &input);
    assert!(ok, "{err}");
    assert_eq!(texts(&out), ["three", "one", "two"]);
    // Bob's client acknowledged each (MVDS): Alice reads the acks as deliveries
    let (ok, got, err) = receive(&alice, &acks(&out));
    assert!(ok, "{err}");
    let delivered: Vec<&Value> = got.iter().filter(|o| o["type"] == "delivered").collect();
    assert_eq!(delivered.len(), 3, "{got:?}");
    for (d, sent) in delivered.iter().zip([&m[2], &m[0], &m[1]]) {
        assert!(d["from_name"].as_str().unwrap().starts_with("Bob"));
        assert_eq!(d["message_ids"].as_array().unwrap().len(), 1);
        let _ = sent;
    }
    assert!(texts(&got).is_empty(), "an ack is not a message");
    for msg in messages(&out) {
        assert_eq!(msg["forward_secret"], true);
        assert_eq!(msg["contact_request"], false);
        assert!(msg["sender_name"].as_str().unwrap().starts_with("Alice"));
    }
    // Bob answers (a ratchet turn), Alice reads
    let r = send(&bob, "Alice", "got them");
    let (ok, out, err) = receive(&alice, &line(&r[0]));
    assert!(ok, "{err}");
    assert_eq!(texts(&out), ["got them"]);
    assert_eq!(messages(&out)[0]["forward_secret"], true);
    // pipes in human mode too: send | receive
    let env = pfs(&alice.path)
        .args(["send", "--to", "Bob", "plain pipe"])
        .output()
        .unwrap();
    assert!(env.status.success());
    let got = pfs(&bob.path)
        .arg("receive")
        .write_stdin(env.stdout)
        .output()
        .unwrap();
    assert!(got.status.success());
    let (stdout, stderr) = (
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&got.stderr),
    );
    assert!(stdout.contains("plain pipe") && stdout.contains("forward secret: yes"));
    // in text mode the ack is on stderr after its note, kept off the message text
    let ack = acks_from_stderr(&stderr);
    assert_eq!(ack.lines().count(), 1, "{stderr}");
    assert!(!stdout.contains(ack.trim()));
    let (ok, _, err) = receive(&alice, &ack);
    assert!(ok, "{err}");
    // message from stdin
    let out = pfs(&bob.path)
        .args(["--json", "send", "--to", "Alice"])
        .write_stdin("from stdin\n")
        .output()
        .unwrap();
    assert!(out.status.success());
    let (_, got, _) = receive(&alice, &line(&json_lines(&out.stdout)[0]));
    assert_eq!(texts(&got), ["from stdin"]);
    // sessions
    let out = pfs(&alice.path)
        .args(["--json", "sessions"])
        .output()
        .unwrap();
    let s = json_lines(&out.stdout);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["active"], true);
    assert_eq!(s[0]["skipped_keys"], 0);
    pfs(&alice.path)
        .arg("sessions")
        .assert()
        .success()
        .stdout(predicate::str::contains("active"));
}

#[test]
fn skipped_keys_show_in_sessions() {
    let (alice, bob) = (home(), home());
    init(&alice);
    init(&bob);
    pair_contacts(&alice, &bob);
    let m: Vec<Vec<Value>> = (0..4)
        .map(|i| send(&alice, "Bob", &format!("m{i}")))
        .collect();
    let (ok, out, _) = receive(&bob, &line(&m[3][0]));
    assert!(ok);
    assert_eq!(texts(&out), ["m3"]);
    let out = pfs(&bob.path)
        .args(["--json", "sessions"])
        .output()
        .unwrap();
    assert_eq!(json_lines(&out.stdout)[0]["skipped_keys"], 3);
    // a replay is refused with a non-zero exit
    let (ok, _, err) = receive(&bob, &line(&m[3][0]));
    assert!(!ok);
    assert!(err.contains("ratchet"), "{err}");
}

#[test]
fn multi_device_approval_with_three_homes() {
    let (a1, a2, bob) = (home(), home(), home());
    let (phrase, alice_key, a1_id) = init(&a1);
    let a2_id = recover(&a2, &phrase);
    assert_ne!(a1_id, a2_id);
    init(&bob);
    // a2 announces itself; a1 stores it pending and answers with its bundle
    let out = pfs(&a2.path)
        .args(["--json", "devices", "announce"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let announce = line(&json1(&out.stdout));
    let (ok, out, err) = receive(&a1, &announce);
    assert!(ok, "{err}");
    let reply = replies(&out);
    assert!(!reply.is_empty(), "a1 answers with a bundle reply");
    let out = pfs(&a1.path)
        .args(["--json", "devices", "list"])
        .output()
        .unwrap();
    let list = json_lines(&out.stdout);
    let pending: Vec<_> = list
        .iter()
        .filter(|d| d["state"] == "pending approval")
        .collect();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0]["installation_id"], a2_id.as_str());
    let (ok, _, err) = receive(&a2, &reply);
    assert!(ok, "{err}");
    // approve on both sides (by prefix)
    pfs(&a1.path)
        .args(["devices", "approve", &a2_id[..8]])
        .assert()
        .success()
        .stdout(predicate::str::contains("approved"));
    pfs(&a2.path)
        .args(["devices", "approve", &a1_id])
        .assert()
        .success();
    pfs(&a1.path)
        .args(["devices", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("enabled"))
        .stdout(predicate::str::contains("this device"));
    // Bob gets Alice's code after pairing: both of her devices are in it
    pair_contacts(&a1, &bob);
    add(&a2, &code(&bob), "Bob");
    // a1 → Bob: a message for Bob and a copy for a2
    let e = send(&a1, "Bob", "from the laptop");
    assert_eq!(e.len(), 2);
    assert_eq!(e[1]["kind"], "own-devices-copy");
    assert_eq!(e[1]["recipient"], alice_key.as_str());
    let both = line(&e[0]) + &line(&e[1]);
    let (ok, out, err) = receive(&bob, &both);
    assert!(ok, "{err}");
    assert_eq!(texts(&out), ["from the laptop"]);
    assert!(
        err.contains("not for us"),
        "the copy is skipped by Bob: {err}"
    );
    let (ok, out, err) = receive(&a2, &both);
    assert!(ok, "{err}");
    assert_eq!(texts(&out), ["from the laptop"]);
    assert_eq!(messages(&out)[0]["installation"], a1_id.as_str());
    // Bob → Alice reaches both devices
    let r = send(&bob, "Alice", "to both of you");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0]["installations"].as_array().unwrap().len(), 2);
    for h in [&a1, &a2] {
        let (ok, out, err) = receive(h, &line(&r[0]));
        assert!(ok, "{err}");
        assert_eq!(texts(&out), ["to both of you"]);
        assert_eq!(messages(&out)[0]["forward_secret"], true);
    }
    // disabling a device stops the copies
    pfs(&a1.path)
        .args(["devices", "disable", &a2_id[..8]])
        .assert()
        .success();
    assert_eq!(send(&a1, "Bob", "just Bob").len(), 1);
    pfs(&a1.path)
        .args(["devices", "approve", "ffffffff-nope"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("unknown device"));
}

#[test]
fn recovery_heals_through_the_bundle_reply() {
    let (alice, bob, bob2) = (home(), home(), home());
    init(&alice);
    let (bob_phrase, bob_key, _) = init(&bob);
    pair_contacts(&alice, &bob);
    let e = send(&alice, "Bob", "before");
    assert_eq!(texts(&receive(&bob, &line(&e[0])).1), ["before"]);
    // Bob recovers on a new device (words in upper case and extra spaces are fine)
    let bob2_id = recover(&bob2, &format!("  {}\n", bob_phrase.to_uppercase()));
    let out = pfs(&bob2.path).args(["--json", "whoami"]).output().unwrap();
    let who = json1(&out.stdout);
    assert_eq!(who["visuals"]["public_key_string"], bob_key.as_str());
    let e = send(&alice, "Bob", "are you there?");
    let (ok, out, err) = receive(&bob2, &line(&e[0]));
    assert!(ok, "not addressed to the new device is not an error: {err}");
    assert!(err.contains("device not found"), "{err}");
    assert!(texts(&out).is_empty());
    let reply = replies(&out);
    assert!(!reply.is_empty());
    let (ok, out, err) = receive(&alice, &reply);
    assert!(ok, "{err}");
    assert_eq!(messages(&out)[0]["kind"], "bundle-only");
    let e = send(&alice, "Bob", "welcome back");
    assert!(
        e[0]["installations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i == bob2_id.as_str())
    );
    let (ok, out, err) = receive(&bob2, &line(&e[0]));
    assert!(ok, "{err}");
    assert_eq!(texts(&out), ["welcome back"]);
    let m = messages(&out)[0];
    assert_eq!(m["forward_secret"], true);
    assert_eq!(m["contact_request"], true, "bob2 has no contacts yet");
    pfs(&bob2.path)
        .args(["contacts", "accept", m["sender_zq3"].as_str().unwrap()])
        .assert()
        .success();
    let r = send(&bob2, m["sender"].as_str().unwrap(), "yes, new device");
    assert_eq!(r[0]["forward_secret"], true);
    assert_eq!(texts(&receive(&alice, &line(&r[0])).1), ["yes, new device"]);
}

#[test]
fn contact_request_by_chat_key_and_decline() {
    let (alice, bob) = (home(), home());
    init(&alice);
    let (_, bob_key, _) = init(&bob);
    // Alice knows only Bob's chat key: not forward secret
    pfs(&alice.path)
        .args(["contacts", "add", &bob_key, "--name", "Bob"])
        .assert()
        .success()
        .stdout(predicate::str::contains("NOT forward secret"));
    let e = send(&alice, "Bob", "hello stranger");
    assert_eq!(e[0]["forward_secret"], false);
    let (ok, out, err) = receive(&bob, &line(&e[0]));
    assert!(ok, "{err}");
    let m = messages(&out)[0];
    assert_eq!(m["text"], "hello stranger");
    assert_eq!(m["forward_secret"], false);
    assert_eq!(m["contact_request"], true);
    let alice_key = m["sender"].as_str().unwrap().to_owned();
    let out = pfs(&bob.path)
        .args(["--json", "contacts", "list"])
        .output()
        .unwrap();
    let list = json_lines(&out.stdout);
    assert_eq!(list[0]["state"], "request");
    assert_eq!(list[0]["visuals"]["public_key_string"], alice_key.as_str());
    pfs(&bob.path)
        .args(["contacts", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("[request]"))
        .stdout(predicate::str::contains("identicon"))
        .stdout(predicate::str::contains("--identity-data"));
    pfs(&bob.path)
        .args(["contacts", "decline", &alice_key])
        .assert()
        .success();
    // further messages are dropped (a note, not a failure)
    let e = send(&alice, "Bob", "please?");
    let (ok, out, err) = receive(&bob, &line(&e[0]));
    assert!(ok);
    assert!(texts(&out).is_empty());
    assert!(err.contains("declined"), "{err}");
    // a new contact request still reaches Bob
    let out = pfs(&alice.path)
        .args(["--json", "send", "--request", "--to", "Bob", "one more try"])
        .output()
        .unwrap();
    let (ok, out, _) = receive(&bob, &line(&json_lines(&out.stdout)[0]));
    assert!(ok);
    assert_eq!(texts(&out), ["one more try"]);
    assert_eq!(messages(&out)[0]["contact_request"], true);
}

#[test]
fn error_paths_are_explained() {
    let (alice, bob) = (home(), home());
    let (phrase, _, _) = init(&alice);
    init(&bob);
    // a home that does not exist
    let missing = alice.path.with_file_name("nowhere");
    pfs(&missing)
        .arg("whoami")
        .assert()
        .failure()
        .stderr(predicate::str::contains("no account in"))
        .stderr(predicate::str::contains("pfs init --home"));
    // wrong passphrase
    pfs(&alice.path)
        .env("PFS_PASSPHRASE", "wrong")
        .arg("whoami")
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!(
            "wrong passphrase for {}",
            alice.path.display()
        )));
    // init twice
    pfs(&alice.path)
        .arg("init")
        .assert()
        .failure()
        .stderr(predicate::str::contains("already holds an account"));
    // unknown contact: a valid key that is not a contact, and a name
    let (_, stranger, _) = init(&home());
    pfs(&alice.path)
        .args(["send", "--to", &stranger, "hi"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!(
            "unknown contact {stranger}"
        )));
    pfs(&alice.path)
        .args(["send", "--to", "Nobody", "hi"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("unknown contact Nobody"));
    pfs(&alice.path)
        .args(["contacts", "add", "definitely not a code"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "not a valid contact code nor a chat key",
        ));
    // corrupt messages: not base64, base64 of garbage, a truncated message
    pair_contacts(&alice, &bob);
    let e = send(&alice, "Bob", "x");
    let good = e[0]["waku_message"].as_str().unwrap();
    for bad in ["%%% not base64 %%%", "AAAA", &good[..good.len() / 2]] {
        pfs(&bob.path)
            .arg("receive")
            .write_stdin(format!("{bad}\n"))
            .assert()
            .failure()
            .stderr(predicate::str::contains("corrupt message"));
    }
    // a message for someone else is skipped, not an error
    pfs(&alice.path)
        .arg("receive")
        .write_stdin(format!("{good}\n"))
        .assert()
        .success()
        .stderr(predicate::str::contains("not for us"));
    // a good message after a corrupt one is still delivered; the exit says 1 failed
    pfs(&bob.path)
        .arg("receive")
        .write_stdin(format!("garbage\n{good}\n"))
        .assert()
        .failure()
        .stdout(predicate::str::contains("  x"))
        .stderr(predicate::str::contains("1 message(s) could not be read"));
    // a mnemonic with a wrong word names its position
    let mut words: Vec<&str> = phrase.split_whitespace().collect();
    words[4] = "notaword";
    let r = home();
    pfs(&r.path)
        .arg("recover")
        .write_stdin(words.join(" "))
        .assert()
        .failure()
        .stderr(predicate::str::contains("word 5"));
    assert!(!r.path.join("store.sqlite").exists(), "nothing created");
    // a wrong word count
    pfs(&r.path)
        .arg("recover")
        .write_stdin("abandon abandon")
        .assert()
        .failure()
        .stderr(predicate::str::contains("12 words"));
}

#[test]
fn pictures_and_codes() {
    let a = home();
    let (_, key, _) = init(&a);
    let png = a.path.join("id.png");
    let out = pfs(&a.path)
        .args(["--json", "identicon", &key, "--png"])
        .arg(&png)
        .output()
        .unwrap();
    assert!(out.status.success());
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let v = json1(&out.stdout);
    let (w, h, pixels) = pfs_identity::identicon::decode_png_rgba8(&bytes).unwrap();
    assert_eq!(pixels.len(), (w * h * 4) as usize);
    assert_eq!(v["visuals"]["public_key_string"], key.as_str());
    let qr = a.path.join("code.png");
    let svg = a.path.join("code.svg");
    pfs(&a.path)
        .args(["contact-code", "--qr", "--png"])
        .arg(&qr)
        .arg("--svg")
        .arg(&svg)
        .assert()
        .success()
        .stdout(predicate::str::contains("█"));
    assert!(std::fs::read(&qr).unwrap().starts_with(b"\x89PNG"));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    // identity data from the shared reference directory, when present
    let data =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/identity-data");
    if data.is_dir() {
        let out = pfs(&a.path)
            .arg("--json")
            .arg("--identity-data")
            .arg(&data)
            .arg("whoami")
            .output()
            .unwrap();
        let v = json1(&out.stdout);
        assert_eq!(
            v["visuals"]["alias"].as_str().unwrap().split(' ').count(),
            3
        );
        assert_eq!(v["visuals"]["emoji_hash"].as_array().unwrap().len(), 14);
    }
}

#[test]
fn every_command_help_has_an_example() {
    let cmds: &[&[&str]] = &[
        &[],
        &["init"],
        &["recover"],
        &["whoami"],
        &["contact-code"],
        &["identicon"],
        &["contacts", "add"],
        &["contacts", "list"],
        &["contacts", "accept"],
        &["contacts", "decline"],
        &["contacts", "rename"],
        &["devices", "list"],
        &["devices", "approve"],
        &["devices", "disable"],
        &["devices", "announce"],
        &["send"],
        &["receive"],
        &["sessions"],
        &["node"],
        &["chat"],
        &["demo"],
    ];
    for c in cmds {
        let mut cmd = Command::cargo_bin("pfs").unwrap();
        cmd.args(*c).arg("--help");
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{c:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Example") || text.contains("pfs --home"),
            "{c:?} --help has no example:\n{text}"
        );
    }
}

#[test]
fn demo_passes_every_check() {
    Command::cargo_bin("pfs")
        .unwrap()
        .env("NO_COLOR", "1")
        .arg("demo")
        .assert()
        .success()
        .stdout(predicate::str::contains("every check passed"))
        .stdout(predicate::str::contains("0 failed"));
}

/// Kills the node process when the test ends, even on failure.
#[test]
fn send_and_receive_through_a_node_with_history() {
    let (alice, bob, node_home) = (home(), home(), home());
    init(&alice);
    init(&bob);
    pair_contacts(&alice, &bob);
    let (node, addr) = start_node(&node_home.path, None);
    // Bob is offline while Alice sends: the store keeps the message
    pfs(&alice.path)
        .args(["send", "--to", "Bob", "--via", &addr, "over the network"])
        .assert()
        .success();
    let out = pfs(&bob.path)
        .args(["--json", "receive", "--via", &addr])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(texts(&json_lines(&out.stdout)), ["over the network"]);
    // fetched again from history, but not delivered twice
    let out = pfs(&bob.path)
        .args(["--json", "receive", "--via", &addr])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(texts(&json_lines(&out.stdout)).is_empty());
    // the same as light nodes: lightpush to the node, store + filter from it
    let out = pfs(&alice.path)
        .args([
            "--json",
            "send",
            "--to",
            "Bob",
            "--via",
            &addr,
            "--light",
            "light one",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let published: Vec<Value> = json_lines(&out.stdout)
        .into_iter()
        .filter(|o| o["type"] == "published")
        .collect();
    assert_eq!(published.len(), 1, "one message for Bob's one device");
    let out = pfs(&bob.path)
        .args(["--json", "receive", "--via", &addr, "--light"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(texts(&json_lines(&out.stdout)), ["light one"]);
    drop(node);
}

/// Issue 20: history is reachable through a relay peered with a store. S stores, R only
/// relays (and dials S); Bob's `receive --via R` finds S by peer exchange and prints what
/// Alice sent through R while he was offline (relay and light mode).
#[test]
fn receive_through_a_relay_gets_the_history_of_the_store_behind_it() {
    let (alice, bob, carol, s_home, r_home) = (home(), home(), home(), home(), home());
    init(&alice);
    init(&bob);
    init(&carol);
    pair_contacts(&alice, &bob);
    let (s_node, s_addr) = start_node_with(&s_home.path, &["--store"]);
    let (r_node, r_addr) = start_node_with(&r_home.path, &["--peer", &s_addr]);
    // ready once a receive through R reaches a store (Carol has nothing to read)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let out = pfs(&carol.path)
            .args(["receive", "--via", &r_addr])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.success() && !err.contains("no history fetched") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "R never led to S's store: {err}"
        );
    }
    for (mode, text) in [
        ("relay", "sent while Bob was away"),
        ("light", "and once more"),
    ] {
        // Bob is offline: only S keeps the message
        pfs(&alice.path)
            .args(["send", "--to", "Bob", "--via", &r_addr, text])
            .assert()
            .success();
        let mut args = vec!["--json", "receive", "--via", r_addr.as_str()];
        if mode == "light" {
            args.push("--light");
        }
        let out = pfs(&bob.path).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{mode}: {err}");
        assert!(!err.contains("no history fetched"), "{mode}: {err}");
        assert_eq!(texts(&json_lines(&out.stdout)), [text], "{mode}: {err}");
    }
    drop(r_node);
    drop(s_node);
}

/// Issue 20: `send --via` in relay mode stopped its node after a fixed 300 ms, so a message
/// still queued in gossipsub could be lost. Now the node stops once a store confirmed the
/// message by hash (here the node it dials, then a store found by peer exchange behind a
/// relay): every message sent is at once in the store, run after run.
#[test]
fn send_via_a_relay_node_stops_only_once_a_store_holds_the_message() {
    let (alice, bob, s_home, r_home) = (home(), home(), home(), home());
    init(&alice);
    init(&bob);
    pair_contacts(&alice, &bob);
    let (s_node, s_addr) = start_node_with(&s_home.path, &["--store"]);
    let (r_node, r_addr) = start_node_with(&r_home.path, &["--peer", &s_addr]);
    let mut expected = Vec::new();
    for round in 0..6 {
        // even rounds straight to the store; odd rounds through the relay in front of it
        let via = if round % 2 == 0 { &s_addr } else { &r_addr };
        let text = format!("round {round}");
        let out = pfs(&alice.path)
            .args(["--json", "send", "--to", "Bob", "--via", via, &text])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "round {round}: {err}");
        let lines = json_lines(&out.stdout);
        let delivery: Vec<&Value> = lines.iter().filter(|o| o["type"] == "delivery").collect();
        assert_eq!(delivery.len(), 1, "round {round}: {lines:?}");
        // the store (or the relay, before it learned of the store) vouched for it
        let confirmed = delivery[0]["confirmed"].as_str().unwrap();
        if round % 2 == 0 {
            assert_eq!(confirmed, "stored", "round {round}: {lines:?}");
        } else {
            assert!(
                confirmed == "stored" || confirmed == "relayed",
                "round {round}: {lines:?}"
            );
        }
        expected.push(text);
    }
    // everything is in S's store: Bob, who was offline throughout, reads it from S
    let out = pfs(&bob.path)
        .args(["--json", "receive", "--via", &s_addr])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let mut got = texts(&json_lines(&out.stdout));
    got.sort();
    assert_eq!(got, expected, "{err}");
    drop(r_node);
    drop(s_node);
}

#[test]
fn node_keeps_its_peer_id_and_prints_listen_lines_first() {
    use std::io::BufRead as _;
    let node_home = home();
    let first_line = || {
        let mut node = Child(
            std::process::Command::new(assert_cmd::cargo::cargo_bin("pfs"))
                .arg("--home")
                .arg(&node_home.path)
                .args([
                    "node",
                    "--listen",
                    "/ip4/127.0.0.1/tcp/0",
                    "--listen",
                    "/ip4/127.0.0.1/tcp/0/ws",
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        );
        let stdout = node.0.stdout.take().unwrap();
        let lines: Vec<String> = std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .take(3)
            .collect();
        drop(node);
        lines
    };
    let a = first_line();
    assert!(
        a[0].starts_with("listening on /ip4/127.0.0.1/tcp/"),
        "{a:?}"
    );
    assert!(
        a[1].starts_with("listening on /ip4/127.0.0.1/tcp/"),
        "{a:?}"
    );
    assert_eq!(
        a[..2].iter().filter(|l| l.contains("/ws/p2p/")).count(),
        1,
        "one TCP and one WebSocket address: {a:?}"
    );
    assert!(!a[2].starts_with("listening on"), "{a:?}");
    let peer = |l: &str| l.rsplit("/p2p/").next().unwrap().to_owned();
    let b = first_line();
    assert_eq!(peer(&a[0]), peer(&b[0]), "same node key, same peer id");
    assert!(
        peer(&a[0]).starts_with("16Uiu2"),
        "secp256k1 peer id as nwaku: {}",
        a[0]
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(node_home.path.join("node.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// Pairs a second device of Alice's (recovered) with the first; returns (a1 id, a2 id).
fn pair_devices(a1: &Home, a2: &Home) -> (String, String) {
    let (phrase, _, a1_id) = init(a1);
    let a2_id = recover(a2, &phrase);
    let out = pfs(&a2.path)
        .args(["--json", "devices", "announce"])
        .output()
        .unwrap();
    let (ok, out, err) = receive(a1, &line(&json1(&out.stdout)));
    assert!(ok, "{err}");
    let (ok, _, err) = receive(a2, &replies(&out));
    assert!(ok, "{err}");
    pfs(&a1.path)
        .args(["devices", "approve", &a2_id])
        .assert()
        .success();
    pfs(&a2.path)
        .args(["devices", "approve", &a1_id])
        .assert()
        .success();
    (a1_id, a2_id)
}

fn is_message_line(l: &str) -> bool {
    l.len() > 100
        && l.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c))
}

#[test]
fn receive_reports_a_non_utf8_line_and_goes_on() {
    let (alice, bob) = (home(), home());
    init(&alice);
    init(&bob);
    pair_contacts(&alice, &bob);
    let e1 = send(&alice, "Bob", "first");
    let e2 = send(&alice, "Bob", "second");
    let mut input = line(&e1[0]).into_bytes();
    input.extend_from_slice(b"\xff\xfe\x80 not text\n");
    input.extend_from_slice(line(&e2[0]).as_bytes());
    let out = pfs(&bob.path)
        .arg("receive")
        .write_stdin(input)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a bad line makes the exit status 1");
    assert!(
        stderr.contains("line 2") && stderr.contains("UTF-8"),
        "{stderr}"
    );
    assert!(stdout.contains("  first"), "{stdout}");
    assert!(
        stdout.contains("  second"),
        "later lines still read: {stdout}"
    );
}

#[test]
fn receive_keeps_bundle_replies_off_the_message_text() {
    let (alice, bob, bob2, bob3) = (home(), home(), home(), home());
    init(&alice);
    let (bob_phrase, _, _) = init(&bob);
    pair_contacts(&alice, &bob);
    recover(&bob2, &bob_phrase);
    recover(&bob3, &bob_phrase);
    let e = send(&alice, "Bob", "one");
    // text mode without --replies: no message line on stdout, the reply on stderr
    let out = pfs(&bob2.path)
        .arg("receive")
        .write_stdin(line(&e[0]))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.lines().any(is_message_line), "{stdout}");
    assert!(stderr.contains("# bundle reply"), "{stderr}");
    assert!(stderr.lines().any(is_message_line), "{stderr}");
    // with --replies FILE the reply lines go to the file, ready for `pfs receive`
    let e = send(&alice, "Bob", "two");
    let file = bob3.path.with_file_name("replies.waku");
    let out = pfs(&bob3.path)
        .args(["receive", "--replies"])
        .arg(&file)
        .write_stdin(line(&e[0]))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.lines().any(is_message_line), "{stdout}");
    let replies = std::fs::read_to_string(&file).unwrap();
    assert!(replies.lines().any(is_message_line), "{replies}");
    let (ok, out, err) = receive(&alice, &replies);
    assert!(ok, "{err}");
    assert_eq!(messages(&out)[0]["kind"], "bundle-only");
}

#[test]
fn own_key_is_neither_a_contact_nor_a_recipient_without_devices() {
    let alice = home();
    let (_, key, _) = init(&alice);
    let own_code = code(&alice);
    for c in [own_code.as_str(), key.as_str()] {
        pfs(&alice.path)
            .args(["contacts", "add", c, "--name", "Me"])
            .assert()
            .failure()
            .stderr(predicate::str::contains("your own key"));
    }
    let out = pfs(&alice.path)
        .args(["--json", "contacts", "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(json_lines(&out.stdout).is_empty(), "nothing stored");
    pfs(&alice.path)
        .args(["send", "--to", &key, "hi"])
        .assert()
        .failure()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("no paired device"));
}

#[test]
fn a_refused_oversized_send_prints_nothing() {
    let (alice, bob) = (home(), home());
    init(&alice);
    init(&bob);
    pair_contacts(&alice, &bob);
    // a Status text holds at most 4096 characters: refused before anything is encrypted
    pfs(&alice.path)
        .args(["send", "--to", "Bob"])
        .write_stdin("é".repeat(4097))
        .assert()
        .failure()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("at most 4096"));
    // bare-protocol messages are bounded by the network's message size
    for size in [150_000usize, 200_000] {
        let text = "x".repeat(size);
        pfs(&alice.path)
            .args(["--raw", "send", "--to", "Bob"])
            .write_stdin(text)
            .assert()
            .failure()
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains("→").not())
            .stderr(predicate::str::contains("over the limit"));
    }
    // a text that fits goes out
    let out = pfs(&alice.path)
        .args(["--raw", "send", "--to", "Bob"])
        .write_stdin("y".repeat(100_000))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!out.stdout.is_empty());
}

#[test]
fn receive_shows_the_send_time() {
    let (alice, bob) = (home(), home());
    init(&alice);
    init(&bob);
    pair_contacts(&alice, &bob);
    let e = send(&alice, "Bob", "when?");
    let out = pfs(&bob.path)
        .arg("receive")
        .write_stdin(line(&e[0]))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // the date part of the send time, computed the same way the tool does (UTC)
    let days = secs / 86_400;
    let year_now = 1970 + days / 365;
    assert!(
        stdout.contains(" UTC")
            && (stdout.contains(&format!("{year_now}-"))
                || stdout.contains(&format!("{}-", year_now - 1))),
        "{stdout}"
    );
    let (_, v, _) = receive(&bob, &line(&send(&alice, "Bob", "again")[0]));
    assert!(messages(&v)[0]["sent_unix_ms"].as_i64().unwrap() > 0);
}

#[test]
fn sync_copies_name_the_recipient_and_disabled_devices_show_as_disabled() {
    let (a1, a2, bob) = (home(), home(), home());
    let (_, a2_id) = pair_devices(&a1, &a2);
    init(&bob);
    pair_contacts(&a1, &bob);
    pfs(&a1.path)
        .args(["send", "--to", "Bob", "hello"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "your other devices (copy of your message to Bob",
        ));
    pfs(&a1.path)
        .args(["devices", "disable", &a2_id])
        .assert()
        .success();
    let out = pfs(&a1.path)
        .args(["--json", "devices", "list"])
        .output()
        .unwrap();
    let list = json_lines(&out.stdout);
    let d = list
        .iter()
        .find(|d| d["installation_id"] == a2_id.as_str())
        .unwrap();
    assert_eq!(d["state"], "disabled", "{list:?}");
    pfs(&a1.path)
        .args(["devices", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("disabled"))
        .stdout(predicate::str::contains("pending approval").not());
}

#[test]
fn contact_names_accept_and_rename() {
    let (alice, bob, carol, dave) = (home(), home(), home(), home());
    init(&alice);
    init(&bob);
    init(&carol);
    let (_, dave_key, _) = init(&dave);
    add(&alice, &code(&bob), "Bob");
    // a second contact with the same name is refused, nothing stored
    pfs(&alice.path)
        .args(["contacts", "add", &code(&carol), "--name", "bob"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("already named"));
    let out = pfs(&alice.path)
        .args(["--json", "contacts", "list"])
        .output()
        .unwrap();
    assert_eq!(json_lines(&out.stdout).len(), 1);
    // --force allows it
    pfs(&alice.path)
        .args(["contacts", "add", &code(&carol), "--name", "Bob", "--force"])
        .assert()
        .success();
    // rename
    pfs(&alice.path)
        .args(["contacts", "rename", "Bob", "Robert"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("several contacts"));
    let carol_key = {
        let out = pfs(&carol.path)
            .args(["--json", "whoami"])
            .output()
            .unwrap();
        json1(&out.stdout)["visuals"]["public_key_string"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    pfs(&alice.path)
        .args(["contacts", "rename", &carol_key, "Carol"])
        .assert()
        .success();
    pfs(&alice.path)
        .args(["contacts", "rename", "Carol", "Bob"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("already named"));
    // accept --name: a request from Dave, accepted and named at once
    add(&dave, &code(&alice), "Alice");
    let r = pfs(&dave.path)
        .args(["--json", "send", "--request", "--to", "Alice", "hi"])
        .output()
        .unwrap();
    let (ok, _, err) = receive(&alice, &line(&json_lines(&r.stdout)[0]));
    assert!(ok, "{err}");
    pfs(&alice.path)
        .args(["contacts", "accept", &dave_key, "--name", "Dave"])
        .assert()
        .success();
    let out = pfs(&alice.path)
        .args(["--json", "contacts", "list"])
        .output()
        .unwrap();
    let list = json_lines(&out.stdout);
    let names: Vec<_> = list
        .iter()
        .map(|c| c["name"].as_str().unwrap_or(""))
        .collect();
    assert!(
        names.contains(&"Carol") && names.contains(&"Dave"),
        "{names:?}"
    );
    let d = list.iter().find(|c| c["name"] == "Dave").unwrap();
    assert_eq!(d["state"], "accepted");
    let c = list.iter().find(|c| c["name"] == "Carol").unwrap();
    assert_eq!(c["state"], "added", "rename keeps the state");
}

#[test]
fn no_colour_codes_into_a_pipe() {
    let alice = home();
    init(&alice);
    let out = pfs(&alice.path)
        .env_remove("NO_COLOR")
        .arg("whoami")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains('\x1b'), "{stdout}");
}

#[test]
fn json_demo_prints_json() {
    let out = Command::cargo_bin("pfs")
        .unwrap()
        .env("NO_COLOR", "1")
        .args(["--json", "demo"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v = json_lines(&out.stdout);
    let last = v.last().unwrap();
    assert_eq!(last["type"], "summary");
    assert_eq!(last["failed"], 0);
    assert!(last["checks"].as_u64().unwrap() > 10);
    assert!(v.iter().any(|o| o["type"] == "check" && o["ok"] == true));
}

#[test]
fn errors_are_json_under_json() {
    let alice = home();
    init(&alice);
    let out = pfs(&alice.path)
        .args(["--json", "send", "--to", "Nobody", "hi"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let e = json1(&out.stderr);
    assert_eq!(e["type"], "error");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("unknown contact Nobody")
    );
    // receive: the notes and the final error are JSON on stderr too
    let out = pfs(&alice.path)
        .args(["--json", "receive"])
        .write_stdin("garbage\n")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let errs = json_lines(&out.stderr);
    assert_eq!(errs[0]["input"], "line 1");
    assert_eq!(errs.last().unwrap()["type"], "error");
}

#[test]
fn recovery_phrase_is_not_echoed_at_a_terminal() {
    // a pseudo-terminal through util-linux `script`; skipped where it is missing
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("no `script`: skipped");
        return;
    }
    let (a, b) = (home(), home());
    let (phrase, key, _) = init(&a);
    let bin = assert_cmd::cargo::cargo_bin("pfs");
    let cmd = format!("sleep 1; printf '%s\\n' '{phrase}'");
    let mut feeder = std::process::Command::new("sh")
        .args(["-c", &cmd])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let out = std::process::Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "{} --home {} recover",
            bin.display(),
            b.path.display()
        ))
        .arg("/dev/null")
        .env("PFS_PASSPHRASE", PASS)
        .env("NO_COLOR", "1")
        .stdin(feeder.stdout.take().unwrap())
        .output()
        .unwrap();
    feeder.wait().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&key), "recovered: {text}");
    assert!(!text.contains(&phrase), "the phrase was echoed: {text}");
}

#[test]
fn node_keeps_running_when_its_stdout_is_closed() {
    use std::io::BufRead as _;
    let node_home = home();
    let mut node = Child(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("pfs"))
            .arg("--home")
            .arg(&node_home.path)
            .arg("node")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut reader = std::io::BufReader::new(node.0.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(first.starts_with("listening on "), "{first}");
    // the reader took the address and left: the node must go on
    drop(reader);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        node.0.try_wait().unwrap().is_none(),
        "the node stopped when its stdout closed"
    );
}

#[test]
fn status_layer_by_default_and_bare_plaintexts_with_raw() {
    let (alice, bob) = (home(), home());
    init(&alice);
    init(&bob);
    pair_contacts(&alice, &bob);
    // default: a Status message (signed wrapper in MVDS), shown with its status-go id
    let e = send(&alice, "Bob", "status text");
    let (ok, out, err) = receive(&bob, &line(&e[0]));
    assert!(ok, "{err}");
    let m = messages(&out)[0];
    assert_eq!(m["text"], "status text");
    assert_eq!(m["layer"], "status");
    assert_eq!(m["id"].as_str().unwrap().len(), 66);
    assert_eq!(acks(&out).lines().count(), 1, "acknowledged");
    // --raw on both sides: the bare plaintext, no id, no acknowledgement
    let raw = pfs(&alice.path)
        .args(["--raw", "--json", "send", "--to", "Bob", "bare text"])
        .output()
        .unwrap();
    assert!(raw.status.success());
    let raw = json_lines(&raw.stdout);
    let out = pfs(&bob.path)
        .args(["--raw", "--json", "receive"])
        .write_stdin(line(&raw[0]))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v = json_lines(&out.stdout);
    assert_eq!(texts(&v), ["bare text"]);
    assert_eq!(messages(&v)[0]["layer"], "raw");
    assert!(acks(&v).is_empty());
    // a bare plaintext is not a Status message: refused by the default mode, as a Status
    // app would (the ratchet message itself is fine)
    let raw2 = pfs(&alice.path)
        .args(["--raw", "--json", "send", "--to", "Bob", "bare again"])
        .output()
        .unwrap();
    let (ok, v, err) = receive(&bob, &line(&json_lines(&raw2.stdout)[0]));
    assert!(!ok);
    assert!(texts(&v).is_empty());
    assert!(
        err.contains("ApplicationMetadataMessage") || err.contains("refused"),
        "{err}"
    );
}

#[test]
fn accepting_a_status_contact_request_tells_the_requester() {
    let (alice, bob) = (home(), home());
    init(&alice);
    init(&bob);
    // Alice has Bob's code, Bob knows nothing of Alice
    add(&alice, &code(&bob), "Bob");
    let out = pfs(&alice.path)
        .args([
            "--json",
            "send",
            "--to",
            "Bob",
            "--request",
            "hi, it's Alice",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let req = json_lines(&out.stdout);
    let (ok, got, err) = receive(&bob, &line(&req[0]));
    assert!(ok, "{err}");
    let m = messages(&got)[0];
    assert_eq!(m["text"], "hi, it's Alice");
    assert_eq!(m["contact_request"], true);
    let alice_key = m["sender"].as_str().unwrap().to_owned();
    // Bob accepts: the acceptance is printed for Alice
    let out = pfs(&bob.path)
        .args(["--json", "contacts", "accept", &alice_key])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_lines(&out.stdout);
    assert_eq!(v[0]["state"], "accepted");
    assert_eq!(v[0]["told"], true);
    let acceptance: String = v
        .iter()
        .filter(|o| o["type"] == "waku_message")
        .map(line)
        .collect();
    assert!(!acceptance.is_empty());
    let (ok, got, err) = receive(&alice, &acceptance);
    assert!(ok, "{err}");
    assert!(
        got.iter().any(|o| o["type"] == "contact_accepted"),
        "{got:?}"
    );
    // accepting again has nothing left to answer? it still names the request: no error
    let out = pfs(&bob.path)
        .args(["--json", "contacts", "accept", &alice_key])
        .output()
        .unwrap();
    assert!(out.status.success());
}

#[test]
fn a_refused_connection_and_a_wrong_peer_id_are_told_apart() {
    let (alice, bob, n1, n2) = (home(), home(), home(), home());
    init(&alice);
    init(&bob);
    pair_contacts(&alice, &bob);
    let (node1, addr1) = start_node(&n1.path, None);
    let (_node2, addr2) = start_node(&n2.path, None);
    // node 2's address with node 1's peer id: someone else answers
    let peer1 = addr1.rsplit('/').next().unwrap();
    let base2 = addr2.rsplit_once("/p2p/").unwrap().0;
    let wrong = format!("{base2}/p2p/{peer1}");
    pfs(&alice.path)
        .args(["send", "--to", "Bob", "--via", &wrong, "x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("its peer id is"));
    // node 1 stopped: its port refuses
    drop(node1);
    std::thread::sleep(std::time::Duration::from_millis(300));
    pfs(&alice.path)
        .args(["send", "--to", "Bob", "--via", &addr1, "x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("connection refused"));
}

#[test]
fn receive_follow_reports_a_lost_node_and_its_return() {
    use std::io::BufRead as _;
    let (bob, n) = (home(), home());
    init(&bob);
    // a fixed port, so that the node comes back at the same address (same key: same id)
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen = format!("/ip4/127.0.0.1/tcp/{port}");
    let (node, addr) = start_node(&n.path, Some(&listen));
    let mut follow = Child(
        std::process::Command::new(assert_cmd::cargo::cargo_bin("pfs"))
            .env("PFS_PASSPHRASE", PASS)
            .arg("--home")
            .arg(&bob.path)
            .args(["receive", "--via", &addr, "--follow"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let err = follow.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let wait_for = |what: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if l.contains(what) => return,
                Ok(_) => {}
                Err(_) => panic!("no line containing {what:?}"),
            }
        }
    };
    std::thread::sleep(std::time::Duration::from_secs(2));
    drop(node);
    wait_for("lost the connection");
    let (_back, addr2) = start_node(&n.path, Some(&listen));
    assert_eq!(addr2, addr, "same address and peer id");
    wait_for("reconnected");
}
