-- Nothing to do on MySQL: ../sqlite/20261205000001_search_usermerge.sql lets SQLite's
-- background merges join the FTS5 search indexes' segments. `InnoDB` merges its FULLTEXT
-- indexes itself (OPTIMIZE TABLE is not needed for reads). The file keeps the two folders'
-- versions the same.
DO 0;
