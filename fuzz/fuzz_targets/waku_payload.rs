//! Fuzz target `waku_payload`: see `pfs_fuzz::run_waku_payload`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pfs_fuzz::run_waku_payload(data);
});
