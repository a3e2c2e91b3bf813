//! The checks every piece of text a client sends passes before it reaches SQL, whatever the
//! route (API, site forms, admin console, query values, path segments): it fits the column it
//! is stored in or compared with, and it holds no control characters. The limits themselves
//! live beside the rules of each kind of record (`content`, `auth::account`, `admin`); the
//! validators there call [`check`] (or [`problem`]), so a new field gets both checks by using
//! the shared rules.
//!
//! The same rules check the site's forms field by field as Rocket parses them: [`rule`] turns a
//! check written against [`FieldErrors`] into a `#[field(validate = ...)]` validator, so a form
//! shows the very messages the JSON API gives.
//!
//! Checking the length here, not in the database, is what keeps MySQL from answering a 500
//! ("data too long") or, without strict mode, silently cutting the text (SECURITY.md 24).

use crate::error::FieldErrors;

/// How a limit counts, matching how the column counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Max {
    /// Characters (Unicode scalar values): what MySQL's `VARCHAR(n)` counts.
    Chars(usize),
    /// UTF-8 bytes: what MySQL's `TEXT` types count.
    Bytes(usize),
}

impl Max {
    /// Whether `value` is within this limit.
    pub fn fits(self, value: &str) -> bool {
        match self {
            // A string is never longer in characters than in bytes: skip the count when it fits.
            Self::Chars(n) => value.len() <= n || value.chars().count() <= n,
            Self::Bytes(n) => value.len() <= n,
        }
    }
}

/// What is wrong with a piece of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Longer than its limit.
    TooLong(Max),
    /// Holds a control character other than tab, line feed and carriage return.
    Control,
    /// Holds a Unicode bidirectional override or isolate.
    Bidi,
}

impl Problem {
    /// The message shown after the field's name: "title contains control characters".
    pub fn message(self) -> String {
        match self {
            Self::TooLong(Max::Chars(n)) => format!("is too long (maximum is {n} characters)"),
            Self::TooLong(Max::Bytes(n)) if n % 1024 == 0 => {
                format!("is too long (maximum is {} KiB)", n / 1024)
            }
            Self::TooLong(Max::Bytes(n)) => format!("is too long (maximum is {n} bytes)"),
            Self::Control => "contains control characters".to_owned(),
            Self::Bidi => "contains bidirectional text controls".to_owned(),
        }
    }
}

/// Whether `c` is refused in every text field: the C0 controls other than tab, line feed and
/// carriage return (NUL included), and DEL.
pub fn is_forbidden_control(c: char) -> bool {
    c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Whether `c` is a bidirectional override or isolate (U+202A..=U+202E, U+2066..=U+2069),
/// which can make a name display as another one.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The first thing wrong with `value` under the shared rules, if any: its length against `max`,
/// then control characters.
pub fn problem(value: &str, max: Max) -> Option<Problem> {
    if !max.fits(value) {
        Some(Problem::TooLong(max))
    } else if value.chars().any(is_forbidden_control) {
        Some(Problem::Control)
    } else {
        None
    }
}

/// Check `value` of `field` against the shared rules, recording the problem on `field`.
/// Returns whether it passed, so a validator can skip its own checks of a value already refused.
pub fn check(errors: &mut FieldErrors, field: &str, value: &str, max: Max) -> bool {
    match problem(value, max) {
        Some(problem) => {
            errors.add(field, problem.message());
            false
        }
        None => true,
    }
}

/// A field that must not be blank (after trimming) and must pass the shared rules.
pub fn required(errors: &mut FieldErrors, field: &str, value: &str, max: Max) {
    if value.trim().is_empty() {
        errors.add(field, "can't be blank");
    } else {
        check(errors, field, value, max);
    }
}

/// `check` of `value` as a form field validator (`#[field(validate = rule(check))]`): every
/// message `check` records becomes a form error named by the field it was recorded under
/// (which may differ from the form's own name, e.g. `tagList` for the editor's `tags`).
///
/// # Errors
///
/// The messages `check` recorded, if any.
pub fn rule<'v, V: AsRef<str> + ?Sized>(
    value: &V,
    check: impl FnOnce(&mut FieldErrors, &str),
) -> rocket::form::Result<'v, ()> {
    let mut errors = FieldErrors::new();
    check(&mut errors, value.as_ref());
    if errors.is_empty() {
        return Ok(());
    }
    Err(errors
        .0
        .into_iter()
        .flat_map(|(field, messages)| {
            messages
                .into_iter()
                .map(move |m| rocket::form::Error::validation(m).with_name(field.clone()))
        })
        .collect::<Vec<_>>()
        .into())
}

/// A form field rule, `#[field(validate = fits(Max::Chars(n)))]`: the shared input rules
/// ([`problem`]: a length limit, no control characters) on the trimmed value, with the
/// same message the operations give. For a field with rules of its own
/// (a username's characters, an email's shape), [`rule`] runs them.
pub fn fits<'v>(value: &str, max: Max) -> rocket::form::Result<'v, ()> {
    match problem(value.trim(), max) {
        Some(problem) => Err(rocket::form::Error::validation(problem.message()).into()),
        None => Ok(()),
    }
}

/// The errors of a form Rocket parsed with its [`Context`](rocket::form::Context), by field, as
/// the pages show them (a nameless error is the form's own, `base`).
pub fn form_errors(context: &rocket::form::Context<'_>) -> FieldErrors {
    let mut errors = FieldErrors::new();
    for error in context.errors() {
        let field = error
            .name
            .as_ref()
            .map_or_else(|| "base".to_owned(), ToString::to_string);
        errors.add(&field, error.kind.to_string());
    }
    errors
}

/// Whether `value` passes the shared rules: for lookups, where text that fails them can never
/// name a stored record (so the answer is "not found" without asking the database).
pub fn could_be_stored(value: &str, max: Max) -> bool {
    problem(value, max).is_none()
}

/// Longest slug, in characters (`articles.slug VARCHAR(255)`): `content::slug_for` makes at
/// most 200, plus the suffix that keeps it unique.
pub const SLUG_MAX: usize = 255;

/// Longest username, in characters (`users.username VARCHAR(64)`; the account rules allow 32).
pub const USERNAME_MAX: usize = 32;

/// Whether `slug` could name an article: one that breaks the slug column's limit or holds
/// control characters never can, so a lookup answers "not found" without a query. (Here, with
/// the column limits, so the database layer can ask without importing the content rules.)
pub fn could_be_slug(slug: &str) -> bool {
    could_be_stored(slug, Max::Chars(SLUG_MAX))
}

/// Whether `username` could name an account: one longer than the username rules allow or
/// holding control characters never can, so a lookup answers "not found" without a query.
pub fn could_be_username(username: &str) -> bool {
    could_be_stored(username, Max::Chars(USERNAME_MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_characters_or_bytes() {
        assert!(Max::Chars(3).fits("été"));
        assert!(!Max::Bytes(3).fits("été"));
        assert!(!Max::Chars(3).fits("abcd"));
        assert_eq!(
            problem(&"é".repeat(4), Max::Chars(3)),
            Some(Problem::TooLong(Max::Chars(3)))
        );
    }

    #[test]
    fn control_characters_other_than_tab_cr_lf_are_refused() {
        for ok in [
            "plain",
            "tab\there",
            "lines\r\nand\nmore",
            "emoji 🦀",
            "ünïcödé",
        ] {
            assert_eq!(problem(ok, Max::Chars(100)), None, "{ok:?}");
        }
        for bad in [
            "nul\0",
            "bell\u{7}",
            "esc\u{1b}[31m",
            "del\u{7f}",
            "\u{1f}unit",
        ] {
            assert_eq!(
                problem(bad, Max::Chars(100)),
                Some(Problem::Control),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn bidi_controls_are_recognised() {
        for c in ['\u{202A}', '\u{202E}', '\u{2066}', '\u{2069}'] {
            assert!(is_bidi_control(c), "{c:?}");
        }
        assert!(!is_bidi_control('\u{200F}'));
        assert!(!is_bidi_control('a'));
    }

    #[test]
    fn rules_validate_form_fields_with_their_messages() {
        let title = |e: &mut FieldErrors, v: &str| required(e, "title", v, Max::Chars(3));
        assert!(rule("abc", title).is_ok());
        let errors = rule("  ", title).unwrap_err();
        let seen: Vec<_> = errors
            .iter()
            .map(|e| (e.name.as_ref().map(ToString::to_string), e.kind.to_string()))
            .collect();
        assert_eq!(
            seen,
            vec![(Some("title".to_owned()), "can't be blank".to_owned())]
        );
        let errors = rule("abcd", |e: &mut FieldErrors, v: &str| {
            required(e, "tagList", v, Max::Chars(3));
        })
        .unwrap_err();
        assert_eq!(
            errors[0].name.as_ref().map(ToString::to_string).as_deref(),
            Some("tagList")
        );
        assert_eq!(
            errors[0].kind.to_string(),
            "is too long (maximum is 3 characters)"
        );
    }

    #[test]
    fn messages_name_the_limit() {
        assert_eq!(
            Problem::TooLong(Max::Chars(255)).message(),
            "is too long (maximum is 255 characters)"
        );
        assert_eq!(
            Problem::TooLong(Max::Bytes(1024 * 1024)).message(),
            "is too long (maximum is 1024 KiB)"
        );
        assert_eq!(Problem::Control.message(), "contains control characters");
    }
}
