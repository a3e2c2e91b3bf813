//! MySQL/MariaDB: the backfill of `search_postings` for articles written without them (before
//! migration `20261206200001`, or by an instance of the previous release during a rolling
//! upgrade). The background task (`crate::housekeeping::search_backfill_stage`) runs [`step`]
//! until it reports it has caught up.
//!
//! The mark `search_postings_state.indexed_up_to` says every article up to it has been seen.
//! A step reads the articles above it in id order, locked (`FOR UPDATE`: an edit of one waits,
//! and then finds its postings written), indexes those with no postings at all (an article
//! written by this release has them already, written in its own transaction), and moves the
//! mark past the last article it settled, in the same transaction. A step is sized by the
//! postings it writes ([`step`]'s `rows`), not by a count of articles: one long article or
//! many short ones. Row locks only, taken in key order (no `LOCK TABLES` or `GET_LOCK`, which
//! a Galera cluster refuses or keeps to one node); two instances running it take turns on the
//! state row's lock.

use std::collections::BTreeSet;

use sqlx::Row;

use crate::db::{db_transaction, DbPool, Engine};

use super::postings::{insert_statement, of_article, Field, BATCH};

/// The most articles one step looks at.
const ARTICLES_PER_STEP: i64 = 500;

/// The articles read with their fields at once (a body may be large).
const FIELDS_PER_READ: usize = 20;

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Articles given their postings.
    pub indexed: usize,
    /// Postings written.
    pub rows: usize,
    /// The mark after the step.
    pub mark: i64,
    /// Whether no article is left above the mark.
    pub caught_up: bool,
}

/// One step of the backfill, writing about `rows` postings at most (at least one article's,
/// whatever its size). A no-op on SQLite.
// One transaction, read best as one piece (its statements are written once for both engines
// by `db_transaction!`, so a MySQL-only helper cannot take part of it).
#[allow(clippy::too_many_lines)]
pub async fn step(db: &DbPool, rows: usize) -> Result<Step, sqlx::Error> {
    if db.engine() != Engine::MySql {
        return Ok(Step {
            caught_up: true,
            ..Step::default()
        });
    }
    // Nothing above the mark (the usual case once caught up): no transaction, no lock.
    let (mark, above): (i64, i64) = crate::db::db_run!(db, |c| {
        sqlx::query_as(
            "SELECT s.indexed_up_to, (SELECT COUNT(*) FROM articles a WHERE a.id > s.indexed_up_to) \
             FROM search_postings_state s WHERE s.id = 1",
        )
        .fetch_one(c)
        .await
    })?;
    if above == 0 {
        return Ok(Step {
            mark,
            caught_up: true,
            ..Step::default()
        });
    }
    db_transaction!(db, |c| {
        let mut tx = sqlx::Connection::begin(c).await?;
        let mark: i64 = sqlx::query_scalar(
            "SELECT indexed_up_to FROM search_postings_state WHERE id = 1 FOR UPDATE",
        )
        .fetch_one(&mut *tx)
        .await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM articles WHERE id > ? ORDER BY id LIMIT ? FOR UPDATE",
        )
        .bind(mark)
        .bind(ARTICLES_PER_STEP)
        .fetch_all(&mut *tx)
        .await?;
        let Some(last) = ids.last().copied() else {
            tx.commit().await?;
            return Ok(Step {
                mark,
                caught_up: true,
                ..Step::default()
            });
        };
        let marks = vec!["?"; ids.len()].join(", ");
        let sql = format!(
            "SELECT DISTINCT article_id FROM search_postings WHERE article_id IN ({marks})"
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql);
        for id in &ids {
            q = q.bind(*id);
        }
        let indexed: BTreeSet<i64> = q.fetch_all(&mut *tx).await?.into_iter().collect();
        let missing: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !indexed.contains(id))
            .collect();
        // The articles settled by this step: up to the last one whose postings fit.
        let mut settled_to = last;
        let mut postings: Vec<(Field, String, i64)> = Vec::new();
        let mut done = 0usize;
        'reading: for group in missing.chunks(FIELDS_PER_READ) {
            let marks = vec!["?"; group.len()].join(", ");
            let sql = format!(
                "SELECT id, title, description, body, tag_list FROM articles \
                 WHERE id IN ({marks}) ORDER BY id"
            );
            let mut q = sqlx::query(&sql);
            for id in group {
                q = q.bind(*id);
            }
            for row in q.fetch_all(&mut *tx).await? {
                let id: i64 = row.try_get(0)?;
                if done > 0 && postings.len() >= rows {
                    // Full: the mark stops just below this article.
                    settled_to = id - 1;
                    break 'reading;
                }
                let title: String = row.try_get(1)?;
                let description: String = row.try_get(2)?;
                let body: String = row.try_get(3)?;
                let tags: String = row.try_get(4)?;
                postings.extend(
                    of_article(&title, &[tags], &description, &body)
                        .into_iter()
                        .map(|(field, word)| (field, word, id)),
                );
                done += 1;
            }
        }
        // In the primary key's order (field, word, article), as every writer inserts.
        postings.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
        for chunk in postings.chunks(BATCH) {
            let sql = insert_statement(chunk.len());
            let mut q = sqlx::query(&sql);
            for (field, word, id) in chunk {
                q = q.bind(word.as_bytes()).bind(*field as i8).bind(*id);
            }
            q.execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE search_postings_state SET indexed_up_to = ? WHERE id = 1")
            .bind(settled_to)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let full = i64::try_from(ids.len()).unwrap_or(i64::MAX) == ARTICLES_PER_STEP;
        Ok(Step {
            indexed: done,
            rows: postings.len(),
            mark: settled_to,
            caught_up: settled_to == last && !full,
        })
    })
}
