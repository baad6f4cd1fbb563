//! `cargo xtask import-model --from DIR --id ID [--eval FILE [--dir IMAGES]]`: a team's own
//! classifier into the window. Reads what people export:
//! - a Hugging Face Transformers directory of `BertForSequenceClassification` ([`import_text`]);
//! - a timm directory of `tf_efficientnet_lite0` … `lite4` ([`crate::import_image`]).
//!
//! It quantises to the shipped 8-bit format and writes the catalogue folder
//! `assets/models/<ID>/` (weights with sha256 and size, `model.toml`, a generated model card);
//! with `--eval` it measures accuracy, macro-F1, per-label recall and the confusion matrix on a
//! labelled TSV and records them. Anything unsupported is refused, naming the file and the field,
//! before anything is written.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use wire::catalog::{Localized, LocalizedList, ModelManifest};

use crate::import_text;
use crate::{catalogue, eval_tsv};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The exported model directory.
    #[arg(long)]
    pub from: PathBuf,
    /// The catalogue id: 1–40 lowercase letters, digits or dashes (it becomes `/embed/<id>`).
    #[arg(long)]
    pub id: String,
    /// A labelled TSV to measure on: `text<TAB>label` (or `filename<TAB>label` with `--dir`),
    /// labels by name or index.
    #[arg(long)]
    pub eval: Option<PathBuf>,
    /// Where the images named in `--eval` are.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The display name (default: the id).
    #[arg(long)]
    pub name: Option<String>,
    /// Languages a text model reads, ISO 639-1, comma-separated.
    #[arg(long, default_value = "en", value_delimiter = ',')]
    pub languages: Vec<String>,
    /// Where the folder goes (default: `assets/models/<ID>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing folder of that id.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: Args) -> Result<()> {
    ensure!(
        catalogue::valid_id(&args.id),
        "--id \"{}\" must be 1–40 lowercase letters, digits or dashes (it becomes a URL: /embed/<id>)",
        args.id
    );
    let folder = args
        .out
        .clone()
        .unwrap_or_else(|| catalogue::dir().join(&args.id));
    ensure!(
        args.force || !folder.exists(),
        "{} exists already; pass --force to replace it",
        folder.display()
    );
    let config = args.from.join("config.json");
    ensure!(
        config.is_file(),
        "{}: no config.json: import-model needs it for the architecture and the labels",
        config.display()
    );
    if import_text::looks_like_transformers(&args.from) {
        import_text_model(&args, &folder)
    } else if crate::import_image::looks_like_timm(&args.from) {
        import_image_model(&args, &folder)
    } else {
        bail!(
            "{}: neither `architectures` (a Transformers export) nor `architecture` (a timm \
             export) is there; import-model reads BertForSequenceClassification and \
             tf_efficientnet_lite0–4",
            config.display()
        )
    }
}

fn import_text_model(args: &Args, folder: &Path) -> Result<()> {
    let ckpt = import_text::read(&args.from)?;
    let file_name = format!("{}-q8.gguf", args.id);
    let display = args.name.clone().unwrap_or_else(|| args.id.clone());
    let bytes = import_text::gguf_bytes(&ckpt, &display, false)?;
    let naming = import_text::Naming {
        id: &args.id,
        display: &display,
        languages: &args.languages,
        from: &args.from,
    };
    let mut manifest = import_text::manifest(&naming, &ckpt, &file_name, &bytes);
    let classifier = import_text::classifier(&manifest, &file_name, &bytes)?;
    if let Some(eval) = &args.eval {
        let rows = eval_tsv::read(eval, &ckpt.shape.labels)?;
        let texts: Vec<&str> = rows.iter().map(|r| r.input.as_str()).collect();
        let predicted = import_text::predicted_indices(&classifier, &texts)?;
        choose_activations(&mut manifest, &ckpt, &file_name, &bytes, &texts, &predicted)?;
        let classifier = import_text::classifier(&manifest, &file_name, &bytes)?;
        let predicted = import_text::predicted_indices(&classifier, &texts)?;
        let scores = eval_tsv::score(&rows, &predicted, ckpt.shape.labels.len());
        let data = eval.file_name().map_or_else(
            || "the eval file".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        manifest.metrics = toml_table_to_wire(&scores.metrics(&data, &file_name))?;
        manifest.figures = Some(Localized {
            en: "{{accuracy|percent}} accuracy (macro-F1 {{macro_f1}}) on {{n|count}} labelled examples of {{data}}, measured on this 8-bit file.".into(),
            zh: "在 {{data}} 的 {{n|count}} 条标注样本上，此 8 位模型文件的准确率为 {{accuracy|percent}}（宏平均 F1 {{macro_f1}}）。".into(),
        });
        manifest.examples = examples_from(&rows);
        println!(
            "eval: accuracy {:.4}, macro-F1 {:.4} on {} rows of {}",
            scores.accuracy,
            scores.macro_f1,
            scores.n,
            eval.display()
        );
    }
    let card = import_text::card(&manifest, &naming, args.eval.as_deref(), &ckpt);
    write_folder(folder, &manifest, &[(&file_name, &bytes)], &card)?;
    println!(
        "wrote {} ({} labels, {:.2} MB)",
        folder.display(),
        ckpt.shape.labels.len(),
        bytes.len() as f64 / 1e6
    );
    Ok(())
}

fn import_image_model(args: &Args, folder: &Path) -> Result<()> {
    // The eval file is checked against the labels before anything is written.
    let eval = match (&args.eval, &args.dir) {
        (Some(eval), Some(dir)) => {
            let labels = crate::import_image::read_timm(&args.from)?.labels;
            let rows = eval_tsv::read(eval, &labels)?;
            for row in &rows {
                ensure!(
                    dir.join(&row.input).is_file(),
                    "{}: names {}, which is not in {}",
                    eval.display(),
                    row.input,
                    dir.display()
                );
            }
            Some((eval, dir, rows, labels.len()))
        }
        (Some(_), None) => {
            bail!("--eval of an image model needs --dir, the folder its file names are in")
        }
        (None, _) => None,
    };
    crate::import_image::import(&args.from, &args.id, folder, false)?;
    if let Some((eval, dir, rows, label_count)) = eval {
        let mut predicted = Vec::with_capacity(rows.len());
        for row in &rows {
            let (_, logits) = crate::import_image::predict(
                folder,
                &dir.join(&row.input),
                crate::predict::Run::AsBrowser,
            )?;
            predicted.push(
                logits
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(i, _)| i),
            );
        }
        let scores = eval_tsv::score(&rows, &predicted, label_count);
        let data = eval.file_name().map_or_else(
            || "the eval file".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        let weights = crate::import_image::WEIGHTS_INT8;
        catalogue::record_metrics_in(folder, &scores.metrics(&data, weights))?;
        println!(
            "eval: accuracy {:.4}, macro-F1 {:.4} on {} images of {}",
            scores.accuracy,
            scores.macro_f1,
            scores.n,
            eval.display()
        );
    }
    println!("wrote {}", folder.display());
    Ok(())
}

/// Turns on 8-bit activations (about 3× faster in the browser) only if, on the eval inputs,
/// they give the float weights' label everywhere the f32-activation path does.
fn choose_activations(
    manifest: &mut ModelManifest,
    ckpt: &import_text::TextCheckpoint,
    file_name: &str,
    bytes: &[u8],
    texts: &[&str],
    f32_activations: &[Option<usize>],
) -> Result<()> {
    let float_bytes = import_text::gguf_bytes(ckpt, "float", true)?;
    let float = import_text::classifier(manifest, "float weights", &float_bytes)?;
    let reference = import_text::predicted_indices(&float, texts)?;
    let mut int8 = manifest.clone();
    int8.architecture
        .insert("int8_activations".into(), wire::catalog::Value::Bool(true));
    let fast = import_text::classifier(&int8, file_name, bytes)?;
    let with_int8 = import_text::predicted_indices(&fast, texts)?;
    let agree =
        |ours: &[Option<usize>]| ours.iter().zip(&reference).filter(|(a, b)| a == b).count();
    let (slow, quick) = (agree(f32_activations), agree(&with_int8));
    let on = quick >= slow;
    println!(
        "8-bit weights keep the float label on {slow}/{n} eval inputs with f32 activations, {quick}/{n} with 8-bit ones: 8-bit activations {}",
        if on { "on (faster, nothing lost)" } else { "off (they would change answers)" },
        n = texts.len()
    );
    if on {
        *manifest = int8;
    }
    Ok(())
}

/// Up to four eval inputs, one per label first, as the demo's example chips.
fn examples_from(rows: &[eval_tsv::Row]) -> LocalizedList {
    let mut picked: Vec<&eval_tsv::Row> = Vec::new();
    for row in rows {
        let short = row.input.chars().count() <= 140 && !row.input.trim().is_empty();
        if short && picked.len() < 4 && !picked.iter().any(|p| p.label == row.label) {
            picked.push(row);
        }
    }
    let list: Vec<String> = picked.iter().map(|r| r.input.trim().to_owned()).collect();
    LocalizedList {
        en: list.clone(),
        zh: list,
    }
}

pub fn toml_table_to_wire(table: &toml::Table) -> Result<wire::catalog::Table> {
    Ok(toml::from_str(&toml::to_string(table)?)?)
}

/// Writes the folder: files first, the manifest last (a folder without a manifest is not in
/// the catalogue, so an interrupted write never ships), then checks it reads back.
pub fn write_folder(
    folder: &Path,
    manifest: &ModelManifest,
    files: &[(&str, &[u8])],
    card: &str,
) -> Result<()> {
    if folder.exists() {
        std::fs::remove_dir_all(folder)?;
    }
    std::fs::create_dir_all(folder)?;
    for (name, bytes) in files {
        std::fs::write(folder.join(name), bytes)?;
    }
    std::fs::write(folder.join(&manifest.card), card)?;
    let text = format!(
        "# Written by `cargo xtask import-model`. Edit the names, description, examples and\n\
         # credit freely; `files`, `architecture` and `metrics` are measured: re-import instead.\n\n{}",
        toml::to_string(manifest)?
    );
    std::fs::write(folder.join("model.toml"), text)?;
    catalogue::read_folder(folder).with_context(|| {
        format!(
            "the folder written at {} does not read back",
            folder.display()
        )
    })?;
    Ok(())
}
