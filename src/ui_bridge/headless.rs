//! The headless UI used by `scenario run` and `screenshot`: Slint's testing backend with the
//! software renderer (the kiosk's own renderer: no GPU), so pages can be queried by accessible
//! label, tapped, and captured as PNG.

use slint::ComponentHandle;
use std::path::Path;

/// Installs the testing backend with a real event loop and the software renderer.
/// Must run before any window is created; once per process.
pub fn init() -> anyhow::Result<()> {
    let backend = i_slint_backend_testing::TestingBackend::new(
        i_slint_backend_testing::TestingBackendOptions {
            mock_time: false,
            threading: true,
            renderer_name: Some("software".into()),
        },
    );
    slint::platform::set_platform(Box::new(backend))
        .map_err(|e| anyhow::anyhow!("cannot start the headless UI: {e}"))
}

/// Renders the window as it is now and writes a PNG.
pub fn screenshot(ui: &impl ComponentHandle, path: &Path) -> anyhow::Result<()> {
    let shot = ui
        .window()
        .take_snapshot()
        .map_err(|e| anyhow::anyhow!("snapshot failed: {e}"))?;
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, shot.width(), shot.height());
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        // Screenshots are looked at and compared, not archived: speed over the last few bytes.
        enc.set_compression(png::Compression::Fast);
        let mut w = enc.write_header()?;
        w.write_image_data(shot.as_bytes())?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, out)?;
    Ok(())
}
