-- Nothing to do on MySQL: ../sqlite/20261203000001_sqlite_favorite_totals.sql gives SQLite a
-- favorite total per article kept by triggers. Here the slots of `favorite_counts` stay the
-- only count (the article's row, written by every favorite, is what a Galera cluster collides
-- on), and reads sum them (src/db/articles/mod.rs, `favorites_count!`). The file keeps the two
-- folders' versions the same.
DO 0;
