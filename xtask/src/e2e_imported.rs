//! The browser suite's imported model. A team's export goes through `cargo xtask import-model`
//! exactly as the README tells a team to do it, and the site serves the folder it writes; the
//! browser then has to answer as the native build does, on wasm and on WebGPU.
//!
//! The export is the import fixtures' `bert-tiny-5label` (xtask/fixtures/import/README.md): a
//! `BertForSequenceClassification` saved by transformers, with five labels, 64-wide attention
//! heads and `[CLS]` pooling through BERT's pooler, all unlike the shipped MiniLM (32-wide heads,
//! mean pooling), so the GPU path is exercised on a shape it was not written around.

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use serde_json::{json, Value};

/// The catalogue id the export is imported under.
pub const ID: &str = "tiny-five";
/// The import fixture it is imported from.
const FIXTURE: &str = "bert-tiny-5label";
/// Sentences the browser answers and the native build answers first (words its vocabulary has,
/// so none is refused as unreadable).
const SENTENCES: [&str; 6] = [
    "I loved this movie.",
    "What a complete waste of two hours.",
    "The service was slow but the food was excellent.",
    "Customer support never answered my emails.",
    "Five stars, would buy again.",
    "It works as described.",
];

/// The imported folder and the native answers (`{ id, fixture, answers, f32_answers }`, each a
/// list of `predict`'s lines with the text added): `answers` as the browser's CPU path computes
/// them, `f32_answers` with f32 products, as its GPU path does.
pub struct Imported {
    pub folder: PathBuf,
    pub reference: PathBuf,
}

/// Imports the fixture into `dir/imported/<ID>` and writes the native answers beside it.
pub fn prepare(dir: &Path) -> Result<Imported> {
    let fixtures = crate::import_fixtures::ensure()?;
    let from = fixtures.good.join(FIXTURE);
    let catalogue = dir.join("imported");
    let folder = catalogue.join(ID);
    crate::project::step(&format!(
        "importing {FIXTURE} as \"{ID}\" for the browser suite (import-model)"
    ));
    crate::models::run(&[
        "import-model".into(),
        "--from".into(),
        path_arg(&from),
        "--id".into(),
        ID.into(),
        "--name".into(),
        "Five-grade tiny BERT".into(),
        "--eval".into(),
        path_arg(&from.join("eval.tsv")),
        "--out".into(),
        path_arg(&folder),
        "--force".into(),
    ])?;
    let (mut answers, mut f32_answers) = (Vec::new(), Vec::new());
    for text in SENTENCES {
        answers.push(native_answer(&catalogue, text, &[])?);
        f32_answers.push(native_answer(&catalogue, text, &["--f32-matmul"])?);
    }
    let reference = catalogue.join("native-answers.json");
    let body =
        json!({ "id": ID, "fixture": FIXTURE, "answers": answers, "f32_answers": f32_answers });
    std::fs::write(&reference, serde_json::to_vec_pretty(&body)?)?;
    Ok(Imported { folder, reference })
}

/// `cargo xtask predict` on `text` with `extra` arguments: the 8-bit file, as the browser runs it.
fn native_answer(catalogue: &Path, text: &str, extra: &[&str]) -> Result<Value> {
    let mut args: Vec<String> = vec![
        "predict".into(),
        "--catalogue".into(),
        path_arg(catalogue),
        "--model".into(),
        ID.into(),
        "--text".into(),
        text.into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let out = crate::models::command(&args)
        .output()
        .context("could not start cargo for xtask-models")?;
    ensure!(
        out.status.success(),
        "`cargo xtask predict` failed on {text:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut answer: Value = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("predict printed no JSON line for {text:?}"))?;
    answer["text"] = json!(text);
    Ok(answer)
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
