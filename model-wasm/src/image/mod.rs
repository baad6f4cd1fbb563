//! Image classification: EfficientNet-Lite0 on ImageNet-1k, 8-bit weights.
//!
//! ```text
//! bytes ─ decode (native: `decode`; browser: createImageBitmap) ─▶ PixelBuffer
//!       ─ preprocess (resize 256, crop 224, normalise) ─▶ net (EfficientNet-Lite0) ─▶ top-5
//! ```
//! The 8-bit file and the float weights load into the same network. The shipped file runs
//! 8-bit products in its 1×1 convolutions and classifier (`crate::int8_matmul`, in the browser
//! and natively alike); the float reference, and the native benchmark baseline, run f32.

pub mod arch;
#[cfg(not(target_arch = "wasm32"))]
pub mod decode;
mod depthwise;
pub mod net;
mod ops;
pub mod preprocess;
pub mod weights;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

pub use preprocess::{PixelBuffer, PixelFormat};
pub use weights::FloatLayer;

use crate::int8_matmul::MatmulMode;
use crate::{checksum, ModelError};
use arch::INPUT_SIZE;
use net::EfficientNetLite0;

/// How many classes `classify` reports.
pub const TOP_K: usize = 5;

/// One answer: class index, its short name, and softmax probability.
pub use wire::engine::ImageClass;

/// A loaded classifier, ready to label images.
#[derive(Debug, Clone)]
pub struct ImageClassifier {
    net: EfficientNetLite0,
    labels: Vec<String>,
}

impl ImageClassifier {
    /// Loads the shipped 8-bit model file after checking its sha256 (a truncated download or a
    /// stale cache entry must fail here, not produce confident nonsense). It runs 8-bit
    /// products, as the browser does.
    pub fn from_model_bytes(name: &str, bytes: &[u8], sha256: &str) -> Result<Self, ModelError> {
        Self::from_model_bytes_with(name, bytes, sha256, MatmulMode::Int8)
    }

    /// [`Self::from_model_bytes`] with the products of `mode` (the native benchmark's baseline
    /// runs f32).
    pub fn from_model_bytes_with(
        name: &str,
        bytes: &[u8],
        sha256: &str,
        mode: MatmulMode,
    ) -> Result<Self, ModelError> {
        checksum::verify(name, bytes, sha256)?;
        let (layers, labels) = weights::decode(name, bytes)?;
        Self::from_layers_with(&layers, labels, mode)
    }

    /// Loads a model file whose sha256 the caller has already checked: only the browser worker,
    /// which hashes with the platform's native SHA-256 (see `verify` in `public/sdk/worker.js`).
    pub fn from_verified_model_bytes(name: &str, bytes: &[u8]) -> Result<Self, ModelError> {
        let (layers, labels) = weights::decode(name, bytes)?;
        Self::from_layers_with(&layers, labels, MatmulMode::Int8)
    }

    /// The float reference path: float layers, f32 products throughout.
    pub fn from_layers(layers: &[FloatLayer], labels: Vec<String>) -> Result<Self, ModelError> {
        Self::from_layers_with(layers, labels, MatmulMode::F32)
    }

    /// Builds the network from float layers (the 8-bit file's are dequantised) with the
    /// products of `mode`.
    pub fn from_layers_with(
        layers: &[FloatLayer],
        labels: Vec<String>,
        mode: MatmulMode,
    ) -> Result<Self, ModelError> {
        if labels.len() != arch::NUM_CLASSES {
            return Err(ModelError::InvalidModel {
                name: "(labels)".into(),
                reason: format!("{} labels, expected {}", labels.len(), arch::NUM_CLASSES),
            });
        }
        let tensors = weights::to_tensors(layers)?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        Ok(Self {
            net: EfficientNetLite0::load(vb, mode)?,
            labels,
        })
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Raw logits for one image (1000 values).
    pub fn logits(&self, image: &PixelBuffer) -> Result<Vec<f32>, ModelError> {
        let input = preprocess::preprocess(image);
        let x = Tensor::from_vec(input, (1, 3, INPUT_SIZE, INPUT_SIZE), &Device::Cpu)?;
        Ok(self.net.forward(&x)?.flatten_all()?.to_vec1()?)
    }

    /// The five most likely classes, most likely first.
    pub fn classify(&self, image: &PixelBuffer) -> Result<Vec<ImageClass>, ModelError> {
        Ok(self.top_k(&self.logits(image)?, TOP_K))
    }

    /// The `k` most likely classes for precomputed logits.
    pub fn top_k(&self, logits: &[f32], k: usize) -> Vec<ImageClass> {
        let probs = softmax(logits);
        let mut order: Vec<usize> = (0..probs.len()).collect();
        // Ties (rare) keep the lower index first, so results are reproducible.
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]).then(a.cmp(&b)));
        order
            .into_iter()
            .take(k)
            .map(|index| ImageClass {
                // At most a few thousand classes (the file's label list), so this never saturates.
                index: u32::try_from(index).unwrap_or(u32::MAX),
                label: self.labels.get(index).cloned().unwrap_or_default(),
                score: probs[index],
            })
            .collect()
    }
}

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let p = softmax(&[1000.0, 999.0, -5.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(p[0] > p[1] && p[1] > p[2]);
    }
}
