//! How many images are decoded at once, process-wide: web uploads and mail attachments share
//! it. One decode may take `attachment::MAX_DECODED_BYTES` and a resized copy, so with one per
//! upload slot four large photos at once could ask for about 2.5 GB; a blocking thread that
//! waits here holds only the file's bytes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};

/// Images decoded at the same time unless `TIPLINE_IMAGE_DECODES` says otherwise. Two keep both
/// cores of a small server busy.
pub const DECODE_SLOTS: usize = 2;

/// The gate every image decode goes through; `serve` sets its size from the configuration.
pub static DECODES: DecodeGate = DecodeGate::new(DECODE_SLOTS);

/// A counting semaphore for blocking threads (decoding runs on them, never on the runtime).
pub struct DecodeGate {
    in_use: Mutex<usize>,
    freed: Condvar,
    slots: AtomicUsize,
}

/// One decode's place; dropping it lets the next one in.
pub struct DecodeTurn<'a>(&'a DecodeGate);

impl DecodeGate {
    pub const fn new(slots: usize) -> Self {
        Self {
            in_use: Mutex::new(0),
            freed: Condvar::new(),
            slots: AtomicUsize::new(slots),
        }
    }

    /// Changes the number of slots (at least one); waiting decodes see it at once.
    pub fn set_slots(&self, slots: usize) {
        let _count = self.in_use.lock().unwrap_or_else(PoisonError::into_inner);
        self.slots.store(slots.max(1), Ordering::Relaxed);
        self.freed.notify_all();
    }

    /// Waits for a free slot. The lock is held only to count, never across a decode, so even a
    /// poisoned one holds a right count.
    pub fn enter(&self) -> DecodeTurn<'_> {
        let mut in_use = self.in_use.lock().unwrap_or_else(PoisonError::into_inner);
        while *in_use >= self.slots.load(Ordering::Relaxed) {
            in_use = self
                .freed
                .wait(in_use)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *in_use += 1;
        DecodeTurn(self)
    }

    /// Decodes running now.
    pub fn in_use(&self) -> usize {
        *self.in_use.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for DecodeTurn<'_> {
    fn drop(&mut self) {
        let mut in_use = self.0.in_use.lock().unwrap_or_else(PoisonError::into_inner);
        *in_use -= 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread::JoinHandle;

    /// A decode started on another thread, which reports the decodes running once it is in.
    /// It must still be waiting after a while: a gate that let it through reports at once.
    fn waiting_decode(gate: &'static DecodeGate) -> (JoinHandle<()>, mpsc::Receiver<usize>) {
        let (entered, entries) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let _turn = gate.enter();
            entered.send(gate.in_use()).ok();
        });
        let early = entries.recv_timeout(std::time::Duration::from_millis(300));
        assert!(early.is_err(), "a decode ran beside full slots: {early:?}");
        (thread, entries)
    }

    #[test]
    fn a_third_decode_waits_until_one_of_two_ends() {
        static GATE: DecodeGate = DecodeGate::new(2);
        let first = GATE.enter();
        let second = GATE.enter();
        let (third, entries) = waiting_decode(&GATE);
        assert_eq!(GATE.in_use(), 2);
        drop(first);
        let seen = entries.recv().unwrap();
        assert_eq!(seen, 2, "the third took the freed slot, not a third one");
        third.join().unwrap();
        drop(second);
        assert_eq!(GATE.in_use(), 0);
    }

    #[test]
    fn widening_the_gate_lets_a_waiting_decode_in() {
        static GATE: DecodeGate = DecodeGate::new(1);
        let first = GATE.enter();
        let (second, entries) = waiting_decode(&GATE);
        GATE.set_slots(2);
        let seen = entries.recv().unwrap();
        assert_eq!(seen, 2, "both decodes run once there are two slots");
        second.join().unwrap();
        drop(first);
        GATE.set_slots(0);
        drop(GATE.enter()); // zero means one: never a gate nobody passes
    }
}
