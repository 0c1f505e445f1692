//! Fuzz target `wire_decode`: see `pfs_fuzz::run_wire_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pfs_fuzz::run_wire_decode(data);
});
