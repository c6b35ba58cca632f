//! Test doubles shared by the integration tests (devices on pseudo-terminals), and the page ×
//! state journeys of the layout and accessibility surveys.
pub mod cloud;
pub mod fake_printer;
pub mod field;
pub mod journeys;
pub mod payments;
pub mod pty;
pub mod repo_server;
pub mod sam_emulator;
pub mod soak;
