//! Kiosk mode (`/kiosk`): full screen, no outbound navigation, large touch targets.

use leptos::prelude::*;

use crate::components::engine_status::EngineStatus;
use crate::i18n::use_i18n;

#[component]
pub fn Kiosk() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <main id="main" class="kiosk" data-testid="page-kiosk">
            <h1>{i18n.text("kiosk.title")}</h1>
            <p class="lead">{i18n.text("kiosk.tagline")}</p>
            <EngineStatus/>
        </main>
    }
}
