//! The demo's controls besides the text box: the model's example chips and the share link.

use leptos::prelude::*;

use crate::i18n::use_i18n;

#[derive(Clone, Debug, PartialEq)]
pub enum Share {
    Hidden,
    Copied(String),
    Manual(String),
}

/// The model's example inputs as chips; a tap analyses one at once.
#[component]
pub fn ExampleChips(examples: Signal<Vec<String>>, on_pick: Callback<String>) -> impl IntoView {
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
pub fn ShareRow(
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
