-- Deep pages read a narrow index, never the rows (issue 22; kept in step with
-- ../sqlite/20261130100001_narrow_list_indexes.sql).
--
-- The unfiltered article list is newest first by id. InnoDB's primary key is the table
-- itself (every column, body and all, in key order), so an offset of 49,000 walked 49,000
-- whole rows although EXPLAIN says `Using index`. This secondary index holds the ids alone:
-- an offset skips its entries only, and a keyset page (`id < ?`) seeks into it.
-- src/db/articles/list.rs names it (FORCE INDEX); the filtered lists already read narrow
-- indexes (article_tags_tag_id, articles_author_id, the favorites' and feed_entries' keys).
CREATE INDEX articles_id ON articles (id);

-- The admin tables' keyset pages by sign-up / writing time seek into these (`created_at >= ?`
-- then the id): newest users and comments at any depth without sorting every row. Articles
-- (articles_created_at) and the audit log (audit_log_created_at) have theirs already.
CREATE INDEX users_created_at ON users (created_at, id);
CREATE INDEX comments_created_at ON comments (created_at, id);
