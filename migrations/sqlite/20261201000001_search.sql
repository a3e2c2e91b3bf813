-- Full-text search over articles (issue 20; kept in step with ../mysql/20261201000001_search.sql).
--
-- An FTS5 index whose content is the `articles` table itself (external content: the text is
-- stored once, in `articles`; the index holds only the tokens). Its columns are the fields
-- search ranks by, in rank order: title, tag names (`tag_list`, which the write path and the
-- admin's tag rename/delete keep on the article row), description, body.
--
-- `unicode61 remove_diacritics 2`: case and accents folded ("cafe" finds "Café"), words split
-- at anything that is not a letter or a digit. `prefix '2 3'` keeps extra index entries for
-- the first two and three characters of every token, so the prefix queries search runs
-- (every word is matched as a prefix, as typed) read one range instead of scanning terms.
CREATE VIRTUAL TABLE article_search USING fts5 (
    title, tag_list, description, body,
    content = 'articles',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

-- Kept in step by triggers, so every write path (the site, the API, the admin, a user's
-- cascade delete) updates it in the transaction of the change. An external-content index
-- must be told the old values to take out ('delete'), exactly as they were indexed. The
-- update trigger fires only when an indexed column changes: favorite counts (written on every
-- favorite) leave the index alone.
CREATE TRIGGER article_search_insert AFTER INSERT ON articles BEGIN
    INSERT INTO article_search (rowid, title, tag_list, description, body)
    VALUES (new.id, new.title, new.tag_list, new.description, new.body);
END;

CREATE TRIGGER article_search_delete AFTER DELETE ON articles BEGIN
    INSERT INTO article_search (article_search, rowid, title, tag_list, description, body)
    VALUES ('delete', old.id, old.title, old.tag_list, old.description, old.body);
END;

CREATE TRIGGER article_search_update AFTER UPDATE OF title, tag_list, description, body ON articles BEGIN
    INSERT INTO article_search (article_search, rowid, title, tag_list, description, body)
    VALUES ('delete', old.id, old.title, old.tag_list, old.description, old.body);
    INSERT INTO article_search (rowid, title, tag_list, description, body)
    VALUES (new.id, new.title, new.tag_list, new.description, new.body);
END;

-- The articles written before this migration.
INSERT INTO article_search (article_search) VALUES ('rebuild');
