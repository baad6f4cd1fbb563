//! `cargo xtask native-reference --out FILE`: runs the shipped models natively on the e2e
//! fixtures (sentences in `e2e/fixtures/sentences.json`, photos in `assets/samples/`) and writes
//! the answers as JSON. The browser suite runs the same inputs through the wasm worker and
//! compares: one model code path must give one answer on both targets.

use std::path::PathBuf;

use anyhow::Result;
use model_wasm::image::{decode::decode, ImageClassifier};
use model_wasm::text::{reading, TextClassifier};
use serde_json::json;

use crate::eval_sentiment::shipped_sentiment;
use crate::project::{root, shipped_model};

#[derive(clap::Args)]
pub struct Args {
    /// Where to write the JSON.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let (name, bytes, sha, spec) = shipped_sentiment()?;
    let sentiment = TextClassifier::from_model_file(&name, &bytes, &sha, &spec)?;
    let sentences: Vec<String> = serde_json::from_str(&std::fs::read_to_string(
        root().join("e2e/fixtures/sentences.json"),
    )?)?;
    let mut sentiment_out = Vec::new();
    for text in &sentences {
        // The browser's `classify` answer, field for field, plus the text it was given: a
        // prediction, or the answer for a text the model cannot read.
        let answer = match sentiment.classify(text) {
            Ok(p) => json!({
                "text": text,
                "label": p.label,
                "score": p.score,
                "scores": p.scores,
                "truncated": p.truncated,
            }),
            Err(e) => match reading::unreadable_answer(crate::eval_sentiment::MODEL_ID, &e) {
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
