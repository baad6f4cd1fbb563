//! The app's bridge to the inference worker. The app uses the same JS SDK (`/sdk/vitrine.js`)
//! that other pages import, so there is exactly one worker protocol to keep correct.
//!
//! Each model is a [`Model`]: reactive load state (byte progress per file, preparing, ready,
//! failed), the backend it runs on and the latency of its last answer on this device. The
//! loaded `pipeline()` functions live in a thread-local table, since JS values cannot sit in
//! Leptos' thread-safe signals.

use std::cell::RefCell;

use js_sys::{Function, Object, Promise, Reflect};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
pub use wire::engine::{
    EngineInfo, ImageClass, TextExplanation, TextPrediction, Unreadable, UnreadableReason,
    WordContribution,
};

// A dynamic import, so the SDK (and the worker it starts) load after first paint and are
// served from their stable URL rather than bundled into the UI's wasm.
#[wasm_bindgen(inline_js = "export function loadSdk() { return import('/sdk/vitrine.js'); }")]
extern "C" {
    #[wasm_bindgen(js_name = loadSdk, catch)]
    fn load_sdk() -> Result<Promise, JsValue>;
}

/// Starts the worker (once per page) and asks it to describe itself.
pub async fn engine_info() -> Result<EngineInfo, String> {
    let module = sdk().await?;
    let value = call(&sdk_function(&module, "engineInfo")?, &module, &[]).await?;
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| format!("unexpected answer from the engine: {e}"))
}

/// The catalogue's entries as the worker has them: from the network, or offline from the copy
/// it cached on the last visit (a kiosk reloading with the network gone).
pub async fn catalogue_entries() -> Result<JsValue, String> {
    let module = sdk().await?;
    call(&sdk_function(&module, "models")?, &module, &[]).await
}

/// Download progress of one model file.
#[derive(Clone, Debug, PartialEq)]
pub struct FileProgress {
    pub file: String,
    pub loaded: f64,
    pub total: f64,
    pub cached: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum LoadState {
    /// Not requested yet.
    Idle,
    /// Fetching (from the network or the Cache API); empty until the first byte arrives.
    Downloading(Vec<FileProgress>),
    /// Bytes are in; the worker verifies and builds the model.
    Preparing(Vec<FileProgress>),
    Ready {
        cached: bool,
    },
    Failed(String),
}

impl LoadState {
    pub fn name(&self) -> &'static str {
        match self {
            LoadState::Idle => "idle",
            LoadState::Downloading(_) => "download",
            LoadState::Preparing(_) => "prepare",
            LoadState::Ready { .. } => "ready",
            LoadState::Failed(_) => "failed",
        }
    }
}

/// The SDK's progress event: `{ stage, file, loaded, total, cached }`, and on `ready` the
/// `backend` the worker chose.
#[derive(Deserialize)]
struct Progress {
    stage: String,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    loaded: Option<f64>,
    #[serde(default)]
    total: Option<f64>,
    #[serde(default)]
    cached: Option<bool>,
    #[serde(default)]
    backend: Option<String>,
    #[serde(default)]
    threads: Option<u32>,
}

thread_local! {
    static PIPELINES: RefCell<Vec<(&'static str, Function)>> = const { RefCell::new(Vec::new()) };
    /// Every model the page has asked for, created once under the app's root owner so their
    /// signals outlive the component that first asked (a kiosk tab, a tour step).
    static MODELS: RefCell<Vec<Model>> = const { RefCell::new(Vec::new()) };
    static ROOT: RefCell<Option<Owner>> = const { RefCell::new(None) };
}

/// Remembers the app's root owner, under which every [`Model`]'s signals are created.
pub fn provide_models() {
    ROOT.with(|root| *root.borrow_mut() = Owner::current());
}

/// The engine-side state of catalogue model `id`, shared by every page and demo that shows it.
pub fn model(id: &str) -> Model {
    if let Some(found) = MODELS.with(|m| m.borrow().iter().find(|m| m.id == id).copied()) {
        return found;
    }
    // A page knows a handful of models and keeps them all its life: leaking each id once makes
    // `Model` `Copy`, which Leptos closures need.
    let id: &'static str = Box::leak(id.to_owned().into_boxed_str());
    let create = || Model::new(id);
    let created = ROOT.with(|root| match root.borrow().as_ref() {
        Some(owner) => owner.with(create),
        None => create(),
    });
    MODELS.with(|m| m.borrow_mut().push(created));
    created
}

/// One model as the UI sees it.
#[derive(Clone, Copy)]
pub struct Model {
    /// Its catalogue id.
    pub id: &'static str,
    pub state: RwSignal<LoadState>,
    /// `wasm-simd` or `webgpu`, once known.
    pub backend: RwSignal<Option<String>>,
    /// Threads the engine computes on, once known (the badge says so when it is more than 1).
    pub threads: RwSignal<Option<u32>>,
    /// Milliseconds the last answer took on this device.
    pub last_ms: RwSignal<Option<f64>>,
}

impl Model {
    fn new(id: &'static str) -> Self {
        Self {
            id,
            state: RwSignal::new(LoadState::Idle),
            backend: RwSignal::new(None),
            threads: RwSignal::new(None),
            last_ms: RwSignal::new(None),
        }
    }

    /// Starts loading in the background unless it is loading or loaded already.
    pub fn preload(self) {
        if matches!(
            self.state.get_untracked(),
            LoadState::Idle | LoadState::Failed(_)
        ) {
            spawn_local(async move {
                let _ = self.pipeline().await;
            });
        }
    }

    /// The SDK's run function for this model, loading the model first if needed.
    pub async fn pipeline(self) -> Result<Function, String> {
        let name = self.id;
        if let Some(run) = PIPELINES.with(|p| {
            p.borrow()
                .iter()
                .find(|(t, _)| *t == name)
                .map(|(_, f)| f.clone())
        }) {
            return Ok(run);
        }
        if !matches!(
            self.state.get_untracked(),
            LoadState::Downloading(_) | LoadState::Preparing(_)
        ) {
            self.state.set(LoadState::Downloading(Vec::new()));
        }
        let on_progress = Closure::<dyn FnMut(JsValue)>::new(move |p: JsValue| {
            if let Ok(p) = serde_wasm_bindgen::from_value::<Progress>(p) {
                self.on_progress(p);
            }
        });
        let result = async {
            let module = sdk().await?;
            let options = Object::new();
            Reflect::set(&options, &"onProgress".into(), on_progress.as_ref()).map_err(js_error)?;
            let run = call(
                &sdk_function(&module, "pipeline")?,
                &module,
                &[JsValue::from_str(name), options.into()],
            )
            .await?;
            run.dyn_into::<Function>()
                .map_err(|_| "the SDK returned no function".to_owned())
        }
        .await;
        // The worker sends every progress event before it answers, so nothing calls this later.
        drop(on_progress);
        match result {
            Ok(run) => {
                PIPELINES.with(|p| p.borrow_mut().push((name, run.clone())));
                let cached = match self.state.get_untracked() {
                    LoadState::Downloading(f) | LoadState::Preparing(f) => {
                        !f.is_empty() && f.iter().all(|f| f.cached)
                    }
                    LoadState::Ready { cached } => cached,
                    _ => false,
                };
                self.state.set(LoadState::Ready { cached });
                if self.backend.get_untracked().is_none() {
                    if let Ok(info) = engine_info().await {
                        if self.backend.get_untracked().is_none() {
                            self.backend.set(Some(info.cpu_backend));
                            self.threads.set(Some(info.threads as u32));
                        }
                    }
                }
                Ok(run)
            }
            Err(e) => {
                self.state.set(LoadState::Failed(e.clone()));
                Err(e)
            }
        }
    }

    fn on_progress(self, p: Progress) {
        let mut files = match self.state.get_untracked() {
            LoadState::Downloading(f) | LoadState::Preparing(f) => f,
            _ => Vec::new(),
        };
        match p.stage.as_str() {
            "download" => {
                let file = p.file.unwrap_or_default();
                let entry = FileProgress {
                    file: file.clone(),
                    loaded: p.loaded.unwrap_or(0.0),
                    total: p.total.unwrap_or(0.0),
                    cached: p.cached.unwrap_or(false),
                };
                match files.iter_mut().find(|f| f.file == file) {
                    Some(f) => *f = entry,
                    None => files.push(entry),
                }
                self.state.set(LoadState::Downloading(files));
            }
            "prepare" => self.state.set(LoadState::Preparing(files)),
            // The badge names the chosen backend from the start, not only after the first answer
            // (the engine's CPU backend would otherwise stand in until then).
            "ready" => {
                if let Some(backend) = p.backend {
                    self.backend.set(Some(backend));
                }
                if let Some(threads) = p.threads {
                    self.threads.set(Some(threads));
                }
            }
            _ => {}
        }
    }

    fn record(self, ms: f64, backend: &str, threads: Option<u32>) {
        self.last_ms.set(Some(ms));
        if self.backend.get_untracked().as_deref() != Some(backend) {
            self.backend.set(Some(backend.to_owned()));
        }
        if threads.is_some() && self.threads.get_untracked() != threads {
            self.threads.set(threads);
        }
    }

    /// What the badge says this model runs on: "WebGPU", "WASM SIMD" or "WASM SIMD · 2 threads".
    pub fn runs_on(self, threads_word: &str) -> String {
        backend_label(
            self.backend.get().as_deref(),
            self.threads.get().unwrap_or(1),
            threads_word,
        )
    }
}

/// A backend as visitors read it; the CPU backend with its thread count when there are several.
pub fn backend_label(backend: Option<&str>, threads: u32, threads_word: &str) -> String {
    match backend {
        Some("webgpu") => "WebGPU".to_owned(),
        Some("wasm-simd") | None if threads > 1 => format!("WASM SIMD · {threads} {threads_word}"),
        Some("wasm-simd") | None => "WASM SIMD".to_owned(),
        Some(_) => "CPU".to_owned(),
    }
}

/// A text model's answer (`wire::engine::TextPrediction`) and how it was computed.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct TextResult {
    #[serde(flatten)]
    pub prediction: TextPrediction,
    /// The model that answered: the SDK sends a text to the catalogue model that reads its
    /// script, which may not be the one asked.
    pub model: String,
    pub ms: f64,
    pub backend: String,
    #[serde(default)]
    pub threads: Option<u32>,
}

/// What a text model says: a label, or that it cannot read the text (and who can).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum TextAnswer {
    // First: an unreadable answer has `unreadable: true` and no label, so it never parses as
    // a prediction, but trying it first keeps the rule obvious.
    Unreadable(Unreadable),
    Label(TextResult),
}

/// What explaining a text gives: the words behind the answer, or that it cannot be read.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ExplainAnswer {
    Unreadable(Unreadable),
    Explained(TextExplanation),
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ImageResult {
    pub top: Vec<ImageClass>,
    pub ms: f64,
    pub backend: String,
    #[serde(default)]
    pub threads: Option<u32>,
}

pub async fn classify_text(model: Model, text: &str) -> Result<TextAnswer, String> {
    let run = model.pipeline().await?;
    let value = call(&run, &JsValue::NULL, &[JsValue::from_str(text)]).await?;
    let answer: TextAnswer = decode(value)?;
    if let TextAnswer::Label(result) = &answer {
        // Timed for the model that answered (a Chinese text is answered by the Chinese reader),
        // so each model card shows its own latency.
        let answered_by = if result.model.is_empty() {
            model
        } else {
            self::model(&result.model)
        };
        answered_by.record(result.ms, &result.backend, result.threads);
    }
    Ok(answer)
}

pub async fn explain_text(model: Model, text: &str) -> Result<ExplainAnswer, String> {
    let run = model.pipeline().await?;
    let explain: Function = Reflect::get(&run, &"explain".into())
        .map_err(js_error)?
        .dyn_into()
        .map_err(|_| "the SDK cannot explain".to_owned())?;
    decode(call(&explain, &run, &[JsValue::from_str(text)]).await?)
}

/// Classifies a Blob/File, ImageBitmap or ImageData.
pub async fn classify_image(model: Model, image: &JsValue) -> Result<ImageResult, String> {
    let run = model.pipeline().await?;
    let result: ImageResult =
        decode(call(&run, &JsValue::NULL, std::slice::from_ref(image)).await?)?;
    model.record(result.ms, &result.backend, result.threads);
    Ok(result)
}

fn decode<T: for<'de> Deserialize<'de>>(value: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| format!("unexpected answer from the engine: {e}"))
}

async fn sdk() -> Result<JsValue, String> {
    JsFuture::from(load_sdk().map_err(js_error)?)
        .await
        .map_err(js_error)
}

fn sdk_function(module: &JsValue, name: &str) -> Result<Function, String> {
    Reflect::get(module, &JsValue::from_str(name))
        .map_err(js_error)?
        .dyn_into()
        .map_err(|_| format!("the SDK has no function {name}"))
}

/// Calls `f` with `args` and awaits the promise it returns.
async fn call(f: &Function, this: &JsValue, args: &[JsValue]) -> Result<JsValue, String> {
    let list = js_sys::Array::new();
    for a in args {
        list.push(a);
    }
    let promise: Promise = f
        .apply(this, &list)
        .map_err(js_error)?
        .dyn_into()
        .map_err(js_error)?;
    JsFuture::from(promise).await.map_err(js_error)
}

pub fn js_error(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}

/// "12.3 MB" (binary megabytes, as download dialogs show them).
pub fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1_048_576.0)
}

/// "12 ms", or "0.8 ms" for very fast answers.
pub fn millis(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_sizes_and_times() {
        assert_eq!(megabytes(24_545_536.0), "23.4 MB");
        assert_eq!(megabytes(4_809_192.0), "4.6 MB");
        assert_eq!(millis(8.25), "8.2 ms");
        assert_eq!(millis(123.4), "123 ms");
    }
}
