//! `cargo xtask bench [--quick] [--no-run-benches] [--only GROUP[,GROUP]...]`: runs the criterion benchmarks of `pfs-bench`
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
//!
//! Row 8 (criterion group `relay_1KiB`, see `pfs_bench::relay`): two pfs users through
//! three pfs-node relay nodes on 127.0.0.1. Criterion times one delivery at a time; the
//! benchmark also writes a windowed burst's throughput and p50/p99 latency to
//! `target/criterion/relay_1KiB/pfs-burst.json`. Right after the criterion run, in the same
//! command, xtask runs the js-waku reference with the same message count and window:
//! `node interop/relay.mjs --bench N --size 1024 --window W` (two js nodes connected
//! directly) and `crates/pfs-bench/js/relay-chain.mjs` (A → `relay.mjs --forward` → B, the
//! same topology as ours), each with window W and with window 1, and saves their JSON
//! lines next to ours (`js-*.json`). A js failure (no `node`, failed `npm ci`) never fails
//! the command: the js cells show "–" and the report says why.
//!
//! `--only GROUP` (a criterion group name or a prefix of one, e.g. `relay`; repeatable or
//! comma-separated) runs only those groups (and the js reference only with `relay_1KiB`),
//! skips the libsecp256k1 run unless a selected group has libsecp256k1 rows, builds the
//! table from whatever estimates are on disk (rows without estimates are left out) and
//! writes `target/bench-report.md` only, never `docs/performance.md`.
//!
//! The scale benchmark (`benches/scale.rs`, see `pfs_bench::scale`; pseudo-group `scale`
//! for `--only`) runs last: how each cost grows with sessions, skipped keys, archived
//! messages, devices and missed messages, at the sizes of issue 18 (`PFS_SCALE=default`) or,
//! with `--quick`, smaller ones. It writes `target/scale-report.md`, which replaces the block
//! between the scale markers of `docs/performance.md` whenever the scale benchmark ran
//! (also with `--only scale`: the block is its own) or, with `--no-run-benches`, when the
//! report is on disk.
//!
//! The relay-forward benchmark (`benches/relay_forward.rs`, see `pfs_bench::relay::forward`;
//! pseudo-group `relay_forward`, also selected by `--only relay`) runs after the main table
//! and before the scale benchmark: one middle relay node alone, in its own process, between
//! a publisher and a subscriber (pfs-node against `interop/relay.mjs --forward --quiet`,
//! alternating, in the same run), msgs/s forwarded and the middle node's CPU time per
//! message; `--quick` (`PFS_RELAY_FORWARD=quick`) sends fewer messages in one round. It
//! writes `target/relay-forward-report.md`, which replaces the block between the
//! relay-forward markers of `docs/performance.md` whenever it ran (also with `--only`: the
//! block is its own) or, with `--no-run-benches`, when the report is on disk.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use pfs_bench::relay::{self, BURST_MESSAGES, BURST_WINDOW, BurstReport, TEXT_LEN};

const BEGIN: &str = "<!-- bench-report:begin -->";
const END: &str = "<!-- bench-report:end -->";
const SCALE_BEGIN: &str = "<!-- scale-report:begin -->";
const SCALE_END: &str = "<!-- scale-report:end -->";

/// The `--only` name of the scale benchmark (not a criterion group).
const SCALE: &str = "scale";

const RELAY_FORWARD_BEGIN: &str = "<!-- relay-forward-report:begin -->";
const RELAY_FORWARD_END: &str = "<!-- relay-forward-report:end -->";
/// The `--only` name of the relay-forward benchmark (not a criterion group).
const RELAY_FORWARD: &str = "relay_forward";

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

/// Whether a kind of row must be there (after a run: a missing estimate is an error) or is
/// shown when its estimates exist (`--no-run-benches`, `--only`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Need {
    Required,
    IfPresent,
}

/// What the table must contain.
#[derive(Clone, Copy, Debug)]
struct Needs {
    /// Rows 1–6 from the main baseline.
    main: Need,
    /// The "(…, libsecp256k1 backend)" rows.
    libsecp: Need,
    /// Our figures of row 8 (criterion estimate and burst report). The js reference is
    /// never required: without it the cells show "–" and a note says why.
    relay: Need,
}

/// The markdown table and what it left out.
struct Table {
    text: String,
    /// Rows left out for lack of estimates (only when not required).
    missing: Vec<String>,
    /// Notes printed under the table (why a js cell is empty, mismatched parameters).
    notes: Vec<String>,
}

/// The markdown table from the estimates and burst reports under `target`.
fn table(target: &Path, needs: Needs) -> Result<Table, String> {
    let mut t = Table {
        text: String::new(),
        missing: Vec::new(),
        notes: Vec::new(),
    };
    t.text.push_str(
        "| benchmark | pfs | vodozemac 0.11 (row 8: js-waku relay) | ratio (>1: pfs faster; \
         vodozemac or js time ÷ pfs time; row 8 msgs/s: pfs ÷ js) |\n",
    );
    t.text.push_str("| --- | ---: | ---: | ---: |\n");
    for r in ROWS {
        let present = [Some(r.ours), r.theirs]
            .into_iter()
            .flatten()
            .all(|f| estimates_path(target, MAIN_BASELINE, r.group, f).is_file());
        if present || needs.main == Need::Required {
            table_row(&mut t.text, target, MAIN_BASELINE, r, r.item, r.ours)?;
        } else {
            t.missing.push(r.item.to_owned());
        }
        if let Some(item) = r.libsecp {
            let ours_fn = format!("{}{LIBSECP_SUFFIX}", r.ours);
            let present = [Some(ours_fn.as_str()), r.theirs]
                .into_iter()
                .flatten()
                .all(|f| estimates_path(target, LIBSECP_BASELINE, r.group, f).is_file());
            if present || needs.libsecp == Need::Required {
                table_row(&mut t.text, target, LIBSECP_BASELINE, r, item, &ours_fn)?;
            } else {
                t.missing.push(item.to_owned());
            }
        }
    }
    for m in pfs_bench::memory::sizes() {
        let _ = writeln!(
            t.text,
            "| 7. {} | {} B | {} B (encrypted pickle {} B) | {:.2}× |",
            m.item,
            m.ours,
            m.vodozemac,
            m.vodozemac_encrypted,
            m.vodozemac as f64 / m.ours.max(1) as f64
        );
    }
    relay_rows(&mut t, target, needs.relay)?;
    Ok(t)
}

/// Criterion function of our sequential relay delivery (group [`relay::GROUP`]).
const RELAY_OURS: &str = "pfs";
/// File stem of our burst report.
const RELAY_BURST: &str = "pfs-burst";

/// One js-waku reference run of row 8, saved as `target/criterion/relay_1KiB/<file>.json`.
struct JsRun {
    file: &'static str,
    /// A → `relay.mjs --forward` → B (`crates/pfs-bench/js/relay-chain.mjs`) rather than
    /// `relay.mjs --bench` (A and B connected directly).
    chain: bool,
    window: usize,
    /// How the row names it.
    label: &'static str,
}

const JS_DIRECT_W: JsRun = JsRun {
    file: "js-direct",
    chain: false,
    window: BURST_WINDOW,
    label: "js: two nodes, no middle relay",
};
const JS_DIRECT_1: JsRun = JsRun {
    file: "js-direct-w1",
    chain: false,
    window: 1,
    label: "js: two nodes, no middle relay, window 1",
};
const JS_CHAIN_W: JsRun = JsRun {
    file: "js-chain",
    chain: true,
    window: BURST_WINDOW,
    label: "js: A → js relay → B, like for like",
};
const JS_CHAIN_1: JsRun = JsRun {
    file: "js-chain-w1",
    chain: true,
    window: 1,
    label: "js: A → js relay → B, window 1",
};
const JS_RUNS: [&JsRun; 4] = [&JS_DIRECT_W, &JS_DIRECT_1, &JS_CHAIN_W, &JS_CHAIN_1];

fn msgs(v: f64) -> String {
    format!("{v:.0} msgs/s")
}

fn ms(v: f64) -> String {
    format!("{v:.2} ms")
}

/// A js reference report, or why there is none (added to the notes once).
fn js_report(target: &Path, run: &JsRun, notes: &mut Vec<String>) -> Option<BurstReport> {
    let path = relay::report_path(target, run.file);
    let why = match std::fs::read_to_string(&path) {
        Err(_) => format!("no js result at {}", path.display()),
        Ok(text) => match serde_json::from_str::<serde_json::Value>(text.trim()) {
            Ok(v) if v.get("event").and_then(|e| e.as_str()) == Some("error") => v
                .get("error")
                .and_then(|e| e.as_str())
                .unwrap_or("unknown error")
                .to_owned(),
            Ok(v) => match BurstReport::from_json(&v) {
                Ok(r) => {
                    if r.messages != BURST_MESSAGES || r.window != run.window {
                        notes.push(format!(
                            "{}: js ran {} messages with window {}, ours {BURST_MESSAGES} \
                             with window {}.",
                            run.file, r.messages, r.window, run.window
                        ));
                    }
                    return Some(r);
                }
                Err(e) => e.to_string(),
            },
            Err(e) => format!("{}: {e}", path.display()),
        },
    };
    notes.push(format!("js reference `{}` not available: {why}.", run.file));
    None
}

/// Row 8: ours (criterion median per delivery, burst report) against the js references.
fn relay_rows(t: &mut Table, target: &Path, need: Need) -> Result<(), String> {
    const ITEM: &str = "8. relay delivery 1 KiB through one relay, msgs/s";
    let seq_path = estimates_path(target, MAIN_BASELINE, relay::GROUP, RELAY_OURS);
    let burst_path = relay::report_path(target, RELAY_BURST);
    if need == Need::IfPresent && !(seq_path.is_file() && burst_path.is_file()) {
        t.missing.push(format!("{ITEM} (all row 8 lines)"));
        return Ok(());
    }
    let seq_ns = median_ns(target, MAIN_BASELINE, relay::GROUP, RELAY_OURS)?;
    let ours = BurstReport::read(&burst_path).map_err(|e| e.to_string())?;
    if ours.messages != BURST_MESSAGES || ours.window != BURST_WINDOW {
        t.notes.push(format!(
            "Our burst report has {} messages with window {}, not {BURST_MESSAGES} with \
             window {BURST_WINDOW}.",
            ours.messages, ours.window
        ));
    }
    // Little's law: how full our window was, hence what our latencies are
    if let Some(f) = ours.mean_in_flight
        && f < ours.window as f64 / 2.0
    {
        let sender_us = ours.stages_us.as_ref().map(|s| {
            ["encrypt", "seal", "publish"]
                .iter()
                .filter_map(|k| s.get(*k).and_then(|v| v.as_f64()))
                .sum::<f64>()
        });
        t.notes.push(format!(
            "Row 8 latencies: our burst had {f:.1} messages in flight on average (of \
             {} allowed): Alice's sending{} is the bottleneck, so our p50/p99 are the latency \
             of one delivery, while js fills its window (its p50 ≈ window ÷ msgs/s) and its \
             latencies are mostly queueing. The window-1 lines compare one delivery with \
             one delivery.",
            ours.window,
            sender_us.map_or_else(String::new, |us| format!(
                " (encrypt + seal + publish, {us:.0} µs per message)"
            )),
        ));
    }
    let seq = 1e9 / seq_ns;
    let mut line = |item: &str, pfs: String, js: Option<String>, ratio: Option<f64>| {
        let _ = writeln!(
            t.text,
            "| {item} | {pfs} | {} | {} |",
            js.unwrap_or_else(|| "–".to_owned()),
            ratio.map_or_else(|| "–".to_owned(), |r| format!("{r:.2}×"))
        );
    };
    let mut notes = Vec::new();
    for run in [&JS_DIRECT_W, &JS_CHAIN_W] {
        let js = js_report(target, run, &mut notes);
        line(
            &format!(
                "{ITEM} (windowed burst: {BURST_MESSAGES} msgs, ≤{BURST_WINDOW} in flight); {}",
                run.label
            ),
            msgs(ours.msgs_per_sec),
            js.as_ref().map(|j| msgs(j.msgs_per_sec)),
            js.as_ref().map(|j| ours.msgs_per_sec / j.msgs_per_sec),
        );
        for (p, o, j) in [
            ("p50", ours.p50_ms, js.as_ref().map(|j| j.p50_ms)),
            ("p99", ours.p99_ms, js.as_ref().map(|j| j.p99_ms)),
        ] {
            line(
                &format!("8. … {p} latency, same burst; {}", run.label),
                ms(o),
                j.map(ms),
                j.map(|j| j / o),
            );
        }
    }
    for run in [&JS_DIRECT_1, &JS_CHAIN_1] {
        let js = js_report(target, run, &mut notes);
        line(
            &format!("{ITEM}, one at a time (criterion median); {}", run.label),
            format!("{} ({} each)", msgs(seq), fmt_time(seq_ns)),
            js.as_ref().map(|j| {
                format!(
                    "{} ({} mean)",
                    msgs(j.msgs_per_sec),
                    ms(1e3 / j.msgs_per_sec)
                )
            }),
            js.as_ref().map(|j| seq / j.msgs_per_sec),
        );
    }
    t.notes.extend(notes);
    Ok(())
}

/// CPUs, CPU model and the date (the scale report's header says the same).
fn machine() -> String {
    pfs_bench::scale::machine()
}

/// Replaces the text between the markers of `docs/performance.md` (creates the markers at
/// the end when missing).
fn update_doc(path: &Path, report: &str) -> Result<(), String> {
    update_block(path, BEGIN, END, report)
}

/// Replaces the text between `begin` and `end` in `path` (appends both when missing).
fn update_block(path: &Path, begin: &str, end: &str, report: &str) -> Result<(), String> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{begin}\n{report}{end}");
    let new = match (old.find(begin), old.find(end)) {
        (Some(b), Some(e)) if b < e => {
            format!("{}{block}{}", &old[..b], &old[e + end.len()..])
        }
        _ => format!("{old}\n{block}\n"),
    };
    std::fs::write(path, new).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Every criterion group of `benches/compare.rs`, in table order.
fn groups() -> Vec<&'static str> {
    let mut g: Vec<&'static str> = Vec::new();
    for r in ROWS {
        if !g.contains(&r.group) {
            g.push(r.group);
        }
    }
    g.push(relay::GROUP);
    g.push(RELAY_FORWARD);
    g.push(SCALE);
    g
}

/// The criterion filter (a regex on `group/function`) of the libsecp256k1 run: exactly the
/// functions its table rows read, i.e. ours with the suffix and vodozemac's of each row that
/// has a libsecp256k1 line (the benchmarks doing secp256k1 work), restricted to `only`'s
/// groups when given; `None` when that leaves nothing to run.
fn libsecp_filter(only: Option<&[&str]>) -> Option<String> {
    let mut ids: Vec<String> = Vec::new();
    let selected = |g: &str| only.is_none_or(|o| o.contains(&g));
    for r in ROWS
        .iter()
        .filter(|r| r.libsecp.is_some() && selected(r.group))
    {
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
    (!ids.is_empty()).then(|| format!("^({})$", ids.join("|")))
}

/// `PFS_SCALE=<mode> cargo bench -p pfs-bench --bench scale`: the scale benchmark, which
/// writes `target/scale-report.md`.
fn cargo_bench_scale(root: &Path, quick: bool) -> Result<(), String> {
    cargo_bench_moded(root, "scale", "PFS_SCALE", quick)
}

/// `<mode_var>=quick|default cargo bench -p pfs-bench --bench <bench>`.
fn cargo_bench_moded(root: &Path, bench: &str, mode_var: &str, quick: bool) -> Result<(), String> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .env(mode_var, if quick { "quick" } else { "default" })
        .args(["bench", "-p", "pfs-bench", "--bench", bench])
        .status()
        .map_err(|e| format!("cannot run cargo bench: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo bench --bench {bench} failed: {status}"))
    }
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

/// `--timeout-ms` of every js reference run (each takes a few seconds).
const JS_TIMEOUT_MS: &str = "90000";

/// Installs `interop/node_modules` with `npm ci` when it is missing.
fn ensure_interop_deps(root: &Path) -> Result<(), String> {
    if root.join("interop").join("node_modules").is_dir() {
        return Ok(());
    }
    eprintln!("xtask bench: interop/node_modules missing, running npm ci --prefix interop");
    let status = Command::new("npm")
        .current_dir(root)
        .args(["ci", "--prefix", "interop"])
        .status()
        .map_err(|e| format!("cannot run npm: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("npm ci --prefix interop failed: {status}"))
    }
}

/// Runs one js reference and returns its `{"event":"bench",...}` line.
fn run_js(root: &Path, run: &JsRun) -> Result<serde_json::Value, String> {
    let interop = root.join("interop");
    let mut cmd = Command::new("node");
    cmd.current_dir(&interop);
    if run.chain {
        // bare imports resolve from interop/node_modules when the module is given with -e
        // from interop/ (see the script's header)
        let script = root.join("crates/pfs-bench/js/relay-chain.mjs");
        let src = std::fs::read_to_string(&script)
            .map_err(|e| format!("cannot read {}: {e}", script.display()))?;
        cmd.args(["--input-type=module", "-e", &src, "--"]);
    } else {
        cmd.arg("relay.mjs");
    }
    cmd.args([
        "--bench",
        &BURST_MESSAGES.to_string(),
        "--size",
        &TEXT_LEN.to_string(),
        "--window",
        &run.window.to_string(),
        "--timeout-ms",
        JS_TIMEOUT_MS,
    ]);
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run node: {e}"))?;
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let event = |v: &serde_json::Value, e: &str| v.get("event").and_then(|x| x.as_str()) == Some(e);
    if let Some(b) = lines.iter().find(|v| event(v, "bench")) {
        BurstReport::from_json(b).map_err(|e| e.to_string())?;
        return Ok(b.clone());
    }
    let err = lines
        .iter()
        .rev()
        .find(|v| event(v, "error"))
        .and_then(|v| v.get("error"))
        .and_then(|e| e.as_str())
        .unwrap_or("no bench line");
    Err(format!("node {} exited {}: {err}", run.file, out.status))
}

/// Runs every js reference of row 8 and saves each result (or the reason it has none) under
/// `target/criterion/relay_1KiB/`. Never fails: the table shows what is missing.
fn run_js_references(root: &Path, target: &Path) {
    let deps = ensure_interop_deps(root);
    for run in JS_RUNS {
        let path = relay::report_path(target, run.file);
        let line = match deps.clone().and_then(|()| run_js(root, run)) {
            Ok(v) => {
                eprintln!("xtask bench: js {}: {v}", run.file);
                v
            }
            Err(e) => {
                eprintln!("xtask bench: js reference {} failed: {e}", run.file);
                serde_json::json!({ "event": "error", "error": e })
            }
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = std::fs::write(&path, format!("{line}\n")) {
            eprintln!("xtask bench: cannot write {}: {e}", path.display());
        }
    }
}

/// Command-line options.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    run_benches: bool,
    /// `--quick`: the scale benchmark's small sizes.
    quick: bool,
    /// `--only`: the selected criterion groups.
    only: Option<Vec<&'static str>>,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let all = groups();
    let mut run_benches = true;
    let mut quick = false;
    let mut only: Option<Vec<&'static str>> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let names = if a == "--no-run-benches" {
            run_benches = false;
            continue;
        } else if a == "--quick" {
            quick = true;
            continue;
        } else if a == "--only" {
            it.next()
                .ok_or("--only needs a group name")?
                .as_str()
                .to_owned()
        } else if let Some(v) = a.strip_prefix("--only=") {
            v.to_owned()
        } else {
            return Err(format!(
                "unknown bench option `{a}` (usage: cargo xtask bench [--quick] \
                 [--no-run-benches] [--only GROUP[,GROUP]...])"
            ));
        };
        for name in names.split(',').filter(|n| !n.is_empty()) {
            let matched: Vec<&'static str> = all
                .iter()
                .copied()
                .filter(|g| *g == name || g.starts_with(name))
                .collect();
            if matched.is_empty() {
                return Err(format!(
                    "--only {name}: no such benchmark group (groups: {})",
                    all.join(", ")
                ));
            }
            let sel = only.get_or_insert_with(Vec::new);
            for g in matched {
                if !sel.contains(&g) {
                    sel.push(g);
                }
            }
        }
    }
    Ok(Options {
        run_benches,
        quick,
        only,
    })
}

/// Entry point. `--no-run-benches` only rebuilds the report from existing estimates;
/// `--only` runs a subset (see the module documentation).
pub fn run(args: &[String]) -> Result<ExitCode, String> {
    let opts = parse_args(args)?;
    let root = workspace_root();
    let target = target_dir(&root);
    let scale = opts.only.as_deref().is_none_or(|o| o.contains(&SCALE));
    let forward = opts
        .only
        .as_deref()
        .is_none_or(|o| o.contains(&RELAY_FORWARD));
    // the criterion groups selected (`None`: all of them)
    let criterion_only: Option<Vec<&'static str>> = opts.only.as_ref().map(|o| {
        o.iter()
            .copied()
            .filter(|g| *g != SCALE && *g != RELAY_FORWARD)
            .collect()
    });
    if criterion_only.as_ref().is_some_and(Vec::is_empty) {
        // `--only scale` / `--only relay_forward`: no criterion group, no main table
        run_sections(&root, &target, &opts, forward, scale)?;
        return Ok(ExitCode::SUCCESS);
    }
    let only = criterion_only.as_deref();
    if opts.run_benches {
        let mut criterion_args = vec!["--save-baseline", MAIN_BASELINE];
        let filter = only.map(|o| format!("^({})/", o.join("|")));
        if let Some(f) = &filter {
            criterion_args.push(f);
        }
        cargo_bench(&root, &[], &criterion_args)?;
        // the js reference right after ours, in the same command (same machine state)
        if only.is_none_or(|o| o.contains(&relay::GROUP)) {
            run_js_references(&root, &target);
        }
        if let Some(f) = libsecp_filter(only) {
            cargo_bench(
                &root,
                &["--features", "libsecp256k1"],
                &["--save-baseline", LIBSECP_BASELINE, &f],
            )?;
        }
    }
    let needs = match (opts.run_benches, only) {
        (true, None) => Needs {
            main: Need::Required,
            libsecp: Need::Required,
            relay: Need::Required,
        },
        // without a run, the libsecp256k1 and relay rows are shown when their estimates
        // are on disk
        (false, None) => Needs {
            main: Need::Required,
            libsecp: Need::IfPresent,
            relay: Need::IfPresent,
        },
        (_, Some(_)) => Needs {
            main: Need::IfPresent,
            libsecp: Need::IfPresent,
            relay: Need::IfPresent,
        },
    };
    let t = table(&target, needs)?;
    if !t.missing.is_empty() {
        eprintln!(
            "xtask bench: {} row(s) left out for lack of estimates under {}: {}",
            t.missing.len(),
            target.display(),
            t.missing.join("; ")
        );
    }
    let libsecp_shown = ROWS
        .iter()
        .filter_map(|r| r.libsecp)
        .any(|item| !t.missing.iter().any(|m| m == item));
    let libsecp_note = if libsecp_shown {
        " Rows marked \"libsecp256k1 backend\" come from a second run built with \
         `--features libsecp256k1` (pfs-crypto's opt-in C backend); their ratio uses \
         vodozemac's figure from that same run."
    } else {
        ""
    };
    let relay_note = if t.text.contains("| 8. ") {
        format!(
            " Row 8 (see \"Network delivery\" below): pfs = three pfs-node relay nodes A → M → B \
             on 127.0.0.1, a {TEXT_LEN}-byte text encrypted by Alice's engine and sealed \
             (payload v1, ECIES, signed), opened and decrypted by Bob's; js-waku = \
             `interop/relay.mjs --bench` (two nodes, no middle relay) and \
             `crates/pfs-bench/js/relay-chain.mjs` (A → `relay.mjs --forward` → B), \
             {TEXT_LEN}-byte payloads without payload encryption, run by the same command right \
             after ours with the same message count and window."
        )
    } else {
        String::new()
    };
    let mut report = format!(
        "Machine: {}. Medians of criterion (`cargo xtask bench`).{libsecp_note}{relay_note}\n\n{}",
        machine(),
        t.text
    );
    if !t.notes.is_empty() {
        report.push('\n');
        for n in &t.notes {
            let _ = writeln!(report, "Note: {n}");
        }
    }
    println!("{report}");
    let out = target.join("bench-report.md");
    std::fs::write(&out, &report).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    if only.is_some() {
        eprintln!(
            "xtask bench: wrote {} (--only: docs/performance.md left as it is)",
            out.display()
        );
    } else {
        update_doc(&root.join("docs").join("performance.md"), &report)?;
        eprintln!(
            "xtask bench: wrote {} and docs/performance.md",
            out.display()
        );
    }
    run_sections(&root, &target, &opts, forward, scale)?;
    Ok(ExitCode::SUCCESS)
}

/// `PFS_RELAY_FORWARD=<mode> cargo bench -p pfs-bench --bench relay_forward`: the
/// relay-forward benchmark, which writes `target/relay-forward-report.md`.
fn cargo_bench_relay_forward(root: &Path, quick: bool) -> Result<(), String> {
    // the js middle node needs interop/node_modules; without it the report says so
    if let Err(e) = ensure_interop_deps(root) {
        eprintln!("xtask bench: relay-forward without the js middle node: {e}");
    }
    cargo_bench_moded(root, "relay_forward", "PFS_RELAY_FORWARD", quick)
}

/// Copies `target/relay-forward-report.md` between the relay-forward markers of
/// `docs/performance.md` (the benchmark printed it).
/// The sections after the criterion table: the relay-forward benchmark and the scale
/// benchmark, each run (unless only reports are rewritten) and copied into the docs.
fn run_sections(
    root: &Path,
    target: &Path,
    opts: &Options,
    forward: bool,
    scale: bool,
) -> Result<(), String> {
    if forward {
        if opts.run_benches {
            cargo_bench_relay_forward(root, opts.quick)?;
        }
        write_relay_forward(root, target)?;
    }
    if scale {
        if opts.run_benches {
            cargo_bench_scale(root, opts.quick)?;
        }
        write_scale(root, target)?;
    }
    Ok(())
}

fn write_relay_forward(root: &Path, target: &Path) -> Result<(), String> {
    let path = target.join("relay-forward-report.md");
    let report = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {} (run the relay-forward benchmark: cargo xtask bench --only \
             relay_forward): {e}",
            path.display()
        )
    })?;
    update_block(
        &root.join("docs").join("performance.md"),
        RELAY_FORWARD_BEGIN,
        RELAY_FORWARD_END,
        &report,
    )?;
    eprintln!("xtask bench: relay-forward report copied into docs/performance.md");
    Ok(())
}

/// Copies `target/scale-report.md` between the scale markers of `docs/performance.md`.
fn write_scale(root: &Path, target: &Path) -> Result<(), String> {
    let path = target.join("scale-report.md");
    let report = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read {} (run the scale benchmark: cargo xtask bench --only scale): {e}",
            path.display()
        )
    })?;
    update_block(
        &root.join("docs").join("performance.md"),
        SCALE_BEGIN,
        SCALE_END,
        &report,
    )?;
    eprintln!("xtask bench: scale report copied into docs/performance.md");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The libsecp256k1 run selects every function its rows read, and nothing by prefix.
    #[test]
    fn libsecp_filter_selects_every_function_the_rows_read() {
        let filter = libsecp_filter(None).unwrap();
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

    /// `--only` takes group names and prefixes, and restricts the libsecp256k1 run.
    #[test]
    fn only_selects_groups_by_name_or_prefix() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let o = parse_args(&args(&["--only", "relay"])).unwrap();
        assert_eq!(o.only, Some(vec![relay::GROUP, RELAY_FORWARD]));
        assert!(o.run_benches);
        assert_eq!(libsecp_filter(o.only.as_deref()), None);
        let o = parse_args(&args(&["--only=engine,establish", "--no-run-benches"])).unwrap();
        assert_eq!(o.only, Some(vec!["engine_sqlite", "establish"]));
        assert!(!o.run_benches);
        let f = libsecp_filter(o.only.as_deref()).unwrap();
        assert!(f.contains("engine_sqlite/") && f.contains("establish/"));
        assert!(!f.contains("pingpong"));
        assert!(parse_args(&args(&["--only", "nope"])).is_err());
        let o = parse_args(&args(&["--only", "scale", "--quick"])).unwrap();
        assert_eq!(o.only, Some(vec![SCALE]));
        assert!(o.quick);
        assert!(!parse_args(&[]).unwrap().quick);
        assert!(parse_args(&args(&["--bogus"])).is_err());
        assert_eq!(parse_args(&[]).unwrap().only, None);
    }
}
