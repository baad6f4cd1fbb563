//! The GPU path's check (`model-wasm/src/backend/verification.rs`), as the worker runs it before
//! the GPU may answer (`TextEngine.verifyGpu`, `ImageEngine.verifyGpu`), on the machine's adapter:
//! lavapipe where there is no GPU. The shipped models pass it; a GPU path with broken weights
//! does not.

#![cfg(feature = "gpu")]

mod common;

use model_wasm::backend::{Disagreement, Verdict, IMAGE_TOLERANCE, TEXT_TOLERANCE};
use model_wasm::gpu::image_classifier::GpuImageClassifier;
use model_wasm::gpu::text_classifier::GpuTextClassifier;
use model_wasm::image::{weights, ImageClassifier, ImageModelSpec};
use model_wasm::text::TextClassifier;

use common::gpu::gpu;
use common::shipped_model;

#[test]
fn the_shipped_text_model_passes_its_gpu_check() {
    let Some(model) = shipped_model("sentiment") else {
        return;
    };
    let Some(gpu) = gpu() else { return };
    // As the browser builds both (its CPU path with the manifest's 8-bit activations).
    let spec = model.text_spec();
    let cpu = TextClassifier::from_verified_model_file(
        &model.name,
        &model.bytes,
        &spec,
        spec.matmul_mode(),
    )
    .unwrap();
    let on_gpu = GpuTextClassifier::load(gpu, &model.name, &model.bytes, &spec).unwrap();
    let verdict = pollster::block_on(on_gpu.verify(&cpu)).unwrap();
    eprintln!("sentiment, GPU check: {verdict:?}");
    let Verdict::Agrees {
        difference,
        tolerance,
    } = verdict
    else {
        panic!("the shipped sentiment model fails its GPU check: {verdict:?}");
    };
    assert_eq!(tolerance, TEXT_TOLERANCE);
    assert!(difference <= tolerance, "{difference}");
}

/// The shipped image model's CPU classifier, its spec and its layers, as the worker loads it.
fn shipped_image_model() -> Option<(ImageClassifier, ImageModelSpec, weights::DecodedModel)> {
    let model = shipped_model("image")?;
    let spec = ImageModelSpec::from_manifest(&model.manifest).unwrap();
    let cpu =
        ImageClassifier::from_verified_model_bytes_with_spec(&model.name, &model.bytes, &spec)
            .unwrap();
    let decoded = weights::decode_with_spec(&model.name, &model.bytes, &spec).unwrap();
    Some((cpu, spec, decoded))
}

#[test]
fn the_shipped_image_model_passes_its_gpu_check() {
    let Some((cpu, spec, decoded)) = shipped_image_model() else {
        return;
    };
    let Some(gpu) = gpu() else { return };
    let on_gpu = GpuImageClassifier::load_with_spec(gpu, &decoded.layers, &spec).unwrap();
    let verdict = pollster::block_on(on_gpu.verify(&cpu)).unwrap();
    eprintln!("image, GPU check: {verdict:?}");
    let Verdict::Agrees {
        difference,
        tolerance,
    } = verdict
    else {
        panic!("the shipped image model fails its GPU check: {verdict:?}");
    };
    assert_eq!(tolerance, IMAGE_TOLERANCE);
    assert!(difference <= tolerance, "{difference}");
}

/// A GPU path that computes something else (here its classifier's weights negated, so the CPU's
/// most likely class is the GPU's least likely) fails the check, naming both classes.
#[test]
fn a_gpu_path_with_broken_weights_fails_its_check() {
    let Some((cpu, spec, mut decoded)) = shipped_image_model() else {
        return;
    };
    let Some(gpu) = gpu() else { return };
    let classifier = decoded
        .layers
        .iter_mut()
        .find(|l| l.name == "classifier")
        .expect("a classifier layer");
    for w in classifier
        .weight
        .iter_mut()
        .chain(classifier.bias.iter_mut())
    {
        *w = -*w;
    }
    let on_gpu = GpuImageClassifier::load_with_spec(gpu, &decoded.layers, &spec).unwrap();
    let verdict = pollster::block_on(on_gpu.verify(&cpu)).unwrap();
    let Verdict::Disagrees {
        disagreement: Disagreement::TopClass { gpu, cpu, error },
    } = verdict
    else {
        panic!("a negated classifier passes the GPU check: {verdict:?}");
    };
    assert_ne!(gpu, cpu);
    // Negated logits are twice their own size away from the CPU's.
    assert!((error - 2.0).abs() < 0.1, "relative error {error}");
}
