//! Reads and checks the model catalogue: one folder per model under `assets/models/`, each with a
//! `model.toml` ([`wire::catalog::ModelManifest`]). Every command that needs a model finds it
//! here by id, so adding a model is adding a folder.
//!
//! A folder is refused with a sentence naming the file and the field: an id that is not the
//! folder's name, a missing or damaged weight file (sha256 and size are checked), labels that
//! repeat, a card that is not there.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use wire::catalog::{
    fill_figures, Catalogue, CatalogueEntry, Localized, ModelFile, ModelManifest, TaskKind,
};

use crate::project::{root, sha256_hex};

/// The catalogue's folder.
pub fn dir() -> PathBuf {
    root().join("assets/models")
}

/// A model of the catalogue, with its folder.
#[derive(Debug, Clone)]
pub struct CatalogueModel {
    pub manifest: ModelManifest,
    pub folder: PathBuf,
}

impl CatalogueModel {
    /// The weights file's path and its recorded sha256.
    pub fn weights(&self) -> Result<(PathBuf, String)> {
        let file = self
            .manifest
            .weights()
            .with_context(|| format!("{} lists no [[files]]", self.manifest_path().display()))?;
        Ok((self.folder.join(&file.name), file.sha256.clone()))
    }

    /// The weights' bytes and their recorded sha256 (checked by the engine that loads them).
    pub fn weight_bytes(&self) -> Result<(Vec<u8>, String)> {
        let (path, sha256) = self.weights()?;
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        Ok((bytes, sha256))
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.folder.join("model.toml")
    }
}

/// Every model in `assets/models/`, checked, in list order.
pub fn load() -> Result<Vec<CatalogueModel>> {
    load_from(&dir())
}

/// Every model folder under `dir`, checked, in list order (`order`, then id).
pub fn load_from(dir: &Path) -> Result<Vec<CatalogueModel>> {
    load_checked(dir, Figures::Filled)
}

/// The catalogue as the eval commands read it: checked in everything but `[figures]`, which
/// may name metrics not measured yet (a new model's card sentence, before its first `--record`).
/// The build still refuses such a folder, so no page ever shows an unfilled figure.
pub fn load_to_measure() -> Result<Vec<CatalogueModel>> {
    load_checked(&dir(), Figures::MayWait)
}

/// Whether a folder's `[figures]` must already fill from its `[metrics]`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Figures {
    Filled,
    MayWait,
}

fn load_checked(dir: &Path, figures: Figures) -> Result<Vec<CatalogueModel>> {
    let mut models = Vec::new();
    let entries = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in entries {
        let folder = entry?.path();
        if folder.join("model.toml").is_file() {
            let model = read_folder_unchecked(&folder)?;
            check(&model, figures)?;
            models.push(model);
        } else if folder.is_dir() {
            bail!(
                "{} is a folder in the model catalogue without a model.toml; add one or move the folder out",
                folder.display()
            );
        }
    }
    ensure!(
        !models.is_empty(),
        "the model catalogue {} is empty",
        dir.display()
    );
    models.sort_by(|a, b| {
        (a.manifest.order, &a.manifest.id).cmp(&(b.manifest.order, &b.manifest.id))
    });
    Ok(models)
}

/// The model with this id.
pub fn model(id: &str) -> Result<CatalogueModel> {
    find(load()?, id)
}

/// The model with this id, read as the eval commands read it ([`load_to_measure`]).
pub fn model_to_measure(id: &str) -> Result<CatalogueModel> {
    find(load_to_measure()?, id)
}

fn find(models: Vec<CatalogueModel>, id: &str) -> Result<CatalogueModel> {
    let known: Vec<&str> = models.iter().map(|m| m.manifest.id.as_str()).collect();
    let known = known.join(", ");
    models
        .into_iter()
        .find(|m| m.manifest.id == id)
        .with_context(|| format!("no model `{id}` in the catalogue (it has: {known})"))
}

/// The first model of a task kind, for commands that default to "the shipped one".
pub fn first_of(task: TaskKind) -> Result<CatalogueModel> {
    load()?
        .into_iter()
        .find(|m| m.manifest.task == task)
        .with_context(|| format!("no {} model in the catalogue", task.as_str()))
}

/// Reads and checks one folder.
pub fn read_folder(folder: &Path) -> Result<CatalogueModel> {
    let model = read_folder_unchecked(folder)?;
    check(&model, Figures::Filled)?;
    Ok(model)
}

/// A folder's manifest before its files are checked: for the commands that write those files
/// (a new folder has no weights yet, so the checked catalogue cannot load).
pub fn read_folder_unchecked(folder: &Path) -> Result<CatalogueModel> {
    let path = folder.join("model.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest: ModelManifest = toml::from_str(&text)
        .with_context(|| format!("{} is not a valid model manifest", path.display()))?;
    Ok(CatalogueModel {
        manifest,
        folder: folder.to_owned(),
    })
}

fn check(model: &CatalogueModel, figures: Figures) -> Result<()> {
    let path = model.manifest_path();
    let m = &model.manifest;
    let folder_name = model
        .folder
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("");
    ensure!(
        m.id == folder_name,
        "{}: `id` is \"{}\" but the folder is named \"{folder_name}\"; they must match",
        path.display(),
        m.id
    );
    ensure!(
        valid_id(&m.id),
        "{}: `id` \"{}\" must be 1–40 lowercase letters, digits or dashes (it becomes a URL: /embed/<id>)",
        path.display(),
        m.id
    );
    ensure!(
        model.folder.join(&m.card).is_file(),
        "{}: `card` names {}, which is not in the folder",
        path.display(),
        m.card
    );
    check_labels(&path, m)?;
    if figures == Figures::Filled {
        filled_figures(m).with_context(|| format!("{}: `figures`", path.display()))?;
    }
    ensure!(
        !m.files.is_empty(),
        "{}: `files` is empty; list the weights file",
        path.display()
    );
    for file in &m.files {
        let file_path = model.folder.join(&file.name);
        let bytes = std::fs::read(&file_path).with_context(|| {
            format!(
                "{}: `files` names {}, which cannot be read",
                path.display(),
                file.name
            )
        })?;
        ensure!(
            bytes.len() as u64 == file.bytes,
            "{}: `files.bytes` of {} says {} but the file has {} bytes; re-run the command that wrote it",
            path.display(),
            file.name,
            file.bytes,
            bytes.len()
        );
        let actual = sha256_hex(&bytes);
        ensure!(
            actual == file.sha256,
            "{}: `files.sha256` of {} says {} but the file's sha256 is {actual}; re-run the command that wrote it",
            path.display(),
            file.name,
            file.sha256
        );
    }
    Ok(())
}

/// `figures` with each `{{key|format}}` replaced by the measured value from `metrics`: the
/// browser shows only numbers an eval command recorded.
fn filled_figures(m: &ModelManifest) -> Result<Option<Localized>> {
    let Some(figures) = &m.figures else {
        return Ok(None);
    };
    let fill = |text: &str| fill_figures(text, &m.metrics).map_err(anyhow::Error::msg);
    Ok(Some(Localized {
        en: fill(&figures.en)?,
        zh: fill(&figures.zh)?,
    }))
}

fn check_labels(path: &Path, m: &ModelManifest) -> Result<()> {
    match (&m.labels_in_file, m.labels.is_empty()) {
        (Some(_), false) => bail!(
            "{}: give either `labels` or `labels_in_file`, not both",
            path.display()
        ),
        (None, true) => bail!(
            "{}: `labels` is empty; a classifier needs at least two",
            path.display()
        ),
        (Some(listed), true) => ensure!(
            m.files.iter().any(|f| f.name == listed.file) && listed.count >= 2,
            "{}: `labels_in_file` must name one of `files` and count at least two labels",
            path.display()
        ),
        (None, false) => {
            ensure!(
                m.labels.len() >= 2,
                "{}: `labels` needs at least two",
                path.display()
            );
            let mut seen = HashSet::new();
            for label in &m.labels {
                ensure!(
                    valid_label_id(&label.id),
                    "{}: label id \"{}\" must be a non-empty single line of at most 64 characters",
                    path.display(),
                    label.id
                );
                ensure!(
                    seen.insert(label.id.as_str()),
                    "{}: label id \"{}\" appears twice",
                    path.display(),
                    label.id
                );
            }
        }
    }
    Ok(())
}

/// A catalogue id: 1–40 lowercase letters, digits or dashes, not starting with a dash.
pub fn valid_id(id: &str) -> bool {
    (1..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !id.starts_with('-')
}

fn valid_label_id(id: &str) -> bool {
    !id.trim().is_empty() && id.chars().count() <= 64 && !id.contains(['\n', '\r'])
}

/// A `[[files]]` entry for `bytes` about to be written as `name`: its sha256 and size.
pub fn model_file(name: &str, bytes: &[u8]) -> ModelFile {
    ModelFile {
        name: name.to_owned(),
        sha256: sha256_hex(bytes),
        bytes: bytes.len() as u64,
    }
}

/// Writes a model's weights file into `folder` (created if needed) and records it
/// ([`record_file`]). The shipped models' commands re-make their weights this way: their
/// `model.toml` and card are written by people (names in two languages, the training story,
/// measured figures), so only what the new bytes change is rewritten. A new folder is
/// `import-model`'s `write_folder`, with a manifest and card generated from the same
/// [`model_file`] entry.
pub fn write_model_file(folder: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    let path = folder.join(name);
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    record_file(folder, name, bytes)
}

/// Records a weight file just written into its folder's model.toml (`[[files]]`: sha256 and
/// size), keeping the file's comments. Outside the catalogue (a folder with no model.toml) it
/// writes `<file>.sha256` instead, as `sha256sum` would.
pub fn record_file(folder: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let file = model_file(name, bytes);
    let manifest = folder.join("model.toml");
    if !manifest.is_file() {
        let path = folder.join(format!("{name}.sha256"));
        return std::fs::write(&path, format!("{}  {name}\n", file.sha256))
            .with_context(|| format!("writing {}", path.display()));
    }
    edit_manifest(&manifest, |doc| {
        let files = doc
            .get_mut("files")
            .and_then(|f| f.as_array_of_tables_mut())
            .context("`files` is missing")?;
        let entry = files
            .iter_mut()
            .find(|t| t.get("name").and_then(|n| n.as_str()) == Some(name))
            .with_context(|| format!("`files` has no entry named {name}"))?;
        entry["sha256"] = toml_edit::value(file.sha256.as_str());
        entry["bytes"] = toml_edit::value(i64::try_from(file.bytes)?);
        Ok(())
    })
}

/// Replaces the `[metrics]` table of model `id` with `values` (the eval commands' `--record`).
pub fn record_metrics(id: &str, values: &toml::Table) -> Result<()> {
    record_metrics_in(&dir().join(id), values)
}

/// Replaces only the metrics whose keys start with `prefix` (a model measured on several
/// datasets: `en_accuracy`, `zh_accuracy`, …), keeping the others.
pub fn record_prefixed_metrics(id: &str, prefix: &str, values: &toml::Table) -> Result<()> {
    record_in(&dir().join(id), prefix, values)
}

/// [`record_metrics`] for the model folder `folder`, wherever it is.
pub fn record_metrics_in(folder: &Path, values: &toml::Table) -> Result<()> {
    record_in(folder, "", values)
}

fn record_in(folder: &Path, prefix: &str, values: &toml::Table) -> Result<()> {
    let manifest = folder.join("model.toml");
    edit_manifest(&manifest, |doc| {
        let mut table = toml_edit::Table::new();
        if let Some(old) = doc.get("metrics").and_then(toml_edit::Item::as_table) {
            for (key, item) in old.iter().filter(|(k, _)| !k.starts_with(prefix)) {
                table.insert(key, item.clone());
            }
        }
        for (key, value) in values {
            let text = toml::to_string(&toml::Table::from_iter([(key.clone(), value.clone())]))?;
            let parsed: toml_edit::DocumentMut = text.parse()?;
            if let Some(item) = parsed.get(key) {
                table.insert(key, item.clone());
            }
        }
        doc["metrics"] = toml_edit::Item::Table(table);
        Ok(())
    })?;
    eprintln!("recorded [metrics] in {}", manifest.display());
    Ok(())
}

/// Sets `[architecture] key = value` in the folder's model.toml (a shape the weights decide,
/// like a vocabulary grown in training).
pub fn set_architecture_count(folder: &Path, key: &str, value: usize) -> Result<()> {
    edit_manifest(&folder.join("model.toml"), |doc| {
        doc["architecture"][key] = toml_edit::value(i64::try_from(value)?);
        Ok(())
    })
}

fn edit_manifest(
    path: &Path,
    edit: impl FnOnce(&mut toml_edit::DocumentMut) -> Result<()>,
) -> Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    edit(&mut doc).with_context(|| format!("updating {}", path.display()))?;
    std::fs::write(path, doc.to_string()).with_context(|| format!("writing {}", path.display()))
}

/// What `/models/manifest.json` holds for these models.
pub fn browser_catalogue(models: &[CatalogueModel]) -> Result<Catalogue> {
    let mut catalogue = Catalogue::default();
    for model in models {
        let m = &model.manifest;
        let weights = m.weights().context("no weights")?;
        catalogue.models.push(CatalogueEntry {
            file: format!("{}/{}", m.id, weights.name),
            sha256: weights.sha256.clone(),
            bytes: weights.bytes,
            card_path: format!("{}/{}", m.id, m.card),
            manifest: ModelManifest {
                figures: filled_figures(m)?,
                // Where the float weights are on the importer's machine: a local path, of no
                // use to a browser and nobody else's business.
                source: None,
                ..m.clone()
            },
        });
    }
    Ok(catalogue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chinese_reader_answers_inside_the_sentiment_demo_not_in_its_own() {
        let models = load().expect("the shipped catalogue");
        let get = |id: &str| {
            models
                .iter()
                .find(|m| m.manifest.id == id)
                .map(|m| m.manifest.clone())
                .expect(id)
        };
        let (en, zh, image) = (get("sentiment"), get("sentiment-zh"), get("image"));
        assert!(zh.same_job(&en) && zh.reads_for(&en));
        assert!(!en.reads_for(&en), "a model does not read for itself");
        assert!(!image.reads_for(&en) && !image.same_job(&en));
        let mut english_too = zh.clone();
        english_too.languages.push("en".into());
        assert!(
            !english_too.reads_for(&en),
            "a second English reader is a model of its own, with its own demo"
        );
    }

    #[test]
    fn the_shipped_catalogue_reads_and_checks() {
        let models = load().expect("the shipped catalogue");
        let ids: Vec<&str> = models.iter().map(|m| m.manifest.id.as_str()).collect();
        assert_eq!(ids, ["sentiment", "image", "sentiment-zh"]);
        let catalogue = browser_catalogue(&models).expect("browser catalogue");
        let sentiment = catalogue.get("sentiment").expect("sentiment entry");
        assert_eq!(sentiment.file, "sentiment/sentiment-minilm-l6-sst2-q8.gguf");
        assert_eq!(sentiment.manifest.label_count(), 2);
        assert_eq!(
            catalogue.get("image").map(|e| e.manifest.label_count()),
            Some(1000)
        );
    }

    /// A copy of a shipped folder under `dir`, with `edit` applied to its model.toml.
    fn copy_with(dir: &Path, id: &str, edit: impl Fn(String) -> String) -> PathBuf {
        let source = super::dir().join("sentiment");
        let folder = dir.join(id);
        std::fs::create_dir_all(&folder).unwrap();
        for file in ["model.toml", "MODEL_CARD.md"] {
            std::fs::copy(source.join(file), folder.join(file)).unwrap();
        }
        // A small stand-in weights file, with its real digest and size written in.
        let weights = b"weights";
        std::fs::write(folder.join("sentiment-minilm-l6-sst2-q8.gguf"), weights).unwrap();
        let shipped = read_folder_unchecked(&source).unwrap().manifest.files[0].clone();
        let text = std::fs::read_to_string(folder.join("model.toml")).unwrap();
        let text = text
            .replace("id = \"sentiment\"", &format!("id = \"{id}\""))
            .replace(
                &format!("bytes = {}", shipped.bytes),
                &format!("bytes = {}", weights.len()),
            )
            .replace(&shipped.sha256, &sha256_hex(weights));
        std::fs::write(folder.join("model.toml"), edit(text)).unwrap();
        folder
    }

    #[test]
    fn a_copied_folder_joins_under_its_own_id() {
        let dir = tempfile::tempdir().unwrap();
        copy_with(dir.path(), "reviews", |t| t);
        let models = load_from(dir.path()).expect("loads");
        assert_eq!(models[0].manifest.id, "reviews");
    }

    #[test]
    fn a_broken_folder_is_refused_with_the_field_named() {
        // (folder id, text in model.toml, replaced by, what the refusal must say)
        let cases = [
            ("reviews", "id = \"reviews\"", "id = \"other\"", "`id`"),
            ("reviews", "bytes = 7", "bytes = 8", "`files.bytes`"),
            (
                "reviews",
                "id = \"positive\"",
                "id = \"negative\"",
                "appears twice",
            ),
            ("reviews", "MODEL_CARD.md", "CARD.md", "`card`"),
            ("reviews", "(F1 {{f1}})", "(F1 {{f2}})", "`figures`"),
            ("Bad_Id", "", "", "lowercase"),
        ];
        for (id, from, to, expected) in cases {
            let dir = tempfile::tempdir().unwrap();
            copy_with(dir.path(), id, |t| {
                if from.is_empty() {
                    t
                } else {
                    t.replace(from, to)
                }
            });
            let message = format!("{:#}", load_from(dir.path()).expect_err("refused"));
            assert!(
                message.contains(expected) && message.contains("model.toml"),
                "{message}"
            );
        }
    }

    #[test]
    fn figures_may_wait_for_their_first_measurement_but_the_build_refuses_them() {
        let dir = tempfile::tempdir().unwrap();
        let folder = copy_with(dir.path(), "reviews", |t| {
            t.replace("(F1 {{f1}})", "(F1 {{f2}})")
        });
        let measured = load_checked(dir.path(), Figures::MayWait).expect("eval can read it");
        assert_eq!(measured[0].manifest.id, "reviews");
        assert!(
            load_from(dir.path()).is_err(),
            "an unfilled figure never reaches a page"
        );
        let mut values = toml::Table::new();
        values.insert("f2".into(), 0.5.into());
        record_in(&folder, "f2", &values).expect("records");
        load_from(dir.path()).expect("filled once measured");
    }

    #[test]
    fn recording_a_file_and_metrics_keeps_the_manifest_readable() {
        let dir = tempfile::tempdir().unwrap();
        let folder = copy_with(dir.path(), "reviews", |t| t);
        let weights = b"retrained weights";
        std::fs::write(folder.join("sentiment-minilm-l6-sst2-q8.gguf"), weights).unwrap();
        record_file(&folder, "sentiment-minilm-l6-sst2-q8.gguf", weights).unwrap();
        let model = read_folder(&folder).expect("reads after the digest is recorded");
        assert_eq!(model.manifest.files[0].bytes, weights.len() as u64);
        let text = std::fs::read_to_string(folder.join("model.toml")).unwrap();
        assert!(text.starts_with("# The catalogue entry"), "comments kept");
    }

    #[test]
    fn a_damaged_weights_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let folder = copy_with(dir.path(), "reviews", |t| t);
        std::fs::write(folder.join("sentiment-minilm-l6-sst2-q8.gguf"), b"weightz").unwrap();
        let message = format!("{:#}", load_from(dir.path()).expect_err("refused"));
        assert!(message.contains("`files.sha256`"), "{message}");
    }
}
