//! What an email address must look like wherever one is taken (sign-up, settings, the
//! console, reset requests): a plain `local@domain`, nothing around it. A mail header would
//! take `Name <a@b.c>`, `a@b.c (comment)` or `"quoted"@b.c`, and a check that only looks for an
//! `@` and a dot lets them through; stored, such a value is not the address it looks like (the
//! confirmation and reset mails would go where the angle brackets point). So the display-name,
//! comment and quoted forms are refused with a message that says what to send instead.

use crate::error::FieldErrors;
use crate::input::{self, Max};

/// Longest email, in characters (`users.email` and `login_attempts.email`, `VARCHAR(255)`).
pub const EMAIL_MAX: usize = 254;

/// The message for an address sent with a name, brackets, quotes or a comment.
pub const NOT_PLAIN: &str =
    "must be the address alone, like name@example.com (no name, brackets, quotes or comments)";

/// Characters that only the display-name, comment, quoted and group forms use (RFC 5322
/// specials other than `@` and `.`).
fn is_special(c: char) -> bool {
    matches!(
        c,
        '<' | '>' | '(' | ')' | '[' | ']' | '\\' | ',' | ';' | ':' | '"'
    )
}

/// Check `email` (already trimmed): present, short enough, no control characters (the shared
/// checks of [`crate::input`]), and a plain `local@domain` with a dotted domain.
pub fn check_email(errors: &mut FieldErrors, email: &str) {
    if email.trim().is_empty() {
        errors.add("email", "can't be blank");
        return;
    }
    if !input::check(errors, "email", email, Max::Chars(EMAIL_MAX)) {
        return;
    }
    if email.chars().any(is_special) {
        errors.add("email", NOT_PLAIN);
        return;
    }
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !local.starts_with('.')
            && !local.ends_with('.')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !domain.contains("..")
    }) && !email.chars().any(char::is_whitespace);
    if !valid {
        errors.add("email", "is invalid");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(email: &str) -> Option<String> {
        let mut errors = FieldErrors::new();
        check_email(&mut errors, email);
        errors.0.get("email").map(|m| m[0].clone())
    }

    #[test]
    fn plain_addresses_pass() {
        for ok in [
            "jake@example.com",
            "first.last+tag@mail.example.co.uk",
            "o'brien@example.ie",
            "x@b.io",
            "jos\u{e9}@exampl\u{e9}.fr",
        ] {
            assert_eq!(error_of(ok), None, "{ok}");
        }
    }

    #[test]
    fn display_names_comments_and_quotes_are_refused_clearly() {
        for form in [
            "name<a@b.c>",
            "Jake <jake@example.com>",
            "<jake@example.com>",
            "jake@example.com (Jake)",
            "(comment)jake@example.com",
            "\"jake\"@example.com",
            "jake@[127.0.0.1]",
            "a@b.c, other@d.e",
            "group: a@b.c;",
            "jake\\@example.com",
        ] {
            assert_eq!(error_of(form).as_deref(), Some(NOT_PLAIN), "{form}");
        }
    }

    #[test]
    fn other_malformed_addresses_are_invalid() {
        for bad in [
            "nope", "@b.c", "a@", "a@b", "a@.b.c", "a@b.c.", "a@@b.c", "a b@c.d", ".a@b.c",
            "a.@b.c", "a@b..c",
        ] {
            assert_eq!(error_of(bad).as_deref(), Some("is invalid"), "{bad}");
        }
        assert_eq!(error_of("").as_deref(), Some("can't be blank"));
    }
}
