//! MySQL/MariaDB: a ranked page of a search read from `search_postings` (`postings.rs`) by
//! ranges of its keys, in the parent module's order (the tiers of title, tags and description
//! best first, newest first within a tier), with the capped count.
//!
//! Most searches are of words with few postings (every search of a small site, a rare word on
//! a large one): one statement ([`small`]) reads them whole, at most [`SMALL`], with whether
//! the backfill has caught up, and the tiers are computed from those rows here; the page's
//! articles are then one more statement. Only when the words have more postings than that
//! (or a filter narrows the search, or `search_rows_examined` is set below [`SMALL_BOUND`])
//! are the probe and the tier statements below used.
//!
//! One statement probes, for every word (a prefix range of the primary key `(field, word,
//! article_id)`) and field, how many postings it has, counting no further than [`PROBE_CAP`];
//! it also says whether the backfill has caught up ([`CAUGHT_UP`]; if not, the caller searches
//! with FULLTEXT instead). Then the tiers are read best first, one statement each, until the
//! page is full; a tier that needs a field holding none of the words is never read. A tier's
//! rows come from the smallest list the probe saw end (the postings of one word, or of a field
//! for any word), read whole and checked article by article through the `(article_id, field,
//! word)` key; when every such list is longer than the probe's cap (common words), the
//! articles are walked newest first from their primary key and checked the same way, so a
//! page of common words reads about as many articles as it shows. The count is one more such
//! statement (for one word, its postings read in key order, each article once). So a page is at most 11 statements (each but the probe followed by a look at its
//! warnings), whatever the number of results.
//!
//! The bound: every statement after the probe carries MariaDB's `LIMIT ROWS EXAMINED n` (the
//! `search_rows_examined` setting). Words each common but seldom together can otherwise walk
//! the whole table; cut short, MariaDB returns the rows found so far with warning 1931 (sqlx
//! reads them as a normal result and does not report warnings), and `@@warning_count` asked
//! right after says so: the search stops there and its result is marked partial. Cut while
//! sorting a list read whole, MariaDB answers error 1028 instead: read the same way, with
//! nothing from that statement (the tiers before it are kept). Never an error page.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sqlx::{Executor, MySqlConnection, Row};

use crate::db::articles::{bind_values, narrowing, Bind, Filter};

use super::postings::{fold, prefix_range};
use super::Query;

/// The most postings counted per word and field by the probe: a list known to be shorter is
/// read whole; longer ones are walked by article instead.
pub const PROBE_CAP: i64 = 1_000;

/// The fields in `search_postings.field` order of rank (title 3, tags 2, description 1) with
/// their bit in a tier; the body (0) has no bit.
const RANKED: [(i8, u8); 3] = [(3, 4), (2, 2), (1, 1)];

/// Every field, best first.
const ALL_FIELDS: [i8; 4] = [3, 2, 1, 0];

/// Whether every article the postings might miss has them: the articles above the backfill's
/// mark (`search_postings_state`) each have a posting, and there are at most 1,000 of them
/// (more: the backfill is behind, do not look further). An article above the mark with no
/// postings was written by an older release or holds no word at all; either way the backfill
/// settles it within a few seconds.
const CAUGHT_UP: &str = "(SELECT COUNT(*) FROM (SELECT a.id FROM articles a \
     WHERE a.id > (SELECT indexed_up_to FROM search_postings_state WHERE id = 1) \
     ORDER BY a.id LIMIT 1001) above \
     WHERE (SELECT 1 FROM search_postings p WHERE p.article_id = above.id LIMIT 1) IS NULL \
     OR (SELECT COUNT(*) FROM (SELECT 1 FROM articles b \
        WHERE b.id > (SELECT indexed_up_to FROM search_postings_state WHERE id = 1) \
        LIMIT 1001) n) > 1000)";

/// The most postings a search reads whole in one statement ([`small`]): when its words have
/// no more than this in all, in every field together, the tiers are computed from those rows
/// here, and the probe and the tier statements are not needed.
const SMALL: i64 = 500;

/// The least `search_rows_examined` under which [`small`] is used. Its statement has no
/// bound of its own: it reads at most [`SMALL`]` + 1` postings and what [`CAUGHT_UP`] reads
/// (at most 1,001 articles, a posting of each, and 1,001 again), so a bound above this
/// could never cut it. A smaller bound (a setting to narrow searches on a very large set)
/// sends every search through the bounded statements.
const SMALL_BOUND: u64 = 10_000;

/// `$query` with the values of `$sql` (a [`Sql`]) bound in order (any kind of sqlx query).
macro_rules! bind_args {
    ($query:expr, $sql:expr) => {{
        let mut query = $query;
        for arg in &$sql.args {
            query = match arg {
                Arg::Bytes(v) => query.bind(v.as_slice()),
                Arg::Int(v) => query.bind(*v),
            };
        }
        query
    }};
}

/// What [`small`] found.
enum Small {
    /// The backfill has not caught up (search FULLTEXT).
    Behind,
    /// More than [`SMALL`] postings: search tier by tier.
    Large,
    /// Every posting of the words: `(article, field, word)`.
    Rows(Vec<(i64, i8, Vec<u8>)>),
}

/// One statement: whether the backfill has caught up, and the postings of `words` (each as a
/// prefix, in every field), at most [`SMALL`]` + 1` of them.
async fn small(c: &mut MySqlConnection, words: &[String]) -> Result<Small, sqlx::Error> {
    let mut sql = Sql::default();
    sql.push("SELECT b.behind, s.article_id, s.field, s.word FROM (SELECT ");
    sql.push(CAUGHT_UP);
    sql.push(
        " AS behind) b LEFT JOIN (SELECT w.article_id, w.field, w.word FROM search_postings w WHERE ",
    );
    let ws: Vec<&str> = words.iter().map(String::as_str).collect();
    sql.fields_words("w", &ALL_FIELDS, &ws);
    sql.push(" LIMIT ?) s ON 1 = 1");
    sql.args.push(Arg::Int(SMALL + 1));
    let rows = bind_args!(
        sqlx::query_as::<_, (i64, Option<i64>, Option<i8>, Option<Vec<u8>>)>(&sql.text),
        sql
    )
    .fetch_all(&mut *c)
    .await?;
    if rows.first().is_some_and(|(behind, ..)| *behind != 0) {
        return Ok(Small::Behind);
    }
    if rows.len() > usize::try_from(SMALL).unwrap_or(usize::MAX) {
        return Ok(Small::Large);
    }
    Ok(Small::Rows(
        rows.into_iter()
            .filter_map(|(_, article, field, word)| Some((article?, field?, word?)))
            .collect(),
    ))
}

/// The ranked matches among `rows` (every posting of `words`, from [`small`]): the articles
/// holding every word somewhere, by tier (the ranked fields holding any of the words) then
/// newest first, the first `end` of them, counted whole.
fn rank_small(words: &[String], rows: Vec<(i64, i8, Vec<u8>)>, end: i64) -> Ranked {
    // Per article: which words it holds, and its tier.
    let mut held: BTreeMap<i64, (Vec<bool>, u8)> = BTreeMap::new();
    for (article, field, word) in rows {
        let (has, tier) = held
            .entry(article)
            .or_insert_with(|| (vec![false; words.len()], 0));
        for (w, query) in words.iter().enumerate() {
            if word.starts_with(query.as_bytes()) {
                has[w] = true;
                if let Some((_, bit)) = RANKED.iter().find(|(f, _)| *f == field) {
                    *tier |= bit;
                }
            }
        }
    }
    let mut matches: Vec<(u8, i64)> = held
        .into_iter()
        .filter(|(_, (has, _))| has.iter().all(|h| *h))
        .map(|(id, (_, tier))| (tier, id))
        .collect();
    matches.sort_unstable_by(|a, b| b.cmp(a));
    let counted = i64::try_from(matches.len()).unwrap_or(i64::MAX);
    Ranked {
        ids: matches
            .into_iter()
            .take(usize::try_from(end.max(0)).unwrap_or(usize::MAX))
            .map(|(_, id)| id)
            .collect(),
        counted: Some(counted),
        partial: false,
    }
}

/// What the postings say about a search.
#[derive(Debug, Default)]
pub(super) struct Ranked {
    /// The ids of the first `end` matches in rank order (fewer: all of them, unless partial).
    pub ids: Vec<i64>,
    /// The matches counted up to the count's cap, when counted.
    pub counted: Option<i64>,
    /// Whether the bound on rows examined cut the search short.
    pub partial: bool,
}

/// A value bound to a statement.
#[derive(Debug, Clone)]
enum Arg {
    Bytes(Vec<u8>),
    Int(i64),
}

/// A statement being written, with its values in order.
#[derive(Debug, Default)]
struct Sql {
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// `(w.word >= ? AND w.word < ?)` for the prefix `word`, on the table alias `alias`.
    fn range(&mut self, alias: &str, word: &str) {
        let (start, end) = prefix_range(word);
        let _ = write!(self.text, "({alias}.word >= ? AND {alias}.word < ?)");
        self.args.push(Arg::Bytes(start));
        self.args.push(Arg::Bytes(end));
    }

    /// `(w.field IN (...) AND (ranges of words))`.
    fn fields_words(&mut self, alias: &str, fields: &[i8], words: &[&str]) {
        let list = fields
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let _ = write!(self.text, "({alias}.field IN ({list}) AND (");
        for (i, word) in words.iter().enumerate() {
            if i > 0 {
                self.text.push_str(" OR ");
            }
            self.range(alias, word);
        }
        self.text.push_str("))");
    }

    /// Whether article `id` holds one of `words` in one of `fields` (`present`) or none
    /// (`!present`): one look-up in the `(article_id, field, word)` key. Written as a scalar
    /// subquery so that MariaDB runs it per article and does not turn it into a semi-join
    /// that would gather a common word's whole list first; the key is forced, as MariaDB would
    /// otherwise scan a short word's whole range of the primary key for every article.
    fn holds(&mut self, id: &str, fields: &[i8], words: &[&str], present: bool) {
        let _ = write!(
            self.text,
            " AND (SELECT 1 FROM search_postings v FORCE INDEX (search_postings_article) \
             WHERE v.article_id = {id} AND "
        );
        self.fields_words("v", fields, words);
        self.text.push_str(if present {
            " LIMIT 1) IS NOT NULL"
        } else {
            " LIMIT 1) IS NULL"
        });
    }
}

/// The probe's counts: `counts[w][f]` for word `w` and field `f` (0 body .. 3 title), each
/// up to [`PROBE_CAP`].
type Counts = Vec<[i64; 4]>;

/// The words of `query` as the postings hold them (folded, distinct, none empty).
fn folded(query: &Query) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for word in query.words() {
        let word = fold(word);
        if !word.is_empty() && !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

/// The fields of word `w` that hold it at all (best first).
fn fields_of(counts: &Counts, w: usize) -> Vec<i8> {
    ALL_FIELDS
        .into_iter()
        .filter(|f| counts[w][usize::try_from(*f).unwrap_or_default()] > 0)
        .collect()
}

/// The statement reading the ids of tier `tier` (`None`: every match, for the count), newest
/// first; `None` when the tier cannot hold a match.
fn tier_statement(
    words: &[String],
    counts: &Counts,
    tier: Option<u8>,
    filter: &Filter,
) -> Option<(Sql, Vec<Bind>)> {
    let count = |w: usize, f: i8| counts[w][usize::try_from(f).unwrap_or_default()];
    let wanted: Vec<i8> = match tier {
        Some(bits) => RANKED
            .iter()
            .filter(|(_, bit)| bits & bit != 0)
            .map(|(f, _)| *f)
            .collect(),
        None => Vec::new(),
    };
    // A field the tier needs must hold a word.
    if wanted
        .iter()
        .any(|f| (0..words.len()).all(|w| count(w, *f) == 0))
    {
        return None;
    }
    // The ranked fields the tier excludes that do hold a word.
    let excluded: Vec<i8> = match tier {
        Some(_) => RANKED
            .iter()
            .map(|(f, _)| *f)
            .filter(|f| !wanted.contains(f) && (0..words.len()).any(|w| count(w, *f) > 0))
            .collect(),
        None => Vec::new(),
    };
    // Where each word may be in this tier: its fields, less the excluded ones.
    let allowed: Vec<Vec<i8>> = (0..words.len())
        .map(|w| {
            fields_of(counts, w)
                .into_iter()
                .filter(|f| !excluded.contains(f))
                .collect()
        })
        .collect();
    if allowed.iter().any(Vec::is_empty) {
        return None;
    }
    // The smallest list whose length the probe saw: a field the tier needs (any word), or one
    // word in the fields it may be in.
    let mut driver: Option<(i64, Vec<i8>, Vec<usize>)> = None;
    let mut consider = |size: i64, fields: Vec<i8>, ws: Vec<usize>, sizes: &[i64]| {
        if sizes.iter().all(|s| *s < PROBE_CAP)
            && driver.as_ref().is_none_or(|(best, _, _)| size < *best)
        {
            driver = Some((size, fields, ws));
        }
    };
    for f in &wanted {
        let sizes: Vec<i64> = (0..words.len()).map(|w| count(w, *f)).collect();
        let ws = (0..words.len()).filter(|w| count(*w, *f) > 0).collect();
        consider(sizes.iter().sum(), vec![*f], ws, &sizes);
    }
    for (w, fields) in allowed.iter().enumerate() {
        let sizes: Vec<i64> = fields.iter().map(|f| count(w, *f)).collect();
        consider(sizes.iter().sum(), fields.clone(), vec![w], &sizes);
    }
    let word = |w: &usize| words[*w].as_str();
    let mut sql = Sql::default();
    let id = if let Some((_, fields, ws)) = &driver {
        sql.push("SELECT DISTINCT s.article_id AS id FROM search_postings s WHERE ");
        let ws: Vec<&str> = ws.iter().map(word).collect();
        sql.fields_words("s", fields, &ws);
        "s.article_id"
    } else {
        sql.push("SELECT a.id AS id FROM articles a WHERE 1 = 1");
        "a.id"
    };
    for f in &wanted {
        let of_field: Vec<usize> = (0..words.len()).filter(|w| count(*w, *f) > 0).collect();
        // The driver's own field already holds a word.
        if matches!(&driver, Some((_, fields, ws)) if fields.as_slice() == [*f] && *ws == of_field)
        {
            continue;
        }
        let ws: Vec<&str> = of_field.iter().map(word).collect();
        sql.holds(id, &[*f], &ws, true);
    }
    for f in &excluded {
        let ws: Vec<&str> = (0..words.len())
            .filter(|w| count(*w, *f) > 0)
            .map(|w| words[w].as_str())
            .collect();
        sql.holds(id, &[*f], &ws, false);
    }
    // Every word somewhere (one word in a needed field is the match already).
    if words.len() != 1 || wanted.is_empty() {
        for (w, fields) in allowed.iter().enumerate() {
            let skip = matches!(&driver, Some((_, _, ws)) if ws.as_slice() == [w]);
            if !skip {
                sql.holds(id, fields, &[words[w].as_str()], true);
            }
        }
    }
    let (conditions, binds) = narrowing(filter, id);
    sql.push(&conditions);
    sql.push(" ORDER BY id DESC LIMIT ?");
    Some((sql, binds))
}

/// The statement counting the matches (as many as its `LIMIT`). One word: its postings in
/// every field, each article once, read in key order (no order is needed to count) and
/// checked against nothing, so a word in every article counts its first thousand in as many
/// index rows. More words: every match, as [`tier_statement`] reads them.
fn count_statement(words: &[String], counts: &Counts, filter: &Filter) -> Option<(Sql, Vec<Bind>)> {
    let [word] = words else {
        return tier_statement(words, counts, None, filter);
    };
    let mut sql = Sql::default();
    sql.push("SELECT DISTINCT s.article_id AS id FROM search_postings s WHERE ");
    sql.fields_words("s", &fields_of(counts, 0), &[word.as_str()]);
    let (conditions, binds) = narrowing(filter, "s.article_id");
    sql.push(&conditions);
    sql.push(" LIMIT ?");
    Some((sql, binds))
}

/// Whether `e` is MariaDB stopping a statement at its `LIMIT ROWS EXAMINED` with an error
/// rather than the usual warning: 1028 "Sort aborted: LIMIT ROWS EXAMINED" when the limit is
/// reached while a sort is being filled (a short list read whole, then sorted), seen here;
/// 1931 and 1317 ("query execution was interrupted") for the same from other stages.
fn stopped_by_bound(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>())
        .is_some_and(|m| matches!(m.number(), 1028 | 1317 | 1931))
}

/// Runs `sql` (its values, the filter's, then `limit`) with the bound, and says whether the
/// bound cut it short (two round trips).
async fn ids(
    c: &mut MySqlConnection,
    sql: &Sql,
    binds: &[Bind],
    limit: i64,
    bound: u64,
) -> Result<(Vec<i64>, bool), sqlx::Error> {
    let text = format!("{} ROWS EXAMINED {bound}", sql.text);
    let q = bind_args!(sqlx::query_scalar::<_, i64>(&text), sql);
    let rows = match bind_values!(q, binds).bind(limit).fetch_all(&mut *c).await {
        Ok(rows) => rows,
        Err(e) if stopped_by_bound(&e) => return Ok((Vec::new(), true)),
        Err(e) => return Err(e),
    };
    // Whether the bound stopped the statement (a full page read from a short list and sorted
    // may be cut too: what was read, sorted, is not the first rows of the whole list). Asked
    // as plain text (a `&str` without arguments is sent unprepared), which keeps the
    // statement's warnings; preparing a statement would clear them.
    let warnings: i64 = (&mut *c)
        .fetch_one("SELECT CAST(@@warning_count AS SIGNED)")
        .await?
        .try_get(0)?;
    Ok((rows, warnings > 0))
}

/// The first `end` matches of `query` and `filter` in rank order and, when they fill `end`
/// (or `end` is 0), the matches counted up to `cap`; `None` when the postings are not
/// complete yet (the caller searches FULLTEXT). `bound`: the rows each statement may examine.
pub(super) async fn ranked(
    c: &mut MySqlConnection,
    query: &Query,
    filter: &Filter,
    end: i64,
    cap: i64,
    bound: u64,
) -> Result<Option<Ranked>, sqlx::Error> {
    let words = folded(query);
    // Words with few postings (most searches of a small site, a rare word on a large one):
    // read whole and ranked here, in one statement.
    let mut caught_up = false;
    if !words.is_empty() && !filter.narrows() && bound >= SMALL_BOUND {
        match small(c, &words).await? {
            Small::Behind => return Ok(None),
            Small::Rows(rows) => return Ok(Some(rank_small(&words, rows, end))),
            Small::Large => caught_up = true,
        }
    }
    // The probe: whether the postings are complete (unless `small` just said so), and each
    // word's postings per field.
    let mut probe = Sql::default();
    probe.push("SELECT ");
    probe.push(if caught_up {
        "CAST(0 AS SIGNED)"
    } else {
        CAUGHT_UP
    });
    for word in &words {
        for field in [0i8, 1, 2, 3] {
            probe.push(&format!(
                ", (SELECT COUNT(*) FROM (SELECT 1 FROM search_postings w WHERE w.field = {field} AND "
            ));
            probe.range("w", word);
            probe.push(" LIMIT ?) x)");
            probe.args.push(Arg::Int(PROBE_CAP));
        }
    }
    let row = bind_args!(sqlx::query(&probe.text), probe)
        .fetch_one(&mut *c)
        .await?;
    if row.try_get::<i64, _>(0)? != 0 {
        return Ok(None);
    }
    let mut counts: Counts = Vec::with_capacity(words.len());
    for w in 0..words.len() {
        let mut per = [0i64; 4];
        for (f, slot) in per.iter_mut().enumerate() {
            *slot = row.try_get::<i64, _>(1 + w * 4 + f)?;
        }
        counts.push(per);
    }
    let mut ranked = Ranked::default();
    if words.is_empty() || counts.iter().any(|per| per.iter().all(|n| *n == 0)) {
        // A word no article holds: nothing matches.
        ranked.counted = Some(0);
        return Ok(Some(ranked));
    }
    let tiers: Vec<(Sql, Vec<Bind>)> = (0..8u8)
        .rev()
        .filter_map(|tier| tier_statement(&words, &counts, Some(tier), filter))
        .collect();
    let want = |got: usize| end - i64::try_from(got).unwrap_or(i64::MAX);
    for (sql, binds) in &tiers {
        if want(ranked.ids.len()) <= 0 {
            break;
        }
        let (found, cut) = ids(c, sql, binds, want(ranked.ids.len()), bound).await?;
        ranked.ids.extend(found);
        if cut {
            ranked.partial = true;
            return Ok(Some(ranked));
        }
    }
    if want(ranked.ids.len()) <= 0 {
        if let Some((sql, binds)) = count_statement(&words, &counts, filter) {
            let (found, cut) = ids(c, &sql, &binds, cap, bound).await?;
            ranked.counted = Some(i64::try_from(found.len()).unwrap_or(i64::MAX));
            ranked.partial = cut;
        }
    }
    Ok(Some(ranked))
}

#[cfg(test)]
mod tests {
    use super::{rank_small, tier_statement, Counts, PROBE_CAP};
    use crate::db::articles::Filter;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn a_small_search_ranks_by_tier_then_newest_and_needs_every_word() {
        let w = words(&["plum", "ri"]);
        let row = |id: i64, field: i8, word: &str| (id, field, word.as_bytes().to_vec());
        let rows = vec![
            // 1: both words in bodies (tier 0).
            row(1, 0, "plum"),
            row(1, 0, "ripe"),
            // 2: "plums" in its title, "rind" in its body (tier 4).
            row(2, 3, "plums"),
            row(2, 0, "rind"),
            // 3: only "plum": not a match.
            row(3, 3, "plum"),
            // 4: both in its description, "plum" in its tags too (tiers 2 and 1: 3).
            row(4, 1, "plum"),
            row(4, 1, "rich"),
            row(4, 2, "plum"),
            // 5: like 1, newer.
            row(5, 0, "ripe"),
            row(5, 0, "plump"),
        ];
        let ranked = rank_small(&w, rows.clone(), 10);
        assert_eq!(ranked.ids, [2, 4, 5, 1]);
        assert_eq!(ranked.counted, Some(4));
        assert!(!ranked.partial);
        // The first `end` only, counted whole.
        let ranked = rank_small(&w, rows, 2);
        assert_eq!((ranked.ids, ranked.counted), (vec![2, 4], Some(4)));
    }

    #[test]
    fn a_tier_needing_a_field_without_the_words_is_never_read() {
        // "plum" in bodies only: only tier 0, walked (the list is past the probe's cap).
        let counts: Counts = vec![[PROBE_CAP, 0, 0, 0]];
        let w = words(&["plum"]);
        for tier in 1..8 {
            assert!(tier_statement(&w, &counts, Some(tier), &Filter::default()).is_none());
        }
        let (sql, _) = tier_statement(&w, &counts, Some(0), &Filter::default()).expect("tier 0");
        assert!(
            sql.text.starts_with("SELECT a.id AS id FROM articles a"),
            "{}",
            sql.text
        );
        // A short list drives the tier: read whole, each article checked.
        let counts: Counts = vec![[3, 0, 0, 1]];
        let (sql, _) = tier_statement(&w, &counts, Some(4), &Filter::default()).expect("tier 4");
        assert!(
            sql.text.starts_with("SELECT DISTINCT s.article_id"),
            "{}",
            sql.text
        );
        assert!(sql.text.contains("field IN (3)"), "{}", sql.text);
    }

    #[test]
    fn every_word_is_required_and_excluded_fields_are_checked_empty() {
        let counts: Counts = vec![[PROBE_CAP; 4], [5, 0, 0, 0]];
        let w = words(&["scale", "zest"]);
        let (sql, _) = tier_statement(&w, &counts, Some(4), &Filter::default()).expect("tier 4");
        // Driven by "zest"'s five body postings; title needed; tags, description excluded.
        assert!(
            sql.text.starts_with(
                "SELECT DISTINCT s.article_id AS id FROM search_postings s WHERE (s.field IN (0)"
            ),
            "{}",
            sql.text
        );
        assert_eq!(sql.text.matches("IS NULL").count(), 2, "{}", sql.text);
        assert_eq!(sql.text.matches("IS NOT NULL").count(), 2, "{}", sql.text);
    }
}
