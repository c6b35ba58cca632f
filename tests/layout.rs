//! The layout matrix: every page × zh/en × normal/长辈模式 × portrait/landscape, and the frame's
//! states (greeting bar, offline banner, staff called, busy, countdown dialog, take your card),
//! each checked with the scenario step `check_layout` (see src/scenario/layout.rs): no text
//! clipped by an ancestor or the window, none cut by its own box, none spilling out of the box
//! it sits in, none overlapping another text or a control it does not belong to, none covered.
//!
//! The journeys (tests/support/journeys.rs, shared with tests/accessibility.rs) run through the
//! real binary (headless UI, embedded cloud), four at once; each records its findings in its
//! transcript (`layout_report = true`) and carries on, so one run lists every problem, named by
//! page, state and element.

mod support;

use support::journeys::{run_matrix, unique};

#[test]
fn every_page_in_every_state_is_laid_out_readably() {
    let matrix = run_matrix("check_layout", "layout");
    let checks = matrix.steps("check_layout");
    let mut findings = Vec::new();
    for (_, t) in &matrix.transcripts {
        for f in t["layout"].as_array().into_iter().flatten() {
            for p in f["problems"].as_array().unwrap() {
                findings.push(format!(
                    "{} [{}]: {}",
                    f["page"].as_str().unwrap(),
                    f["state"].as_str().unwrap(),
                    p.as_str().unwrap()
                ));
            }
        }
    }
    let unique = unique(findings);
    println!(
        "layout matrix: {checks} checks in {:.1} s, {} problem(s)",
        matrix.elapsed.as_secs_f64(),
        unique.len()
    );
    for f in &unique {
        println!("  {f}");
    }
    assert!(matrix.failures.is_empty(), "{}", matrix.failures.join("\n"));
    assert!(checks >= 150, "the matrix ran only {checks} checks");
    assert!(
        unique.is_empty(),
        "{} layout problem(s):\n{}",
        unique.len(),
        unique.join("\n")
    );
}
