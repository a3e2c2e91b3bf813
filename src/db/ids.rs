//! Typed primary keys: one newtype over `i64` per table whose id the code passes around, so
//! the compiler refuses an article id where a user id is expected (issue 17).
//!
//! Each is transparent everywhere an `i64` was: the same bytes in both databases
//! (`#[sqlx(transparent)]`), a plain number in JSON and in templates (`#[serde(transparent)]`),
//! the same path segment and form field as an `i64` (a segment that is not one forwards as
//! before), and no cost (`#[repr(transparent)]`, `Copy`). [`get`](UserId::get) hands the
//! number out where it leaves the program (itoa, a key's bytes); [`new`](UserId::new) takes it
//! in where it arrives untyped (a last insert id, a route whose table is chosen at run time).
//! The console's routes that serve every table take the table's name and a bare `i64` id
//! (`/admin/<resource>/<id>`): a typed id fills such a segment in `uri!` as it is, and code
//! generic over tables reaches `new` and `get` through [`Id`].
//!
//! ```
//! use conduit::db::{ArticleId, UserId};
//! fn wants_article(_: ArticleId) {}
//! wants_article(ArticleId::new(1));
//! assert_eq!(serde_json::to_string(&UserId::new(7)).unwrap(), "7");
//! ```
//!
//! A user id where an article id is expected does not compile:
//!
//! ```compile_fail,E0308
//! use conduit::db::{ArticleId, UserId};
//! fn wants_article(_: ArticleId) {}
//! wants_article(UserId::new(1));
//! ```

use std::fmt;
use std::str::FromStr;

use rocket::form::{self, FromFormField, ValueField};
use rocket::http::uri::fmt::{Formatter, FromUriParam, Part, Path, UriDisplay};
use rocket::request::FromParam;
use serde::{Deserialize, Serialize};

/// What every id type is, for code generic over tables (the console's declared tables).
pub trait Id:
    Copy + Eq + fmt::Debug + fmt::Display + Serialize + UriDisplay<Path> + Send + Sync + 'static
{
    /// The id with this number.
    fn new(raw: i64) -> Self;
    /// The number.
    fn get(self) -> i64;
}

/// Declare id newtypes over `i64` with every impl listed in the module docs.
macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            sqlx::Type,
        )]
        #[repr(transparent)]
        #[serde(transparent)]
        #[sqlx(transparent)]
        pub struct $name(i64);

        impl $name {
            /// The id with this number.
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            /// The number.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        /// Exactly `i64`'s: what parsed before parses now, what forwarded still forwards.
        impl<'a> FromParam<'a> for $name {
            type Error = <i64 as FromParam<'a>>::Error;

            fn from_param(param: &'a str) -> Result<Self, Self::Error> {
                i64::from_param(param).map(Self)
            }
        }

        #[rocket::async_trait]
        impl<'v> FromFormField<'v> for $name {
            fn from_value(field: ValueField<'v>) -> form::Result<'v, Self> {
                i64::from_value(field).map(Self)
            }
        }

        impl<P: Part> UriDisplay<P> for $name {
            fn fmt(&self, f: &mut Formatter<'_, P>) -> fmt::Result {
                UriDisplay::<P>::fmt(&self.0, f)
            }
        }

        rocket::http::impl_from_uri_param_identity!($name);

        /// A route that takes any table's id (`/admin/<resource>/<id>`) takes this one too.
        impl FromUriParam<Path, $name> for i64 {
            type Target = $name;

            fn from_uri_param(id: $name) -> $name {
                id
            }
        }

        impl Id for $name {
            fn new(raw: i64) -> Self {
                Self(raw)
            }

            fn get(self) -> i64 {
                self.0
            }
        }
    )*};
}

ids! {
    /// A user's id (`users.id`; `sub` of a token holds it as text).
    UserId;
    /// An article's id (`articles.id`).
    ArticleId;
    /// A comment's id (`comments.id`).
    CommentId;
    /// A tag's id (`tags.id`).
    TagId;
    /// An audit log entry's id (`audit_log.id`).
    AuditId;
    /// A recorded password check (`login_attempts.id`), held by its throttle reservation.
    LoginAttemptId;
    /// A recorded sign-up (`register_attempts.id`), held by its throttle reservation.
    SignUpAttemptId;
    /// A personal access token's id (`access_tokens.id`).
    AccessTokenId;
    /// A mail in the outbox (`outbox.id`).
    MailId;
    /// A recorded password reset request (`reset_requests.id`).
    ResetRequestId;
    /// A recorded two-factor code check (`totp_failures.id`), held by its daily reservation.
    CodeCheckId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialize_and_print_as_the_plain_number() {
        assert_eq!(serde_json::to_string(&UserId::new(42)).unwrap(), "42");
        assert_eq!(
            serde_json::from_str::<ArticleId>("-7").unwrap(),
            ArticleId::new(-7)
        );
        assert!(serde_json::from_str::<CommentId>("\"7\"").is_err());
        assert_eq!(TagId::new(i64::MAX).to_string(), i64::MAX.to_string());
        let shown: &dyn UriDisplay<Path> = &UserId::new(-5);
        assert_eq!(shown.to_string(), "-5");
    }

    #[test]
    fn path_segments_parse_as_i64_did() {
        for raw in [
            "0",
            "-3",
            "+5",
            "99999999999999999999",
            "1e3",
            " 5",
            "",
            "5 ",
        ] {
            assert_eq!(
                UserId::from_param(raw).ok().map(UserId::get),
                i64::from_param(raw).ok(),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn form_fields_read_as_i64_did() {
        #[derive(rocket::FromForm, Debug)]
        struct Picked {
            user: UserId,
            articles: Vec<ArticleId>,
        }
        let parse = |s| rocket::form::Form::<Picked>::parse_encoded(rocket::http::RawStr::new(s));
        let picked = parse("user=%2B5&articles=1&articles=-2").unwrap();
        assert_eq!(picked.user, UserId::new(5));
        assert_eq!(picked.articles, [ArticleId::new(1), ArticleId::new(-2)]);
        for bad in [
            "user=1e3",
            "user=99999999999999999999",
            "user=",
            "user=+5",
            "articles=1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let shown: &dyn UriDisplay<rocket::http::uri::fmt::Query> = &TagId::new(9);
        assert_eq!(shown.to_string(), "9");
    }

    #[test]
    fn ids_are_the_size_of_an_i64() {
        assert_eq!(size_of::<Option<ArticleId>>(), size_of::<Option<i64>>());
        assert_eq!(size_of::<UserId>(), size_of::<i64>());
    }
}
