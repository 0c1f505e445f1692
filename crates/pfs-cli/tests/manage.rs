//! `pfs contacts remove|block|unblock` and `pfs sessions reset` (issue 20), end to end
//! through WakuMessage lines (pipes) between homes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use assert_cmd::Command;
use common::*;
use predicates::prelude::*;
use serde_json::Value;

fn init(h: &Home) -> String {
    let out = pfs(&h.path).args(["--json", "init"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json1(&out.stdout)["chat_key"].as_str().unwrap().to_owned()
}

/// Runs a `--json` command that must succeed; returns its JSON objects (each checked
/// against the documented schema).
fn run_json(h: &Home, args: &[&str]) -> Vec<Value> {
    let out = pfs(&h.path).arg("--json").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json_lines(&out.stdout);
    v.iter().for_each(documented);
    v
}

/// Sends and returns the WakuMessage lines (JSON mode).
fn send(h: &Home, to: &str, text: &str, request: bool) -> String {
    let mut args = vec!["send", "--to", to, text];
    if request {
        args.push("--request");
    }
    run_json(h, &args)
        .iter()
        .filter(|o| o["type"] == "waku_message")
        .map(|o| o["waku_message"].as_str().unwrap().to_owned() + "\n")
        .collect()
}

fn messages(v: &[Value]) -> Vec<&Value> {
    v.iter()
        .filter(|o| o["type"] == "message" && o["kind"] == "direct")
        .collect()
}

fn texts(v: &[Value]) -> Vec<String> {
    messages(v)
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

/// Every WakuMessage a `receive` printed (acknowledgements, bundle replies).
fn sent_back(v: &[Value]) -> usize {
    v.iter().filter(|o| o["type"] == "waku_message").count()
}

fn contacts(h: &Home) -> Vec<Value> {
    run_json(h, &["contacts", "list"])
}

fn sessions(h: &Home) -> Vec<Value> {
    run_json(h, &["sessions"])
}

/// Alice and Bob, contacts of each other, having exchanged a message each way.
fn talking() -> (Home, Home) {
    let (alice, bob) = (home(), home());
    init(&alice);
    init(&bob);
    pair_contacts(&alice, &bob);
    let (ok, out, err) = receive(&bob, &send(&alice, "Bob", "hello", false));
    assert!(ok, "{err}");
    assert_eq!(texts(&out), ["hello"]);
    let (ok, out, err) = receive(&alice, &send(&bob, "Alice", "hi", false));
    assert!(ok, "{err}");
    assert_eq!(texts(&out), ["hi"]);
    (alice, bob)
}

#[test]
fn remove_forgets_the_contact_and_keeps_the_session() {
    let (alice, bob) = talking();
    let v = run_json(&bob, &["contacts", "remove", "Alice"]);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["type"], "contact_removed");
    assert_eq!(v[0]["sessions_kept"], 1);
    assert!(contacts(&bob).is_empty());
    // the name is gone: it no longer resolves
    pfs(&bob.path)
        .args(["contacts", "remove", "Alice"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("unknown contact"));
    // her next message is read (the session was kept) and is a contact request again
    let (ok, out, err) = receive(&bob, &send(&alice, "Bob", "still there?", false));
    assert!(ok, "{err}");
    assert_eq!(texts(&out), ["still there?"]);
    let m = messages(&out)[0];
    assert_eq!(m["contact_request"], true);
    assert_eq!(m["forward_secret"], true);
    let list = contacts(&bob);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["state"], "request");
    assert_eq!(list[0]["name"], Value::Null);
    // human output says what was kept
    let key = list[0]["visuals"]["public_key_string"]
        .as_str()
        .unwrap()
        .to_owned();
    pfs(&bob.path)
        .args(["contacts", "accept", &key])
        .assert()
        .success();
    pfs(&bob.path)
        .args(["contacts", "remove", &key])
        .assert()
        .success()
        .stdout(predicate::str::contains("removed"))
        .stdout(predicate::str::contains("session(s) are kept"));
}

#[test]
fn block_drops_messages_and_requests_until_unblocked() {
    let (alice, bob) = talking();
    let v = run_json(&bob, &["contacts", "block", "Alice"]);
    assert_eq!(v[0]["type"], "contact_state");
    assert_eq!(v[0]["state"], "blocked");
    let list = contacts(&bob);
    assert_eq!(list[0]["state"], "blocked");
    assert_eq!(list[0]["name"], "Alice", "blocking keeps the name");
    // a message and a contact request are both dropped: a note, no text, nothing sent back
    for request in [false, true] {
        let (ok, out, err) = receive(&bob, &send(&alice, "Bob", "let me in", request));
        assert!(ok, "a dropped message is not a failure: {err}");
        assert!(texts(&out).is_empty(), "{out:?}");
        assert_eq!(sent_back(&out), 0, "no ack, no bundle reply: {out:?}");
        assert!(
            out.iter()
                .any(|o| o["type"] == "dropped" && o["note"].as_str().unwrap().contains("blocked")),
            "{out:?}"
        );
    }
    assert_eq!(contacts(&bob)[0]["state"], "blocked");
    // unblock: "added" again, and her messages are read
    let v = run_json(&bob, &["contacts", "unblock", "Alice"]);
    assert_eq!(v[0]["state"], "added");
    pfs(&bob.path)
        .args(["contacts", "unblock", "Alice"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("not blocked"));
    let (ok, out, err) = receive(&bob, &send(&alice, "Bob", "welcome back?", false));
    assert!(ok, "{err}");
    assert_eq!(texts(&out), ["welcome back?"]);
    assert_eq!(contacts(&bob)[0]["state"], "added");
}

#[test]
fn a_stranger_can_be_blocked_by_chat_key() {
    let (carol, bob) = (home(), home());
    let carol_key = init(&carol);
    let bob_key = init(&bob);
    pfs(&bob.path)
        .args(["contacts", "block", &carol_key])
        .assert()
        .success()
        .stdout(predicate::str::contains("blocked"));
    pfs(&carol.path)
        .args(["contacts", "add", &bob_key, "--name", "Bob"])
        .assert()
        .success();
    let (ok, out, err) = receive(&bob, &send(&carol, "Bob", "spam", true));
    assert!(ok, "{err}");
    assert!(texts(&out).is_empty());
    assert_eq!(sent_back(&out), 0);
    let list = contacts(&bob);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["state"], "blocked");
    // our own key is refused
    pfs(&bob.path)
        .args(["contacts", "block", &bob_key])
        .assert()
        .failure()
        .stderr(predicate::str::contains("own key"));
}

#[test]
fn sessions_reset_then_a_new_session_round_trip() {
    let (alice, bob) = talking();
    assert_eq!(sessions(&alice).len(), 1);
    let v = run_json(&alice, &["sessions", "reset", "Bob"]);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["type"], "sessions_reset");
    assert_eq!(v[0]["reset"], 1);
    assert_eq!(v[0]["next_forward_secret"], true);
    assert_eq!(v[0]["sessions"][0]["we_initiated"], true);
    assert!(sessions(&alice).is_empty(), "no session with Bob left");
    assert!(run_json(&alice, &["sessions", "list"]).is_empty());
    // the next message starts a new X3DH session, which replaces Bob's copy
    let (ok, out, err) = receive(&bob, &send(&alice, "Bob", "fresh start", false));
    assert!(ok, "{err}");
    assert_eq!(texts(&out), ["fresh start"]);
    assert_eq!(messages(&out)[0]["forward_secret"], true);
    assert_eq!(sessions(&alice).len(), 1);
    let (ok, out, err) = receive(&alice, &send(&bob, "Alice", "works", false));
    assert!(ok, "{err}");
    assert_eq!(texts(&out), ["works"]);
    let (ok, out, err) = receive(&bob, &send(&alice, "Bob", "and on", false));
    assert!(ok, "{err}");
    assert_eq!(texts(&out), ["and on"]);
    // human output names what was reset; with nothing left, it says so
    pfs(&bob.path)
        .args(["sessions", "reset", "Alice"])
        .assert()
        .success()
        .stdout(predicate::str::contains("reset session with Alice"))
        .stdout(predicate::str::contains("reset it too"));
    pfs(&bob.path)
        .args(["sessions", "reset", "Alice"])
        .assert()
        .success()
        .stdout(predicate::str::contains("no sessions with Alice"));
}

#[test]
fn new_commands_have_an_example() {
    for c in [
        &["contacts", "remove"][..],
        &["contacts", "block"],
        &["contacts", "unblock"],
        &["sessions"],
        &["sessions", "list"],
        &["sessions", "reset"],
    ] {
        let out = Command::cargo_bin("pfs")
            .unwrap()
            .args(c)
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "{c:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("Example"),
            "{c:?} --help has no example:\n{text}"
        );
    }
}
