//! Embed mode (`/embed/sentiment`, `/embed/image`): minimal chrome for other sites' iframes.

use leptos::prelude::*;

use crate::components::engine_status::EngineStatus;
use crate::i18n::use_i18n;

#[component]
pub fn Embed(demo: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    let title = if demo == "image" {
        "embed.image_title"
    } else {
        "embed.sentiment_title"
    };
    view! {
        <main id="main" class="embed" data-testid=format!("page-embed-{demo}")>
            <h1>{i18n.text(title)}</h1>
            <EngineStatus/>
            <p class="muted small">{i18n.text("embed.powered")}</p>
        </main>
    }
}
