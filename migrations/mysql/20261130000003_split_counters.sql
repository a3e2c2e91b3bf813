-- Counters no single row of which every writer updates (kept in step with
-- ../sqlite/20261130000003_split_counters.sql). On a Galera cluster two transactions on
-- different nodes that write the same row cannot both commit: the later one is rolled back
-- (error 1213) and runs again. Every new article wrote the one 'articles' row of `counts` and
-- the `article_count` of each of its tags, so writes through two nodes kept colliding.
--
-- Each counter is now split over slots: a writer adds its +1 or -1 to one slot (on MySQL a
-- random one of 16, src/db/articles/mod.rs `counters`), a reader sums the slots.
--   counts (name, slot)        SUM(value) = COUNT(articles) for name 'articles'; 16 slots
--                              made here, so writers only update
--   tag_counts (tag_id, slot)  SUM(n) = COUNT(article_tags of the tag); a slot's row is made
--                              by the first writer that picks it (an upsert)

CREATE TABLE counts_split (
    name  VARCHAR(64) NOT NULL,
    slot  SMALLINT    NOT NULL,
    value BIGINT      NOT NULL,
    PRIMARY KEY (name, slot)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
INSERT INTO counts_split (name, slot, value) SELECT name, 0, value FROM counts;
INSERT INTO counts_split (name, slot, value) VALUES
    ('articles', 1, 0), ('articles', 2, 0), ('articles', 3, 0), ('articles', 4, 0),
    ('articles', 5, 0), ('articles', 6, 0), ('articles', 7, 0), ('articles', 8, 0),
    ('articles', 9, 0), ('articles', 10, 0), ('articles', 11, 0), ('articles', 12, 0),
    ('articles', 13, 0), ('articles', 14, 0), ('articles', 15, 0);
DROP TABLE counts;
RENAME TABLE counts_split TO counts;

CREATE TABLE tag_counts (
    tag_id BIGINT   NOT NULL,
    slot   SMALLINT NOT NULL,
    n      BIGINT   NOT NULL,
    PRIMARY KEY (tag_id, slot),
    CONSTRAINT tag_counts_tag FOREIGN KEY (tag_id) REFERENCES tags (id) ON DELETE CASCADE
) ENGINE = InnoDB;
INSERT INTO tag_counts (tag_id, slot, n) SELECT id, 0, article_count FROM tags WHERE article_count <> 0;
DROP INDEX tags_popular ON tags;
ALTER TABLE tags DROP COLUMN article_count;
