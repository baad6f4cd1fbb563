//! The kiosk's attract loop: a full-screen invitation that cycles through example sentences and
//! sample photos with the model's real answers, computed on this device the first time each
//! slide shows and then remembered (a booth runs all day: a fixed handful of answers keeps
//! memory flat). Any touch, click or key starts a visit.

use std::time::Duration;

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::dom::fetch_blob;
use crate::engine::{classify_image, classify_text, use_models};
use crate::i18n::use_i18n;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Slide {
    /// A content key holding an example sentence.
    Sentence(&'static str),
    /// A sample photo in `/samples/` and the content key of its caption.
    Photo(&'static str, &'static str),
}

const SLIDES: &[Slide] = &[
    Slide::Sentence("sentiment.example_positive"),
    Slide::Photo("parrot", "image.sample_parrot"),
    Slide::Sentence("sentiment.example_tricky"),
    Slide::Photo("hot_dog", "image.sample_hot_dog"),
    Slide::Sentence("sentiment.example_mixed"),
    Slide::Photo("owl", "image.sample_owl"),
];

/// What the model said about a slide.
#[derive(Clone, Debug, PartialEq)]
enum Answer {
    Sentiment { positive: bool, score: f64 },
    Photo { label: String, score: f64 },
}

#[component]
pub fn AttractLoop(
    /// Seconds per slide.
    #[prop(into)]
    slide: Signal<Duration>,
    /// Called when a visitor touches the screen or presses a key.
    on_start: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let models = use_models();
    let current = RwSignal::new(0usize);
    // One answer per slide, filled in as slides first appear.
    let answers = RwSignal::new(vec![None::<Answer>; SLIDES.len()]);

    let compute = move |index: usize| {
        if answers.try_with_untracked(|a| a[index].is_some()) != Some(false) {
            return; // known already, or the loop is gone
        }
        spawn_local(async move {
            let answer = match SLIDES[index] {
                Slide::Sentence(key) => {
                    // The model reads English; the examples are English in every language file.
                    let text = crate::i18n::lookup(crate::i18n::Locale::En, key);
                    classify_text(models.sentiment, text)
                        .await
                        .ok()
                        .map(|r| Answer::Sentiment {
                            positive: r.label == "positive",
                            score: r.score,
                        })
                }
                Slide::Photo(name, _) => match fetch_blob(&format!("/samples/{name}.jpg")).await {
                    Ok(blob) => classify_image(models.image, &blob)
                        .await
                        .ok()
                        .and_then(|r| r.top.into_iter().next())
                        .map(|c| Answer::Photo {
                            label: c.label,
                            score: c.score,
                        }),
                    Err(_) => None,
                },
            };
            if let Some(answer) = answer {
                // The visitor may have started (unmounting the loop) while the model worked.
                answers.try_update(|a| a[index] = Some(answer));
            }
        });
    };
    compute(0);
    let advance = move || {
        let next = (current.get_untracked() + 1) % SLIDES.len();
        compute(next);
        current.set(next);
    };
    // Re-armed whenever the slide length changes (the config arrives after mount).
    let ticker = StoredValue::new(None::<IntervalHandle>);
    let stop_ticker = move || {
        if let Some(handle) = ticker.try_update_value(Option::take).flatten() {
            handle.clear();
        }
    };
    Effect::new(move |_| {
        let every = slide.get();
        stop_ticker();
        ticker.set_value(set_interval_with_handle(advance, every).ok());
    });
    on_cleanup(stop_ticker);
    let keys = {
        let on_start = on_start.clone();
        window_event_listener(ev::keydown, move |e: ev::KeyboardEvent| {
            // Tab moves to the start button, as keyboard users expect; anything else starts.
            if e.key() != "Tab" && e.key() != "Shift" {
                e.prevent_default();
                on_start();
            }
        })
    };
    on_cleanup(move || keys.remove());

    let start_click = on_start.clone();
    let slide_view = move || {
        let index = current.get();
        let answer = answers.with(|a| a[index].clone());
        match SLIDES[index] {
            Slide::Sentence(key) => view! {
                <figure class="attract-slide" data-testid="attract-slide" data-kind="sentence">
                    <blockquote class="attract-quote">{crate::i18n::lookup(crate::i18n::Locale::En, key)}</blockquote>
                    <figcaption class="attract-answer">
                        {match answer {
                            Some(Answer::Sentiment { positive, score }) => view! {
                                <span class=if positive { "verdict-label pos" } else { "verdict-label neg" }>
                                    {if positive { t("sentiment.positive") } else { t("sentiment.negative") }}
                                </span>
                                <span class="attract-score">{format!("{:.0}%", score * 100.0)}</span>
                            }.into_any(),
                            _ => view! { <span class="muted">{t("kiosk.thinking")}</span> }.into_any(),
                        }}
                    </figcaption>
                </figure>
            }
            .into_any(),
            Slide::Photo(name, caption) => view! {
                <figure class="attract-slide" data-testid="attract-slide" data-kind="photo">
                    <img class="attract-photo" src=format!("/samples/{name}.jpg") alt=t(caption)/>
                    <figcaption class="attract-answer">
                        {match answer {
                            Some(Answer::Photo { label, score }) => view! {
                                <span class="verdict-label">{label}</span>
                                <span class="attract-score">{format!("{:.0}%", score * 100.0)}</span>
                            }.into_any(),
                            _ => view! { <span class="muted">{t("kiosk.thinking")}</span> }.into_any(),
                        }}
                    </figcaption>
                </figure>
            }
            .into_any(),
        }
    };

    view! {
        <div class="attract" data-testid="kiosk-attract" on:click=move |_| start_click()>
            <p class="eyebrow">{t("hero.eyebrow")}</p>
            <h2 class="attract-title">{t("kiosk.tagline")}</h2>
            <div class="attract-stage" aria-live="off">{slide_view}</div>
            <p class="attract-note">{t("kiosk.attract_note")}</p>
            <button type="button" class="btn btn-primary attract-start" data-testid="kiosk-start">
                {t("kiosk.start")}
            </button>
        </div>
    }
}
