//! From a row of logits (one per label, in label order) to what the engine reports: probabilities
//! (softmax for exclusive labels, element-wise sigmoid for independent ones), the predicted label,
//! and the log-odds of one label that explanations are measured in.

use wire::engine::{LabelScore, TextPrediction};

/// The most likely label's index (the first of equals; NaN never wins).
pub fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] || logits[best].is_nan() {
            best = i;
        }
    }
    best
}

/// Probabilities for every label, in order: softmax (they sum to 1) or, for a multi-label model,
/// each label's own sigmoid.
pub fn probabilities(logits: &[f32], multi_label: bool) -> Vec<f32> {
    if multi_label {
        return logits.iter().map(|&l| sigmoid(l)).collect();
    }
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// The prediction for one row of logits: every label's probability, and the most likely one.
pub fn prediction(
    labels: &[String],
    logits: &[f32],
    multi_label: bool,
    truncated: bool,
) -> TextPrediction {
    let probs = probabilities(logits, multi_label);
    let best = argmax(logits);
    TextPrediction {
        label: labels.get(best).cloned().unwrap_or_default(),
        score: probs.get(best).copied().unwrap_or_default(),
        scores: labels
            .iter()
            .zip(&probs)
            .map(|(label, &score)| LabelScore {
                label: label.clone(),
                score,
            })
            .collect(),
        truncated,
    }
}

/// Log-odds of label `target`: `logit_t − logsumexp(the other logits)`, the log of
/// p(target) / p(not target) under softmax. For two labels that is the plain logit difference.
/// For a multi-label model each label is its own yes/no question and the sigmoid's log-odds is
/// the logit itself.
pub fn target_log_odds(logits: &[f32], target: usize, multi_label: bool) -> f32 {
    let own = logits.get(target).copied().unwrap_or_default();
    if multi_label {
        return own;
    }
    let others = logits
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != target)
        .map(|(_, &l)| l);
    own - log_sum_exp(others)
}

/// ln Σ eˣ without overflow (−∞ for no values).
fn log_sum_exp(values: impl Iterator<Item = f32> + Clone) -> f32 {
    let max = values.clone().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return max;
    }
    max + values.map(|v| (v - max).exp()).sum::<f32>().ln()
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn softmax_scores_every_label_in_order_and_sum_to_one() {
        let p = prediction(&labels(&["a", "b", "c"]), &[0.5, 2.0, -1.0], false, false);
        assert_eq!(p.label, "b");
        let names: Vec<&str> = p.scores.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        let sum: f32 = p.scores.iter().map(|s| s.score).sum();
        assert!((sum - 1.0).abs() < 1e-6, "{sum}");
        assert_eq!(p.score, p.scores[1].score);
        assert!(p.scores[1].score > p.scores[0].score && p.scores[0].score > p.scores[2].score);
    }

    #[test]
    fn sigmoid_scores_each_label_on_its_own() {
        let p = prediction(&labels(&["x", "y"]), &[0.0, 3.0], true, true);
        assert_eq!(p.label, "y");
        assert!((p.scores[0].score - 0.5).abs() < 1e-6);
        assert!((p.scores[1].score - sigmoid(3.0)).abs() < 1e-6);
        // Independent: they need not sum to 1.
        assert!(p.scores.iter().map(|s| s.score).sum::<f32>() > 1.0);
        assert!(p.truncated);
    }

    #[test]
    fn two_label_log_odds_is_the_logit_difference() {
        let logits = [0.3, 1.7];
        assert!((target_log_odds(&logits, 1, false) - 1.4).abs() < 1e-6);
        assert!((target_log_odds(&logits, 0, false) + 1.4).abs() < 1e-6);
    }

    #[test]
    fn log_odds_match_the_softmax_probability() {
        let logits = [1.0, -0.5, 2.0, 0.25];
        let probs = probabilities(&logits, false);
        for (t, &p) in probs.iter().enumerate() {
            let odds = (p / (1.0 - p)).ln();
            assert!((target_log_odds(&logits, t, false) - odds).abs() < 1e-5);
        }
        assert_eq!(target_log_odds(&logits, 2, true), 2.0);
    }

    #[test]
    fn extreme_logits_stay_finite() {
        let p = probabilities(&[1000.0, -1000.0, 0.0], false);
        assert!(p.iter().all(|v| v.is_finite()));
        assert!(target_log_odds(&[1000.0, -1000.0, 999.0], 0, false).is_finite());
        assert_eq!(argmax(&[f32::NAN, 1.0, 3.0, 3.0]), 2);
    }
}
