//! `cargo xtask codegen [--check]`: prost code from `proto/*.proto`, parsed by protox
//! (pure Rust, no `protoc` binary).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const PROTOS: &[&str] = &["encryption.proto", "waku.proto", "status_app.proto"];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn generate(out_dir: &Path) -> Result<(), String> {
    let root = workspace_root();
    let proto_dir = root.join("proto");
    let fds = protox::compile(PROTOS, [&proto_dir]).map_err(|e| format!("protox: {e}"))?;
    let mut cfg = prost_build::Config::new();
    cfg.out_dir(out_dir);
    cfg.compile_fds(fds)
        .map_err(|e| format!("prost-build: {e}"))?;
    // rustfmt the output so the checked-in code is stable and readable
    for entry in std::fs::read_dir(out_dir).map_err(|e| e.to_string())? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "rs") {
            let status = std::process::Command::new("rustfmt")
                .arg("--edition=2024")
                .arg(&path)
                .status()
                .map_err(|e| format!("rustfmt: {e}"))?;
            if !status.success() {
                return Err(format!("rustfmt failed on {}", path.display()));
            }
        }
    }
    Ok(())
}

pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let check = args.iter().any(|a| a == "--check");
    let target = workspace_root().join("crates/pfs-wire/src/generated");
    if check {
        let tmp = std::env::temp_dir().join(format!("pfs-codegen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
        generate(&tmp)?;
        let mut stale = Vec::new();
        for entry in std::fs::read_dir(&tmp).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path.file_name().map(|n| n.to_owned()).unwrap_or_default();
            let fresh = std::fs::read(&path).map_err(|e| e.to_string())?;
            let current = std::fs::read(target.join(&name)).unwrap_or_default();
            if fresh != current {
                stale.push(name.to_string_lossy().into_owned());
            }
        }
        let _ = std::fs::remove_dir_all(&tmp);
        if stale.is_empty() {
            println!("codegen: checked-in code is up to date");
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!(
                "codegen: stale generated code: {} (run `cargo xtask codegen`)",
                stale.join(", ")
            );
            Ok(ExitCode::FAILURE)
        }
    } else {
        std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
        generate(&target)?;
        println!("codegen: wrote {}", target.display());
        Ok(ExitCode::SUCCESS)
    }
}
