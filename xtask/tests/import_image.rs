//! The timm importer against timm's own outputs (xtask/fixtures/import/README.md): the float
//! import reproduces PyTorch's top-1 on every fixture image, from timm's preprocessed tensors and
//! from the files decoded here; the 8-bit import keeps it on ≥ 98%; unsupported folders are
//! refused naming the file and the field, before anything is written.
//!
//! The fixtures are not in git: `VITRINE_IMPORT_FIXTURES` (default
//! `~/.cache/vitrine/import-fixtures`, with `-bad` next to it). Without them these tests skip,
//! saying why, and fail when `CI` is set (`common`).

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use model_wasm::image::{decode, weights, ImageClassifier, ImageModelSpec, PixelBuffer};
use model_wasm::int8_matmul::MatmulMode;
use wire::catalog::ModelManifest;
use xtask::import_image;
use xtask::predict::Run;

/// The fine-tuned export: ImageNet-pretrained backbone, 10-class head (the fixture README).
const MODEL: &str = "effnet-lite0-10class";
/// The stress case for the float import: random weights, near-tied logits.
const RANDOM: &str = "effnet-lite0-random";
/// The larger variants, random weights too: other widths, depths, input sizes and crops, all read
/// from timm's `config.json`.
const LARGER_RANDOM: [&str; 4] = [
    "effnet-lite1-random",
    "effnet-lite2-random",
    "effnet-lite3-random",
    "effnet-lite4-random",
];
/// The random network's floor: measured 89/101 with the browser's products, 91/101 with f32
/// products (`eight_bit_import_of_a_random_network`); 88% lets neither fall further.
const RANDOM_FLOOR_PERCENT: usize = 88;

fn fixtures() -> Option<PathBuf> {
    common::good(&format!("{MODEL}/config.json"))
}

struct Reference {
    file: String,
    logits: Vec<f32>,
    top1: usize,
}

fn references(model: &Path) -> Result<Vec<Reference>> {
    let text = std::fs::read_to_string(model.join("reference.jsonl"))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line)?;
            Ok(Reference {
                file: v["file"].as_str().context("file")?.to_owned(),
                logits: v["logits"]
                    .as_array()
                    .context("logits")?
                    .iter()
                    .filter_map(|x| x.as_f64().map(|x| x as f32))
                    .collect(),
                top1: v["top1"].as_u64().context("top1")? as usize,
            })
        })
        .collect()
}

/// timm's preprocessed tensors, by file name.
fn inputs(model: &Path) -> Result<HashMap<String, Vec<f32>>> {
    let bytes = std::fs::read(model.join("inputs.safetensors"))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)?;
    Ok(st
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let data = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            (name, data)
        })
        .collect())
}

/// The file's pixels as PIL's `Image.open(f).convert("RGB")` gives them: alpha dropped, not
/// composited (timm's `ImageDataset`), which is what the reference logits saw.
fn rgb_pixels(path: &Path) -> Result<(u32, u32, Vec<u8>)> {
    let img = decode::decode(&std::fs::read(path)?)?;
    let data = match img.format {
        model_wasm::image::PixelFormat::Rgb8 => img.data,
        model_wasm::image::PixelFormat::Rgba8 => img
            .data
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
    };
    Ok((img.width, img.height, data))
}

fn rel_l2(ours: &[f32], reference: &[f32]) -> f64 {
    let diff: f64 = ours
        .iter()
        .zip(reference)
        .map(|(a, b)| f64::from(a - b).powi(2))
        .sum();
    let norm: f64 = reference.iter().map(|b| f64::from(*b).powi(2)).sum();
    (diff / norm).sqrt()
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len())
        .max_by(|&a, &b| v[a].total_cmp(&v[b]))
        .unwrap_or(0)
}

/// How often the top-1 is PyTorch's, and the worst relative L2 distance of the logits.
#[derive(Debug, Default, Clone, Copy)]
struct Agreement {
    same: usize,
    worst: f64,
}

/// `model` against the references, fed timm's tensors and then the files decoded here.
struct Comparison {
    inputs: Agreement,
    files: Agreement,
    n: usize,
    /// The decoded files that are PNG or BMP, and how many there are.
    lossless: Agreement,
    lossless_n: usize,
}

impl Comparison {
    /// "top-1 = PyTorch's on k/n timm inputs (max rel L2 …), k/n decoded files (…)".
    fn summary(&self) -> String {
        let Self {
            inputs, files, n, ..
        } = self;
        format!(
            "top-1 = PyTorch's on {}/{n} timm inputs (max rel L2 {:.2e}), {}/{n} decoded files \
             (max rel L2 {:.2e})",
            inputs.same, inputs.worst, files.same, files.worst
        )
    }
}

fn compare(model: &ImageClassifier, dir: &Path, images: &Path) -> Result<Comparison> {
    let refs = references(dir)?;
    let inputs = inputs(dir)?;
    let (mut from_inputs, mut from_files) = (Agreement::default(), Agreement::default());
    let (mut lossless, mut lossless_n) = (Agreement::default(), 0);
    for r in &refs {
        let x = inputs.get(&r.file).context("input tensor")?;
        let logits = model.logits_of_input(x)?;
        from_inputs.same += usize::from(argmax(&logits) == r.top1);
        from_inputs.worst = from_inputs.worst.max(rel_l2(&logits, &r.logits));

        let (w, h, rgb) = rgb_pixels(&images.join(&r.file))?;
        let logits = model.logits(&PixelBuffer::rgb(w, h, &rgb)?)?;
        let same = argmax(&logits) == r.top1;
        let err = rel_l2(&logits, &r.logits);
        if !same || err > 1e-3 {
            eprintln!("  {}: top-1 {same}, relative L2 {err:.2e}", r.file);
        }
        from_files.same += usize::from(same);
        from_files.worst = from_files.worst.max(err);
        if lossless_file(&r.file) {
            lossless_n += 1;
            lossless.same += usize::from(same);
            lossless.worst = lossless.worst.max(err);
        }
    }
    Ok(Comparison {
        inputs: from_inputs,
        files: from_files,
        n: refs.len(),
        lossless,
        lossless_n,
    })
}

#[test]
fn float_import_reproduces_pytorch_from_tensors_and_from_files() -> Result<()> {
    let Some(root) = fixtures() else {
        return Ok(());
    };
    for folder in [MODEL.to_owned(), format!("{MODEL}-bin"), RANDOM.to_owned()] {
        let dir = root.join(&folder);
        let model = import_image::float_classifier(&dir)?;
        let c = compare(&model, &dir, &root.join("images"))?;
        eprintln!("{folder} float: {}", c.summary());
        let (ti, te, fi, n) = (c.inputs.same, c.inputs.worst, c.files.same, c.n);
        assert_eq!(ti, n, "{folder}: top-1 from timm's inputs");
        assert!(
            te < 1e-4,
            "{folder}: logits from timm's inputs, rel L2 {te}"
        );
        assert_eq!(fi, n, "{folder}: top-1 from decoded files");
    }
    Ok(())
}

/// Lite1–4, every width, depth, input size, crop and interpolation read from timm's config:
/// PyTorch's top-1 on every input. Their random weights make logits that tie to 1e-3, so two
/// things are looser than for lite0: the logits' distance, since f32 sums in another order drift
/// further through 20–30 random blocks (measured 5.5e-5 … 2.3e-4); and the decoded files, where
/// only the lossless ones (PNG, BMP: the same pixels as timm's, checked by
/// `preprocessing_matches_timm_on_lossless_files`) must give the top-1, while a JPEG decoded by
/// another decoder (a level or two apart, then upscaled) may tip a near tie and is reported.
#[test]
fn float_import_of_lite1_to_lite4_reproduces_pytorch() -> Result<()> {
    let Some(root) = fixtures() else {
        return Ok(());
    };
    for folder in LARGER_RANDOM {
        let dir = root.join(folder);
        let model = import_image::float_classifier(&dir)?;
        let c = compare(&model, &dir, &root.join("images"))?;
        eprintln!(
            "{folder} float ({} px, {:?}): {}; lossless files {}/{}",
            model.spec().preprocessing.crop,
            model.spec().preprocessing.interpolation,
            c.summary(),
            c.lossless.same,
            c.lossless_n
        );
        assert_eq!(c.inputs.same, c.n, "{folder}: top-1 from timm's inputs");
        assert!(
            c.inputs.worst < 1e-3,
            "{folder}: logits from timm's inputs, rel L2 {}",
            c.inputs.worst
        );
        assert_eq!(
            c.lossless.same, c.lossless_n,
            "{folder}: top-1 from lossless files"
        );
    }
    Ok(())
}

/// Our resize and crop against timm's on the losslessly stored images (PNG, BMP: the decoders
/// agree there, so the pixels going into the resize are the same), for every input size, crop
/// and interpolation the fixtures have (lite0–2 bicubic at 224/240/260, lite3–4 bilinear at
/// 300/380).
#[test]
fn preprocessing_matches_timm_on_lossless_files() -> Result<()> {
    let Some(root) = fixtures() else {
        return Ok(());
    };
    for folder in [MODEL].into_iter().chain(LARGER_RANDOM) {
        let worst = preprocessing_difference(&root, folder)?;
        eprintln!("{folder}: max |ours − timm's| {worst:.2e} on the lossless files");
        assert!(
            worst < 1e-5,
            "{folder}: preprocessing differs from timm's by {worst}"
        );
    }
    Ok(())
}

/// The largest difference between our preprocessed tensor and timm's, over the lossless files.
fn preprocessing_difference(root: &Path, folder: &str) -> Result<f32> {
    let dir = root.join(folder);
    let model = import_image::float_classifier(&dir)?;
    let inputs = inputs(&dir)?;
    let mut worst = 0f32;
    for r in references(&dir)? {
        if !lossless_file(&r.file) {
            continue;
        }
        let (w, h, rgb) = rgb_pixels(&root.join("images").join(&r.file))?;
        let ours = model_wasm::image::preprocess::preprocess(
            &PixelBuffer::rgb(w, h, &rgb)?,
            &model.spec().preprocessing,
        );
        let theirs = &inputs[&r.file];
        // One 8-bit step is 2/255 ≈ 0.0078 after timm's normalisation.
        let diff = ours
            .iter()
            .zip(theirs)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        worst = worst.max(diff);
    }
    Ok(worst)
}

/// PNG and BMP: every decoder gives the same pixels (JPEG decoders differ in their IDCT and
/// chroma upsampling by a level or two).
fn lossless_file(file: &str) -> bool {
    !file.ends_with(".jpg")
}

/// Loads an imported folder as the worker will: spec from model.toml, weights checked; `mode`:
/// the products (the browser runs 8-bit files with 8-bit products).
fn load_folder(folder: &Path, mode: MatmulMode) -> Result<(ModelManifest, ImageClassifier)> {
    let manifest: ModelManifest =
        toml::from_str(&std::fs::read_to_string(folder.join("model.toml"))?)?;
    let spec = ImageModelSpec::from_manifest(&manifest)?;
    let file = manifest.weights().context("files")?;
    let bytes = std::fs::read(folder.join(&file.name))?;
    let model =
        ImageClassifier::from_model_bytes_with_spec(&file.name, &bytes, &file.sha256, &spec, mode)?;
    Ok((manifest, model))
}

/// Imports `dir` at 8 bits into `folder` and compares it with PyTorch, with f32 products and
/// with the browser's integer products; prints both.
fn eight_bit(dir: &Path, folder: &Path, images: &Path) -> Result<Vec<(MatmulMode, Comparison)>> {
    // The catalogue wants the folder named by its id.
    let id = folder.file_name().context("folder name")?.to_string_lossy();
    import_image::import(dir, &id, folder, false)?;
    let mut out = Vec::new();
    for mode in [MatmulMode::F32, MatmulMode::Int8] {
        let (manifest, model) = load_folder(folder, mode)?;
        assert_eq!(manifest.files[0].name, import_image::WEIGHTS_INT8);
        let c = compare(&model, dir, images)?;
        eprintln!(
            "{}: 8-bit weights, {mode:?} products: {}",
            dir.file_name().unwrap_or_default().to_string_lossy(),
            c.summary()
        );
        out.push((mode, c));
    }
    Ok(out)
}

/// Issue #13's target: the 8-bit import gives PyTorch's label on at least 98% of the inputs.
#[test]
fn eight_bit_import_keeps_pytorch_top1_and_writes_a_catalogue_folder() -> Result<()> {
    let Some(root) = fixtures() else {
        return Ok(());
    };
    let dir = root.join(MODEL);
    let images = root.join("images");
    let out = tempfile::tempdir()?;
    let folder = out.path().join("lite0-ten");
    let comparisons = eight_bit(&dir, &folder, &images)?;
    // The folder is a valid catalogue entry (ids, labels, digests, card).
    let entry = xtask::catalogue::read_folder(&folder)?;
    assert_eq!(entry.manifest.labels.len(), 10);
    assert_eq!(entry.manifest.labels[4].id, "hot dog");

    for (mode, c) in &comparisons {
        let n = c.n;
        assert!(n >= 100, "only {n} fixture inputs");
        for (what, same) in [
            ("timm inputs", c.inputs.same),
            ("decoded files", c.files.same),
        ] {
            assert!(
                same * 100 >= 98 * n,
                "{mode:?} products, {what}: PyTorch's top-1 on {same}/{n}, under 98%"
            );
        }
    }

    // `predict` on the folder and on the timm directory (imported in memory) agree; with
    // `--float` the folder runs the export's float weights, as the float import does.
    let image = images.join("owl.jpg");
    let (labels, a) = import_image::predict(&folder, &image, Run::AsBrowser)?;
    let (_, b) = import_image::predict(&dir, &image, Run::AsBrowser)?;
    assert_eq!(labels.len(), 10);
    assert_eq!(a, b);
    let float = import_image::float_classifier(&dir)?;
    let (w, h, rgb) = rgb_pixels(&image)?;
    let (_, from_folder) = import_image::predict(&folder, &image, Run::Float)?;
    assert_eq!(from_folder, float.logits(&PixelBuffer::rgb(w, h, &rgb)?)?);
    assert_ne!(from_folder, a);

    // eval.tsv: a correct float import scores what PyTorch's predictions score against its
    // planted labels (every 4th row labelled wrong: 75%).
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("eval_expected.json"))?)?;
    let rows = xtask::eval_tsv::read(&dir.join("eval.tsv"), float.labels())?;
    let mut correct = 0;
    for row in &rows {
        let (w, h, rgb) = rgb_pixels(&images.join(&row.input))?;
        let logits = float.logits(&PixelBuffer::rgb(w, h, &rgb)?)?;
        correct += usize::from(argmax(&logits) == row.label);
    }
    eprintln!("eval.tsv, float: {correct}/{}", rows.len());
    assert_eq!(
        (correct as u64, rows.len() as u64),
        (
            expected["correct"].as_u64().context("correct")?,
            expected["n"].as_u64().context("n")?
        )
    );
    Ok(())
}

/// The random network: the pictures differ by a few percent of the features' size and the
/// logits nearly tie, so rounding moves answers far more than in a trained model. Not the
/// issue's target (no team exports an untrained network); kept as a floor the quantisation must
/// not fall below.
#[test]
fn eight_bit_import_of_a_random_network() -> Result<()> {
    let Some(root) = fixtures() else {
        return Ok(());
    };
    let out = tempfile::tempdir()?;
    let comparisons = eight_bit(
        &root.join(RANDOM),
        &out.path().join("random"),
        &root.join("images"),
    )?;
    for (mode, c) in &comparisons {
        assert!(
            c.inputs.same * 100 >= RANDOM_FLOOR_PERCENT * c.n,
            "{mode:?} products: PyTorch's top-1 on {}/{}",
            c.inputs.same,
            c.n
        );
    }
    Ok(())
}

#[test]
fn float_import_writes_f32_weights_that_load_as_float() -> Result<()> {
    let Some(root) = fixtures() else {
        return Ok(());
    };
    let dir = root.join(format!("{MODEL}-bin"));
    let out = tempfile::tempdir()?;
    let folder = out.path().join("lite0-float");
    import_image::import(&dir, "lite0-float", &folder, true)?;
    let (manifest, _) = load_folder(&folder, MatmulMode::F32)?;
    let spec = ImageModelSpec::from_manifest(&manifest)?;
    let bytes = std::fs::read(folder.join(import_image::WEIGHTS_F32))?;
    let decoded = weights::decode_with_spec("f", &bytes, &spec)?;
    assert_eq!(decoded.precision, weights::Precision::F32);
    // Bit-identical to reading the timm folder directly: nothing is lost in the file.
    let direct = import_image::read_timm(&root.join(MODEL))?;
    assert_eq!(decoded.layers, direct.layers);
    Ok(())
}

/// `file:` and `field:` of an EXPECT.txt.
fn expectation(dir: &Path) -> Result<(String, Option<String>)> {
    let text = std::fs::read_to_string(dir.join("EXPECT.txt"))?;
    let get = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_owned()))
    };
    Ok((get("file:").context("file:")?, get("field:")))
}

fn refusal(from: &Path) -> String {
    let out = tempfile::tempdir().expect("temp dir");
    let folder = out.path().join("refused");
    let err = import_image::import(from, "refused", &folder, false)
        .expect_err("the import must be refused");
    assert!(
        !folder.exists(),
        "{}: the refusal wrote {}",
        from.display(),
        folder.display()
    );
    format!("{err:#}")
}

#[test]
fn unsupported_folders_are_refused_naming_the_file_and_the_field() -> Result<()> {
    let Some(root) = fixtures() else {
        return Ok(());
    };
    let Some(bad) = common::bad("timm-efficientnet-b0") else {
        return Ok(());
    };
    for case in ["timm-efficientnet-b0", "timm-num-classes-mismatch"] {
        let dir = bad.join(case);
        if !dir.is_dir() {
            common::cannot_run(&format!("no bad fixture {}", dir.display()));
            continue;
        }
        assert!(import_image::looks_like_timm(&dir), "{case}");
        let (file, field) = expectation(&dir)?;
        let err = refusal(&dir);
        eprintln!("{case}: {err}");
        assert!(err.contains(&file), "{case}: {err}");
        if let Some(field) = field {
            assert!(err.contains(&format!("`{field}`")), "{case}: {err}");
        }
    }

    // Faults made here from the good folder: no weights, damaged weights, no config.
    let good = root.join(MODEL);
    let tmp = tempfile::tempdir()?;
    let copy = |name: &str, files: &[&str]| -> Result<PathBuf> {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir)?;
        for f in files {
            std::fs::copy(good.join(f), dir.join(f))?;
        }
        Ok(dir)
    };
    let no_weights = copy("no-weights", &["config.json"])?;
    assert!(refusal(&no_weights).contains("model.safetensors"));
    let damaged = copy("damaged", &["config.json", "model.safetensors"])?;
    let bytes = std::fs::read(damaged.join("model.safetensors"))?;
    std::fs::write(damaged.join("model.safetensors"), &bytes[..bytes.len() / 2])?;
    let err = refusal(&damaged);
    assert!(
        err.contains("model.safetensors") && err.contains("damaged"),
        "{err}"
    );
    let no_config = copy("no-config", &["model.safetensors"])?;
    assert!(!import_image::looks_like_timm(&no_config));
    assert!(refusal(&no_config).contains("config.json"));
    Ok(())
}
