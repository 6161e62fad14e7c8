//! `systolic::npy::parse` on arbitrary bytes (see `systolic_fuzz::check_npy`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    systolic_fuzz::check_npy(data);
});
