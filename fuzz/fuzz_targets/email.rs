#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Once;

fuzz_target!(|data: &[u8]| {
    // libFuzzer's panic hook aborts on every panic, even one that is caught. intake::email::parse
    // runs mail-parser under catch_unwind on purpose (docs/design-decisions.md, "Email"): a panic
    // in mail-parser refuses the message. Such panics are reported once and let through to that
    // catch_unwind; a panic anywhere else, ours included, still aborts as a crash. "In
    // mail-parser" means a frame of mail-parser on the stack, not just the panic's location: an
    // integer overflow inside it (`i64::abs` in its Received parser, found by this target)
    // panics in core. mail-parser calls none of our code, so its frames mean the panic is its own.
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let abort = std::panic::take_hook();
        let seen = Once::new();
        std::panic::set_hook(Box::new(move |info| {
            let in_mail_parser = info
                .location()
                .is_some_and(|l| l.file().contains("mail-parser-"))
                || std::backtrace::Backtrace::force_capture()
                    .to_string()
                    .contains("/mail-parser-");
            if in_mail_parser {
                seen.call_once(|| eprintln!("mail-parser panicked (caught, message refused): {info}"));
                return;
            }
            abort(info);
        }));
    });
    tipline::fuzzing::email(data);
});
