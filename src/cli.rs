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
