//! The GPU kernels against the CPU path, on whatever adapter the machine has: lavapipe (Mesa's
//! CPU Vulkan, `apt-get install mesa-vulkan-drivers`) where there is no GPU. Relative error
//! ≤ 1e-3 (L2) on random and real inputs.

#![cfg(feature = "gpu")]

mod common;

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use model_wasm::gpu::attention::{Attention, AttentionShape};
use model_wasm::gpu::kernels::{Activation, Kernels, Linear, Norm, Q8Matrix};
use model_wasm::gpu::Gpu;

use common::gpu::{gpu, relative_l2, values};

/// A file under `assets/`.
fn asset(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets")
        .join(path)
}

/// The shipped model `file`'s bytes, or None (and a SKIPPED line) where it is not checked out.
fn shipped_model(id: &str) -> Option<Vec<u8>> {
    common::shipped_model(id).map(|m| m.bytes)
}

/// The shipped text model's bytes and spec.
fn shipped_text_model(id: &str) -> Option<(Vec<u8>, model_wasm::text::TextModelSpec)> {
    common::shipped_model(id).map(|m| {
        let spec = m.text_spec();
        (m.bytes, spec)
    })
}

/// A sample photo, decoded.
fn sample_photo(photo: &str) -> model_wasm::image::decode::DecodedImage {
    let encoded = std::fs::read(asset("samples").join(photo)).unwrap();
    model_wasm::image::decode::decode(&encoded).unwrap()
}

#[test]
fn linear_q8_matches_candle() {
    let Some(gpu) = gpu() else { return };
    let kernels = Kernels::new(&gpu);
    // The encoder's shapes: attention (384→384), feed-forward in (384→1536, with its GELU) and
    // out (1536→384), for a batch of 7 tokens.
    for (m, k, n) in [(7, 384, 384), (7, 384, 1536), (7, 1536, 384), (1, 64, 3)] {
        let w = Tensor::from_vec(values(n * k, 1 + n as u32, 0.2), (n, k), &Device::Cpu).unwrap();
        let q = QTensor::quantize(&w, GgmlDType::Q8_0).unwrap();
        let x = values(m * k, 7 + k as u32, 1.0);
        let bias = values(n, 3, 0.5);
        // CPU reference: the same 8-bit weights, expanded, in f32.
        let w_cpu = q.dequantize(&Device::Cpu).unwrap();
        let x_cpu = Tensor::from_vec(x.clone(), (m, k), &Device::Cpu).unwrap();
        let b_cpu = Tensor::from_vec(bias.clone(), n, &Device::Cpu).unwrap();
        let act = if n == 1536 {
            Activation::Gelu
        } else {
            Activation::None
        };
        let reference: Vec<f32> = x_cpu
            .matmul(&w_cpu.t().unwrap())
            .and_then(|y| y.broadcast_add(&b_cpu))
            .and_then(|y| match act {
                Activation::Gelu => y.gelu_erf(),
                Activation::None => Ok(y),
            })
            .and_then(|y| y.flatten_all())
            .and_then(|y| y.to_vec1())
            .unwrap();

        let w_gpu = Q8Matrix::upload(&gpu, n, k, &q.data().unwrap()).unwrap();
        let layer = Linear::upload(&gpu, w_gpu, &bias).unwrap();
        let x_gpu = gpu.upload("x", &x);
        let y_gpu = gpu.output("y", m * n);
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        kernels
            .linear(&gpu, &mut encoder, &x_gpu, m, &layer, act, &y_gpu)
            .unwrap();
        gpu.queue.submit([encoder.finish()]);
        let ours = pollster::block_on(gpu.read(&y_gpu)).unwrap();
        let err = relative_l2(&ours, &reference);
        assert!(err <= 1e-3, "{m}×{k}·{n}: relative L2 error {err}");
    }
}

#[test]
fn linear_q8_refuses_mismatched_sizes() {
    let Some(gpu) = gpu() else { return };
    let kernels = Kernels::new(&gpu);
    assert!(
        Q8Matrix::upload(&gpu, 4, 30, &[0; 4 * 34]).is_err(),
        "cols not whole blocks"
    );
    let weights = || Q8Matrix::upload(&gpu, 4, 32, &[0; 4 * 34]).unwrap();
    assert!(
        Linear::upload(&gpu, weights(), &[0.0; 3]).is_err(),
        "3 biases for 4 outputs"
    );
    let layer = Linear::upload(&gpu, weights(), &[0.0; 4]).unwrap();
    let x = gpu.upload("x", &[0f32; 16]); // 2 rows need 2 × 32
    let y = gpu.output("y", 8);
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    assert!(kernels
        .linear(&gpu, &mut encoder, &x, 2, &layer, Activation::None, &y)
        .is_err());
}

#[test]
fn add_layer_norm_matches_candle() {
    let Some(gpu) = gpu() else { return };
    let kernels = Kernels::new(&gpu);
    for (rows, cols) in [(7, 384), (1, 384), (3, 100)] {
        let x = values(rows * cols, 11 + cols as u32, 2.0);
        let r = values(rows * cols, 5, 1.0);
        let gamma = values(cols, 17, 1.0);
        let beta = values(cols, 19, 0.3);
        let eps = 1e-12;
        let sum = (Tensor::from_vec(x.clone(), (rows, cols), &Device::Cpu).unwrap()
            + Tensor::from_vec(r.clone(), (rows, cols), &Device::Cpu).unwrap())
        .unwrap();
        let reference: Vec<f32> = candle_nn::ops::layer_norm(
            &sum,
            &Tensor::from_vec(gamma.clone(), cols, &Device::Cpu).unwrap(),
            &Tensor::from_vec(beta.clone(), cols, &Device::Cpu).unwrap(),
            eps,
        )
        .and_then(|y| y.flatten_all())
        .and_then(|y| y.to_vec1())
        .unwrap();

        let norm = Norm::upload(&gpu, &gamma, &beta, eps).unwrap();
        let (x_gpu, r_gpu) = (gpu.upload("x", &x), gpu.upload("r", &r));
        let y_gpu = gpu.output("y", rows * cols);
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        kernels
            .add_layer_norm(&gpu, &mut encoder, &x_gpu, &r_gpu, rows, &norm, &y_gpu)
            .unwrap();
        gpu.queue.submit([encoder.finish()]);
        let ours = pollster::block_on(gpu.read(&y_gpu)).unwrap();
        let err = relative_l2(&ours, &reference);
        assert!(err <= 1e-3, "{rows}×{cols}: relative L2 error {err}");
    }
}

/// The attention kernel, compiled for each head width, against candle's attention: MiniLM's 12
/// heads of 32, bert-tiny's 2 of 64, an odd width (24) and the widest the kernel takes (128).
#[test]
fn attention_of_any_head_width_matches_candle_with_padding() {
    let Some(gpu) = gpu() else { return };
    for (heads, head_dim) in [(12, 32), (2, 64), (3, 24), (1, 128)] {
        let attention = Attention::new(&gpu, head_dim).unwrap();
        let err = attention_error(&gpu, &attention, heads);
        eprintln!("attention, {heads} heads × {head_dim}: relative L2 error {err:.2e}");
        assert!(err <= 1e-3, "{heads} × {head_dim}: relative L2 error {err}");
    }
}

/// Relative L2 error of `attention` over `heads` heads against candle, on two sequences padded
/// to 9 tokens (the second has 5 real ones), real tokens compared.
fn attention_error(gpu: &Gpu, attention: &Attention, heads: usize) -> f32 {
    let (batch, len, head_dim) = (2, 9, attention.head_dim());
    let hidden = heads * head_dim;
    let lengths = [9, 5];
    let mask: Vec<f32> = lengths
        .iter()
        .flat_map(|&n| (0..len).map(move |j| if j < n { 1.0 } else { 0.0 }))
        .collect();
    let [q, k, v] = [21, 22, 23].map(|seed| values(batch * len * hidden, seed, 1.5));

    // CPU reference, as the encoder computes it: (b, heads, len, d), additive mask, softmax.
    let split = |x: &[f32]| {
        Tensor::from_vec(x.to_vec(), (batch, len, heads, head_dim), &Device::Cpu)
            .and_then(|t| t.transpose(1, 2))
            .and_then(|t| t.contiguous())
            .unwrap()
    };
    let (qt, kt, vt) = (split(&q), split(&k), split(&v));
    let bias: Vec<f32> = mask
        .iter()
        .map(|&m| if m == 1.0 { 0.0 } else { -1e9 })
        .collect();
    let bias = Tensor::from_vec(bias, (batch, 1, 1, len), &Device::Cpu).unwrap();
    let scores = (qt.matmul(&kt.t().unwrap()).unwrap() / (head_dim as f64).sqrt())
        .and_then(|s| s.broadcast_add(&bias))
        .unwrap();
    let probs = candle_nn::ops::softmax_last_dim(&scores).unwrap();
    let reference: Vec<f32> = probs
        .matmul(&vt)
        .and_then(|c| c.transpose(1, 2))
        .and_then(|c| c.flatten_all())
        .and_then(|c| c.to_vec1())
        .unwrap();

    let [q_gpu, k_gpu, v_gpu] = [&q, &k, &v].map(|x| gpu.upload("qkv", x));
    let mask_gpu = gpu.upload("mask", &mask);
    let out = gpu.output("ctx", batch * len * hidden);
    let mut encoder = gpu.device.create_command_encoder(&Default::default());
    attention
        .record(
            gpu,
            &mut encoder,
            [&q_gpu, &k_gpu, &v_gpu],
            &mask_gpu,
            AttentionShape { batch, len, heads },
            &out,
        )
        .unwrap();
    gpu.queue.submit([encoder.finish()]);
    let ours = pollster::block_on(gpu.read(&out)).unwrap();
    // Padding positions' outputs are never used downstream (pooling skips them): compare the
    // real tokens only.
    let real = |x: &[f32]| -> Vec<f32> {
        (0..batch)
            .flat_map(|b| (0..lengths[b]).map(move |i| (b, i)))
            .flat_map(|(b, i)| x[(b * len + i) * hidden..(b * len + i + 1) * hidden].to_vec())
            .collect()
    };
    relative_l2(&real(&ours), &real(&reference))
}

/// The whole encoder on the GPU against the CPU path, with the shipped 8-bit file: the same
/// sentence vectors (≤ 1e-3 relative) and, through the same head, the same labels.
#[test]
fn sentiment_encoder_matches_the_cpu_path() {
    encoder_matches_the_cpu_path(
        "sentiment",
        &[
            "a gorgeous, witty, seductive movie.",
            "the plot is nowhere near as clever as it thinks it is, and the ending drags",
            "not bad at all",
        ],
    );
}

/// The Chinese reader's encoder (3 layers, its own vocabulary and 128 positions) likewise.
#[test]
fn chinese_sentiment_encoder_matches_the_cpu_path() {
    encoder_matches_the_cpu_path(
        "sentiment-zh",
        &[
            "这家酒店的服务非常好，房间干净又安静，下次还会再来。",
            "质量太差了，用了两天就坏了，非常失望。",
            "一点也不差",
        ],
    );
}

fn encoder_matches_the_cpu_path(id: &str, texts: &[&str]) {
    use model_wasm::gpu::text::GpuEncoder;
    use model_wasm::text::bert::mean_pool;
    use model_wasm::text::{file, Batch, MatmulMode, NoDropout, TextModel, TextTokenizer, Weights};
    let Some((bytes, spec)) = shipped_text_model(id) else {
        return;
    };
    let Some(gpu) = gpu() else { return };
    let parsed = file::parse("model", &bytes, &Device::Cpu, MatmulMode::F32).unwrap();
    let vb = Weights::Quantized(parsed.weights);
    let cfg = spec.config;
    let cpu = TextModel::load(&vb, &spec).unwrap();
    let on_gpu = GpuEncoder::load(&gpu, &vb, &spec).unwrap();
    let tokenizer =
        TextTokenizer::from_bytes(parsed.tokenizer_json.as_bytes(), spec.max_tokens).unwrap();
    let seqs: Vec<Vec<u32>> = texts
        .iter()
        .map(|t| tokenizer.encode(t).unwrap().ids)
        .collect();
    let batch = Batch::new(&seqs, &Device::Cpu).unwrap();
    let hidden = cpu
        .encoder
        .forward(&batch.ids, &batch.mask, &NoDropout)
        .unwrap();
    let reference: Vec<f32> = mean_pool(&hidden, &batch.mask)
        .and_then(|p| p.flatten_all())
        .and_then(|p| p.to_vec1())
        .unwrap();
    let ours = pollster::block_on(on_gpu.pooled(&gpu, &seqs)).unwrap();
    let err = relative_l2(&ours, &reference);
    eprintln!("sentence vectors, GPU vs CPU: relative L2 error {err:.2e}");
    assert!(err <= 1e-3, "pooled vectors: relative L2 error {err}");
    let logits = |pooled: Vec<f32>| {
        cpu.head(&Tensor::from_vec(pooled, (texts.len(), cfg.hidden), &Device::Cpu).unwrap())
            .and_then(|l| l.argmax(1))
            .and_then(|l| l.to_vec1::<u32>())
            .unwrap()
    };
    assert_eq!(logits(ours), logits(reference), "labels");
}

/// EfficientNet-Lite0 on the GPU against the CPU path, with the shipped 8-bit file and real
/// photos: logits within 1e-3 (relative L2), the same top-1.
#[test]
fn image_network_matches_the_cpu_path() {
    use model_wasm::gpu::image::GpuImageNet;
    use model_wasm::image::{preprocess::preprocess, weights, ImageClassifier};
    let file = "efficientnet-lite0-int8.safetensors";
    let Some(bytes) = shipped_model("image") else {
        return;
    };
    let Some(gpu) = gpu() else { return };
    let (layers, labels) = weights::decode(file, &bytes).unwrap();
    let cpu = ImageClassifier::from_layers(&layers, labels).unwrap();
    let on_gpu = GpuImageNet::load(&gpu, &layers, &cpu.spec().blocks).unwrap();
    for photo in ["owl.jpg", "parrot.jpg"] {
        let image = sample_photo(photo);
        let pixels = image.pixels().unwrap();
        let reference = cpu.logits(&pixels).unwrap();
        let ours = pollster::block_on(
            on_gpu.logits(&gpu, &preprocess(&pixels, &cpu.spec().preprocessing)),
        )
        .unwrap();
        let err = relative_l2(&ours, &reference);
        eprintln!("{photo}: logits, GPU vs CPU: relative L2 error {err:.2e}");
        assert!(err <= 1e-3, "{photo}: relative L2 error {err}");
        let top = |l: &[f32]| (0..l.len()).max_by(|&a, &b| l[a].total_cmp(&l[b]));
        assert_eq!(top(&ours), top(&reference), "{photo}: top-1");
    }
}

/// The classifier the browser's `ImageEngine.classifyGpu` runs (CPU preprocessing and labels,
/// the network on the GPU) against `ImageClassifier::classify`: the same top-5 classes in the
/// same order, probabilities within 1e-3.
#[test]
fn image_classifier_on_the_gpu_reports_the_cpu_top5() {
    use model_wasm::gpu::image_classifier::GpuImageClassifier;
    use model_wasm::image::{weights, ImageClassifier};
    let file = "efficientnet-lite0-int8.safetensors";
    let Some(bytes) = shipped_model("image") else {
        return;
    };
    let Some(gpu) = gpu() else { return };
    let (layers, labels) = weights::decode(file, &bytes).unwrap();
    let cpu = ImageClassifier::from_layers(&layers, labels).unwrap();
    let on_gpu = GpuImageClassifier::load(gpu, &layers).unwrap();
    for photo in ["owl.jpg", "pets.jpg"] {
        let image = sample_photo(photo);
        let pixels = image.pixels().unwrap();
        let reference = cpu.classify(&pixels).unwrap();
        let ours = pollster::block_on(on_gpu.classify(&cpu, &pixels)).unwrap();
        let names = |top: &[model_wasm::image::ImageClass]| {
            top.iter().map(|p| p.label.clone()).collect::<Vec<_>>()
        };
        assert_eq!(names(&ours), names(&reference), "{photo}: top-5 labels");
        for (g, c) in ours.iter().zip(&reference) {
            assert!(
                (g.score - c.score).abs() <= 1e-3,
                "{photo}, {}: GPU {} vs CPU {}",
                c.label,
                g.score,
                c.score
            );
        }
    }
}

/// `explain` with every variant encoded on the GPU in one submission (the browser's
/// `TextEngine.explainGpu`) against the CPU's `explain`: the same prediction and per-word
/// contributions. With the shipped chunk size, and with 48-token chunks, so splitting into chunks
/// and putting the vectors back in order are covered without a text long enough to make
/// lavapipe crawl (it takes tens of seconds per explanation already).
#[test]
fn explain_on_the_gpu_matches_the_cpu_explain() {
    use model_wasm::gpu::text::{GpuEncoder, TOKENS_PER_CHUNK};
    use model_wasm::text::{file, MatmulMode, TextClassifier, TextModel, TextTokenizer, Weights};
    let Some((bytes, spec)) = shipped_text_model("sentiment") else {
        return;
    };
    let Some(gpu) = gpu() else { return };
    let parsed = file::parse("model", &bytes, &Device::Cpu, MatmulMode::F32).unwrap();
    let vb = Weights::Quantized(parsed.weights);
    let on_gpu = GpuEncoder::load(&gpu, &vb, &spec).unwrap();
    let cpu = TextClassifier::new(
        TextModel::load(&vb, &spec).unwrap(),
        TextTokenizer::from_bytes(parsed.tokenizer_json.as_bytes(), spec.max_tokens).unwrap(),
        spec.clone(),
    )
    .unwrap();
    // Explanation variants are short, so 48-token chunks split the second text's into several.
    let cases = [
        ("not bad at all", TOKENS_PER_CHUNK),
        ("a dull, lifeless and boring film", 48),
    ];
    for (text, chunk) in cases {
        let reference = cpu.explain(text).unwrap();
        let plan = cpu.plan_explanation(text).unwrap();
        let pooled =
            pollster::block_on(on_gpu.pooled_in_chunks(&gpu, &plan.variants, chunk)).unwrap();
        let ours = cpu.explain_from_pooled(plan, pooled).unwrap();
        assert_eq!(ours.target, reference.target, "{text}: target");
        assert_eq!(ours.prediction.label, reference.prediction.label, "{text}");
        for (g, c) in ours
            .prediction
            .scores
            .iter()
            .zip(&reference.prediction.scores)
        {
            assert_eq!(g.label, c.label);
            assert!(
                (g.score - c.score).abs() <= 1e-3,
                "{text}: {} {} vs {}",
                c.label,
                g.score,
                c.score
            );
        }
        assert_eq!(ours.words.len(), reference.words.len(), "{text}: words");
        let worst = ours
            .words
            .iter()
            .zip(&reference.words)
            .map(|(g, c)| {
                assert_eq!((g.start, g.end), (c.start, c.end), "{text}: word spans");
                (g.contribution - c.contribution).abs()
            })
            .fold(0f32, f32::max);
        eprintln!(
            "{text:?}, {chunk}-token chunks: largest contribution difference, GPU vs CPU: \
                 {worst:.2e} (log-odds)"
        );
        assert!(worst <= 1e-3, "{text}: contributions differ by {worst}");
    }
}

/// Any block table and class count: EfficientNet-Lite2 with 7 classes (deterministic
/// pseudo-random weights, a 64×64 input to keep lavapipe quick) on the GPU against the CPU path.
#[test]
fn image_network_of_another_variant_matches_the_cpu_path() {
    use model_wasm::gpu::image::GpuImageNet;
    use model_wasm::image::weights::layer_specs;
    use model_wasm::image::{FloatLayer, ImageClassifier, ImageModelSpec, Preprocessing};
    use model_wasm::int8_matmul::MatmulMode;
    let Some(gpu) = gpu() else { return };
    let preprocessing = Preprocessing {
        resize_shorter_side: 64,
        crop: 64,
        ..Preprocessing::SHIPPED
    };
    let spec = ImageModelSpec::lite(2, 7, preprocessing).unwrap();
    // A small LCG: weights in ±0.5 / √fan-in keep activations in ReLU6's range.
    let mut state = 0x2545_f491_u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
    };
    let layers: Vec<FloatLayer> = layer_specs(&spec)
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let fan_in = (n / shape[0]) as f32;
            FloatLayer {
                weight: (0..n).map(|_| 2.0 * next() / fan_in.sqrt()).collect(),
                bias: (0..shape[0]).map(|_| 0.1 * next()).collect(),
                name,
                shape,
            }
        })
        .collect();
    let labels = (0..7).map(|i| i.to_string()).collect();
    let cpu =
        ImageClassifier::from_layers_with_spec(&layers, labels, &spec, MatmulMode::F32).unwrap();
    let on_gpu = GpuImageNet::load(&gpu, &layers, &spec.blocks).unwrap();
    let input: Vec<f32> = (0..3 * 64 * 64).map(|_| 2.0 * next()).collect();
    let reference = cpu.logits_of_input(&input).unwrap();
    let ours = pollster::block_on(on_gpu.logits(&gpu, &input)).unwrap();
    assert_eq!(ours.len(), 7);
    let err = relative_l2(&ours, &reference);
    eprintln!("Lite2, 7 classes: logits, GPU vs CPU: relative L2 error {err:.2e}");
    assert!(err <= 1e-3, "relative L2 error {err}");
}
