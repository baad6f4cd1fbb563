//! Every URL the app answers. Keep in sync with `server::site::CLIENT_ROUTES`.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::catalogue::provide_catalogue;
use crate::engine::provide_models;
use crate::i18n::{provide_i18n, use_i18n};
use crate::pages::{
    embed::Embed, insights::Insights, kiosk::Kiosk, landing::Landing, not_found::NotFound,
    tour::Tour,
};

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_i18n();
    provide_models();
    provide_catalogue();
    let i18n = use_i18n();
    view! {
        <Title text=i18n.text("meta.title")/>
        <Router>
            <Routes fallback=NotFound>
                <Route path=path!("/") view=Landing/>
                <Route path=path!("/kiosk") view=Kiosk/>
                <Route path=path!("/tour") view=Tour/>
                <Route path=path!("/tour/:step") view=Tour/>
                <Route path=path!("/insights") view=Insights/>
                <Route path=path!("/embed/:model") view=Embed/>
            </Routes>
        </Router>
    }
}
