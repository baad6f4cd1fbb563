//! What a text model is, read from its catalogue entry (`assets/models/<id>/model.toml`): the
//! encoder's shape, the labels in output order, and how its outputs become probabilities. The
//! engine builds every text model from this, so adding a BERT-shaped classifier is adding a
//! folder, not code.

use thiserror::Error;
use wire::catalog::{ModelManifest, TaskKind, Value};

use super::bert::BertConfig;
use crate::int8_matmul::MatmulMode;

/// Tokens the model reads when the manifest does not say (special tokens included).
pub const DEFAULT_MAX_TOKENS: usize = 128;
/// BERT's LayerNorm epsilon, for manifests that do not name one.
pub const DEFAULT_LAYER_NORM_EPS: f64 = 1e-12;

/// A text classifier as the catalogue describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TextModelSpec {
    pub config: BertConfig,
    /// Label ids in the order of the model's outputs (row `i` of the classifier head is
    /// `labels[i]`).
    pub labels: Vec<String>,
    /// Labels are independent (element-wise sigmoid) rather than exclusive (softmax).
    pub multi_label: bool,
    /// Longest input the model reads, special tokens included; longer texts are truncated.
    pub max_tokens: usize,
    /// How the encoder's token vectors become one sentence vector for the head.
    pub pooling: Pooling,
    /// Whether the 8-bit weights multiply 8-bit activations ([`MatmulMode::Int8`], about 3×
    /// faster in the browser) or f32 ones. Some models lose labels to 8-bit activations: import-
    /// model measures that and only turns it on where the answers stay the float model's.
    pub int8_activations: bool,
    /// The languages the model reads (ISO 639-1, from the manifest); text in another script gets
    /// no label ([`super::reading`]). Empty: any script.
    pub languages: Vec<String>,
}

/// The sentence vector the head reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// The mean of the token vectors (sentence-transformers; the shipped sentiment model).
    Mean,
    /// `[CLS]`'s vector through the pooler (dense + tanh): `BertForSequenceClassification`.
    ClsPooler,
}

/// Why a manifest does not describe a text model this engine can build. Each message names the
/// table and key to fix; [`crate::ModelError::Manifest`] prefixes it with `model.toml:`.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SpecError {
    #[error("`task` is \"{0}\"; the text engine runs \"text-classification\" models")]
    WrongTask(&'static str),
    #[error("[{table}] `{key}` is missing")]
    Missing {
        table: &'static str,
        key: &'static str,
    },
    #[error("[{table}] `{key}` must be {expected} (it is {found})")]
    Invalid {
        table: &'static str,
        key: &'static str,
        expected: &'static str,
        found: String,
    },
    #[error("[architecture] `heads` must divide `hidden` ({hidden} / {heads})")]
    HeadsDoNotDivide { hidden: usize, heads: usize },
    #[error(
        "[preprocessing] `max_tokens` ({max_tokens}) must be at most [architecture] \
         `max_positions` ({max_positions})"
    )]
    TooManyTokens {
        max_tokens: usize,
        max_positions: usize,
    },
    #[error("[[labels]] lists {0} label(s); a single-label (softmax) classifier needs at least 2")]
    TooFewLabels(usize),
    #[error("[[labels]] is empty: a text model lists its labels in model.toml, not in a file")]
    NoLabels,
}

const ARCH: &str = "architecture";
const PRE: &str = "preprocessing";

impl TextModelSpec {
    /// Reads and checks the manifest's `[architecture]` and `[preprocessing]` tables; a missing
    /// or invalid key is [`crate::ModelError::Manifest`], naming it.
    pub fn from_manifest(manifest: &ModelManifest) -> Result<Self, crate::ModelError> {
        Ok(Self::read(manifest)?)
    }

    fn read(manifest: &ModelManifest) -> Result<Self, SpecError> {
        if manifest.task != TaskKind::TextClassification {
            return Err(SpecError::WrongTask(manifest.task.as_str()));
        }
        let arch = Keys {
            table: ARCH,
            values: &manifest.architecture,
        };
        let pre = Keys {
            table: PRE,
            values: &manifest.preprocessing,
        };
        arch.expect_text("family", "bert")?;
        arch.expect_text("activation", "gelu")?;
        let config = BertConfig {
            vocab_size: arch.count("vocab")?,
            hidden: arch.count("hidden")?,
            layers: arch.count("layers")?,
            heads: arch.count("heads")?,
            intermediate: arch.count("intermediate")?,
            max_positions: arch.count("max_positions")?,
            layer_norm_eps: arch.positive_float("layer_norm_eps", DEFAULT_LAYER_NORM_EPS)?,
        };
        if !config.hidden.is_multiple_of(config.heads) {
            return Err(SpecError::HeadsDoNotDivide {
                hidden: config.hidden,
                heads: config.heads,
            });
        }
        let multi_label = arch.flag("multi_label", false)?;
        let int8_activations = arch.flag("int8_activations", true)?;
        let pooling = match manifest.architecture.get("pooling") {
            None => Pooling::Mean,
            Some(Value::Text(p)) if p == "mean" => Pooling::Mean,
            Some(Value::Text(p)) if p == "cls" => Pooling::ClsPooler,
            Some(other) => {
                return Err(arch.invalid(
                    "pooling",
                    "\"mean\" or \"cls\" ([CLS] through the pooler)",
                    other,
                ))
            }
        };
        let max_tokens = pre.count_or("max_tokens", DEFAULT_MAX_TOKENS)?;
        // [CLS] and [SEP] alone take two; fewer leaves no room for a word.
        if max_tokens < 3 {
            return Err(SpecError::Invalid {
                table: PRE,
                key: "max_tokens",
                expected: "at least 3 ([CLS], a word, [SEP])",
                found: max_tokens.to_string(),
            });
        }
        if max_tokens > config.max_positions {
            return Err(SpecError::TooManyTokens {
                max_tokens,
                max_positions: config.max_positions,
            });
        }
        let labels: Vec<String> = manifest.labels.iter().map(|l| l.id.clone()).collect();
        if labels.is_empty() {
            return Err(SpecError::NoLabels);
        }
        if !multi_label && labels.len() < 2 {
            return Err(SpecError::TooFewLabels(labels.len()));
        }
        Ok(Self {
            config,
            labels,
            multi_label,
            max_tokens,
            pooling,
            int8_activations,
            languages: manifest.languages.clone(),
        })
    }

    /// How this model's 8-bit matrices are multiplied on the CPU.
    pub fn matmul_mode(&self) -> MatmulMode {
        if self.int8_activations {
            MatmulMode::Int8
        } else {
            MatmulMode::F32
        }
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.config.hidden / self.config.heads
    }
}

/// One table of the manifest, read key by key with errors that name the key.
struct Keys<'a> {
    table: &'static str,
    values: &'a wire::catalog::Table,
}

impl Keys<'_> {
    fn invalid(&self, key: &'static str, expected: &'static str, found: &Value) -> SpecError {
        SpecError::Invalid {
            table: self.table,
            key,
            expected,
            found: describe(found),
        }
    }

    fn get(&self, key: &'static str) -> Result<&Value, SpecError> {
        self.values.get(key).ok_or(SpecError::Missing {
            table: self.table,
            key,
        })
    }

    fn expect_text(&self, key: &'static str, want: &'static str) -> Result<(), SpecError> {
        let expected = match want {
            "bert" => "\"bert\" (the only text family this engine builds)",
            "gelu" => "\"gelu\" (the only activation this engine implements)",
            _ => "a known value",
        };
        match self.get(key)? {
            Value::Text(text) if text == want => Ok(()),
            other => Err(self.invalid(key, expected, other)),
        }
    }

    /// A positive whole number. JSON through JS has one number type, so an integral float is
    /// accepted as well (a manifest that crossed into the browser says `6.0` for `6` there).
    fn count(&self, key: &'static str) -> Result<usize, SpecError> {
        let value = self.get(key)?;
        let whole = match value {
            Value::Int(n) => Some(*n),
            Value::Float(x) if x.fract() == 0.0 && x.abs() < 9e15 => Some(*x as i64),
            _ => None,
        };
        whole
            .filter(|&n| n > 0)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| self.invalid(key, "a whole number above 0", value))
    }

    fn count_or(&self, key: &'static str, default: usize) -> Result<usize, SpecError> {
        if self.values.contains_key(key) {
            self.count(key)
        } else {
            Ok(default)
        }
    }

    fn positive_float(&self, key: &'static str, default: f64) -> Result<f64, SpecError> {
        let Some(value) = self.values.get(key) else {
            return Ok(default);
        };
        let x = match value {
            Value::Float(x) => *x,
            Value::Int(n) => *n as f64,
            other => return Err(self.invalid(key, "a number above 0", other)),
        };
        if x > 0.0 && x.is_finite() {
            Ok(x)
        } else {
            Err(self.invalid(key, "a number above 0", value))
        }
    }

    fn flag(&self, key: &'static str, default: bool) -> Result<bool, SpecError> {
        match self.values.get(key) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.invalid(key, "true or false", other)),
        }
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Float(x) => x.to_string(),
        Value::Text(s) => format!("\"{s}\""),
        Value::Numbers(xs) => format!("a list of {} numbers", xs.len()),
        Value::Rows(rows) => format!("a table of {} rows", rows.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::catalog::{Label, Localized, LocalizedList, ModelFile, Table};

    fn text(s: &str) -> Value {
        Value::Text(s.to_owned())
    }

    fn manifest(labels: &[&str]) -> ModelManifest {
        let localized = || Localized {
            en: "x".into(),
            zh: "x".into(),
        };
        let mut architecture = Table::new();
        for (key, value) in [
            ("family", text("bert")),
            ("activation", text("gelu")),
            ("layers", Value::Int(6)),
            ("hidden", Value::Int(384)),
            ("heads", Value::Int(12)),
            ("intermediate", Value::Int(1536)),
            ("vocab", Value::Int(30522)),
            ("max_positions", Value::Int(512)),
            ("multi_label", Value::Bool(false)),
        ] {
            architecture.insert(key.to_owned(), value);
        }
        let mut preprocessing = Table::new();
        preprocessing.insert("max_tokens".into(), Value::Int(128));
        preprocessing.insert("lowercase".into(), Value::Bool(true));
        ModelManifest {
            id: "m".into(),
            task: TaskKind::TextClassification,
            order: 1,
            card: "MODEL_CARD.md".into(),
            languages: vec!["en".into()],
            name: localized(),
            description: localized(),
            quantization: localized(),
            labels: labels
                .iter()
                .map(|id| Label {
                    id: (*id).to_owned(),
                    en: (*id).to_owned(),
                    zh: (*id).to_owned(),
                    polarity: None,
                })
                .collect(),
            labels_in_file: None,
            files: vec![ModelFile {
                name: "m.gguf".into(),
                sha256: "0".repeat(64),
                bytes: 1,
            }],
            architecture,
            preprocessing,
            examples: LocalizedList::default(),
            metrics: Table::new(),
            title: None,
            credit: None,
            figures: None,
            source: None,
        }
    }

    fn error_of(edit: impl FnOnce(&mut ModelManifest)) -> String {
        let mut m = manifest(&["negative", "positive"]);
        edit(&mut m);
        match TextModelSpec::from_manifest(&m) {
            Ok(spec) => panic!("accepted: {spec:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn pooling_is_mean_unless_the_manifest_says_cls() {
        let mut m = manifest(&["a", "b"]);
        assert_eq!(
            TextModelSpec::from_manifest(&m).unwrap().pooling,
            Pooling::Mean
        );
        m.architecture
            .insert("pooling".into(), Value::Text("cls".into()));
        assert_eq!(
            TextModelSpec::from_manifest(&m).unwrap().pooling,
            Pooling::ClsPooler
        );
        let err = error_of(|m| {
            m.architecture
                .insert("pooling".into(), Value::Text("max".into()));
        });
        assert!(
            err.contains("`pooling`") && err.contains("\"max\""),
            "{err}"
        );
    }

    #[test]
    fn the_sentiment_manifest_gives_minilm_with_two_labels() {
        let spec = TextModelSpec::from_manifest(&manifest(&["negative", "positive"])).unwrap();
        assert_eq!(spec.labels, ["negative", "positive"]);
        assert!(!spec.multi_label);
        assert_eq!(spec.max_tokens, 128);
        assert_eq!(spec.head_dim(), 32);
        let c = spec.config;
        assert_eq!(
            (c.vocab_size, c.hidden, c.layers, c.heads, c.intermediate),
            (30522, 384, 6, 12, 1536)
        );
        assert_eq!((c.max_positions, c.layer_norm_eps), (512, 1e-12));
    }

    #[test]
    fn defaults_and_json_numbers_are_accepted() {
        let mut m = manifest(&["a", "b", "c"]);
        m.architecture.remove("multi_label");
        m.preprocessing.clear();
        // As a manifest that went through JS arrives: whole numbers as floats.
        m.architecture.insert("layers".into(), Value::Float(2.0));
        m.architecture
            .insert("layer_norm_eps".into(), Value::Float(1e-5));
        let spec = TextModelSpec::from_manifest(&m).unwrap();
        assert_eq!(spec.labels.len(), 3);
        assert_eq!(spec.max_tokens, DEFAULT_MAX_TOKENS);
        assert_eq!((spec.config.layers, spec.config.layer_norm_eps), (2, 1e-5));
        assert!(!spec.multi_label);
    }

    #[test]
    fn a_multi_label_model_may_have_one_label() {
        let mut m = manifest(&["toxic"]);
        m.architecture
            .insert("multi_label".into(), Value::Bool(true));
        assert!(TextModelSpec::from_manifest(&m).unwrap().multi_label);
    }

    #[test]
    fn each_bad_key_is_named() {
        type Edit = Box<dyn FnOnce(&mut ModelManifest)>;
        let cases: Vec<(Edit, &str)> = vec![
            (
                Box::new(|m| m.task = TaskKind::ImageClassification),
                "model.toml: `task` is \"image-classification\"",
            ),
            (
                Box::new(|m| {
                    m.architecture.remove("heads");
                }),
                "model.toml: [architecture] `heads` is missing",
            ),
            (
                Box::new(|m| {
                    m.architecture.insert("heads".into(), Value::Int(5));
                }),
                "model.toml: [architecture] `heads` must divide `hidden` (384 / 5)",
            ),
            (
                Box::new(|m| {
                    m.architecture.insert("layers".into(), Value::Int(0));
                }),
                "[architecture] `layers` must be a whole number above 0 (it is 0)",
            ),
            (
                Box::new(|m| {
                    m.architecture.insert("hidden".into(), text("384"));
                }),
                "[architecture] `hidden` must be a whole number above 0 (it is \"384\")",
            ),
            (
                Box::new(|m| {
                    m.architecture.insert("family".into(), text("gpt2"));
                }),
                "[architecture] `family` must be \"bert\"",
            ),
            (
                Box::new(|m| {
                    m.architecture.insert("activation".into(), text("relu"));
                }),
                "[architecture] `activation` must be \"gelu\"",
            ),
            (
                Box::new(|m| {
                    m.architecture.insert("multi_label".into(), Value::Int(1));
                }),
                "[architecture] `multi_label` must be true or false",
            ),
            (
                Box::new(|m| {
                    m.architecture
                        .insert("layer_norm_eps".into(), Value::Float(-1.0));
                }),
                "[architecture] `layer_norm_eps` must be a number above 0",
            ),
            (
                Box::new(|m| {
                    m.preprocessing
                        .insert("max_tokens".into(), Value::Int(1000));
                }),
                "[preprocessing] `max_tokens` (1000) must be at most [architecture] `max_positions` (512)",
            ),
            (
                Box::new(|m| m.labels.truncate(1)),
                "[[labels]] lists 1 label(s)",
            ),
            (Box::new(|m| m.labels.clear()), "[[labels]] is empty"),
        ];
        for (edit, want) in cases {
            let got = error_of(edit);
            assert!(got.contains(want), "{got:?} should contain {want:?}");
        }
    }

    /// The shipped manifest, as the site build hands it to the worker: a catalogue entry in
    /// JSON, whole numbers written as floats where JS would (`6.0`).
    #[test]
    fn the_shipped_entry_through_json_gives_the_same_spec() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../assets/models/sentiment/model.toml");
        let text =
            std::fs::read_to_string(&path).expect("the shipped manifest is in the repository");
        let manifest: ModelManifest = toml::from_str(&text).unwrap();
        let from_toml = TextModelSpec::from_manifest(&manifest).unwrap();
        let mut json = serde_json::to_value(wire::catalog::CatalogueEntry {
            manifest,
            file: "sentiment/m.gguf".into(),
            sha256: "0".repeat(64),
            bytes: 1,
            card_path: "sentiment/MODEL_CARD.md".into(),
        })
        .unwrap();
        json["architecture"]["layers"] = serde_json::json!(6.0);
        let entry: wire::catalog::CatalogueEntry = serde_json::from_value(json).unwrap();
        assert_eq!(entry.file, "sentiment/m.gguf");
        assert_eq!(
            TextModelSpec::from_manifest(&entry.manifest).unwrap(),
            from_toml
        );
        assert_eq!(from_toml.labels, ["negative", "positive"]);
    }
}
