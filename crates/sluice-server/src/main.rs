use clap::Parser;
use mimalloc::MiMalloc;
use sluice_server::config::{Cli, Command, Config, StorageKind};
use sluice_server::{logging, migrate};

/// Request handling allocates many small, short-lived buffers across threads, which mimalloc serves
/// markedly faster than the system allocator (see the benchmark in the README).
#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        Some(Command::Migrate(args)) => return migrate::run(&args).await,
        None => cli.serve,
    };
    let config = match Config::resolve(&args) {
        Ok(config) => config,
        Err(e) => {
            // Logged in the format asked for on the command line, if it could be read at all.
            logging::init(args.log_format.unwrap_or_default());
            tracing::error!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    logging::init(config.log_format);
    let server = match sluice_server::start(config.clone()).await {
        Ok(server) => server,
        Err(e) => {
            tracing::error!("{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Postgres storage keeps nothing in the data directory; its URL shows with the password masked.
    let data_dir = (config.storage != StorageKind::Postgres).then(|| config.data_dir.display());
    tracing::info!(
        url = server.public_url(),
        storage = ?config.storage,
        data_dir = data_dir.map(tracing::field::display),
        database = config.database_url.as_ref().map(tracing::field::display),
        region = %config.region,
        account = %config.account_id,
        admin = server.admin_addr().map(tracing::field::display),
        "sluice listening on {}",
        server.local_addr()
    );
    let stopper = server.stopper();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stopper.send(true);
    });
    server.wait().await;
    std::process::ExitCode::SUCCESS
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
