//! The scale benchmark (issue 18): how each cost grows with what the engine, its store and
//! the archive hold. Not criterion: every axis is a curve of 3–4 sizes timed by
//! `pfs_bench::scale` (medians and p99 of `Instant` samples), written as markdown tables to
//! `target/scale-report.md`, which `cargo xtask bench` copies into `docs/performance.md`.
//!
//! Sizes: `PFS_SCALE=default` (what `cargo xtask bench` sets) or quick (the default of a
//! bare `cargo bench --bench scale`, and `cargo xtask bench --quick`). The first free
//! argument selects axes by substring (`sessions`, `skipped`, `archive`, `fanout`,
//! `catchup`): `cargo bench -p pfs-bench --bench scale -- archive` (which writes
//! `target/scale-report-archive.md` instead).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use pfs_bench::relay::default_target_dir;
use pfs_bench::scale::{self, Mode};
use std::path::Path;

fn main() {
    // cargo passes `--bench`; the first other argument is the axis filter
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_default();
    let mode = Mode::from_env();
    let target = default_target_dir();
    let probe = Path::new(env!("CARGO_BIN_EXE_scale-probe"));
    let report = scale::run(mode, &target, probe, &filter);
    println!("{report}");
    // a partial run does not replace the full report that xtask copies
    let out = if filter.is_empty() {
        target.join("scale-report.md")
    } else {
        target.join(format!("scale-report-{filter}.md"))
    };
    std::fs::write(&out, &report).unwrap();
    eprintln!("scale: wrote {}", out.display());
}
