//! The ranked page of a search and its capped count, per engine (the order and the caps are
//! the parent module's docs).
//!
//! SQLite ranks up to [`RANKED_WHOLE`] matches whole, in one statement: the fields an article
//! holds a word in make its tier, read from each field's own small index. With more matches it
//! reads the tiers best first ([`sqlite_page`]: a second statement, the tiers and the page's
//! articles). A tier is one combination of the ranked fields holding a
//! word (title, tags, description: 8 of them, as binary digits), and one FTS5 expression over
//! `article_search` finds it: every word anywhere, `AND` the tier's fields, `NOT` the others
//! (`("wor"*) AND {title} : ("wor"*) NOT {tag_list} : ("wor"*) ...`). FTS5 walks such an
//! expression by rowid, newest first, and stops at the `LIMIT`: a full page is read from the
//! front of the index. Before the tiers, each field's own small index says whether the field
//! holds any of the words at all (one look-up each): a tier that needs a field without them
//! is skipped and a `NOT` on such a field is left out, so a word found only in bodies is one
//! walk of its matches, not eight tiers proving themselves empty. The filters narrow each
//! tier by their subqueries (`crate::db::articles::narrowing`), as they narrow a list driven by
//! another filter.
//!
//! MySQL ranks in one statement: `InnoDB` finds every match of a FULLTEXT query before the
//! first row is returned, so walking tiers would pay that once per tier.

use sqlx::Row;

use crate::db::articles::{bind_values, narrowing, packed, Article, Bind, Filter};
use crate::db::{db_run, DbPool, Engine, UserId};

use super::{Query, MAX_RESULTS};

/// The ranked fields, best first: the column of each in `article_search` (and in `articles`)
/// and its own FTS5 index on SQLite.
const FIELDS: [(&str, &str); 3] = [
    ("title", "article_search_title"),
    ("tag_list", "article_search_tags"),
    ("description", "article_search_description"),
];

/// MySQL: the ids of the first `want` matches of `query` and `filter`, in rank order. Fewer
/// than `want`: these are all the matches. (SQLite reads its page in one: [`sqlite_page`].)
pub(super) async fn ids(
    db: &DbPool,
    query: &Query,
    filter: &Filter,
    want: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    mysql_ranked(db, query, filter, want).await
}

/// How many articles match `query` and `filter`, counting no further than `cap`.
pub(super) async fn count(
    db: &DbPool,
    query: &Query,
    filter: &Filter,
    cap: i64,
) -> Result<i64, sqlx::Error> {
    let (matches, all) = match db.engine() {
        Engine::Sqlite => ("article_search(?) s", query.fts5_all()),
        Engine::MySql => (MYSQL_MATCHES, query.boolean_all()),
    };
    let id = match db.engine() {
        Engine::Sqlite => "+s.rowid",
        Engine::MySql => "s.id",
    };
    let (conditions, binds) = narrowing(filter, id);
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 AS found FROM {matches}{where_}{conditions} LIMIT ?) capped",
        where_ = where_all(db.engine()),
    );
    db_run!(db, |c| {
        bind_values!(
            sqlx::query_scalar::<_, i64>(&sql).bind(all.as_str()),
            &binds
        )
        .bind(cap)
        .fetch_one(c)
        .await
    })
}

/// MySQL's matching rows: every word in any field (the four-column FULLTEXT index).
const MYSQL_MATCHES: &str = "articles s";

/// The `WHERE` that keeps the matches, its one `?` the whole query.
fn where_all(engine: Engine) -> &'static str {
    match engine {
        // The table-valued form (`article_search(?)`) is FTS5's `MATCH`, with an alias.
        Engine::Sqlite => " WHERE 1 = 1",
        Engine::MySql => {
            " WHERE MATCH (s.title, s.tag_list, s.description, s.body) AGAINST (? IN BOOLEAN MODE)"
        }
    }
}

/// The FTS5 expression of the tier `tier` (its bits: title 4, tags 2, description 1) given
/// which fields hold any of the words (`present`); `None` when the tier must be empty.
fn tier_expression(query: &Query, tier: u8, present: [bool; 3]) -> Option<String> {
    let wanted = |i: usize| tier & (4 >> i) != 0;
    if (0..FIELDS.len()).any(|i| wanted(i) && !present[i]) {
        return None;
    }
    // One word found in a ranked field is a match already: the whole query is not read again
    // (each prefix term of an expression gathers its matches apart).
    let mut expression =
        (query.words().len() > 1 || tier == 0).then(|| format!("({})", query.fts5_all()));
    for (i, (column, _)) in FIELDS.iter().enumerate() {
        if wanted(i) {
            let field = query.fts5_any_in(column);
            expression = Some(match expression {
                None => field,
                Some(before) => format!("({before}) AND {field}"),
            });
        }
    }
    let mut expression = expression?;
    for (i, (column, _)) in FIELDS.iter().enumerate() {
        if !wanted(i) && present[i] {
            expression = format!("({expression}) NOT {}", query.fts5_any_in(column));
        }
    }
    Some(expression)
}

/// SQLite: the most matches ranked whole, by the first statement of [`sqlite_page`]; a search
/// with more reads its page tier by tier.
pub const RANKED_WHOLE: i64 = 100;

/// How many matches a page's ranking saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ranked {
    /// This many match, counted up to one past [`MAX_RESULTS`].
    Counted(i64),
    /// This many were ranked, up to the page's end (fewer than the end: these are all);
    /// `None` when the page was empty, which does not say.
    UpTo(Option<i64>),
}

/// SQLite: the articles from `offset` to `end` of the ranked matches of `query` and `filter`,
/// as `viewer` sees them (with the start of each body when `bodies`), and how many match.
///
/// The first statement counts the matches (up to one past [`MAX_RESULTS`], one walk of the
/// main index). When there are 1 to [`RANKED_WHOLE`] (rare words), it ranks them whole: each
/// field's own index gives its matches between the oldest and the newest of them (one look-up
/// each), an article's tier is the fields it holds a word in, and the page of that order comes
/// back with its articles packed into one value
/// (`crate::db::articles::packed`). So a search for rare words costs two walks of their
/// matches and three look-ups, in one statement.
///
/// With more, the same statement has asked each field's index whether it holds any of the
/// words, and a second reads the tiers that can hold matches as one `UNION ALL`, best first,
/// each newest first from the index, under one `LIMIT` of `end`: SQLite runs the arms of a
/// `UNION ALL` in order and stops at the `LIMIT`, so the tiers after a full page are never
/// read, as when each tier was its own statement. The page of those ids is joined to its
/// articles in the same statement.
pub(super) async fn sqlite_page(
    db: &DbPool,
    query: &Query,
    filter: &Filter,
    viewer: Option<UserId>,
    bodies: bool,
    end: i64,
    offset: i64,
) -> Result<(Vec<Article>, Ranked), sqlx::Error> {
    // `+` keeps the filters' `IN` away from FTS5's rowid look-ups: the walk stays one pass
    // down the index, the subquery's ids checked against it.
    let (conditions, binds) = narrowing(filter, "+s.rowid");
    let any = query.fts5_terms().join(" OR ");
    let all = query.fts5_all();
    let offset = offset.max(0);
    let limit = end - offset;
    let whole = whole_statement(db, viewer, bodies, &conditions);
    db_run!(db, |c| {
        async {
            // The count's walk, then the ranking's: its matches, and each field's.
            let mut q = bind_values!(sqlx::query(&whole).bind(all.as_str()), &binds);
            q = bind_values!(q.bind(all.as_str()), &binds);
            for _ in FIELDS {
                q = q.bind(any.as_str());
            }
            // The page, then the fields' probes.
            q = q.bind(limit).bind(offset);
            for _ in FIELDS {
                q = q.bind(any.as_str());
            }
            if let Some(viewer) = viewer {
                q = q.bind(viewer).bind(viewer);
            }
            let row = q.fetch_one(&mut *c).await?;
            let matches: i64 = row.try_get(0)?;
            if matches <= RANKED_WHOLE {
                let mut ranked = packed::ranked_articles(row.try_get(4)?)?;
                ranked.sort_unstable_by_key(|(article, tier)| {
                    std::cmp::Reverse((*tier, article.id.get()))
                });
                let articles = ranked
                    .into_iter()
                    .map(|(article, _)| without_body(article, bodies).with_tags())
                    .collect();
                return Ok((articles, Ranked::Counted(matches)));
            }
            let present = [row.try_get(1)?, row.try_get(2)?, row.try_get(3)?];
            let tiers: Vec<(u8, String)> = (0..8u8)
                .rev()
                .filter_map(|tier| Some((tier, tier_expression(query, tier, present)?)))
                .collect();
            let arms = tiers
                .iter()
                .map(|(tier, _)| {
                    format!(
                        "SELECT * FROM (SELECT s.rowid AS id, {tier} AS tier \
                         FROM article_search(?) s{}{conditions} ORDER BY s.rowid DESC LIMIT ?)",
                        where_all(Engine::Sqlite)
                    )
                })
                .collect::<Vec<_>>()
                .join(" UNION ALL ");
            let sql = format!(
                "WITH r AS MATERIALIZED (SELECT id, tier FROM ({arms}) LIMIT ?), \
                 page AS (SELECT id, tier FROM r ORDER BY tier DESC, id DESC LIMIT ? OFFSET ?) \
                 {} ORDER BY p.tier DESC, p.id DESC",
                super::select(
                    db,
                    viewer,
                    bodies,
                    "NULL AS total",
                    "page p CROSS JOIN articles a ON a.id = p.id"
                )
            );
            let mut q = sqlx::query(&sql);
            for (_, expression) in &tiers {
                q = bind_values!(q.bind(expression.as_str()), &binds).bind(end);
            }
            q = q.bind(end).bind(limit).bind(offset);
            if let Some(viewer) = viewer {
                q = q.bind(viewer).bind(viewer);
            }
            let articles = q
                .fetch_all(&mut *c)
                .await?
                .iter()
                .map(|row| super::decode(row, bodies))
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, sqlx::Error>((articles, Ranked::Counted(matches)))
        }
        .await
    })
}

/// `article` with its body only when `bodies` asked for it.
fn without_body(mut article: Article, bodies: bool) -> Article {
    if !bodies {
        article.body = None;
    }
    article
}

/// The first statement of [`sqlite_page`], as one row: how many match (column 0, counted up to
/// one past [`MAX_RESULTS`]); when more than [`RANKED_WHOLE`], whether each ranked field holds
/// any of the words (columns 1 to 3; else `NULL`); when not, the page ranked whole, packed
/// (column 4, its entries `[[article], body, tier]` in no particular order).
///
/// Binds: the whole query and `conditions`' values twice (the count's walk, the ranking's),
/// the any-word expression once per field, the page's limit and offset, the any-word
/// expression once per field again, and the viewer's id twice when signed in.
///
/// `b` counts the matches: one walk of the main index in rowid order (FTS5 walks a long list
/// backwards at a cost), stopped at the `LIMIT`, its rows not kept, as the capped count of a
/// larger search does. `r` ranks them only when there are 1 to [`RANKED_WHOLE`]: otherwise
/// its rows' `LIMIT` is 0, which SQLite checks before it starts their arms (a `WHERE` on `b`
/// alone is checked row by row there, after each arm's index is opened). Only then are the
/// matches walked again and kept (`m`, read on first use), and each field's own index read
/// between the oldest and the newest of them (FTS5 seeks to a rowid range). An article's tier
/// is the sum of the fields it holds a word in, title 4, tags 2, description 1 (as the tier
/// walk orders them); the 8 of the matches' arm keeps only the matches. A `CASE` runs the
/// probes only when there are more.
fn whole_statement(db: &DbPool, viewer: Option<UserId>, bodies: bool, conditions: &str) -> String {
    let few = format!("n <= {RANKED_WHOLE}");
    let matches = format!(
        "SELECT s.rowid AS id FROM article_search(?) s{}{conditions}",
        where_all(Engine::Sqlite)
    );
    let fields = FIELDS
        .iter()
        .enumerate()
        .map(|(i, (_, table))| {
            format!(
                "SELECT rowid, {} FROM {table}(?) WHERE rowid \
                 BETWEEN (SELECT MIN(id) FROM m) AND (SELECT MAX(id) FROM m)",
                4 >> i
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let probes = FIELDS
        .iter()
        .map(|(_, table)| format!("CASE WHEN NOT {few} THEN EXISTS (SELECT 1 FROM {table}(?)) END"))
        .collect::<Vec<_>>()
        .join(", ");
    let entries = super::select(
        db,
        viewer,
        bodies,
        "p.tier AS tier",
        "page p CROSS JOIN articles a ON a.id = p.id",
    );
    format!(
        "WITH b AS MATERIALIZED (SELECT COUNT(*) AS n FROM ({matches} LIMIT {})), \
         m AS MATERIALIZED ({matches}), \
         r AS (SELECT id, SUM(bit) - 8 AS tier FROM \
         (SELECT id, bit FROM (SELECT id, 8 AS bit FROM m UNION ALL {fields}) \
         LIMIT (SELECT CASE WHEN n > 0 AND {few} THEN -1 ELSE 0 END FROM b)) \
         GROUP BY id HAVING SUM(bit) >= 8), \
         page AS (SELECT id, tier FROM r ORDER BY tier DESC, id DESC LIMIT ? OFFSET ?) \
         SELECT n, {probes}, \
         (SELECT json_group_array(json_array(json_array({}), search_body, tier)) FROM ({entries})) \
         FROM b",
        MAX_RESULTS + 1,
        packed::COLUMNS,
    )
}

async fn mysql_ranked(
    db: &DbPool,
    query: &Query,
    filter: &Filter,
    want: i64,
) -> Result<Vec<i64>, sqlx::Error> {
    let (conditions, binds) = narrowing(filter, "s.id");
    // A match's relevance is above 0 even for a word in every row (MariaDB's is then a tiny
    // positive number, pinned by tests/it/search.rs with a single article).
    let any_in = |column: &str| format!("(MATCH (s.{column}) AGAINST (? IN BOOLEAN MODE) > 0)");
    let rank = format!(
        "CAST({} * 4 + {} * 2 + {} AS SIGNED)",
        any_in(FIELDS[0].0),
        any_in(FIELDS[1].0),
        any_in(FIELDS[2].0)
    );
    let sql = format!(
        "SELECT s.id FROM {MYSQL_MATCHES}{}{conditions} \
         ORDER BY {rank} DESC, s.id DESC LIMIT ?",
        where_all(Engine::MySql)
    );
    let any = query.boolean_any();
    let all = query.boolean_all();
    db_run!(db, |c| {
        bind_values!(
            sqlx::query_scalar::<_, i64>(&sql).bind(all.as_str()),
            &binds
        )
        .bind(any.as_str())
        .bind(any.as_str())
        .bind(any.as_str())
        .bind(want)
        .fetch_all(c)
        .await
    })
}

#[cfg(test)]
mod tests {
    use super::{tier_expression, Query};
    use crate::db::Engine;

    #[test]
    fn a_tier_requires_its_fields_and_excludes_the_others_that_hold_a_word() {
        let q = Query::parse("wor hel", Engine::Sqlite);
        let any = |column: &str| format!(r#"{{{column}}} : ("wor"* OR "hel"*)"#);
        assert_eq!(
            tier_expression(&q, 0b101, [true, true, true]),
            Some(format!(
                r#"(((("wor"* "hel"*)) AND {}) AND {}) NOT {}"#,
                any("title"),
                any("description"),
                any("tag_list")
            ))
        );
        // One word: a field's match is the match, the whole query is not read again.
        let q = Query::parse("wor", Engine::Sqlite);
        assert_eq!(
            tier_expression(&q, 0b100, [true, false, true]).as_deref(),
            Some(r#"({title} : ("wor"*)) NOT {description} : ("wor"*)"#)
        );
        // No tag holds the word: a tier needing tags is empty, and none excludes them.
        assert_eq!(tier_expression(&q, 0b010, [true, false, true]), None);
        assert_eq!(
            tier_expression(&q, 0, [false, false, false]).as_deref(),
            Some(r#"("wor"*)"#)
        );
    }
}
