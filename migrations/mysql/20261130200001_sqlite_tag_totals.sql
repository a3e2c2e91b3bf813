-- Nothing to do on MySQL: ../sqlite/20261130200001_sqlite_tag_totals.sql gives SQLite a total
-- per tag kept by triggers. Here the slots of `tag_counts` stay the only count (one row every
-- writer updated is what a Galera cluster collides on), and the popular tags sum them
-- (src/db/tags.rs). The file keeps the two folders' versions the same.
DO 0;
