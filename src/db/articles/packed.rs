//! SQLite: a list page handed over as one JSON value instead of one row per article.
//!
//! sqlx's SQLite driver runs each connection's statements on a thread of its own and sends
//! every row back through a channel, copying each of the row's values and freeing them again.
//! For a page of articles that per-row work was the largest part of a list request outside
//! SQLite itself (`bench/NOTES-speed.md` has the measurements). SQLite's own
//! `json_group_array(json_array(..))` packs the page into one text value instead, which
//! `serde_json` reads into the same [`Article`]s. `tests/it/api.rs`
//! (`list_pages_carry_any_text_and_every_flag_exactly_as_the_article_itself`) checks every field
//! of hostile text and every flag against the article read alone, which reads its row by sqlx.
//!
//! The timestamps come as the text the rows hold, read with chrono ([`stamp`]); flags are
//! SQLite's 0 and 1.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use super::Article;

/// The columns of a list row (`super::columns`, read by name from its subquery) as one JSON
/// array each, in [`Packed`]'s order.
pub(crate) const COLUMNS: &str = "id, slug, title, description, created_at, updated_at, \
    author_id, author_username, author_bio, author_image, favorites_count, tag_names, \
    following, favorited";

/// One article of a packed page, as [`COLUMNS`] lists it: read straight into an [`Article`]
/// by [`PackedVisitor`] (its timestamps parsed from the page's own text, no copy made first).
struct Packed(Article);

impl<'de> Deserialize<'de> for Packed {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(PackedVisitor)
    }
}

/// Reads one [`Packed`] row: its values in [`COLUMNS`]' order. A row with fewer values is an
/// error; `serde_json` rejects one with more (the array must end after the last).
struct PackedVisitor;

impl<'de> Visitor<'de> for PackedVisitor {
    type Value = Packed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of the {COLUMNS_COUNT} columns of an article")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Packed, A::Error> {
        // The value at `$index`, or an error naming how many the row had.
        macro_rules! next {
            ($index:literal) => {
                seq.next_element()?
                    .ok_or_else(|| de::Error::invalid_length($index, &self))?
            };
        }
        let id = next!(0);
        let slug = next!(1);
        let title = next!(2);
        let description = next!(3);
        let Stamp(created_at) = next!(4);
        let Stamp(updated_at) = next!(5);
        let author_id = next!(6);
        let author_username = next!(7);
        let author_bio = next!(8);
        let author_image = next!(9);
        let favorites_count = next!(10);
        let tag_names = next!(11);
        let following: u8 = next!(12);
        let favorited: u8 = next!(13);
        Ok(Packed(Article {
            id,
            slug,
            title,
            description,
            body: None,
            created_at,
            updated_at,
            author_id,
            author_username,
            author_bio,
            author_image,
            following: following != 0,
            favorites_count,
            favorited: favorited != 0,
            tags: Vec::new(),
            tag_names,
            total: None,
        }))
    }
}

/// How many values [`COLUMNS`] names.
const COLUMNS_COUNT: usize = 14;

/// A timestamp of a packed row, read from the page's text as it stands ([`stamp`]).
struct Stamp(DateTime<Utc>);

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StampVisitor;
        impl Visitor<'_> for StampVisitor {
            type Value = Stamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a timestamp as text")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Stamp, E> {
                stamp(text).map(Stamp).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(StampVisitor)
    }
}

/// A timestamp as SQLite holds it: RFC 3339 as the app writes it (`2026-01-02T03:04:05.678+00:00`,
/// also with a space for the `T`), or without an offset (UTC), as SQL of ours or an operator's
/// may write it (`2026-01-02 03:04:05.678`); sqlx reads both the same way.
fn stamp(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .or_else(|_| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f"))
                .map(|at| at.and_utc())
        })
        .map_err(|e| format!("a timestamp {text:?}: {e}"))
}

/// The articles of a packed page (`[]` for none), in the order SQLite gave them (their tags
/// not yet split: [`Article::with_tags`]).
pub(crate) fn articles(page: &str) -> Result<Vec<Article>, sqlx::Error> {
    let rows: Vec<Packed> = read(page)?;
    Ok(rows.into_iter().map(|Packed(article)| article).collect())
}

/// The articles of a packed page of search results, whose entries are each `[[COLUMNS], body,
/// rank]` (`crate::db::search`), in the order SQLite gave them: each with that body (the start
/// of it a snippet is made from), and its rank.
pub(crate) fn ranked_articles(page: &str) -> Result<Vec<(Article, i64)>, sqlx::Error> {
    let rows: Vec<(Packed, String, i64)> = read(page)?;
    Ok(rows
        .into_iter()
        .map(|(Packed(mut article), body, rank)| {
            article.body = Some(body);
            (article, rank)
        })
        .collect())
}

fn read<'de, T: Deserialize<'de>>(page: &'de str) -> Result<T, sqlx::Error> {
    serde_json::from_str(page)
        .map_err(|e| sqlx::Error::Decode(format!("a packed list page: {e}").into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{ArticleId, UserId};

    #[test]
    fn the_visitor_reads_as_many_values_as_the_columns_name() {
        assert_eq!(COLUMNS.split(',').count(), COLUMNS_COUNT);
    }

    #[test]
    fn timestamps_read_in_every_form_a_row_may_hold() {
        // 2026-01-02T03:04:05.678Z
        let at = DateTime::from_timestamp_millis(1_767_323_045_678).expect("in range");
        for text in [
            "2026-01-02T03:04:05.678+00:00",
            "2026-01-02T03:04:05.678Z",
            "2026-01-02 03:04:05.678+00:00",
            "2026-01-02T05:04:05.678+02:00",
            "2026-01-02 03:04:05.678",
            "2026-01-02T03:04:05.678",
        ] {
            assert_eq!(stamp(text).ok(), Some(at), "{text}");
        }
        let whole = DateTime::from_timestamp(1_767_323_045, 0).expect("in range");
        assert_eq!(stamp("2026-01-02 03:04:05").ok(), Some(whole));
        for bad in ["", "yesterday", "2026-13-02 03:04:05", "1767323045"] {
            assert!(stamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_packed_page_reads_into_articles_with_every_field_in_place() {
        let page = r#"[[7,"a-slug","T \"q\" \\ \u2028 😀","D\n\t",
            "2026-01-02T03:04:05.678+00:00","2026-01-02 03:04:05.678",3,"writer",null,
            "https://img.example/a.png",12,"rust,web",1,0],
            [8,"b","B","",
            "2026-01-03T00:00:00.000+00:00","2026-01-03T00:00:00.000+00:00",4,"other","bio",null,0,null,0,1]]"#;
        let read = articles(page).expect("reads");
        assert_eq!(read.len(), 2);
        let a = &read[0];
        assert_eq!(a.id, ArticleId::new(7));
        assert_eq!(a.slug, "a-slug");
        assert_eq!(a.title, "T \"q\" \\ \u{2028} 😀");
        assert_eq!(a.description, "D\n\t");
        assert_eq!(a.created_at, a.updated_at);
        assert_eq!(a.created_at.timestamp_millis(), 1_767_323_045_678);
        assert_eq!(a.author_id, UserId::new(3));
        assert_eq!(a.author_username, "writer");
        assert_eq!(a.author_bio, None);
        assert_eq!(a.author_image.as_deref(), Some("https://img.example/a.png"));
        assert_eq!(a.favorites_count, 12);
        assert_eq!(a.tag_names.as_deref(), Some("rust,web"));
        assert!(a.following && !a.favorited);
        assert!(a.body.is_none() && a.total.is_none() && a.tags.is_empty());
        let b = &read[1];
        assert_eq!(
            (b.author_bio.as_deref(), b.author_image.as_deref()),
            (Some("bio"), None)
        );
        assert_eq!(b.tag_names, None);
        assert!(!b.following && b.favorited);

        assert!(articles("[]").expect("an empty page").is_empty());
        for bad in [
            "",
            "[[1]]",
            r#"[[7,"a","T","D","not a time","x",3,"w",null,null,0,null,0,0]]"#,
            // One value too many, one too few.
            r#"[[7,"a","T","D","2026-01-02T03:04:05Z","2026-01-02T03:04:05Z",3,"w",null,null,0,null,0,0,9]]"#,
            r#"[[7,"a","T","D","2026-01-02T03:04:05Z","2026-01-02T03:04:05Z",3,"w",null,null,0,null,0]]"#,
        ] {
            assert!(articles(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn search_entries_carry_their_body_and_rank_beside_the_article() {
        let page = r#"[[[7,"a","T","D","2026-01-02T03:04:05.678+00:00",
            "2026-01-02T03:04:05.678+00:00",3,"w",null,null,0,"rust",0,1],"Body \"one\"\n",5],
            [[8,"b","B","","2026-01-03T00:00:00.000+00:00",
            "2026-01-03T00:00:00.000+00:00",4,"o",null,null,2,null,1,0],"",0]]"#;
        let read = ranked_articles(page).expect("reads");
        let found: Vec<_> = read
            .iter()
            .map(|(a, rank)| {
                (
                    a.id.get(),
                    a.body.as_deref(),
                    a.favorited,
                    a.following,
                    *rank,
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (7, Some("Body \"one\"\n"), true, false, 5),
                (8, Some(""), false, true, 0)
            ]
        );
        assert!(ranked_articles("[]").expect("none").is_empty());
        // A list page's entries are not search entries, nor the other way round.
        let entry = r#"[7,"a","T","D","2026-01-02T03:04:05Z","2026-01-02T03:04:05Z",3,"w",null,null,0,null,0,0]"#;
        assert!(ranked_articles(&format!("[{entry}]")).is_err());
        assert!(ranked_articles(&format!(r#"[[{entry},""]]"#)).is_err());
        assert!(articles(&format!(r#"[[{entry},"",1]]"#)).is_err());
        assert!(articles(&format!("[{entry}]")).is_ok());
    }
}
