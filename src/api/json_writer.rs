//! The JSON of article lists, written by hand: `{"articles":[...],"articlesCount":N}` for
//! `GET /api/articles` and `GET /api/articles/feed`, straight from the database rows.
//!
//! **Why it exists.** Measured with callgrind, writing the list this way instead of through
//! `serde_json` and the derived view structs saves about a tenth of a list request's own work
//! (net of the fixed cost every request pays, `/healthz`), and without it the list endpoints
//! lose more of their speed relative to `/healthz` than the benchmark rule allows (every
//! endpoint keeps at least 90% of its ratio). The figures and the decision are in
//! `bench/NOTES-json-writer.md`; the current ratios in `bench/RESULTS.md`. The keys are
//! literals here, and a string is checked eight bytes at a time for anything to escape.
//!
//! **What it must keep identical.** The bytes are exactly `serde_json::to_vec` of
//! [`ArticlesBody`](crate::api::views::ArticlesBody) made of
//! [`ArticleJson`](crate::api::views::ArticleJson)s, the reference (the tests below compare
//! them byte for byte, on hostile and on random input):
//! - the keys, their camelCase names and their order as the view structs declare them;
//!   `body` only when there is one, `null` for a missing bio or image; no whitespace;
//! - strings escaped as `serde_json` escapes them: `\"` and `\\`, `\b`, `\f`, `\n`, `\r`,
//!   `\t`, `\u00xx` (lowercase hex) for every other byte below 0x20, and nothing else (DEL,
//!   all non-ASCII including U+2028 and U+2029, `/` and `</script>` go out as they are);
//! - numbers in plain decimal, timestamps by [`timestamp`], as the views make them.
//!
//! A change to those view structs must be made here too, or the tests fail.

use rocket::http::ContentType;
use rocket::response::{self, Responder};
use rocket::Request;

use crate::api::views::timestamp;
use crate::db::articles::{Article, ArticleSlice};

/// A page of articles as the list endpoints answer it (bodies are not read for lists).
pub struct ArticleList {
    /// The page.
    pub articles: Vec<Article>,
    /// How many match the filter in all.
    pub articles_count: i64,
}

impl ArticleList {
    /// The response body: the same bytes as `serde_json` of the view structs.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 400 * self.articles.len());
        out.extend_from_slice(b"{\"articles\":[");
        for (i, a) in self.articles.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_article(&mut out, a);
        }
        out.extend_from_slice(b"],\"articlesCount\":");
        out.extend_from_slice(self.articles_count.to_string().as_bytes());
        out.push(b'}');
        out
    }
}

impl From<ArticleSlice> for ArticleList {
    fn from(page: ArticleSlice) -> Self {
        Self {
            articles: page.articles,
            articles_count: page.total,
        }
    }
}

impl<'r> Responder<'r, 'static> for ArticleList {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        (ContentType::JSON, self.to_json()).respond_to(req)
    }
}

/// One article, as [`ArticleJson`](crate::api::views::ArticleJson) serializes it.
fn write_article(out: &mut Vec<u8>, a: &Article) {
    out.extend_from_slice(b"{\"slug\":");
    write_str(out, &a.slug);
    out.extend_from_slice(b",\"title\":");
    write_str(out, &a.title);
    out.extend_from_slice(b",\"description\":");
    write_str(out, &a.description);
    // `skip_serializing_if = "Option::is_none"` in the view; list rows carry none.
    if let Some(body) = &a.body {
        out.extend_from_slice(b",\"body\":");
        write_str(out, body);
    }
    out.extend_from_slice(b",\"tagList\":[");
    for (i, tag) in a.tags.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, tag);
    }
    out.extend_from_slice(b"],\"createdAt\":\"");
    out.extend_from_slice(timestamp(&a.created_at).as_bytes());
    out.extend_from_slice(b"\",\"updatedAt\":\"");
    out.extend_from_slice(timestamp(&a.updated_at).as_bytes());
    out.extend_from_slice(if a.favorited {
        b"\",\"favorited\":true,\"favoritesCount\":"
    } else {
        b"\",\"favorited\":false,\"favoritesCount\":"
    });
    out.extend_from_slice(a.favorites_count.to_string().as_bytes());
    out.extend_from_slice(b",\"author\":{\"username\":");
    write_str(out, &a.author_username);
    out.extend_from_slice(b",\"bio\":");
    write_opt_str(out, a.author_bio.as_deref());
    out.extend_from_slice(b",\"image\":");
    write_opt_str(out, a.author_image.as_deref());
    out.extend_from_slice(if a.following {
        b",\"following\":true}}"
    } else {
        b",\"following\":false}}"
    });
}

fn write_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string, escaped as `serde_json` escapes it: `"` and `\\`, the short forms of
/// backspace, form feed, newline, carriage return and tab, `\u00xx` for other control
/// characters; everything else (all of UTF-8) as it is.
fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time while none needs escaping (the usual case).
        if let Some(chunk) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
            if !needs_escape(word) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => {
                i += 1;
                continue;
            }
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
        } else {
            out.extend_from_slice(escape);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether any byte of `word` is `"`, `\\` or below 0x20 (the classic "has zero byte" test).
/// Exact as a yes or no (a borrow can only move which byte looks hit, not whether one is).
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |w: u64| w.wrapping_sub(ONES) & !w & HIGH;
    let quote = zero_in(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_in(word ^ (ONES * u64::from(b'\\')));
    // Below 0x20: subtracting 0x20 borrows into the high bit, for bytes not already >= 0x80.
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::views::{ArticleJson, ArticlesBody};
    use chrono::{DateTime, Utc};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// What the serde path answers with: the view structs through `serde_json`.
    fn reference(articles: &[Article], articles_count: i64) -> Vec<u8> {
        serde_json::to_vec(&ArticlesBody {
            articles: articles.iter().cloned().map(ArticleJson::from).collect(),
            articles_count,
        })
        .unwrap()
    }

    fn ours(articles: &[Article], articles_count: i64) -> Vec<u8> {
        ArticleList {
            articles: articles.to_vec(),
            articles_count,
        }
        .to_json()
    }

    /// Both as text where they are, so a failure shows where they part.
    fn assert_same(articles: &[Article], articles_count: i64) {
        let ours = ours(articles, articles_count);
        let theirs = reference(articles, articles_count);
        if ours != theirs {
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs)
            );
            assert_eq!(ours, theirs);
        }
    }

    fn at(millis: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(millis).unwrap()
    }

    /// Every character `write_str` treats specially, and neighbours of them.
    fn tricky_chars() -> Vec<char> {
        let mut chars: Vec<char> = (0u8..0x20).map(char::from).collect();
        chars.extend([
            '"',
            '\\',
            '/',
            '<',
            '>',
            '&',
            '\'',
            ' ',
            '!',
            '#',
            '[',
            ']',
            '{',
            '}',
            'a',
            '~',
            '\u{7f}',
            '\u{80}',
            '\u{9f}',
            '\u{a0}',
            'é',
            'ÿ',
            '✓',
            '\u{2028}',
            '\u{2029}',
            '\u{feff}',
            '\u{fffd}',
            '\u{ffff}',
            '😀',
            '\u{10ffff}',
        ]);
        chars
    }

    #[test]
    fn hostile_lists_are_the_bytes_serde_json_writes() {
        let all_controls: String = (0u8..0x20).map(char::from).collect();
        let tricky = concat!(
            "quote \" backslash \\ newline \n tab \t cr \r bell \u{7} nul \u{0} unit \u{1f} ",
            "del \u{7f} é ✓ 😀 </script> <!-- line sep \u{2028} para sep \u{2029} \\u0000 \\\"",
        );
        let mut strings: Vec<String> = vec![
            String::new(),
            all_controls.clone(),
            format!("{all_controls}\u{7f}"),
            tricky.to_owned(),
            "</script><script>alert(1)</script>".to_owned(),
            "\"".to_owned(),
            "\\".to_owned(),
            "\\\\\"\"".to_owned(),
            "plain text of more than eight bytes, no escapes at all".to_owned(),
            "😀😀😀😀".to_owned(),
            "\u{2028}\u{2029}".to_owned(),
            "a".repeat(1000),
        ];
        // Each special character at every offset of the eight-byte words and at both ends.
        for c in tricky_chars() {
            for before in 0..17 {
                strings.push(format!(
                    "{}{c}{}",
                    "x".repeat(before),
                    "y".repeat(16 - before)
                ));
            }
        }

        let mut articles = Vec::new();
        for (n, s) in strings.iter().enumerate() {
            let mut a = Article::for_test(s, None, n % 2 == 0);
            a.slug.clone_from(s);
            a.author_username = format!("{s}{n}");
            a.author_bio = match n % 3 {
                0 => None,
                1 => Some(String::new()),
                _ => Some(s.clone()),
            };
            a.author_image = match n % 4 {
                0 | 3 => None,
                1 => Some(String::new()),
                _ => Some(format!("https://img.example/{s}")),
            };
            a.following = n % 4 < 2;
            a.tags = match n % 5 {
                0 => Vec::new(),
                1 => vec![s.clone()],
                2 => (0..60).map(|i| format!("{s}-{i}")).collect(),
                _ => vec![String::new(), s.clone(), all_controls.clone()],
            };
            a.favorites_count = match n % 6 {
                0 => 0,
                1 => 1,
                2 => i64::MAX,
                3 => 4_294_967_296,
                4 => -1,
                _ => 1_234_567_890_123,
            };
            a.created_at = at(i64::try_from(n).unwrap() * 86_400_007);
            a.updated_at = at(253_402_300_799_999 - i64::try_from(n).unwrap());
            articles.push(a);
        }

        // Lists never read a body; should one come, it is written as the view writes it.
        let mut with_body = Article::for_test(tricky, Some(tricky), true);
        with_body.body = Some(format!("{tricky}{all_controls}"));
        articles.push(with_body);

        assert_same(&[], 0);
        assert_same(&[], i64::MAX);
        for (i, a) in articles.iter().enumerate() {
            assert_same(std::slice::from_ref(a), i64::try_from(i).unwrap());
        }
        assert_same(&articles, i64::MAX);
        assert_same(&articles, i64::MIN);
        assert_same(&articles[..20], 1_000_000);
        // The whole shape, spelled out once.
        let body = String::from_utf8(ours(&[], 0)).unwrap();
        assert_eq!(body, r#"{"articles":[],"articlesCount":0}"#);
    }

    #[test]
    fn random_strings_are_written_as_serde_json_writes_them() {
        let alphabet = tricky_chars();
        let mut rng = StdRng::seed_from_u64(0x00c0_ffee);
        let random_string = |rng: &mut StdRng| -> String {
            let len = rng.gen_range(0..40);
            (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect()
        };
        let strings: Vec<String> = (0..2000).map(|_| random_string(&mut rng)).collect();

        for s in &strings {
            let mut out = Vec::new();
            write_str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }

        // And as whole lists: every field of the article taken from the random strings.
        let mut articles = Vec::new();
        for (n, chunk) in strings.chunks(8).enumerate() {
            let [slug, title, description, tag, username, bio, image, other] = chunk else {
                unreachable!("2000 strings are 250 chunks of 8");
            };
            let mut a = Article::for_test(title, None, rng.gen());
            a.slug.clone_from(slug);
            a.description.clone_from(description);
            a.tags = (0..rng.gen_range(0..4))
                .map(|i| format!("{tag}{i}"))
                .chain([other.clone()])
                .collect();
            a.author_username.clone_from(username);
            a.author_bio = rng.gen::<bool>().then(|| bio.clone());
            a.author_image = rng.gen::<bool>().then(|| image.clone());
            a.following = rng.gen();
            a.favorites_count = rng.gen();
            a.created_at = at(rng.gen_range(0..4_102_444_800_000));
            a.updated_at = at(rng.gen_range(0..4_102_444_800_000));
            articles.push(a);
            if n % 25 == 24 {
                assert_same(&articles, rng.gen());
                articles.clear();
            }
        }
    }

    #[test]
    fn escape_check_finds_every_byte_that_needs_it() {
        for b in 0u8..=255 {
            for at in 0..8 {
                let mut word = [b'a'; 8];
                word[at] = b;
                let expected = b < 0x20 || b == b'"' || b == b'\\';
                assert_eq!(
                    needs_escape(u64::from_le_bytes(word)),
                    expected,
                    "byte {b:#x} at {at}"
                );
            }
        }
        // High bytes around one that needs escaping must not hide it (no false negatives).
        for b in [0u8, 0x1f, b'"', b'\\'] {
            for at in 0..8 {
                let mut word = [0xff; 8];
                word[at] = b;
                assert!(
                    needs_escape(u64::from_le_bytes(word)),
                    "byte {b:#x} at {at} among 0xff"
                );
            }
        }
    }
}
