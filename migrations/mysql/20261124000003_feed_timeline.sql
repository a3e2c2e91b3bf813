-- Each reader's feed, written when it changes (kept in step with ../sqlite/20261124000003_feed_timeline.sql).
--
-- feed_entries holds (reader, article) for every article by an author the reader follows:
-- a feed page reads one primary-key range newest first and stops after a page, where the join
-- of follows and articles read every followed author's articles and sorted them on each request.
-- src/db/articles.rs adds a new article's entries for its author's followers and
-- src/db/profiles.rs adds or removes an author's articles on follow and unfollow, each in the
-- same transaction; deletes of articles and users remove entries by cascade.
-- tests/it/counters.rs checks the table against the join after every kind of write.

CREATE TABLE feed_entries (
    user_id    BIGINT NOT NULL,
    article_id BIGINT NOT NULL,
    PRIMARY KEY (user_id, article_id),
    KEY feed_entries_article_id (article_id),
    CONSTRAINT feed_entries_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT feed_entries_article FOREIGN KEY (article_id) REFERENCES articles (id) ON DELETE CASCADE
) ENGINE = InnoDB;

INSERT INTO feed_entries (user_id, article_id)
SELECT f.follower_id, a.id FROM follows f JOIN articles a ON a.author_id = f.followee_id;
