use clap::Parser;

fn main() {
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
