-- Full-text search over articles (issue 20; kept in step with ../sqlite/20261201000001_search.sql).
--
-- InnoDB FULLTEXT indexes, built from the rows already there and kept by InnoDB on every
-- write (no trigger, no code in the write path). The tag names are read from
-- `articles.tag_list`, the comma-separated names the write path (src/db/articles/write.rs)
-- and the admin's tag rename/delete (src/db/admin/write.rs) already keep on the row for the
-- lists: a FULLTEXT index covers columns of one table only, so an index on `tags.name` could
-- not be matched together with the article's text, and a second denormalized column would
-- be one more thing to keep in step.
--
-- `articles_search` covers every searched field and finds the matches (all words, each as a
-- prefix). The three one-column indexes tell which fields matched, for the ranking (title,
-- then tags, then description; the body needs none: a match found nowhere else is in it).
-- MATCH () names exactly the columns of one FULLTEXT index, hence one index per field.
--
-- Tokens shorter than innodb_ft_min_token_size (3) and InnoDB's stopwords are not indexed;
-- src/db/search.rs leaves them out of queries (see its `Query`).
ALTER TABLE articles ADD FULLTEXT INDEX articles_search (title, tag_list, description, body);
ALTER TABLE articles ADD FULLTEXT INDEX articles_search_title (title);
ALTER TABLE articles ADD FULLTEXT INDEX articles_search_tags (tag_list);
ALTER TABLE articles ADD FULLTEXT INDEX articles_search_description (description);
