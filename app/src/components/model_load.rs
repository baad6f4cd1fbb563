//! A model's loading state: byte progress per file, then "preparing", then ready with the backend
//! badge (and "loaded from cache" on a return visit); a failure shows the reason and a retry.
//! `data-state` (idle|download|prepare|ready|failed) lets tests read it without parsing text.

use leptos::prelude::*;

use crate::engine::{megabytes, FileProgress, LoadState, Model};
use crate::i18n::use_i18n;

#[component]
pub fn ModelLoad(model: Model) -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let state = model.state;
    let stage = move || match state.get() {
        LoadState::Idle => t("load.idle")(),
        LoadState::Downloading(files) if files.is_empty() => t("load.connecting")(),
        LoadState::Downloading(_) => t("load.downloading")(),
        LoadState::Preparing(_) => t("load.preparing")(),
        LoadState::Ready { .. } => t("load.ready")(),
        LoadState::Failed(_) => t("load.failed")(),
    };
    let dot = move || match state.get() {
        LoadState::Idle => "dot dot-idle",
        LoadState::Ready { .. } => "dot dot-ok",
        LoadState::Failed(_) => "dot dot-err",
        _ => "dot dot-busy",
    };
    view! {
        <div class="model-load" data-testid=format!("load-progress-{}", model.id)
            data-state=move || state.get().name()>
            <div class="load-line">
                <span class=dot aria-hidden="true"></span>
                <span class="load-stage" role="status" aria-live="polite">{stage}</span>
                {move || match state.get() {
                    LoadState::Ready { cached } => view! {
                        <span class="badge" data-testid=format!("backend-{}", model.id)
                            title=t("load.backend")>
                            {move || model.runs_on(t("load.threads")())}
                        </span>
                        {cached.then(|| view! {
                            <span class="muted small" data-testid="load-cached">{t("load.cached")}</span>
                        })}
                    }.into_any(),
                    LoadState::Failed(reason) => view! {
                        <span class="load-error" data-testid=format!("load-error-{}", model.id)>{reason}</span>
                        <button type="button" class="btn btn-small" on:click=move |_| model.preload()>
                            {t("load.retry")}
                        </button>
                    }.into_any(),
                    _ => ().into_any(),
                }}
            </div>
            {move || match state.get() {
                LoadState::Downloading(files) => files_view(files, false).into_any(),
                LoadState::Preparing(files) => files_view(files, true).into_any(),
                _ => ().into_any(),
            }}
        </div>
    }
}

fn files_view(files: Vec<FileProgress>, preparing: bool) -> impl IntoView {
    let i18n = use_i18n();
    let bars = files
        .into_iter()
        .map(|f| {
            let pct = if f.total > 0.0 {
                (f.loaded / f.total * 100.0).clamp(0.0, 100.0)
            } else {
                0.0
            };
            view! {
                <div class="file-progress">
                    <div class="file-line small">
                        <span class="file-name">{f.file.clone()}</span>
                        <span class="file-bytes">
                            {format!("{} / {}", megabytes(f.loaded), megabytes(f.total))}
                        </span>
                    </div>
                    <div class="bar" role="progressbar" aria-label=format!("{} {}", i18n.text("load.downloading")(), f.file)
                        aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{pct:.0}")>
                        <span style=format!("width:{pct:.1}%")></span>
                    </div>
                </div>
            }
        })
        .collect_view();
    view! {
        {bars}
        {preparing.then(|| view! { <div class="bar bar-indeterminate" aria-hidden="true"><span></span></div> })}
    }
}
