//! Offline support for the kiosk: registers `/sw.js`, the service worker that precaches the app
//! shell and both models (see `public/sw.js`). Only the kiosk registers it: a booth has to keep
//! working when the venue Wi-Fi drops, while the website needs nothing stored ahead of time.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::engine::js_error;

#[wasm_bindgen(inline_js = r#"
export async function registerOffline() {
  if (!('serviceWorker' in navigator)) throw new Error('this browser has no service workers');
  await navigator.serviceWorker.register('/sw.js', { scope: '/' });
  // `ready` resolves once a worker is active, i.e. after its install step precached everything.
  await navigator.serviceWorker.ready;
  return true;
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = registerOffline, catch)]
    fn register_offline_js() -> Result<Promise, JsValue>;
}

/// Registers the service worker and resolves when the site and models are stored for offline
/// use.
pub async fn make_available_offline() -> Result<(), String> {
    JsFuture::from(register_offline_js().map_err(js_error)?)
        .await
        .map(|_| ())
        .map_err(js_error)
}
