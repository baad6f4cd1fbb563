//! Corrections as training data: the thumbs-down answers that came with the visitor's consented
//! text and the label they say was right, as the labelled TSV the eval and training commands
//! read (`text<TAB>label`, a header line first; `cargo xtask eval-sentiment --tsv`,
//! `import-model --eval`). Images are never sent, so only text models have any.
//!
//! That format has no quoting (a field runs to the tab or the line's end), so a text's tabs and
//! line breaks become spaces, and invisible format characters (bidi overrides and the like, see
//! `display_text`) are taken out. Nothing else is changed: the file is for training, and a
//! spreadsheet's formula defence would change the text a model learns from.

use super::display_text::neutralised;
use super::store::FeedbackRow;

/// The header line, which the TSV readers skip.
pub const HEADER: &str = "text\tlabel";

/// Whether `row` is a correction with text: a thumbs-down on an answer, a corrected label, and
/// the text the visitor chose to attach; of `model` when one is given.
pub fn is_correction(row: &FeedbackRow, model: Option<&str>) -> bool {
    row.kind == "result"
        && row.verdict.as_deref() == Some("down")
        && row.corrected.is_some()
        && row
            .input_text
            .as_deref()
            .is_some_and(|t| !one_line(t).is_empty())
        && model.is_none_or(|m| row.model.as_deref() == Some(m))
}

/// The TSV of `rows`, the corrections ([`is_correction`]); a row without text or a corrected
/// label has nothing to write.
pub fn to_tsv(rows: &[FeedbackRow]) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for row in rows {
        let (Some(text), Some(label)) = (&row.input_text, &row.corrected) else {
            continue;
        };
        out.push_str(&one_line(text));
        out.push('\t');
        out.push_str(&one_line(label));
        out.push('\n');
    }
    out
}

/// `text` on one line with no tab: tabs and line breaks as single spaces, hidden format
/// characters out, trimmed.
fn one_line(text: &str) -> String {
    neutralised(text)
        .split(['\t', '\n', '\r', '\u{2028}', '\u{2029}'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(verdict: &str, corrected: Option<&str>, text: Option<&str>, model: &str) -> FeedbackRow {
        FeedbackRow {
            id: "x".into(),
            received_ms: 0,
            kind: "result".into(),
            model: Some(model.into()),
            verdict: Some(verdict.into()),
            predicted: Some("positive".into()),
            corrected: corrected.map(Into::into),
            input_text: text.map(Into::into),
            speed: None,
            stability: None,
            usability: None,
            comment: None,
            email: None,
            backend: None,
            latency_ms: None,
            device: None,
        }
    }

    #[test]
    fn only_thumbs_down_with_text_and_a_correction_become_rows() {
        let rows = [
            row(
                "down",
                Some("negative"),
                Some("Not my cup\tof tea.\nAt all."),
                "sentiment",
            ),
            row("up", None, Some("Lovely."), "sentiment"),
            row("down", None, Some("No label given."), "sentiment"),
            row("down", Some("negative"), None, "sentiment"),
            row("down", Some("negative"), Some(" \t\n "), "sentiment"),
            row("down", Some("bad"), Some("Broke \u{202e}fast"), "reviews"),
        ];
        let of = |model: Option<&str>| {
            let kept: Vec<FeedbackRow> = rows
                .iter()
                .filter(|r| is_correction(r, model))
                .cloned()
                .collect();
            to_tsv(&kept)
        };
        assert_eq!(
            of(None),
            "text\tlabel\nNot my cup of tea. At all.\tnegative\nBroke fast\tbad\n"
        );
        assert_eq!(of(Some("reviews")), "text\tlabel\nBroke fast\tbad\n");
        assert_eq!(of(Some("image")), "text\tlabel\n");
    }
}
