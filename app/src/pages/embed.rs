//! Embed mode (`/embed/<model id>`): one catalogue model's demo and a one-line credit, for other
//! sites' iframes (see `public/embed.js`). No header, footer, share link or outbound navigation;
//! theme and language come from the host page.

use leptos::html;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::catalogue::use_catalogue;
use crate::components::model_demo::CatalogueDemo;
use crate::embed_frame;
use crate::i18n::use_i18n;

#[component]
pub fn Embed() -> impl IntoView {
    let i18n = use_i18n();
    if let Some(locale) = embed_frame::language() {
        i18n.set_for_page(locale);
    }
    let theme = embed_frame::theme();
    // The theme styles the whole document (its background shows around the card).
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        root.set_class_name(&format!("embedded {}", theme.class()));
    }
    let params = use_params_map();
    let id = params.read_untracked().get("model").unwrap_or_default();
    let catalogue = use_catalogue();
    let title = {
        let id = id.clone();
        Memo::new(move |_| {
            let name = catalogue
                .entry(&id)
                .map(|entry| i18n.pick(entry.manifest.title()).to_owned())
                .unwrap_or_else(|| id.clone());
            format!("{name} — {}", i18n.text("embed.on_device")())
        })
    };
    let main = NodeRef::<html::Main>::new();
    let report_id = id.clone();
    Effect::new(move |_| {
        if let Some(el) = main.get() {
            embed_frame::report_height(&el, &report_id);
        }
    });
    view! {
        <main id="main" class="embed" node_ref=main data-testid=format!("page-embed-{id}")>
            // The frame's document title too: screen readers announce it for the iframe.
            <Title text=move || title.get()/>
            <h1 class="visually-hidden">{move || title.get()}</h1>
            <CatalogueDemo id=id.clone() share=false/>
            <p class="muted small embed-credit">{i18n.text("embed.powered")}</p>
        </main>
    }
}
