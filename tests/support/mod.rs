//! Test doubles shared by the integration tests (devices on pseudo-terminals).
pub mod cloud;
pub mod fake_printer;
pub mod payments;
pub mod pty;
pub mod sam_emulator;
pub mod soak;
