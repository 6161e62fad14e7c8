//! What long work tells the person waiting for it: stages (a Verilator build, a co-simulation,
//! a tool run), and within a stage how much of a known total is done. The library reports
//! through [`Progress`]; the command line draws it (a bar or a spinner with the elapsed time on a
//! terminal, one line per stage otherwise, nothing with `--json`). A leaf.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set when the user asked to stop (the command line's Ctrl-C handler sets it); long loops
/// check it between steps and end with an error, removing what they had half written.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Ask every long loop to stop at its next check.
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Whether a stop was asked for.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// A receiver of progress reports. Every method has a default that ignores the report.
pub trait Progress {
    /// A new stage begins: `name` says what runs; `total` is its amount of work when known (the
    /// unit is the stage's own: instructions, cycles, bytes, iterations).
    fn stage(&mut self, _name: &str, _total: Option<u64>) {}
    /// `done` units of the current stage are finished (absolute, not an increment).
    fn set(&mut self, _done: u64) {}
    /// A detail of the current stage that replaces the previous one (a tool's iteration).
    fn detail(&mut self, _text: &str) {}
    /// A warning worth keeping on the screen (one line), whatever else is drawn.
    fn note(&mut self, _text: &str) {}
    /// The current stage has ended.
    fn end(&mut self) {}
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {}

/// Every stage and detail as one line to a function (the library's older line callbacks).
pub struct Lines<F: FnMut(&str)>(pub F);

impl<F: FnMut(&str)> Progress for Lines<F> {
    fn stage(&mut self, name: &str, total: Option<u64>) {
        match total {
            Some(t) => (self.0)(&format!("{name} ({t})")),
            None => (self.0)(name),
        }
    }
    fn detail(&mut self, text: &str) {
        (self.0)(text)
    }
    fn note(&mut self, text: &str) {
        (self.0)(text)
    }
}
