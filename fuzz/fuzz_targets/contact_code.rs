//! Fuzz target `contact_code`: see `pfs_fuzz::run_contact_code`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pfs_fuzz::run_contact_code(data);
});
