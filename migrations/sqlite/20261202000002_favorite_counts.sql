-- Favorites of one article without one row every favoriter writes (issue 23; kept in step
-- with ../mysql/20261202000002_favorite_counts.sql, which says why). SQLite has one writer at
-- a time, so the code writes slot 0 only here: one row per favorited article, read by its key.
CREATE TABLE favorite_counts (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    slot       INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (article_id, slot)
) WITHOUT ROWID;
INSERT INTO favorite_counts (article_id, slot, n)
SELECT id, 0, favorites_count FROM articles WHERE favorites_count <> 0;
ALTER TABLE articles DROP COLUMN favorites_count;
