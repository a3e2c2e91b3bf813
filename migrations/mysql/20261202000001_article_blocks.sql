-- Deep offsets of the unfiltered list without walking the ids they skip (issue 22; kept in
-- step with ../sqlite/20261202000001_article_blocks.sql).
--
-- `GET /api/articles?offset=20000` walked 20,000 entries of `articles_id` (the narrow id
-- index), and InnoDB walks an index backwards at about 125 ns an entry (2.5 ms, most of the
-- statement: 5% of the first page's rate). `article_blocks` counts the articles of each block
-- of 1,024 ids (`block` = id >> 10), split over slots as `counts` is (a Galera cluster: see
-- src/db/articles/mod.rs, `counters`). Summing the blocks from the newest finds the block in
-- which the offset falls and how many newer articles there are; the page then seeks into
-- `articles_id` at the block's upper end and walks fewer than 1,024 entries
-- (src/db/articles/blocks.rs).
CREATE TABLE article_blocks (
    block BIGINT   NOT NULL,
    slot  SMALLINT NOT NULL,
    n     BIGINT   NOT NULL,
    PRIMARY KEY (block, slot)
) ENGINE = InnoDB;
INSERT INTO article_blocks (block, slot, n) SELECT id >> 10, 0, COUNT(*) FROM articles GROUP BY id >> 10;

-- The newest-first walks read their indexes forwards (descending indexes, MariaDB 10.8 and
-- later): an InnoDB forward walk costs less than half a backward one (1.0 ms against 2.4 ms
-- for 20,000 entries of the ids; 0.6 against 1.0 ms for 8,000 of one tag's). The tag list at
-- depth has no block counts, so this is what makes its deep offsets cheaper.
ALTER TABLE articles DROP INDEX articles_id, ADD INDEX articles_id (id DESC);
ALTER TABLE article_tags DROP INDEX article_tags_tag_id, ADD INDEX article_tags_tag_id (tag_id, article_id DESC);
