//! The website mode (`/`): hero, value points, demos, privacy story, models, call to action.

use leptos::prelude::*;

use crate::components::engine_status::EngineStatus;
use crate::components::site_chrome::{SiteFooter, SiteHeader};
use crate::i18n::use_i18n;

#[component]
pub fn Landing() -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    view! {
        <SiteHeader/>
        <main id="main" class="landing" data-testid="page-landing">
            <section class="hero">
                <p class="eyebrow">{t("hero.eyebrow")}</p>
                <h1>{t("hero.title")}</h1>
                <p class="lead">{t("hero.subtitle")}</p>
                <div class="hero-actions">
                    <a class="btn btn-primary" href="#demos">{t("hero.cta_primary")}</a>
                    <a class="btn btn-ghost" href="/tour">{t("hero.cta_secondary")}</a>
                </div>
                <EngineStatus/>
            </section>

            <section class="values" aria-labelledby="values-title">
                <h2 id="values-title">{t("values.title")}</h2>
                <div class="grid-4">
                    <article class="card"><h3>{t("values.fast_title")}</h3><p>{t("values.fast_body")}</p></article>
                    <article class="card"><h3>{t("values.private_title")}</h3><p>{t("values.private_body")}</p></article>
                    <article class="card"><h3>{t("values.small_title")}</h3><p>{t("values.small_body")}</p></article>
                    <article class="card"><h3>{t("values.open_title")}</h3><p>{t("values.open_body")}</p></article>
                </div>
            </section>

            <section id="demos" class="demos" aria-labelledby="demos-title">
                <h2 id="demos-title">{t("demos.title")}</h2>
                <div class="grid-2">
                    <article class="card demo-card" data-testid="demo-sentiment">
                        <h3>{t("demos.sentiment_title")}</h3>
                        <p>{t("demos.sentiment_body")}</p>
                    </article>
                    <article class="card demo-card" data-testid="demo-image">
                        <h3>{t("demos.image_title")}</h3>
                        <p>{t("demos.image_body")}</p>
                    </article>
                </div>
            </section>

            <section id="privacy" class="privacy" aria-labelledby="privacy-title">
                <h2 id="privacy-title">{t("privacy.title")}</h2>
                <p class="lead">{t("privacy.body")}</p>
            </section>

            <section id="models" class="models" aria-labelledby="models-title">
                <h2 id="models-title">{t("models.title")}</h2>
                <div class="grid-2">
                    <article class="card"><h3>{t("models.sentiment_name")}</h3><p>{t("models.sentiment_desc")}</p></article>
                    <article class="card"><h3>{t("models.image_name")}</h3><p>{t("models.image_desc")}</p></article>
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
