//! `Instr::decode` on arbitrary 64-bit words, re-encoding what decodes (see
//! `systolic_fuzz::check_isa_input`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    systolic_fuzz::check_isa_input(data);
});
