-- Search postings for MySQL/MariaDB (issue 20: a few ms at 50,000 articles). InnoDB FULLTEXT
-- decodes a word's whole list of matches whatever the LIMIT; a posting per (word, field,
-- article) lets a search read a word's articles by a range of the primary key instead, and
-- an article's own rows by a range on (article_id, field). The key starts with the field so
-- that one field's postings of a word (or of a prefix) are one range: a search asks how many
-- of them there are, and whether a field holds a word at all, in a few index rows.
--
-- `word`: folded as src/db/search/postings.rs folds (lower case, NFC, accents of Latin,
-- Greek and Cyrillic letters stripped), stored as its UTF-8 bytes so the key compares bytes
-- (no collation merges two words the code holds apart); a prefix is the range
-- [prefix, prefix || 0xFF) since UTF-8 never holds the byte 0xFF.
-- `field`: 3 title, 2 tags, 1 description, 0 body (the ranking order).
--
-- The FULLTEXT indexes of 20261201000001 and 20261203200001 stay: an instance of the previous
-- release, still running during a rolling upgrade, searches with them. A later release drops
-- them. `search_postings_state` is the backfill's high-water mark: articles up to
-- `indexed_up_to` have their postings.
CREATE TABLE search_postings (
    word       VARBINARY(256) NOT NULL,
    field      TINYINT        NOT NULL,
    article_id BIGINT         NOT NULL,
    PRIMARY KEY (field, word, article_id),
    KEY search_postings_article (article_id, field, word),
    CONSTRAINT search_postings_article_fk FOREIGN KEY (article_id)
        REFERENCES articles (id) ON DELETE CASCADE
) ENGINE = InnoDB;

CREATE TABLE search_postings_state (
    id            TINYINT NOT NULL PRIMARY KEY,
    indexed_up_to BIGINT  NOT NULL
) ENGINE = InnoDB;

INSERT INTO search_postings_state (id, indexed_up_to) VALUES (1, 0);
