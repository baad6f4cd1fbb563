//! Walkthrough mode (`/tour`, `/tour/:step`) for sales demos: a scripted sequence of steps from
//! the content files (`tour_script.rs`), each filling a live demo and narrating what it shows.
//! Next/previous by buttons, ← →, or PageUp/PageDown (what presenter clickers send); every step
//! has its own address, so a link can open the tour at any point.

use leptos::ev;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};
use leptos_router::NavigateOptions;

use crate::catalogue::use_catalogue;
use crate::components::model_demo::CatalogueDemo;
use crate::components::site_chrome::SiteHeader;
use crate::engine::model;
use crate::i18n::use_i18n;
use crate::tour_script::{self, Stage};

/// Which way a key moves the tour, if at all.
fn key_direction(key: &str, in_text_field: bool) -> Option<i64> {
    match key {
        // Clickers send these; they never edit text, so they work even from inside the demo.
        "PageDown" => Some(1),
        "PageUp" => Some(-1),
        // Arrows move the caret while typing in the demo, so there they belong to the text.
        "ArrowRight" if !in_text_field => Some(1),
        "ArrowLeft" if !in_text_field => Some(-1),
        _ => None,
    }
}

fn in_text_field(event: &web_sys::KeyboardEvent) -> bool {
    use wasm_bindgen::JsCast;
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
}

#[component]
pub fn Tour() -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let params = use_params_map();
    let count = tour_script::step_count(i18n.locale.get_untracked());
    let current = Memo::new(move |_| {
        tour_script::step_from_param(params.read().get("step").as_deref(), count)
    });
    // The tour moves between demos quickly: have every model it could show ready from the start.
    let catalogue = use_catalogue();
    Effect::new(move |_| {
        for entry in catalogue.entries() {
            model(&entry.manifest.id).preload();
        }
    });

    let navigate = use_navigate();
    let go = move |n: usize| {
        if (1..=count).contains(&n) && n != current.get_untracked() {
            navigate(&format!("/tour/{n}"), NavigateOptions::default());
        }
    };
    let go_key = go.clone();
    let keys = window_event_listener(ev::keydown, move |e: ev::KeyboardEvent| {
        if e.alt_key() || e.ctrl_key() || e.meta_key() || e.default_prevented() {
            return; // Alt+← is the browser's Back; leave shortcuts alone
        }
        if let Some(delta) = key_direction(&e.key(), in_text_field(&e)) {
            e.prevent_default();
            let target = current.get_untracked() as i64 + delta;
            if target >= 1 {
                go_key(target as usize);
            }
        }
    });
    on_cleanup(move || keys.remove());

    let step = move || tour_script::step(i18n.locale.get(), current.get());
    let go_prev = go.clone();
    let go_next = go;
    // Named, not inline: a `>=` inside a `view!` attribute reads as the end of the tag.
    let at_first = move || current.get() <= 1;
    let at_last = move || current.get() >= count;

    view! {
        <SiteHeader/>
        <main id="main" class="tour" data-testid="page-tour" data-step=move || current.get().to_string()>
            <div class="tour-text" aria-live="polite">
                <p class="eyebrow" data-testid="tour-position">
                    {t("tour.title")}" · "{t("tour.step")}" "{move || current.get()}" "{t("tour.of")}" "{count}
                </p>
                {move || match step() {
                    Ok(s) => view! {
                        <h1 data-testid="tour-title">{s.title}</h1>
                        <p class="lead" data-testid="tour-narration">{s.narration}</p>
                    }.into_any(),
                    Err(e) => view! {
                        <h1>{t("tour.title")}</h1>
                        <p class="error-text" role="alert">{e.to_string()}</p>
                    }.into_any(),
                }}
            </div>
            <div class="tour-stage" data-testid="tour-stage">
                {move || {
                    // Rebuilt for every step, so each starts from its own script.
                    let stage = step().map(|s| s.stage).unwrap_or(Stage::Narration);
                    match stage {
                        Stage::Narration => view! {
                            <div class="card tour-card">
                                <p class="tour-big">{t("hero.title")}</p>
                                <p class="muted">{t("tour.keys")}</p>
                            </div>
                        }.into_any(),
                        Stage::Demo { model, input } => view! {
                            <CatalogueDemo id=model.to_owned() input=input.to_owned() share=false/>
                        }.into_any(),
                    }
                }}
            </div>
            <nav class="tour-nav" aria-label=t("tour.nav_label")>
                <button type="button" class="btn btn-ghost" data-testid="tour-prev"
                    disabled=at_first
                    on:click=move |_| go_prev(current.get_untracked().saturating_sub(1))>
                    "← "{t("tour.previous")}
                </button>
                <ol class="tour-dots">
                    {(1..=count).map(|n| view! {
                        <li>
                            <a href=format!("/tour/{n}") class="tour-dot"
                                aria-current=move || (current.get() == n).then_some("step")
                                aria-label=move || format!("{} {n}", t("tour.step")())>
                                {n.to_string()}
                            </a>
                        </li>
                    }).collect_view()}
                </ol>
                <button type="button" class="btn btn-primary" data-testid="tour-next"
                    disabled=at_last
                    on:click=move |_| go_next(current.get_untracked() + 1)>
                    {t("tour.next")}" →"
                </button>
            </nav>
            <p class="muted small tour-keys">{t("tour.keys")}</p>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::key_direction;

    #[test]
    fn clicker_keys_always_move_arrows_only_outside_text() {
        assert_eq!(key_direction("PageDown", true), Some(1));
        assert_eq!(key_direction("PageUp", false), Some(-1));
        assert_eq!(key_direction("ArrowRight", false), Some(1));
        assert_eq!(key_direction("ArrowLeft", true), None);
        assert_eq!(key_direction("Enter", false), None);
    }
}
