//! What is sent, and the bridge to the outbox module (`/sdk/feedback-queue.js`). The module
//! is code only; it sends nothing but what a visitor agreed to put in the outbox.

use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = r#"
export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
export function deviceClass() {
  const w = Math.min(window.screen?.width ?? innerWidth, innerWidth);
  const touch = navigator.maxTouchPoints > 0;
  return w < 768 ? 'mobile' : (touch && w < 1280 ? 'tablet' : 'desktop');
}
export async function enqueue(submission) {
  const q = await import('/sdk/feedback-queue.js');
  return q.enqueue(submission);
}
export async function clearOutbox() {
  const q = await import('/sdk/feedback-queue.js');
  return q.clear();
}
// Loads the outbox code (no data) while the page is surely online, so a visitor who goes
// offline can still queue; then sends what earlier, consented visits left waiting.
export function prepare() {
  import('/sdk/feedback-queue.js')
    .then((q) => q.pending().then((n) => { if (n > 0) q.flush(); }))
    .catch(() => {});
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = newId)]
    fn new_id() -> String;
    #[wasm_bindgen(js_name = deviceClass)]
    fn device_class() -> String;
    #[wasm_bindgen(js_name = enqueue, catch)]
    fn enqueue_js(submission: JsValue) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_name = clearOutbox, catch)]
    fn clear_js() -> Result<js_sys::Promise, JsValue>;
    /// Preloads the outbox module and resumes sending anything consented but not yet sent.
    pub fn prepare();
}

/// The wire format of `POST /api/feedback` (the server's `record.rs` is the authority).
#[derive(Serialize, Debug, Clone)]
pub struct Submission {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultPart>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visit: Option<VisitPart>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<Telemetry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
}

#[derive(Serialize, Debug, Clone)]
pub struct ResultPart {
    pub model: &'static str,
    pub verdict: &'static str,
    pub predicted: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub corrected: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_text: Option<String>,
}

#[derive(Serialize, Debug, Clone)]
pub struct VisitPart {
    pub speed: u8,
    pub stability: u8,
    pub usability: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

#[derive(Serialize, Debug, Clone)]
pub struct Telemetry {
    pub latency_ms: f64,
    pub backend: String,
    pub device: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct Contact {
    pub email: String,
    pub marketing_consent: bool,
}

impl Submission {
    pub fn new() -> Self {
        Self {
            id: new_id(),
            result: None,
            visit: None,
            telemetry: None,
            contact: None,
        }
    }
}

/// Telemetry for an answer, if the backend is one the server knows.
pub fn telemetry(latency_ms: f64, backend: &str) -> Option<Telemetry> {
    matches!(backend, "webgpu" | "wasm-simd").then(|| Telemetry {
        latency_ms: latency_ms.clamp(0.0, 600_000.0),
        backend: backend.to_owned(),
        device: device_class(),
    })
}

/// Puts `s` in the outbox (IndexedDB), from where it is sent and retried until acknowledged.
/// Queues `s` with the e-mail address the visitor gave under the separate marketing consent
/// (the only way an address is ever sent), then reports how queueing went to `done`.
pub fn submit(
    mut s: Submission,
    email: Option<String>,
    done: impl FnOnce(Result<(), String>) + 'static,
) {
    s.contact = email.map(|email| Contact {
        email,
        marketing_consent: true,
    });
    leptos::task::spawn_local(async move { done(enqueue(&s).await) });
}

pub async fn enqueue(s: &Submission) -> Result<(), String> {
    let value = serde_wasm_bindgen::to_value(s).map_err(|e| e.to_string())?;
    let promise = enqueue_js(value).map_err(js_text)?;
    JsFuture::from(promise).await.map_err(js_text)?;
    Ok(())
}

/// Consent withdrawn: drop whatever was not sent yet.
pub async fn clear() {
    if let Ok(promise) = clear_js() {
        let _ = JsFuture::from(promise).await;
    }
}

fn js_text(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            js_sys::Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| "unknown error".to_owned())
}
