//! Shown for any address the app does not know (the server answers those with status 404).

use leptos::prelude::*;

use crate::components::site_chrome::SiteHeader;
use crate::i18n::use_i18n;

#[component]
pub fn NotFound() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <SiteHeader/>
        <main id="main" class="not-found" data-testid="page-not-found">
            <h1>{i18n.text("not_found.title")}</h1>
            <p>{i18n.text("not_found.body")}</p>
            <a class="btn btn-primary" href="/">{i18n.text("not_found.home")}</a>
        </main>
    }
}
