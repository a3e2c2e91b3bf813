-- Deep offsets of the unfiltered list without walking the ids they skip (issue 22; kept in
-- step with ../mysql/20261202000001_article_blocks.sql, which says why).
--
-- `article_blocks` counts the articles of each block of 1,024 ids (`block` = id >> 10); SQLite
-- has one writer at a time, so the code writes slot 0 only here (the shape is MySQL's).
-- Summing the blocks from the newest finds the block in which an offset falls; the page then
-- seeks into `articles_id` at the block's upper end (src/db/articles/blocks.rs). SQLite walks
-- an index as fast backwards as forwards: its indexes stay as they are.
CREATE TABLE article_blocks (
    block INTEGER NOT NULL,
    slot  INTEGER NOT NULL,
    n     INTEGER NOT NULL,
    PRIMARY KEY (block, slot)
) WITHOUT ROWID;
INSERT INTO article_blocks (block, slot, n) SELECT id >> 10, 0, COUNT(*) FROM articles GROUP BY id >> 10;
