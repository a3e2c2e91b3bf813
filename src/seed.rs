//! `conduit seed --demo`: realistic demo content so a newcomer sees a living site. Idempotent:
//! users, articles, comments, follows and favorites that already exist are left alone.

use crate::auth::account;
use crate::content;
use crate::db::users::Role;
use crate::db::{self, DbPool};
use crate::error::AppError;

/// The password of every demo account (documented in the README).
pub const DEMO_PASSWORD: &str = "conduit-demo-password";

const USERS: [(&str, &str); 6] = [
    ("amelia", "Writes about distributed systems and long walks."),
    ("bruno", "Backend engineer. Coffee, Rust and databases."),
    ("chiara", "Designer who codes. Accessibility advocate."),
    ("dmitri", "Maintains too many open source projects."),
    ("esther", "Teaches programming to beginners on weekends."),
    (
        "farid",
        "Site reliability, observability, incident reviews.",
    ),
];

const ARTICLES: [(usize, &str, &str, &[&str]); 12] = [
    (
        0,
        "Consensus without tears",
        "A gentle tour of Raft for people who build services",
        &["distributed-systems", "raft"],
    ),
    (
        0,
        "Timeouts are a product decision",
        "Why every network call needs an explicit budget",
        &["reliability", "distributed-systems"],
    ),
    (
        1,
        "Choosing indexes by reading EXPLAIN",
        "Let the query planner tell you what it needs",
        &["databases", "performance"],
    ),
    (
        1,
        "Error handling that helps at 3 a.m.",
        "Context, causes and the one log line you will need",
        &["rust", "reliability"],
    ),
    (
        2,
        "Forms that work without JavaScript",
        "Progressive enhancement is not a nostalgia act",
        &["web", "accessibility"],
    ),
    (
        2,
        "Focus styles are not optional",
        "Keyboard users deserve to know where they are",
        &["accessibility", "css"],
    ),
    (
        3,
        "Saying no to feature requests",
        "A maintainer's guide to kind refusals",
        &["open-source"],
    ),
    (
        3,
        "Semantic versioning in practice",
        "What a breaking change really means for users",
        &["open-source", "rust"],
    ),
    (
        4,
        "Teaching loops with music",
        "Rhythm makes iteration click for beginners",
        &["teaching"],
    ),
    (
        4,
        "The first program matters",
        "Pick something a learner can show their friends",
        &["teaching", "web"],
    ),
    (
        5,
        "Blameless incident reviews",
        "How to learn from outages without finding culprits",
        &["reliability", "culture"],
    ),
    (
        5,
        "Dashboards nobody reads",
        "Fewer graphs, better questions",
        &["observability", "reliability"],
    ),
];

const COMMENTS: [&str; 6] = [
    "This is exactly what I needed this week, thank you!",
    "Great write-up. Do you have a follow-up planned?",
    "I tried this on our team and it worked well.",
    "Bookmarked. The example in the middle is very clear.",
    "I disagree with one point, but overall a solid read.",
    "Sharing this with my colleagues right away.",
];

fn body_for(title: &str, description: &str) -> String {
    format!(
        "## {title}\n\n{description}.\n\nMost teams learn this the hard way. Here is what worked for us, \
         in three steps.\n\n1. **Start small.** Pick one place where it hurts and fix only that.\n\
         2. **Measure.** Write down what you expect before you look at the numbers.\n\
         3. **Share.** A short note to the team beats a perfect document nobody reads.\n\n\
         > The best time to write it down is while you still remember why.\n\n\
         Questions and corrections are welcome in the comments."
    )
}

/// What seeding did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Accounts created.
    pub users: usize,
    /// Articles created.
    pub articles: usize,
    /// Comments created.
    pub comments: usize,
}

/// Fill the database with the demo content that is not there yet.
pub async fn demo(db: &DbPool) -> Result<Summary, AppError> {
    let mut summary = Summary::default();
    let mut ids = Vec::new();
    for (name, bio) in USERS {
        let user = if let Some(user) = db::users::find_by_username(db, name).await? {
            user
        } else {
            let mut user = account::create(
                db,
                name,
                &format!("{name}@demo.conduit.test"),
                DEMO_PASSWORD,
                Role::User,
            )
            .await?;
            user.bio = Some(bio.to_owned());
            db::users::update_own(db, &user, None, None).await?;
            summary.users += 1;
            user
        };
        ids.push(user.id);
    }
    for (i, &(author, title, description, tags)) in ARTICLES.iter().enumerate() {
        if db::articles::find(db, &content::slug_for(title), None)
            .await?
            .is_some()
        {
            continue;
        }
        let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
        let data =
            content::check_article(title, description, &body_for(title, description), &tags)?;
        let article = content::create_article(db, ids[author], &data).await?;
        summary.articles += 1;
        for k in 0..=(i % 3) {
            let commenter = ids[(author + k + 1) % ids.len()];
            db::comments::insert(
                db,
                article.id,
                commenter,
                COMMENTS[(i + k) % COMMENTS.len()],
            )
            .await?;
            summary.comments += 1;
        }
        for k in 0..(i % 4) {
            db::articles::favorite(db, ids[(author + k + 2) % ids.len()], article.id).await?;
        }
    }
    for (i, &follower) in ids.iter().enumerate() {
        for step in [1, 2] {
            db::profiles::follow(db, follower, ids[(i + step) % ids.len()]).await?;
        }
    }
    Ok(summary)
}
