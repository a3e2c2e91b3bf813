//! Operations commands of the `conduit` binary (everything but `serve`).

use rocket::figment::Figment;

use crate::db::DbPool;

/// Open the configured database (`databases.main`), creating SQLite files as needed.
pub async fn open_pool(figment: &Figment) -> anyhow::Result<DbPool> {
    let figment = figment
        .focus("databases.main")
        .join(("max_connections", 4))
        .join(("connect_timeout", 5));
    let pool = <DbPool as rocket_db_pools::Pool>::init(&figment).await?;
    Ok(pool)
}

/// `conduit migrate`: apply pending migrations (opening the pool applies them) and report.
pub async fn migrate(figment: &Figment) -> anyhow::Result<()> {
    let pool = open_pool(figment).await?;
    log::info!("migrations applied ({:?})", pool.engine());
    pool.close().await;
    Ok(())
}

/// Read a password: a hidden prompt (twice) on a terminal, else the first line of stdin.
pub fn read_password() -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        anyhow::ensure!(first == second, "the passwords do not match");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// `conduit create-admin`: create an admin account, or promote (and re-enable) an existing user
/// with that email or username. An existing user keeps their password.
pub async fn create_admin(
    figment: &Figment,
    username: &str,
    email: &str,
    password: impl FnOnce() -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    use crate::db::users::{self, Role};
    let pool = open_pool(figment).await?;
    let existing = match users::find_by_email(&pool, email).await? {
        Some(user) => Some(user),
        None => users::find_by_username(&pool, username).await?,
    };
    let result = if let Some(user) = existing {
        let promoted = user.role != Role::Admin;
        users::make_admin(&pool, user.id).await?;
        if promoted {
            // As in the console: a role change ends the tokens and sessions issued before it.
            users::revoke_all_tokens(&pool, user.id).await?;
        }
        log::info!("promoted {} <{}> to admin", user.username, user.email);
        Ok(())
    } else {
        let password = password()?;
        match crate::auth::account::create(&pool, username, email, &password, Role::Admin).await {
            Ok(user) => {
                log::info!("created admin {} <{}>", user.username, user.email);
                Ok(())
            }
            Err(crate::error::AppError::Invalid(fields)) => {
                Err(anyhow::anyhow!("{}", fields.full_messages().join("; ")))
            }
            Err(e) => Err(anyhow::anyhow!("{e}")),
        }
    };
    pool.close().await;
    result
}

/// `conduit seed --demo`: add the demo users, articles, comments, follows and favorites.
pub async fn seed_demo(figment: &Figment) -> anyhow::Result<()> {
    let pool = open_pool(figment).await?;
    let result = crate::seed::demo(&pool).await;
    pool.close().await;
    match result {
        Ok(summary) if summary == crate::seed::Summary::default() => {
            log::info!("demo content is already there: nothing to add");
            Ok(())
        }
        Ok(summary) => {
            log::info!(
                "added {} users, {} articles and {} comments; sign in as amelia@demo.conduit.test with password {}",
                summary.users,
                summary.articles,
                summary.comments,
                crate::seed::DEMO_PASSWORD
            );
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!("seeding failed: {e}")),
    }
}

/// `conduit backup [--out PATH]`: write a backup with the database's own dump tool, to `out`
/// or into `backup_dir` (then pruned to `backup_keep`).
pub async fn backup(figment: &Figment, out: Option<&std::path::Path>) -> anyhow::Result<()> {
    let backups = crate::admin::backup::Backups::from_figment(figment)?;
    if let Some(out) = out {
        let size = backups.write_to(out).await?;
        log::info!(
            "backup of the {:?} database written to {} ({size} bytes)",
            backups.engine(),
            out.display()
        );
    } else {
        let file = backups.create().await?;
        log::info!(
            "backup of the {:?} database written to {} ({})",
            backups.engine(),
            backups.dir().join(&file.name).display(),
            file.size_text
        );
    }
    Ok(())
}

/// `conduit restore PATH`: replace the database's contents with a backup, then apply any
/// migrations newer than the backup.
pub async fn restore(figment: &Figment, path: &std::path::Path) -> anyhow::Result<()> {
    let backups = crate::admin::backup::Backups::from_figment(figment)?;
    backups.restore(path).await?;
    let pool = open_pool(figment).await?;
    pool.close().await;
    log::info!(
        "restored the {:?} database from {}",
        backups.engine(),
        path.display()
    );
    Ok(())
}
