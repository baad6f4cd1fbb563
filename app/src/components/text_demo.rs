//! The live demo of a text-classification model from the catalogue: answers as you type
//! (debounced; inference runs in the worker, so typing never waits), the label with a confidence
//! bar, the words that drove the answer, the model's example chips, a truncation notice and a
//! share link (`#text=…`) that restores the text. Labels, examples and languages come from the
//! model's catalogue entry; element ids and test ids start with the model's id, so several text
//! models can share a page.
//!
//! Other modes reuse it: the tour fills it with `initial`, and the kiosk and embeds turn the
//! share link off (`share=false`): a link to a booth screen or someone else's page is no use.

use std::time::Duration;

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use wire::catalog::{CatalogueEntry, Polarity};

use crate::components::model_load::ModelLoad;
use crate::dom::{copy_text, share_link, shared_text};
use crate::engine::{classify_text, explain_text, millis, model, TextResult, WordContribution};
use crate::i18n::use_i18n;

const DEBOUNCE: Duration = Duration::from_millis(250);
/// Longer texts are shown only this far in the highlighted view (the model reads 128 tokens).
const MAX_SHOWN_BYTES: usize = 4000;

#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    /// Nothing typed: show a hint, not an error.
    Empty,
    /// Only whitespace: a clear, friendly error.
    Blank,
    Answer(TextResult),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Share {
    Hidden,
    Copied(String),
    Manual(String),
}

#[component]
pub fn TextDemo(
    /// The model, as the catalogue describes it.
    entry: CatalogueEntry,
    /// Text to analyse as soon as the demo appears (a tour step).
    #[prop(optional)]
    initial: Option<String>,
    /// Offer a share link, and restore the text of one found in the address.
    #[prop(default = true)]
    share: bool,
) -> impl IntoView {
    let share_enabled = share;
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let model = model(&entry.manifest.id);
    model.preload();
    let id = model.id;
    let entry = StoredValue::new(entry);

    let text = RwSignal::new(String::new());
    let outcome = RwSignal::new(Outcome::Empty);
    // The explained text, the label its words point towards, and the words.
    let words = RwSignal::new(None::<(String, String, Vec<WordContribution>)>);
    let busy = RwSignal::new(false);
    let share = RwSignal::new(Share::Hidden);
    let seq = StoredValue::new(0u64);
    let timer = StoredValue::new(None::<leptos::prelude::TimeoutHandle>);

    // Runs the model on `input`; an answer for an older request is dropped when it arrives.
    let run = move |input: String| {
        let my = seq.get_value() + 1;
        seq.set_value(my);
        if input.is_empty() || input.trim().is_empty() {
            outcome.set(if input.is_empty() {
                Outcome::Empty
            } else {
                Outcome::Blank
            });
            words.set(None);
            busy.set(false);
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let answer = classify_text(model, &input).await;
            // A newer request won, or the demo is gone (kiosk reset, next tour step): drop it.
            if seq.try_get_value() != Some(my) {
                return;
            }
            busy.set(false);
            match answer {
                Ok(answer) => outcome.set(Outcome::Answer(answer)),
                Err(e) => {
                    outcome.set(Outcome::Failed(e));
                    words.set(None);
                    return;
                }
            }
            if let Ok(explained) = explain_text(model, &input).await {
                if seq.try_get_value() == Some(my) {
                    words.set(Some((input, explained.target, explained.words)));
                }
            }
        });
    };
    let cancel_timer = move || {
        if let Some(handle) = timer.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    };
    let set_now = move |value: String| {
        cancel_timer();
        share.set(Share::Hidden);
        text.set(value.clone());
        run(value);
    };
    let on_input = move |ev: ev::Event| {
        let value = event_target_value(&ev);
        text.set(value.clone());
        share.set(Share::Hidden);
        cancel_timer();
        if value.trim().is_empty() {
            run(value);
        } else {
            let handle = set_timeout_with_handle(move || run(value), DEBOUNCE).ok();
            timer.set_value(handle);
        }
    };
    on_cleanup(move || {
        if let Some(Some(handle)) = timer.try_get_value() {
            handle.clear();
        }
    });

    // A share link restores the text and runs it straight away.
    if share_enabled {
        if let Some(shared) = shared_text() {
            set_now(shared);
        }
        let hash_listener = window_event_listener(ev::hashchange, move |_| {
            if let Some(shared) = shared_text() {
                if shared != text.get_untracked() {
                    set_now(shared);
                }
            }
        });
        on_cleanup(move || hash_listener.remove());
    }
    if let Some(initial) = initial {
        set_now(initial);
    }

    let copy_link = move |()| {
        let Some(url) = share_link(&text.get_untracked()) else {
            return;
        };
        spawn_local(async move {
            let copied = copy_text(&url).await;
            share.set(if copied {
                Share::Copied(url)
            } else {
                Share::Manual(url)
            });
        });
    };

    let state_name = move || match outcome.get() {
        Outcome::Empty => "empty",
        Outcome::Blank => "blank",
        Outcome::Answer(_) => "answer",
        Outcome::Failed(_) => "error",
    };

    let languages = move || entry.with_value(|e| i18n.language_names(&e.manifest.languages));
    let placeholder = move || {
        let first = entry.with_value(|e| i18n.examples(&e.manifest.examples).into_iter().next());
        first.map(|example| t("text.placeholder")().replace("{example}", &example))
    };
    let examples =
        Signal::derive(move || entry.with_value(|e| i18n.examples(&e.manifest.examples)));
    let on_example = Callback::new(set_now);

    view! {
        <article class="card demo text-demo" data-testid=format!("demo-{id}") data-model=id
            aria-labelledby=format!("{id}-title")>
            <div class="demo-head">
                <h2 id=format!("{id}-title") class="demo-title">
                    {move || entry.with_value(|e| i18n.pick(e.manifest.title()))}
                </h2>
                <ModelLoad model=model/>
            </div>
            <label class="field-label" for=format!("{id}-input")>
                {move || t("text.input_label")().replace("{languages}", &languages())}
            </label>
            <textarea id=format!("{id}-input") class="text-input" data-testid=format!("{id}-input") rows="3"
                spellcheck="true" placeholder=placeholder
                aria-describedby=format!("{id}-result")
                prop:value=move || text.get() on:input=on_input></textarea>

            <ExampleChips examples=examples on_pick=on_example/>

            <div id=format!("{id}-result") class="sentiment-result" class:busy=move || busy.get()
                data-testid=format!("{id}-result") data-state=state_name aria-live="polite">
                {move || match outcome.get() {
                    Outcome::Empty => view! {
                        <p class="hint" data-testid=format!("{id}-hint")>{t("text.hint")}</p>
                    }.into_any(),
                    Outcome::Blank => view! {
                        <p class="error-text" data-testid=format!("{id}-error")>{t("text.blank")}</p>
                    }.into_any(),
                    Outcome::Failed(reason) => view! {
                        <p class="error-text" data-testid=format!("{id}-error")>
                            {t("text.error")}" "{reason}
                        </p>
                    }.into_any(),
                    Outcome::Answer(answer) => {
                        let entry = entry.get_value();
                        view! {
                            <Verdict entry=entry.clone() answer=answer.clone()/>
                            {crate::feedback::on_text(&entry, &answer, text.get_untracked())}
                        }.into_any()
                    }
                }}
            </div>

            <WordsView entry=entry.get_value() words=words shown=Signal::derive(move || matches!(outcome.get(), Outcome::Answer(_)))/>

            {share_enabled.then(|| view! { <ShareRow text=text share=share on_copy=Callback::new(copy_link)/> })}
        </article>
    }
}

/// The model's example inputs as chips; a tap analyses one at once.
#[component]
fn ExampleChips(examples: Signal<Vec<String>>, on_pick: Callback<String>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="chips" role="group" aria-label=i18n.text("text.examples")>
            <span class="chips-label" aria-hidden="true">{i18n.text("text.examples")}</span>
            {move || examples.get().into_iter().enumerate().map(|(i, example)| {
                let text = example.clone();
                view! {
                    <button type="button" class="chip" data-testid=format!("example-{}", i + 1)
                        on:click=move |_| on_pick.run(text.clone())>
                        {example}
                    </button>
                }
            }).collect_view()}
        </div>
    }
}

/// "Copy share link", and the link itself once made.
#[component]
fn ShareRow(
    text: RwSignal<String>,
    share: RwSignal<Share>,
    on_copy: Callback<()>,
) -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    view! {
        <div class="share-row">
            <button type="button" class="btn btn-small" data-testid="share-button"
                disabled=move || text.with(|s| s.trim().is_empty()) on:click=move |_| on_copy.run(())>
                {t("text.share")}
            </button>
            {move || match share.get() {
                Share::Hidden => ().into_any(),
                Share::Copied(url) | Share::Manual(url) => {
                    let copied = matches!(share.get_untracked(), Share::Copied(_));
                    view! {
                        <span class="share-status" role="status">
                            {if copied { t("text.share_copied") } else { t("text.share_manual") }}
                        </span>
                        <input class="share-link" data-testid="share-link" readonly
                            aria-label=t("text.share_label") prop:value=url
                            on:focus=|ev| {
                                use wasm_bindgen::JsCast;
                                if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                    input.select();
                                }
                            }/>
                    }.into_any()
                }
            }}
        </div>
    }
}

/// The CSS class that colours `label` (its polarity): `pos`, `neg`, or `neutral` for a label
/// with no polarity or a neutral one.
fn tone(entry: &CatalogueEntry, label: &str) -> &'static str {
    let polarity = entry
        .manifest
        .labels
        .iter()
        .find(|l| l.id == label)
        .and_then(|l| l.polarity);
    match polarity {
        Some(Polarity::Positive) => "pos",
        Some(Polarity::Negative) => "neg",
        Some(Polarity::Neutral) | None => "neutral",
    }
}

/// `label`'s display name in the page's language (its id if the catalogue does not list it).
fn label_name(entry: &CatalogueEntry, label: &str) -> String {
    let i18n = use_i18n();
    entry
        .manifest
        .labels
        .iter()
        .find(|l| l.id == label)
        .map_or_else(|| label.to_owned(), |l| i18n.label_name(l))
}

/// The answer: label, confidence bar, time taken, and a note when the text was cut.
#[component]
fn Verdict(entry: CatalogueEntry, answer: TextResult) -> impl IntoView {
    let i18n = use_i18n();
    let label = answer.prediction.label.clone();
    let tone = tone(&entry, &label);
    let icon = match tone {
        "pos" => "▲",
        "neg" => "▼",
        _ => "●",
    };
    let percent = (f64::from(answer.prediction.score) * 100.0).clamp(0.0, 100.0);
    let max_tokens = entry
        .manifest
        .preprocessing
        .get("max_tokens")
        .and_then(|v| match v {
            wire::catalog::Value::Int(n) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or_default();
    let id = entry.manifest.id.clone();
    let label_attr = label.clone();
    view! {
        <div class=format!("verdict verdict-{tone}")>
            <span class="verdict-icon" aria-hidden="true">{icon}</span>
            <span class="verdict-label" data-testid=format!("{id}-label") data-label=label_attr>
                {move || label_name(&entry, &label)}
            </span>
            <span class="verdict-score" data-testid=format!("{id}-score")>{format!("{percent:.0}%")}</span>
            <span class="muted small">{i18n.text("text.confidence")}</span>
        </div>
        <div class="meter" aria-hidden="true">
            <span style=format!("width:{percent:.1}%")></span>
        </div>
        <p class="muted small timing" data-testid=format!("{id}-ms")>
            {millis(answer.ms)}" "{i18n.text("text.on_device")}
        </p>
        {answer.prediction.truncated.then(|| view! {
            <p class="notice" data-testid=format!("{id}-truncated")>
                {move || i18n.text("text.truncated")().replace("{max_tokens}", &max_tokens)}
            </p>
        })}
    }
}

/// The words behind the answer, each shaded by how far it pushed towards the predicted label
/// (coloured by that label's polarity) or away from it.
#[component]
fn WordsView(
    entry: CatalogueEntry,
    words: RwSignal<Option<(String, String, Vec<WordContribution>)>>,
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
