//! The image classifier with its network on the GPU: what the browser's `ImageEngine.classifyGpu`
//! runs. Only the network moves: preprocessing is [`crate::image::preprocess::preprocess`] on the
//! CPU and labelling is [`ImageClassifier::top_k`], the very functions the CPU path calls, so
//! the two backends can only differ by the network's float rounding.

use super::image::GpuImageNet;
use super::{Gpu, GpuError};
use crate::backend::{compare_logits, probe_image, Verdict};
use crate::image::preprocess::preprocess;
use crate::image::{
    FloatLayer, ImageClass, ImageClassifier, ImageModelSpec, PixelBuffer, Preprocessing, TOP_K,
};

/// An EfficientNet-Lite resident on a device, with the device it lives on.
pub struct GpuImageClassifier {
    gpu: Gpu,
    net: GpuImageNet,
    preprocessing: Preprocessing,
}

impl GpuImageClassifier {
    /// Uploads the shipped model's layers (from [`crate::image::weights::decode`]) to `gpu`, once.
    pub fn load(gpu: Gpu, layers: &[FloatLayer]) -> Result<Self, GpuError> {
        Self::load_with_spec(gpu, layers, &ImageModelSpec::shipped())
    }

    /// Uploads the layers of a model of `spec` (from
    /// [`crate::image::weights::decode_with_spec`]; the CPU classifier's
    /// [`ImageClassifier::spec`]) to `gpu`, once.
    pub fn load_with_spec(
        gpu: Gpu,
        layers: &[FloatLayer],
        spec: &ImageModelSpec,
    ) -> Result<Self, GpuError> {
        let net = GpuImageNet::load(&gpu, layers, &spec.blocks)?;
        Ok(Self {
            gpu,
            net,
            preprocessing: spec.preprocessing.clone(),
        })
    }

    /// The logits for `image`: one submission, one read-back.
    pub async fn logits(&self, image: &PixelBuffer<'_>) -> Result<Vec<f32>, GpuError> {
        self.net
            .logits(&self.gpu, &preprocess(image, &self.preprocessing))
            .await
    }

    /// The five most likely classes, labelled by the CPU classifier `labels` (the same model
    /// file), exactly as [`ImageClassifier::classify`] reports them.
    pub async fn classify(
        &self,
        labels: &ImageClassifier,
        image: &PixelBuffer<'_>,
    ) -> Result<Vec<ImageClass>, GpuError> {
        Ok(labels.top_k(&self.logits(image).await?, TOP_K))
    }

    /// The check before this path may answer: both paths' logits for the probe picture
    /// ([`probe_image`]) must have the same top class and be close ([`compare_logits`]); `cpu`
    /// is the same model on the CPU. An error is a GPU failure, not a verdict.
    pub async fn verify(&self, cpu: &ImageClassifier) -> Result<Verdict, GpuError> {
        let probe = probe_image();
        let on_cpu = cpu.logits(&probe)?;
        let on_gpu = self.logits(&probe).await?;
        Ok(compare_logits(&on_cpu, &on_gpu))
    }
}
