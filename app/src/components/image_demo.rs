//! The image demo: drag and drop, file picker, paste, webcam and a gallery of credited sample
//! photos; a preview of the chosen picture and the model's top-5 guesses as bars. The model
//! loads when the demo scrolls into view, or on first use. The tour shows a chosen sample
//! straight away (`initial_sample`).

use std::cell::RefCell;

use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};

use crate::components::model_load::ModelLoad;
use crate::dom::{capture_frame, fetch_blob, start_camera, stop_camera, when_visible, CameraError};
use wire::catalog::CatalogueEntry;

use crate::engine::{classify_image, millis, model, ImageResult};
use crate::i18n::use_i18n;

/// The credited photos in `/samples/` (see `assets/samples/CREDITS.md`) and their captions.
pub const SAMPLES: &[(&str, &str)] = &[
    ("dragonfly", "image.sample_dragonfly"),
    ("parrot", "image.sample_parrot"),
    ("hot_dog", "image.sample_hot_dog"),
    ("bird", "image.sample_bird"),
    ("sunflower", "image.sample_sunflower"),
    ("cat", "image.sample_cat"),
    ("pets", "image.sample_pets"),
    ("owl", "image.sample_owl"),
    ("grace_hopper", "image.sample_grace_hopper"),
];

#[derive(Clone, Debug, PartialEq)]
enum Status {
    Idle,
    Busy,
    Done(ImageResult),
    Failed(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Camera {
    Off,
    Starting,
    On,
    Failed(CameraError),
}

#[derive(Clone, Debug, PartialEq)]
struct Preview {
    src: String,
    /// An object URL we made, to revoke when the preview is replaced.
    owned: bool,
}

thread_local! {
    static STREAM: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

fn revoke(preview: Option<Preview>) {
    if let Some(Preview { src, owned: true }) = preview {
        let _ = web_sys::Url::revoke_object_url(&src);
    }
}

#[component]
pub fn ImageDemo(
    /// The model, as the catalogue describes it.
    entry: CatalogueEntry,
    /// A name from [`SAMPLES`] to classify as soon as the demo appears (a tour step).
    #[prop(optional)]
    initial_sample: Option<&'static str>,
) -> impl IntoView {
    let i18n = use_i18n();
    let t = move |key| i18n.text(key);
    let model = model(&entry.manifest.id);
    let id = model.id;
    let title = entry.manifest.title().clone();

    let status = RwSignal::new(Status::Idle);
    let preview = RwSignal::new(None::<Preview>);
    let camera = RwSignal::new(Camera::Off);
    let dragging = RwSignal::new(false);
    let near = RwSignal::new(false);
    let seq = StoredValue::new(0u64);
    let root = NodeRef::<html::Article>::new();
    let video = NodeRef::<html::Video>::new();

    // Load the model (and the gallery thumbnails) only when the demo comes near the viewport.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        match root.get() {
            Some(el) => {
                when_visible(&el, move || {
                    near.set(true);
                    model.preload();
                });
                true
            }
            None => false,
        }
    });

    let classify = move |image: JsValue, shown: Preview| {
        revoke(preview.get_untracked());
        preview.set(Some(shown));
        let my = seq.get_value() + 1;
        seq.set_value(my);
        status.set(Status::Busy);
        spawn_local(async move {
            let result = classify_image(model, &image).await;
            // A newer picture won, or the demo is gone (kiosk reset, next tour step): drop it.
            if seq.try_get_value() == Some(my) {
                status.set(match result {
                    Ok(r) => Status::Done(r),
                    Err(e) => Status::Failed(e),
                });
            }
        });
    };
    let classify_blob = move |blob: web_sys::Blob| {
        let src = web_sys::Url::create_object_url_with_blob(&blob).unwrap_or_default();
        classify(blob.into(), Preview { src, owned: true });
    };
    let classify_files = move |files: Option<web_sys::FileList>| {
        let Some(files) = files else { return };
        let picked = (0..files.length())
            .filter_map(|i| files.get(i))
            .find(|f| f.type_().starts_with("image/"))
            .or_else(|| files.get(0));
        if let Some(file) = picked {
            classify_blob(file.into());
        }
    };
    let classify_sample = move |name: &'static str| {
        let url = format!("/samples/{name}.jpg");
        status.set(Status::Busy);
        spawn_local(async move {
            let fetched = fetch_blob(&url).await;
            if seq.try_get_value().is_none() {
                return; // unmounted while fetching
            }
            match fetched {
                Ok(blob) => classify(
                    blob,
                    Preview {
                        src: url,
                        owned: false,
                    },
                ),
                Err(e) => status.set(Status::Failed(e)),
            }
        });
    };

    if let Some(name) = initial_sample.filter(|n| SAMPLES.iter().any(|(s, _)| s == n)) {
        near.set(true);
        classify_sample(name);
    }

    // Camera: start into the <video>, capture a frame as a JPEG, always stop the stream after.
    let stop = move || {
        if let Some(stream) = STREAM.with(|s| s.borrow_mut().take()) {
            stop_camera(&stream, video.get_untracked());
        }
        if camera.try_get_untracked().is_some_and(|c| c != Camera::Off) {
            camera.set(Camera::Off);
        }
    };
    let start = move |_| {
        let Some(v) = video.get_untracked() else {
            return;
        };
        camera.set(Camera::Starting);
        spawn_local(async move {
            match start_camera(&v).await {
                Ok(stream) => {
                    if camera.try_get_untracked() == Some(Camera::Starting) {
                        STREAM.with(|s| *s.borrow_mut() = Some(stream));
                        camera.set(Camera::On);
                    } else {
                        stop_camera(&stream, None);
                    }
                }
                Err(e) => {
                    let _ = camera.try_set(Camera::Failed(e));
                }
            }
        });
    };
    let capture = move |_| {
        let Some(v) = video.get_untracked() else {
            return;
        };
        spawn_local(async move {
            let frame = capture_frame(&v).await;
            stop();
            if seq.try_get_value().is_none() {
                return; // unmounted while capturing
            }
            match frame {
                Ok(blob) => classify_blob(blob.unchecked_into()),
                Err(e) => status.set(Status::Failed(e)),
            }
        });
    };
    on_cleanup(move || {
        if let Some(stream) = STREAM.with(|s| s.borrow_mut().take()) {
            stop_camera(&stream, None);
        }
        if let Some(p) = preview.try_get_untracked().flatten() {
            revoke(Some(p));
        }
    });
    let pagehide = window_event_listener(ev::pagehide, move |_| stop());
    // Paste anywhere on the page: only image data is taken, text pastes are left alone.
    let paste = window_event_listener(ev::paste, move |e: web_sys::ClipboardEvent| {
        let Some(files) = e.clipboard_data().map(|d| d.files()) else {
            return;
        };
        let image = files.as_ref().and_then(|f| {
            (0..f.length())
                .filter_map(|i| f.get(i))
                .find(|f| f.type_().starts_with("image/"))
        });
        if let Some(file) = image {
            e.prevent_default();
            classify_blob(file.into());
        }
    });
    on_cleanup(move || {
        pagehide.remove();
        paste.remove();
    });

    let on_drop = move |e: ev::DragEvent| {
        e.prevent_default();
        dragging.set(false);
        classify_files(e.data_transfer().and_then(|d| d.files()));
    };
    let on_pick = move |e: ev::Event| {
        let input: Option<web_sys::HtmlInputElement> = e.target().and_then(|t| t.dyn_into().ok());
        if let Some(input) = input {
            classify_files(input.files());
            input.set_value(""); // choosing the same file again still fires `change`
        }
    };

    let camera_active = move || matches!(camera.get(), Camera::Starting | Camera::On);
    let state_name = move || match status.get() {
        Status::Idle => "idle",
        Status::Busy => "busy",
        Status::Done(_) => "done",
        Status::Failed(_) => "error",
    };

    view! {
        <article class="card demo image-demo" node_ref=root data-testid=format!("demo-{id}")
            data-model=id aria-labelledby=format!("{id}-title")>
            <div class="demo-head">
                <h3 id=format!("{id}-title") class="demo-title">{move || i18n.pick(&title)}</h3>
                <ModelLoad model=model/>
            </div>
            <div class="image-grid">
                <div class="image-input">
                    <div class="dropzone" class:dragging=move || dragging.get() data-testid=format!("{id}-dropzone")
                        on:dragover=move |e: ev::DragEvent| { e.prevent_default(); dragging.set(true); }
                        on:dragleave=move |_| dragging.set(false)
                        on:drop=on_drop>
                        <div class="camera" class:camera-on=camera_active>
                            <video node_ref=video class="camera-view" playsinline=true muted=true
                                aria-label=t("image.video_label")></video>
                            <div class="camera-actions">
                                <button type="button" class="btn btn-primary" data-testid="camera-capture"
                                    disabled=move || camera.get() != Camera::On on:click=capture>
                                    {t("image.capture")}
                                </button>
                                <button type="button" class="btn btn-ghost" on:click=move |_| stop()>
                                    {t("image.cancel")}
                                </button>
                            </div>
                        </div>
                        <Show when=move || !camera_active()>
                            {move || match preview.get() {
                                Some(p) => view! {
                                    <img class="preview" data-testid=format!("{id}-preview") src=p.src
                                        alt=t("image.preview_alt")
                                        on:error=move |_| { revoke(preview.get_untracked()); preview.set(None); }/>
                                }.into_any(),
                                None => view! {
                                    <div class="drop-art" aria-hidden="true">"⬇"</div>
                                }.into_any(),
                            }}
                            <p class="drop-text">{t("image.drop")}</p>
                        </Show>
                        <div class="drop-actions">
                            <input type="file" id=format!("{id}-file") class="visually-hidden" accept="image/*"
                                data-testid=format!("{id}-file") on:change=on_pick/>
                            <label for=format!("{id}-file") class="btn btn-primary">{t("image.choose")}</label>
                            <button type="button" class="btn btn-ghost" data-testid="camera-start"
                                disabled=camera_active on:click=start>
                                {t("image.camera")}
                            </button>
                        </div>
                        {move || match camera.get() {
                            Camera::Starting => view! { <p class="muted small" role="status">{t("image.camera_starting")}</p> }.into_any(),
                            Camera::Failed(e) => {
                                let message = match &e {
                                    CameraError::Denied => t("image.camera_denied")().to_owned(),
                                    CameraError::Missing => t("image.camera_missing")().to_owned(),
                                    CameraError::Busy => t("image.camera_busy")().to_owned(),
                                    CameraError::Unsupported => t("image.camera_unsupported")().to_owned(),
                                    CameraError::Other(m) => format!("{} {m}", t("image.camera_error")()),
                                };
                                view! { <p class="error-text" role="alert" data-testid="camera-error">{message}</p> }.into_any()
                            }
                            _ => ().into_any(),
                        }}
                    </div>
                </div>

                <div class="image-gallery">
                    <h4 class="gallery-title">{t("image.gallery_title")}</h4>
                    <ul class="gallery" data-testid=format!("{id}-gallery")>
                        {SAMPLES.iter().map(|&(name, key)| view! {
                            <li>
                                <button type="button" class="thumb" data-testid=format!("sample-{name}")
                                    aria-label=move || format!("{} {}", t("image.sample_prefix")(), t(key)())
                                    on:click=move |_| classify_sample(name)>
                                    <img alt="" width="96" height="96" decoding="async"
                                        src=move || near.get().then(|| format!("/samples/{name}.jpg"))/>
                                    <span class="thumb-caption" aria-hidden="true">{t(key)}</span>
                                </button>
                            </li>
                        }).collect_view()}
                    </ul>
                    <p class="muted small">{t("image.gallery_credit")}</p>
                </div>

                <div class="image-result" data-testid=format!("{id}-result") data-state=state_name aria-live="polite">
                    <h4 class="result-title">{t("image.results_title")}</h4>
                    {move || match status.get() {
                        Status::Idle => view! { <p class="hint">{t("image.idle")}</p> }.into_any(),
                        Status::Busy => view! {
                            <p class="busy-line" data-testid=format!("{id}-busy")>
                                <span class="spinner" aria-hidden="true"></span>{t("image.classifying")}
                            </p>
                        }.into_any(),
                        Status::Failed(e) => view! {
                            <p class="error-text" data-testid=format!("{id}-error")>{t("image.error")}" "{e}</p>
                        }.into_any(),
                        Status::Done(r) => view! { {top5_view(id, r.clone())} {crate::feedback::on_image(id, &r)} }.into_any(),
                    }}
                </div>
            </div>
        </article>
    }
}

fn top5_view(id: &'static str, result: ImageResult) -> impl IntoView {
    let i18n = use_i18n();
    let rows = result
        .top
        .into_iter()
        .map(|c| {
            let pct = (c.score * 100.0).clamp(0.0, 100.0);
            view! {
                <li class="class-row" data-testid=format!("{id}-class") data-index=c.index.to_string()>
                    <span class="class-label">{capitalise(&c.label)}</span>
                    <span class="class-pct">{format!("{pct:.1}%")}</span>
                    <span class="bar" aria-hidden="true"><span style=format!("width:{pct:.1}%")></span></span>
                </li>
            }
        })
        .collect_view();
    view! {
        <ol class="top5" data-testid=format!("{id}-top5") aria-label=i18n.text("image.top5_label")>{rows}</ol>
        <p class="muted small timing" data-testid=format!("{id}-ms")>{millis(result.ms)}" "{i18n.text("text.on_device")}</p>
    }
}

fn capitalise(label: &str) -> String {
    let mut chars = label.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
