//! The live demo of a text-classification model from the catalogue: answers as you type
//! (`analysis.rs`), the label with a confidence bar and the model that answered (`verdict.rs`),
//! the words that drove the answer (`words.rs`), a notice instead of a label for text the model
//! cannot read (`unreadable.rs`), the model's example chips and a share link (`#text=…`) that
//! restores the text (`controls.rs`). Labels, examples and languages come from the model's
//! catalogue entry; element ids and test ids start with the model's id, so several text models
//! can share a page.
//!
//! Other modes reuse it: the tour fills it with `initial`, and the kiosk and embeds turn the
//! share link off (`share=false`): a link to a booth screen or someone else's page is no use.

mod analysis;
mod controls;
mod result;
mod unreadable;
mod verdict;
mod words;

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use wire::catalog::CatalogueEntry;

use crate::components::model_load::ModelLoad;
use crate::dom::{copy_text, share_link, shared_text};
use crate::engine::model;
use crate::i18n::use_i18n;
use analysis::Analysis;
use controls::{ExampleChips, Share, ShareRow};
use result::ResultPanel;
use words::WordsView;

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
    let analysis = Analysis::new();
    let share = RwSignal::new(Share::Hidden);
    let set_now = move |value: String| {
        share.set(Share::Hidden);
        analysis.set_now(model, value);
    };
    let on_input = move |ev: ev::Event| {
        share.set(Share::Hidden);
        analysis.typed(model, event_target_value(&ev));
    };

    if share_enabled {
        restore_shared_text(analysis.text, set_now);
    }
    if let Some(initial) = initial {
        set_now(initial);
    }

    let copy_link = move |()| {
        let Some(url) = share_link(&analysis.text.get_untracked()) else {
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

    let catalogue = crate::catalogue::use_catalogue();
    preload_readers_of_page_language(entry);
    let languages = move || entry.with_value(|e| i18n.language_names(&catalogue.demo_languages(e)));
    let placeholder = move || {
        let first = entry.with_value(|e| i18n.examples(&e.manifest.examples).into_iter().next());
        first.map(|example| t("text.placeholder")().replace("{example}", &example))
    };
    let examples =
        Signal::derive(move || entry.with_value(|e| i18n.examples(&e.manifest.examples)));
    let on_example = Callback::new(set_now);
    let on_reader = Callback::new(move |(reader, text): (String, String)| {
        analysis.set_now(crate::engine::model(&reader), text);
    });
    let answered = Signal::derive(move || {
        analysis
            .outcome
            .with(|o| matches!(o, analysis::Outcome::Answer(_)))
    });

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
                prop:value=move || analysis.text.get() on:input=on_input></textarea>

            <ExampleChips examples=examples on_pick=on_example/>
            <ResultPanel id=id entry=entry analysis=analysis on_reader=on_reader on_example=on_example/>
            <WordsView entry=entry.get_value() words=analysis.words shown=answered/>

            {share_enabled.then(|| view! { <ShareRow text=analysis.text share=share on_copy=Callback::new(copy_link)/> })}
        </article>
    }
}

/// A share link (`#text=…`) restores its text and runs it straight away, also when the address
/// changes while the page is open.
/// The page's examples in its language go to the reader of that language (the Chinese page's
/// sentiment examples: the Chinese reader): load it with the demo's own model rather than when
/// the first example is already waiting for it.
fn preload_readers_of_page_language(entry: StoredValue<CatalogueEntry>) {
    let (i18n, catalogue) = (use_i18n(), crate::catalogue::use_catalogue());
    Effect::new(move |_| {
        let language = i18n.locale.get().code();
        for reader in entry.with_value(|e| catalogue.readers_in(e, language)) {
            model(&reader).preload();
        }
    });
}

fn restore_shared_text(text: RwSignal<String>, set_now: impl Fn(String) + Copy + 'static) {
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
