//! The wasm-bindgen surface the inference worker (`public/sdk/worker.js`) calls.
//! Kept thin: it converts between JS values and the pure Rust API, nothing more.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(start)]
pub fn start() {
    // Panics become readable console errors instead of "unreachable executed".
    console_error_panic_hook::set_once();
}

/// Version and capabilities of this engine build.
#[wasm_bindgen(js_name = engineInfo)]
pub fn engine_info() -> Result<JsValue, JsError> {
    Ok(serde_wasm_bindgen::to_value(&crate::info::engine_info())?)
}
