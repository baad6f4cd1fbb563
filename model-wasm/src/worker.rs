//! The wasm-bindgen surface the inference worker (`public/sdk/worker.js`) calls.
//! Kept thin: it converts between JS values and the pure Rust API, nothing more. Errors cross
//! as `JsError` carrying the human message of [`crate::ModelError`].

#[cfg(feature = "gpu")]
use std::cell::RefCell;
use std::rc::Rc;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::backend::{choose_backend as choose, Facts};
#[cfg(feature = "gpu")]
use crate::backend::{probe_image, text_probe, Backend};
#[cfg(feature = "gpu")]
use crate::gpu::{
    image_classifier::GpuImageClassifier, text_classifier::GpuTextClassifier, Gpu, GpuError,
};
use crate::image::{preprocess::check_dimensions, ImageClassifier, ImageModelSpec, PixelBuffer};
use crate::text::{reading, TextClassifier, TextModelSpec};
use crate::ModelError;
use wire::catalog::CatalogueEntry;

/// `initThreadPool(n)` (JS): starts the rayon pool of `n` Web Workers sharing this module's
/// memory. Only in the `threads` build; the worker calls it before anything else.
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

#[wasm_bindgen(start)]
pub fn start() {
    // Panics become readable console errors instead of "unreachable executed".
    console_error_panic_hook::set_once();
}

/// A text model's answer, or in its place the `{ unreadable: true, … }` answer for a text the
/// model cannot read ([`crate::text::reading`]): not an error, an answer the page shows.
fn answer_or_refusal<T: Serialize>(
    model: &str,
    result: Result<T, ModelError>,
) -> Result<JsValue, JsError> {
    match result {
        Ok(answer) => to_js(&answer),
        Err(e) => match reading::unreadable_answer(model, &e) {
            Some(refusal) => to_js(&refusal),
            None => Err(js_error(e)),
        },
    }
}

/// [`answer_or_refusal`] for the GPU path, whose errors wrap the model's.
#[cfg(feature = "gpu")]
fn gpu_answer_or_refusal<T: Serialize>(
    model: &str,
    result: Result<T, GpuError>,
) -> Result<JsValue, JsError> {
    match result {
        Err(GpuError::Model(e)) => answer_or_refusal::<T>(model, Err(e)),
        Err(other) => Err(gpu_error(other)),
        Ok(answer) => to_js(&answer),
    }
}

/// `routeText(text, models, asked)`: which catalogue model answers `text` when a visitor asked
/// `asked` — `{ model, readers }` ([`reading::routing`]). `models` is `/models/manifest.json`'s
/// `models`. The worker asks this before a text model classifies, so routing by script is the
/// engine's rule, the same one `cargo xtask eval-sentiment` follows.
#[wasm_bindgen(js_name = routeText)]
pub fn route_text(text: &str, models: JsValue, asked: &str) -> Result<JsValue, JsError> {
    let models: Vec<CatalogueEntry> = serde_wasm_bindgen::from_value(models).map_err(|e| {
        JsError::new(&format!(
            "the catalogue (/models/manifest.json) is not valid: {e}"
        ))
    })?;
    let manifests: Vec<_> = models.into_iter().map(|m| m.manifest).collect();
    let asked = manifests
        .iter()
        .find(|m| m.id == asked)
        .ok_or_else(|| JsError::new(&format!("no model \"{asked}\" in the catalogue")))?;
    to_js(&reading::routing(text, &manifests, asked))
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    // Plain objects (not Maps), so results read naturally in JS.
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    Ok(value.serialize(&serializer)?)
}

fn js_error(e: ModelError) -> JsError {
    JsError::new(&e.to_string())
}

#[cfg(feature = "gpu")]
fn gpu_error(e: GpuError) -> JsError {
    JsError::new(&e.to_string())
}

/// A GPU call before `enableGpu` resolved (the worker never makes one; a third party might).
#[cfg(feature = "gpu")]
fn gpu_not_enabled() -> JsError {
    JsError::new("the GPU path is not enabled")
}

/// Version and capabilities of this engine build.
#[wasm_bindgen(js_name = engineInfo)]
pub fn engine_info() -> Result<JsValue, JsError> {
    to_js(&crate::info::engine_info())
}

/// Width and height of an encoded image, read from its header only, after checking the pixel
/// budget: a 30000×30000 PNG is refused here before the browser spends memory decoding it.
#[wasm_bindgen(js_name = imageDimensions)]
pub fn image_dimensions(encoded: &[u8]) -> Result<JsValue, JsError> {
    if encoded.is_empty() {
        return Err(js_error(ModelError::EmptyImage));
    }
    let size = imagesize::blob_size(encoded).map_err(|e| {
        js_error(ModelError::UnsupportedImage(match e {
            imagesize::ImageError::NotSupported => "unknown format".to_owned(),
            other => other.to_string(),
        }))
    })?;
    let (width, height) = (size.width as u32, size.height as u32);
    check_dimensions(width, height).map_err(js_error)?;
    #[derive(Serialize)]
    struct Dimensions {
        width: u32,
        height: u32,
    }
    to_js(&Dimensions { width, height })
}

/// Lower-case hex sha256 of `bytes`: the worker's fallback where `crypto.subtle` is missing
/// (pages served over plain http from another host). Hashed in 64 KB calls rather than one, so
/// V8 promotes the hashing code from its baseline compiler to its optimising one after the first
/// few (it never does so in the middle of a single long call).
#[wasm_bindgen(js_name = sha256Hex)]
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for chunk in bytes.chunks(64 * 1024) {
        hasher.update(chunk);
    }
    hex::encode(hasher.finalize())
}

/// The backend choice for the facts the worker has gathered about one model
/// ([`crate::backend::choose_backend`]): `{ next: 'adapter' | 'verify' | 'time' }`, a step for
/// the worker to do and report in the facts, or `{ next: 'use', backend, reason, remember,
/// trialWhenIdle }`. The whole policy is there; the worker only follows it.
#[wasm_bindgen(js_name = chooseBackend)]
pub fn choose_backend(facts: JsValue) -> Result<JsValue, JsError> {
    let mut facts: Facts = serde_wasm_bindgen::from_value(facts)
        .map_err(|e| JsError::new(&format!("the backend choice's facts are not valid: {e}")))?;
    // A build without the GPU path has nothing to try, whatever the browser offers.
    facts.webgpu &= cfg!(feature = "gpu");
    to_js(&choose(&facts))
}

/// The backend a `runProbe` call names (`'wasm-simd'` or `'webgpu'`).
#[cfg(feature = "gpu")]
fn backend_of(backend: JsValue) -> Result<Backend, JsError> {
    serde_wasm_bindgen::from_value(backend)
        .map_err(|e| JsError::new(&format!("not a backend: {e}")))
}

/// The catalogue entry the worker passes with a model's bytes (one model of
/// `/models/manifest.json`).
fn catalogue_entry(entry: JsValue) -> Result<CatalogueEntry, JsError> {
    serde_wasm_bindgen::from_value(entry).map_err(|e| {
        JsError::new(&format!(
            "the model's catalogue entry (from /models/manifest.json) is not valid: {e}"
        ))
    })
}

/// A text classifier of the catalogue, loaded once per worker.
#[wasm_bindgen]
pub struct TextEngine {
    /// The catalogue id, named in answers for texts the model cannot read.
    id: String,
    inner: Rc<TextClassifier>,
    /// The same model on the GPU, once `enableGpu` succeeded.
    #[cfg(feature = "gpu")]
    gpu: Rc<RefCell<Option<Rc<GpuTextClassifier>>>>,
}

#[wasm_bindgen]
impl TextEngine {
    /// Builds the model `entry` describes (its shape and labels, from its model.toml) from
    /// `bytes`, which the caller has already checked against the entry's sha256: `verify` in
    /// `public/sdk/worker.js` is the browser's one integrity check (native `crypto.subtle`, far
    /// faster than hashing 24 MB in wasm; see [`TextClassifier::from_verified_model_file`]).
    #[wasm_bindgen(constructor)]
    pub fn new(entry: JsValue, bytes: &[u8]) -> Result<TextEngine, JsError> {
        let entry = catalogue_entry(entry)?;
        let spec = TextModelSpec::from_manifest(&entry.manifest).map_err(js_error)?;
        let inner =
            TextClassifier::from_verified_model_file(&entry.file, bytes, &spec, spec.matmul_mode())
                .map_err(js_error)?;
        Ok(Self {
            id: entry.manifest.id.clone(),
            inner: Rc::new(inner),
            #[cfg(feature = "gpu")]
            gpu: Rc::default(),
        })
    }

    /// `{ label, score, scores: [{ label, score }], truncated }` (every label, in label order),
    /// or `{ unreadable: true, script, languages, … }` for a text the model cannot read.
    pub fn classify(&self, text: &str) -> Result<JsValue, JsError> {
        answer_or_refusal(&self.id, self.inner.classify(text))
    }

    /// `{ prediction, target, words: [{ word, start, end, contribution }] }` (byte offsets,
    /// UTF-8; contribution in log-odds of `target`, the predicted label; see
    /// [`TextClassifier::explain`]).
    pub fn explain(&self, text: &str) -> Result<JsValue, JsError> {
        answer_or_refusal(&self.id, self.inner.explain(text))
    }
}

#[cfg(feature = "gpu")]
#[wasm_bindgen]
impl TextEngine {
    /// Uploads the model (the same verified `bytes`) to the GPU through WebGPU. Resolves once
    /// `classifyGpu` can run; rejects, leaving the CPU path as it was, when the model's shape is
    /// one the GPU kernels do not cover, there is no usable adapter, or the upload fails.
    #[wasm_bindgen(js_name = enableGpu)]
    pub fn enable_gpu(&self, name: String, bytes: Vec<u8>) -> js_sys::Promise {
        let (slot, spec) = (self.gpu.clone(), self.inner.spec().clone());
        wasm_bindgen_futures::future_to_promise(async move {
            // Before asking for an adapter: an unsupported model needs no GPU to be refused.
            GpuTextClassifier::supports(&spec).map_err(gpu_error)?;
            let gpu = Gpu::new().await.map_err(gpu_error)?;
            let on_gpu = GpuTextClassifier::load(gpu, &name, &bytes, &spec).map_err(gpu_error)?;
            *slot.borrow_mut() = Some(Rc::new(on_gpu));
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `explain` with every masked variant encoded on the GPU in one submission and one
    /// read-back: a Promise of `{ prediction, target, words }`, as `explain` returns.
    #[wasm_bindgen(js_name = explainGpu)]
    pub fn explain_gpu(&self, text: String) -> js_sys::Promise {
        let (cpu, on_gpu) = (self.inner.clone(), self.gpu.borrow().clone());
        let id = self.id.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let on_gpu = on_gpu.ok_or_else(gpu_not_enabled)?;
            Ok(gpu_answer_or_refusal(
                &id,
                on_gpu.explain(&cpu, &text).await,
            )?)
        })
    }

    /// `classify` on the GPU: a Promise of `{ label, score, scores, truncated }`.
    #[wasm_bindgen(js_name = classifyGpu)]
    pub fn classify_gpu(&self, text: String) -> js_sys::Promise {
        let (cpu, on_gpu) = (self.inner.clone(), self.gpu.borrow().clone());
        let id = self.id.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let on_gpu = on_gpu.ok_or_else(gpu_not_enabled)?;
            Ok(gpu_answer_or_refusal(
                &id,
                on_gpu.classify(&cpu, &text).await,
            )?)
        })
    }

    /// The GPU path's check against the CPU path on the text probe: a Promise of the verdict,
    /// `{ verdict: 'agrees', difference, tolerance }` or `{ verdict: 'disagrees', disagreement }`
    /// ([`crate::backend::Verdict`]), for the backend choice; rejects if the GPU fails.
    #[wasm_bindgen(js_name = verifyGpu)]
    pub fn verify_gpu(&self) -> js_sys::Promise {
        let (cpu, on_gpu) = (self.inner.clone(), self.gpu.borrow().clone());
        wasm_bindgen_futures::future_to_promise(async move {
            let on_gpu = on_gpu.ok_or_else(gpu_not_enabled)?;
            Ok(to_js(&on_gpu.verify(&cpu).await.map_err(gpu_error)?)?)
        })
    }

    /// Classifies the text probe once on `backend` (`'wasm-simd'` or `'webgpu'`): what the
    /// backend choice times. A Promise that resolves once the answer is there.
    #[wasm_bindgen(js_name = runProbe)]
    pub fn run_probe(&self, backend: JsValue) -> js_sys::Promise {
        let (cpu, on_gpu) = (self.inner.clone(), self.gpu.borrow().clone());
        wasm_bindgen_futures::future_to_promise(async move {
            let probe = text_probe(&cpu.spec().languages);
            match backend_of(backend)? {
                Backend::Wasm => {
                    cpu.classify(probe).map_err(js_error)?;
                }
                Backend::WebGpu => {
                    let on_gpu = on_gpu.ok_or_else(gpu_not_enabled)?;
                    on_gpu.classify(&cpu, probe).await.map_err(gpu_error)?;
                }
            }
            Ok(JsValue::UNDEFINED)
        })
    }
}

/// The image model, loaded once per worker.
#[wasm_bindgen]
pub struct ImageEngine {
    inner: Rc<ImageClassifier>,
    /// What the catalogue entry says the network is (the GPU path builds the same one).
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    spec: ImageModelSpec,
    /// The same network on the GPU, once `enableGpu` succeeded.
    #[cfg(feature = "gpu")]
    gpu: Rc<RefCell<Option<Rc<GpuImageClassifier>>>>,
}

#[wasm_bindgen]
impl ImageEngine {
    /// Loads the model `entry` describes from `bytes`, which the caller checks against the
    /// entry's sha256 (`verify` in `public/sdk/worker.js`), as for [`TextEngine::new`]. The
    /// file's classes must be as many as the entry's labels.
    #[wasm_bindgen(constructor)]
    pub fn new(entry: JsValue, bytes: &[u8]) -> Result<ImageEngine, JsError> {
        let entry = catalogue_entry(entry)?;
        let spec =
            ImageModelSpec::from_manifest(&entry.manifest).map_err(|e| js_error(e.into()))?;
        let inner = ImageClassifier::from_verified_model_bytes_with_spec(&entry.file, bytes, &spec)
            .map_err(js_error)?;
        let (found, expected) = (inner.labels().len(), entry.manifest.label_count());
        if found != expected {
            return Err(js_error(ModelError::ClassCount {
                name: entry.file,
                found,
                expected,
            }));
        }
        Ok(Self {
            inner: Rc::new(inner),
            spec,
            #[cfg(feature = "gpu")]
            gpu: Rc::default(),
        })
    }

    /// Top-5 `[{ index, label, score }]` for RGBA pixels (as from `getImageData`).
    #[wasm_bindgen(js_name = classifyRgba)]
    pub fn classify_rgba(&self, width: u32, height: u32, rgba: &[u8]) -> Result<JsValue, JsError> {
        let pixels = PixelBuffer::rgba(width, height, rgba).map_err(js_error)?;
        to_js(&self.inner.classify(&pixels).map_err(js_error)?)
    }
}

#[cfg(feature = "gpu")]
#[wasm_bindgen]
impl ImageEngine {
    /// Uploads the network (from the same verified `bytes`) to the GPU through WebGPU. Resolves
    /// once `classifyGpu` can run; rejects, leaving the CPU path as it was, when there is no
    /// usable adapter or the upload fails.
    #[wasm_bindgen(js_name = enableGpu)]
    pub fn enable_gpu(&self, name: String, bytes: Vec<u8>) -> js_sys::Promise {
        let (slot, spec) = (self.gpu.clone(), self.spec.clone());
        wasm_bindgen_futures::future_to_promise(async move {
            let gpu = Gpu::new().await.map_err(gpu_error)?;
            let decoded =
                crate::image::weights::decode_with_spec(&name, &bytes, &spec).map_err(js_error)?;
            let on_gpu = GpuImageClassifier::load_with_spec(gpu, &decoded.layers, &spec)
                .map_err(gpu_error)?;
            *slot.borrow_mut() = Some(Rc::new(on_gpu));
            Ok(JsValue::UNDEFINED)
        })
    }

    /// `classifyRgba` on the GPU: a Promise of the top-5 `[{ index, label, score }]`.
    #[wasm_bindgen(js_name = classifyGpu)]
    pub fn classify_gpu(&self, width: u32, height: u32, rgba: Vec<u8>) -> js_sys::Promise {
        let (cpu, on_gpu) = (self.inner.clone(), self.gpu.borrow().clone());
        wasm_bindgen_futures::future_to_promise(async move {
            let on_gpu = on_gpu.ok_or_else(gpu_not_enabled)?;
            let pixels = PixelBuffer::rgba(width, height, &rgba).map_err(js_error)?;
            let top = on_gpu.classify(&cpu, &pixels).await.map_err(gpu_error)?;
            Ok(to_js(&top)?)
        })
    }

    /// The GPU path's check against the CPU path on the probe picture: a Promise of the
    /// verdict, as [`TextEngine::verify_gpu`] gives it; rejects if the GPU fails.
    #[wasm_bindgen(js_name = verifyGpu)]
    pub fn verify_gpu(&self) -> js_sys::Promise {
        let (cpu, on_gpu) = (self.inner.clone(), self.gpu.borrow().clone());
        wasm_bindgen_futures::future_to_promise(async move {
            let on_gpu = on_gpu.ok_or_else(gpu_not_enabled)?;
            Ok(to_js(&on_gpu.verify(&cpu).await.map_err(gpu_error)?)?)
        })
    }

    /// Classifies the probe picture once on `backend` (`'wasm-simd'` or `'webgpu'`): what the
    /// backend choice times. A Promise that resolves once the answer is there.
    #[wasm_bindgen(js_name = runProbe)]
    pub fn run_probe(&self, backend: JsValue) -> js_sys::Promise {
        let (cpu, on_gpu) = (self.inner.clone(), self.gpu.borrow().clone());
        wasm_bindgen_futures::future_to_promise(async move {
            let probe = probe_image();
            match backend_of(backend)? {
                Backend::Wasm => {
                    cpu.classify(&probe).map_err(js_error)?;
                }
                Backend::WebGpu => {
                    let on_gpu = on_gpu.ok_or_else(gpu_not_enabled)?;
                    on_gpu.classify(&cpu, &probe).await.map_err(gpu_error)?;
                }
            }
            Ok(JsValue::UNDEFINED)
        })
    }
}
