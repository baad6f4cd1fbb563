//! The shipped 8-bit sentiment model through the public API: obvious cases, bad input, and a
//! damaged file. Runs on the committed `assets/models/` file (skips with a reason if it is absent).

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use model_wasm::text::{
    MatmulMode, TextClassifier, TextExplanation, TextModelSpec, TextPrediction,
};
use model_wasm::ModelError;

/// The name engines give the shipped file in their errors.
const MODEL_FILE: &str = "sentiment-minilm-l6-sst2-q8.gguf";

fn read_model() -> Option<(Vec<u8>, String, TextModelSpec)> {
    common::shipped_model("sentiment").map(|m| {
        let spec = m.text_spec();
        (m.bytes, m.sha256, spec)
    })
}

const POSITIVE: &str = "positive";
const NEGATIVE: &str = "negative";

/// The probability of "positive" (the old API's `positive` field).
fn positive(p: &TextPrediction) -> f32 {
    p.scores
        .iter()
        .find(|s| s.label == POSITIVE)
        .map(|s| s.score)
        .expect("a positive label")
}

/// A word's contribution in positive log-odds, whichever label the explanation targets (for
/// two labels the target's log-odds is the positive log-odds, negated when the target is
/// "negative").
fn toward_positive(e: &TextExplanation, word: &str) -> f32 {
    let w = e.words.iter().find(|w| w.word == word).expect("word kept");
    if e.target == POSITIVE {
        w.contribution
    } else {
        -w.contribution
    }
}

/// Loaded once for the whole file: tests share it (loading takes a moment in debug builds).
fn classifier() -> Option<&'static TextClassifier> {
    static MODEL: OnceLock<Option<TextClassifier>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let (bytes, digest, spec) = read_model()?;
            Some(
                TextClassifier::from_model_file(MODEL_FILE, &bytes, &digest, &spec)
                    .expect("shipped model loads"),
            )
        })
        .as_ref()
}

#[test]
fn obvious_cases_are_right() {
    let Some(model) = classifier() else { return };
    let cases = [
        ("I love this movie, it is wonderful and moving.", POSITIVE),
        ("A brilliant, funny and heartfelt film.", POSITIVE),
        ("The best meal I have had in years.", POSITIVE),
        ("This was a terrible, boring waste of time.", NEGATIVE),
        ("The plot is a mess and the acting is awful.", NEGATIVE),
        ("I hated every minute of it.", NEGATIVE),
    ];
    for (text, want) in cases {
        let p = model.classify(text).expect("classifies");
        assert_eq!(p.label, want, "{text:?}: {p:?}");
        assert!(
            p.score > 0.5 && p.score <= 1.0 && !p.truncated,
            "{text:?}: {p:?}"
        );
        let names: Vec<&str> = p.scores.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(names, [NEGATIVE, POSITIVE], "every label, in order");
        let sum: f32 = p.scores.iter().map(|s| s.score).sum();
        assert!((sum - 1.0).abs() < 1e-5, "{text:?}: {p:?}");
        let own = p
            .scores
            .iter()
            .find(|s| s.label == p.label)
            .map(|s| s.score);
        assert_eq!(own, Some(p.score));
    }
}

#[test]
fn empty_and_wordless_text_is_a_clear_error() {
    let Some(model) = classifier() else { return };
    for text in ["", " ", "\n\t  \r\n", "\u{0}\u{7}\u{1b}", "\u{200b}"] {
        match model.classify(text) {
            Err(ModelError::EmptyText) => {}
            other => panic!("{text:?}: expected EmptyText, got {other:?}"),
        }
        assert!(
            matches!(model.explain(text), Err(ModelError::EmptyText)),
            "{text:?}"
        );
    }
    let msg = ModelError::EmptyText.to_string();
    assert!(msg.contains("no text"), "{msg}");
}

#[test]
fn a_megabyte_of_text_is_truncated_not_crashed() {
    let Some(model) = classifier() else { return };
    let text = "what a wonderful , touching film . ".repeat(30_000);
    assert!(text.len() > 1_000_000);
    let p = model.classify(&text).expect("classifies");
    assert!(p.truncated);
    assert_eq!(p.label, POSITIVE);
    let short = model
        .classify("what a wonderful , touching film .")
        .expect("classifies");
    assert!(!short.truncated);
    // One 1 MB "word" without spaces is no word the vocabulary knows: no label, and a clear
    // reason rather than a crash.
    let blob = "x".repeat(1 << 20);
    match model.classify(&blob) {
        Err(e @ ModelError::Unreadable { unknown_share, .. }) => {
            assert_eq!(unknown_share, 1.0);
            assert!(e.to_string().contains("does not know 100%"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unusual_scripts_and_characters_are_handled() {
    let Some(model) = classifier() else { return };
    let texts = [
        "I love it 😍🎉👍",
        "Great value, 质量不错, but the delivery was slow",
        "mixed \u{202e}RTL override\u{202c} and bidi",
        "tab\tnew\nline\u{0}null\u{7}bell",
        "lone surrogate from JS becomes \u{fffd} in a Rust string",
        "e\u{301}\u{301}\u{301} combining marks",
        "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467} family",
    ];
    for text in texts {
        let p = model
            .classify(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert!(
            p.score.is_finite() && (0.5..=1.0).contains(&p.score),
            "{text:?}: {p:?}"
        );
        let e = model
            .explain(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert!(!e.words.is_empty());
        for w in &e.words {
            assert!(w.contribution.is_finite());
            assert_eq!(&text[w.start..w.end], w.word, "{text:?}");
        }
    }
}

#[test]
fn text_in_a_script_it_does_not_read_gets_no_label() {
    let Some(model) = classifier() else { return };
    for (text, script) in [
        ("这个产品很好，我很喜欢", "han"),
        ("هذا الفيلم رائع جدا", "arabic"),
        ("הסרט הזה נהדר", "hebrew"),
        ("Это был отличный фильм", "cyrillic"),
        ("この映画はとても面白かったです", "kana"),
        // Latin letters are the main script, but half its word pieces (the Han characters) are unknown.
        ("这部电影很好看 but the ending was weak", "latin"),
    ] {
        for err in [
            model.classify(text).err(),
            model.explain(text).err(),
            model.classify_batch(&["fine", text]).err(),
        ] {
            match err {
                Some(ModelError::Unreadable {
                    script: Some(found),
                    languages,
                    ..
                }) => {
                    assert_eq!(found.name(), script, "{text:?}");
                    assert_eq!(languages, ["en"]);
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }
}

#[test]
fn explain_points_at_the_words_that_matter() {
    let Some(model) = classifier() else { return };
    let e = model
        .explain("the food was wonderful but the service was slow")
        .expect("explains");
    let top = e
        .words
        .iter()
        .max_by(|a, b| a.contribution.abs().total_cmp(&b.contribution.abs()))
        .expect("has words");
    assert!(
        ["wonderful", "slow"].contains(&top.word.as_str()),
        "{:?}",
        e.words
    );
    let e = model.explain("a truly dreadful film").expect("explains");
    assert_eq!(e.prediction.label, NEGATIVE);
    assert_eq!(e.target, NEGATIVE, "explained towards the prediction");
    let dreadful = e
        .words
        .iter()
        .find(|w| w.word == "dreadful")
        .expect("word kept");
    // Towards "negative", the target: above zero.
    assert!(dreadful.contribution > 0.0, "{:?}", e.words);
    assert!(toward_positive(&e, "dreadful") < 0.0);
}

#[test]
fn explain_and_classify_agree() {
    let Some(model) = classifier() else { return };
    let text = "an engaging, smart and surprisingly sweet comedy";
    let p = model.classify(text).expect("classifies");
    let e = model.explain(text).expect("explains");
    assert_eq!(p.label, e.prediction.label);
    assert_eq!(e.target, p.label);
    assert!((positive(&p) - positive(&e.prediction)).abs() < 1e-5);
    let batch = model
        .classify_batch(&[text, "dull and lifeless", text])
        .expect("batch");
    assert!(
        (positive(&batch[0]) - positive(&p)).abs() < 1e-4,
        "padding must not change the answer"
    );
    assert_eq!(batch[1].label, NEGATIVE);
}

#[test]
fn a_corrupted_model_file_fails_its_checksum() {
    let Some((mut bytes, digest, spec)) = read_model() else {
        common::cannot_run("no model file");
        return;
    };
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    let err = TextClassifier::from_model_file(MODEL_FILE, &bytes, &digest, &spec)
        .err()
        .expect("must fail");
    assert!(
        matches!(err, ModelError::ChecksumMismatch { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(MODEL_FILE) && msg.contains("damaged"), "{msg}");

    // A truncated download whose digest happens to be "right" is still refused, not a panic.
    let short = &bytes[..1000];
    let short_digest = model_wasm::checksum::sha256_hex(short);
    let err = TextClassifier::from_model_file(MODEL_FILE, short, &short_digest, &spec)
        .err()
        .expect("must fail");
    assert!(matches!(err, ModelError::InvalidModel { .. }), "{err:?}");
}

/// The browser's int8 products (the default) against f32 GEMMs on the same 8-bit weights: the
/// activations' 8-bit rounding may move a probability by a little, never a label. The browser
/// relies on it when it checks a WebGPU answer (f32 products) against wasm: `verify` in
/// public/sdk/worker.js on its probe sentence (probability within 1e-2), and the WebGPU e2e
/// tests on the fixtures (log-odds within 0.15). Measured: log-odds at most 0.08 apart (the
/// mid-range answers move most in probability: 0.306 vs 0.296 for the emoji sentence), the
/// probe 3e-5 apart.
#[test]
fn int8_and_f32_matmul_modes_give_the_same_answers() {
    let (Some(model), Some((bytes, digest, spec))) = (classifier(), read_model()) else {
        return;
    };
    let f32_mode =
        TextClassifier::from_model_file_with(MODEL_FILE, &bytes, &digest, &spec, MatmulMode::F32)
            .expect("loads");
    let fixtures: Vec<String> = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../e2e/fixtures/sentences.json"),
        )
        .expect("e2e fixtures"),
    )
    .expect("a JSON list");
    let odds = |p: f32| (p / (1.0 - p)).ln();
    let probe = "A warm, funny and beautifully made film, if a little long.";
    for text in fixtures
        .iter()
        .map(String::as_str)
        .chain([probe, "café crème, très bon 👍"])
    {
        let (a, b) = match (model.classify(text), f32_mode.classify(text)) {
            (Ok(a), Ok(b)) => (a, b),
            // A text the model cannot read is refused in both modes, before any product.
            (Err(a @ ModelError::Unreadable { .. }), Err(b)) => {
                assert_eq!(a.to_string(), b.to_string(), "{text:?}");
                continue;
            }
            other => panic!("{text:?}: {other:?}"),
        };
        eprintln!("{text:?}: int8 {} f32 {}", positive(&a), positive(&b));
        assert_eq!(a.label, b.label, "{text:?}: {a:?} vs {b:?}");
        assert!(
            (odds(positive(&a)) - odds(positive(&b))).abs() < 0.15,
            "{text:?}: {a:?} vs {b:?}"
        );
    }
    let (a, b) = (
        model.classify(probe).expect("int8"),
        f32_mode.classify(probe).expect("f32"),
    );
    assert!(
        (positive(&a) - positive(&b)).abs() < 1e-3,
        "probe: {a:?} vs {b:?}"
    );
}

/// Leave-one-out alone got these wrong: with several negative words, dropping any one of them
/// barely moves a confident answer, and "boring" came out slightly positive.
#[test]
fn explain_credits_every_word_of_a_redundant_text_and_negation() {
    let Some(model) = classifier() else { return };
    let e = model
        .explain("a dull, lifeless and boring film")
        .expect("explains");
    for word in ["dull", "lifeless", "boring"] {
        assert!(toward_positive(&e, word) < -1.0, "{word}: {:?}", e.words);
    }
    let e = model.explain("this is not good").expect("explains");
    assert!(toward_positive(&e, "not") < -1.0, "{:?}", e.words);
}

/// Explanations agree across the two matmul modes, which is also what lets the browser check a
/// WebGPU explanation (f32 activations) against the wasm one (8-bit activations).
#[test]
fn int8_and_f32_matmul_modes_explain_alike() {
    let (Some(model), Some((bytes, digest, spec))) = (classifier(), read_model()) else {
        return;
    };
    let f32_mode =
        TextClassifier::from_model_file_with(MODEL_FILE, &bytes, &digest, &spec, MatmulMode::F32)
            .expect("loads");
    let text =
        "The first half drags and the jokes miss, yet the warm, sharp last act left me smiling.";
    let (a, b) = (
        model.explain(text).expect("int8"),
        f32_mode.explain(text).expect("f32"),
    );
    assert_eq!(a.prediction.label, b.prediction.label);
    assert_eq!(a.target, b.target);
    let worst = a
        .words
        .iter()
        .zip(&b.words)
        .map(|(x, y)| {
            assert_eq!(x.word, y.word);
            (x.contribution - y.contribution).abs()
        })
        .fold(0f32, f32::max);
    // 8-bit activations (one scale per token) move each log-odds contribution a little
    // (measured: at most 0.35 on a ±4.4 scale for this text, on small words: "The" 0.40 vs
    // 0.74); what a visitor reads — which words matter most, and which way — must not change.
    let largest = a
        .words
        .iter()
        .map(|w| w.contribution.abs())
        .fold(0f32, f32::max);
    let top = |e: &TextExplanation| {
        let mut words: Vec<_> = e.words.iter().collect();
        words.sort_by(|x, y| y.contribution.abs().total_cmp(&x.contribution.abs()));
        words
            .iter()
            .take(3)
            .map(|w| (w.start, w.contribution > 0.0))
            .collect::<std::collections::BTreeSet<_>>()
    };
    // As a set: two words of nearly equal weight may trade places within the three.
    assert_eq!(
        top(&a),
        top(&b),
        "the three strongest words and their direction"
    );
    assert!(
        worst <= 0.1 * largest,
        "worst contribution difference {worst} of {largest}"
    );
    // The whole text's answer, in the same log-odds units (measured: 0.26 apart).
    let odds = |p: f32| (p / (1.0 - p)).ln();
    let gap = (odds(positive(&a.prediction)) - odds(positive(&b.prediction))).abs();
    eprintln!(
        "log-odds of the whole text: {gap} apart; contributions at most {worst} of {largest}"
    );
    assert!(gap <= 0.1 * largest, "log-odds {gap} apart");
}

/// The shipped file has a 2-row head; a catalogue entry listing three labels for it is refused
/// with the tensor and both counts, not a shape dump.
#[test]
fn weights_with_another_label_count_than_the_manifest_are_refused() {
    let Some((bytes, digest, mut spec)) = read_model() else {
        return;
    };
    spec.labels.push("neutral".to_owned());
    let err = TextClassifier::from_model_file(MODEL_FILE, &bytes, &digest, &spec)
        .err()
        .expect("must fail");
    assert!(
        matches!(
            err,
            ModelError::HeadRows {
                rows: 2,
                labels: 3,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("classifier.weight") && msg.contains("2 rows"),
        "{msg}"
    );
}
