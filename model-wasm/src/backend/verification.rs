//! The GPU path's check: before the GPU may give any answer, it must give the CPU's answer on a
//! fixed probe. The GPU multiplies in f32 and the CPU with 8-bit activations
//! ([`crate::int8_matmul`]), so the two are close, not equal; a broken GPU path is off by far
//! more, or names another answer. The comparisons here are pure; the GPU classifiers run them
//! (`GpuTextClassifier::verify`, `GpuImageClassifier::verify` in [`crate::gpu`]).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::image::PixelBuffer;
use crate::text::TextPrediction;

/// The sentence an English-reading text model's GPU path is checked and timed on.
pub const TEXT_PROBE: &str = "A warm, funny and beautifully made film, if a little long.";

/// A probe sentence per language: the check must run on text the model reads, or the CPU path
/// refuses it and the GPU is never verified (a Chinese reader refuses [`TEXT_PROBE`]).
const TEXT_PROBES: [(&str, &str); 2] = [
    ("en", TEXT_PROBE),
    ("zh", "这家酒店的服务非常好，房间干净又安静，下次还会再来。"),
];

/// The probe for a model that reads `languages`: the first of them that has one, else English.
pub fn text_probe(languages: &[String]) -> &'static str {
    languages
        .iter()
        .find_map(|l| TEXT_PROBES.iter().find(|(code, _)| code == l))
        .map_or(TEXT_PROBE, |(_, probe)| probe)
}

/// The largest difference in any label's probability the text check accepts. How far the two
/// paths are apart depends on how wide a model's activations are, since the CPU rounds them to
/// 8 bits: 3e-5 on [`TEXT_PROBE`] with the shipped sentiment model, 1.1e-2 with an imported
/// 2-layer BERT whose activations span a far wider range (the browser suite's `tiny-five`,
/// `e2e/tests/imported.test.js`), whose GPU answer is the closer of the two to its float
/// weights'. A broken path names another label or is tenths apart; 3e-2 leaves room for the
/// wider models without letting such a path through.
pub const TEXT_TOLERANCE: f32 = 3e-2;

/// The largest relative L2 distance between the logits the image check accepts: the two paths
/// are 1.8–3.0 % apart on the nine reference photos, with the same top-1.
pub const IMAGE_TOLERANCE: f32 = 5e-2;

/// The side of the square picture an image model's GPU path is checked and timed on.
pub const PROBE_IMAGE_SIDE: u32 = 256;

/// What the check found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "camelCase")]
pub enum Verdict {
    /// The same answer, `difference` apart (at most `tolerance`): the largest probability
    /// difference for a text model, the logits' relative L2 distance for an image model.
    Agrees { difference: f32, tolerance: f32 },
    /// Another answer, or the same one too far apart: the GPU path must not answer.
    Disagrees { disagreement: Disagreement },
}

impl Verdict {
    pub fn agrees(&self) -> bool {
        matches!(self, Self::Agrees { .. })
    }
}

/// How the GPU's answer on the probe differs from the CPU's. Its message is what the worker
/// remembers as the GPU's error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Disagreement {
    #[error("the GPU answered {gpu} ({gpu_score}), the CPU {cpu} ({cpu_score})")]
    Label {
        gpu: String,
        gpu_score: f32,
        cpu: String,
        cpu_score: f32,
    },
    #[error(
        "the GPU's probabilities differ from the CPU's by {apart} (at most {tolerance} allowed)"
    )]
    Probabilities { apart: f32, tolerance: f32 },
    #[error(
        "the GPU's logits differ from the CPU's (class {gpu} vs {cpu}, relative error {error})"
    )]
    TopClass { gpu: usize, cpu: usize, error: f32 },
    #[error("the GPU's logits differ from the CPU's by {error} (relative L2; at most {tolerance} allowed)")]
    Logits { error: f32, tolerance: f32 },
    #[error("the GPU gave {gpu} numbers, the CPU {cpu}")]
    Length { gpu: usize, cpu: usize },
}

/// The text check: the same label, and every label's probability within [`TEXT_TOLERANCE`]
/// (a NaN anywhere disagrees).
pub fn compare_text(cpu: &TextPrediction, gpu: &TextPrediction) -> Verdict {
    let disagrees = |disagreement| Verdict::Disagrees { disagreement };
    if cpu.scores.len() != gpu.scores.len() {
        return disagrees(Disagreement::Length {
            gpu: gpu.scores.len(),
            cpu: cpu.scores.len(),
        });
    }
    if cpu.label != gpu.label {
        return disagrees(Disagreement::Label {
            gpu: gpu.label.clone(),
            gpu_score: gpu.score,
            cpu: cpu.label.clone(),
            cpu_score: cpu.score,
        });
    }
    let apart = cpu
        .scores
        .iter()
        .zip(&gpu.scores)
        .map(|(c, g)| (c.score - g.score).abs())
        .fold(0f32, |worst, d| {
            if worst.is_nan() || d.is_nan() {
                f32::NAN
            } else {
                worst.max(d)
            }
        });
    within(apart, TEXT_TOLERANCE, |apart, tolerance| {
        Disagreement::Probabilities { apart, tolerance }
    })
}

/// The image check: the same top class, and logits within [`IMAGE_TOLERANCE`] (relative L2; a
/// NaN, or an all-zero CPU answer, disagrees).
pub fn compare_logits(cpu: &[f32], gpu: &[f32]) -> Verdict {
    if cpu.len() != gpu.len() || cpu.is_empty() {
        return Verdict::Disagrees {
            disagreement: Disagreement::Length {
                gpu: gpu.len(),
                cpu: cpu.len(),
            },
        };
    }
    let error = relative_l2(gpu, cpu);
    let (top_gpu, top_cpu) = (argmax(gpu), argmax(cpu));
    if top_gpu != top_cpu {
        return Verdict::Disagrees {
            disagreement: Disagreement::TopClass {
                gpu: top_gpu,
                cpu: top_cpu,
                error,
            },
        };
    }
    within(error, IMAGE_TOLERANCE, |error, tolerance| {
        Disagreement::Logits { error, tolerance }
    })
}

fn within(difference: f32, tolerance: f32, too_far: impl Fn(f32, f32) -> Disagreement) -> Verdict {
    // Written so that NaN is not within.
    if difference <= tolerance {
        Verdict::Agrees {
            difference,
            tolerance,
        }
    } else {
        Verdict::Disagrees {
            disagreement: too_far(difference, tolerance),
        }
    }
}

/// Relative L2 distance of `ours` from `reference` (same lengths).
fn relative_l2(ours: &[f32], reference: &[f32]) -> f32 {
    let (diff, norm) = ours
        .iter()
        .zip(reference)
        .fold((0f64, 0f64), |(diff, norm), (&a, &b)| {
            let (a, b) = (f64::from(a), f64::from(b));
            (diff + (a - b).powi(2), norm + b * b)
        });
    (diff / norm).sqrt() as f32
}

/// The first index of the largest value (NaNs never win).
fn argmax(xs: &[f32]) -> usize {
    (1..xs.len()).fold(0, |best, i| if xs[i] > xs[best] { i } else { best })
}

/// The fixed picture an image model's GPU path is checked and timed on: RGBA, 256×256, smooth
/// colour gradients (red across, green down) and blue ripples, opaque.
pub fn probe_image() -> PixelBuffer<'static> {
    PixelBuffer::rgba(PROBE_IMAGE_SIDE, PROBE_IMAGE_SIDE, probe_rgba())
        .expect("a 256×256 RGBA buffer is a valid image")
}

/// [`probe_image`]'s pixels, built once.
fn probe_rgba() -> &'static [u8] {
    static RGBA: OnceLock<Vec<u8>> = OnceLock::new();
    RGBA.get_or_init(|| {
        let side = PROBE_IMAGE_SIDE;
        (0..side)
            .flat_map(|y| (0..side).map(move |x| (x, y)))
            .flat_map(|(x, y)| {
                let ripple = 128.0 + 127.0 * (f64::from(x + 2 * y) / 9.0).sin();
                // As the browser stores it in ImageData: rounded to nearest, ties to even.
                let blue = ripple.round_ties_even().clamp(0.0, 255.0) as u8;
                [x as u8, y as u8, blue, 255]
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::LabelScore;

    #[test]
    fn each_model_is_probed_in_a_language_it_reads() {
        let langs = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(text_probe(&langs(&["en"])), TEXT_PROBE);
        assert!(text_probe(&langs(&["zh"])).contains("酒店"));
        assert!(text_probe(&langs(&["de", "zh"])).contains("酒店"));
        assert_eq!(text_probe(&langs(&[])), TEXT_PROBE);
    }

    fn prediction(scores: &[(&str, f32)]) -> TextPrediction {
        let best = scores
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("labels");
        TextPrediction {
            label: best.0.to_owned(),
            score: best.1,
            scores: scores
                .iter()
                .map(|&(label, score)| LabelScore {
                    label: label.to_owned(),
                    score,
                })
                .collect(),
            truncated: false,
        }
    }

    #[test]
    fn text_answers_agree_within_the_tolerance() {
        let cpu = prediction(&[("negative", 0.1), ("positive", 0.9)]);
        let gpu = prediction(&[("negative", 0.104), ("positive", 0.896)]);
        let Verdict::Agrees {
            difference,
            tolerance,
        } = compare_text(&cpu, &gpu)
        else {
            panic!("0.004 apart must agree");
        };
        assert!((difference - 0.004).abs() < 1e-6, "{difference}");
        assert_eq!(tolerance, TEXT_TOLERANCE);
    }

    #[test]
    fn another_label_disagrees_and_says_both() {
        let cpu = prediction(&[("negative", 0.45), ("positive", 0.55)]);
        let gpu = prediction(&[("negative", 0.55), ("positive", 0.45)]);
        let verdict = compare_text(&cpu, &gpu);
        let Verdict::Disagrees { disagreement } = &verdict else {
            panic!("{verdict:?}");
        };
        assert_eq!(
            disagreement.to_string(),
            "the GPU answered negative (0.55), the CPU positive (0.55)"
        );
    }

    #[test]
    fn the_same_label_too_far_apart_disagrees() {
        let cpu = prediction(&[("negative", 0.1), ("positive", 0.9)]);
        let gpu = prediction(&[("negative", 0.3), ("positive", 0.7)]);
        assert!(matches!(
            compare_text(&cpu, &gpu),
            Verdict::Disagrees {
                disagreement: Disagreement::Probabilities { .. }
            }
        ));
    }

    #[test]
    fn a_nan_probability_disagrees() {
        let cpu = prediction(&[("a", 0.2), ("b", 0.5), ("c", 0.3)]);
        let mut gpu = cpu.clone();
        gpu.scores[0].score = f32::NAN;
        assert!(!compare_text(&cpu, &gpu).agrees());
    }

    #[test]
    fn another_label_count_disagrees() {
        let cpu = prediction(&[("a", 0.2), ("b", 0.8)]);
        let gpu = prediction(&[("a", 0.1), ("b", 0.8), ("c", 0.1)]);
        assert_eq!(
            compare_text(&cpu, &gpu),
            Verdict::Disagrees {
                disagreement: Disagreement::Length { gpu: 3, cpu: 2 }
            }
        );
    }

    #[test]
    fn logits_agree_within_five_percent_with_the_same_top_class() {
        let cpu = [1.0, 4.0, -2.0, 0.5];
        let gpu = [1.05, 3.9, -2.05, 0.45];
        let verdict = compare_logits(&cpu, &gpu);
        let Verdict::Agrees { difference, .. } = verdict else {
            panic!("{verdict:?}");
        };
        // |(0.05, -0.1, -0.05, -0.05)| / |(1, 4, -2, 0.5)| = 0.1323 / 4.610
        assert!((difference - 0.028_70).abs() < 1e-4, "{difference}");
    }

    #[test]
    fn another_top_class_disagrees_however_close() {
        let cpu = [3.0, 2.999, 0.0];
        let gpu = [2.999, 3.0, 0.0];
        assert_eq!(
            compare_logits(&cpu, &gpu),
            Verdict::Disagrees {
                disagreement: Disagreement::TopClass {
                    gpu: 1,
                    cpu: 0,
                    error: relative_l2(&gpu, &cpu),
                }
            }
        );
    }

    #[test]
    fn logits_too_far_apart_disagree() {
        let cpu = [1.0, 4.0, -2.0];
        let gpu = [0.0, 4.0, 0.0];
        assert!(matches!(
            compare_logits(&cpu, &gpu),
            Verdict::Disagrees {
                disagreement: Disagreement::Logits { .. }
            }
        ));
    }

    #[test]
    fn nan_or_all_zero_or_missing_logits_disagree() {
        assert!(!compare_logits(&[1.0, f32::NAN], &[1.0, 0.0]).agrees());
        assert!(!compare_logits(&[1.0, 0.0], &[f32::NAN, 0.0]).agrees());
        assert!(!compare_logits(&[0.0, 0.0], &[0.0, 0.0]).agrees());
        assert!(!compare_logits(&[1.0, 0.0], &[1.0]).agrees());
        assert!(!compare_logits(&[], &[]).agrees());
    }

    #[test]
    fn the_probe_picture_is_the_fixed_256_square() {
        let image = probe_image();
        assert_eq!((image.width(), image.height()), (256, 256));
        let rgba = probe_rgba();
        assert_eq!(rgba.len(), 256 * 256 * 4);
        let at = |x: usize, y: usize| &rgba[4 * (y * 256 + x)..4 * (y * 256 + x) + 4];
        // 128 + 127·sin(0) = 128; sin(3/9) = 0.3272 → 169.55 → 170; opaque everywhere.
        assert_eq!(at(0, 0), [0, 0, 128, 255]);
        assert_eq!(at(3, 0), [3, 0, 170, 255]);
        assert_eq!(at(255, 1)[..2], [255, 1]);
        assert!(rgba.chunks_exact(4).all(|p| p[3] == 255));
        // The same picture every time (it is built once).
        assert!(std::ptr::eq(rgba, probe_rgba()));
    }
}
