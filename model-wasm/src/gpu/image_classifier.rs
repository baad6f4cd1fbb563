//! The image classifier with its network on the GPU: what the browser's `ImageEngine.classifyGpu`
//! runs. Only the network moves: preprocessing is [`crate::image::preprocess::preprocess`] on the
//! CPU and labelling is [`ImageClassifier::top_k`], the very functions the CPU path calls, so
//! the two backends can only differ by the network's float rounding.

use super::image::GpuImageNet;
use super::{Gpu, GpuError};
use crate::image::preprocess::preprocess;
use crate::image::{FloatLayer, ImageClass, ImageClassifier, PixelBuffer, TOP_K};

/// EfficientNet-Lite0 resident on a device, with the device it lives on.
pub struct GpuImageClassifier {
    gpu: Gpu,
    net: GpuImageNet,
}

impl GpuImageClassifier {
    /// Uploads the network's layers (from [`crate::image::weights::decode`]) to `gpu`, once.
    pub fn load(gpu: Gpu, layers: &[FloatLayer]) -> Result<Self, GpuError> {
        let net = GpuImageNet::load(&gpu, layers)?;
        Ok(Self { gpu, net })
    }

    /// The 1000 ImageNet logits for `image`: one submission, one read-back.
    pub async fn logits(&self, image: &PixelBuffer<'_>) -> Result<Vec<f32>, GpuError> {
        self.net.logits(&self.gpu, &preprocess(image)).await
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
}
