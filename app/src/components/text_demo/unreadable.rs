//! What the demo says instead of a label when the model cannot read the text: in the visitor's
//! language, which languages the model reads and what the text looks like, with a tap that
//! sends the text to a catalogue model that reads it, or, when none does, tries an example.

use leptos::prelude::*;

use crate::catalogue::use_catalogue;
use crate::engine::{Unreadable, UnreadableReason};
use crate::i18n::use_i18n;

#[component]
pub fn UnreadableNotice(
    /// The demo's model id (the prefix of its test ids).
    id: &'static str,
    answer: Unreadable,
    /// Sends the text to the reader with this id.
    on_reader: Callback<String>,
    /// The first example in the page's language, if the model has one: tried on a tap.
    example: Option<String>,
    on_example: Callback<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let catalogue = use_catalogue();
    let languages = StoredValue::new(answer.languages.clone());
    let script = answer.script.clone();
    let reason = answer.reason;
    let what = move || match (reason, &script) {
        (UnreadableReason::Script, Some(script)) => {
            i18n.text("text.unreadable_script")().replace("{script}", i18n.script_name(script))
        }
        _ => i18n.text("text.unreadable_unknown")().to_owned(),
    };
    // The content files carry the space between the two sentences (English has one, Chinese
    // none).
    let reads = move || {
        i18n.text("text.unreadable_reads")().replace(
            "{languages}",
            &languages.with_value(|l| i18n.language_names(l)),
        )
    };
    let readers = answer.readers.clone().into_iter().map(|reader| {
        let name = catalogue
            .entry(&reader)
            .map(|e| e.manifest.name.clone());
        let label = reader.clone();
        let shown = move || {
            let name = name.as_ref().map_or_else(|| label.clone(), |n| i18n.pick(n));
            i18n.text("text.unreadable_ask")().replace("{model}", &name)
        };
        view! {
            <button type="button" class="btn btn-small" data-testid=format!("{id}-reader-{reader}")
                on:click=move |_| on_reader.run(reader.clone())>
                {shown}
            </button>
        }
    }).collect_view();
    let try_example = answer
        .readers
        .is_empty()
        .then_some(example)
        .flatten()
        .map(|example| {
            view! {
                <button type="button" class="btn btn-small" data-testid=format!("{id}-try-example")
                    on:click=move |_| on_example.run(example.clone())>
                    {i18n.text("text.unreadable_try")}
                </button>
            }
        });
    view! {
        <div class="notice unreadable" role="status" data-testid=format!("{id}-unreadable")
            data-script=answer.script.clone().unwrap_or_default()>
            <p class="unreadable-text">{reads}{what}</p>
            <div class="unreadable-actions">{readers}{try_example}</div>
        </div>
    }
}
