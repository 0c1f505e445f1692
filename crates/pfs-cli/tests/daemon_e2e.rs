//! Runs the Python end-to-end test of `pfs daemon` (`tests/e2e/daemon_e2e.py`, standard
//! library only) against this build's `pfs`, so that `cargo test` covers it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[test]
fn python_daemon_end_to_end() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/e2e/daemon_e2e.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_pfs"))
        .output()
        .expect("python3 is needed for the daemon end-to-end test");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "daemon e2e failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("each once"), "{stdout}");
}
