//! Scripted journeys: `bianmin scenario run FILE` drives the real UI headless through TOML
//! steps, and writes a transcript (steps, pages seen, cloud calls, printouts) plus a PNG per
//! page. Elements are found by accessible label, so every scenario is also an accessibility
//! check. The same runner serves `bianmin screenshot`.

mod accessibility;
mod layout;
mod runner;
mod spec;

pub use runner::{run, screenshot_after, RunOptions, Transcript};
pub use spec::{Scenario, Step};

/// The accessibility audit (`check_accessibility`) and the snapshot it judges, public so that
/// tests can hold the rules to pages built by hand.
pub mod audit {
    pub use super::accessibility::{
        contrast, luminance, over, Audit, Rules, BOUNDARY_WIDTH, CONTROL_CONTRAST, TEXT_CONTRAST,
    };
    pub use super::layout::{Node, Rect, Snapshot, TextNeed};
    pub use i_slint_backend_testing::AccessibleRole;
}
