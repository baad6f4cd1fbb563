//! Per-word explanations: which words moved the answer towards the predicted label, and how far.
//!
//! Each word is scored twice and the two averaged: how much the answer moves when the word is
//! *left out* of the text, and how far the word *on its own* moves an empty text. This is the
//! two-sample form of the Shapley value (the word joining last, and joining first). Left-out
//! alone fails on redundant texts: in "a dull, lifeless and boring film" any one negative word
//! can go and the rest still carry the answer, so "boring" came out slightly positive;
//! on-its-own alone misses context ("not" in "not good"). Together they get both.
//!
//! The answer is measured as the log-odds of the *target*, the label predicted for the whole
//! text ([`super::scoring::target_log_odds`]), rather than its probability, because confident
//! answers saturate the probability (99.8% negative whichever word is dropped). A contribution
//! above zero pushed the text towards the target, below zero away from it.

use wire::engine::{TextExplanation, WordContribution};

use super::scoring::{argmax, prediction, target_log_odds};
use super::tokenizer::Tokens;
use crate::ModelError;

/// An explanation half done: the text's tokens and the token-id variants to score, in order —
/// the text, the empty text (`[CLS] [SEP]`), then per word the text without it and the word
/// alone. The CPU and the GPU encode the variants; [`Self::finish`] turns their logits into the
/// explanation for either.
pub struct ExplanationPlan {
    text: String,
    tokens: Tokens,
    pub variants: Vec<Vec<u32>>,
}

impl ExplanationPlan {
    /// The variants for `tokens`, the tokenization of `text`.
    pub fn new(text: &str, tokens: Tokens) -> Self {
        let ids = &tokens.ids;
        // `ids` is [CLS] … [SEP]; every variant keeps both.
        let (cls, sep) = (
            ids.first().copied().unwrap_or_default(),
            ids.last().copied().unwrap_or_default(),
        );
        let mut variants: Vec<Vec<u32>> = vec![ids.clone(), vec![cls, sep]];
        for w in &tokens.words {
            let mut without = ids[..w.tokens.start].to_vec();
            without.extend_from_slice(&ids[w.tokens.end..]);
            variants.push(without);
            let mut alone = vec![cls];
            alone.extend_from_slice(&ids[w.tokens.clone()]);
            alone.push(sep);
            variants.push(alone);
        }
        Self {
            text: text.to_owned(),
            tokens,
            variants,
        }
    }

    /// The explanation from each variant's logits (`logits[i]`, one value per label in label
    /// order, for `variants[i]`).
    pub fn finish(
        self,
        logits: &[Vec<f32>],
        labels: &[String],
        multi_label: bool,
    ) -> Result<TextExplanation, ModelError> {
        if logits.len() != self.variants.len() || logits.iter().any(|l| l.len() != labels.len()) {
            return Err(ModelError::Inference(candle_core::Error::Msg(format!(
                "an explanation of {} variants and {} labels was given {} rows of logits",
                self.variants.len(),
                labels.len(),
                logits.len()
            ))));
        }
        let target = argmax(&logits[0]);
        let odds: Vec<f32> = logits
            .iter()
            .map(|row| target_log_odds(row, target, multi_label))
            .collect();
        let (full, empty) = (odds[0], odds[1]);
        let words = self
            .tokens
            .words
            .iter()
            .zip(odds[2..].chunks_exact(2))
            .map(|(w, pair)| WordContribution {
                word: self.text.get(w.start..w.end).unwrap_or_default().to_owned(),
                start: w.start,
                end: w.end,
                contribution: ((full - pair[0]) + (pair[1] - empty)) / 2.0,
            })
            .collect();
        Ok(TextExplanation {
            prediction: prediction(labels, &logits[0], multi_label, self.tokens.truncated),
            target: labels.get(target).cloned().unwrap_or_default(),
            words,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::tokenizer::Word;

    /// "good bad": [CLS] good bad [SEP], one token per word.
    fn plan() -> ExplanationPlan {
        let tokens = Tokens {
            ids: vec![101, 7, 8, 102],
            truncated: false,
            words: vec![
                Word {
                    start: 0,
                    end: 4,
                    tokens: 1..2,
                },
                Word {
                    start: 5,
                    end: 8,
                    tokens: 2..3,
                },
            ],
            pieces_read: 2,
            unknown: 0,
        };
        ExplanationPlan::new("good bad", tokens)
    }

    fn labels(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn variants_are_text_empty_then_without_and_alone_per_word() {
        assert_eq!(
            plan().variants,
            [
                vec![101, 7, 8, 102],
                vec![101, 102],
                vec![101, 8, 102],
                vec![101, 7, 102],
                vec![101, 7, 102],
                vec![101, 8, 102],
            ]
        );
    }

    /// Logits as a toy 3-label model would give them: "good" raises `c`, "bad" raises `a`.
    fn three_label_logits() -> Vec<Vec<f32>> {
        let row = |good: bool, bad: bool| {
            vec![
                if bad { 1.0 } else { 0.0 },
                0.2,
                if good { 2.5 } else { 0.0 },
            ]
        };
        vec![
            row(true, true),   // the text
            row(false, false), // empty
            row(false, true),  // without "good"
            row(true, false),  // "good" alone
            row(true, false),  // without "bad"
            row(false, true),  // "bad" alone
        ]
    }

    #[test]
    fn three_labels_explain_towards_the_predicted_label() {
        let e = plan()
            .finish(&three_label_logits(), &labels(&["a", "b", "c"]), false)
            .unwrap();
        assert_eq!(e.target, "c");
        assert_eq!(e.prediction.label, "c");
        assert_eq!(e.prediction.scores.len(), 3);
        let (good, bad) = (&e.words[0], &e.words[1]);
        assert_eq!((good.word.as_str(), bad.word.as_str()), ("good", "bad"));
        assert!(good.contribution > 0.0, "{good:?}");
        assert!(bad.contribution < 0.0, "{bad:?}");
        // By hand: odds(c) = l_c − ln(e^{l_a} + e^{l_b}).
        let odds = |l: &[f32]| l[2] - (l[0].exp() + l[1].exp()).ln();
        let l = three_label_logits();
        let want = ((odds(&l[0]) - odds(&l[2])) + (odds(&l[3]) - odds(&l[1]))) / 2.0;
        assert!((good.contribution - want).abs() < 1e-5);
    }

    #[test]
    fn multi_label_explains_in_the_targets_own_logit() {
        let e = plan()
            .finish(&three_label_logits(), &labels(&["a", "b", "c"]), true)
            .unwrap();
        assert_eq!(e.target, "c");
        // l_c moves by 2.5 with "good" whichever way it is measured; "bad" does not touch it.
        assert!((e.words[0].contribution - 2.5).abs() < 1e-6);
        assert!(e.words[1].contribution.abs() < 1e-6);
    }

    /// Two labels: the old positive log-odds when the text is positive, negated when negative.
    #[test]
    fn two_labels_give_positive_log_odds_signed_by_the_prediction() {
        let odds_rows = |rows: &[[f32; 2]]| rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>();
        let positive = odds_rows(&[
            [0.0, 2.0],
            [0.0, 0.0],
            [0.0, -1.0],
            [0.0, 3.0],
            [0.0, 2.5],
            [0.0, -0.5],
        ]);
        let names = labels(&["negative", "positive"]);
        let e = plan().finish(&positive, &names, false).unwrap();
        assert_eq!(e.target, "positive");
        // ((2 − (−1)) + (3 − 0)) / 2 = 3: the positive log-odds as before.
        assert!((e.words[0].contribution - 3.0).abs() < 1e-6);
        let negative: Vec<Vec<f32>> = positive.iter().map(|r| vec![r[1] + 5.0, 0.0]).collect();
        let e = plan().finish(&negative, &names, false).unwrap();
        assert_eq!(e.target, "negative");
        // The same logits mirrored: the same size, now towards "negative".
        assert!((e.words[0].contribution - 3.0).abs() < 1e-6);
    }

    #[test]
    fn a_short_set_of_logits_is_an_error_not_a_panic() {
        let err = plan()
            .finish(&[vec![0.0, 1.0]], &labels(&["a", "b"]), false)
            .unwrap_err();
        assert!(err.to_string().contains("6 variants"), "{err}");
    }
}
