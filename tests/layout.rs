//! The page × state survey: every page × zh/en × normal/长辈模式 × portrait/landscape, and the
//! frame's states (greeting bar, offline banner, staff called, busy, countdown dialog, take your
//! card), and the technician page, walked once (tests/support/journeys.rs); on each frame both
//! checks run:
//!
//! - the layout matrix (`check_layout`, src/scenario/layout.rs): no text clipped by an ancestor
//!   or the window, none cut by its own box, none spilling out of the box it sits in, none
//!   overlapping another text or a control it does not belong to, none covered;
//! - the accessibility audit (`check_accessibility`, src/scenario/accessibility.rs; its rules are
//!   held to hand-built pages in tests/accessibility.rs): every control labelled, once; touch
//!   targets at least 44×44 px (60×60 in 长辈模式), none overlapping another; text at least
//!   24 px (32 px in 长辈模式); contrast at least 4.5:1 for text and 3:1 for a control's
//!   boundary; every control on screen or scrollable to.
//!
//! One walk for both (they used to walk it once each, two minutes apiece); the two problem lists
//! are still reported and asserted separately. The journeys run through the real binary
//! (headless UI, embedded cloud), four at once; each records its findings in its transcript
//! (`layout_report = true`) and carries on, so one run lists every problem, named by page, state
//! and element.

mod support;

use support::journeys::{run_matrix, unique};

#[test]
fn every_page_in_every_state_is_laid_out_readably_and_accessible() {
    let matrix = run_matrix("survey");
    assert!(matrix.failures.is_empty(), "{}", matrix.failures.join("\n"));

    // The layout matrix.
    let layout_checks = matrix.steps("check_layout");
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
    let layout = unique(findings);

    // The accessibility audit.
    let audit_checks = matrix.steps("check_accessibility");
    let mut findings = Vec::new();
    let mut states: Vec<String> = Vec::new();
    let (mut controls, mut texts) = (0u64, 0u64);
    for (_, t) in &matrix.transcripts {
        for r in t["accessibility"].as_array().into_iter().flatten() {
            let page = r["page"].as_str().unwrap();
            let state = r["state"].as_str().unwrap();
            let key = format!("{page} [{state}]");
            if !states.contains(&key) {
                states.push(key);
            }
            controls += r["controls"].as_u64().unwrap();
            texts += r["texts"].as_u64().unwrap();
            for p in r["problems"].as_array().unwrap() {
                findings.push(format!("{page} [{state}]: {}", p.as_str().unwrap()));
            }
        }
    }
    let audit = unique(findings);

    println!(
        "page × state survey: one walk in {:.1} s",
        matrix.elapsed.as_secs_f64()
    );
    println!(
        "layout matrix: {layout_checks} checks, {} problem(s)",
        layout.len()
    );
    for f in &layout {
        println!("  {f}");
    }
    println!(
        "accessibility audit: {audit_checks} checks of {} distinct page × state combinations, \
         {controls} controls and {texts} texts checked; {} problem(s)",
        states.len(),
        audit.len()
    );
    for f in &audit {
        println!("  {f}");
    }
    assert!(
        layout_checks >= 150,
        "the matrix ran only {layout_checks} checks"
    );
    assert!(
        audit_checks >= 150,
        "the audit ran only {audit_checks} checks"
    );
    assert!(
        states.iter().any(|s| s.starts_with("technician [")),
        "the technician page was surveyed"
    );
    assert!(
        controls >= 1000 && texts >= 1000,
        "the audit saw only {controls} controls and {texts} texts"
    );
    assert!(
        layout.is_empty(),
        "{} layout problem(s):\n{}",
        layout.len(),
        layout.join("\n")
    );
    assert!(
        audit.is_empty(),
        "{} accessibility problem(s):\n{}",
        audit.len(),
        audit.join("\n")
    );
}
