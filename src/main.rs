use clap::Parser;

fn main() {
    // No X Compose table: the kiosk takes text from its on-screen keyboards (and a USB
    // keyboard's plain keys), never dead-key sequences, and libX11 and xkbcommon each parse the
    // locale's whole Compose file when the window opens (~14 ms of the first paint, measured by
    // `make bench`). Set before any thread starts; a site that wants compose sets its own.
    if std::env::var_os("XCOMPOSEFILE").is_none() {
        std::env::set_var("XCOMPOSEFILE", "/dev/null");
    }
    bianmin::health::logs::init();
    let cli = bianmin::cli::Cli::parse();
    match bianmin::cli::main(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("bianmin: {e:#}");
            std::process::exit(2);
        }
    }
}
