//! Image classification: EfficientNet-Lite0–4 with any number of classes, 8-bit weights.
//!
//! ```text
//! bytes ─ decode (native: `decode`; browser: createImageBitmap) ─▶ PixelBuffer
//!       ─ preprocess (resize, crop, normalise: from the spec) ─▶ net (EfficientNet-Lite) ─▶ top-5
//! ```
//! What the network and the preprocessing are comes from the model's manifest
//! ([`ImageModelSpec::from_manifest`]); the constructors without a spec build the shipped model
//! (Lite0, ImageNet-1k). The 8-bit file and float weights load into the same network. 8-bit
//! files run 8-bit products in their 1×1 convolutions and classifier (`crate::int8_matmul`, in
//! the browser and natively alike); the float reference, and the native benchmark baseline, run
//! f32.

pub mod arch;
#[cfg(not(target_arch = "wasm32"))]
pub mod decode;
mod depthwise;
pub mod net;
mod ops;
pub mod preprocess;
pub mod spec;
pub mod weights;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;

pub use preprocess::{PixelBuffer, PixelFormat};
pub use spec::{ImageModelSpec, Preprocessing};
pub use weights::FloatLayer;

use crate::int8_matmul::MatmulMode;
use crate::{checksum, ModelError};
use net::EfficientNetLite;
use weights::Precision;

/// How many classes `classify` reports (fewer when the model has fewer).
pub const TOP_K: usize = 5;

/// One answer: class index, its name, and softmax probability.
pub use wire::engine::ImageClass;

/// A loaded classifier, ready to label images.
#[derive(Debug, Clone)]
pub struct ImageClassifier {
    net: EfficientNetLite,
    labels: Vec<String>,
    spec: ImageModelSpec,
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
        Self::from_model_bytes_with_spec(name, bytes, sha256, &ImageModelSpec::shipped(), mode)
    }

    /// A model file of `spec` (from its manifest) after checking its sha256, with the products
    /// of `mode`.
    pub fn from_model_bytes_with_spec(
        name: &str,
        bytes: &[u8],
        sha256: &str,
        spec: &ImageModelSpec,
        mode: MatmulMode,
    ) -> Result<Self, ModelError> {
        checksum::verify(name, bytes, sha256)?;
        let model = weights::decode_with_spec(name, bytes, spec)?;
        Self::from_layers_with_spec(&model.layers, model.labels, spec, mode)
    }

    /// Loads the shipped model file whose sha256 the caller has already checked: only the
    /// browser worker, which hashes with the platform's native SHA-256 (see `verify` in
    /// `public/sdk/worker.js`).
    pub fn from_verified_model_bytes(name: &str, bytes: &[u8]) -> Result<Self, ModelError> {
        Self::from_verified_model_bytes_with_spec(name, bytes, &ImageModelSpec::shipped())
    }

    /// [`Self::from_verified_model_bytes`] for any model: `spec` from its manifest
    /// ([`ImageModelSpec::from_manifest`]). 8-bit files run 8-bit products, f32 files f32.
    pub fn from_verified_model_bytes_with_spec(
        name: &str,
        bytes: &[u8],
        spec: &ImageModelSpec,
    ) -> Result<Self, ModelError> {
        let model = weights::decode_with_spec(name, bytes, spec)?;
        let mode = match model.precision {
            Precision::Int8 => MatmulMode::Int8,
            Precision::F32 => MatmulMode::F32,
        };
        Self::from_layers_with_spec(&model.layers, model.labels, spec, mode)
    }

    /// A catalogue model whose bytes the caller has verified: the spec from its `manifest`
    /// (`[architecture]`, `[preprocessing]`), then
    /// [`Self::from_verified_model_bytes_with_spec`]. What the worker's image engine calls.
    pub fn from_manifest_and_verified_bytes(
        manifest: &wire::catalog::ModelManifest,
        name: &str,
        bytes: &[u8],
    ) -> Result<Self, ModelError> {
        let spec = ImageModelSpec::from_manifest(manifest)?;
        Self::from_verified_model_bytes_with_spec(name, bytes, &spec)
    }

    /// The float reference path for the shipped model: float layers, f32 products throughout.
    pub fn from_layers(layers: &[FloatLayer], labels: Vec<String>) -> Result<Self, ModelError> {
        Self::from_layers_with(layers, labels, MatmulMode::F32)
    }

    /// Builds the shipped network from float layers (the 8-bit file's are dequantised) with the
    /// products of `mode`.
    pub fn from_layers_with(
        layers: &[FloatLayer],
        labels: Vec<String>,
        mode: MatmulMode,
    ) -> Result<Self, ModelError> {
        Self::from_layers_with_spec(layers, labels, &ImageModelSpec::shipped(), mode)
    }

    /// Builds the network of `spec` from float layers with the products of `mode`.
    pub fn from_layers_with_spec(
        layers: &[FloatLayer],
        labels: Vec<String>,
        spec: &ImageModelSpec,
        mode: MatmulMode,
    ) -> Result<Self, ModelError> {
        if labels.len() != spec.num_classes {
            return Err(ModelError::InvalidModel {
                name: "(labels)".into(),
                reason: format!(
                    "{} labels, but the model has num_classes = {}",
                    labels.len(),
                    spec.num_classes
                ),
            });
        }
        let tensors = weights::to_tensors(layers, spec)?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        Ok(Self {
            net: EfficientNetLite::load(vb, spec, mode)?,
            labels,
            spec: spec.clone(),
        })
    }

    /// What this model is: its block table, class count and preprocessing.
    pub fn spec(&self) -> &ImageModelSpec {
        &self.spec
    }

    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Raw logits for one image (one per class).
    pub fn logits(&self, image: &PixelBuffer) -> Result<Vec<f32>, ModelError> {
        self.logits_of_input(&preprocess::preprocess(image, &self.spec.preprocessing))
    }

    /// Raw logits for an already preprocessed input (`[3, side, side]`, CHW): how an import is
    /// compared with the framework's own preprocessed tensors, separating the two halves.
    pub fn logits_of_input(&self, chw: &[f32]) -> Result<Vec<f32>, ModelError> {
        let side = self.spec.input_size();
        if chw.len() != 3 * side * side {
            return Err(ModelError::InvalidPixels(format!(
                "{} input values, expected 3 × {side} × {side}",
                chw.len()
            )));
        }
        let x = Tensor::from_slice(chw, (1, 3, side, side), &Device::Cpu)?;
        Ok(self.net.forward(&x)?.flatten_all()?.to_vec1()?)
    }

    /// The mean input of every layer, per input channel, over all pixels of `inputs` (each
    /// `[3, side, side]`, CHW): the statistics [`weights::bias_corrected`] needs.
    pub fn layer_input_means(
        &self,
        inputs: &[Vec<f32>],
    ) -> Result<std::collections::HashMap<String, Vec<f32>>, ModelError> {
        let side = self.spec.input_size();
        let mut sums: std::collections::HashMap<String, (Vec<f64>, usize)> = Default::default();
        for chw in inputs {
            let x = Tensor::from_slice(chw, (1, 3, side, side), &Device::Cpu)?;
            self.net.forward_observed(&x, &mut |layer, t| {
                let c = t.dims().last().copied().unwrap_or(0);
                let values: Vec<f32> = t.flatten_all()?.to_vec1()?;
                let (sum, n) = sums
                    .entry(layer.name())
                    .or_insert_with(|| (vec![0.0; c], 0));
                for px in values.chunks_exact(c.max(1)) {
                    for (s, &v) in sum.iter_mut().zip(px) {
                        *s += f64::from(v);
                    }
                    *n += 1;
                }
                Ok(())
            })?;
        }
        Ok(sums
            .into_iter()
            .map(|(name, (sum, n))| {
                let n = n.max(1) as f64;
                (name, sum.into_iter().map(|s| (s / n) as f32).collect())
            })
            .collect())
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
