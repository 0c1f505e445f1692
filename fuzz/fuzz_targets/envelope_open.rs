//! Fuzz target `envelope_open`: see `pfs_fuzz::run_envelope_open`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pfs_fuzz::run_envelope_open(data);
});
