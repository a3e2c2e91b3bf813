-- When each tag was first used (issue 21: the dashboard's "new tags in 7 days"). Kept in step
-- with ../mysql/20261201300001_tag_created_at.sql.
--
-- Existing tags take the time of their oldest article; a tag no article carries any more keeps
-- the epoch (it is old, whatever it is). A new tag gets the time the article bringing it is
-- written (src/db/articles/write.rs). The users, articles and comments tables already have their
-- `created_at` indexes (the dashboard's per-day counts seek into them).
ALTER TABLE tags ADD COLUMN created_at TEXT NOT NULL DEFAULT '1970-01-01T00:00:00+00:00';
UPDATE tags SET created_at = COALESCE(
    (SELECT MIN(a.created_at) FROM article_tags at JOIN articles a ON a.id = at.article_id
     WHERE at.tag_id = tags.id),
    created_at);
CREATE INDEX tags_created_at ON tags (created_at);
