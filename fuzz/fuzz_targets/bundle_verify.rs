//! Fuzz target `bundle_verify`: see `pfs_fuzz::run_bundle_verify`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pfs_fuzz::run_bundle_verify(data);
});
