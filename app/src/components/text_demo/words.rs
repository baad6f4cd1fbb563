//! The words behind the answer, each shaded by how far it moved the answer. Offsets come from
//! the engine as UTF-8 byte ranges; Chinese is scored word by word as the engine segments it.

use leptos::prelude::*;

use wire::catalog::CatalogueEntry;

use super::analysis::Explained;
use super::verdict::{label_name, tone};
use crate::engine::WordContribution;
use crate::i18n::use_i18n;

/// Longer texts are shown only this far in the highlighted view (the model reads 128 tokens).
const MAX_SHOWN_BYTES: usize = 4000;

/// The words behind the answer, each shaded by how far it pushed towards the predicted label
/// (coloured by that label's polarity) or away from it.
#[component]
pub fn WordsView(
    entry: CatalogueEntry,
    words: RwSignal<Option<Explained>>,
    shown: Signal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let entry = StoredValue::new(entry);
    let id = entry.with_value(|e| e.manifest.id.clone());
    let target = move || {
        words
            .with(|w| w.as_ref().map(|(_, target, _)| target.clone()))
            .unwrap_or_default()
    };
    let toward = move || entry.with_value(|e| tone(e, &target()));
    let away = move || match toward() {
        "pos" => "neg",
        "neg" => "pos",
        _ => "against",
    };
    view! {
        <Show when=move || shown.get() && words.with(|w| w.is_some())>
            <div class="words-box">
                <h3 class="words-title">{i18n.text("text.words_title")}</h3>
                <p class="words" data-testid=format!("{id}-words")>
                    {move || words.with(|w| w.as_ref().map(|(text, _, words)| render_words(text, words, toward(), away())))}
                </p>
                <p class="legend small">
                    <span class="legend-item"><span class=move || format!("swatch swatch-{}", toward()) aria-hidden="true"></span>
                        {move || i18n.text("text.legend_for")().replace("{label}", &entry.with_value(|e| label_name(e, &target())))}</span>
                    <span class="legend-item"><span class=move || format!("swatch swatch-{}", away()) aria-hidden="true"></span>
                        {i18n.text("text.legend_against")}</span>
                </p>
            </div>
        </Show>
    }
}

/// `contribution > 0` pushed towards the predicted label (shaded `toward`), `< 0` away from it.
fn render_words(text: &str, words: &[WordContribution], toward: &str, away: &str) -> impl IntoView {
    // Intensity is relative to the most influential word, so a confident answer (where removing
    // any one word moves the probability only a little) still shows which words mattered.
    let strongest = words
        .iter()
        .map(|w| w.contribution.abs())
        .fold(1e-6_f32, f32::max);
    segments(text, words)
        .into_iter()
        .map(|segment| match segment {
            Segment::Plain(s) => view! { <span>{s.to_owned()}</span> }.into_any(),
            Segment::Word(s, c) => {
                let strength = (c.abs() / strongest).min(1.0);
                let class = if strength < 0.05 || c.abs() < 1e-5 {
                    "w".to_owned()
                } else if c > 0.0 {
                    format!("w w-{toward}")
                } else {
                    format!("w w-{away}")
                };
                view! {
                    <mark class=class style=format!("--a:{:.3}", 0.06 + 0.39 * strength)
                        title=format!("{c:+.4}") data-contribution=format!("{c:.5}")>
                        {s.to_owned()}
                    </mark>
                }
                .into_any()
            }
        })
        .collect_view()
}

#[derive(Debug, PartialEq)]
enum Segment<'a> {
    Plain(&'a str),
    Word(&'a str, f32),
}

/// Splits `text` into plain runs and scored words. Offsets are UTF-8 byte offsets (what the
/// engine reports), which index a Rust `str` directly; anything out of range, overlapping or off
/// a character boundary is skipped rather than trusted. Very long texts are cut after the last
/// scored word (the model only read the start).
fn segments<'a>(text: &'a str, words: &[WordContribution]) -> Vec<Segment<'a>> {
    let mut sorted: Vec<&WordContribution> = words.iter().collect();
    sorted.sort_by_key(|w| w.start);
    let mut out = Vec::new();
    let mut cursor = 0;
    for w in sorted {
        if w.start < cursor || w.end <= w.start {
            continue;
        }
        let (Some(gap), Some(word)) = (text.get(cursor..w.start), text.get(w.start..w.end)) else {
            continue;
        };
        if !gap.is_empty() {
            out.push(Segment::Plain(gap));
        }
        out.push(Segment::Word(word, w.contribution));
        cursor = w.end;
    }
    let rest = &text[cursor..];
    if !rest.is_empty() {
        if rest.len() > MAX_SHOWN_BYTES {
            let mut end = MAX_SHOWN_BYTES.min(rest.len());
            while !rest.is_char_boundary(end) {
                end -= 1;
            }
            out.push(Segment::Plain(&rest[..end]));
            out.push(Segment::Plain("…"));
        } else {
            out.push(Segment::Plain(rest));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, needle: &str, contribution: f32) -> WordContribution {
        let start = text.find(needle).unwrap();
        WordContribution {
            word: needle.to_owned(),
            start,
            end: start + needle.len(),
            contribution,
        }
    }

    #[test]
    fn byte_offsets_map_onto_non_ascii_text() {
        let text = "Le café crème — délicieux! 😀 great";
        let words = vec![
            word(text, "café", 0.1),
            word(text, "délicieux", 0.3),
            word(text, "great", 0.5),
        ];
        let segs = segments(text, &words);
        assert_eq!(
            segs,
            vec![
                Segment::Plain("Le "),
                Segment::Word("café", 0.1),
                Segment::Plain(" crème — "),
                Segment::Word("délicieux", 0.3),
                Segment::Plain("! 😀 "),
                Segment::Word("great", 0.5),
            ]
        );
    }

    #[test]
    fn bad_offsets_are_skipped_not_trusted() {
        let text = "née";
        let words = vec![
            WordContribution {
                word: "x".into(),
                start: 0,
                end: 2, // inside the two-byte 'é'
                contribution: 0.2,
            },
            WordContribution {
                word: "y".into(),
                start: 0,
                end: 99,
                contribution: 0.2,
            },
        ];
        assert_eq!(segments(text, &words), vec![Segment::Plain("née")]);
    }

    #[test]
    fn long_tails_are_cut() {
        let text = format!("good {}", "é".repeat(5000));
        let words = vec![word(&text, "good", 0.4)];
        let segs = segments(&text, &words);
        assert_eq!(segs[0], Segment::Word("good", 0.4));
        assert_eq!(segs.last(), Some(&Segment::Plain("…")));
    }
}
