//! Walkthrough mode (`/tour`, `/tour/:step`) for sales demos.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::components::site_chrome::SiteHeader;
use crate::i18n::use_i18n;

#[component]
pub fn Tour() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let step = move || {
        params
            .read()
            .get("step")
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(1)
    };
    view! {
        <SiteHeader/>
        <main id="main" class="tour" data-testid="page-tour">
            <h1>{i18n.text("tour.title")}</h1>
            <p class="muted">{i18n.text("tour.step")}" "{step}</p>
            <p>{i18n.text("tour.keys")}</p>
        </main>
    }
}
