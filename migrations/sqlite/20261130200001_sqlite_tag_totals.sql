-- SQLite only (../mysql/20261130200001_sqlite_tag_totals.sql changes nothing): each tag's
-- total again in `tags.article_count`, kept equal to SUM(tag_counts.n) by triggers, so the
-- popular tags are read in the order of an index (`tags_popular`) instead of summing the
-- slots, grouping and sorting on every `/api/tags` and home page (about half of that
-- request's database time). SQLite has one writer at a time, so the row every article's tags
-- write is no contention here; MySQL keeps the split slots (a Galera cluster would collide on
-- it). The triggers also cover rows written outside the app (a restore, a test, a console).

ALTER TABLE tags ADD COLUMN article_count INTEGER NOT NULL DEFAULT 0;
UPDATE tags SET article_count = COALESCE((SELECT SUM(c.n) FROM tag_counts c WHERE c.tag_id = tags.id), 0);
CREATE INDEX tags_popular ON tags (article_count DESC, name);

CREATE TRIGGER tag_counts_total_insert AFTER INSERT ON tag_counts BEGIN
    UPDATE tags SET article_count = article_count + NEW.n WHERE id = NEW.tag_id;
END;
CREATE TRIGGER tag_counts_total_update AFTER UPDATE OF n ON tag_counts BEGIN
    UPDATE tags SET article_count = article_count - OLD.n WHERE id = OLD.tag_id;
    UPDATE tags SET article_count = article_count + NEW.n WHERE id = NEW.tag_id;
END;
CREATE TRIGGER tag_counts_total_delete AFTER DELETE ON tag_counts BEGIN
    UPDATE tags SET article_count = article_count - OLD.n WHERE id = OLD.tag_id;
END;
