//! The live sentiment demo: answers as you type (debounced; inference runs in the worker, so
//! typing never waits), a label with a confidence bar, the words that drove the answer, example
//! chips, a truncation notice and a share link (`#text=…`) that restores the text.
//!
//! Other modes reuse it: the tour fills it with `initial`, and the kiosk and embeds turn the
//! share link off (`share=false`): a link to a booth screen or someone else's page is no use.

use std::time::Duration;

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::model_load::ModelLoad;
use crate::dom::{copy_text, share_link, shared_text};
use crate::engine::{
    classify_text, explain_text, millis, use_models, SentimentResult, WordContribution,
};
use crate::i18n::use_i18n;

const DEBOUNCE: Duration = Duration::from_millis(250);
/// Longer texts are shown only this far in the highlighted view (the model reads 128 tokens).
const MAX_SHOWN_BYTES: usize = 4000;

const EXAMPLES: &[(&str, &str)] = &[
    ("positive", "sentiment.example_positive"),
    ("negative", "sentiment.example_negative"),
    ("tricky", "sentiment.example_tricky"),
    ("mixed", "sentiment.example_mixed"),
    ("accents", "sentiment.example_accents"),
];

#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    /// Nothing typed: show a hint, not an error.
    Empty,
    /// Only whitespace: a clear, friendly error.
    Blank,
    Answer(SentimentResult),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Share {
    Hidden,
    Copied(String),
    Manual(String),
}

#[component]
pub fn SentimentDemo(
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
    let model = use_models().sentiment;
    model.preload();

    let text = RwSignal::new(String::new());
    let outcome = RwSignal::new(Outcome::Empty);
    let words = RwSignal::new(None::<(String, Vec<WordContribution>)>);
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
                    words.set(Some((input, explained.words)));
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

    let copy_link = move |_| {
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

    view! {
        <article class="card demo sentiment-demo" data-testid="demo-sentiment" aria-labelledby="sentiment-title">
            <div class="demo-head">
                <h2 id="sentiment-title" class="demo-title">{t("demos.sentiment_title")}</h2>
                <ModelLoad model=model/>
            </div>
            <label class="field-label" for="sentiment-input">{t("sentiment.input_label")}</label>
            <textarea id="sentiment-input" class="text-input" data-testid="sentiment-input" rows="3"
                spellcheck="true" placeholder=t("sentiment.placeholder")
                aria-describedby="sentiment-result"
                prop:value=move || text.get() on:input=on_input></textarea>

            <div class="chips" role="group" aria-label=t("sentiment.examples")>
                <span class="chips-label" aria-hidden="true">{t("sentiment.examples")}</span>
                {EXAMPLES.iter().map(|(kind, key)| {
                    let key: &'static str = key;
                    view! {
                        <button type="button" class="chip" data-testid=format!("example-{kind}")
                            on:click=move |_| set_now(i18n.text(key)().to_owned())>
                            {i18n.text(key)}
                        </button>
                    }
                }).collect_view()}
            </div>

            <div id="sentiment-result" class="sentiment-result" class:busy=move || busy.get()
                data-testid="sentiment-result" data-state=state_name aria-live="polite">
                {move || match outcome.get() {
                    Outcome::Empty => view! {
                        <p class="hint" data-testid="sentiment-hint">{t("sentiment.hint")}</p>
                    }.into_any(),
                    Outcome::Blank => view! {
                        <p class="error-text" data-testid="sentiment-error">{t("sentiment.blank")}</p>
                    }.into_any(),
                    Outcome::Failed(reason) => view! {
                        <p class="error-text" data-testid="sentiment-error">
                            {t("sentiment.error")}" "{reason}
                        </p>
                    }.into_any(),
                    Outcome::Answer(answer) => view! { {answer_view(answer.clone())} {crate::feedback::on_sentiment(&answer, text.get_untracked())} }.into_any(),
                }}
            </div>

            <WordsView words=words outcome=outcome/>

            {share_enabled.then(|| view! {
            <div class="share-row">
                <button type="button" class="btn btn-small" data-testid="share-button"
                    disabled=move || text.with(|s| s.trim().is_empty()) on:click=copy_link>
                    {t("sentiment.share")}
                </button>
                {move || match share.get() {
                    Share::Hidden => ().into_any(),
                    Share::Copied(url) | Share::Manual(url) => {
                        let copied = matches!(share.get_untracked(), Share::Copied(_));
                        view! {
                            <span class="share-status" role="status">
                                {if copied { t("sentiment.share_copied") } else { t("sentiment.share_manual") }}
                            </span>
                            <input class="share-link" data-testid="share-link" readonly
                                aria-label=t("sentiment.share_label") prop:value=url
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
            })}
        </article>
    }
}

fn answer_view(answer: SentimentResult) -> impl IntoView {
    let i18n = use_i18n();
    let positive = answer.label == "positive";
    let label_key = if positive {
        "sentiment.positive"
    } else {
        "sentiment.negative"
    };
    let percent = (answer.score * 100.0).clamp(0.0, 100.0);
    view! {
        <div class="verdict" class:verdict-pos=positive class:verdict-neg=!positive>
            <span class="verdict-icon" aria-hidden="true">{if positive { "▲" } else { "▼" }}</span>
            <span class="verdict-label" data-testid="sentiment-label" data-label=answer.label.clone()>
                {i18n.text(label_key)}
            </span>
            <span class="verdict-score" data-testid="sentiment-score">{format!("{percent:.0}%")}</span>
            <span class="muted small">{i18n.text("sentiment.confidence")}</span>
        </div>
        <div class="meter" aria-hidden="true">
            <span style=format!("width:{percent:.1}%")></span>
        </div>
        <p class="muted small timing" data-testid="sentiment-ms">
            {millis(answer.ms)}" "{i18n.text("sentiment.on_device")}
        </p>
        {answer.truncated.then(|| view! {
            <p class="notice" data-testid="sentiment-truncated">{i18n.text("sentiment.truncated")}</p>
        })}
    }
}

#[component]
fn WordsView(
    words: RwSignal<Option<(String, Vec<WordContribution>)>>,
    outcome: RwSignal<Outcome>,
) -> impl IntoView {
    let i18n = use_i18n();
    let shown = move || matches!(outcome.get(), Outcome::Answer(_)) && words.with(|w| w.is_some());
    view! {
        <Show when=shown>
            <div class="words-box">
                <h3 class="words-title" id="words-title">{i18n.text("sentiment.words_title")}</h3>
                <p class="words" data-testid="sentiment-words">
                    {move || words.with(|w| w.as_ref().map(|(text, words)| render_words(text, words)))}
                </p>
                <p class="legend small">
                    <span class="legend-item"><span class="swatch swatch-pos" aria-hidden="true"></span>{i18n.text("sentiment.legend_pos")}</span>
                    <span class="legend-item"><span class="swatch swatch-neg" aria-hidden="true"></span>{i18n.text("sentiment.legend_neg")}</span>
                </p>
            </div>
        </Show>
    }
}

fn render_words(text: &str, words: &[WordContribution]) -> impl IntoView {
    // Intensity is relative to the most influential word, so a confident answer (where removing
    // any one word moves the probability only a little) still shows which words mattered.
    let strongest = words
        .iter()
        .map(|w| w.contribution.abs())
        .fold(1e-6_f64, f64::max);
    segments(text, words)
        .into_iter()
        .map(|segment| match segment {
            Segment::Plain(s) => view! { <span>{s.to_owned()}</span> }.into_any(),
            Segment::Word(s, c) => {
                let strength = (c.abs() / strongest).min(1.0);
                let class = if strength < 0.05 || c.abs() < 1e-5 {
                    "w"
                } else if c > 0.0 {
                    "w w-pos"
                } else {
                    "w w-neg"
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
    Word(&'a str, f64),
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

    fn word(text: &str, needle: &str, contribution: f64) -> WordContribution {
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
