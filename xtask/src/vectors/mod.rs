//! `cargo xtask vectors FILE...`: verifies known-answer files in the schema of
//! `../shared/vectors/README.md` (and the envelope and identity-visual schemas).
//!
//! Each file is recognised by its shape and every section is dispatched to the module
//! that owns it. Every check is counted as passed or failed; a section this build cannot
//! verify yet is counted as skipped, never as passed.

use serde_json::Value;
use std::process::ExitCode;

pub mod flows;
pub mod identity;
pub mod ratchet;
pub mod replay;
pub mod report;
pub mod whisper;
pub mod x3dh;
pub use report::Report;

/// The string field `key` of `v`, or `"?"` (for naming cases in the report).
pub fn text_or_unknown<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("?")
}

/// Hex field helper: decodes `obj[key]` as lowercase hex.
pub fn hexf(v: &Value, key: &str) -> Result<Vec<u8>, String> {
    let s = v
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing hex field `{key}`"))?;
    hex::decode(s).map_err(|e| format!("field `{key}`: {e}"))
}

/// A list-or-object helper: primitives may be a single object or a list of cases.
pub fn cases(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

fn verify_file(path: &str, report: &mut Report) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let before = report.counts();
    if doc.get("runs").is_some() {
        whisper::verify(&doc, report);
    } else if doc.get("cases").is_some() && doc.get("upstream_test_keys").is_some() {
        identity::verify_at(&doc, std::path::Path::new(path), report);
    } else {
        if let Some(p) = doc.get("primitives") {
            verify_primitives(&doc, p, report);
        }
        ratchet::verify(&doc, report);
        if doc.get("flows").and_then(Value::as_array).is_some() {
            x3dh::verify(&doc, report);
            if doc.get("identities").is_some() {
                flows::verify_multidevice_file(&doc, report);
            } else {
                flows::verify_conversation_file(&doc, report);
            }
        }
    }
    let after = report.counts();
    println!(
        "{path}: {} passed, {} failed, {} skipped",
        after.0 - before.0,
        after.1 - before.1,
        after.2 - before.2
    );
    Ok(())
}

fn verify_primitives(doc: &Value, p: &Value, report: &mut Report) {
    if let Some(obj) = p.as_object() {
        for (name, v) in obj {
            match name.as_str() {
                n if ratchet::PRIMITIVES.contains(&n) => {}
                n if x3dh::PRIMITIVES.contains(&n) => x3dh::verify_primitive(doc, n, v, report),
                _ => report.skip(&format!("primitives.{name}"), "verifier not built yet"),
            }
        }
    }
}

pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    if files.is_empty() {
        return Err("usage: cargo xtask vectors FILE...".into());
    }
    let verbose = args.iter().any(|a| a == "--verbose" || a == "-v");
    let mut report = Report::new(verbose);
    for f in files {
        if let Err(e) = verify_file(f, &mut report) {
            report.fail(f, &e);
        }
    }
    report.print_failures();
    let (p, f, s) = report.counts();
    println!("{p} passed, {f} failed, {s} skipped");
    Ok(if f == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
