use clap::Parser;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,symphonia=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = bianmin::cli::Cli::parse();
    match bianmin::cli::main(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("bianmin: {e:#}");
            std::process::exit(2);
        }
    }
}
