-- What article lists read (kept in step with ../mysql/20261124000002_list_performance.sql).
--
-- Counters kept beside the rows they summarise, so a list page reads them instead of running a
-- subquery per article:
--   articles.favorites_count  = COUNT(favorites of the article)
--   articles.tag_list         = the article's tag names, comma-separated (order not significant)
--   tags.article_count        = COUNT(article_tags of the tag)
--   users.articles_count      = COUNT(articles by the user), for author and feed totals
--   counts 'articles'         = COUNT(articles), the total of an unfiltered list (InnoDB counts
--                               by reading every row: 0.15 ms per 1,000 articles, each request)
-- src/db/articles.rs and src/db/admin.rs update them in the same transaction
-- as the rows they count; tests/it/counters.rs checks them against fresh counts.

ALTER TABLE articles ADD COLUMN favorites_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE articles ADD COLUMN tag_list TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN articles_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tags ADD COLUMN article_count INTEGER NOT NULL DEFAULT 0;

UPDATE articles SET
    favorites_count = (SELECT COUNT(*) FROM favorites f WHERE f.article_id = articles.id),
    tag_list = COALESCE((SELECT group_concat(t.name) FROM article_tags at JOIN tags t ON t.id = at.tag_id
                         WHERE at.article_id = articles.id), '');
CREATE TABLE counts (
    name  TEXT    NOT NULL PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counts (name, value) SELECT 'articles', COUNT(*) FROM articles;

UPDATE users SET articles_count = (SELECT COUNT(*) FROM articles a WHERE a.author_id = users.id);
UPDATE tags SET article_count = (SELECT COUNT(*) FROM article_tags at WHERE at.tag_id = tags.id);

-- The popular-tags list reads this index in order and stops at its limit.
CREATE INDEX tags_popular ON tags (article_count DESC, name);

-- Lists are newest first by id, and each filter reads its index range in id order: tags via
-- article_tags (tag_id, article_id), favorites via their primary key (user_id, article_id),
-- authors via this one. It replaces (author_id, created_at, id), which no query reads now.
CREATE INDEX articles_author_id ON articles (author_id, id);
DROP INDEX articles_author_created;
