//! Changes that race: a user's own settings save never writes over what an admin or a password
//! reset changed while it was in flight (the new password hashing, say).

use conduit::auth::account::{self, Changes};
use conduit::db::users;

use crate::support::{exec, register, scalar};

/// A settings save carrying `password`, as a request that read `user` before anything else.
fn new_password(password: &str) -> Changes {
    Changes {
        email: None,
        username: None,
        password: Some(password.to_owned()),
        bio: Some("saved late".to_owned()),
        image: None,
    }
}

/// A settings save as the faces run it: checked, then written (`password_queue_max` 64).
async fn save(
    db: &conduit::db::DbPool,
    config: &conduit::config::AppConfig,
    user: conduit::db::users::User,
    changes: Changes,
) -> Result<account::Updated, conduit::error::AppError> {
    account::write(
        db,
        account::prepare(db, config, user, changes, true).await?,
        64,
        None,
    )
    .await
}

db_test!(
    async fn a_settings_save_that_read_the_account_before_a_disable_or_a_reset_writes_nothing(app) {
        register(&app.client, "racer").await;
        let read = |app| async move { users::find_by_username(app, "racer").await.expect("query").expect("racer") };
        let hash = |app| async move {
            crate::admin_shape::text(app, "SELECT password_hash FROM users WHERE username = 'racer'").await.expect("hash")
        };

        // The request read the account, then an admin disabled it (ending its tokens) while
        // the new password hashed.
        let stale = read(app.db()).await;
        let before = hash(app.db()).await;
        exec(app.db(), "UPDATE users SET disabled = TRUE, token_version = token_version + 1 WHERE username = 'racer'").await.unwrap();
        let refused = save(app.db(), app.client.rocket().state().expect("config"), stale, new_password("the-new-password")).await;
        assert!(matches!(refused, Err(conduit::error::AppError::Unauthorized(_))), "{:?}", refused.err());
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE username = 'racer' AND disabled = TRUE").await, 1, "still disabled");
        assert_eq!(hash(app.db()).await, before, "the old password stays");
        assert_eq!(scalar(app.db(), "SELECT COUNT(*) FROM users WHERE username = 'racer' AND bio IS NULL").await, 1, "nothing else written");

        // Enabled again; a password reset lands while a profile save is in flight.
        exec(app.db(), "UPDATE users SET disabled = FALSE WHERE username = 'racer'").await.unwrap();
        let stale = read(app.db()).await;
        exec(app.db(), "UPDATE users SET password_hash = 'reset', token_version = token_version + 1 WHERE username = 'racer'").await.unwrap();
        let profile_only = Changes { password: None, ..new_password("") };
        assert!(save(app.db(), app.client.rocket().state().expect("config"), stale, profile_only).await.is_err());
        assert_eq!(hash(app.db()).await, "reset", "the reset's password stays");

        // Read fresh, the same save goes through and ends the earlier tokens once.
        let fresh = read(app.db()).await;
        let version = fresh.token_version;
        let done = save(app.db(), app.client.rocket().state().expect("config"), fresh, new_password("the-new-password")).await.expect("saved");
        assert!(done.password_changed);
        assert_eq!(done.user.token_version, version + 1);
        assert_eq!(read(app.db()).await.token_version, version + 1);
        assert_eq!(read(app.db()).await.bio.as_deref(), Some("saved late"));
        assert_ne!(hash(app.db()).await, "reset");
    }
);
