//! The status-go replay of `cargo xtask vectors`, under `cargo test`: every known-answer file
//! in `../shared/vectors/` (recorded by running status-go's own code) is verified by this
//! build's xtask binary, which must report no failure.

#[test]
fn every_status_go_vector_file_verifies() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors");
    let Ok(entries) = std::fs::read_dir(dir) else {
        // a checkout without the shared ground truth next to it (CI always has it)
        eprintln!("no {dir}: skipped");
        return;
    };
    let mut files: Vec<std::path::PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no vector files in {dir}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("vectors")
        .args(&files)
        .output()
        .unwrap_or_else(|e| panic!("cannot run xtask: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "xtask vectors failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // the last line is the total: "N passed, 0 failed, K skipped"
    let total = stdout.lines().last().unwrap_or_default();
    let passed: usize = total
        .split(" passed")
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no total in {total:?}"));
    assert!(passed > 0, "{total}");
    assert!(total.contains(", 0 failed"), "{total}");
}
