//! Ctrl-C (SIGINT) and SIGTERM for a running sweep: counted, not fatal, so the sweep can stop
//! scheduling, decide what to do with its running points and leave the store consistent.

use std::sync::atomic::{AtomicUsize, Ordering};

static INTERRUPTS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTS.fetch_add(1, Ordering::SeqCst);
}

/// Count SIGINT and SIGTERM from now on instead of dying of them.
pub fn install() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: the handler only touches an atomic, which is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Interrupts received so far.
pub fn count() -> usize {
    INTERRUPTS.load(Ordering::SeqCst)
}
