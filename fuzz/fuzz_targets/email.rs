#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // mail-parser runs under catch_unwind in the server (docs/design-decisions.md, "Email").
    tipline::fuzzing::let_caught_panics_through(&["/mail-parser-"]);
    tipline::fuzzing::email(data);
});
