//! The text classifier with its encoder on the GPU: what the browser's `TextEngine.classifyGpu`
//! and `explainGpu` run. Only the encoder moves: tokenizing, the head and everything after run
//! on the CPU's [`TextClassifier`] with the code its own path uses, from the GPU's sentence
//! vectors.

use super::text::GpuEncoder;
use super::{Gpu, GpuError};
use crate::backend::{compare_text, text_probe, Verdict};
use crate::text::{
    file, MatmulMode, TextClassifier, TextExplanation, TextModelSpec, TextPrediction, Weights,
};

/// A text model's encoder resident on a device, with the device it lives on.
pub struct GpuTextClassifier {
    gpu: Gpu,
    encoder: GpuEncoder,
}

impl GpuTextClassifier {
    /// Whether the GPU path can run a model of `spec`: attention heads the kernels take
    /// ([`super::text::supports`]; either pooling). Cheap: the worker asks before it asks for
    /// an adapter, so such a model needs no GPU to stay on the CPU.
    pub fn supports(spec: &TextModelSpec) -> Result<(), GpuError> {
        super::text::supports(&spec.config)
    }

    /// Uploads the encoder of the model file `bytes` (named `name`, already checked against its
    /// sha256), a model of `spec`, to `gpu`, once.
    pub fn load(
        gpu: Gpu,
        name: &str,
        bytes: &[u8],
        spec: &TextModelSpec,
    ) -> Result<Self, GpuError> {
        Self::supports(spec)?;
        let parsed = file::parse(
            name,
            bytes,
            &candle_core::Device::Cpu,
            MatmulMode::default(),
        )?;
        let weights = Weights::Quantized(parsed.weights);
        let encoder = GpuEncoder::load(&gpu, &weights, spec)?;
        Ok(Self { gpu, encoder })
    }

    /// `cpu.classify(text)` with the encoder on the GPU (`cpu` is the same model on the CPU).
    pub async fn classify(
        &self,
        cpu: &TextClassifier,
        text: &str,
    ) -> Result<TextPrediction, GpuError> {
        let tokens = cpu.encode(text)?;
        let pooled = self
            .encoder
            .pooled(&self.gpu, &[tokens.ids.as_slice()])
            .await?;
        Ok(cpu.predict_from_pooled(&tokens, pooled)?)
    }

    /// `cpu.explain(text)` with every masked variant encoded on the GPU in one submission.
    pub async fn explain(
        &self,
        cpu: &TextClassifier,
        text: &str,
    ) -> Result<TextExplanation, GpuError> {
        let plan = cpu.plan_explanation(text)?;
        let pooled = self.encoder.pooled(&self.gpu, &plan.variants).await?;
        Ok(cpu.explain_from_pooled(plan, pooled)?)
    }

    /// The check before this path may answer: both paths classify the probe of a language the
    /// model reads ([`text_probe`]), and must give the same label with probabilities close
    /// ([`compare_text`]). An error is a GPU failure, not a verdict.
    pub async fn verify(&self, cpu: &TextClassifier) -> Result<Verdict, GpuError> {
        let probe = text_probe(&cpu.spec().languages);
        let on_cpu = cpu.classify(probe)?;
        let on_gpu = self.classify(cpu, probe).await?;
        Ok(compare_text(&on_cpu, &on_gpu))
    }
}
