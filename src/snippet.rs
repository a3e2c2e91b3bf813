//! Search result snippets: a short stretch of an article's description or body (its markdown
//! reduced to plain text) around the first searched word it holds, cut into plain and marked
//! parts. Built here, not by either database engine, so both show the same snippet; the
//! template escapes every part and wraps the marked ones in `<mark>`, so text from the article
//! can never become markup (a search for `<script>` shows it as text).

use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use serde::Serialize;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// About how many characters a snippet shows.
pub const SNIPPET_CHARS: usize = 240;
/// How many characters of context come before the first match, at most.
const CONTEXT_BEFORE: usize = 60;

/// A stretch of snippet text, marked when it is a word that matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Part {
    /// The text (plain: the template escapes it).
    pub text: String,
    /// Whether it is a matched word.
    pub mark: bool,
}

/// The snippet of an article for a search of `words` (lower-cased; each matches as a prefix of
/// a word, accents and case aside): from the description when a word is in it, else from the
/// body when one is there, else the description's start.
pub fn snippet(description: &str, body_markdown: &str, words: &[String]) -> Vec<Part> {
    let words: Vec<String> = words.iter().map(|w| fold(w)).collect();
    if let Some(at) = first_match(description, &words) {
        return marked(&window(description, at), &words);
    }
    let body = plain_text(body_markdown);
    if let Some(at) = first_match(&body, &words) {
        return marked(&window(&body, at), &words);
    }
    let source = if description.trim().is_empty() {
        &body
    } else {
        description
    };
    marked(&window(source, 0), &words)
}

/// What a reader sees of `markdown`, as one line of text: the text of every block, code
/// included, HTML tags left out, blocks separated by a space.
pub fn plain_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let space = |out: &mut String| {
        if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    };
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::Html(h) | Event::InlineHtml(h) => {
                space(&mut out);
                out.push_str(&strip_tags(&h));
            }
            Event::SoftBreak
            | Event::HardBreak
            | Event::Rule
            | Event::Start(Tag::Item | Tag::TableCell)
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableCell,
            ) => space(&mut out),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `html` without its tags (`<...>`): the text between them.
fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Case and accents folded, as the engines fold them (`Café` → `cafe`).
fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

fn in_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `word` (a run of word characters) starts with one of `words` (folded).
fn matches(word: &str, words: &[String]) -> bool {
    let folded = fold(word);
    words
        .iter()
        .any(|w| !w.is_empty() && folded.starts_with(w.as_str()))
}

/// `text` cut into runs of word characters and of the rest, with their char offsets.
fn runs(text: &str) -> impl Iterator<Item = (usize, &str, bool)> {
    let mut out = Vec::new();
    let mut start = 0; // byte offset
    let mut start_char = 0;
    let mut current: Option<bool> = None;
    for (chars, (i, c)) in text.char_indices().enumerate() {
        let kind = in_word(c);
        if current != Some(kind) {
            if let Some(k) = current {
                out.push((start_char, &text[start..i], k));
            }
            start = i;
            start_char = chars;
            current = Some(kind);
        }
    }
    if let Some(k) = current {
        out.push((start_char, &text[start..], k));
    }
    out.into_iter()
}

/// The char offset of the first word of `text` that matches one of `words`.
fn first_match(text: &str, words: &[String]) -> Option<usize> {
    runs(text)
        .find(|(_, run, word)| *word && matches(run, words))
        .map(|(at, _, _)| at)
}

/// About [`SNIPPET_CHARS`] characters of `text` from a little before char offset `at`, cut at
/// spaces where there is one near, with `…` where text was left out.
fn window(text: &str, at: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut start = at.saturating_sub(CONTEXT_BEFORE);
    if start > 0 {
        // Start after a space, so the first word is whole.
        if let Some(space) = chars[start..at].iter().position(|c| c.is_whitespace()) {
            start += space + 1;
        }
    }
    let mut end = (start + SNIPPET_CHARS).min(chars.len());
    if end < chars.len() {
        if let Some(space) = chars[start..end].iter().rposition(|c| c.is_whitespace()) {
            if space > SNIPPET_CHARS / 2 {
                end = start + space;
            }
        }
    }
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(chars[start..end].iter());
    let out = out.trim_end().to_owned();
    if end < chars.len() {
        out + "…"
    } else {
        out
    }
}

/// `text` in parts, each matching word marked; neighbouring plain runs joined.
fn marked(text: &str, words: &[String]) -> Vec<Part> {
    let mut parts: Vec<Part> = Vec::new();
    for (_, run, word) in runs(text) {
        let mark = word && matches(run, words);
        match parts.last_mut() {
            Some(last) if !last.mark && !mark => last.text.push_str(run),
            _ => parts.push(Part {
                text: run.to_owned(),
                mark,
            }),
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::{plain_text, snippet, Part, SNIPPET_CHARS};

    fn words(ws: &[&str]) -> Vec<String> {
        ws.iter().map(|w| (*w).to_owned()).collect()
    }

    fn marks(parts: &[Part]) -> Vec<&str> {
        parts
            .iter()
            .filter(|p| p.mark)
            .map(|p| p.text.as_str())
            .collect()
    }

    fn text(parts: &[Part]) -> String {
        parts.iter().map(|p| p.text.as_str()).collect()
    }

    #[test]
    fn matched_words_are_marked_by_prefix_case_and_accents_aside() {
        let parts = snippet("Hello World, worldly Café", "", &words(&["wor", "cafe"]));
        assert_eq!(marks(&parts), ["World", "worldly", "Café"]);
        assert_eq!(text(&parts), "Hello World, worldly Café");
        assert!(!parts[0].mark);
    }

    #[test]
    fn the_body_is_used_when_the_description_has_no_match() {
        let body =
            "# Title\n\nSome **bold** text and `code` here.\n\n- one\n- two\n\n<b>raw</b> html";
        assert_eq!(
            plain_text(body),
            "Title Some bold text and code here. one two raw html"
        );
        let parts = snippet("Nothing here", body, &words(&["bol", "raw"]));
        assert_eq!(marks(&parts), ["bold", "raw"]);
        // No match anywhere: the description.
        assert_eq!(
            text(&snippet("Nothing here", body, &words(&["zzz"]))),
            "Nothing here"
        );
    }

    #[test]
    fn markup_stays_text_for_the_template_to_escape() {
        let parts = snippet("<script>alert(1)</script> & more", "", &words(&["script"]));
        assert_eq!(marks(&parts), ["script", "script"]);
        assert_eq!(text(&parts), "<script>alert(1)</script> & more");
    }

    #[test]
    fn long_text_is_cut_around_the_first_match() {
        let before = "lorem ".repeat(100);
        let after = "ipsum ".repeat(100);
        let body = format!("{before}needle {after}");
        let parts = snippet("", &body, &words(&["needle"]));
        let shown = text(&parts);
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        assert!(shown.chars().count() <= SNIPPET_CHARS + 2, "{shown}");
        assert_eq!(marks(&parts), ["needle"]);
        assert!(shown.contains("lorem needle ipsum"));
        // Every cut is at a space: no half words.
        assert!(!shown.contains("lor…") && !shown.contains("…rem"));
    }

    #[test]
    fn odd_text_never_panics() {
        for s in [
            "",
            "\0",
            "😀😀",
            "é\u{301}",
            "日本語のテキスト",
            "a\u{202e}b",
            "*_`[]()",
        ] {
            let _ = snippet(s, s, &words(&["日本", "a", ""]));
        }
        assert_eq!(
            marks(&snippet("日本語のテキスト", "", &words(&["日本"]))),
            ["日本語のテキスト"]
        );
    }
}
