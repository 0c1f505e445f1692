//! Fuzz target `waku_message`: see `pfs_fuzz::run_waku_message`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pfs_fuzz::run_waku_message(data);
});
