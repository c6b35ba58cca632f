//! Scripted journeys: `bianmin scenario run FILE` drives the real UI headless through TOML
//! steps, and writes a transcript (steps, pages seen, cloud calls, printouts) plus a PNG per
//! page. Elements are found by accessible label, so every scenario is also an accessibility
//! check. The same runner serves `bianmin screenshot`.

mod layout;
mod runner;
mod spec;

pub use runner::{run, screenshot_after, RunOptions, Transcript};
pub use spec::{Scenario, Step};
