//! Keyset pages of article lists: the site's "Newer" / "Older" navigation. A page is read from
//! its cursor (an article id) in the list's index, so every page costs what the first one
//! does, at any depth; the neighbours' cursors come with it.

use super::list::{
    and, bind_values, narrow, page_with, source, ArticleSlice, Bind, Filter, Position, Source,
};
use super::Article;
use crate::db::{db_run, ArticleId, DbPool, UserId};

/// One page of a list read by keyset, and where its neighbours start.
#[derive(Debug, Default)]
pub struct KeysetPage {
    /// The articles on this page, newest first.
    pub articles: Vec<Article>,
    /// The cursor of the newer page (`After` it), when there are newer articles.
    pub newer: Option<ArticleId>,
    /// The cursor of the older page (`Before` it), when there are older articles.
    pub older: Option<ArticleId>,
    /// Whether this is the list's first page (nothing newer, read from the top).
    pub first: bool,
    /// The popular tags' packed pairs, when asked for (`crate::db::tags::split_names`).
    pub popular_tags: String,
}

/// The page of `filter`'s articles at `position`, `limit` of them, as `viewer` sees them, with
/// the cursors of its neighbours; with `popular_tags`, that many of the most used tags too.
///
/// The page is read with one more row than it shows, which says whether the next page in the
/// direction of reading exists; the other direction is one index seek
/// ([`exists_beyond`]), made only for a page reached by a cursor. A "newer" page that reaches
/// the top of the list with fewer than `limit` rows is the first page instead, so walking back
/// up ends on the same page the list starts with.
pub async fn keyset_page(
    db: &DbPool,
    filter: &Filter,
    viewer: Option<UserId>,
    limit: i64,
    position: Position,
    popular_tags: Option<i64>,
) -> Result<KeysetPage, sqlx::Error> {
    let read = |position| page_with(db, filter, viewer, limit + 1, position, popular_tags, None);
    let mut position = position;
    let mut slice = read(position).await?;
    let longer =
        |slice: &ArticleSlice| i64::try_from(slice.articles.len()).unwrap_or(i64::MAX) > limit;
    let mut more = longer(&slice);
    if matches!(position, Position::After(_)) && !more {
        position = Position::Offset(0);
        slice = read(position).await?;
        more = longer(&slice);
    }
    let mut articles = std::mem::take(&mut slice.articles);
    if more {
        match position {
            // Read oldest first from the cursor: the extra row is the newest.
            Position::After(_) => {
                articles.remove(0);
            }
            _ => articles.truncate(usize::try_from(limit).unwrap_or(usize::MAX)),
        }
    }
    let (first_id, last_id) = (
        articles.first().map(|a| a.id),
        articles.last().map(|a| a.id),
    );
    let newer = match (position, first_id) {
        (Position::Offset(0), _) => None,
        (Position::Offset(_), first) => first,
        (Position::After(_), first) => first.filter(|_| more),
        (Position::Before(_), Some(first)) => exists_beyond(db, filter, first, true)
            .await?
            .then_some(first),
        // An empty page before `cursor`: newer are the articles from the cursor up.
        (Position::Before(cursor), None) => {
            let from = ArticleId::new(cursor.get().saturating_sub(1));
            exists_beyond(db, filter, from, true).await?.then_some(from)
        }
    };
    let older = match (position, last_id) {
        (Position::After(_), Some(last)) => exists_beyond(db, filter, last, false)
            .await?
            .then_some(last),
        (_, last) => last.filter(|_| more),
    };
    let popular_tags = match (popular_tags, slice.popular_tags.take()) {
        (None, _) => String::new(),
        (Some(_), Some(names)) => names,
        (Some(tags), None) => crate::db::tags::popular_names(db, tags).await?,
    };
    Ok(KeysetPage {
        first: position == Position::Offset(0),
        articles,
        newer,
        older,
        popular_tags,
    })
}

/// Whether `filter` has an article newer (`newer`) or older than `id`: one seek into the
/// list's index.
pub async fn exists_beyond(
    db: &DbPool,
    filter: &Filter,
    id: ArticleId,
    newer: bool,
) -> Result<bool, sqlx::Error> {
    let Source {
        from,
        id: column,
        conditions,
        binds,
        ..
    } = source(filter);
    let op = if newer { ">" } else { "<" };
    let conditions = and(&conditions, &format!("{column} {op} ?"));
    let from = narrow(from, db.engine());
    let sql = format!("SELECT {column} FROM {from}{conditions} LIMIT 1");
    let binds: Vec<Bind> = binds.into_iter().chain([Bind::Int(id.get())]).collect();
    let found = db_run!(db, |c| {
        bind_values!(sqlx::query_scalar::<_, i64>(&sql), &binds)
            .fetch_optional(c)
            .await
    })?;
    Ok(found.is_some())
}

/// The newest `limit` articles matching `filter` with their bodies, newest first, as an
/// anonymous reader sees them (what a feed shows): the ids from the front of one index range,
/// as a list page picks them (see [`Source`]), then one row each.
pub async fn latest_with_bodies(
    db: &DbPool,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<Article>, sqlx::Error> {
    let Source {
        from,
        id,
        conditions,
        binds,
        ..
    } = source(filter);
    let sql = format!(
        "{}, a.body FROM (SELECT {id} AS id FROM {from}{conditions} ORDER BY {id} DESC LIMIT ?) page \
         CROSS JOIN articles a ON a.id = page.id CROSS JOIN users u ON u.id = a.author_id",
        per_engine!(select_articles_anonymous).sql(db.engine())
    );
    let mut rows = db_run!(db, |c| {
        bind_values!(sqlx::query_as::<_, Article>(&sql), &binds)
            .bind(limit)
            .fetch_all(c)
            .await
    })?;
    rows.sort_unstable_by_key(|a| std::cmp::Reverse(a.id));
    Ok(rows.into_iter().map(Article::with_tags).collect())
}
