//! Every `--json` output of the CLI against the documented schema (the second JSON block of
//! `docs/json-rpc.md`): each command is run for real and every line it prints, on stdout
//! and the JSON lines on stderr, must have a documented `type`, every listed field with its
//! type, and no other field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::collections::BTreeSet;
use std::io::BufRead as _;
use std::path::Path;

use assert_cmd::Command;
use common::{PASS, conforms};
use serde_json::Value;
use tempfile::TempDir;

struct Checker {
    types: serde_json::Map<String, Value>,
    seen: BTreeSet<String>,
}

impl Checker {
    fn line(&mut self, what: &str, l: &str) -> Value {
        let v: Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{what}: not JSON: {l}: {e}"));
        let t = v["type"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no type: {l}"))
            .to_owned();
        let spec = self
            .types
            .get(&t)
            .unwrap_or_else(|| panic!("{what}: type {t:?} is not documented"));
        conforms(&v, spec, &format!("{what} {t}"));
        self.seen.insert(t);
        v
    }

    /// Runs a command; checks stdout lines and the JSON lines of stderr.
    fn run(&mut self, cmd: &mut Command, stdin: Option<&str>) -> (bool, Vec<Value>) {
        if let Some(s) = stdin {
            cmd.write_stdin(s.to_owned());
        }
        let out = cmd.output().unwrap();
        let what = format!("{cmd:?}");
        let mut v = Vec::new();
        for l in String::from_utf8_lossy(&out.stdout).lines() {
            if !l.trim().is_empty() {
                v.push(self.line(&what, l));
            }
        }
        for l in String::from_utf8_lossy(&out.stderr).lines() {
            if l.starts_with('{') {
                self.line(&format!("{what} (stderr)"), l);
            }
        }
        (out.status.success(), v)
    }
}

fn pfs(home: &Path) -> Command {
    let mut c = common::pfs(home);
    c.arg("--json");
    c
}

fn lines_of(v: &[Value], t: &str) -> String {
    v.iter()
        .filter(|o| o["type"] == t)
        .map(|o| o["waku_message"].as_str().unwrap().to_owned() + "\n")
        .collect()
}

#[test]
fn every_json_output_matches_the_documented_schema() {
    let mut c = Checker {
        types: common::cli_schema(),
        seen: BTreeSet::new(),
    };
    let dir = TempDir::new().unwrap();
    let (a, b, n) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("n"),
    );
    let (ok, acc) = c.run(pfs(&a).arg("init"), None);
    assert!(ok);
    let (ok, accb) = c.run(pfs(&b).arg("init"), None);
    assert!(ok);
    let phrase = acc[0]["mnemonic"].as_str().unwrap().to_owned();
    let b_key = accb[0]["chat_key"].as_str().unwrap().to_owned();
    c.run(pfs(&a).arg("whoami"), None);
    let (_, code_a) = c.run(pfs(&a).arg("contact-code"), None);
    let (_, code_b) = c.run(pfs(&b).arg("contact-code"), None);
    c.run(pfs(&a).args(["identicon", &b_key]), None);
    let code_a = code_a[0]["contact_code"].as_str().unwrap().to_owned();
    let code_b = code_b[0]["contact_code"].as_str().unwrap().to_owned();
    c.run(
        pfs(&a).args(["contacts", "add", &code_b, "--name", "Bob"]),
        None,
    );
    c.run(
        pfs(&b).args(["contacts", "add", &code_a, "--name", "Alice"]),
        None,
    );
    c.run(pfs(&a).args(["contacts", "list"]), None);
    c.run(pfs(&a).args(["contacts", "rename", "Bob", "Bobby"]), None);
    // a contact request, accepted with a name (and told)
    let (ok, req) = c.run(
        pfs(&a).args(["send", "--to", "Bobby", "--request", "hi"]),
        None,
    );
    assert!(ok);
    let (_, got) = c.run(
        pfs(&b).arg("receive"),
        Some(&lines_of(&req, "waku_message")),
    );
    let (_, acc) = c.run(pfs(&b).args(["contacts", "accept", "Alice"]), None);
    // Bob's acks and acceptance reach Alice: delivered, contact_accepted, contact_update
    let mut back = lines_of(&got, "waku_message");
    back.push_str(&lines_of(&acc, "waku_message"));
    c.run(pfs(&a).arg("receive"), Some(&back));
    // notes: garbage, a message for someone else
    c.run(pfs(&b).arg("receive"), Some("not base64!\n"));
    let (_, to_b) = c.run(pfs(&a).args(["send", "--to", "Bobby", "for bob"]), None);
    c.run(
        pfs(&a).arg("receive"),
        Some(&lines_of(&to_b, "waku_message")),
    );
    c.run(pfs(&a).arg("sessions"), None);
    // devices: a second installation of Alice announces itself, is approved, disabled
    let a2 = dir.path().join("a2");
    let mut rec = pfs(&a2);
    rec.arg("recover");
    c.run(&mut rec, Some(&phrase));
    let (_, ann) = c.run(pfs(&a2).args(["devices", "announce"]), None);
    c.run(
        pfs(&a).arg("receive"),
        Some(&lines_of(&ann, "waku_message")),
    );
    let (_, devs) = c.run(pfs(&a).args(["devices", "list"]), None);
    let other = devs
        .iter()
        .find(|d| d["state"] != "this device")
        .map(|d| d["installation_id"].as_str().unwrap().to_owned());
    if let Some(id) = other {
        c.run(pfs(&a).args(["devices", "approve", &id]), None);
        c.run(pfs(&a).args(["devices", "disable", &id]), None);
    }
    c.run(pfs(&b).args(["contacts", "decline", "Alice"]), None);
    // an error, and a warning about a loose home
    let (ok, _) = c.run(pfs(&a).args(["send", "--to", "Nobody", "x"]), None);
    assert!(!ok);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o755)).unwrap();
        c.run(pfs(&a).arg("whoami"), None);
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    // the network: a node, a publish
    let mut node = std::process::Command::new(assert_cmd::cargo::cargo_bin("pfs"))
        .env("PFS_PASSPHRASE", PASS)
        .arg("--home")
        .arg(&n)
        .args(["--json", "node", "--store"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let first = std::io::BufReader::new(node.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    let nv = c.line("pfs node", &first);
    let addr = nv["listen"][0].as_str().unwrap().to_owned();
    c.run(
        pfs(&a).args(["send", "--to", "Bobby", "--via", &addr, "over the network"]),
        None,
    );
    let _ = node.kill();
    let _ = node.wait();
    // the demo
    let (ok, _) = c.run(
        Command::cargo_bin("pfs").unwrap().args(["--json", "demo"]),
        None,
    );
    assert!(ok);
    // every documented type that these runs can produce was produced at least once
    for t in [
        "account",
        "whoami",
        "contact_code",
        "identicon",
        "contact_added",
        "contact",
        "contact_state",
        "device",
        "waku_message",
        "message",
        "delivered",
        "contact_accepted",
        "error",
        "skipped",
        "session",
        "node",
        "published",
        "delivery",
        "step",
        "say",
        "check",
        "summary",
    ] {
        assert!(c.seen.contains(t), "no {t} output seen; seen: {:?}", c.seen);
    }
}
