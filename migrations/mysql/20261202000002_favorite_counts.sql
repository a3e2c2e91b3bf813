-- Favorites of one article without one row every favoriter writes (issue 23; kept in step
-- with ../sqlite/20261202000002_favorite_counts.sql).
--
-- Each favorite added 1 to `articles.favorites_count`, the article's own row: favorites of
-- one article through two Galera nodes wrote the same row, and the later transaction failed
-- certification (1213) and ran again, up to 8 times, then answered 503 (bench/galera). The
-- count moves to `favorite_counts`, split over 16 slots as the other counters are (a writer
-- adds its +1 or -1 to a random slot; lists sum the article's slots, one primary-key range).
-- The article's row is no longer written by a favorite: its foreign key is only read.
CREATE TABLE favorite_counts (
    article_id BIGINT   NOT NULL,
    slot       SMALLINT NOT NULL,
    n          BIGINT   NOT NULL,
    PRIMARY KEY (article_id, slot),
    CONSTRAINT favorite_counts_article FOREIGN KEY (article_id) REFERENCES articles (id) ON DELETE CASCADE
) ENGINE = InnoDB;
INSERT INTO favorite_counts (article_id, slot, n)
SELECT id, 0, favorites_count FROM articles WHERE favorites_count <> 0;
ALTER TABLE articles DROP COLUMN favorites_count;
