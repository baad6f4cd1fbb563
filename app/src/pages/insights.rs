//! Insights (`/insights`): what opted-in visitors told us.

use leptos::prelude::*;

use crate::components::site_chrome::SiteHeader;
use crate::i18n::use_i18n;

#[component]
pub fn Insights() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <SiteHeader/>
        <main id="main" class="insights" data-testid="page-insights">
            <h1>{i18n.text("insights.title")}</h1>
            <p class="lead">{i18n.text("insights.body")}</p>
        </main>
    }
}
