//! Fuzz target `app_layer`: see `pfs_fuzz::run_app_layer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pfs_fuzz::run_app_layer(data);
});
