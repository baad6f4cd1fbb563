//! `cargo xtask native-reference --out FILE`: runs the shipped models natively on the e2e
//! fixtures, each sentence through the model the browser routes it to, (sentences in `e2e/fixtures/sentences.json`, photos in `assets/samples/`) and writes
//! the answers as JSON. The browser suite runs the same inputs through the wasm worker and
//! compares: one model code path must give one answer on both targets.

use std::path::PathBuf;

use std::collections::HashMap;

use anyhow::{Context, Result};
use model_wasm::image::{decode::decode, ImageClassifier};
use model_wasm::text::{reading, TextClassifier, TextModelSpec};
use serde_json::json;
use wire::catalog::ModelManifest;

use crate::project::{root, shipped_model};

#[derive(clap::Args)]
pub struct Args {
    /// Where to write the JSON.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let catalogue = crate::catalogue::load()?;
    let manifests: Vec<ModelManifest> = catalogue.iter().map(|m| m.manifest.clone()).collect();
    let asked = manifests
        .iter()
        .find(|m| m.id == crate::eval_sentiment::MODEL_ID)
        .context("no sentiment model in the catalogue")?;
    let mut readers: HashMap<String, TextClassifier> = HashMap::new();
    let sentences: Vec<String> = serde_json::from_str(&std::fs::read_to_string(
        root().join("e2e/fixtures/sentences.json"),
    )?)?;
    let mut sentiment_out = Vec::new();
    for text in &sentences {
        // Each text goes to the model the browser's worker routes it to.
        let id = reading::route(text, &manifests, asked).id.clone();
        if !readers.contains_key(&id) {
            let model = crate::catalogue::model(&id)?;
            let spec = TextModelSpec::from_manifest(&model.manifest)?;
            let (name, bytes, sha) = shipped_model(&id)?;
            readers.insert(
                id.clone(),
                TextClassifier::from_model_file(&name, &bytes, &sha, &spec)?,
            );
        }
        let classifier = &readers[&id];
        // The browser's `classify` answer, field for field, plus the text it was given and the
        // model that answered: a prediction, or the answer for a text it cannot read.
        let answer = match classifier.classify(text) {
            Ok(p) => json!({
                "text": text,
                "model": id,
                "label": p.label,
                "score": p.score,
                "scores": p.scores,
                "truncated": p.truncated,
            }),
            Err(e) => match reading::unreadable_answer(&id, &e) {
                Some(unreadable) => {
                    let mut answer = serde_json::to_value(unreadable)?;
                    answer["text"] = json!(text);
                    answer
                }
                None => return Err(e.into()),
            },
        };
        sentiment_out.push(answer);
    }

    let (name, bytes, sha) = shipped_model("image")?;
    let image = ImageClassifier::from_model_bytes(&name, &bytes, &sha)?;
    let mut images = Vec::new();
    let mut samples: Vec<PathBuf> = std::fs::read_dir(root().join("assets/samples"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    samples.sort();
    for path in samples {
        let decoded = decode(&std::fs::read(&path)?)?;
        let top = image.classify(&decoded.pixels()?)?;
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        images.push(json!({ "file": name, "top": top }));
    }
    let out = json!({ "sentiment": sentiment_out, "image": images });
    if let Some(parent) = args.out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&out)?)?;
    eprintln!("wrote {}", args.out.display());
    Ok(())
}
