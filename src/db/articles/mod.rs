//! Articles, their tags and favorites: the row type and the column macros shared by reading
//! ([`list`]: lists, the feed, one article with its comments) and writing ([`write`]: create,
//! update, delete, favorites and tags). A list page is one statement whatever its size: the
//! total, the author, the favorite count, the viewer's flags and the tags are folded in.

use chrono::{DateTime, Utc};

use crate::db::{ArticleId, UserId};

/// An article with everything a reader sees, relative to one viewer.
#[derive(Debug, Clone)]
pub struct Article {
    /// Primary key.
    pub id: ArticleId,
    /// URL identifier, unique.
    pub slug: String,
    /// Title.
    pub title: String,
    /// Summary.
    pub description: String,
    /// Markdown body; `None` in lists.
    pub body: Option<String>,
    /// Creation time (UTC).
    pub created_at: DateTime<Utc>,
    /// Last update (UTC).
    pub updated_at: DateTime<Utc>,
    /// Author id.
    pub author_id: UserId,
    /// Author username.
    pub author_username: String,
    /// Author bio.
    pub author_bio: Option<String>,
    /// Author avatar.
    pub author_image: Option<String>,
    /// Whether the viewer follows the author.
    pub following: bool,
    /// How many users favorited it.
    pub favorites_count: i64,
    /// Whether the viewer favorited it.
    pub favorited: bool,
    /// Tag names, alphabetical (filled from `tag_names` after the row is read).
    pub tags: Vec<String>,
    /// The tag names as the database concatenated them (comma-separated; tags have no commas).
    pub(crate) tag_names: Option<String>,
    /// In list rows: how many articles match the filter in all.
    pub(crate) total: Option<i64>,
}

/// Reads the columns of [`article_columns!`] plus the viewer's flags by position, then `total`
/// (lists) or `body` (one article) as column 14. Positions instead of names: the derived impl
/// looked every column name up in a hash map, 5% of a list request.
impl<'r, R> sqlx::FromRow<'r, R> for Article
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
        let extra = row.columns().get(14).map(sqlx::Column::name);
        Ok(Self {
            id: row.try_get(0)?,
            slug: row.try_get(1)?,
            title: row.try_get(2)?,
            description: row.try_get(3)?,
            created_at: row.try_get(4)?,
            updated_at: row.try_get(5)?,
            author_id: row.try_get(6)?,
            author_username: row.try_get(7)?,
            author_bio: row.try_get(8)?,
            author_image: row.try_get(9)?,
            favorites_count: row.try_get(10)?,
            tag_names: row.try_get(11)?,
            following: row.try_get(12)?,
            favorited: row.try_get(13)?,
            total: if extra == Some("total") {
                row.try_get(14)?
            } else {
                None
            },
            body: if extra == Some("body") {
                row.try_get(14)?
            } else {
                None
            },
            tags: Vec::new(),
        })
    }
}

impl Article {
    /// Split `tag_names` into `tags`, alphabetical whatever the engine's collation. A single
    /// tag keeps the read text as it is.
    pub(crate) fn with_tags(mut self) -> Self {
        let Some(names) = self.tag_names.take().filter(|n| !n.is_empty()) else {
            self.tags.clear();
            return self;
        };
        if !names.contains(',') {
            self.tags = vec![names];
            return self;
        }
        let mut tags: Vec<String> = names
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        tags.sort_unstable_by(|a, b| crate::db::tags::by_name(a, b));
        self.tags = tags;
        self
    }
}

#[cfg(test)]
impl Article {
    /// An article with this title, author bio and favorite flag (the rest fixed), for tests.
    pub(crate) fn for_test(title: &str, bio: Option<&str>, favorited: bool) -> Self {
        let at = DateTime::from_timestamp_millis(1_700_000_000_123).unwrap_or_default();
        Self {
            id: ArticleId::new(7),
            slug: "a-slug".into(),
            title: title.into(),
            description: title.into(),
            body: None,
            created_at: at,
            updated_at: at,
            author_id: UserId::new(3),
            author_username: "writer".into(),
            author_bio: bio.map(str::to_owned),
            author_image: bio.map(|_| "https://img.example/a.png".to_owned()),
            following: favorited,
            favorites_count: 12,
            favorited,
            tags: vec!["rust".into(), title.into()],
            tag_names: None,
            total: None,
        }
    }
}

/// An article's favorite count, per engine (`sqlite` or `mysql`). MySQL sums the article's
/// slots of `favorite_counts` (migration `20261202000002`: one primary-key range of at most 16
/// rows), kept by favorites instead of a count on the article's row, which every favoriter
/// wrote (a hot row on a Galera cluster, issue 23). SQLite, with one writer at a time, reads
/// the total that triggers keep on the article's row (`articles.favorites_count`, migration
/// `20261203000001`): a list of 20 then looks up no other table per article.
macro_rules! favorites_count {
    (sqlite) => {
        "a.favorites_count"
    };
    (mysql) => {
        "CAST(COALESCE((SELECT SUM(fc.n) FROM favorite_counts fc WHERE fc.article_id = a.id), 0) AS SIGNED)"
    };
}

/// The columns of an article row, per engine (`sqlite` or `mysql`). The tag names are read
/// from the list kept on the row (see `migrations/*/20261124000002_list_performance.sql`); the
/// favorite count as [`favorites_count!`] says.
macro_rules! article_columns {
    ($engine:tt) => {
        concat!(
            "SELECT a.id, a.slug, a.title, a.description, a.created_at, a.updated_at, a.author_id, \
    u.username AS author_username, u.bio AS author_bio, u.image AS author_image, ",
            favorites_count!($engine),
            " AS favorites_count, a.tag_list AS tag_names"
        )
    };
}

/// Article columns plus the viewer's flags; binds the viewer's id twice.
macro_rules! select_articles {
    ($engine:tt) => {
        concat!(
            article_columns!($engine),
            ", EXISTS (SELECT 1 FROM follows fo WHERE fo.follower_id = ? AND fo.followee_id = a.author_id) AS following, \
    EXISTS (SELECT 1 FROM favorites fv WHERE fv.user_id = ? AND fv.article_id = a.id) AS favorited"
        )
    };
}

/// Article columns for an anonymous reader, who follows and favorites nothing: no lookups.
macro_rules! select_articles_anonymous {
    ($engine:tt) => {
        concat!(
            article_columns!($engine),
            ", FALSE AS following, FALSE AS favorited"
        )
    };
}

/// `$text!(sqlite)` and `$text!(mysql)` followed by the same `$rest` (literals or macro
/// calls): one statement as a [`counters::PerEngine`].
macro_rules! per_engine {
    ($text:ident $(, $rest:expr)*) => {
        $crate::db::articles::counters::PerEngine::new(
            concat!($text!(sqlite) $(, $rest)*),
            concat!($text!(mysql) $(, $rest)*),
        )
    };
}

/// The columns a list reads, per engine: an article's, then the viewer's flags.
pub(crate) mod columns {
    use super::counters::PerEngine;

    macro_rules! own_feed {
        ($engine:tt) => {
            concat!(
                article_columns!($engine),
                ", TRUE AS following, fv.article_id IS NOT NULL AS favorited"
            )
        };
    }
    macro_rules! viewer {
        ($engine:tt) => {
            concat!(
                article_columns!($engine),
                ", fo.followee_id IS NOT NULL AS following, fv.article_id IS NOT NULL AS favorited"
            )
        };
    }

    /// For a reader of their own feed: every author is followed; `favorites fv` joined
    /// (left) on the reader.
    pub const OWN_FEED: PerEngine = per_engine!(own_feed);
    /// For a signed-in reader: `follows fo` and `favorites fv` joined (left) on the
    /// reader.
    pub const VIEWER: PerEngine = per_engine!(viewer);
    /// For an anonymous reader: no lookups.
    pub const ANONYMOUS: PerEngine = per_engine!(select_articles_anonymous);
}

/// In transaction `$tx` on a pool of `$engine`: take article `$id` out of every counter, then
/// delete it (its tag links, favorites and comments go by cascade). Evaluates to whether a row
/// went; when none did (a concurrent delete won), the caller must roll back, undoing the
/// counter updates.
macro_rules! delete_article_in {
    ($tx:expr, $engine:expr, $id:expr) => {{
        use $crate::db::articles::counters;
        let slot = counters::slot($engine);
        for sql in [
            counters::RELEASE_ARTICLE_TAGS.sql($engine),
            counters::UNCOUNT_ARTICLE,
            counters::UNCOUNT_ARTICLE_IN_BLOCK.sql($engine),
        ] {
            sqlx::query(sql)
                .bind(slot)
                .bind($id)
                .execute(&mut *$tx)
                .await?;
        }
        sqlx::query(counters::UNCOUNT_AUTHORS_ARTICLE)
            .bind($id)
            .execute(&mut *$tx)
            .await?;
        sqlx::query("DELETE FROM articles WHERE id = ?")
            .bind($id)
            .execute(&mut *$tx)
            .await?
            .rows_affected()
            > 0
    }};
}
pub(crate) use delete_article_in;

/// SQL that keeps the counters in step; each runs in the transaction of the change it follows.
///
/// The article total (`counts`) and the tags' counts (`tag_counts`) are split over slots, a
/// writer adding its +1 or -1 to one slot and readers summing them: on a Galera cluster two
/// transactions on different nodes that write the same row cannot both commit (the later one
/// is rolled back with error 1213 and runs again), and every new article would otherwise write
/// the same total row and its tags' rows. Statements touching several tags' slots take them in
/// tag id order, so two writers on one server lock them in the same order.
pub(crate) mod counters {
    use crate::db::Engine;

    /// Slots per counter on MySQL. Sixteen: two writers adding to one counter at once pick the
    /// same slot one time in sixteen (and that one then runs again), and a total reads sixteen
    /// rows of one primary-key range.
    pub const SLOTS: u32 = 16;

    /// The slot a write adds to: on MySQL a random one of [`SLOTS`]; on SQLite, which has one
    /// writer at a time, always slot 0 (one row per tag for the popular-tags list to sum).
    pub fn slot(engine: Engine) -> i64 {
        match engine {
            Engine::Sqlite => 0,
            Engine::MySql => i64::from(rand::random::<u32>() % SLOTS),
        }
    }

    /// A statement whose text differs between the engines.
    pub struct PerEngine {
        sqlite: &'static str,
        mysql: &'static str,
    }

    impl PerEngine {
        /// A statement from its SQLite and its MySQL text.
        pub const fn new(sqlite: &'static str, mysql: &'static str) -> Self {
            Self { sqlite, mysql }
        }

        /// The text for `engine`.
        pub const fn sql(&self, engine: Engine) -> &'static str {
            match engine {
                Engine::Sqlite => self.sqlite,
                Engine::MySql => self.mysql,
            }
        }
    }

    /// Add the `(tag_id, slot, n)` rows a SELECT or VALUES gives to `tag_counts`, making
    /// slots that do not exist yet.
    macro_rules! add_to_tag_counts {
        ($rows:literal) => {
            PerEngine {
                sqlite: concat!(
                    "INSERT INTO tag_counts (tag_id, slot, n) ",
                    $rows,
                    " ON CONFLICT (tag_id, slot) DO UPDATE SET n = n + excluded.n"
                ),
                mysql: concat!(
                    "INSERT INTO tag_counts (tag_id, slot, n) ",
                    $rows,
                    " ON DUPLICATE KEY UPDATE n = n + VALUES(n)"
                ),
            }
        };
    }

    /// Add the `(block, slot, n)` rows a SELECT or VALUES gives to `article_blocks` (the
    /// articles per block of 1,024 ids that deep offsets seek by: `super::blocks`), making
    /// slots that do not exist yet.
    macro_rules! add_to_article_blocks {
        ($rows:literal) => {
            PerEngine {
                sqlite: concat!(
                    "INSERT INTO article_blocks (block, slot, n) ",
                    $rows,
                    " ON CONFLICT (block, slot) DO UPDATE SET n = n + excluded.n"
                ),
                mysql: concat!(
                    "INSERT INTO article_blocks (block, slot, n) ",
                    $rows,
                    " ON DUPLICATE KEY UPDATE n = n + VALUES(n)"
                ),
            }
        };
    }

    /// After inserting article `?1`: one more in its block, in slot `?2`.
    pub const COUNT_ARTICLE_IN_BLOCK: PerEngine = add_to_article_blocks!("VALUES (? >> 10, ?, 1)");
    /// Before deleting article `?2`: one fewer in its block, in slot `?1` (nothing when it is
    /// gone already).
    pub const UNCOUNT_ARTICLE_IN_BLOCK: PerEngine =
        add_to_article_blocks!("SELECT id >> 10, ?, -1 FROM articles WHERE id = ?");
    /// Before deleting user `?2`: their articles leave their blocks, in slot `?1`, blocks in
    /// order.
    pub const UNCOUNT_USER_ARTICLES_IN_BLOCKS: PerEngine = add_to_article_blocks!(
        "SELECT id >> 10, ?, -COUNT(*) FROM articles WHERE author_id = ? GROUP BY id >> 10 ORDER BY id >> 10"
    );
    /// Add `?3` to slot `?2` of tag `?1`'s count (making the slot when it is new).
    pub const ADD_TO_TAG_COUNT: PerEngine = add_to_tag_counts!("VALUES (?, ?, ?)");
    /// Before deleting article `?2`: each of its tags loses it, in slot `?1`.
    pub const RELEASE_ARTICLE_TAGS: PerEngine = add_to_tag_counts!(
        "SELECT tag_id, ?, -1 FROM article_tags WHERE article_id = ? ORDER BY tag_id"
    );
    /// Before deleting user `?2`: the tags of their articles lose those articles, in slot `?1`.
    pub const RELEASE_USER_TAGS: PerEngine = add_to_tag_counts!(
        "SELECT at.tag_id, ?, -COUNT(*) FROM article_tags at JOIN articles a ON a.id = at.article_id \
         WHERE a.author_id = ? GROUP BY at.tag_id ORDER BY at.tag_id"
    );
    /// The number of articles tagged `?` (by name), for a tag-filtered list's total.
    pub const TAG_TOTAL: &str = "CAST(COALESCE((SELECT SUM(c.n) FROM tags t JOIN tag_counts c \
        ON c.tag_id = t.id WHERE t.name = ?), 0) AS SIGNED)";
    /// The number of articles, for an unfiltered list's total.
    pub const ARTICLE_TOTAL: &str =
        "CAST(COALESCE((SELECT SUM(value) FROM counts WHERE name = 'articles'), 0) AS SIGNED)";
    /// Add the `(article_id, slot, n)` rows a SELECT or VALUES gives to `favorite_counts`,
    /// making slots that do not exist yet.
    macro_rules! add_to_favorite_counts {
        ($rows:literal) => {
            PerEngine {
                sqlite: concat!(
                    "INSERT INTO favorite_counts (article_id, slot, n) ",
                    $rows,
                    " ON CONFLICT (article_id, slot) DO UPDATE SET n = n + excluded.n"
                ),
                mysql: concat!(
                    "INSERT INTO favorite_counts (article_id, slot, n) ",
                    $rows,
                    " ON DUPLICATE KEY UPDATE n = n + VALUES(n)"
                ),
            }
        };
    }

    /// Add `?3` (1 or -1) to slot `?2` of article `?1`'s favorite count.
    pub const ADD_TO_FAVORITE_COUNT: PerEngine = add_to_favorite_counts!("VALUES (?, ?, ?)");
    /// Before deleting user `?2`: the articles they favorited lose a favorite, in slot `?1`,
    /// articles in id order.
    pub const RELEASE_USER_FAVORITES: PerEngine = add_to_favorite_counts!(
        "SELECT article_id, ?, -1 FROM favorites WHERE user_id = ? ORDER BY article_id"
    );
    /// Rewrite `tag_list` of the articles carrying tag `?2`, leaving out tag `?1` (bind -1 to
    /// leave out none): after a rename, or before the tag is deleted.
    pub const REWRITE_TAG_LISTS: &str = "UPDATE articles SET tag_list = COALESCE((SELECT group_concat(t.name) \
        FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE at.article_id = articles.id AND t.id <> ?), '') \
        WHERE id IN (SELECT article_id FROM article_tags WHERE tag_id = ?)";
    /// After inserting an article: one more in all, in slot `?`.
    pub const COUNT_NEW_ARTICLE: &str =
        "UPDATE counts SET value = value + 1 WHERE name = 'articles' AND slot = ?";
    /// Inserting an article by user `?`: one more by them. Runs first in the transaction, so
    /// the author's row is its first lock: follows and unfollows of the author take the same
    /// lock first (`crate::db::profiles::feed::LOCK_AUTHOR`) and so run one after the other
    /// with a new article, never deadlocking over follows and articles on MySQL.
    pub const COUNT_AUTHORS_ARTICLE: &str =
        "UPDATE users SET articles_count = articles_count + 1 WHERE id = ?";
    /// Before deleting article `?2`: one fewer in all, in slot `?1`.
    pub const UNCOUNT_ARTICLE: &str =
        "UPDATE counts SET value = value - 1 WHERE name = 'articles' AND slot = ? AND EXISTS (SELECT 1 FROM articles WHERE id = ?)";
    /// Before deleting article `?`: one fewer by its author.
    pub const UNCOUNT_AUTHORS_ARTICLE: &str =
        "UPDATE users SET articles_count = articles_count - 1 WHERE id = (SELECT author_id FROM articles WHERE id = ?)";
    /// Before deleting user `?1`: their articles go, from slot `?2`.
    pub const UNCOUNT_USER_ARTICLES: &str =
        "UPDATE counts SET value = value - (SELECT COUNT(*) FROM articles WHERE author_id = ?) WHERE name = 'articles' AND slot = ?";
}

pub mod blocks;
mod keyset;
mod list;
mod one;
pub(crate) mod packed;
mod plan;
mod write;

pub use keyset::{keyset_page, latest_with_bodies, KeysetPage};
pub(crate) use list::{bind_values, narrowing, Bind};
pub use list::{
    count, page, page_and_popular_tags, page_for_claim, ArticleSlice, Filter, Position,
};
pub use one::{find, find_with_comments};
pub use plan::explain_page_ids;
pub use write::{delete, favorite, insert, unfavorite, update, ArticleData};

#[cfg(test)]
mod tests {
    use super::counters::{slot, SLOTS};
    use super::Article;
    use crate::db::Engine;

    #[test]
    fn tag_names_split_into_tags_alphabetically_whatever_their_case() {
        let split = |names: Option<&str>| {
            let mut article = Article::for_test("t", None, false);
            article.tag_names = names.map(str::to_owned);
            let article = article.with_tags();
            assert_eq!(article.tag_names, None);
            article.tags
        };
        assert!(split(None).is_empty());
        assert!(split(Some("")).is_empty());
        assert!(split(Some(",")).is_empty());
        assert_eq!(split(Some("rust")), ["rust"]);
        assert_eq!(split(Some("web,Rust,async")), ["async", "Rust", "web"]);
        assert_eq!(split(Some(",b,,a,")), ["a", "b"]);
        assert_eq!(
            split(Some("Émile,eve,zed,Zed")),
            ["eve", "Zed", "zed", "Émile"]
        );
    }

    #[test]
    fn writes_pick_a_slot_the_migration_made() {
        // migrations/*/20261130000003_split_counters.sql make slots 0 to 15 of the total.
        assert_eq!(SLOTS, 16);
        assert_eq!(slot(Engine::Sqlite), 0);
        let picked: std::collections::BTreeSet<i64> =
            (0..2000).map(|_| slot(Engine::MySql)).collect();
        assert_eq!(picked, (0..16).collect(), "every slot, none outside");
    }
}
