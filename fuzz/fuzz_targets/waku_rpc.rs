//! Fuzz target `waku_rpc`: see `pfs_fuzz::run_waku_rpc`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pfs_fuzz::run_waku_rpc(data);
});
