//! The website mode (`/`): hero with the first text model's live demo, value points, privacy
//! story, a demo for every other catalogue model, a card per model with live latency, call to
//! action; credits in the footer. Every model section comes from the catalogue.

use leptos::prelude::*;
use wire::catalog::{CatalogueEntry, TaskKind};

use crate::catalogue::use_catalogue;
use crate::components::engine_status::EngineStatus;
use crate::components::model_demo::ModelDemo;
use crate::components::site_chrome::{SiteFooter, SiteHeader};
use crate::engine::{megabytes, millis, model};
use crate::i18n::use_i18n;

#[component]
pub fn Landing() -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let catalogue = use_catalogue();
    // The hero shows the first text model; the demos section every other one with a demo.
    let hero = Memo::new(move |_| catalogue.first_of(TaskKind::TextClassification));
    let others = Memo::new(move |_| {
        let hero_id = hero.get().map(|e| e.manifest.id);
        catalogue
            .demos()
            .into_iter()
            .filter(|e| Some(&e.manifest.id) != hero_id.as_ref())
            .collect::<Vec<_>>()
    });

    view! {
        <SiteHeader/>
        <main id="main" class="landing" data-testid="page-landing">
            <section class="hero" aria-labelledby="hero-title">
                <div class="hero-head">
                    <p class="eyebrow">{t("hero.eyebrow")}</p>
                    <h1 id="hero-title">{t("hero.title")}</h1>
                </div>
                <div class="hero-demo">
                    {move || hero.get().map(|entry| view! { <ModelDemo entry=entry/> })}
                </div>
                <div class="hero-more">
                    <p class="lead">{t("hero.subtitle")}</p>
                    <div class="hero-actions">
                        <a class="btn btn-primary" href="#demos">{t("hero.cta_primary")}</a>
                        <a class="btn btn-ghost" href="/tour">{t("hero.cta_secondary")}</a>
                    </div>
                </div>
            </section>

            <section class="values" aria-labelledby="values-title">
                <h2 id="values-title">{t("values.title")}</h2>
                <div class="grid-4">
                    <article class="card value"><svg class="value-icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M13 2 4 14h7l-1 8 9-12h-7z"/></svg><h3>{t("values.fast_title")}</h3><p>{t("values.fast_body")}</p></article>
                    <article class="card value"><svg class="value-icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M6 10V8a6 6 0 0 1 12 0v2M5 10h14v11H5zM12 14v3"/></svg><h3>{t("values.private_title")}</h3><p>{t("values.private_body")}</p></article>
                    <article class="card value"><svg class="value-icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M3 7.5 12 3l9 4.5v9L12 21l-9-4.5zM3 7.5l9 4.5 9-4.5M12 12v9"/></svg><h3>{t("values.small_title")}</h3><p>{t("values.small_body")}</p></article>
                    <article class="card value"><svg class="value-icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 20 20 4M7 17l-2-2m5-1-2-2m5-1-2-2m5-1-2-2"/></svg><h3>{t("values.open_title")}</h3><p>{t("values.open_body")}</p></article>
                </div>
            </section>

            <section id="privacy" class="privacy" aria-labelledby="privacy-title">
                <h2 id="privacy-title">{t("privacy.title")}</h2>
                <p class="lead">{t("privacy.body")}</p>
                <ol class="steps">
                    <li><span class="step-n" aria-hidden="true">"1"</span><div><h3>{t("privacy.step1_title")}</h3><p>{t("privacy.step1_body")}</p></div></li>
                    <li><span class="step-n" aria-hidden="true">"2"</span><div><h3>{t("privacy.step2_title")}</h3><p>{t("privacy.step2_body")}</p></div></li>
                    <li><span class="step-n" aria-hidden="true">"3"</span><div><h3>{t("privacy.step3_title")}</h3><p>{t("privacy.step3_body")}</p></div></li>
                </ol>
            </section>

            <section id="demos" class="demos" aria-labelledby="demos-title">
                <h2 id="demos-title">{t("demos.title")}</h2>
                <p class="lead">{t("demos.body")}</p>
                <For each=move || others.get() key=|e| e.manifest.id.clone() let:entry>
                    <DemoSection entry=entry/>
                </For>
                <crate::feedback::VisitRating/>
            </section>

            <section id="models" class="models" aria-labelledby="models-title">
                <h2 id="models-title">{t("models.title")}</h2>
                <div class="grid-2">
                    <For each=move || catalogue.entries() key=|e| e.manifest.id.clone() let:entry>
                        <ModelCard entry=entry/>
                    </For>
                </div>
                <div class="engine-line">
                    <EngineStatus/>
                </div>
            </section>

            <section class="cta" aria-labelledby="cta-title">
                <h2 id="cta-title">{t("cta.title")}</h2>
                <p>{t("cta.body")}</p>
                <a class="btn btn-primary" href="/tour">{t("cta.button")}</a>
            </section>
        </main>
        <SiteFooter/>
    }
}

/// One more model's demo, under its description.
#[component]
fn DemoSection(entry: CatalogueEntry) -> impl IntoView {
    let i18n = use_i18n();
    let id = entry.manifest.id.clone();
    let description = entry.manifest.description.clone();
    // The demo card carries the model's title; above it, what the model is.
    view! {
        <article class="demo-section" data-testid=format!("demo-section-{id}")>
            <p class="muted">{move || i18n.pick(&description)}</p>
            <ModelDemo entry=entry/>
        </article>
    }
}

/// A catalogue model's facts: what it is, its download, quantization, measured figures and its
/// latency on this device.
#[component]
fn ModelCard(entry: CatalogueEntry) -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let engine = model(&entry.manifest.id);
    let id = entry.manifest.id.clone();
    let CatalogueEntry {
        manifest,
        file,
        bytes,
        card_path,
        ..
    } = entry;
    let figures = manifest.figures.clone();
    view! {
        <article class="card model-card" data-testid=format!("model-card-{id}")>
            <h3>{move || i18n.pick(&manifest.name)}</h3>
            <p>{move || i18n.pick(&manifest.description)}</p>
            <dl class="facts">
                <div>
                    <dt>{t("models.size")}</dt>
                    <dd data-testid=format!("model-size-{id}")>
                        {megabytes(bytes as f64)}
                        <span class="muted small">" · "{t("models.size_note")}</span>
                    </dd>
                </div>
                <div>
                    <dt>{t("models.quantization")}</dt>
                    <dd>{move || i18n.pick(&manifest.quantization)}</dd>
                </div>
                {figures.map(|figures| view! {
                    <div>
                        <dt>{t("models.accuracy")}</dt>
                        <dd data-testid=format!("model-accuracy-{id}")>{move || i18n.pick(&figures)}</dd>
                    </div>
                })}
                <div>
                    <dt>{t("models.latency")}</dt>
                    <dd data-testid=format!("model-latency-{id}")>
                        {move || match engine.last_ms.get() {
                            Some(ms) => format!("{} {} · {}", t("models.latency_live")(), millis(ms),
                                engine.runs_on(t("load.threads")())),
                            None => t("models.latency_pending")().to_owned(),
                        }}
                    </dd>
                </div>
                <div>
                    <dt>{t("models.file")}</dt>
                    <dd class="file-cell">{file}</dd>
                </div>
            </dl>
            <a href=format!("/models/{card_path}") class="card-link">{t("models.card_link")}</a>
        </article>
    }
}
