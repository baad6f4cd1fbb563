//! The text half of `import-model`: a Hugging Face Transformers directory of
//! `BertForSequenceClassification` (BERT, MiniLM and other BERT-shaped models) → a catalogue
//! folder with the shipped 8-bit GGUF format.
//!
//! Everything is read and checked first ([`read`]): the config, every tensor's shape, the head
//! against `id2label`, and the tokenizer. Only a checkpoint that passes is written, so a refusal
//! never leaves half a folder behind.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::Tensor;
use model_wasm::text::spec::Pooling;
use serde_json::Value as Json;
use tokenizers::Tokenizer;

use wire::catalog::{Label, Localized, LocalizedList, ModelManifest, Polarity, TaskKind};

use crate::checkpoint::Checkpoint;

/// What the catalogue calls an imported model.
pub struct Naming<'a> {
    pub id: &'a str,
    pub display: &'a str,
    pub languages: &'a [String],
    /// The export directory it came from.
    pub from: &'a Path,
}

/// What `config.json` says about the model, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct BertShape {
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub layer_norm_eps: f64,
    pub multi_label: bool,
    /// Label names in output order (`id2label`).
    pub labels: Vec<String>,
    /// `BertForSequenceClassification` reads `[CLS]` through the pooler; a sentence-transformers
    /// encoder with a head of our own (the shipped sentiment model) the mean of the tokens, and
    /// has no pooler tensors to read.
    pub pooling: Pooling,
}

/// A checkpoint that passed every check, ready to write.
pub struct TextCheckpoint {
    pub shape: BertShape,
    /// Tensors under the names the engine reads (`embeddings.*`, `encoder.*`, `pooler.*`,
    /// `classifier.*`: the `bert.` prefix removed), in f32.
    pub tensors: BTreeMap<String, Tensor>,
    /// The tokenizer as JSON, with no padding and truncation at the model's length.
    pub tokenizer_json: String,
    /// Whether the tokenizer lowercases (for the manifest).
    pub lowercase: bool,
    /// Where the tokenizer truncates (special tokens included).
    pub max_tokens: usize,
    /// Which weights file it came from.
    pub weights_file: String,
    /// The GGUF header's `general.license`, when known.
    pub license: Option<String>,
    /// Whether the position table is stored Q8_0 too (see [`wants_q8`]): a per-model choice,
    /// because it was measured per model.
    pub q8_positions: bool,
}

/// Whether `dir` looks like a Transformers export (a config with `architectures`).
pub fn looks_like_transformers(dir: &Path) -> bool {
    read_json(&dir.join("config.json"))
        .map(|c| c.get("architectures").is_some())
        .unwrap_or(false)
}

pub fn read_json(path: &Path) -> Result<Json> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))
}

/// Reads and checks the whole directory.
pub fn read(dir: &Path) -> Result<TextCheckpoint> {
    let config_path = dir.join("config.json");
    ensure!(
        config_path.is_file(),
        "{}: no config.json: import-model needs it for the architecture and the labels",
        config_path.display()
    );
    let config = read_json(&config_path)?;
    let shape = bert_shape(&config).context("config.json")?;
    let checkpoint = Checkpoint::read(dir)?;
    let max_tokens = max_tokens(dir, &shape);
    let mut ckpt = checked(&checkpoint, shape, dir, max_tokens)?;
    // f32 positions for imports: measured on the fixtures (see [`wants_q8`]).
    ckpt.q8_positions = false;
    Ok(ckpt)
}

/// A BERT encoder with a linear head, every tensor checked against `shape`, with the tokenizer
/// of `tokenizer_dir` truncating at `max_tokens`. The import of an export ([`read`]) and the
/// shipped sentiment model's `quantize-sentiment` (a fine-tuned checkpoint whose shape is its
/// catalogue entry's) both come through here. Written with 8-bit positions and no licence
/// unless the caller says otherwise.
pub fn checked(
    checkpoint: &Checkpoint,
    shape: BertShape,
    tokenizer_dir: &Path,
    max_tokens: usize,
) -> Result<TextCheckpoint> {
    let tensors = bert_tensors(checkpoint, &shape)?;
    let (tokenizer_json, lowercase) = tokenizer(tokenizer_dir, &shape, max_tokens)?;
    Ok(TextCheckpoint {
        shape,
        tensors,
        tokenizer_json,
        lowercase,
        max_tokens,
        weights_file: checkpoint.file.clone(),
        license: None,
        q8_positions: true,
    })
}

fn bert_shape(config: &Json) -> Result<BertShape> {
    let architectures: Vec<&str> = config
        .get("architectures")
        .and_then(Json::as_array)
        .map(|a| a.iter().filter_map(Json::as_str).collect())
        .unwrap_or_default();
    ensure!(
        architectures == ["BertForSequenceClassification"],
        "`architectures` is {architectures:?} (model_type {}): import-model reads \
         BertForSequenceClassification (BERT, MiniLM and other BERT-shaped encoders) and \
         timm's tf_efficientnet_lite0–4",
        config
            .get("model_type")
            .and_then(Json::as_str)
            .unwrap_or("unknown")
    );
    let text = |key: &str, default: &str| -> String {
        config
            .get(key)
            .and_then(Json::as_str)
            .unwrap_or(default)
            .to_owned()
    };
    let activation = text("hidden_act", "gelu");
    ensure!(
        activation == "gelu",
        "`hidden_act` is \"{activation}\"; the engine runs exact (erf) GELU only"
    );
    let positions = text("position_embedding_type", "absolute");
    ensure!(
        positions == "absolute",
        "`position_embedding_type` is \"{positions}\"; only absolute position embeddings are supported"
    );
    let count = |key: &str| -> Result<usize> {
        let n = config
            .get(key)
            .and_then(Json::as_u64)
            .with_context(|| format!("`{key}` is missing or not a whole number"))?;
        ensure!(n > 0, "`{key}` is 0");
        Ok(n as usize)
    };
    let (hidden, heads) = (count("hidden_size")?, count("num_attention_heads")?);
    ensure!(
        hidden % heads == 0,
        "`num_attention_heads` ({heads}) does not divide `hidden_size` ({hidden})"
    );
    let labels = id2label(config)?;
    Ok(BertShape {
        layers: count("num_hidden_layers")?,
        hidden,
        heads,
        intermediate: count("intermediate_size")?,
        vocab: count("vocab_size")?,
        max_positions: count("max_position_embeddings")?,
        type_vocab: config
            .get("type_vocab_size")
            .and_then(Json::as_u64)
            .unwrap_or(2) as usize,
        layer_norm_eps: config
            .get("layer_norm_eps")
            .and_then(Json::as_f64)
            .unwrap_or(1e-12),
        multi_label: text("problem_type", "") == "multi_label_classification",
        labels,
        pooling: Pooling::ClsPooler,
    })
}

/// `id2label` as a list in output order: keys 0..n, each once, names unique and non-empty.
fn id2label(config: &Json) -> Result<Vec<String>> {
    let map = config
        .get("id2label")
        .and_then(Json::as_object)
        .context("`id2label` is missing: the labels' names are needed")?;
    let mut labels = vec![None; map.len()];
    for (key, name) in map {
        let index: usize = key
            .parse()
            .ok()
            .filter(|&i| i < labels.len())
            .with_context(|| {
                format!(
                    "`id2label` key \"{key}\" is not an index 0..{}",
                    labels.len()
                )
            })?;
        let name = name
            .as_str()
            .map(str::trim)
            .filter(|n| !n.is_empty() && !n.contains('\n') && n.chars().count() <= 64)
            .with_context(|| format!("`id2label` \"{key}\" must be a name of 1–64 characters"))?;
        labels[index] = Some(name.to_owned());
    }
    let labels: Vec<String> = labels.into_iter().flatten().collect();
    ensure!(
        labels.len() >= 2,
        "`id2label` needs at least two labels (has {})",
        labels.len()
    );
    let mut seen = std::collections::HashSet::new();
    for label in &labels {
        ensure!(seen.insert(label), "`id2label` names \"{label}\" twice");
    }
    Ok(labels)
}

/// Every tensor the encoder, pooler and head need, checked against the config, renamed to what
/// the engine reads.
fn bert_tensors(ckpt: &Checkpoint, shape: &BertShape) -> Result<BTreeMap<String, Tensor>> {
    // Transformers nests the encoder under `bert.`; a bare BertModel state dict has no prefix.
    let prefix = if ckpt
        .tensors
        .contains_key("bert.embeddings.word_embeddings.weight")
    {
        "bert."
    } else {
        ""
    };
    let (h, i) = (shape.hidden, shape.intermediate);
    let mut wanted: Vec<(String, Vec<usize>)> = vec![
        (
            "embeddings.word_embeddings.weight".into(),
            vec![shape.vocab, h],
        ),
        (
            "embeddings.position_embeddings.weight".into(),
            vec![shape.max_positions, h],
        ),
        (
            "embeddings.token_type_embeddings.weight".into(),
            vec![shape.type_vocab, h],
        ),
        ("embeddings.LayerNorm.weight".into(), vec![h]),
        ("embeddings.LayerNorm.bias".into(), vec![h]),
    ];
    if shape.pooling == Pooling::ClsPooler {
        wanted.push(("pooler.dense.weight".into(), vec![h, h]));
        wanted.push(("pooler.dense.bias".into(), vec![h]));
    }
    for layer in 0..shape.layers {
        let at = |rest: &str| format!("encoder.layer.{layer}.{rest}");
        for (name, dims) in [
            ("attention.self.query", (h, h)),
            ("attention.self.key", (h, h)),
            ("attention.self.value", (h, h)),
            ("attention.output.dense", (h, h)),
            ("intermediate.dense", (i, h)),
            ("output.dense", (h, i)),
        ] {
            wanted.push((at(&format!("{name}.weight")), vec![dims.0, dims.1]));
            wanted.push((at(&format!("{name}.bias")), vec![dims.0]));
        }
        for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
            wanted.push((at(&format!("{norm}.weight")), vec![h]));
            wanted.push((at(&format!("{norm}.bias")), vec![h]));
        }
    }
    let mut out = BTreeMap::new();
    for (name, dims) in wanted {
        let tensor = ckpt.get(&format!("{prefix}{name}"), &dims)?;
        out.insert(name, tensor.to_candle()?);
    }
    // Every input is one segment, so only row 0 of the token-type table is read; the engine
    // loads two rows, as BERT has. A table of another size becomes row 0 twice (a two-row
    // table is kept as it is: the same values the checkpoint holds).
    let types = &out["embeddings.token_type_embeddings.weight"];
    if shape.type_vocab != 2 {
        let first = types.narrow(0, 0, 1)?;
        out.insert(
            "embeddings.token_type_embeddings.weight".into(),
            Tensor::cat(&[&first, &first], 0)?,
        );
    }
    // The head last, so a head of another size is reported as the label mismatch it is.
    let head = ckpt
        .tensors
        .get("classifier.weight")
        .with_context(|| format!("{}: tensor `classifier.weight` is missing: a base model without a classification head (BertModel)?", ckpt.file))?;
    let n = shape.labels.len();
    ensure!(
        head.shape == [n, h],
        "config.json: `id2label` has {n} labels but {} classifier.weight has shape {:?} (expected [{n}, {h}])",
        ckpt.file,
        head.shape
    );
    out.insert("classifier.weight".into(), head.to_candle()?);
    out.insert(
        "classifier.bias".into(),
        ckpt.get("classifier.bias", &[n])?.to_candle()?,
    );
    Ok(out)
}

/// The model's length: `tokenizer_config.json`'s `model_max_length`, at most the position table.
fn max_tokens(dir: &Path, shape: &BertShape) -> usize {
    read_json(&dir.join("tokenizer_config.json"))
        .ok()
        .and_then(|settings| settings.get("model_max_length").and_then(Json::as_u64))
        .map_or(shape.max_positions, |n| {
            usize::try_from(n).map_or(shape.max_positions, |n| n.min(shape.max_positions))
        })
}

/// The tokenizer as JSON (from `tokenizer.json`, or built from `vocab.txt` and
/// `tokenizer_config.json`), WordPiece only, with padding off and truncation at `max_tokens`;
/// and whether it lowercases.
fn tokenizer(dir: &Path, shape: &BertShape, max_tokens: usize) -> Result<(String, bool)> {
    let settings = read_json(&dir.join("tokenizer_config.json")).unwrap_or(Json::Null);
    let json_path = dir.join("tokenizer.json");
    let mut json: Json = if json_path.is_file() {
        let json = read_json(&json_path)?;
        let kind = json
            .pointer("/model/type")
            .and_then(Json::as_str)
            .unwrap_or("unknown");
        ensure!(
            kind == "WordPiece",
            "{}: `model.type` is {kind}; import-model reads WordPiece (BERT) tokenizers only",
            json_path.display()
        );
        json
    } else if dir.join("vocab.txt").is_file() {
        wordpiece_from_vocab(dir, &settings)?
    } else {
        bail!(
            "{}: no tokenizer: give tokenizer.json or vocab.txt",
            json_path.display()
        );
    };
    // We pad per batch ourselves and report truncation, at the model's own length. Truncation
    // settings the file has are kept but for the length, so a tokenizer already right is
    // written as it came.
    json["padding"] = Json::Null;
    match json.get_mut("truncation") {
        Some(Json::Object(truncation)) => {
            truncation.insert("max_length".into(), Json::from(max_tokens));
        }
        _ => {
            json["truncation"] = serde_json::json!({
                "direction": "Right", "max_length": max_tokens, "strategy": "LongestFirst", "stride": 0
            });
        }
    }
    let text = serde_json::to_string(&json)?;
    let tokenizer = Tokenizer::from_bytes(text.as_bytes())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("{}: the tokenizer cannot be loaded", json_path.display()))?;
    let vocab = tokenizer.get_vocab_size(true);
    ensure!(
        vocab <= shape.vocab,
        "tokenizer.json: the tokenizer has {vocab} tokens but config.json `vocab_size` is {}",
        shape.vocab
    );
    let lowercase = json
        .pointer("/normalizer/lowercase")
        .and_then(Json::as_bool)
        .unwrap_or(false);
    Ok((text, lowercase))
}

/// A BERT tokenizer.json equivalent to transformers' `BertTokenizer` with these settings.
fn wordpiece_from_vocab(dir: &Path, settings: &Json) -> Result<Json> {
    let path = dir.join("vocab.txt");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let vocab: serde_json::Map<String, Json> = text
        .lines()
        .enumerate()
        .map(|(id, token)| (token.to_owned(), Json::from(id)))
        .collect();
    let special = |key: &str, default: &str| -> Result<(String, u64)> {
        let token = settings
            .get(key)
            .and_then(Json::as_str)
            .unwrap_or(default)
            .to_owned();
        let id = vocab.get(&token).and_then(Json::as_u64).with_context(|| {
            format!("{}: the special token {token} is not in it", path.display())
        })?;
        Ok((token, id))
    };
    let (cls, cls_id) = special("cls_token", "[CLS]")?;
    let (sep, sep_id) = special("sep_token", "[SEP]")?;
    let (unk, _) = special("unk_token", "[UNK]")?;
    let lowercase = settings
        .get("do_lower_case")
        .and_then(Json::as_bool)
        .unwrap_or(true);
    Ok(serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": {
            "type": "BertNormalizer",
            "clean_text": true,
            "handle_chinese_chars": settings.get("tokenize_chinese_chars").and_then(Json::as_bool).unwrap_or(true),
            // null follows `lowercase`, as in transformers.
            "strip_accents": settings.get("strip_accents").cloned().unwrap_or(Json::Null),
            "lowercase": lowercase
        },
        "pre_tokenizer": { "type": "BertPreTokenizer" },
        "post_processor": {
            "type": "BertProcessing",
            "sep": [sep, sep_id],
            "cls": [cls, cls_id]
        },
        "decoder": { "type": "WordPiece", "prefix": "##", "cleanup": true },
        "model": {
            "type": "WordPiece",
            "unk_token": unk,
            "continuing_subword_prefix": "##",
            "max_input_chars_per_word": 100,
            "vocab": vocab
        }
    }))
}

/// GGUF metadata key holding the tokenizer JSON, as the engine reads it.
pub use model_wasm::text::file::{TASK_KEY, TOKENIZER_KEY};

/// Whether a tensor is stored Q8_0: matrices whose rows split into 32-wide blocks (the encoder's
/// linear layers, the word embeddings and, if `q8_positions`, the position table). Biases,
/// norms, the token-type table, the small head and the pooler stay f32. The one rule for every
/// text model file, imported or shipped.
pub fn wants_q8(name: &str, dims: &[usize], q8_positions: bool) -> bool {
    dims.len() == 2
        && dims[1].is_multiple_of(GgmlDType::Q8_0.block_size())
        && dims[0] > 2
        && !name.starts_with("classifier.")
        // Measured on the import fixtures: 8-bit position embeddings and pooler cost labels
        // (143 → 145 of 147 kept with both f32), for under 1 MB saved on MiniLM. The shipped
        // sentiment model was trained and measured with 8-bit positions (its `[metrics]`), and
        // has no pooler.
        && !name.starts_with("pooler.")
        && (q8_positions || name != "embeddings.position_embeddings.weight")
}

/// The GGUF model file: `float` keeps every tensor f32 (for comparisons with PyTorch), else
/// Q8_0 where [`wants_q8`]. The one writer of text model files: `import-model` and
/// `quantize-sentiment` both write through it.
pub fn gguf_bytes(ckpt: &TextCheckpoint, name: &str, float: bool) -> Result<Vec<u8>> {
    let mut quantized = Vec::with_capacity(ckpt.tensors.len());
    for (tensor_name, tensor) in &ckpt.tensors {
        let dtype = if !float && wants_q8(tensor_name, tensor.dims(), ckpt.q8_positions) {
            GgmlDType::Q8_0
        } else {
            GgmlDType::F32
        };
        quantized.push((tensor_name.as_str(), QTensor::quantize(tensor, dtype)?));
    }
    let license = ckpt
        .license
        .as_ref()
        .map(|l| ("general.license", gguf_file::Value::String(l.clone())));
    let metadata: Vec<(&str, gguf_file::Value)> = [
        (
            "general.architecture",
            gguf_file::Value::String("bert".into()),
        ),
        ("general.name", gguf_file::Value::String(name.to_owned())),
    ]
    .into_iter()
    .chain(license)
    .chain([
        (
            TASK_KEY,
            gguf_file::Value::String(model_wasm::text::file::TASK.into()),
        ),
        (
            "vitrine.labels",
            gguf_file::Value::String(ckpt.shape.labels.join("\n")),
        ),
        (
            TOKENIZER_KEY,
            gguf_file::Value::String(ckpt.tokenizer_json.clone()),
        ),
    ])
    .collect();
    let metadata: Vec<(&str, &gguf_file::Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensors: Vec<(&str, &QTensor)> = quantized.iter().map(|(n, t)| (*n, t)).collect();
    let mut bytes = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut bytes, &metadata, &tensors)?;
    Ok(bytes.into_inner())
}

/// The engine's classifier for a manifest and its weights in memory (the same code the browser
/// runs), so eval and checks happen before anything is written.
pub fn classifier(
    manifest: &ModelManifest,
    file_name: &str,
    bytes: &[u8],
) -> Result<model_wasm::text::TextClassifier> {
    classifier_with(manifest, file_name, bytes, crate::predict::Run::AsBrowser)
}

/// [`classifier`] with the products `run` asks for (`predict --f32-matmul`: f32).
pub fn classifier_with(
    manifest: &ModelManifest,
    file_name: &str,
    bytes: &[u8],
    run: crate::predict::Run,
) -> Result<model_wasm::text::TextClassifier> {
    let spec = model_wasm::text::TextModelSpec::from_manifest(manifest)?;
    Ok(model_wasm::text::TextClassifier::from_verified_model_file(
        file_name,
        bytes,
        &spec,
        run.products(spec.matmul_mode()),
    )?)
}

/// The predicted label index of every text, batched by length.
pub fn predicted_indices(
    classifier: &model_wasm::text::TextClassifier,
    texts: &[&str],
) -> Result<Vec<Option<usize>>> {
    let labels = classifier.labels();
    // One text at a time: a text the model cannot read (another script than its languages) is
    // refused, `None`, and must not sink the others' answers.
    texts
        .iter()
        .map(|text| match classifier.classify(text) {
            Ok(p) => Ok(labels.iter().position(|l| *l == p.label)),
            Err(model_wasm::ModelError::Unreadable { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        })
        .collect()
}

/// The catalogue manifest of an imported checkpoint (no metrics yet).
pub fn manifest(
    naming: &Naming,
    ckpt: &TextCheckpoint,
    file_name: &str,
    bytes: &[u8],
) -> ModelManifest {
    let display = naming.display;
    use wire::catalog::Value;
    let s = &ckpt.shape;
    let int = |n: usize| Value::Int(n as i64);
    let architecture = [
        ("family", Value::Text("bert".into())),
        ("layers", int(s.layers)),
        ("hidden", int(s.hidden)),
        ("heads", int(s.heads)),
        ("intermediate", int(s.intermediate)),
        ("vocab", int(s.vocab)),
        ("max_positions", int(s.max_positions)),
        ("activation", Value::Text("gelu".into())),
        ("layer_norm_eps", Value::Float(s.layer_norm_eps)),
        ("multi_label", Value::Bool(s.multi_label)),
        (
            "pooling",
            Value::Text(
                match s.pooling {
                    Pooling::Mean => "mean",
                    Pooling::ClsPooler => "cls",
                }
                .into(),
            ),
        ),
        // Off until measured safe (import-model turns it on when --eval shows no labels lost).
        ("int8_activations", Value::Bool(false)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let preprocessing = [
        ("max_tokens", int(ckpt.max_tokens)),
        ("lowercase", Value::Bool(ckpt.lowercase)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let same = |text: String| Localized {
        en: text.clone(),
        zh: text,
    };
    ModelManifest {
        id: naming.id.to_owned(),
        task: TaskKind::TextClassification,
        order: 100,
        card: "MODEL_CARD.md".into(),
        languages: naming.languages.to_vec(),
        name: same(display.to_owned()),
        title: None,
        description: Localized {
            en: format!(
                "A {}-layer, {}-wide BERT-shaped text classifier with {} labels, imported with cargo xtask import-model.",
                s.layers,
                s.hidden,
                s.labels.len()
            ),
            zh: format!(
                "一个 {} 层、{} 维的 BERT 结构文本分类器，共 {} 个标签，由 cargo xtask import-model 导入。",
                s.layers,
                s.hidden,
                s.labels.len()
            ),
        },
        quantization: Localized {
            en: "8-bit (Q8_0) weights".into(),
            zh: "8 位（Q8_0）权重".into(),
        },
        credit: None,
        labels: s
            .labels
            .iter()
            .map(|name| Label {
                id: name.clone(),
                en: name.clone(),
                zh: name.clone(),
                polarity: polarity_of(name),
            })
            .collect(),
        labels_in_file: None,
        files: vec![crate::catalogue::model_file(file_name, bytes)],
        architecture,
        preprocessing,
        examples: LocalizedList::default(),
        metrics: Default::default(),
        figures: None,
        source: Some(crate::checkpoint::source_of(naming.from, &ckpt.weights_file)),
    }
}

/// Labels named like a sentiment class colour the explanation by their polarity.
fn polarity_of(name: &str) -> Option<Polarity> {
    match name.to_lowercase().as_str() {
        "positive" | "pos" | "very positive" => Some(Polarity::Positive),
        "negative" | "neg" | "very negative" => Some(Polarity::Negative),
        "neutral" => Some(Polarity::Neutral),
        _ => None,
    }
}

/// The generated model card.
pub fn card(
    manifest: &ModelManifest,
    naming: &Naming,
    eval: Option<&Path>,
    ckpt: &TextCheckpoint,
) -> String {
    let s = &ckpt.shape;
    let weights = manifest.weights().map(|f| f.name.as_str()).unwrap_or("");
    let labels = s.labels.join(", ");
    let measured = if manifest.metrics.is_empty() {
        "Not measured: re-import with `--eval FILE` to record accuracy, macro-F1, per-label recall and the confusion matrix.".to_owned()
    } else {
        let get = |k: &str| {
            manifest
                .metrics
                .get(k)
                .map(|v| format!("{v:?}"))
                .unwrap_or_default()
        };
        format!(
            "On `{}` (this 8-bit file): accuracy {}, macro-F1 {}, n {}. Per-label recall and the confusion matrix (rows: true label, columns: predicted, in label order) are in `model.toml` `[metrics]`.",
            eval.map(|p| p.display().to_string()).unwrap_or_default(),
            get("accuracy"), get("macro_f1"), get("n")
        )
    };
    format!(
        "# Model card: {name}\n\n\
         File: `{weights}` (sha256 and size in this folder's `model.toml`). One file: weights and tokenizer.\n\n\
         ## What it does\n\
         Classifies text into {n} labels: {labels}. {multi}\n\
         It reads up to {max} tokens; longer texts are cut, and the page says so.\n\n\
         ## Model\n\
         - Imported from `{from}` ({file}) by `cargo xtask import-model`.\n\
         - BERT encoder: {layers} layers, hidden {hidden}, {heads} heads, intermediate {inter}, vocabulary {vocab}, exact GELU; {pooling}, then a linear head.\n\
         - Quantisation: Q8_0 (blocks of 32 weights sharing one scale) for the encoder matrices and embedding tables; biases, norms and the head in f32.\n\n\
         ## Measured\n{measured}\n\n\
         ## Intended use and limits\n\
         Fill in: what the model was trained on, who should use it and for what, and where it fails.\n",
        name = manifest.name.en,
        n = s.labels.len(),
        multi = if s.multi_label {
            "Labels are independent (multi-label, sigmoid)."
        } else {
            "One label per text (softmax)."
        },
        max = s.max_positions,
        from = naming.from.display(),
        file = ckpt.weights_file,
        layers = s.layers,
        hidden = s.hidden,
        heads = s.heads,
        inter = s.intermediate,
        vocab = s.vocab,
        pooling = match s.pooling {
            Pooling::Mean => "the mean of the token vectors",
            Pooling::ClsPooler => "[CLS] through the pooler",
        },
    )
}
