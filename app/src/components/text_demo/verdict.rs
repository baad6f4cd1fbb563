//! The answer: label, confidence bar, time taken, which model answered, and a note when the
//! text was cut. Colours follow the label's polarity in the catalogue.

use leptos::prelude::*;

use wire::catalog::{CatalogueEntry, Polarity};

use crate::catalogue::use_catalogue;
use crate::engine::{millis, TextResult};
use crate::i18n::use_i18n;

/// The CSS class that colours `label` (its polarity): `pos`, `neg`, or `neutral` for a label
/// with no polarity or a neutral one.
pub fn tone(entry: &CatalogueEntry, label: &str) -> &'static str {
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
pub fn label_name(entry: &CatalogueEntry, label: &str) -> String {
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
pub fn Verdict(entry: CatalogueEntry, answer: TextResult) -> impl IntoView {
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
        <AnsweredBy id=id.clone() model=answer.model.clone()/>
        {answer.prediction.truncated.then(|| view! {
            <p class="notice" data-testid=format!("{id}-truncated")>
                {move || i18n.text("text.truncated")().replace("{max_tokens}", &max_tokens)}
            </p>
        })}
    }
}

/// "Answered by …": the model that gave the answer, which the SDK picks by the text's script
/// (a Chinese sentence typed on the English demo goes to the model that reads Chinese).
#[component]
fn AnsweredBy(id: String, model: String) -> impl IntoView {
    let i18n = use_i18n();
    let catalogue = use_catalogue();
    let answering = model.clone();
    let name = move || {
        catalogue
            .entry(&answering)
            .map_or_else(|| answering.clone(), |e| i18n.pick(&e.manifest.name))
    };
    view! {
        <p class="answered-by muted small" data-testid=format!("{id}-answered-by") data-model=model>
            {move || i18n.text("text.answered_by")().replace("{model}", &name())}
        </p>
    }
}
