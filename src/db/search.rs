//! Full-text search over articles: the user's words made safe for the engine ([`Query`]) and
//! one page of ranked results ([`search`]), on each engine's own index: SQLite's FTS5 table
//! `article_search` (kept in step with `articles` by triggers) and MariaDB/MySQL's `InnoDB`
//! FULLTEXT indexes (both made by `migrations/*/20261201000001_search.sql`).
//!
//! What matches: every word of the query, each as a prefix (`wor` finds "world"), in any of
//! the title, the tag names, the description and the body. Case and accents are ignored.
//!
//! The order: an article whose title matches a word comes first, then one whose tags do, then
//! one whose description does, then the rest (the words are in its body). The fields add up
//! as the digits of a binary number, title first (a match in the title and the tags ranks
//! above one in the title alone, which ranks above one in the tags, description and body): the
//! same order on both engines, so neither's own relevance score decides. Ties go newest first:
//! by id, which grows with creation, as every list orders (`src/db/articles/list.rs`). On
//! SQLite the ranked ids then come from the index alone: no article row is read until the
//! page's, which keeps a word found in every article from reading every article.

use std::fmt::Write as _;

use sqlx::{FromRow, Row};
use unicode_normalization::UnicodeNormalization;

use crate::db::articles::{columns, Article, ArticleSlice, Filter};
use crate::db::{db_run, DbPool, Engine, UserId};

/// The most characters of a query read; the rest is ignored.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most words searched for; later ones are ignored.
pub const MAX_WORDS: usize = 16;
/// The most characters of one word (a longer one is searched for by its start).
pub const MAX_WORD_CHARS: usize = 64;

/// `InnoDB`'s shortest indexed token (`innodb_ft_min_token_size`, 3 by default).
const MYSQL_MIN_WORD_CHARS: usize = 3;

/// `InnoDB`'s default stopwords (`INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD`): never
/// indexed, so a required one would match nothing at all.
const MYSQL_STOPWORDS: [&str; 36] = [
    "a", "about", "an", "are", "as", "at", "be", "by", "com", "de", "en", "for", "from", "how",
    "i", "in", "is", "it", "la", "of", "on", "or", "that", "the", "this", "to", "was", "what",
    "when", "where", "who", "will", "with", "und", "the", "www",
];

/// How many characters of a body a snippet is looked for in.
macro_rules! snippet_body_chars {
    () => {
        "20000"
    };
}

/// A search query made of the words of what the user typed, ready for either engine.
///
/// Only words are kept: runs of letters and digits (on MySQL also `_`, which its parser counts
/// as part of a word), lower-cased. Everything else (quotes, `*`, `-`, `+`, `(`, `)`, `:`,
/// `^`, `@`, `~`, `<`, `>`, markup, control characters, emoji) only separates words, so no
/// input is read as search syntax; `NEAR`, `AND`, `OR` and `NOT` are words like any other (each
/// engine receives every word quoted or as a plain prefix term). At most [`MAX_QUERY_CHARS`]
/// characters, [`MAX_WORDS`] words of [`MAX_WORD_CHARS`] each are read.
///
/// One-letter words are left out when a longer word is typed (each would be a prefix of a
/// large part of the vocabulary). On MySQL, words `InnoDB` does not index (shorter than 3 characters, or one of its stopwords
/// such as "the" or "with") are left out, since requiring one would find nothing; when only
/// such words are typed they are kept, as prefixes of longer words ("go" finds "golang", not
/// the word "go" itself). SQLite indexes every word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    words: Vec<String>,
}

impl Query {
    /// The words of `q` for a search on `engine` (see [`Query`]).
    pub fn parse(q: &str, engine: Engine) -> Self {
        let head: String = q.chars().take(MAX_QUERY_CHARS).nfc().collect();
        let lower = head.to_lowercase();
        let in_word = |c: char| c.is_alphanumeric() || (engine == Engine::MySql && c == '_');
        let mut words: Vec<String> = Vec::new();
        for word in lower.split(|c: char| !in_word(c)).filter(|w| !w.is_empty()) {
            let word: String = word.chars().take(MAX_WORD_CHARS).collect();
            if !words.contains(&word) {
                words.push(word);
            }
        }
        // A one-letter prefix matches a large part of the vocabulary: kept only when nothing
        // longer was typed (so `q=a b c ... p` is not sixteen such expansions).
        if words.iter().any(|w| w.chars().nth(1).is_some()) {
            words.retain(|w| w.chars().nth(1).is_some());
        }
        if engine == Engine::MySql {
            let indexed: Vec<String> = words
                .iter()
                .filter(|w| {
                    w.chars().count() >= MYSQL_MIN_WORD_CHARS
                        && !MYSQL_STOPWORDS.contains(&w.as_str())
                })
                .cloned()
                .collect();
            if !indexed.is_empty() {
                words = indexed;
            }
        }
        words.truncate(MAX_WORDS);
        Self { words }
    }

    /// The words searched for, lower-cased, each matched as a prefix.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Whether nothing is left to search for (a search for it finds nothing).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// FTS5: every word as a quoted prefix (`"wor"* "hel"*`, implicitly AND). A quoted string
    /// is never an operator or a column name; a `"` inside (never, as words are made) would be
    /// doubled.
    fn fts5_all(&self) -> String {
        self.fts5_terms().join(" ")
    }

    /// FTS5: any word in `column` (`{title} : ("wor"* OR "hel"*)`).
    fn fts5_any_in(&self, column: &str) -> String {
        format!("{{{column}}} : ({})", self.fts5_terms().join(" OR "))
    }

    fn fts5_terms(&self) -> Vec<String> {
        self.words
            .iter()
            .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
            .collect()
    }

    /// `InnoDB` boolean mode: every word required, as a prefix (`+wor* +hel*`).
    fn boolean_all(&self) -> String {
        self.words
            .iter()
            .map(|w| format!("+{w}*"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `InnoDB` boolean mode: any word, as a prefix (`wor* hel*`).
    fn boolean_any(&self) -> String {
        self.words
            .iter()
            .map(|w| format!("{w}*"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A value bound to a filter's `?`.
enum Value {
    Int(i64),
    Text(String),
}

/// The filter's conditions on the article id `id`, each ` AND <id> IN (...)`, and their values.
/// The subqueries read the same indexes the lists do (`src/db/articles/list.rs`).
fn narrowing(filter: &Filter, id: &str) -> (String, Vec<Value>) {
    let mut sql = String::new();
    let mut values = Vec::new();
    let mut add = |subquery: &str, value: Value| {
        let _ = write!(sql, " AND {id} IN ({subquery})");
        values.push(value);
    };
    if let Some(tag) = &filter.tag {
        add(
            "SELECT ft.article_id FROM article_tags ft JOIN tags t ON t.id = ft.tag_id WHERE t.name = ?",
            Value::Text(tag.clone()),
        );
    }
    if let Some(author) = &filter.author {
        add(
            "SELECT aa.id FROM articles aa JOIN users au ON au.id = aa.author_id WHERE au.username = ?",
            Value::Text(author.clone()),
        );
    }
    if let Some(user) = &filter.favorited_by {
        add(
            "SELECT f.article_id FROM favorites f JOIN users fu ON fu.id = f.user_id WHERE fu.username = ?",
            Value::Text(user.clone()),
        );
    }
    if let Some(reader) = filter.feed_of {
        add(
            "SELECT fe.article_id FROM feed_entries fe WHERE fe.user_id = ?",
            Value::Int(reader.get()),
        );
    }
    (sql, values)
}

/// `$query` with each [`Value`] of `$values` bound in order.
macro_rules! bind_all {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                Value::Int(v) => query.bind(*v),
                Value::Text(v) => query.bind(v.as_str()),
            };
        }
        query
    }};
}

/// The statements of one search: the matches' count, and the ids of one page with their rank
/// (the per-field match strings are bound first, then the whole query, then the filter).
struct Statements {
    total: String,
    ids: String,
}

fn statements(engine: Engine, filter: &Filter) -> (Statements, Vec<Value>) {
    match engine {
        Engine::Sqlite => {
            // The table-valued form (`article_search(?)`) is FTS5's `MATCH`, with an alias.
            let (count_cond, values) = narrowing(filter, "ca.rowid");
            let (cond, _) = narrowing(filter, "s.rowid");
            // Each `?` here is bound to one field's query (`{title} : (...)`, see
            // [`match_strings`]): title, tags, description.
            let any_in = "(s.rowid IN (SELECT rowid FROM article_search(?)))";
            let rank = format!("{any_in} * 4 + {any_in} * 2 + {any_in}");
            (
                Statements {
                    total: format!(
                        "(SELECT COUNT(*) FROM article_search(?) ca WHERE 1 = 1{count_cond})"
                    ),
                    ids: format!(
                        "SELECT s.rowid AS id, {rank} AS search_rank \
                         FROM article_search(?) s WHERE 1 = 1{cond} \
                         ORDER BY search_rank DESC, id DESC LIMIT ? OFFSET ?"
                    ),
                },
                values,
            )
        }
        Engine::MySql => {
            const ALL: &str = "MATCH ({t}.title, {t}.tag_list, {t}.description, {t}.body) AGAINST (? IN BOOLEAN MODE)";
            let (count_cond, values) = narrowing(filter, "ca.id");
            let (cond, _) = narrowing(filter, "sa.id");
            // A match's relevance is above 0 even for a word in every row (MariaDB's is then
            // a tiny positive number, pinned by tests/it/search.rs with a single article).
            let any_in =
                |column: &str| format!("(MATCH (sa.{column}) AGAINST (? IN BOOLEAN MODE) > 0)");
            let rank = format!(
                "CAST({} * 4 + {} * 2 + {} AS SIGNED)",
                any_in("title"),
                any_in("tag_list"),
                any_in("description")
            );
            (
                Statements {
                    total: format!(
                        "(SELECT COUNT(*) FROM articles ca WHERE {}{count_cond})",
                        ALL.replace("{t}", "ca")
                    ),
                    ids: format!(
                        "SELECT sa.id AS id, {rank} AS search_rank \
                         FROM articles sa WHERE {}{cond} \
                         ORDER BY search_rank DESC, id DESC LIMIT ? OFFSET ?",
                        ALL.replace("{t}", "sa")
                    ),
                },
                values,
            )
        }
    }
}

/// The whole query and the per-field ones (title, tags, description) in `engine`'s syntax.
fn match_strings(query: &Query, engine: Engine) -> (String, [String; 3]) {
    match engine {
        Engine::Sqlite => (
            query.fts5_all(),
            [
                query.fts5_any_in("title"),
                query.fts5_any_in("tag_list"),
                query.fts5_any_in("description"),
            ],
        ),
        Engine::MySql => {
            let any = query.boolean_any();
            (query.boolean_all(), [any.clone(), any.clone(), any])
        }
    }
}

/// How many articles match `query` and `filter`.
pub async fn count(db: &DbPool, query: &Query, filter: &Filter) -> Result<i64, sqlx::Error> {
    if query.is_empty() {
        return Ok(0);
    }
    let (Statements { total, .. }, values) = statements(db.engine(), filter);
    let (all, _) = match_strings(query, db.engine());
    let sql = format!("SELECT CAST({total} AS SIGNED)");
    db_run!(db, |c| {
        bind_all!(
            sqlx::query_scalar::<_, i64>(&sql).bind(all.as_str()),
            &values
        )
        .fetch_one(c)
        .await
    })
}

/// One page of the articles matching `query` (every word, as a prefix) and `filter`, in the
/// order described in this module's docs, as `viewer` sees them, `limit` from `offset`, with
/// the total: one statement. With `bodies`, each article's body is read too (for snippets).
/// An empty query finds nothing, without asking the database.
pub async fn search(
    db: &DbPool,
    query: &Query,
    filter: &Filter,
    viewer: Option<UserId>,
    limit: i64,
    offset: i64,
    bodies: bool,
) -> Result<ArticleSlice, sqlx::Error> {
    if query.is_empty() {
        return Ok(ArticleSlice::default());
    }
    let engine = db.engine();
    let (Statements { total, ids }, values) = statements(engine, filter);
    let (all, fields) = match_strings(query, engine);
    let (columns, viewer_joins) = match viewer {
        Some(_) => (
            columns::VIEWER.sql(engine),
            " LEFT JOIN follows fo ON fo.follower_id = ? AND fo.followee_id = a.author_id \
             LEFT JOIN favorites fv ON fv.user_id = ? AND fv.article_id = a.id",
        ),
        None => (columns::ANONYMOUS.sql(engine), ""),
    };
    // A snippet needs the stretch around a word, not a whole body (up to the 2 MiB a request
    // may carry): the first `SNIPPET_BODY_CHARS` characters are read and parsed, whatever the
    // article's size.
    let body = if bodies {
        concat!("SUBSTR(a.body, 1, ", snippet_body_chars!(), ")")
    } else {
        "''"
    };
    // STRAIGHT_JOIN (MySQL) and CROSS JOIN (SQLite) keep the page's ids first, then one row
    // each, as the lists do.
    let straight = if engine == Engine::MySql {
        "STRAIGHT_JOIN "
    } else {
        ""
    };
    let sql = format!(
        "{columns}, {total} AS total, {body} AS search_body, page.search_rank AS search_rank \
         FROM ({ids}) page \
         CROSS JOIN articles a ON a.id = page.id CROSS JOIN users u ON u.id = a.author_id{viewer_joins}"
    )
    .replacen("SELECT ", &format!("SELECT {straight}"), 1);
    let mut rows: Vec<(Article, i64)> = db_run!(db, |c| {
        let mut q = bind_all!(sqlx::query(&sql).bind(all.as_str()), &values);
        for field in &fields {
            q = q.bind(field.as_str());
        }
        q = bind_all!(q.bind(all.as_str()), &values);
        q = q.bind(limit).bind(offset);
        if let Some(viewer) = viewer {
            q = q.bind(viewer).bind(viewer);
        }
        q.fetch_all(c).await.and_then(|rows| {
            rows.iter()
                .map(|row| {
                    let mut article = Article::from_row(row)?;
                    if bodies {
                        article.body = Some(row.try_get(15)?);
                    }
                    Ok((article, row.try_get::<i64, _>(16)?))
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
        })
    })?;
    // A join does not promise to keep the page's order: put the rows back in it.
    rows.sort_unstable_by(|(a, rank_a), (b, rank_b)| (rank_b, b.id).cmp(&(rank_a, a.id)));
    let total = match rows.first() {
        Some((first, _)) => first.total.unwrap_or_default(),
        None if offset > 0 => count(db, query, filter).await?,
        None => 0,
    };
    let mut slice = ArticleSlice::default();
    slice.articles = rows.into_iter().map(|(a, _)| a.with_tags()).collect();
    slice.total = total;
    Ok(slice)
}

#[cfg(test)]
mod tests {
    use super::{Query, MAX_WORDS, MAX_WORD_CHARS};
    use crate::db::Engine;

    fn words(q: &str, engine: Engine) -> Vec<String> {
        Query::parse(q, engine).words().to_vec()
    }

    #[test]
    fn only_words_are_kept_lower_cased_and_once() {
        for engine in [Engine::Sqlite, Engine::MySql] {
            assert_eq!(
                words(
                    r#"  "Hello" +World* -(rust): ^NEAR AND/OR NOT ~x<y>z @me hello"#,
                    engine
                )
                .into_iter()
                .filter(|w| w.len() >= 3)
                .collect::<Vec<_>>(),
                ["hello", "world", "rust", "near", "and", "not"],
                "{engine:?}"
            );
            assert!(Query::parse("\"*-+()~@<>^:\0 😀", engine).is_empty());
            assert!(Query::parse("", engine).is_empty());
            assert_eq!(words("Café CRÈME", engine), ["café", "crème"]);
            assert_eq!(words("日本語", engine), ["日本語"]);
        }
        // Decomposed accents are composed first, so the word stays whole.
        assert_eq!(words("cafe\u{301}", Engine::Sqlite), ["café"]);
    }

    #[test]
    fn long_input_is_capped() {
        let q = Query::parse(&"word ".repeat(10_000), Engine::Sqlite);
        assert_eq!(q.words(), ["word"]);
        let many = (0..100)
            .map(|i| format!("w{i:03}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(Query::parse(&many, Engine::Sqlite).words().len(), MAX_WORDS);
        let long = Query::parse(&"x".repeat(500), Engine::Sqlite);
        assert_eq!(long.words()[0].chars().count(), MAX_WORD_CHARS);
    }

    #[test]
    fn mysql_leaves_out_words_it_does_not_index_unless_nothing_else_is_left() {
        assert_eq!(words("the go rust book", Engine::MySql), ["rust", "book"]);
        assert_eq!(
            words("the go rust book", Engine::Sqlite),
            ["the", "go", "rust", "book"]
        );
        assert_eq!(words("go", Engine::MySql), ["go"]);
        assert_eq!(words("snake_case", Engine::MySql), ["snake_case"]);
        assert_eq!(words("snake_case", Engine::Sqlite), ["snake", "case"]);
    }

    #[test]
    fn one_letter_words_count_only_when_nothing_longer_is_typed() {
        for engine in [Engine::Sqlite, Engine::MySql] {
            let alphabet = "a b c d e f g h i j k l m n o p";
            assert_eq!(
                words(&format!("{alphabet} rust"), engine),
                ["rust"],
                "{engine:?}"
            );
            assert_eq!(words("c", engine), ["c"], "{engine:?}");
        }
        assert_eq!(words("c go", Engine::Sqlite), ["go"]);
    }

    #[test]
    fn engine_syntax_quotes_every_word() {
        let q = Query::parse("near wor", Engine::Sqlite);
        assert_eq!(q.fts5_all(), r#""near"* "wor"*"#);
        assert_eq!(q.fts5_any_in("title"), r#"{title} : ("near"* OR "wor"*)"#);
        let q = Query::parse("near wor", Engine::MySql);
        assert_eq!(q.boolean_all(), "+near* +wor*");
        assert_eq!(q.boolean_any(), "near* wor*");
    }
}
