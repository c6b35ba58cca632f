// Compiles ui/app.slint with the translations bundled (no gettext at run time).
fn main() {
    // The package's folder as cargo runs this script (not as it was when the script was
    // compiled: one compiled script may serve several checkouts of the same package).
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    // Debug info lets the headless UI find elements by accessible label (scenarios, screenshots).
    let config = slint_build::CompilerConfiguration::new()
        .with_debug_info(true)
        // Our .po files carry no msgctxt: one string, one translation, wherever it is used.
        .with_default_translation_context(slint_build::DefaultTranslationContext::None)
        .with_bundled_translations(format!("{root}/ui/translations"));
    slint_build::compile_with_config("ui/app.slint", config).expect("the UI compiles");
    println!("cargo:rerun-if-changed=ui");
}
