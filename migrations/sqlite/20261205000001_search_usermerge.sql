-- The search indexes' segments merged down in the background (src/db/search/mod.rs,
-- `merge_segments`, run by the SQLite maintenance task of src/housekeeping.rs). Every write
-- adds a small segment to each FTS5 index, and FTS5 merges a level only once it holds
-- `automerge` (4) of them, so 1,000 articles written one by one left 7 to 16 segments per
-- index, and each word of a search was looked up in every one of them. `usermerge` 2 lets the
-- background `merge` command join any two segments of a level: the indexes settle at one or
-- two segments each, and the merges stay incremental (never the whole index rewritten at once).
INSERT INTO article_search (article_search, rank) VALUES ('usermerge', 2);
INSERT INTO article_search_title (article_search_title, rank) VALUES ('usermerge', 2);
INSERT INTO article_search_tags (article_search_tags, rank) VALUES ('usermerge', 2);
INSERT INTO article_search_description (article_search_description, rank) VALUES ('usermerge', 2);
