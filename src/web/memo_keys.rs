//! The page memo's keys for database rows: every field of an article or a comment that a page
//! can show goes into the key of a fragment made from it, so a changed field is a new key.
//! (Here, beside the pages that memoize, rather than in `db`: the rows know nothing of pages.)

use crate::cache::{Key, KeyPart};
use crate::db::articles::Article;
use crate::db::comments::Comment;
use crate::db::{ArticleId, AuditId, CommentId, TagId, UserId};

/// An id is its number: the same bytes an `i64` gave the key.
macro_rules! id_key_parts {
    ($($id:ty),*) => {$(
        impl KeyPart for $id {
            fn write_to(&self, key: &mut Key) {
                self.get().write_to(key);
            }
        }
    )*};
}
id_key_parts!(UserId, ArticleId, CommentId, TagId, AuditId);

/// Every field a page can show, for the key of a memoized fragment made from the article.
/// The pattern names each field, so a new field does not compile until it is here too.
impl KeyPart for Article {
    fn write_to(&self, key: &mut Key) {
        let Article {
            id,
            slug,
            title,
            description,
            body,
            created_at,
            updated_at,
            author_id,
            author_username,
            author_bio,
            author_image,
            following,
            favorites_count,
            favorited,
            tags,
            // Read-time carriers: `tags` holds the names, `total` belongs to the list.
            tag_names: _,
            total: _,
        } = self;
        id.write_to(key);
        slug.write_to(key);
        title.write_to(key);
        description.write_to(key);
        body.write_to(key);
        created_at.write_to(key);
        updated_at.write_to(key);
        author_id.write_to(key);
        author_username.write_to(key);
        author_bio.write_to(key);
        author_image.write_to(key);
        following.write_to(key);
        favorites_count.write_to(key);
        favorited.write_to(key);
        tags.write_to(key);
    }
}

/// Every field a page can show, for the key of a memoized fragment made from the comment.
/// The pattern names each field, so a new field does not compile until it is here too.
impl KeyPart for Comment {
    fn write_to(&self, key: &mut Key) {
        let Comment {
            id,
            article_id,
            body,
            created_at,
            updated_at,
            author_id,
            author_username,
            author_bio,
            author_image,
            following,
        } = self;
        id.write_to(key);
        article_id.write_to(key);
        body.write_to(key);
        created_at.write_to(key);
        updated_at.write_to(key);
        author_id.write_to(key);
        author_username.write_to(key);
        author_bio.write_to(key);
        author_image.write_to(key);
        following.write_to(key);
    }
}
