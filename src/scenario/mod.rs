//! Scripted journeys: `bianmin scenario run FILE` drives the real UI headless through TOML
//! steps, and writes a transcript (steps, pages seen, cloud calls, printouts) plus a PNG per
//! page. Elements are found by accessible label, so every scenario is also an accessibility
//! check. The same runner serves `bianmin screenshot`.

pub mod layout;
pub mod runner;
pub mod spec;

pub use runner::{run, RunOptions, Transcript};
pub use spec::{Scenario, Step};
