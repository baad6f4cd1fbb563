//! Insights (`/insights`): what opted-in visitors told us. Behind the admin token, which is
//! kept in sessionStorage only (gone when the tab closes) and sent only to this site's API.
//! Visitor text is rendered as text nodes, so a `<script>` in a comment shows as characters.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::components::site_chrome::SiteHeader;
use crate::i18n::use_i18n;

const TOKEN_KEY: &str = "vitrine.admin.token";

#[wasm_bindgen(inline_js = r#"
export async function adminFetch(method, path, token) {
  const res = await fetch(path, { method, headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
  if (res.status === 401) return { status: 401 };
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  return { status: res.status, body: res.status === 204 ? null : await res.json() };
}
export async function adminDownload(format, token) {
  const res = await fetch(`/api/feedback/export?format=${format}`, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url; a.download = `feedback.${format}`;
  document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = adminFetch, catch)]
    fn admin_fetch(method: &str, path: &str, token: &str) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_name = adminDownload, catch)]
    fn admin_download(format: &str, token: &str) -> Result<js_sys::Promise, JsValue>;
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
struct Insights {
    total: i64,
    ratings: Ratings,
    days: Vec<Day>,
    accuracy: Vec<Accuracy>,
    confusion: Vec<Confusion>,
    latency: Vec<Latency>,
    comments: Vec<Comment>,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
struct Ratings {
    visits: i64,
    speed: Option<f64>,
    stability: Option<f64>,
    usability: Option<f64>,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
struct Day {
    day: String,
    results: i64,
    visits: i64,
    speed: Option<f64>,
    stability: Option<f64>,
    usability: Option<f64>,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
struct Accuracy {
    model: String,
    up: i64,
    down: i64,
    accuracy: f64,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
struct Confusion {
    model: String,
    predicted: String,
    corrected: String,
    count: i64,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
struct Latency {
    backend: String,
    count: i64,
    mean_ms: f64,
    max_ms: f64,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
struct Comment {
    id: String,
    received_ms: f64,
    comment: String,
}

#[derive(Clone, Debug, PartialEq)]
enum View {
    SignedOut,
    Unauthorized,
    Loading,
    Loaded(Box<Insights>),
    Failed(String),
}

fn session() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

fn js_text(e: JsValue) -> String {
    js_sys::Reflect::get(&e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// `Ok(None)` on 401; the JSON body otherwise.
async fn call(method: &str, path: &str, token: &str) -> Result<Option<JsValue>, String> {
    let res = JsFuture::from(admin_fetch(method, path, token).map_err(js_text)?)
        .await
        .map_err(js_text)?;
    let status = js_sys::Reflect::get(&res, &"status".into())
        .ok()
        .and_then(|s| s.as_f64())
        .unwrap_or(0.0);
    if status == 401.0 {
        return Ok(None);
    }
    Ok(Some(
        js_sys::Reflect::get(&res, &"body".into()).map_err(js_text)?,
    ))
}

#[component]
pub fn Insights() -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let token = RwSignal::new(
        session()
            .and_then(|s| s.get_item(TOKEN_KEY).ok().flatten())
            .unwrap_or_default(),
    );
    let draft = RwSignal::new(String::new());
    let state = RwSignal::new(View::SignedOut);

    let load = move || {
        let tok = token.get_untracked();
        if tok.is_empty() {
            state.set(View::SignedOut);
            return;
        }
        state.set(View::Loading);
        spawn_local(async move {
            state.set(match call("GET", "/api/insights", &tok).await {
                Ok(None) => {
                    if let Some(s) = session() {
                        let _ = s.remove_item(TOKEN_KEY);
                    }
                    token.set(String::new());
                    View::Unauthorized
                }
                Ok(Some(body)) => match serde_wasm_bindgen::from_value::<Insights>(body) {
                    Ok(i) => View::Loaded(Box::new(i)),
                    Err(e) => View::Failed(e.to_string()),
                },
                Err(e) => View::Failed(e),
            });
        });
    };
    load();

    let sign_in = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = draft.get_untracked().trim().to_owned();
        if value.is_empty() {
            return;
        }
        if let Some(s) = session() {
            let _ = s.set_item(TOKEN_KEY, &value);
        }
        token.set(value);
        draft.set(String::new());
        load();
    };
    let sign_out = move |_| {
        if let Some(s) = session() {
            let _ = s.remove_item(TOKEN_KEY);
        }
        token.set(String::new());
        state.set(View::SignedOut);
    };
    let delete = Callback::new(move |id: String| {
        let tok = token.get_untracked();
        spawn_local(async move {
            match call("DELETE", &format!("/api/feedback/{id}"), &tok).await {
                Ok(_) => load(),
                Err(e) => state.set(View::Failed(e)),
            }
        });
    });
    let download = move |format: &'static str| {
        let tok = token.get_untracked();
        spawn_local(async move {
            if let Ok(p) = admin_download(format, &tok) {
                if let Err(e) = JsFuture::from(p).await {
                    state.set(View::Failed(js_text(e)));
                }
            }
        });
    };

    view! {
        <SiteHeader/>
        <main id="main" class="insights" data-testid="page-insights">
            <h1>{t("insights.title")}</h1>
            <p class="lead">{t("insights.body")}</p>
            {move || match state.get() {
                View::SignedOut | View::Unauthorized => view! {
                    <form class="card token-form" data-testid="token-form" on:submit=sign_in>
                        {(state.get_untracked() == View::Unauthorized).then(|| view! {
                            <p class="error-text" role="alert" data-testid="insights-unauthorized">
                                {t("insights.admin.unauthorized")}
                            </p>
                        })}
                        <label class="field-label" for="admin-token">{t("insights.admin.token_label")}</label>
                        <input id="admin-token" class="text-input" type="password" autocomplete="off"
                            data-testid="admin-token" aria-describedby="admin-token-hint"
                            prop:value=move || draft.get() on:input=move |e| draft.set(event_target_value(&e))/>
                        <p id="admin-token-hint" class="muted small">{t("insights.admin.token_hint")}</p>
                        <button type="submit" class="btn" data-testid="admin-sign-in">{t("insights.admin.sign_in")}</button>
                    </form>
                }.into_any(),
                View::Loading => view! { <p role="status">{t("insights.admin.loading")}</p> }.into_any(),
                View::Failed(e) => view! {
                    <p class="error-text" role="alert">{t("insights.admin.error")}" "{e}</p>
                }.into_any(),
                View::Loaded(i) => view! {
                    <div class="insights-actions">
                        <button type="button" class="btn btn-small" data-testid="export-csv"
                            on:click=move |_| download("csv")>{t("insights.admin.export_csv")}</button>
                        <button type="button" class="btn btn-small" data-testid="export-json"
                            on:click=move |_| download("json")>{t("insights.admin.export_json")}</button>
                        <button type="button" class="btn btn-small btn-ghost" on:click=sign_out>
                            {t("insights.admin.sign_out")}</button>
                    </div>
                    {dashboard(*i, delete)}
                }.into_any(),
            }}
        </main>
    }
}

/// A horizontal bar: `value` of `max`, drawn with CSS (no chart library).
fn bar(value: f64, max: f64) -> impl IntoView {
    let pct = if max > 0.0 {
        (value / max * 100.0).clamp(0.0, 100.0)
    } else {
        0.0
    };
    view! { <span class="bar" aria-hidden="true"><span style=format!("width:{pct:.1}%")></span></span> }
}

fn avg(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}")).unwrap_or_else(|| "–".into())
}

fn dashboard(i: Insights, delete: Callback<String>) -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let busiest = i
        .days
        .iter()
        .map(|d| d.results + d.visits)
        .max()
        .unwrap_or(0) as f64;
    let ratings = [
        ("feedback.speed", i.ratings.speed),
        ("feedback.stability", i.ratings.stability),
        ("feedback.usability", i.ratings.usability),
    ];
    let slowest = i.latency.iter().map(|l| l.mean_ms).fold(0.0, f64::max);
    view! {
        <section class="card" data-testid="insights-summary">
            <p><strong data-testid="insights-total">{i.total}</strong>" "{t("insights.admin.total")}
               " · "<strong>{i.ratings.visits}</strong>" "{t("insights.admin.visits")}</p>
            <h2>{t("insights.admin.ratings")}</h2>
            <dl class="rating-bars" data-testid="insights-ratings">
                {ratings.into_iter().map(|(key, v)| view! {
                    <dt>{t(key)}</dt>
                    <dd>{bar(v.unwrap_or(0.0), 5.0)}" "{avg(v)}</dd>
                }).collect_view()}
            </dl>
        </section>
        <section class="card">
            <h2>{t("insights.admin.per_day")}</h2>
            <table data-testid="insights-days">
                <thead><tr>
                    <th scope="col">{t("insights.admin.day")}</th>
                    <th scope="col">{t("insights.admin.results")}</th>
                    <th scope="col">{t("insights.admin.visits")}</th>
                    <th scope="col">{t("feedback.speed")}</th>
                    <th scope="col">{t("feedback.stability")}</th>
                    <th scope="col">{t("feedback.usability")}</th>
                    <th scope="col"><span class="sr-only">{t("insights.admin.count")}</span></th>
                </tr></thead>
                <tbody>
                    {i.days.into_iter().map(|d| view! {
                        <tr>
                            <td>{d.day}</td><td>{d.results}</td><td>{d.visits}</td>
                            <td>{avg(d.speed)}</td><td>{avg(d.stability)}</td><td>{avg(d.usability)}</td>
                            <td>{bar((d.results + d.visits) as f64, busiest)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class="card">
            <h2>{t("insights.admin.accuracy")}</h2>
            <table data-testid="insights-accuracy">
                <thead><tr>
                    <th scope="col">{t("insights.admin.model")}</th>
                    <th scope="col">{t("insights.admin.right")}</th>
                    <th scope="col">{t("insights.admin.wrong")}</th>
                    <th scope="col">"%"</th>
                </tr></thead>
                <tbody>
                    {i.accuracy.into_iter().map(|a| view! {
                        <tr><td>{a.model}</td><td>{a.up}</td><td>{a.down}</td>
                            <td>{bar(a.accuracy, 1.0)}" "{format!("{:.0}%", a.accuracy * 100.0)}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h2>{t("insights.admin.confusion")}</h2>
            <table data-testid="insights-confusion">
                <thead><tr>
                    <th scope="col">{t("insights.admin.model")}</th>
                    <th scope="col">{t("insights.admin.predicted")}</th>
                    <th scope="col">{t("insights.admin.corrected")}</th>
                    <th scope="col">{t("insights.admin.count")}</th>
                </tr></thead>
                <tbody>
                    {i.confusion.into_iter().map(|c| view! {
                        <tr><td>{c.model}</td><td>{c.predicted}</td><td>{c.corrected}</td><td>{c.count}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class="card">
            <h2>{t("insights.admin.latency")}</h2>
            <table data-testid="insights-latency">
                <thead><tr>
                    <th scope="col">{t("insights.admin.backend")}</th>
                    <th scope="col">{t("insights.admin.count")}</th>
                    <th scope="col">{t("insights.admin.mean")}</th>
                    <th scope="col">{t("insights.admin.max")}</th>
                </tr></thead>
                <tbody>
                    {i.latency.into_iter().map(|l| view! {
                        <tr><td>{l.backend}</td><td>{l.count}</td>
                            <td>{bar(l.mean_ms, slowest)}" "{format!("{:.1}", l.mean_ms)}</td>
                            <td>{format!("{:.1}", l.max_ms)}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section class="card">
            <h2>{t("insights.admin.comments")}</h2>
            {i.comments.is_empty().then(|| view! { <p class="muted">{t("insights.admin.none")}</p> })}
            <ul class="comments" data-testid="insights-comments">
                {i.comments.into_iter().map(|c| {
                    let id = c.id.clone();
                    let when = js_sys::Date::new(&JsValue::from_f64(c.received_ms))
                        .to_iso_string()
                        .as_string()
                        .unwrap_or_default();
                    view! {
                        <li data-testid="insights-comment" data-id=c.id.clone()>
                            // A text node: the browser shows markup as characters, never runs it.
                            <p class="comment-text">{c.comment}</p>
                            <p class="muted small">
                                <span>{t("insights.admin.received")}" "{when}</span>" "
                                <button type="button" class="btn btn-small btn-ghost" data-testid="delete-feedback"
                                    on:click=move |_| delete.run(id.clone())>{t("insights.admin.delete")}</button>
                            </p>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}
