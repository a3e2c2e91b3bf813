//! The admin writes: each made in one transaction together with its audit-log entry
//! (`audited!`), refused whole (audit entry included) or committed whole.

use crate::db::articles::counters;
use crate::db::audit::{insert_audit, AuditEntry};
use crate::db::db_transaction;
use crate::db::search::postings::KeepPostings;
use crate::db::users::{Role, User};
use crate::db::{now, ArticleId, CommentId, DbPool, Engine, TagId, UserId};

/// The one way an admin write is made: `$body` (statements on `&mut *$tx`) and the audit
/// insert in one transaction, committed together or not at all, and run again whole on a lock
/// conflict ([`db_transaction!`](crate::db::db_transaction)). A `return` in the body (a refusal)
/// drops the transaction, audit entry included. `first:` writes the entry before the change
/// (a deletion that may take the actor's own account, whose `ON DELETE SET NULL` then keeps
/// the entry).
macro_rules! audited {
    ($db:expr, $audit:expr, |$tx:ident| $body:block) => {
        db_transaction!($db, |c| {
            let mut $tx = sqlx::Connection::begin(c).await?;
            let result = $body;
            insert_audit!($tx, $audit);
            $tx.commit().await?;
            Ok(result)
        })
    };
    ($db:expr, first: $audit:expr, |$tx:ident| $body:block) => {
        db_transaction!($db, |c| {
            let mut $tx = sqlx::Connection::begin(c).await?;
            insert_audit!($tx, $audit);
            let result = $body;
            $tx.commit().await?;
            Ok(result)
        })
    };
}

/// Write an admin's edit of a user's profile (username, email, bio, image; the caller
/// checked them), using up reset links mailed to another address. Role, disabled flag and
/// password are left as they are.
pub async fn update_user_profile(
    db: &DbPool,
    user: &User,
    audit: &AuditEntry,
) -> Result<(), sqlx::Error> {
    const SQL: &str =
        "UPDATE users SET username = ?, email = ?, bio = ?, image = ?, updated_at = ? WHERE id = ?";
    audited!(db, audit, |tx| {
        sqlx::query(SQL)
            .bind(&user.username)
            .bind(&user.email)
            .bind(&user.bio)
            .bind(&user.image)
            .bind(now())
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(crate::db::account_tokens::END_RESETS_ELSEWHERE)
            .bind(now())
            .bind(user.id)
            .bind(&user.email)
            .execute(&mut *tx)
            .await?;
    })
}

/// Change an article's text (its slug stays, so links keep working).
pub async fn update_article(
    db: &DbPool,
    id: ArticleId,
    title: &str,
    description: &str,
    body: &str,
    audit: &AuditEntry,
) -> Result<(), sqlx::Error> {
    const SQL: &str =
        "UPDATE articles SET title = ?, description = ?, body = ?, updated_at = ? WHERE id = ?";
    audited!(db, audit, |tx| {
        sqlx::query(SQL)
            .bind(title)
            .bind(description)
            .bind(body)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        (*tx).sync_postings(id, title, description, body).await?;
    })
}

/// Delete an article (its comments, favorites and tag links go with it). `false` when it was
/// already gone (a concurrent delete won): nothing is written, not even the audit entry.
pub async fn delete_article(
    db: &DbPool,
    id: ArticleId,
    audit: &AuditEntry,
) -> Result<bool, sqlx::Error> {
    audited!(db, audit, |tx| {
        if !crate::db::articles::delete_article_in!(tx, db.engine(), id) {
            // Already gone: nothing to audit; dropping the transaction undoes the counters.
            return Ok(false);
        }
        true
    })
    .inspect(|_| db.tags_changed())
}

/// Change a comment's text.
pub async fn update_comment(
    db: &DbPool,
    id: CommentId,
    body: &str,
    audit: &AuditEntry,
) -> Result<(), sqlx::Error> {
    audited!(db, audit, |tx| {
        sqlx::query("UPDATE comments SET body = ?, updated_at = ? WHERE id = ?")
            .bind(body)
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
    })
}

/// Delete a comment.
pub async fn delete_comment(
    db: &DbPool,
    id: CommentId,
    audit: &AuditEntry,
) -> Result<(), sqlx::Error> {
    audited!(db, audit, |tx| {
        sqlx::query("DELETE FROM comments WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    })
}

/// Rename a tag (and the tag lists of its articles). A name taken by another tag is a unique
/// violation.
pub async fn rename_tag(
    db: &DbPool,
    id: TagId,
    name: &str,
    audit: &AuditEntry,
) -> Result<(), sqlx::Error> {
    audited!(db, audit, |tx| {
        sqlx::query("UPDATE tags SET name = ? WHERE id = ?")
            .bind(name)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(counters::REWRITE_TAG_LISTS)
            .bind(-1_i64)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        (*tx).resync_tagged(id).await?;
    })
    .inspect(|()| db.tags_changed())
}

/// Delete a tag (articles lose it, nothing else).
pub async fn delete_tag(db: &DbPool, id: TagId, audit: &AuditEntry) -> Result<(), sqlx::Error> {
    audited!(db, audit, |tx| {
        // The tag's row first, then its articles': the order a rename takes them in, so the
        // two wait for one another on MySQL instead of deadlocking.
        sqlx::query("UPDATE tags SET name = name WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(counters::REWRITE_TAG_LISTS)
            .bind(id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // The links still name the tag here; the rewritten lists no longer do.
        (*tx).resync_tagged(id).await?;
        sqlx::query("DELETE FROM tags WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    })
    .inspect(|()| db.tags_changed())
}

/// Counts enabled admins inside a transaction. On MySQL the read locks the rows it counts, so
/// two admins demoting each other at once cannot both pass (one waits, then sees the other's
/// change); SQLite serialises writers anyway and has no `FOR UPDATE`.
fn active_admins_sql(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE",
        Engine::MySql => {
            "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = FALSE FOR UPDATE"
        }
    }
}

/// Set a user's role and disabled flag. `revoke` also bumps their token version and ends their
/// browser sessions. With `keep_an_admin`, the change is rolled back (and `false` returned)
/// if it would leave no enabled admin.
pub async fn set_user_access(
    db: &DbPool,
    id: UserId,
    role: Role,
    disabled: bool,
    revoke: bool,
    keep_an_admin: bool,
    audit: &AuditEntry,
) -> Result<bool, sqlx::Error> {
    const SQL: &str =
        "UPDATE users SET role = ?, disabled = ?, token_version = token_version + ?, updated_at = ? WHERE id = ?";
    const REVOKE: &str =
        "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL";
    let admins_sql = active_admins_sql(db.engine());
    audited!(db, audit, |tx| {
        sqlx::query(SQL)
            .bind(role)
            .bind(disabled)
            .bind(i64::from(revoke))
            .bind(now())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if keep_an_admin {
            let admins: i64 = sqlx::query_scalar(admins_sql).fetch_one(&mut *tx).await?;
            if admins < 1 {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        if revoke {
            sqlx::query(REVOKE)
                .bind(now())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        true
    })
}

/// How a delete that may be refused ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// The row is gone, and its audit entry written.
    Done,
    /// There was no such row any more (a concurrent delete won): nothing was written.
    AlreadyGone,
    /// Refused: it would have left no enabled admin. Nothing was written.
    LastAdmin,
}

/// Delete a user and everything they wrote. With `keep_an_admin`, rolled back if it would
/// leave no enabled admin; rolled back too (audit entry included) if the user was already
/// gone, so two racing deletes record one deletion.
pub async fn delete_user(
    db: &DbPool,
    id: UserId,
    keep_an_admin: bool,
    audit: &AuditEntry,
) -> Result<Deletion, sqlx::Error> {
    let admins_sql = active_admins_sql(db.engine());
    // The entry goes in first: an admin deleting their own account is its actor, and
    // `ON DELETE SET NULL` then keeps the entry (with the actor's name) instead of failing.
    audited!(db, first: audit, |tx| {
        // The counters their rows feed: tags of their articles, the article total, articles
        // they favorited. Tag counts, then the total and the id blocks, then articles: the order an article
        // delete takes them in, so the two wait for one another on MySQL instead of
        // deadlocking (and a deadlock left is run again: `db_transaction!`).
        let slot = counters::slot(db.engine());
        sqlx::query(counters::RELEASE_USER_TAGS.sql(db.engine()))
            .bind(slot)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(counters::UNCOUNT_USER_ARTICLES)
            .bind(id)
            .bind(slot)
            .execute(&mut *tx)
            .await?;
        sqlx::query(counters::UNCOUNT_USER_ARTICLES_IN_BLOCKS.sql(db.engine()))
            .bind(slot)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(counters::RELEASE_USER_FAVORITES.sql(db.engine()))
            .bind(slot)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(Deletion::AlreadyGone);
        }
        if keep_an_admin {
            let admins: i64 = sqlx::query_scalar(admins_sql).fetch_one(&mut *tx).await?;
            if admins < 1 {
                tx.rollback().await?;
                return Ok(Deletion::LastAdmin);
            }
        }
        Deletion::Done
    })
    .inspect(|_| db.tags_changed())
}

/// SQLite only: write a consistent copy of the database to `path` with `VACUUM INTO` (the
/// backup fallback when the `sqlite3` shell is not installed).
pub async fn vacuum_into(db: &DbPool, path: &str) -> Result<(), sqlx::Error> {
    match db.backend() {
        crate::db::pool::Backend::Sqlite(pool) => {
            crate::db::db_run!(@held pool, |c| sqlx::query("VACUUM INTO ?").bind(path).execute(c).await.map(|_| ()))
        }
        crate::db::pool::Backend::MySql(_) => Err(sqlx::Error::Configuration(
            "VACUUM INTO is an SQLite statement".into(),
        )),
    }
}
