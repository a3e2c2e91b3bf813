-- SQLite only (../mysql/20261203000001_sqlite_favorite_totals.sql changes nothing): each
-- article's favorite count again on its row, `articles.favorites_count`, kept equal to
-- SUM(favorite_counts.n) by triggers, so a list reads it with the row instead of looking up
-- `favorite_counts` once per article (the lookups were most of what issue 23's change added
-- to a list request here). SQLite has one writer at a time, so the article's row every
-- favorite writes is no contention; MySQL keeps the split slots alone (a Galera cluster would
-- collide on the row) and sums them (src/db/articles/mod.rs, `favorites_count!`). The
-- triggers also cover rows written outside the app (a restore, a test, a console). Search's
-- update trigger fires only for its own columns, so a favorite leaves the index alone.

ALTER TABLE articles ADD COLUMN favorites_count INTEGER NOT NULL DEFAULT 0;
UPDATE articles SET favorites_count =
    COALESCE((SELECT SUM(c.n) FROM favorite_counts c WHERE c.article_id = articles.id), 0);

CREATE TRIGGER favorite_counts_total_insert AFTER INSERT ON favorite_counts BEGIN
    UPDATE articles SET favorites_count = favorites_count + NEW.n WHERE id = NEW.article_id;
END;
CREATE TRIGGER favorite_counts_total_update AFTER UPDATE OF n ON favorite_counts BEGIN
    UPDATE articles SET favorites_count = favorites_count - OLD.n WHERE id = OLD.article_id;
    UPDATE articles SET favorites_count = favorites_count + NEW.n WHERE id = NEW.article_id;
END;
CREATE TRIGGER favorite_counts_total_delete AFTER DELETE ON favorite_counts BEGIN
    UPDATE articles SET favorites_count = favorites_count - OLD.n WHERE id = OLD.article_id;
END;
