//! The audit log: one row per admin write (who, what, which record, before/after, when, and
//! from where: the client address and the request id of the request that made it).
//! Every admin write is made by `db::admin`'s `audited!`, which inserts its entry with
//! [`insert_audit!`](crate::db::audit::insert_audit) in the same transaction as the change: a
//! change is never left unrecorded, and an entry that cannot be written undoes the change.
//! [`record`] writes an entry alone, for actions that change nothing in the database (making
//! or downloading a backup file).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::admin::{list_keyset_where, Kind, ListQuery, Spec, Step, TablePage};
use crate::db::db_run;
use crate::db::db_transaction;
use crate::db::{now, AuditId, DbPool, UserId};

/// What an admin did, ready to be written.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// The admin's user id.
    pub actor_id: UserId,
    /// The admin's username (kept when the account is deleted later).
    pub actor_name: String,
    /// What happened, `<entity>.<verb>`: `user.disable`, `article.delete`, `backup.create`...
    pub action: String,
    /// The kind of record: `user`, `article`, `comment`, `tag`, `backup`.
    pub entity: String,
    /// Which record (its id, or a file name).
    pub entity_id: String,
    /// The record before the change, as JSON (`None` for creations).
    pub before: Option<serde_json::Value>,
    /// The record after the change, as JSON (`None` for deletions).
    pub after: Option<serde_json::Value>,
    /// The client address of the request, as Rocket saw it (`None` outside a request).
    pub ip: Option<String>,
    /// The request's id (`X-Request-Id`, the log line's `rid=`), `None` outside a request.
    pub request_id: Option<String>,
}

/// The `INSERT` every audit write uses.
pub const INSERT_SQL: &str = "INSERT INTO audit_log (actor_id, actor_name, action, entity, entity_id, before_json, \
                              after_json, ip, request_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

impl AuditEntry {
    /// The before snapshot as stored text.
    pub fn before_text(&self) -> Option<String> {
        self.before.as_ref().map(ToString::to_string)
    }

    /// The after snapshot as stored text.
    pub fn after_text(&self) -> Option<String> {
        self.after.as_ref().map(ToString::to_string)
    }
}

/// Insert an [`AuditEntry`] on an open transaction (either engine): `insert_audit!(tx, &entry)`.
macro_rules! insert_audit {
    ($tx:expr, $entry:expr) => {{
        let entry: &$crate::db::audit::AuditEntry = $entry;
        sqlx::query($crate::db::audit::INSERT_SQL)
            .bind(entry.actor_id)
            .bind(entry.actor_name.as_str())
            .bind(entry.action.as_str())
            .bind(entry.entity.as_str())
            .bind(entry.entity_id.as_str())
            .bind(entry.before_text())
            .bind(entry.after_text())
            .bind(entry.ip.as_deref())
            .bind(entry.request_id.as_deref())
            .bind($crate::db::now())
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use insert_audit;

/// Record an entry on its own, for an action that writes nothing else to the database (a
/// backup made or downloaded); database writes go through `db::admin`'s `audited!`.
pub async fn record(db: &DbPool, entry: &AuditEntry) -> Result<(), sqlx::Error> {
    db_transaction!(db, |c| sqlx::query(INSERT_SQL)
        .bind(entry.actor_id)
        .bind(entry.actor_name.as_str())
        .bind(entry.action.as_str())
        .bind(entry.entity.as_str())
        .bind(entry.entity_id.as_str())
        .bind(entry.before_text())
        .bind(entry.after_text())
        .bind(entry.ip.as_deref())
        .bind(entry.request_id.as_deref())
        .bind(now())
        .execute(c)
        .await
        .map(|_| ()))
}

/// A row of `audit_log`.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct AuditRow {
    /// Primary key.
    pub id: AuditId,
    /// The admin's id; `None` once their account is deleted.
    pub actor_id: Option<UserId>,
    /// The admin's username at the time.
    pub actor_name: String,
    /// What happened.
    pub action: String,
    /// The kind of record.
    pub entity: String,
    /// Which record.
    pub entity_id: Option<String>,
    /// JSON before the change.
    pub before_json: Option<String>,
    /// JSON after the change.
    pub after_json: Option<String>,
    /// The client address the change came from (`None` for entries older than the column).
    pub ip: Option<String>,
    /// The id of the request that made the change (`None` for older entries).
    pub request_id: Option<String>,
    /// When (UTC).
    pub created_at: DateTime<Utc>,
}

/// Which audit entries to show; filters combine with AND. Empty strings are ignored.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    /// The admin's username (exact, any letter case).
    pub actor: Option<String>,
    /// The action: exact (`user.delete`) or a prefix ending in `.` (`user.`).
    pub action: Option<String>,
    /// The kind of record.
    pub entity: Option<String>,
    /// The record's id.
    pub entity_id: Option<String>,
}

fn where_clause(filter: &AuditFilter) -> (String, Vec<String>) {
    let mut conditions = Vec::new();
    let mut binds = Vec::new();
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(actor) = present(&filter.actor) {
        conditions.push("actor_name = ?");
        binds.push(actor);
    }
    if let Some(action) = present(&filter.action) {
        if action.ends_with('.') {
            conditions.push("action LIKE ? ESCAPE '!'");
            binds.push(format!("{}%", crate::db::escape_like(&action)));
        } else {
            conditions.push("action = ?");
            binds.push(action);
        }
    }
    if let Some(entity) = present(&filter.entity) {
        conditions.push("entity = ?");
        binds.push(entity);
    }
    if let Some(id) = present(&filter.entity_id) {
        conditions.push("entity_id = ?");
        binds.push(id);
    }
    let sql = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    (sql, binds)
}

/// How many entries match `filter`.
pub async fn count(db: &DbPool, filter: &AuditFilter) -> Result<i64, sqlx::Error> {
    let (conditions, binds) = where_clause(filter);
    let sql = format!("SELECT COUNT(*) FROM audit_log{conditions}");
    db_run!(db, |c| {
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for bind in &binds {
            query = query.bind(bind.as_str());
        }
        query.fetch_one(c).await
    })
}

/// The audit log as a table of one sort, for its keyset pages: newest first by
/// `(created_at, id)`, read from the index `audit_log_created_at (created_at, id)`.
const AUDIT: Spec = Spec {
    select: "id, actor_id, actor_name, action, entity, entity_id, before_json, after_json, ip, request_id, created_at",
    from: "audit_log",
    search: &[],
    sorts: &[("created", "created_at", Kind::Time)],
    id: "id",
};

/// The page of entries matching `filter`, newest first, `limit` of them, at `step` (a cursor
/// from a page's links; `None`: `offset` entries in, for old `?page=` links), with its
/// neighbours' cursors. `Ok(None)`: the cursor's time does not read as one (a damaged link).
pub async fn page(
    db: &DbPool,
    filter: &AuditFilter,
    limit: i64,
    offset: i64,
    step: Option<&Step>,
) -> Result<Option<TablePage<AuditRow>>, sqlx::Error> {
    let query = ListQuery {
        q: String::new(),
        sort: "created".to_owned(),
        desc: true,
        limit,
        offset,
    };
    list_keyset_where(db, &AUDIT, where_clause(filter), &query, step).await
}

/// One page of entries matching `filter`, newest first.
pub async fn list(
    db: &DbPool,
    filter: &AuditFilter,
    limit: i64,
    offset: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    let (conditions, binds) = where_clause(filter);
    let sql = format!(
        "SELECT id, actor_id, actor_name, action, entity, entity_id, before_json, after_json, ip, request_id, created_at \
         FROM audit_log{conditions} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?"
    );
    db_run!(db, |c| {
        let mut query = sqlx::query_as::<_, AuditRow>(&sql);
        for bind in &binds {
            query = query.bind(bind.as_str());
        }
        query.bind(limit).bind(offset).fetch_all(c).await
    })
}
