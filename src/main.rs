//! The `conduit` binary: serve the site (default), or run an operations command.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use conduit::config::{self, AppConfig};
use conduit::telemetry;

/// mimalloc instead of glibc's allocator: a request allocates and frees many small values
/// (rows, JSON, template contexts), where glibc's bins and `malloc_consolidate` cost a fifth of
/// the CPU time of a list request; see bench/RESULTS.md.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Conduit: the RealWorld site, JSON API and admin console.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site and the API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Fill the database with demo content (idempotent).
    Seed {
        /// Add the demo users, articles, comments, follows and favorites.
        #[arg(long)]
        demo: bool,
    },
    /// Create an admin (password from standard input, or a prompt on a terminal), or promote
    /// an existing user with that email or username.
    CreateAdmin {
        /// The admin's username.
        #[arg(long)]
        username: String,
        /// The admin's email.
        #[arg(long)]
        email: String,
    },
    /// Back up the database with its own dump tool (mysqldump, or the sqlite3 shell) into
    /// `--out`, or into `backup_dir` (pruned to `backup_keep`) when no path is given.
    Backup {
        /// Where to write the backup.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Restore the database from a backup file (stop the server first).
    Restore {
        /// The backup file.
        path: std::path::PathBuf,
    },
}

/// Serve until a shutdown signal (SIGTERM, SIGHUP, Ctrl-C): Rocket stops accepting, lets
/// in-flight requests finish within its grace period, then returns; only then is the pool closed.
async fn serve(figment: rocket::figment::Figment) -> anyhow::Result<()> {
    let rocket = conduit::rocket_with(figment).launch().await?;
    if let Some(db) = <conduit::db::Db as rocket_db_pools::Database>::fetch(&rocket) {
        db.close().await;
    }
    log::info!("shut down cleanly");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let figment = config::figment();
    let profile = figment.profile().to_string();
    let app_config = match AppConfig::from_figment(&figment) {
        Ok(config) => config,
        Err(message) => {
            let _ = telemetry::init_logging("info", None);
            log::error!("{message}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = telemetry::init_logging(&app_config.log_filter, app_config.log_file.as_deref())
    {
        eprintln!("error: config key `log_file`: {e}");
        return ExitCode::FAILURE;
    }
    let _sentry = telemetry::init_sentry(&app_config, &profile);
    telemetry::install_panic_hook();

    let result = rocket::execute(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(figment).await,
            Command::Migrate => conduit::cli::migrate(&figment).await,
            Command::Seed { demo: true } => conduit::cli::seed_demo(&figment).await,
            Command::Seed { demo: false } => {
                Err(anyhow::anyhow!("say what to seed: `conduit seed --demo`"))
            }
            Command::CreateAdmin { username, email } => {
                conduit::cli::create_admin(&figment, &username, &email, conduit::cli::read_password)
                    .await
            }
            Command::Backup { out } => conduit::cli::backup(&figment, out.as_deref()).await,
            Command::Restore { path } => conduit::cli::restore(&figment, &path).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}
