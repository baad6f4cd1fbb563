//! One catalogue model's demo, whatever its task kind: the one place that maps a kind to its
//! demo component, so pages list models without knowing what they do.

use leptos::prelude::*;
use wire::catalog::{CatalogueEntry, TaskKind};

use crate::catalogue::{use_catalogue, CatalogueState};
use crate::components::image_demo::ImageDemo;
use crate::components::text_demo::TextDemo;
use crate::i18n::use_i18n;

#[component]
pub fn ModelDemo(
    entry: CatalogueEntry,
    /// What to show at once: a sentence for a text model, a sample photo's name for an image one.
    #[prop(optional)]
    input: Option<String>,
    /// Offer a share link (text models; off in kiosks and embeds).
    #[prop(default = true)]
    share: bool,
) -> impl IntoView {
    match entry.manifest.task {
        TaskKind::TextClassification => match input {
            Some(initial) => {
                view! { <TextDemo entry=entry initial=initial share=share/> }.into_any()
            }
            None => view! { <TextDemo entry=entry share=share/> }.into_any(),
        },
        TaskKind::ImageClassification => {
            let sample = input.and_then(|name| {
                crate::components::image_demo::SAMPLES
                    .iter()
                    .find(|(s, _)| *s == name)
                    .map(|(s, _)| *s)
            });
            match sample {
                Some(sample) => view! { <ImageDemo entry=entry initial_sample=sample/> }.into_any(),
                None => view! { <ImageDemo entry=entry/> }.into_any(),
            }
        }
    }
}

/// The demo of catalogue model `id` once the catalogue is in: a line while it loads, and a clear
/// message if it cannot be read or has no such model.
#[component]
pub fn CatalogueDemo(
    id: String,
    #[prop(optional)] input: Option<String>,
    #[prop(default = true)] share: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let catalogue = use_catalogue();
    move || match catalogue.state.get() {
        CatalogueState::Loading => view! {
            <p class="muted" data-testid="catalogue-loading">{i18n.text("load.connecting")}</p>
        }
        .into_any(),
        CatalogueState::Failed(e) => view! {
            <p class="error-text" role="alert" data-testid="catalogue-error">{e}</p>
        }
        .into_any(),
        CatalogueState::Ready(models) => match models.get(&id) {
            Some(entry) => match input.clone() {
                Some(input) => {
                    view! { <ModelDemo entry=entry.clone() input=input share=share/> }.into_any()
                }
                None => view! { <ModelDemo entry=entry.clone() share=share/> }.into_any(),
            },
            None => view! {
                <p class="error-text" role="alert" data-testid="catalogue-missing">
                    {i18n.text("catalogue.missing")}" "<code>{id.clone()}</code>
                </p>
            }
            .into_any(),
        },
    }
}
