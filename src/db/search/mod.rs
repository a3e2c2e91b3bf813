//! Full-text search over articles: the user's words made safe for the engine ([`Query`]) and
//! one page of ranked results ([`search`]), on each engine's own index: SQLite's FTS5 tables
//! (`article_search` over every searched field and one small one per ranked field, kept in
//! step with `articles` by triggers) and MariaDB/MySQL's search postings (`search_postings`,
//! one row per word, field and article, kept by every article write: `postings.rs`), with
//! the `InnoDB` FULLTEXT indexes (`migrations/*/20261201000001_search.sql` and
//! `20261203200001_search_fields.sql`) as the fallback while the postings are backfilled.
//!
//! What matches: every word of the query, each as a prefix (`wor` finds "world"), in any of
//! the title, the tag names, the description and the body. Case and accents are ignored.
//! Every word counts on both engines, stopwords and two-letter words included (on MySQL the
//! FULLTEXT fallback alone keeps `InnoDB`'s rules: `Query::for_fulltext`).
//!
//! The order: an article whose title matches a word comes first, then one whose tags do, then
//! one whose description does, then the rest (the words are in its body). The fields add up
//! as the digits of a binary number, title first (a match in the title and the tags ranks
//! above one in the title alone, which ranks above one in the tags, description and body): the
//! same order on both engines, so neither's own relevance score decides. Ties go newest first:
//! by id, which grows with creation, as every list orders (`src/db/articles/list.rs`).
//!
//! The caps ([`MAX_RESULTS`]): a search reaches its first 1,000 results in that order and
//! counts its matches up to 1,000 ([`Found::more`] past that). A page past them is empty, and
//! costs no ranking. So a word found in every article never ranks or counts all of them.
//!
//! How a page is found (`ranked.rs`): on SQLite, one statement counts the matches up to the
//! cap; when there are 1 to [`RANKED_WHOLE`] (rare words), it ranks them whole, each field's
//! own index saying which of them hold a word there, and returns the page with its articles. With more, the page is read tier by tier, best first, each tier's ids
//! newest first from the index, stopping once the page is full; a tier of a field that holds
//! none of the words (which the first statement asked) is never read. That is a second
//! statement (the tiers as one `UNION ALL` that SQLite stops reading at its `LIMIT`, joined to
//! the page's articles). What a common word still costs is FTS5 gathering each long prefix's
//! matches apart, each time the word appears in an expression.
//!
//! On MySQL (`posted.rs`) words with few postings (at most 500 in all) are read whole in one
//! statement and ranked in Rust; otherwise the same walk over the postings: a probe of each
//! word's postings per field (capped counts over prefix ranges of the primary key), then the
//! tiers best first, each read from the shortest list of postings that drives it or, for
//! common words, by walking the articles newest first and checking each through the
//! `(article_id, field, word)` key, stopping once the page is full; at most 11 statements.
//! Each of those statements reads at most `search_rows_examined` rows (MariaDB's `LIMIT ROWS
//! EXAMINED`): words each common but seldom together would otherwise walk the whole table; cut
//! short, the search returns what it found, marked [`Found::partial`]. (`InnoDB`'s FULLTEXT,
//! the fallback, gathers a word's whole list of matches whatever the `LIMIT`.) What a search
//! costs on both engines at 50,000 articles is measured by `bench/scale` (`bench/RESULTS.md`).
//!
//! Articles written without postings (before the migration, or by the previous release during
//! a rolling upgrade) are indexed by a background task (`backfill.rs`); until it has caught up,
//! MySQL's searches use FULLTEXT, so no result is silently missing. One caveat of that
//! fallback, MariaDB's own: right after many rows are written, a FULLTEXT statement can, now
//! and then, find none or fewer of the matches (seen with MariaDB 10.11 in plain SQL, under
//! load: one `COUNT(*) ... MATCH` of 360 run right after a 1,004-row insert answered 0,
//! the next one the full count; most likely its full-text cache being synced to disk while the
//! statement reads it). The postings, written in the article's own transaction, do not have it.

pub mod backfill;
mod posted;
pub mod postings;
mod ranked;

use std::collections::HashMap;

use sqlx::FromRow;
use unicode_normalization::UnicodeNormalization;

use crate::db::articles::{columns, Article, ArticleSlice, Filter};
use crate::db::{db_run, DbPool, Engine, UserId};
use ranked::Ranked;
pub use ranked::RANKED_WHOLE;

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
/// large part of the vocabulary). Every other word is searched for on both engines: SQLite's
/// FTS5 and MySQL's postings index every word, stopwords and two-letter words included ("go"
/// finds the word "go" and "golang"). Only MySQL's FULLTEXT fallback, used while the postings
/// are backfilled, leaves out the words `InnoDB` does not index (see `for_fulltext`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    words: Vec<String>,
}

/// Whether SQLite's `unicode61` tokenizer keeps `c` inside a word (its default categories,
/// letters, numbers and private use). Rust's alphanumerics also hold the combining marks of
/// the `Other_Alphabetic` property (the vowel signs of Devanagari, Thai, Tamil and others) and
/// a few letter-like symbols (circled and squared Latin letters), at which FTS5 splits a word:
/// kept in one quoted term, such a word would be a phrase, which the search tables (`detail =
/// column`) refuse with an error. Split here as FTS5 splits, they are words that match.
fn fts5_word_char(c: char) -> bool {
    c.is_alphanumeric()
        && !unicode_normalization::char::is_combining_mark(c)
        && !matches!(
            c,
            '\u{24B6}'..='\u{24E9}'
                | '\u{1F130}'..='\u{1F149}'
                | '\u{1F150}'..='\u{1F169}'
                | '\u{1F170}'..='\u{1F189}'
        )
}

impl Query {
    /// The words of `q` for a search on `engine` (see [`Query`]).
    pub fn parse(q: &str, engine: Engine) -> Self {
        let head: String = q.chars().take(MAX_QUERY_CHARS).nfc().collect();
        let lower = head.to_lowercase();
        let in_word = |c: char| match engine {
            Engine::Sqlite => fts5_word_char(c),
            Engine::MySql => c.is_alphanumeric() || c == '_',
        };
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
        words.truncate(MAX_WORDS);
        Self { words }
    }

    /// The words `InnoDB`'s FULLTEXT indexes can find, for MySQL's fallback search (while the
    /// postings are being backfilled): words it does not index (shorter than 3 characters,
    /// or one of its stopwords such as "the" or "with") are left out, since requiring one
    /// would find nothing; when only such words are typed they are kept, as prefixes of
    /// longer words ("go" finds "golang", not the word "go" itself).
    fn for_fulltext(&self) -> Self {
        let indexed: Vec<String> = self
            .words
            .iter()
            .filter(|w| {
                w.chars().count() >= MYSQL_MIN_WORD_CHARS && !MYSQL_STOPWORDS.contains(&w.as_str())
            })
            .cloned()
            .collect();
        if indexed.is_empty() {
            self.clone()
        } else {
            Self { words: indexed }
        }
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

/// The most results a search reaches, and the most matches it counts.
pub const MAX_RESULTS: i64 = 1_000;

/// One page of a search.
#[derive(Debug, Default)]
pub struct Found {
    /// The articles on this page, in rank order.
    pub articles: Vec<Article>,
    /// How many articles match, up to [`MAX_RESULTS`] (when `partial`, how many were found).
    pub total: i64,
    /// Whether more than [`MAX_RESULTS`] match (`total` is then [`MAX_RESULTS`]).
    pub more: bool,
    /// Whether the search stopped at its bound on rows read (MySQL's postings, see
    /// `posted.rs`): more articles may match than were found, and the page holds the ones
    /// found in rank order.
    pub partial: bool,
}

impl From<Found> for ArticleSlice {
    fn from(found: Found) -> Self {
        let mut slice = ArticleSlice::default();
        slice.articles = found.articles;
        slice.total = found.total;
        slice
    }
}

/// One page of the articles matching `query` (every word, as a prefix) and `filter`, in the
/// order described in this module's docs, as `viewer` sees them, `limit` from `offset`, with
/// the total (see [`MAX_RESULTS`]). With `bodies`, each article's body is read too (for
/// snippets). An empty query finds nothing, without asking the database. `rows_examined`:
/// on MySQL's postings, the most rows each statement may read (see [`Found::partial`]).
#[allow(clippy::too_many_arguments)]
pub async fn search(
    db: &DbPool,
    query: &Query,
    filter: &Filter,
    viewer: Option<UserId>,
    limit: i64,
    offset: i64,
    bodies: bool,
    rows_examined: u64,
) -> Result<Found, sqlx::Error> {
    if query.is_empty() {
        return Ok(Found::default());
    }
    let end = offset.saturating_add(limit.max(0)).min(MAX_RESULTS);
    if let Some(found) = from_postings(
        db,
        query,
        filter,
        viewer,
        bodies,
        end,
        offset,
        rows_examined,
    )
    .await?
    {
        return Ok(found);
    }
    // MySQL while the postings are being backfilled: the FULLTEXT indexes, with their rules.
    let fulltext;
    let query = if db.engine() == Engine::MySql {
        fulltext = query.for_fulltext();
        &fulltext
    } else {
        query
    };
    // The page, and how many match ([`Ranked`]: counted, or ranked up to `end`). Past the
    // results nothing is ranked.
    let (articles, ranked) = if end <= offset.max(0) {
        (Vec::new(), Ranked::UpTo(None))
    } else if db.engine() == Engine::Sqlite {
        ranked::sqlite_page(db, query, filter, viewer, bodies, end, offset).await?
    } else {
        let ranked = ranked::ids(db, query, filter, end).await?;
        let found = i64::try_from(ranked.len()).unwrap_or(i64::MAX);
        let skip = usize::try_from(offset.clamp(0, found)).unwrap_or_default();
        let page = ranked.get(skip..).unwrap_or_default();
        (
            articles(db, page, viewer, bodies).await?,
            Ranked::UpTo(Some(found)),
        )
    };
    // Counted, or fewer than asked for: that is all of them. Otherwise count, up to one past
    // the cap.
    let counted = match ranked {
        Ranked::Counted(counted) => counted,
        Ranked::UpTo(Some(found)) if found < end => found,
        Ranked::UpTo(_) => ranked::count(db, query, filter, MAX_RESULTS + 1).await?,
    };
    Ok(Found {
        articles,
        total: counted.min(MAX_RESULTS),
        more: counted > MAX_RESULTS,
        partial: false,
    })
}

/// MySQL: the page from the postings (`posted.rs`); `None` on SQLite, and on MySQL while the
/// backfill has not caught up.
#[allow(clippy::too_many_arguments)]
async fn from_postings(
    db: &DbPool,
    query: &Query,
    filter: &Filter,
    viewer: Option<UserId>,
    bodies: bool,
    end: i64,
    offset: i64,
    rows_examined: u64,
) -> Result<Option<Found>, sqlx::Error> {
    let crate::db::pool::Backend::MySql(pool) = db.backend() else {
        return Ok(None);
    };
    let offset = offset.max(0);
    // Past the results only the count is wanted.
    let end = if end > offset { end } else { 0 };
    let mut held = pool.acquire().await?;
    let result = posted::ranked(
        held.conn(),
        query,
        filter,
        end,
        MAX_RESULTS + 1,
        rows_examined,
    )
    .await;
    held.finish(&result);
    let Some(ranked) = result? else {
        return Ok(None);
    };
    let found = i64::try_from(ranked.ids.len()).unwrap_or(i64::MAX);
    let skip = usize::try_from(offset.min(found)).unwrap_or_default();
    let page = ranked.ids.get(skip..).unwrap_or_default();
    let articles = articles(db, page, viewer, bodies).await?;
    let counted = match ranked.counted {
        _ if found < end && !ranked.partial => found,
        Some(counted) => counted.max(found),
        None => found,
    };
    Ok(Some(Found {
        articles,
        total: counted.min(MAX_RESULTS),
        more: counted > MAX_RESULTS && !ranked.partial,
        partial: ranked.partial,
    }))
}

/// SQLite's search indexes (FTS5 tables), each merged by [`merge_segments`].
const SQLITE_INDEXES: [&str; 4] = [
    "article_search",
    "article_search_title",
    "article_search_tags",
    "article_search_description",
];

/// SQLite: one step of merging the search indexes' segments, writing at most about `pages`
/// pages to each (FTS5's `merge` command; migration `20261205000001` lets it join any two
/// segments of a level). Each write adds a segment to every index and each searched word is
/// looked up in every segment, so the maintenance task (`crate::housekeeping`) runs this
/// now and then: the indexes settle at one or two segments. A no-op on MySQL.
pub async fn merge_segments(db: &DbPool, pages: u32) -> Result<(), sqlx::Error> {
    let crate::db::pool::Backend::Sqlite(pool) = db.backend() else {
        return Ok(());
    };
    let mut held = pool.acquire().await?;
    let mut result = Ok(());
    for table in SQLITE_INDEXES {
        result = sqlx::query(&format!(
            "INSERT INTO {table} ({table}, rank) VALUES ('merge', ?)"
        ))
        .bind(pages)
        .execute(held.conn())
        .await
        .map(|_| ());
        if result.is_err() {
            break;
        }
    }
    held.finish(&result);
    result
}

/// How many characters of a body a snippet is looked for in.
macro_rules! snippet_body_chars {
    () => {
        "20000"
    };
}

/// The select list and joins of a page of results as `viewer` sees them: the article
/// columns, `extra` (column 14: an expression with its alias, such as `NULL AS total`) and,
/// with `bodies`, the start of each body as `search_body` (else `''`), `FROM` `from` (which
/// names the article `a`). The viewer's id is bound twice, in the joins.
fn select(db: &DbPool, viewer: Option<UserId>, bodies: bool, extra: &str, from: &str) -> String {
    let (columns, viewer_joins) = match viewer {
        Some(_) => (
            columns::VIEWER.sql(db.engine()),
            " LEFT JOIN follows fo ON fo.follower_id = ? AND fo.followee_id = a.author_id \
             LEFT JOIN favorites fv ON fv.user_id = ? AND fv.article_id = a.id",
        ),
        None => (columns::ANONYMOUS.sql(db.engine()), ""),
    };
    // A snippet needs the stretch around a word, not a whole body (up to the 2 MiB a request
    // may carry): the first characters are read and parsed, whatever the article's size.
    let body = if bodies {
        concat!("SUBSTR(a.body, 1, ", snippet_body_chars!(), ")")
    } else {
        "''"
    };
    format!(
        "{columns}, {extra}, {body} AS search_body \
         FROM {from} CROSS JOIN users u ON u.id = a.author_id{viewer_joins}"
    )
}

/// One row of [`select`] as an article (its body set when `bodies`, its tags split).
fn decode<'r, R>(row: &'r R, bodies: bool) -> Result<Article, sqlx::Error>
where
    R: sqlx::Row,
    Article: FromRow<'r, R>,
    &'static str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut article = Article::from_row(row)?;
    if bodies {
        article.body = Some(row.try_get("search_body")?);
    }
    Ok(article.with_tags())
}

/// The articles `ids`, in that order, as `viewer` sees them (with the start of each body
/// when `bodies`): one statement.
async fn articles(
    db: &DbPool,
    ids: &[i64],
    viewer: Option<UserId>,
    bodies: bool,
) -> Result<Vec<Article>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let sql = format!(
        "{} WHERE a.id IN ({marks})",
        select(db, viewer, bodies, "NULL AS total", "articles a")
    );
    let mut rows: Vec<Article> = db_run!(db, |c| {
        let mut q = sqlx::query(&sql);
        if let Some(viewer) = viewer {
            q = q.bind(viewer).bind(viewer);
        }
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_all(c)
            .await
            .and_then(|rows| rows.iter().map(|row| decode(row, bodies)).collect())
    })?;
    // The statement does not keep the ranked order: put the rows back in it.
    let rank: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    rows.sort_unstable_by_key(|a| rank.get(&a.id.get()).copied().unwrap_or(usize::MAX));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::{Query, MAX_WORDS, MAX_WORD_CHARS};
    use crate::db::Engine;

    fn words(q: &str, engine: Engine) -> Vec<String> {
        Query::parse(q, engine).words().to_vec()
    }

    #[test]
    fn sqlite_splits_words_where_fts5_does_at_combining_marks_and_letter_symbols() {
        // Vowel signs (U+093E, U+0E31, U+0E35) and a circled letter are alphanumeric to Rust
        // but split words in FTS5's unicode61; MySQL keeps its own word rule.
        assert_eq!(words("कार", Engine::Sqlite), ["क", "र"]);
        assert_eq!(words("สวัสดี", Engine::Sqlite), ["สว", "สด"]);
        assert_eq!(words("Ⓐbc", Engine::Sqlite), ["bc"]);
        assert_eq!(words("e\u{301}te\u{301}", Engine::Sqlite), ["été"]);
        assert_eq!(words("कार", Engine::MySql), ["कार"]);
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
    fn every_word_is_searched_on_both_engines_and_fulltext_keeps_its_own_rules() {
        for engine in [Engine::Sqlite, Engine::MySql] {
            assert_eq!(
                words("the go rust book", engine),
                ["the", "go", "rust", "book"],
                "{engine:?}"
            );
        }
        // MySQL's FULLTEXT fallback (while the postings are backfilled) leaves out what
        // InnoDB does not index, unless nothing else is left.
        let fulltext = |q: &str| Query::parse(q, Engine::MySql).for_fulltext().words;
        assert_eq!(fulltext("the go rust book"), ["rust", "book"]);
        assert_eq!(fulltext("go"), ["go"]);
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
