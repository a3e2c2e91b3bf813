-- Nothing to do on MySQL: ../sqlite/20261203200001_search_fields.sql rebuilds SQLite's FTS5
-- index without positions and adds one small index per ranked field, for the tier-by-tier
-- page of src/db/search.rs. `InnoDB`'s FULLTEXT indexes (20261201000001_search.sql) already
-- have one per ranked field. The file keeps the two folders' versions the same.
DO 0;
