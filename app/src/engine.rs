//! The app's bridge to the inference worker. The app uses the same JS SDK (`/sdk/vitrine.js`)
//! that other pages import, so there is exactly one worker protocol to keep correct.

use js_sys::{Function, Promise, Reflect};
use serde::Deserialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

// A dynamic import, so the SDK (and the worker it starts) load after first paint and are
// served from their stable URL rather than bundled into the UI's wasm.
#[wasm_bindgen(inline_js = "export function loadSdk() { return import('/sdk/vitrine.js'); }")]
extern "C" {
    #[wasm_bindgen(js_name = loadSdk, catch)]
    fn load_sdk() -> Result<Promise, JsValue>;
}

/// What the worker reports about itself (`model_wasm::info::EngineInfo`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct EngineInfo {
    pub version: String,
    pub cpu_backend: String,
    pub simd: bool,
}

/// Starts the worker (once per page) and asks it to describe itself.
pub async fn engine_info() -> Result<EngineInfo, String> {
    let value = call_sdk("engineInfo").await?;
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| format!("unexpected answer from the engine: {e}"))
}

async fn call_sdk(function: &str) -> Result<JsValue, String> {
    let module = JsFuture::from(load_sdk().map_err(js_error)?)
        .await
        .map_err(js_error)?;
    let f: Function = Reflect::get(&module, &JsValue::from_str(function))
        .map_err(js_error)?
        .dyn_into()
        .map_err(|_| format!("the SDK has no function {function}"))?;
    let promise: Promise = f
        .call0(&module)
        .map_err(js_error)?
        .dyn_into()
        .map_err(js_error)?;
    JsFuture::from(promise).await.map_err(js_error)
}

fn js_error(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}
