//! `import-model` on Transformers exports made by the real libraries
//! (`xtask/fixtures/import/make_fixtures.py`: torch + transformers, pinned): the float import must
//! give PyTorch's logits (relative L2 ≤ 1e-4) and token ids, the 8-bit import PyTorch's label on
//! at least 98% of the sentences, the eval file its planted 15/20, and every broken folder a
//! refusal naming its file and field.
#![cfg(feature = "models")]

mod common;

use std::path::Path;

use serde_json::Value as Json;
use xtask::import_text::{self, Naming};

struct Reference {
    text: String,
    input_ids: Vec<u32>,
    logits: Vec<f32>,
    label: String,
}

fn references(dir: &Path) -> Vec<Reference> {
    std::fs::read_to_string(dir.join("reference.jsonl"))
        .expect("reference.jsonl")
        .lines()
        .map(|line| {
            let v: Json = serde_json::from_str(line).expect("a JSON line");
            let numbers = |key: &str| -> Vec<f64> {
                v[key]
                    .as_array()
                    .expect(key)
                    .iter()
                    .filter_map(Json::as_f64)
                    .collect()
            };
            Reference {
                text: v["text"].as_str().unwrap_or_default().to_owned(),
                input_ids: numbers("input_ids").into_iter().map(|x| x as u32).collect(),
                logits: numbers("logits").into_iter().map(|x| x as f32).collect(),
                label: v["label"].as_str().unwrap_or_default().to_owned(),
            }
        })
        .collect()
}

fn relative_l2(ours: &[f32], theirs: &[f32]) -> f64 {
    let diff: f64 = ours
        .iter()
        .zip(theirs)
        .map(|(a, b)| f64::from(a - b).powi(2))
        .sum();
    let norm: f64 = theirs.iter().map(|b| f64::from(*b).powi(2)).sum();
    (diff / norm).sqrt()
}

/// The engine's classifier on the imported checkpoint, float or 8-bit.
fn imported(dir: &Path, float: bool) -> model_wasm::text::TextClassifier {
    let ckpt = import_text::read(dir).unwrap_or_else(|e| panic!("{}: {e:#}", dir.display()));
    let bytes = import_text::gguf_bytes(&ckpt, "fixture", float).expect("gguf");
    let languages = ["en".to_owned()];
    let naming = Naming {
        id: "fixture",
        display: "fixture",
        languages: &languages,
        from: dir,
    };
    let manifest = import_text::manifest(&naming, &ckpt, "fixture.gguf", &bytes);
    import_text::classifier(&manifest, "fixture.gguf", &bytes).expect("classifier")
}

fn logits(classifier: &model_wasm::text::TextClassifier, text: &str) -> (Vec<u32>, Vec<f32>) {
    let tokens = classifier.tokenizer().encode(text).expect("tokens");
    let pooled = classifier.pooled(&[tokens.ids.as_slice()]).expect("pooled");
    let logits = classifier
        .logits_from_pooled(pooled)
        .expect("logits")
        .remove(0);
    (tokens.ids, logits)
}

const MODELS: [&str; 3] = ["bert-tiny-5label", "bert-tiny-5label-bin", "minilm-3label"];

#[test]
fn float_import_gives_pytorchs_token_ids_and_logits() {
    let Some(root) = common::good(MODELS[0]) else {
        return;
    };
    for model in MODELS {
        let dir = root.join(model);
        let classifier = imported(&dir, false);
        let float = imported(&dir, true);
        let mut worst = 0f64;
        for r in references(&dir) {
            // The empty text is refused (no words), as the page refuses it.
            if classifier.tokenizer().encode(&r.text).is_err() {
                assert!(r.text.trim().is_empty(), "{model}: {:?} refused", r.text);
                continue;
            }
            let (ids, ours) = logits(&float, &r.text);
            assert_eq!(ids, r.input_ids, "{model}: token ids of {:?}", r.text);
            let error = relative_l2(&ours, &r.logits);
            worst = worst.max(error);
            assert!(
                error <= 1e-4,
                "{model}: {:?}: relative L2 {error:e}",
                r.text
            );
        }
        eprintln!("{model}: float logits within {worst:.2e} relative L2 of PyTorch");
    }
}

#[test]
fn eight_bit_import_keeps_pytorchs_label() {
    let Some(root) = common::good(MODELS[0]) else {
        return;
    };
    let (mut same, mut total) = (0usize, 0usize);
    for model in MODELS {
        let dir = root.join(model);
        let classifier = imported(&dir, false);
        for r in references(&dir) {
            let Ok(prediction) = classifier.classify(&r.text) else {
                continue;
            };
            total += 1;
            same += usize::from(prediction.label == r.label);
        }
    }
    let agreement = same as f64 / total as f64;
    eprintln!("8-bit import: PyTorch's label on {same}/{total} = {agreement:.4}");
    assert!(total >= 140, "only {total} sentences compared");
    assert!(agreement >= 0.98, "8-bit import agrees on {same}/{total}");
}

#[test]
fn eval_counts_the_planted_mistakes() {
    let Some(root) = common::good(MODELS[0]) else {
        return;
    };
    for model in MODELS {
        let dir = root.join(model);
        let classifier = imported(&dir, true);
        let rows =
            xtask::eval_tsv::read(&dir.join("eval.tsv"), classifier.labels()).expect("eval.tsv");
        let texts: Vec<&str> = rows.iter().map(|r| r.input.as_str()).collect();
        let predicted = import_text::predicted_indices(&classifier, &texts).expect("predictions");
        let scores = xtask::eval_tsv::score(&rows, &predicted, classifier.labels().len());
        let expected: Json =
            serde_json::from_str(&std::fs::read_to_string(dir.join("eval_expected.json")).unwrap())
                .unwrap();
        assert_eq!(scores.n as u64, expected["n"].as_u64().unwrap(), "{model}");
        // PyTorch labels every row; the engine refuses a text in a script the model does not
        // read (the fixture's Greek and Cyrillic row, at least: the import reads English) and
        // counts it wrong. Every other row must score as PyTorch's does.
        let rows_expected = expected["rows"].as_array().expect("rows");
        let refused_but_right = predicted
            .iter()
            .zip(rows_expected)
            .filter(|(p, r)| p.is_none() && r["label"] == r["predicted"])
            .count();
        assert!(
            scores.refused >= 1,
            "{model}: the Greek and Cyrillic row is refused"
        );
        let correct = expected["correct"].as_u64().unwrap() as usize - refused_but_right;
        assert_eq!(scores.accuracy, correct as f64 / scores.n as f64, "{model}");
    }
}

#[test]
fn broken_exports_are_refused_naming_the_file_and_field() {
    let Some(root) = common::bad("missing-config") else {
        return;
    };
    for case in [
        "roberta-architecture",
        "gpt2-architecture",
        "missing-weights",
        "num-labels-mismatch",
        "bpe-tokenizer",
        "missing-config",
        "corrupt-safetensors",
        "missing-classifier-tensor",
    ] {
        let dir = root.join(case);
        let expect = std::fs::read_to_string(dir.join("EXPECT.txt")).expect("EXPECT.txt");
        let error = match import_text::read(&dir) {
            Ok(_) => panic!("{case}: accepted"),
            Err(e) => format!("{e:#}"),
        };
        for line in expect.lines() {
            if let Some(("file" | "field", want)) = line.split_once(": ") {
                assert!(
                    error.contains(want.trim()),
                    "{case}: {error:?} does not name {want:?}"
                );
            }
        }
        eprintln!("{case}: {error}");
    }
}
