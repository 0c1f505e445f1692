//! Criterion benchmarks, ours and vodozemac side by side. Run through `cargo xtask bench`,
//! which reads the medians and prints the table. Group / function names are part of that
//! contract: `<group>/<pfs-secp256k1 | pfs-x25519 | vodozemac | ...>`.
//!
//! Built with the feature `libsecp256k1` (pfs-crypto's opt-in C backend), our functions are
//! named with the suffix [`BACKEND`] (`pfs-x25519+libsecp256k1`, `normal+libsecp256k1`, …)
//! and vodozemac's keep their names, so one run holds both figures for a ratio. xtask runs
//! that build with `--save-baseline libsecp256k1` and reads that baseline.
//!
//! `relay_1KiB` (8.) is end-to-end delivery through three pfs-node relay nodes on
//! 127.0.0.1: criterion times one message at a time, and a windowed burst timed by
//! `pfs_bench::relay` writes its percentiles to `target/criterion/relay_1KiB/pfs-burst.json`
//! (xtask runs js-waku's relay bench beside it and reads both).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use pfs_bench::engine::EnginePair;
use pfs_bench::ratchet::{self, EstablishFixture};
use pfs_bench::relay::{self, BURST_MESSAGES, BURST_WINDOW, RelayFixture};
use pfs_bench::{LARGE_LEN, SMALL, SUITES, olm};
use pfs_store::Synchronous;
use std::hint::black_box;
use std::time::Duration;
use vodozemac::olm::Account;

/// Suffix of our function names: which secp256k1 backend pfs-crypto was built with.
const BACKEND: &str = if cfg!(feature = "libsecp256k1") {
    "+libsecp256k1"
} else {
    ""
};

fn ours(name: &str) -> String {
    format!("pfs-{name}{BACKEND}")
}

/// An engine benchmark's name (ours, without the `pfs-` prefix).
fn engine_name(name: &str) -> String {
    format!("{name}{BACKEND}")
}

/// 1. Encrypt + decrypt of 100 B, same direction.
fn steady(c: &mut Criterion) {
    let mut g = c.benchmark_group("steady_100B");
    for (suite, name) in SUITES {
        let (mut a, mut b) = ratchet::pair(suite);
        g.bench_function(ours(name), |bn| {
            bn.iter(|| {
                let m = ratchet::send(&mut a, black_box(&SMALL));
                black_box(ratchet::recv(&mut b, &m))
            })
        });
    }
    let (mut a, mut b) = olm::pair();
    g.bench_function("vodozemac", |bn| {
        bn.iter(|| {
            let m = a.encrypt(black_box(SMALL)).unwrap();
            black_box(b.decrypt(&m).unwrap())
        })
    });
    g.finish();
}

/// 2. Ping-pong: A → B then B → A (two messages, each one a ratchet turn).
fn pingpong(c: &mut Criterion) {
    let mut g = c.benchmark_group("pingpong_100B");
    for (suite, name) in SUITES {
        let (mut a, mut b) = ratchet::pair(suite);
        g.bench_function(ours(name), |bn| {
            bn.iter(|| {
                let m = ratchet::send(&mut a, &SMALL);
                ratchet::recv(&mut b, &m);
                let m = ratchet::send(&mut b, &SMALL);
                black_box(ratchet::recv(&mut a, &m))
            })
        });
    }
    let (mut a, mut b) = olm::pair();
    g.bench_function("vodozemac", |bn| {
        bn.iter(|| {
            let m = a.encrypt(SMALL).unwrap();
            b.decrypt(&m).unwrap();
            let m = b.encrypt(SMALL).unwrap();
            black_box(a.decrypt(&m).unwrap())
        })
    });
    g.finish();
}

/// 3. Session establishment.
fn establish(c: &mut Criterion) {
    let mut g = c.benchmark_group("establish");
    let fx = EstablishFixture::new();
    for (suite, name) in SUITES {
        g.bench_function(ours(name), |bn| bn.iter(|| black_box(fx.establish(suite))));
    }
    let alice = Account::new();
    let mut bob = Account::new();
    g.bench_function("vodozemac", |bn| {
        bn.iter(|| black_box(olm::establish(&alice, &mut bob)))
    });
    g.finish();
}

/// 4. A 1000-message gap: the last message first, then the 999 skipped ones.
fn gap(c: &mut Criterion) {
    let mut g = c.benchmark_group("gap_1000");
    g.sample_size(10);
    for (suite, name) in SUITES {
        g.bench_function(ours(name), |bn| {
            bn.iter_batched(
                || ratchet::gap_fixture(suite),
                |(mut b, msgs)| {
                    let ok = ratchet::run_gap(&mut b, &msgs);
                    assert_eq!(ok, msgs.len());
                    b
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.bench_function("vodozemac", |bn| {
        bn.iter_batched(
            olm::gap_fixture,
            |(mut b, msgs)| {
                black_box(olm::run_gap(&mut b, &msgs));
                b
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// 5. 64 KiB encrypt + decrypt.
fn large(c: &mut Criterion) {
    let mut g = c.benchmark_group("large_64KiB");
    g.throughput(Throughput::Bytes(LARGE_LEN as u64));
    let pt = vec![0x5a; LARGE_LEN];
    for (suite, name) in SUITES {
        let (mut a, mut b) = ratchet::pair(suite);
        g.bench_function(ours(name), |bn| {
            bn.iter(|| {
                let m = ratchet::send(&mut a, &pt);
                black_box(ratchet::recv(&mut b, &m))
            })
        });
    }
    let (mut a, mut b) = olm::pair();
    g.bench_function("vodozemac", |bn| {
        bn.iter(|| {
            let m = a.encrypt(&pt).unwrap();
            black_box(b.decrypt(&m).unwrap())
        })
    });
    g.finish();
}

/// 6. The engine on SQLite: durable encrypt to one device + decrypt; fan-out to 3.
fn engine(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine_sqlite");
    g.sample_size(20);
    // The store's setting alone (durable sends off), then the default configuration,
    // whose sends are durable on a NORMAL store (one WAL sync per send).
    for (sync, durable_sends, name) in [
        (Synchronous::Normal, false, "normal"),
        (Synchronous::Full, false, "full"),
        (Synchronous::Normal, true, "normal_durable_sends"),
    ] {
        let mut p = EnginePair::new(sync, 1, durable_sends);
        g.bench_function(engine_name(name), |bn| bn.iter(|| p.round(&SMALL)));
    }
    let mut p = EnginePair::new(Synchronous::Normal, 3, false);
    g.bench_function(engine_name("fanout3_normal"), |bn| {
        bn.iter(|| p.round(&SMALL))
    });
    g.finish();
}

/// Row 8: two pfs users through one relay in the middle (A → M → B on 127.0.0.1): one
/// delivery per iteration (encrypt + seal + publish, receive + open + decrypt), then, once,
/// a windowed burst whose latency percentiles criterion cannot give. The nodes are started
/// (and the burst run) only when criterion's filter selects this benchmark.
fn relay_delivery(c: &mut Criterion) {
    let mut g = c.benchmark_group(relay::GROUP);
    g.throughput(Throughput::Elements(1));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(3));
    let mut fixture: Option<RelayFixture> = None;
    g.bench_function(engine_name("pfs"), |bn| {
        let f = fixture.get_or_insert_with(|| {
            let mut f = RelayFixture::start().unwrap();
            let report = f.burst(BURST_MESSAGES, BURST_WINDOW).unwrap();
            let path =
                relay::report_path(&relay::default_target_dir(), &format!("pfs-burst{BACKEND}"));
            report.write(&path).unwrap();
            eprintln!("relay burst: {} -> {}", report.to_json(), path.display());
            f
        });
        bn.iter(|| f.deliver_one().unwrap())
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(700))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = steady, pingpong, establish, gap, large, engine, relay_delivery
}
criterion_main!(benches);
