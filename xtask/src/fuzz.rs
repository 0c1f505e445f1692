//! `cargo xtask fuzz [TARGET] [--seconds N]`: runs one or every cargo-fuzz target of
//! `fuzz/` (one after another) for N seconds each (default 60).
//!
//! * cargo-fuzz is used from `PATH` when present, otherwise installed once with
//!   `cargo install cargo-fuzz --locked --root target/tools`.
//! * Targets are built with the stable toolchain and `RUSTC_BOOTSTRAP=1` (AddressSanitizer);
//!   if that build fails, they are built and run without sanitizer (`-s none`).
//!   `CARGO_CACHE_RUSTC_INFO=0` avoids cargo reusing a failed target-info probe.
//! * The committed seed corpus `fuzz/corpus/<target>/` is only read; new inputs go to
//!   `fuzz/target/work-corpus/<target>/`, crashes to `fuzz/artifacts/<target>/`. Copy a
//!   crash into `fuzz/regressions/<target>/` once fixed: `cargo test -p pfs-fuzz` replays it.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn targets(root: &Path) -> Result<Vec<String>, String> {
    let dir = root.join("fuzz").join("fuzz_targets");
    let mut v = Vec::new();
    for e in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let p = e.map_err(|e| e.to_string())?.path();
        if p.extension().is_some_and(|x| x == "rs")
            && let Some(s) = p.file_stem().and_then(|s| s.to_str())
        {
            v.push(s.to_owned());
        }
    }
    v.sort();
    Ok(v)
}

/// A PATH with cargo-fuzz on it (installing it into `target/tools` if needed).
fn fuzz_path(root: &Path) -> Result<std::ffi::OsString, String> {
    let tools = root.join("target").join("tools");
    let bin = tools.join("bin");
    let mut paths = vec![bin.clone()];
    if let Some(p) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&p));
    }
    let path = std::env::join_paths(paths).map_err(|e| e.to_string())?;
    let found = Command::new("cargo")
        .args(["fuzz", "--version"])
        .env("PATH", &path)
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("xtask fuzz: installing cargo-fuzz into {}", tools.display());
        let st = Command::new("cargo")
            .args(["install", "cargo-fuzz", "--locked", "--root"])
            .arg(&tools)
            .status()
            .map_err(|e| format!("cargo install: {e}"))?;
        if !st.success() {
            return Err("cargo install cargo-fuzz failed".into());
        }
    }
    Ok(path)
}

fn cargo_fuzz(root: &Path, path: &std::ffi::OsStr, args: &[String]) -> Result<bool, String> {
    let st = Command::new("cargo")
        .arg("fuzz")
        .args(args)
        .current_dir(root)
        .env("PATH", path)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_CACHE_RUSTC_INFO", "0")
        .status()
        .map_err(|e| format!("cargo fuzz: {e}"))?;
    Ok(st.success())
}

/// Entry point.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let mut seconds: u64 = 60;
    let mut only = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--seconds needs a number")?;
            }
            t if !t.starts_with('-') && only.is_none() => only = Some(t.to_owned()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    let root = root();
    let all = targets(&root)?;
    let chosen: Vec<String> = match only {
        Some(t) if all.contains(&t) => vec![t],
        Some(t) => return Err(format!("unknown target `{t}` (have: {})", all.join(", "))),
        None => all,
    };
    let path = fuzz_path(&root)?;
    let mut failed = Vec::new();
    for t in &chosen {
        // sanitizer build first; without sanitizer if the toolchain refuses it
        let sanitizer: Vec<String> = if cargo_fuzz(&root, &path, &["build".into(), t.clone()])? {
            Vec::new()
        } else {
            eprintln!("xtask fuzz: ASan build of {t} failed, using -s none");
            vec!["-s".into(), "none".into()]
        };
        let work = root.join("fuzz").join("target").join("work-corpus").join(t);
        std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
        let seeds = root.join("fuzz").join("corpus").join(t);
        let mut a: Vec<String> = vec!["run".into()];
        a.extend(sanitizer);
        a.push(t.clone());
        a.push(work.display().to_string());
        a.push(seeds.display().to_string());
        a.push("--".into());
        a.push(format!("-max_total_time={seconds}"));
        a.push("-print_final_stats=1".into());
        eprintln!("xtask fuzz: {t} for {seconds} s");
        if !cargo_fuzz(&root, &path, &a)? {
            failed.push(t.clone());
        }
    }
    if failed.is_empty() {
        println!("fuzz: {} target(s) ran without a crash", chosen.len());
        Ok(ExitCode::SUCCESS)
    } else {
        println!("fuzz: crash or error in {}", failed.join(", "));
        Ok(ExitCode::FAILURE)
    }
}
