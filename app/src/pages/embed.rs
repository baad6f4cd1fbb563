//! Embed mode (`/embed/sentiment`, `/embed/image`): one demo and a one-line credit, for other
//! sites' iframes (see `public/embed.js`). No header, footer, share link or outbound navigation;
//! theme and language come from the host page.

use leptos::html;
use leptos::prelude::*;

use crate::components::image_demo::ImageDemo;
use crate::components::sentiment_demo::SentimentDemo;
use crate::embed_frame;
use crate::i18n::use_i18n;

#[component]
pub fn Embed(demo: &'static str) -> impl IntoView {
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
    let title = if demo == "image" {
        "embed.image_title"
    } else {
        "embed.sentiment_title"
    };
    let main = NodeRef::<html::Main>::new();
    Effect::new(move |_| {
        if let Some(el) = main.get() {
            embed_frame::report_height(&el, demo);
        }
    });
    view! {
        <main id="main" class="embed" node_ref=main data-testid=format!("page-embed-{demo}")>
            <h1 class="visually-hidden">{i18n.text(title)}</h1>
            {if demo == "image" {
                view! { <ImageDemo/> }.into_any()
            } else {
                view! { <SentimentDemo share=false/> }.into_any()
            }}
            <p class="muted small embed-credit">{i18n.text("embed.powered")}</p>
        </main>
    }
}
