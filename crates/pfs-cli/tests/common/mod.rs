//! Helpers shared by the end-to-end tests of the `pfs` binary: temporary homes, the command
//! with a passphrase, JSON lines, a node process, and the documented `--json` schema.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

pub const PASS: &str = "correct horse battery staple";

/// A home directory in a temporary directory (removed on drop).
pub struct Home {
    _dir: TempDir,
    pub path: PathBuf,
}

pub fn home() -> Home {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("home");
    Home { _dir: dir, path }
}

/// `pfs --home HOME` with the passphrase in the environment and no colours.
pub fn pfs(home: &Path) -> Command {
    let mut c = Command::cargo_bin("pfs").unwrap();
    c.env("PFS_PASSPHRASE", PASS)
        .env("NO_COLOR", "1")
        .env_remove("PFS_HOME")
        .env_remove("PFS_IDENTITY_DATA")
        .arg("--home")
        .arg(home);
    c
}

pub fn json_lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(out)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
        .collect()
}

pub fn json1(out: &[u8]) -> Value {
    let v = json_lines(out);
    assert_eq!(v.len(), 1, "expected one JSON object, got {v:?}");
    v.into_iter().next().unwrap()
}

/// The contact code of a home.
pub fn code(h: &Home) -> String {
    let out = pfs(&h.path).arg("contact-code").output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

pub fn add(h: &Home, code: &str, name: &str) {
    pfs(&h.path)
        .args(["contacts", "add", code, "--name", name])
        .assert()
        .success();
}

/// Makes `a` and `b` contacts of each other ("Alice" is `a` for `b`, "Bob" is `b`).
pub fn pair_contacts(a: &Home, b: &Home) {
    let (ca, cb) = (code(a), code(b));
    add(b, &ca, "Alice");
    add(a, &cb, "Bob");
}

/// The WakuMessage line of a `waku_message` JSON object.
pub fn line(env: &Value) -> String {
    env["waku_message"].as_str().unwrap().to_owned() + "\n"
}

/// Receives WakuMessage lines in JSON mode; returns (success, JSON objects, stderr).
pub fn receive(h: &Home, input: &str) -> (bool, Vec<Value>, String) {
    let out = pfs(&h.path)
        .args(["--json", "receive"])
        .write_stdin(input.to_owned())
        .output()
        .unwrap();
    (
        out.status.success(),
        json_lines(&out.stdout),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A child process killed on drop.
pub struct Child(pub std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `pfs node --store` on `home` (optionally on a fixed listen address); returns it
/// and its address.
pub fn start_node(home: &Path, listen: Option<&str>) -> (Child, String) {
    let mut args = vec!["--store"];
    if let Some(l) = listen {
        args.extend(["--listen", l]);
    }
    start_node_with(home, &args)
}

/// Starts `pfs node ARGS…` on `home`; returns it and its first address.
pub fn start_node_with(home: &Path, args: &[&str]) -> (Child, String) {
    use std::io::BufRead as _;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("pfs"));
    cmd.arg("--home").arg(home).arg("node").args(args);
    let mut node = Child(
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = node.0.stdout.take().unwrap();
    let addr = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("listening on ").map(str::to_owned))
        .expect("node prints its address");
    (node, addr)
}

/// The CLI's documented `--json` types: the JSON block after "`--json` outputs of the CLI"
/// in docs/json-rpc.md.
pub fn cli_schema() -> serde_json::Map<String, Value> {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/json-rpc.md"
    ))
    .unwrap();
    let part = &doc[doc
        .find("# `--json` outputs of the CLI")
        .expect("CLI section")..];
    let start = part.find("```json\n").unwrap() + "```json\n".len();
    let end = start + part[start..].find("```").unwrap();
    let v: Value = serde_json::from_str(&part[start..end]).unwrap();
    v["types"].as_object().unwrap().clone()
}

/// `value` matches `spec`: a type name (`?` nullable) or an object of fields, each listed
/// field present (unless nullable) with its type, no unlisted field.
pub fn conforms(value: &Value, spec: &Value, at: &str) {
    match spec {
        Value::String(t) => {
            let (t, nullable) = match t.strip_suffix('?') {
                Some(t) => (t, true),
                None => (t.as_str(), false),
            };
            if value.is_null() {
                assert!(nullable, "{at}: null");
                return;
            }
            let ok = match t {
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                "array" => value.is_array(),
                "object" => value.is_object(),
                other => panic!("unknown type {other} in the schema"),
            };
            assert!(ok, "{at}: {value} is not {t}");
        }
        Value::Object(fields) => {
            let obj = value
                .as_object()
                .unwrap_or_else(|| panic!("{at}: not an object"));
            for k in obj.keys() {
                assert!(
                    fields.contains_key(k),
                    "{at}: field {k:?} is not in docs/json-rpc.md"
                );
            }
            for (k, t) in fields {
                match obj.get(k) {
                    Some(v) => conforms(v, t, &format!("{at}.{k}")),
                    None => assert!(
                        t.as_str().is_some_and(|t| t.ends_with('?')),
                        "{at}: field {k:?} missing"
                    ),
                }
            }
        }
        other => panic!("bad schema entry {other}"),
    }
}

/// A JSON object the CLI printed matches its documented type.
pub fn documented(v: &Value) {
    let schema = cli_schema();
    let t = v["type"].as_str().unwrap_or_else(|| panic!("no type: {v}"));
    let spec = schema
        .get(t)
        .unwrap_or_else(|| panic!("type {t:?} is not in docs/json-rpc.md"));
    conforms(v, spec, t);
}
