//! Project automation for the pfs workspace.
//!
//! * `cargo xtask codegen [--check]`: regenerate the prost code of `proto/` into
//!   `crates/pfs-wire/src/generated/` (or fail when the checked-in code is stale);
//! * `cargo xtask vectors FILE...`: verify known-answer vector files (schema in
//!   `../shared/vectors/README.md`), printing `N passed, M failed, K skipped`;
//! * `cargo xtask bench`: benchmarks side by side with vodozemac (see `bench.rs`);
//! * `cargo xtask fuzz [TARGET] [--seconds N]`: run the cargo-fuzz targets of `fuzz/`.
#![forbid(unsafe_code)]

mod bench;
mod codegen;
mod fuzz;
mod vectors;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprintln!(
            "usage: cargo xtask <codegen [--check] | vectors FILE... | bench | fuzz [TARGET] [--seconds N]>"
        );
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    let result = match cmd.as_str() {
        "codegen" => codegen::run(rest),
        "vectors" => vectors::run(rest),
        "bench" => bench::run(rest),
        "fuzz" => fuzz::run(rest),
        other => Err(format!("unknown xtask command `{other}`")),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
