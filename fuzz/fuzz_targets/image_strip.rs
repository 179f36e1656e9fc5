#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The image decoders run under catch_unwind in the server (intake::attachment::clean_file).
    tipline::fuzzing::let_caught_panics_through(&["/image-0."]);
    tipline::fuzzing::image_strip(data);
});
