//! Kiosk mode (`/kiosk`) for a booth: full screen, big touch targets, one demo at a time, no
//! way to wander off the page. After the configured idle time the visitor's text, photo and
//! results are cleared (the demos are rebuilt from scratch, which also stops the camera and frees
//! the photo) and the attract loop returns. Staff leave with a long press and the PIN. The
//! service worker keeps the whole kiosk, models included, working offline.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::catalogue::use_catalogue;
use crate::components::attract_loop::AttractLoop;
use crate::components::model_demo::ModelDemo;
use crate::components::staff_exit::StaffExit;
use crate::engine::model;
use crate::i18n::use_i18n;
use crate::idle::watch_idle;
use crate::kiosk_config::{self, KioskConfig};
use crate::{fullscreen, offline};

#[derive(Clone, Debug, PartialEq)]
enum Offline {
    Preparing,
    Ready,
    Unavailable(String),
}

#[component]
pub fn Kiosk() -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let catalogue = use_catalogue();
    let home_locale = i18n.locale.get_untracked();

    let config = RwSignal::new(KioskConfig::default());
    let config_error = RwSignal::new(None::<String>);
    let attract = RwSignal::new(true);
    // The model shown: a catalogue id, the first model until a visitor picks another tab.
    let tab = RwSignal::new(None::<String>);
    // Bumped on every idle reset: the demos below are rebuilt, so nothing of the last visit stays.
    let visit = RwSignal::new(0u64);
    let offline_state = RwSignal::new(Offline::Preparing);

    spawn_local(async move {
        match kiosk_config::load().await {
            Ok(loaded) => config.set(loaded),
            Err(e) => {
                leptos::logging::warn!("{e}");
                config_error.set(Some(e.to_string()));
            }
        }
    });
    // Every model loads at once, as soon as the catalogue is in: the booth shows any of them
    // at any moment, also offline. Precaching waits for them, so they are downloaded once.
    Effect::new(move |done: Option<bool>| {
        let entries = catalogue.entries();
        if done == Some(true) || entries.is_empty() {
            return done.unwrap_or(false);
        }
        let ids: Vec<String> = entries.into_iter().map(|e| e.manifest.id).collect();
        for id in &ids {
            model(id).preload();
        }
        spawn_local(async move {
            for id in &ids {
                let _ = model(id).pipeline().await;
            }
            offline_state.set(match offline::make_available_offline().await {
                Ok(()) => Offline::Ready,
                Err(e) => Offline::Unavailable(e),
            });
        });
        true
    });

    let reset = move || {
        visit.update(|v| *v += 1);
        crate::feedback::forget_for_next_visitor();
        tab.set(None);
        i18n.set_for_page(home_locale);
        attract.set(true);
    };
    watch_idle(
        Signal::derive(move || config.with(|c| c.idle)),
        Signal::derive(move || !attract.get()),
        reset,
    );
    let start = move || {
        fullscreen::enter();
        attract.set(false);
    };
    // A full page load, not a client-side route change: staff get the website in a clean state.
    let exit = move || {
        fullscreen::leave();
        if let Some(window) = web_sys::window() {
            let _ = window.location().set_href("/");
        }
    };

    // The shown model: the picked tab, else the first in the catalogue.
    let shown = Memo::new(move |_| {
        let entries = catalogue.demos();
        let picked = tab.get();
        entries
            .iter()
            .find(|e| Some(&e.manifest.id) == picked.as_ref())
            .or(entries.first())
            .cloned()
    });
    let tabs = move || {
        catalogue.demos().into_iter().map(|entry| {
            let id = entry.manifest.id.clone();
            let pressed = {
                let id = id.clone();
                move || (shown.with(|s| s.as_ref().map(|e| e.manifest.id == id)) == Some(true)).to_string()
            };
            let title = entry.manifest.title().clone();
            view! {
                <button type="button" class="kiosk-tab" data-testid=format!("kiosk-tab-{id}") aria-pressed=pressed
                    on:click=move |_| tab.set(Some(id.clone()))>
                    {move || i18n.pick(&title)}
                </button>
            }
        }).collect_view()
    };

    view! {
        <main id="main" class="kiosk" data-testid="page-kiosk" data-visit=move || visit.get().to_string()>
            <header class="kiosk-bar">
                <StaffExit pin=Signal::derive(move || config.with(|c| c.pin.clone()))
                    hold=Signal::derive(move || config.with(|c| c.hold)) on_exit=Callback::new(move |()| exit())/>
                <h1 class="kiosk-title">{t("kiosk.title")}</h1>
                <span class="kiosk-offline small" data-testid="kiosk-offline"
                    data-state=move || match offline_state.get() {
                        Offline::Preparing => "preparing",
                        Offline::Ready => "ready",
                        Offline::Unavailable(_) => "unavailable",
                    }
                    title=move || match offline_state.get() { Offline::Unavailable(e) => e, _ => String::new() }>
                    {move || match offline_state.get() {
                        Offline::Preparing => t("kiosk.offline_preparing")(),
                        Offline::Ready => t("kiosk.offline_ready")(),
                        Offline::Unavailable(_) => t("kiosk.offline_unavailable")(),
                    }}
                </span>
                <button type="button" class="btn btn-ghost kiosk-lang" data-testid="lang-switch"
                    aria-label=t("nav.language_label")
                    on:click=move |_| i18n.set_for_page(i18n.locale.get_untracked().other())>
                    {t("nav.language")}
                </button>
            </header>
            {move || config_error.get().map(|e| view! { <p class="notice kiosk-notice" role="status">{e}</p> })}
            <div class="kiosk-tabs" role="group" aria-label=t("kiosk.choose")>
                {tabs}
            </div>
            <div class="kiosk-stage">
                {move || {
                    visit.track();
                    shown.get().map(|entry| view! { <ModelDemo entry=entry share=false/> })
                }}
            </div>
            <Show when=move || attract.get()>
                <AttractLoop slide=Signal::derive(move || config.with(|c| c.slide)) on_start=start/>
            </Show>
        </main>
    }
}
