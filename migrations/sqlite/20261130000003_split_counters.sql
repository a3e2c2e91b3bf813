-- Counters no single row of which every writer updates (kept in step with
-- ../mysql/20261130000003_split_counters.sql, which says why: a Galera cluster). SQLite has one
-- writer at a time, so the code writes slot 0 only here; the tables have the same shape.
--   counts (name, slot)        SUM(value) = COUNT(articles) for name 'articles'
--   tag_counts (tag_id, slot)  SUM(n) = COUNT(article_tags of the tag)

CREATE TABLE counts_split (
    name  TEXT    NOT NULL,
    slot  INTEGER NOT NULL,
    value INTEGER NOT NULL,
    PRIMARY KEY (name, slot)
);
INSERT INTO counts_split (name, slot, value) SELECT name, 0, value FROM counts;
INSERT INTO counts_split (name, slot, value) VALUES
    ('articles', 1, 0), ('articles', 2, 0), ('articles', 3, 0), ('articles', 4, 0),
    ('articles', 5, 0), ('articles', 6, 0), ('articles', 7, 0), ('articles', 8, 0),
    ('articles', 9, 0), ('articles', 10, 0), ('articles', 11, 0), ('articles', 12, 0),
    ('articles', 13, 0), ('articles', 14, 0), ('articles', 15, 0);
DROP TABLE counts;
ALTER TABLE counts_split RENAME TO counts;

CREATE TABLE tag_counts (
    tag_id INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    slot   INTEGER NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (tag_id, slot)
);
INSERT INTO tag_counts (tag_id, slot, n) SELECT id, 0, article_count FROM tags WHERE article_count <> 0;
DROP INDEX tags_popular;
ALTER TABLE tags DROP COLUMN article_count;
