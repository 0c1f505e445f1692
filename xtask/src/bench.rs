//! `cargo xtask bench [--no-run-benches]`: runs the criterion benchmarks of `pfs-bench`
//! (release), reads the medians from `target/criterion/<group>/<function>/base/estimates.json`
//! (`base` is criterion's default saved baseline), prints one table (ours, vodozemac, ratio),
//! writes it to `target/bench-report.md` and copies it, with the machine description and the
//! date, between the markers of `docs/performance.md`. Timing never fails the command: only a
//! failed build or a missing estimate does.
//!
//! A second run builds `pfs-bench` with the feature `libsecp256k1` (pfs-crypto's opt-in C
//! backend for ECDH, recovery, verification and decompression) and runs only the groups that
//! do secp256k1 work, saving them as the criterion baseline `libsecp256k1`; our functions are
//! then named `…+libsecp256k1` and vodozemac's are run again, so the extra rows
//! "(…, libsecp256k1 backend)" compare figures of one run. The baselines keep the two runs'
//! vodozemac figures apart (`new/` holds whichever ran last). With `--no-run-benches`, a
//! libsecp256k1 row whose estimates are not on disk is left out (with a note on stderr).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const BEGIN: &str = "<!-- bench-report:begin -->";
const END: &str = "<!-- bench-report:end -->";

/// Criterion's default saved baseline: the figures of the normal (k256) run.
const MAIN_BASELINE: &str = "base";
/// The baseline of the run built with `--features libsecp256k1`.
const LIBSECP_BASELINE: &str = "libsecp256k1";
/// Suffix of our function names in that run (see `crates/pfs-bench/benches/compare.rs`).
const LIBSECP_SUFFIX: &str = "+libsecp256k1";

/// How a row's figures are shown.
#[derive(Clone, Copy)]
enum Unit {
    /// Median time per iteration.
    Time,
    /// MiB/s of the given payload size (higher is better).
    Throughput(u64),
}

struct Row {
    item: &'static str,
    group: &'static str,
    ours: &'static str,
    theirs: Option<&'static str>,
    unit: Unit,
    /// Also shown for the libsecp256k1 run, with this item text.
    libsecp: Option<&'static str>,
}

const ROWS: &[Row] = &[
    row(
        "1. steady state, enc+dec 100 B (secp256k1)",
        "steady_100B",
        "pfs-secp256k1",
    ),
    row(
        "1. steady state, enc+dec 100 B (x25519)",
        "steady_100B",
        "pfs-x25519",
    ),
    Row {
        libsecp: Some("2. ping-pong A→B→A, 2 msgs (secp256k1, libsecp256k1 backend)"),
        ..row(
            "2. ping-pong A→B→A, 2 msgs (secp256k1)",
            "pingpong_100B",
            "pfs-secp256k1",
        )
    },
    row(
        "2. ping-pong A→B→A, 2 msgs (x25519)",
        "pingpong_100B",
        "pfs-x25519",
    ),
    Row {
        libsecp: Some("3. session establishment (secp256k1, libsecp256k1 backend)"),
        ..row(
            "3. session establishment (secp256k1)",
            "establish",
            "pfs-secp256k1",
        )
    },
    Row {
        libsecp: Some("3. session establishment (x25519, libsecp256k1 backend)"),
        ..row(
            "3. session establishment (x25519)",
            "establish",
            "pfs-x25519",
        )
    },
    row(
        "4. 1000-message gap, all 1001 (secp256k1)",
        "gap_1000",
        "pfs-secp256k1",
    ),
    row(
        "4. 1000-message gap, all 1001 (x25519)",
        "gap_1000",
        "pfs-x25519",
    ),
    Row {
        unit: Unit::Throughput(64 * 1024),
        ..row(
            "5. 64 KiB enc+dec, MiB/s (secp256k1)",
            "large_64KiB",
            "pfs-secp256k1",
        )
    },
    Row {
        unit: Unit::Throughput(64 * 1024),
        ..row(
            "5. 64 KiB enc+dec, MiB/s (x25519)",
            "large_64KiB",
            "pfs-x25519",
        )
    },
    Row {
        libsecp: Some("6. engine+SQLite enc+dec, NORMAL (libsecp256k1 backend)"),
        ..engine("6. engine+SQLite enc+dec, NORMAL", "normal")
    },
    engine(
        "6. engine+SQLite enc+dec, NORMAL + durable sends (default config)",
        "normal_durable_sends",
    ),
    Row {
        libsecp: Some("6. engine+SQLite enc+dec, FULL (libsecp256k1 backend)"),
        ..engine("6. engine+SQLite enc+dec, FULL", "full")
    },
    Row {
        libsecp: Some("6. engine+SQLite fan-out to 3 devices, NORMAL (libsecp256k1 backend)"),
        ..engine(
            "6. engine+SQLite fan-out to 3 devices, NORMAL",
            "fanout3_normal",
        )
    },
];

const fn row(item: &'static str, group: &'static str, ours: &'static str) -> Row {
    Row {
        item,
        group,
        ours,
        theirs: Some("vodozemac"),
        unit: Unit::Time,
        libsecp: None,
    }
}

const fn engine(item: &'static str, ours: &'static str) -> Row {
    Row {
        item,
        group: "engine_sqlite",
        ours,
        theirs: None,
        unit: Unit::Time,
        libsecp: None,
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Criterion's `estimates.json` of one function in one saved baseline.
fn estimates_path(target: &Path, baseline: &str, group: &str, function: &str) -> PathBuf {
    target
        .join("criterion")
        .join(group)
        .join(function)
        .join(baseline)
        .join("estimates.json")
}

/// Median in nanoseconds from criterion's `estimates.json` of the given saved baseline.
fn median_ns(target: &Path, baseline: &str, group: &str, function: &str) -> Result<f64, String> {
    let path = estimates_path(target, baseline, group, function);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    v.get("median")
        .and_then(|m| m.get("point_estimate"))
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| format!("{}: no median.point_estimate", path.display()))
}

fn fmt_time(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn mib_s(bytes: u64, ns: f64) -> f64 {
    // bytes per ns → MiB/s
    (bytes as f64 / ns) * 1e9 / (1024.0 * 1024.0)
}

fn show(unit: Unit, ns: f64) -> String {
    match unit {
        Unit::Time => fmt_time(ns),
        Unit::Throughput(b) => format!("{:.0} MiB/s", mib_s(b, ns)),
    }
}

/// One table line: ours and (when the row has one) vodozemac, both from `baseline`.
fn table_row(
    out: &mut String,
    target: &Path,
    baseline: &str,
    r: &Row,
    item: &str,
    ours_fn: &str,
) -> Result<(), String> {
    let ours = median_ns(target, baseline, r.group, ours_fn)?;
    let (theirs, ratio) = match r.theirs {
        Some(f) => {
            let t = median_ns(target, baseline, r.group, f)?;
            (show(r.unit, t), format!("{:.2}×", t / ours))
        }
        None => ("–".to_owned(), "–".to_owned()),
    };
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} |",
        item,
        show(r.unit, ours),
        theirs,
        ratio
    );
    Ok(())
}

/// Whether the libsecp256k1 rows must all be there (after a run) or are shown when their
/// estimates exist (`--no-run-benches`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum LibsecpRows {
    Required,
    IfPresent,
}

/// The markdown table from the estimates under `target`, and how many libsecp256k1 rows
/// were left out for lack of estimates.
fn table(target: &Path, libsecp: LibsecpRows) -> Result<(String, usize), String> {
    let mut missing = 0;
    let mut out = String::new();
    out.push_str(
        "| benchmark | pfs | vodozemac 0.11 | ratio (vodozemac ÷ pfs time; >1: pfs faster) |\n",
    );
    out.push_str("| --- | ---: | ---: | ---: |\n");
    for r in ROWS {
        table_row(&mut out, target, MAIN_BASELINE, r, r.item, r.ours)?;
        if let Some(item) = r.libsecp {
            let ours_fn = format!("{}{LIBSECP_SUFFIX}", r.ours);
            let present = [Some(ours_fn.as_str()), r.theirs]
                .into_iter()
                .flatten()
                .all(|f| estimates_path(target, LIBSECP_BASELINE, r.group, f).is_file());
            if present || libsecp == LibsecpRows::Required {
                table_row(&mut out, target, LIBSECP_BASELINE, r, item, &ours_fn)?;
            } else {
                missing += 1;
            }
        }
    }
    for m in pfs_bench::memory::sizes() {
        let _ = writeln!(
            out,
            "| 7. {} | {} B | {} B (encrypted pickle {} B) | {:.2}× |",
            m.item,
            m.ours,
            m.vodozemac,
            m.vodozemac_encrypted,
            m.vodozemac as f64 / m.ours.max(1) as f64
        );
    }
    Ok((out, missing))
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown date".to_owned());
    format!("{cpus} CPUs (nproc), {model}; {date}")
}

/// Replaces the text between the markers of `docs/performance.md` (creates the markers at
/// the end when missing).
fn update_doc(path: &Path, report: &str) -> Result<(), String> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{report}{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{block}{}", &old[..b], &old[e + END.len()..])
        }
        _ => format!("{old}\n{block}\n"),
    };
    std::fs::write(path, new).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The criterion filter (a regex on `group/function`) of the libsecp256k1 run: exactly the
/// functions its table rows read, i.e. ours with the suffix and vodozemac's of each row that
/// has a libsecp256k1 line (the benchmarks doing secp256k1 work).
fn libsecp_filter() -> String {
    let mut ids: Vec<String> = Vec::new();
    for r in ROWS.iter().filter(|r| r.libsecp.is_some()) {
        let ours = format!(
            "{}/{}{}",
            r.group,
            r.ours,
            LIBSECP_SUFFIX.replace('+', "\\+")
        );
        for id in std::iter::once(ours).chain(r.theirs.map(|t| format!("{}/{t}", r.group))) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    format!("^({})$", ids.join("|"))
}

/// `cargo bench -p pfs-bench --bench compare <cargo_args> -- <criterion_args>`.
fn cargo_bench(root: &Path, cargo_args: &[&str], criterion_args: &[&str]) -> Result<(), String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["bench", "-p", "pfs-bench", "--bench", "compare"])
        .args(cargo_args)
        .arg("--")
        .args(criterion_args)
        .status()
        .map_err(|e| format!("cannot run cargo bench: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "cargo bench {} failed: {status}",
            cargo_args.join(" ")
        ))
    }
}

/// Entry point. `--no-run-benches` only rebuilds the report from existing estimates.
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let root = workspace_root();
    let target = target_dir(&root);
    let run_benches = !args.iter().any(|a| a == "--no-run-benches");
    if run_benches {
        cargo_bench(&root, &[], &["--save-baseline", MAIN_BASELINE])?;
        cargo_bench(
            &root,
            &["--features", "libsecp256k1"],
            &["--save-baseline", LIBSECP_BASELINE, &libsecp_filter()],
        )?;
    }
    // Without a run, the libsecp256k1 rows are shown when that run's estimates are on disk.
    let libsecp = if run_benches {
        LibsecpRows::Required
    } else {
        LibsecpRows::IfPresent
    };
    let (table, missing) = table(&target, libsecp)?;
    if missing > 0 {
        eprintln!(
            "xtask bench: {missing} libsecp256k1 row(s) left out: no `{LIBSECP_BASELINE}` \
             criterion baseline for them under {}",
            target.display()
        );
    }
    let shown = ROWS
        .iter()
        .filter(|r| r.libsecp.is_some())
        .count()
        .saturating_sub(missing);
    let libsecp_note = if shown > 0 {
        " Rows marked \"libsecp256k1 backend\" come from a second run built with \
         `--features libsecp256k1` (pfs-crypto's opt-in C backend); their ratio uses \
         vodozemac's figure from that same run."
    } else {
        ""
    };
    let report = format!(
        "Machine: {}. Medians of criterion (`cargo xtask bench`).{libsecp_note}\n\n{table}",
        machine()
    );
    println!("{report}");
    let out = target.join("bench-report.md");
    std::fs::write(&out, &report).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    update_doc(&root.join("docs").join("performance.md"), &report)?;
    eprintln!(
        "xtask bench: wrote {} and docs/performance.md",
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The libsecp256k1 run selects every function its rows read, and nothing by prefix.
    #[test]
    fn libsecp_filter_selects_every_function_the_rows_read() {
        let filter = libsecp_filter();
        println!("{filter}");
        assert!(filter.starts_with("^(") && filter.ends_with(")$"));
        let alternatives: Vec<&str> = filter[2..filter.len() - 2].split('|').collect();
        for r in ROWS.iter().filter(|r| r.libsecp.is_some()) {
            let ours = format!("{}/{}\\+libsecp256k1", r.group, r.ours);
            assert!(alternatives.contains(&ours.as_str()), "{ours}");
            if let Some(t) = r.theirs {
                let theirs = format!("{}/{t}", r.group);
                assert!(alternatives.contains(&theirs.as_str()), "{theirs}");
            }
        }
    }
}
