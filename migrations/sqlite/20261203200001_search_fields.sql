-- Search that stays fast at 50,000 articles (issue 20; kept in step with
-- ../mysql/20261203200001_search_fields.sql). src/db/search.rs reads a ranked page tier by
-- tier (title, tags, description, body), newest first, stopping once the page is full; two
-- things make that cheap:
--
-- `article_search` again with `detail = column`: its entries keep in which fields a word is,
-- not where in them (search asks for words as prefixes, never phrases or nearness, and the
-- snippets are made in Rust). The tiers' field filters (`{title} : ...`) then read a
-- column list per article instead of every position of the word: a word 20 times in each of
-- 50,000 bodies took 9 ms to find in no title with positions, 3 ms without.
--
-- One small index per ranked field (`detail = column`: which articles only), so that whether a
-- word is in any title, tag list or description at all is one look-up (microseconds) and the
-- tiers of a field without it are never read.
DROP TABLE article_search;
CREATE VIRTUAL TABLE article_search USING fts5 (
    title, tag_list, description, body,
    content = 'articles',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3',
    detail = column
);
INSERT INTO article_search (article_search) VALUES ('rebuild');

CREATE VIRTUAL TABLE article_search_title USING fts5 (
    title, content = 'articles', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3', detail = column
);
CREATE VIRTUAL TABLE article_search_tags USING fts5 (
    tag_list, content = 'articles', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3', detail = column
);
CREATE VIRTUAL TABLE article_search_description USING fts5 (
    description, content = 'articles', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3', detail = column
);
INSERT INTO article_search_title (article_search_title) VALUES ('rebuild');
INSERT INTO article_search_tags (article_search_tags) VALUES ('rebuild');
INSERT INTO article_search_description (article_search_description) VALUES ('rebuild');

-- Kept in step as `article_search` is (../sqlite/20261201000001_search.sql): in the
-- transaction of every write, the old values taken out exactly as they were indexed, and an
-- update only when the field itself changes.
CREATE TRIGGER article_search_fields_insert AFTER INSERT ON articles BEGIN
    INSERT INTO article_search_title (rowid, title) VALUES (new.id, new.title);
    INSERT INTO article_search_tags (rowid, tag_list) VALUES (new.id, new.tag_list);
    INSERT INTO article_search_description (rowid, description) VALUES (new.id, new.description);
END;

CREATE TRIGGER article_search_fields_delete AFTER DELETE ON articles BEGIN
    INSERT INTO article_search_title (article_search_title, rowid, title)
    VALUES ('delete', old.id, old.title);
    INSERT INTO article_search_tags (article_search_tags, rowid, tag_list)
    VALUES ('delete', old.id, old.tag_list);
    INSERT INTO article_search_description (article_search_description, rowid, description)
    VALUES ('delete', old.id, old.description);
END;

CREATE TRIGGER article_search_title_update AFTER UPDATE OF title ON articles BEGIN
    INSERT INTO article_search_title (article_search_title, rowid, title)
    VALUES ('delete', old.id, old.title);
    INSERT INTO article_search_title (rowid, title) VALUES (new.id, new.title);
END;

CREATE TRIGGER article_search_tags_update AFTER UPDATE OF tag_list ON articles BEGIN
    INSERT INTO article_search_tags (article_search_tags, rowid, tag_list)
    VALUES ('delete', old.id, old.tag_list);
    INSERT INTO article_search_tags (rowid, tag_list) VALUES (new.id, new.tag_list);
END;

CREATE TRIGGER article_search_description_update AFTER UPDATE OF description ON articles BEGIN
    INSERT INTO article_search_description (article_search_description, rowid, description)
    VALUES ('delete', old.id, old.description);
    INSERT INTO article_search_description (rowid, description) VALUES (new.id, new.description);
END;
