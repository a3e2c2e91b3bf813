//! MySQL/MariaDB search postings: the words of an article's searched fields as rows of
//! `search_postings` (migration `20261206200001`), one per (word, field, article).
//!
//! A word is what [`super::Query::parse`] reads on MySQL (letters, digits and `_`, lower-cased,
//! NFC, at most [`super::MAX_WORD_CHARS`] characters), folded as the tables' collation folds
//! accents: [`fold`] strips the combining marks of Latin, Greek and Cyrillic letters ("café"
//! is indexed as "cafe") and keeps every other script's (Japanese voicing marks, Indic nukta;
//! Hangul syllables recompose whole).
//!
//! The distinct words indexed per field per article are capped ([`cap`]): a body's first
//! 2,000 distinct words, a title's, the tags' and a description's first 500. So one write
//! adds at most 3,500 rows whatever the size of the text; a word first seen after the cap in
//! a long body is not found by search.
//!
//! An edit writes the difference ([`diff`]): the rows no longer wanted are deleted and the new
//! ones inserted, each by its full primary key, in key order (the same order everywhere, as the
//! Galera rules of the README ask), so an edit does not rewrite an article's unchanged rows.

use std::collections::BTreeSet;

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

use super::MAX_WORD_CHARS;
use crate::db::{ArticleId, TagId};

/// A ranked field, as stored in `search_postings.field` (higher ranks first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Body = 0,
    Description = 1,
    Tags = 2,
    Title = 3,
}

/// The most distinct words indexed in one field of one article.
pub fn cap(field: Field) -> usize {
    match field {
        Field::Body => 2_000,
        Field::Description | Field::Tags | Field::Title => 500,
    }
}

/// One posting of an article: a field and a folded word in it.
pub type Posting = (Field, String);

/// Whether `c` is a letter of the Latin, Greek or Cyrillic blocks, whose accents the MySQL
/// collation ignores.
fn accent_folded_base(c: char) -> bool {
    matches!(
        c,
        '\u{0041}'..='\u{024F}'
            | '\u{1E00}'..='\u{1EFF}'
            | '\u{2C60}'..='\u{2C7F}'
            | '\u{A720}'..='\u{A7FF}'
            | '\u{AB30}'..='\u{AB6F}'
            | '\u{0370}'..='\u{03FF}'
            | '\u{1F00}'..='\u{1FFF}'
            | '\u{0400}'..='\u{052F}'
            | '\u{1C80}'..='\u{1C8F}'
            | '\u{2DE0}'..='\u{2DFF}'
            | '\u{A640}'..='\u{A69F}'
    )
}

/// `word` (lower-cased already) without the accents of Latin, Greek and Cyrillic letters,
/// composed again (NFC).
pub fn fold(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut strip = false;
    for c in word.nfd() {
        if is_combining_mark(c) {
            if !strip {
                out.push(c);
            }
        } else {
            strip = accent_folded_base(c);
            out.push(c);
        }
    }
    out.nfc().collect()
}

/// The distinct folded words of `text`, in the order first seen, at most `max`.
pub fn words(text: &str, max: usize) -> Vec<String> {
    let lower = text.nfc().collect::<String>().to_lowercase();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for word in lower
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
    {
        if out.len() >= max {
            break;
        }
        let word = fold(&word.chars().take(MAX_WORD_CHARS).collect::<String>());
        if !word.is_empty() && seen.insert(word.clone()) {
            out.push(word);
        }
    }
    out
}

/// The postings of an article with these fields (each capped, see [`cap`]).
pub fn of_article(
    title: &str,
    tags: &[String],
    description: &str,
    body: &str,
) -> BTreeSet<Posting> {
    let tags = tags.join(" ");
    [
        (Field::Title, title),
        (Field::Tags, tags.as_str()),
        (Field::Description, description),
        (Field::Body, body),
    ]
    .into_iter()
    .flat_map(|(field, text)| words(text, cap(field)).into_iter().map(move |w| (field, w)))
    .collect()
}

/// The rows to delete and the rows to insert to go from `old` to `new`, each in key order
/// (field, then word, as the primary key `(field, word, article_id)` sorts; a [`Posting`]
/// sorts so already).
pub fn diff(old: &BTreeSet<Posting>, new: &BTreeSet<Posting>) -> (Vec<Posting>, Vec<Posting>) {
    let gone: Vec<Posting> = old.difference(new).cloned().collect();
    let added: Vec<Posting> = new.difference(old).cloned().collect();
    (gone, added)
}

/// The inclusive start and exclusive end of the stored words that begin with `prefix` (as
/// bytes: no UTF-8 text holds the byte 0xFF, so `prefix || 0xFF` is above every such word).
pub fn prefix_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    let start = prefix.as_bytes().to_vec();
    let mut end = start.clone();
    end.push(0xFF);
    (start, end)
}

/// The postings wanted and held, as rows: `(field, word bytes)` pairs back to [`Posting`]s
/// (a stored word is always the UTF-8 this module wrote; anything else is dropped, and so
/// deleted by nothing and re-inserted by nothing).
pub fn from_rows(rows: Vec<(i8, Vec<u8>)>) -> BTreeSet<Posting> {
    rows.into_iter()
        .filter_map(|(field, word)| {
            let field = match field {
                3 => Field::Title,
                2 => Field::Tags,
                1 => Field::Description,
                0 => Field::Body,
                _ => return None,
            };
            Some((field, String::from_utf8(word).ok()?))
        })
        .collect()
}

/// How many rows one `INSERT` or `DELETE` of postings names.
pub const BATCH: usize = 500;

/// The `INSERT` of `n` postings, each bound as `(word, field, article_id)`: the one statement
/// every writer of postings adds them with (an article's edits through [`KeepPostings`], the
/// backfill).
pub fn insert_statement(n: usize) -> String {
    format!(
        "INSERT INTO search_postings (word, field, article_id) VALUES {}",
        vec!["(?, ?, ?)"; n].join(", ")
    )
}

/// A transaction's connection, as far as the search postings go: MySQL's keeps them (they are
/// its search index); SQLite's has nothing to do (its FTS5 triggers keep its index in the same
/// transaction). Called in the transaction of the write it follows, as `(*tx).sync_postings(..)`:
/// which engine runs it is the connection's type, not a value to check.
pub(crate) trait KeepPostings {
    /// Bring article `article`'s postings in step with its fields (`title`, `description`,
    /// `body`; its tags read from the row's `tag_list`, written just before). Its rows are read
    /// by the `(article_id, field, word)` key, the difference computed, and only the changed
    /// rows deleted (by field and word) and inserted, in key order. An article with no rows
    /// (written by an older release) gets all of its postings.
    async fn sync_postings(
        &mut self,
        article: ArticleId,
        title: &str,
        description: &str,
        body: &str,
    ) -> Result<(), sqlx::Error>;

    /// The postings of every article tagged `tag` brought in step with its rewritten
    /// `tag_list` (in article id order): after a tag's rename or delete.
    async fn resync_tagged(&mut self, tag: TagId) -> Result<(), sqlx::Error>;
}

impl KeepPostings for sqlx::SqliteConnection {
    async fn sync_postings(
        &mut self,
        _article: ArticleId,
        _title: &str,
        _description: &str,
        _body: &str,
    ) -> Result<(), sqlx::Error> {
        Ok(())
    }

    async fn resync_tagged(&mut self, _tag: TagId) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

impl KeepPostings for sqlx::MySqlConnection {
    async fn sync_postings(
        &mut self,
        article: ArticleId,
        title: &str,
        description: &str,
        body: &str,
    ) -> Result<(), sqlx::Error> {
        // Locking reads: every writer of an article's postings (its edits, a tag's rename or
        // delete, the backfill) first locks the article's row, so they take turns per article,
        // and each reads the rows as last committed, not its snapshot (a stale read inserted a
        // posting another writer had just added: a duplicate key, a 500). An article deleted by
        // a concurrent transaction has no postings to keep (they went with it): nothing to do,
        // and not an error (the edit that raced it wrote nothing).
        let tag_list: Option<String> =
            sqlx::query_scalar("SELECT tag_list FROM articles WHERE id = ? FOR UPDATE")
                .bind(article)
                .fetch_optional(&mut *self)
                .await?;
        let Some(tag_list) = tag_list else {
            return Ok(());
        };
        let held: Vec<(i8, Vec<u8>)> = sqlx::query_as(
            "SELECT field, word FROM search_postings WHERE article_id = ? ORDER BY field, word \
             FOR UPDATE",
        )
        .bind(article)
        .fetch_all(&mut *self)
        .await?;
        let wanted = of_article(title, &[tag_list], description, body);
        let (gone, added) = diff(&from_rows(held), &wanted);
        for field in [Field::Body, Field::Description, Field::Tags, Field::Title] {
            let words: Vec<&str> = gone
                .iter()
                .filter(|(f, _)| *f == field)
                .map(|(_, w)| w.as_str())
                .collect();
            for chunk in words.chunks(BATCH) {
                let sql = format!(
                    "DELETE FROM search_postings WHERE article_id = ? AND field = ? AND word IN ({})",
                    vec!["?"; chunk.len()].join(", ")
                );
                let mut q = sqlx::query(&sql).bind(article).bind(field as i8);
                for word in chunk {
                    q = q.bind(word.as_bytes());
                }
                q.execute(&mut *self).await?;
            }
        }
        for chunk in added.chunks(BATCH) {
            let sql = insert_statement(chunk.len());
            let mut q = sqlx::query(&sql);
            for (field, word) in chunk {
                q = q.bind(word.as_bytes()).bind(*field as i8).bind(article);
            }
            q.execute(&mut *self).await?;
        }
        Ok(())
    }

    async fn resync_tagged(&mut self, tag: TagId) -> Result<(), sqlx::Error> {
        let ids: Vec<ArticleId> = sqlx::query_scalar(
            "SELECT article_id FROM article_tags WHERE tag_id = ? ORDER BY article_id",
        )
        .bind(tag)
        .fetch_all(&mut *self)
        .await?;
        for article in ids {
            // Deleted since the list was read (a concurrent delete): its postings went with it.
            let text: Option<(String, String, String)> =
                sqlx::query_as("SELECT title, description, body FROM articles WHERE id = ?")
                    .bind(article)
                    .fetch_optional(&mut *self)
                    .await?;
            if let Some((title, description, body)) = text {
                self.sync_postings(article, &title, &description, &body)
                    .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{cap, diff, fold, of_article, prefix_range, words, Field};
    use std::collections::BTreeSet;

    #[test]
    fn folds_latin_greek_and_cyrillic_accents_only() {
        assert_eq!(fold("café"), "cafe");
        assert_eq!(fold("cafe\u{301}"), "cafe");
        assert_eq!(fold("crème"), "creme");
        assert_eq!(fold("ελληνικά"), "ελληνικα");
        assert_eq!(fold("ёлка"), "елка");
        // Japanese voicing marks, Devanagari nukta and Hangul survive.
        assert_eq!(fold("がぎ"), "がぎ");
        assert_eq!(fold("क़लम"), "क़लम".chars().collect::<String>());
        assert!(fold("क़").chars().any(|c| c == '\u{93C}' || c == '\u{958}'));
        assert_eq!(fold("한국어"), "한국어");
    }

    #[test]
    fn words_are_the_query_words_distinct_and_capped() {
        assert_eq!(
            words("Hello, CAFÉ snake_case <b>hello</b> 日本語", 100),
            ["hello", "cafe", "snake_case", "b", "日本語"]
        );
        let long = "x".repeat(500);
        assert_eq!(words(&long, 10)[0].chars().count(), super::MAX_WORD_CHARS);
        let many = (0..5_000)
            .map(|i| format!("w{i} w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(words(&many, cap(Field::Body)).len(), 2_000);
        assert!(words("\"*-+()~@<>^:\0 😀", 10).is_empty());
    }

    #[test]
    fn an_article_is_capped_per_field() {
        let body = (0..10_000)
            .map(|i| format!("b{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let tags = vec!["rust".to_owned(), "web-dev".to_owned()];
        let all = of_article("Rust café", &tags, "desc", &body);
        assert_eq!(all.iter().filter(|p| p.0 == Field::Body).count(), 2_000);
        assert!(all.contains(&(Field::Title, "cafe".to_owned())));
        assert!(all.contains(&(Field::Tags, "dev".to_owned())));
        assert_eq!(all.len(), 2_000 + 2 + 3 + 1);
    }

    #[test]
    fn diff_touches_only_changed_rows_in_key_order() {
        let old = of_article("old title", &[], "same", "zeta alpha");
        let new = of_article("new title", &[], "same", "alpha beta");
        let (gone, added) = diff(&old, &new);
        let s = |f, w: &str| (f, w.to_owned());
        assert_eq!(gone, [s(Field::Body, "zeta"), s(Field::Title, "old")]);
        assert_eq!(added, [s(Field::Body, "beta"), s(Field::Title, "new")]);
        let (gone, added) = diff(&new, &new);
        assert!(gone.is_empty() && added.is_empty());
        assert!(diff(&BTreeSet::new(), &new).1.len() == new.len());
    }

    #[test]
    fn a_prefix_range_holds_exactly_the_words_it_starts() {
        let (start, end) = prefix_range("wor");
        for (word, inside) in [
            ("wor", true),
            ("world", true),
            ("worñ", true),
            ("wos", false),
            ("wo", false),
        ] {
            let w = word.as_bytes();
            assert_eq!(
                w >= start.as_slice() && w < end.as_slice(),
                inside,
                "{word}"
            );
        }
    }
}
