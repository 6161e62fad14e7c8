//! `systolic::frame::Decoder` on arbitrary bytes in arbitrary chunks with resets, against a
//! reference decoder; `Frame::encode` / decode round trips (see
//! `systolic_fuzz::check_frame_input`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    systolic_fuzz::check_frame_input(data);
});
