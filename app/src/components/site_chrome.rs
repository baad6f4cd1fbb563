//! Header and footer of the website mode. Kiosk and embed pages deliberately omit them.

use leptos::prelude::*;

use crate::i18n::use_i18n;

#[component]
pub fn SiteHeader() -> impl IntoView {
    let i18n = use_i18n();
    let switch_language = move |_| i18n.set(i18n.locale.get_untracked().other());
    view! {
        <a class="skip-link" href="#main">{i18n.text("nav.skip")}</a>
        <header class="site-header">
            <a class="brand" href="/" aria-label="Vitrine">
                <span class="brand-mark" aria-hidden="true"></span>"Vitrine"
            </a>
            <nav aria-label="Main">
                <a href="/#demos">{i18n.text("nav.demos")}</a>
                <a href="/#privacy">{i18n.text("nav.privacy")}</a>
                <a href="/#models">{i18n.text("nav.models")}</a>
                <a href="/tour">{i18n.text("nav.tour")}</a>
            </nav>
            <button class="btn btn-ghost lang-switch" data-testid="lang-switch"
                aria-label=i18n.text("nav.language_label") on:click=switch_language>
                {i18n.text("nav.language")}
            </button>
        </header>
    }
}

#[component]
pub fn SiteFooter() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <footer class="site-footer">
            <section aria-labelledby="credits-title">
                <h2 id="credits-title">{i18n.text("credits.title")}</h2>
                <ModelCredits/>
                <p>{i18n.text("credits.photos")}</p>
            </section>
            <p class="muted">{i18n.text("footer.note")}</p>
        </footer>
    }
}

/// One line crediting every catalogue model that names its source and licence.
#[component]
fn ModelCredits() -> impl IntoView {
    let i18n = use_i18n();
    let catalogue = crate::catalogue::use_catalogue();
    let credits = move || {
        let separator = match i18n.locale.get() {
            crate::i18n::Locale::En => "; ",
            crate::i18n::Locale::Zh => "；",
        };
        catalogue
            .entries()
            .iter()
            .filter_map(|entry| entry.manifest.credit.as_ref().map(|c| i18n.pick(c)))
            .collect::<Vec<_>>()
            .join(separator)
    };
    view! {
        <p data-testid="model-credits">{i18n.text("credits.models")}" "{credits}</p>
    }
}
