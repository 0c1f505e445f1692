//! Fuzz target `engine_decrypt`: see `pfs_fuzz::run_engine_decrypt`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pfs_fuzz::run_engine_decrypt(data);
});
