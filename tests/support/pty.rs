//! Pseudo-terminal pairs: the test plays the device on the master side; the code under test opens
//! the slave's path like any serial port.

use std::os::fd::{FromRawFd, OwnedFd};

/// (master, slave, slave path), the slave in raw mode.
pub fn openpty() -> (OwnedFd, OwnedFd, String) {
    let mut master = 0;
    let mut slave = 0;
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: openpty writes two descriptors and a NUL-terminated name into our buffers.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            name.as_mut_ptr(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty failed");
    // SAFETY: the name buffer is NUL-terminated by openpty.
    let path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
        .to_string_lossy()
        .to_string();
    // Raw mode on the slave, so the line discipline passes bytes through untouched.
    // SAFETY: termios calls on a descriptor we own.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        libc::tcgetattr(slave, &mut t);
        libc::cfmakeraw(&mut t);
        libc::tcsetattr(slave, libc::TCSANOW, &t);
    }
    // SAFETY: both descriptors were just created and are owned here.
    unsafe {
        (
            OwnedFd::from_raw_fd(master),
            OwnedFd::from_raw_fd(slave),
            path,
        )
    }
}
