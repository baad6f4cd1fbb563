//! Shows whether the on-device engine (the inference worker) is up, with a retry on failure.
//! `data-state` lets tests and kiosk monitoring read the state without parsing text.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::engine::{backend_label, engine_info, EngineInfo};
use crate::i18n::use_i18n;

#[derive(Clone, Debug, PartialEq)]
enum EngineState {
    Starting,
    Ready(EngineInfo),
    Failed(String),
}

#[component]
pub fn EngineStatus() -> impl IntoView {
    let i18n = use_i18n();
    let state = RwSignal::new(EngineState::Starting);
    let start = move || {
        state.set(EngineState::Starting);
        spawn_local(async move {
            state.set(match engine_info().await {
                Ok(info) => EngineState::Ready(info),
                Err(e) => EngineState::Failed(e),
            });
        });
    };
    start();

    let state_name = move || match state.get() {
        EngineState::Starting => "starting",
        EngineState::Ready(_) => "ready",
        EngineState::Failed(_) => "failed",
    };
    view! {
        <div class="engine-status" data-testid="engine-status" data-state=state_name role="status" aria-live="polite">
            {move || match state.get() {
                EngineState::Starting => view! {
                    <span class="dot dot-busy" aria-hidden="true"></span>
                    <span>{i18n.text("engine.starting")}</span>
                }.into_any(),
                EngineState::Ready(info) => view! {
                    <span class="dot dot-ok" aria-hidden="true"></span>
                    <span>{i18n.text("engine.ready")}</span>
                    <span class="badge" title=i18n.text("engine.backend")>{backend_label(Some(&info.cpu_backend), info.threads as u32, i18n.text("load.threads")())}</span>
                    <span class="muted">{i18n.text("engine.version")}" "{info.version.clone()}</span>
                }.into_any(),
                EngineState::Failed(reason) => view! {
                    <span class="dot dot-err" aria-hidden="true"></span>
                    <span>{i18n.text("engine.failed")}" "<span class="muted">{reason}</span></span>
                    <button class="btn btn-small" on:click=move |_| start()>{i18n.text("engine.retry")}</button>
                }.into_any(),
            }}
        </div>
    }
}
