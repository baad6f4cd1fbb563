//! The website mode (`/`): hero with the live sentiment demo, value points, privacy story, the
//! image demo, model cards with live latency, call to action; credits in the footer.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;

use crate::components::engine_status::EngineStatus;
use crate::components::image_demo::ImageDemo;
use crate::components::sentiment_demo::SentimentDemo;
use crate::components::site_chrome::{SiteFooter, SiteHeader};
use crate::dom::fetch_json;
use crate::engine::{megabytes, millis, use_models, Model};
use crate::i18n::use_i18n;

/// What the model cards read of `/models/manifest.json`, the catalogue
/// (`wire::catalog::Catalogue`): `{ models: [{ id, file, bytes, card_path, … }] }`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
struct Manifest {
    models: Vec<ManifestEntry>,
}

impl Manifest {
    fn entry(&self, id: &str) -> Option<ManifestEntry> {
        self.models.iter().find(|m| m.id == id).cloned()
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
struct ManifestEntry {
    id: String,
    file: String,
    bytes: f64,
    card_path: String,
}

#[component]
pub fn Landing() -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let models = use_models();
    let manifest = RwSignal::new(None::<Manifest>);
    spawn_local(async move {
        if let Ok(value) = fetch_json("/models/manifest.json").await {
            if let Ok(m) = serde_wasm_bindgen::from_value::<Manifest>(value) {
                manifest.set(Some(m));
            }
        }
    });
    let sentiment_size =
        Signal::derive(move || manifest.with(|m| m.as_ref().and_then(|m| m.entry("sentiment"))));
    let image_size =
        Signal::derive(move || manifest.with(|m| m.as_ref().and_then(|m| m.entry("image"))));

    view! {
        <SiteHeader/>
        <main id="main" class="landing" data-testid="page-landing">
            <section class="hero" aria-labelledby="hero-title">
                <div class="hero-head">
                    <p class="eyebrow">{t("hero.eyebrow")}</p>
                    <h1 id="hero-title">{t("hero.title")}</h1>
                </div>
                <div class="hero-demo">
                    <SentimentDemo/>
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
                <p class="lead">{t("demos.image_body")}</p>
                <ImageDemo/>
                <crate::feedback::VisitRating/>
                <p class="muted small demos-more">
                    {t("demos.sentiment_body")}" "<a href="#sentiment-input">{t("demos.sentiment_link")}</a>
                </p>
            </section>

            <section id="models" class="models" aria-labelledby="models-title">
                <h2 id="models-title">{t("models.title")}</h2>
                <div class="grid-2">
                    <ModelCard model=models.sentiment name="models.sentiment_name" desc="models.sentiment_desc"
                        quant="models.sentiment_quant" accuracy="models.sentiment_accuracy"
                        size_note="models.sentiment_size_note"
                        entry=sentiment_size/>
                    <ModelCard model=models.image name="models.image_name" desc="models.image_desc"
                        quant="models.image_quant" accuracy="models.image_accuracy"
                        size_note="models.image_size_note"
                        entry=image_size/>
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

#[component]
fn ModelCard(
    model: Model,
    name: &'static str,
    desc: &'static str,
    quant: &'static str,
    accuracy: &'static str,
    size_note: &'static str,
    #[prop(into)] entry: Signal<Option<ManifestEntry>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let task = model.task.name();
    view! {
        <article class="card model-card" data-testid=format!("model-card-{task}")>
            <h3>{t(name)}</h3>
            <p>{t(desc)}</p>
            <dl class="facts">
                <div>
                    <dt>{t("models.size")}</dt>
                    <dd data-testid=format!("model-size-{task}")>
                        {move || entry.get().map(|e| megabytes(e.bytes)).unwrap_or_else(|| "…".to_owned())}
                        <span class="muted small">" · "{t(size_note)}</span>
                    </dd>
                </div>
                <div>
                    <dt>{t("models.quantization")}</dt>
                    <dd>{t(quant)}</dd>
                </div>
                <div>
                    <dt>{t("models.accuracy")}</dt>
                    <dd data-testid=format!("model-accuracy-{task}")>{t(accuracy)}</dd>
                </div>
                <div>
                    <dt>{t("models.latency")}</dt>
                    <dd data-testid=format!("model-latency-{task}")>
                        {move || match model.last_ms.get() {
                            Some(ms) => format!("{} {} · {}", t("models.latency_live")(), millis(ms),
                                model.runs_on(t("load.threads")())),
                            None => t("models.latency_pending")().to_owned(),
                        }}
                    </dd>
                </div>
                <div>
                    <dt>{t("models.file")}</dt>
                    <dd class="file-cell">{move || entry.get().map(|e| e.file).unwrap_or_default()}</dd>
                </div>
            </dl>
            <a href=move || entry.get().map(|e| format!("/models/{}", e.card_path)) class="card-link">
                {t("models.card_link")}
            </a>
        </article>
    }
}
