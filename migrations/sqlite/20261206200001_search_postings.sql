-- Nothing to do on SQLite: ../mysql/20261206200001_search_postings.sql gives MySQL/MariaDB a
-- postings table for search; SQLite keeps its FTS5 tables (20261201000001_search.sql). The
-- file keeps the two folders' versions the same.
SELECT 0;
