//! The kiosk's attract loop: a full-screen invitation that cycles through the catalogue models'
//! examples (sentences and sample photos, taken in turn from each model) with the models' real
//! answers, computed on this device the first time each slide shows and then remembered (a
//! booth runs all day: a fixed handful of answers keeps memory flat). Any touch, click or key
//! starts a visit.

use std::time::Duration;

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use wire::catalog::{CatalogueEntry, TaskKind};

use crate::catalogue::use_catalogue;
use crate::components::image_demo::SAMPLES;
use crate::dom::fetch_blob;
use crate::engine::{classify_image, classify_text, model, TextAnswer};
use crate::i18n::use_i18n;

/// Examples taken from each model for the loop: enough to vary, few enough to keep memory flat.
const EXAMPLES_PER_MODEL: usize = 3;

#[derive(Clone, Debug, PartialEq)]
struct Slide {
    model: CatalogueEntry,
    /// A sentence for a text model; a sample photo's file name for an image model.
    input: String,
}

/// The models' examples in turn: the first of each model, then the second of each, and so on.
fn slides(
    entries: &[CatalogueEntry],
    locale_examples: impl Fn(&CatalogueEntry) -> Vec<String>,
) -> Vec<Slide> {
    let lists: Vec<(CatalogueEntry, Vec<String>)> = entries
        .iter()
        .map(|e| (e.clone(), locale_examples(e)))
        .collect();
    (0..EXAMPLES_PER_MODEL)
        .flat_map(|i| {
            lists.iter().filter_map(move |(entry, examples)| {
                examples.get(i).map(|input| Slide {
                    model: entry.clone(),
                    input: input.clone(),
                })
            })
        })
        .collect()
}

/// What the model said about a slide: a label id (text) or class name (image), and its score.
#[derive(Clone, Debug, PartialEq)]
struct Answer {
    label: String,
    score: f32,
}

/// The caption of a sample photo (`cat.jpg`), from the site's sample list.
fn photo_caption(file: &str) -> Option<&'static str> {
    let name = file.strip_suffix(".jpg").unwrap_or(file);
    SAMPLES
        .iter()
        .find(|(s, _)| *s == name)
        .map(|(_, key)| *key)
}

async fn answer(slide: Slide) -> Option<Answer> {
    let engine = model(&slide.model.manifest.id);
    match slide.model.manifest.task {
        TaskKind::TextClassification => {
            // A slide the model cannot read is skipped: the loop shows answers, not notices.
            match classify_text(engine, &slide.input).await.ok()? {
                TextAnswer::Label(r) => Some(Answer {
                    label: r.prediction.label,
                    score: r.prediction.score,
                }),
                TextAnswer::Unreadable(_) => None,
            }
        }
        TaskKind::ImageClassification => {
            let blob = fetch_blob(&format!("/samples/{}", slide.input))
                .await
                .ok()?;
            let top = classify_image(engine, &blob)
                .await
                .ok()?
                .top
                .into_iter()
                .next()?;
            Some(Answer {
                label: top.label,
                score: top.score,
            })
        }
    }
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
    let catalogue = use_catalogue();
    // Fixed at the first catalogue seen (examples of the kiosk's start language).
    let slides =
        Memo::new(move |_| slides(&catalogue.demos(), |e| i18n.examples(&e.manifest.examples)));
    let current = RwSignal::new(0usize);
    // One answer per slide, filled in as slides first appear.
    let answers = RwSignal::new(Vec::<Option<Answer>>::new());

    let compute = move |index: usize| {
        let Some(slide) = slides
            .try_with_untracked(|s| s.get(index).cloned())
            .flatten()
        else {
            return;
        };
        if answers.try_with_untracked(|a| a.get(index).is_some_and(Option::is_some)) != Some(false)
        {
            return; // known already, or the loop is gone
        }
        spawn_local(async move {
            if let Some(found) = answer(slide).await {
                // The visitor may have started (unmounting the loop) while the model worked.
                answers.try_update(|a| {
                    if a.len() <= index {
                        a.resize(index + 1, None);
                    }
                    a[index] = Some(found);
                });
            }
        });
    };
    // New slides (the catalogue arrived, the language changed): forget the old answers.
    Effect::new(move |_| {
        if !slides.with(Vec::is_empty) {
            answers.set(Vec::new());
            current.set(0);
            compute(0);
        }
    });

    let advance = move || {
        let count = slides.with_untracked(Vec::len).max(1);
        let next = (current.get_untracked() + 1) % count;
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
        let slide = slides.with(|s| s.get(index).cloned())?;
        let answer = answers.with(|a| a.get(index).cloned().flatten());
        let caption = match answer {
            Some(Answer { label, score }) => {
                let known = slide
                    .model
                    .manifest
                    .labels
                    .iter()
                    .find(|l| l.id == label)
                    .cloned();
                let tone = match known.as_ref().and_then(|l| l.polarity) {
                    Some(wire::catalog::Polarity::Positive) => "verdict-label pos",
                    Some(wire::catalog::Polarity::Negative) => "verdict-label neg",
                    _ => "verdict-label",
                };
                view! {
                    <span class=tone>{move || known.as_ref().map_or_else(|| label.clone(), |l| i18n.label_name(l))}</span>
                    <span class="attract-score">{format!("{:.0}%", score * 100.0)}</span>
                }.into_any()
            }
            None => view! { <span class="muted">{t("kiosk.thinking")}</span> }.into_any(),
        };
        Some(match slide.model.manifest.task {
            TaskKind::TextClassification => view! {
                <figure class="attract-slide" data-testid="attract-slide" data-kind="sentence">
                    <blockquote class="attract-quote">{slide.input.clone()}</blockquote>
                    <figcaption class="attract-answer">{caption}</figcaption>
                </figure>
            }
            .into_any(),
            TaskKind::ImageClassification => {
                let alt = photo_caption(&slide.input)
                    .map_or_else(|| slide.input.clone(), |key| t(key)().to_owned());
                view! {
                    <figure class="attract-slide" data-testid="attract-slide" data-kind="photo">
                        <img class="attract-photo" src=format!("/samples/{}", slide.input) alt=alt/>
                        <figcaption class="attract-answer">{caption}</figcaption>
                    </figure>
                }
                .into_any()
            }
        })
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
