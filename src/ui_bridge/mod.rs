//! The seam between the UI thread and the kiosk task.
slint::include_modules!();
