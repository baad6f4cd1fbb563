//! Visitors' text as the team reads it (the insights page, the CSV a spreadsheet opens).
//! Stored text stays verbatim (the JSON export gives it back as sent); what is shown has the
//! invisible format characters that can disguise it taken out:
//!
//! - bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) and the
//!   direction marks (U+200E, U+200F, U+061C), which reorder what follows them: a comment
//!   with U+202E reads backwards, and can make a harmless-looking line hide another;
//! - zero-width space, word joiner and byte-order mark (U+200B, U+2060, U+FEFF), which hide
//!   inside words;
//! - line and paragraph separators (U+2028, U+2029) become ordinary line breaks.
//!
//! Zero-width joiner and non-joiner (U+200D, U+200C) stay: emoji sequences and several
//! scripts need them.

use std::borrow::Cow;

fn is_hidden_format(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
            | '\u{200B}'
            | '\u{2060}'
            | '\u{FEFF}'
    )
}

/// `text` with the characters above removed or replaced; borrowed when it has none.
pub fn neutralised(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| is_hidden_format(c) || matches!(c, '\u{2028}' | '\u{2029}'))
    {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .filter(|&c| !is_hidden_format(c))
            .map(|c| match c {
                '\u{2028}' | '\u{2029}' => '\n',
                c => c,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::neutralised;
    use std::borrow::Cow;

    #[test]
    fn format_characters_are_taken_out_and_the_rest_kept() {
        assert_eq!(neutralised("abc\u{202E}fed"), "abcfed");
        assert_eq!(neutralised("\u{2067}x\u{2069}"), "x");
        assert_eq!(neutralised("zero\u{200B}width\u{FEFF}"), "zerowidth");
        assert_eq!(neutralised("one\u{2028}two"), "one\ntwo");
        // Emoji sequences keep their joiner; ordinary text is not copied.
        assert_eq!(neutralised("👨\u{200D}👩"), "👨\u{200D}👩");
        assert!(matches!(neutralised("Great demo, 好!"), Cow::Borrowed(_)));
    }
}
