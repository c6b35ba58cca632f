//! `bianmin kiosk` runs a real terminal only: without a configured cloud, an enrolment, or a
//! printer it refuses to start, says which is missing and what to do, and opens no window.

use bianmin::cloud::api::Site;
use bianmin::storage::{Enrollment, Store};
use std::path::Path;
use std::process::Command;

fn kiosk(config: &Path, data: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_bianmin"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
            "kiosk",
        ])
        // Nothing here may need a display: every refusal comes before the window.
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn the_kiosk_refuses_to_start_without_cloud_enrolment_or_printer() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("kiosk.toml");
    let data = dir.path().join("data");

    std::fs::write(&config, "[kiosk]\nlanguage = \"zh\"\n").unwrap();
    let (code, err) = kiosk(&config, &data);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no government cloud is configured"), "{err}");
    assert!(err.contains("cloud.url"), "{err}");

    std::fs::write(&config, "[cloud]\nurl = \"http://127.0.0.1:9\"\n").unwrap();
    let (code, err) = kiosk(&config, &data);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("this kiosk is not enrolled"), "{err}");
    assert!(err.contains("provisions"), "{err}");
    assert!(!data.exists(), "a refused start leaves no database behind");

    // Enrolled (as provisioning leaves it), but no printer named.
    Store::open_in(&data)
        .unwrap()
        .save_enrollment(&Enrollment {
            device_id: "kiosk-7".into(),
            device_token: "dev_test".into(),
            site: Site::example(),
        })
        .unwrap();
    let (code, err) = kiosk(&config, &data);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no receipt printer is configured"), "{err}");

    // Everything configured: it gets as far as the window (none here), and says so.
    std::fs::write(
        &config,
        "[cloud]\nurl = \"http://127.0.0.1:9\"\n[printer]\nport = \"/dev/null\"\n",
    )
    .unwrap();
    let (code, err) = kiosk(&config, &data);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no display"), "{err}");
    assert!(
        !err.contains("demo"),
        "a real kiosk never falls back to the demo: {err}"
    );
}
