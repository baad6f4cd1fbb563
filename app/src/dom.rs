//! Small browser helpers the demos need (fetching, clipboard, visibility, camera). Written as a
//! few lines of JS each: the same in Rust would pull many `web-sys` bindings into the UI wasm.

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::engine::js_error;

#[wasm_bindgen(inline_js = r#"
export async function fetchJson(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`HTTP ${res.status} for ${url}`);
  return res.json();
}
export async function fetchBlob(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`HTTP ${res.status} for ${url}`);
  return res.blob();
}
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch (_) {
    // Older browsers, or a page without clipboard permission: the classic hidden-textarea copy.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch (_) { ok = false; }
    area.remove();
    return ok;
  }
}
export function whenVisible(element, callback) {
  if (!('IntersectionObserver' in window)) { callback(); return; }
  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) { observer.disconnect(); callback(); }
  }, { rootMargin: '300px 0px' });
  observer.observe(element);
}
export async function startCamera(video) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    const error = new Error('no camera API'); error.name = 'NotSupportedError'; throw error;
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: 'environment', width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false,
  });
  video.srcObject = stream;
  await video.play().catch(() => {});
  return stream;
}
export function keepTabInside(event) {
  // A modal dialog (aria-modal) must hold keyboard focus: Tab from its last control wraps to
  // the first, Shift+Tab from the first to the last, instead of walking into the page behind.
  if (event.key !== 'Tab') return;
  const box = event.currentTarget;
  const controls = Array.from(box.querySelectorAll(
    'button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])',
  )).filter((el) => el.getClientRects().length > 0);
  if (controls.length === 0) { event.preventDefault(); return; }
  const first = controls[0];
  const last = controls[controls.length - 1];
  const at = document.activeElement;
  if (event.shiftKey && (at === first || !box.contains(at))) { event.preventDefault(); last.focus(); }
  else if (!event.shiftKey && (at === last || !box.contains(at))) { event.preventDefault(); first.focus(); }
}
export function stopCamera(stream, video) {
  if (stream) stream.getTracks().forEach((t) => t.stop());
  if (video) video.srcObject = null;
}
export function captureFrame(video) {
  return new Promise((resolve, reject) => {
    const w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) { reject(new Error('the camera has no picture yet; wait a moment and try again')); return; }
    const canvas = document.createElement('canvas');
    canvas.width = w; canvas.height = h;
    canvas.getContext('2d').drawImage(video, 0, 0, w, h);
    canvas.toBlob((blob) => blob ? resolve(blob) : reject(new Error('could not capture the photo')), 'image/jpeg', 0.92);
  });
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = fetchJson, catch)]
    fn fetch_json_js(url: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_name = fetchBlob, catch)]
    fn fetch_blob_js(url: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_name = copyText, catch)]
    fn copy_text_js(text: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_name = whenVisible)]
    fn when_visible_js(element: &web_sys::Element, callback: &JsValue);
    #[wasm_bindgen(js_name = startCamera, catch)]
    fn start_camera_js(video: &web_sys::HtmlVideoElement) -> Result<Promise, JsValue>;
    /// Wraps Tab and Shift+Tab inside the element the keydown listener is on (a modal dialog).
    #[wasm_bindgen(js_name = keepTabInside)]
    pub fn keep_tab_inside(event: &web_sys::KeyboardEvent);
    #[wasm_bindgen(js_name = stopCamera)]
    fn stop_camera_js(stream: &JsValue, video: Option<web_sys::HtmlVideoElement>);
    #[wasm_bindgen(js_name = captureFrame, catch)]
    fn capture_frame_js(video: &web_sys::HtmlVideoElement) -> Result<Promise, JsValue>;
}

async fn settle(promise: Result<Promise, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(promise?).await
}

pub async fn fetch_json(url: &str) -> Result<JsValue, String> {
    settle(fetch_json_js(url)).await.map_err(js_error)
}

pub async fn fetch_blob(url: &str) -> Result<JsValue, String> {
    settle(fetch_blob_js(url)).await.map_err(js_error)
}

/// Copies to the clipboard; `false` if the browser refused (show the text to copy by hand).
pub async fn copy_text(text: &str) -> bool {
    settle(copy_text_js(text))
        .await
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// Calls `callback` once, when `element` comes near the viewport.
pub fn when_visible(element: &web_sys::Element, callback: impl FnOnce() + 'static) {
    when_visible_js(element, &Closure::once_into_js(callback));
}

/// Why the camera did not start, in terms the UI has messages for.
#[derive(Clone, Debug, PartialEq)]
pub enum CameraError {
    Denied,
    Missing,
    Busy,
    Unsupported,
    Other(String),
}

/// Starts the camera into `video`; returns the stream to stop later.
pub async fn start_camera(video: &web_sys::HtmlVideoElement) -> Result<JsValue, CameraError> {
    settle(start_camera_js(video)).await.map_err(|e| {
        let name = Reflect::get(&e, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" | "SecurityError" | "PermissionDeniedError" => CameraError::Denied,
            "NotFoundError" | "DevicesNotFoundError" | "OverconstrainedError" => {
                CameraError::Missing
            }
            "NotReadableError" | "TrackStartError" | "AbortError" => CameraError::Busy,
            "NotSupportedError" | "TypeError" => CameraError::Unsupported,
            _ => CameraError::Other(js_error(e)),
        }
    })
}

pub fn stop_camera(stream: &JsValue, video: Option<web_sys::HtmlVideoElement>) {
    stop_camera_js(stream, video);
}

/// The current camera frame as a JPEG Blob.
pub async fn capture_frame(video: &web_sys::HtmlVideoElement) -> Result<JsValue, String> {
    settle(capture_frame_js(video)).await.map_err(js_error)
}

/// The text of a `#text=…` share link in the current address, if any.
pub fn shared_text() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    let encoded = hash.strip_prefix("#text=")?;
    let text = js_sys::decode_uri_component(encoded).ok()?.as_string()?;
    (!text.is_empty()).then_some(text)
}

/// A link to this page that restores `text` in the sentiment demo.
pub fn share_link(text: &str) -> Option<String> {
    let location = web_sys::window()?.location();
    let encoded = String::from(js_sys::encode_uri_component(text));
    Some(format!(
        "{}{}#text={encoded}",
        location.origin().ok()?,
        location.pathname().ok()?
    ))
}
