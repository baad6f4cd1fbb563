//! Full screen for the kiosk. Browsers allow it only from a user gesture, so the kiosk asks on
//! the first touch; a refusal is fine (a booth browser usually runs with `--kiosk` anyway).

use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export function enterFullscreen() {
  const el = document.documentElement;
  if (document.fullscreenElement || !el.requestFullscreen) return;
  el.requestFullscreen({ navigationUI: 'hide' }).catch(() => {});
}
export function leaveFullscreen() {
  if (document.fullscreenElement && document.exitFullscreen) document.exitFullscreen().catch(() => {});
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = enterFullscreen)]
    pub fn enter();
    #[wasm_bindgen(js_name = leaveFullscreen)]
    pub fn leave();
}
