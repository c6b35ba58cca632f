//! Power-loss points for the crash tests (feature `fault-injection`, on in the default `sim`
//! build, never in a kiosk build): with `BIANMIN_UPDATE_KILL_AT=<step>` set, the process sends
//! itself SIGKILL at that step of an apply, the way a power cut would stop it.

/// The steps of an apply, in order.
pub const STEPS: [&str; 6] = [
    "downloaded",
    "unpacking",
    "unpacked",
    "linked",
    "switched",
    "recorded",
];

#[cfg(feature = "fault-injection")]
pub(crate) fn point(step: &str) {
    debug_assert!(STEPS.contains(&step));
    if std::env::var("BIANMIN_UPDATE_KILL_AT").is_ok_and(|s| s == step) {
        // SAFETY: kill(2) on our own pid has no memory effects; SIGKILL does not return.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn point(_step: &str) {}
