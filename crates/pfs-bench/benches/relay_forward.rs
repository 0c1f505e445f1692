//! The relay-forward benchmark (issue 18, "Relay"): one middle node alone, pfs-node against
//! js-waku's relay, each in its own process between the same publisher and subscriber (see
//! `pfs_bench::relay::forward`). Not criterion: each figure is one timed burst; the rounds
//! alternate the two middle nodes. Writes `target/relay-forward-report.md` (copied into
//! `docs/performance.md` by `cargo xtask bench`) and `target/relay-forward.json`.
//!
//! Sizes: `PFS_RELAY_FORWARD=quick` (`cargo xtask bench --quick`) or the default.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use pfs_bench::relay::default_target_dir;
use pfs_bench::relay::forward::{self, Sizes};

fn main() {
    let sizes = Sizes::from_env();
    let target = default_target_dir();
    let exe = Path::new(env!("CARGO_BIN_EXE_relay-forward"));
    let (md, json) = forward::run(sizes, exe, &pfs_bench::scale::machine());
    println!("{md}");
    let (md_path, json_path) = forward::report_paths(&target);
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(&md_path, &md).unwrap();
    std::fs::write(&json_path, &json).unwrap();
    eprintln!(
        "relay-forward: wrote {} and {}",
        md_path.display(),
        json_path.display()
    );
}
