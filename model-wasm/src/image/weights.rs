//! The image model file, read and written in one place.
//!
//! Format: a safetensors file. For every layer `L` (names from [`layer_specs`], which follow the
//! model's block table):
//! - `L.weight`       int8, PyTorch layout with the output channel first (`[out, …]`),
//! - `L.weight_scale` f32 `[out]`: `weight = int8 × scale` (symmetric, per output channel),
//! - `L.bias`         f32 `[out]` (BatchNorm folded in, so every layer has one).
//!
//! Plus `labels`, u8: the class names as UTF-8, one per line, line i = class i (inside the file:
//! one download, one checksum). Header metadata: `format` = [`FORMAT`], the only key, because
//! safetensors writes metadata in hash-map order and the file must be reproducible byte for byte
//! (its sha256 is committed).
//!
//! The float variant ([`FORMAT_F32`], written by the importer for comparisons against PyTorch)
//! stores `L.weight` as f32 and has no `L.weight_scale`.
//!
//! The file does not say which variant or how many classes it holds: the manifest does, and
//! [`decode_with_spec`] checks every tensor against it.
//!
//! Per-channel scales matter here: after BatchNorm folding, the depthwise filters of one layer
//! differ in range by 100× or more, and a single per-tensor scale would round the small ones to 0.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};

use super::spec::ImageModelSpec;
use crate::ModelError;

/// Identifies the 8-bit layout; bump it if the layout changes so stale caches fail clearly. The
/// name predates the other variants; the layout is the same for all of them, and renaming it
/// would change the shipped file's bytes (and its committed sha256).
pub const FORMAT: &str = "vitrine-efficientnet-lite0-int8/1";
/// The f32 layout: the same tensors with float weights and no scales.
pub const FORMAT_F32: &str = "vitrine-efficientnet-lite-f32/1";
/// Largest magnitude an int8 weight takes (symmetric, so −128 is never used).
const QMAX: f32 = 127.0;

/// How the weights are stored in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// 8-bit per-channel (the shipped format).
    Int8,
    /// f32, for comparing an import against the framework it came from.
    F32,
}

/// One layer's float weights after BatchNorm folding: what the converter produces and what the
/// network loads (directly on the float path, after dequantisation on the 8-bit path).
#[derive(Debug, Clone, PartialEq)]
pub struct FloatLayer {
    pub name: String,
    /// Output channel first: `[out, in, k, k]` for convs, `[out, in]` for the classifier.
    pub shape: Vec<usize>,
    pub weight: Vec<f32>,
    pub bias: Vec<f32>,
}

/// A model file, read.
#[derive(Debug, Clone)]
pub struct DecodedModel {
    /// Dequantised for 8-bit files.
    pub layers: Vec<FloatLayer>,
    pub labels: Vec<String>,
    pub precision: Precision,
}

/// Every layer of the network with its weight shape, in forward order.
pub fn layer_specs(spec: &ImageModelSpec) -> Vec<(String, Vec<usize>)> {
    let stem = spec.stem_channels();
    let mut specs = vec![("stem".to_owned(), vec![stem, 3, 3, 3])];
    for (i, b) in spec.blocks.iter().enumerate() {
        if b.expand != 1 {
            specs.push((format!("blocks.{i}.expand"), vec![b.hidden(), b.c_in, 1, 1]));
        }
        specs.push((
            format!("blocks.{i}.depthwise"),
            vec![b.hidden(), 1, b.kernel, b.kernel],
        ));
        specs.push((
            format!("blocks.{i}.project"),
            vec![b.c_out, b.hidden(), 1, 1],
        ));
    }
    let head = spec.head_channels();
    specs.push((
        "head".to_owned(),
        vec![head, spec.last_block_channels(), 1, 1],
    ));
    specs.push(("classifier".to_owned(), vec![spec.num_classes, head]));
    specs
}

/// Int8 values and one scale per output channel (the first dimension).
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    pub values: Vec<i8>,
    pub scales: Vec<f32>,
}

/// Symmetric per-channel quantisation: each channel's largest |w| maps to ±127.
pub fn quantize_per_channel(weight: &[f32], out_channels: usize) -> Quantized {
    let per = weight.len() / out_channels.max(1);
    let mut values = Vec::with_capacity(weight.len());
    let mut scales = Vec::with_capacity(out_channels);
    for channel in weight.chunks(per.max(1)) {
        let max = channel.iter().fold(0f32, |m, w| m.max(w.abs()));
        // An all-zero channel keeps scale 0 and dequantises to exact zeros.
        let scale = max / QMAX;
        let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
        values.extend(
            channel
                .iter()
                .map(|w| (w * inv).round().clamp(-QMAX, QMAX) as i8),
        );
        scales.push(scale);
    }
    Quantized { values, scales }
}

/// Bias correction for 8-bit weights: each layer's bias absorbs the mean error its rounded
/// weights make, `b' = b + (W − Ŵ) · E[x]`, with `E[x]` the mean input of the layer per input
/// channel (from [`super::ImageClassifier::layer_input_means`] on the float network). Rounding
/// errors average out across inputs within a layer but not across pictures: the part of every
/// activation that all pictures share moves every output the same way, which per-channel scales
/// cannot prevent and this removes. Weights are untouched (the file's int8 values are the same).
pub fn bias_corrected(
    layers: &[FloatLayer],
    means: &HashMap<String, Vec<f32>>,
) -> Result<Vec<FloatLayer>, String> {
    layers
        .iter()
        .map(|layer| {
            let mean = means
                .get(&layer.name)
                .ok_or_else(|| format!("no input statistics for {}", layer.name))?;
            let out = layer.shape[0];
            let per = layer.weight.len() / out.max(1);
            let taps = layer.shape[2..].iter().product::<usize>();
            let depthwise = layer.shape.get(1) == Some(&1) && mean.len() == out && out > 1;
            let expected_in = if depthwise { out } else { layer.shape[1] };
            if mean.len() != expected_in {
                return Err(format!(
                    "{}: {} input means for {expected_in} input channels",
                    layer.name,
                    mean.len()
                ));
            }
            let rounded = dequantize(&quantize_per_channel(&layer.weight, out));
            let mut bias = layer.bias.clone();
            for (o, b) in bias.iter_mut().enumerate() {
                let mut shift = 0f64;
                for k in 0..per {
                    // Weight k of output o reads input channel k / taps (or o itself, depthwise).
                    let channel = if depthwise { o } else { k / taps.max(1) };
                    let err = f64::from(layer.weight[o * per + k] - rounded[o * per + k]);
                    shift += err * f64::from(mean[channel]);
                }
                *b += shift as f32;
            }
            Ok(FloatLayer {
                bias,
                ..layer.clone()
            })
        })
        .collect()
}

pub fn dequantize(q: &Quantized) -> Vec<f32> {
    let per = q.values.len() / q.scales.len().max(1);
    q.values
        .chunks(per.max(1))
        .zip(&q.scales)
        .flat_map(|(channel, &s)| channel.iter().map(move |&v| f32::from(v) * s))
        .collect()
}

/// Serialises float layers as a model file of `spec`, weights stored as `precision`.
pub fn encode(
    layers: &[FloatLayer],
    labels: &[String],
    spec: &ImageModelSpec,
    precision: Precision,
) -> Result<Vec<u8>, ModelError> {
    let invalid = |reason: String| ModelError::InvalidModel {
        name: "(encoding)".into(),
        reason,
    };
    check_layers(layers, spec).map_err(invalid)?;
    if labels.len() != spec.num_classes || labels.iter().any(|l| l.contains('\n') || l.is_empty()) {
        return Err(invalid(format!(
            "need {} non-empty one-line labels",
            spec.num_classes
        )));
    }
    // Owned byte buffers first: the views below borrow them.
    let mut buffers: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for layer in layers {
        let out = vec![layer.shape[0]];
        let weight = format!("{}.weight", layer.name);
        match precision {
            Precision::Int8 => {
                let q = quantize_per_channel(&layer.weight, layer.shape[0]);
                let bytes = q.values.iter().map(|&v| v as u8).collect();
                buffers.push((weight, Dtype::I8, layer.shape.clone(), bytes));
                buffers.push((
                    format!("{}.weight_scale", layer.name),
                    Dtype::F32,
                    out.clone(),
                    f32_bytes(&q.scales),
                ));
            }
            Precision::F32 => buffers.push((
                weight,
                Dtype::F32,
                layer.shape.clone(),
                f32_bytes(&layer.weight),
            )),
        }
        buffers.push((
            format!("{}.bias", layer.name),
            Dtype::F32,
            out,
            f32_bytes(&layer.bias),
        ));
    }
    let label_bytes = labels.join("\n").into_bytes();
    buffers.push((
        "labels".to_owned(),
        Dtype::U8,
        vec![label_bytes.len()],
        label_bytes,
    ));
    let views = buffers
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            TensorView::new(*dtype, shape.clone(), bytes).map(|v| (name.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    let format = match precision {
        Precision::Int8 => FORMAT,
        Precision::F32 => FORMAT_F32,
    };
    let metadata = HashMap::from([("format".to_owned(), format.to_owned())]);
    safetensors::serialize(views, Some(metadata)).map_err(|e| invalid(e.to_string()))
}

/// Parses the shipped model's file (Lite0, 1000 classes) into float layers and labels.
pub fn decode(name: &str, bytes: &[u8]) -> Result<(Vec<FloatLayer>, Vec<String>), ModelError> {
    let model = decode_with_spec(name, bytes, &ImageModelSpec::shipped())?;
    Ok((model.layers, model.labels))
}

/// Parses a model file of `spec` (8-bit or f32) into float layers and labels, checking every
/// tensor's shape against the spec.
pub fn decode_with_spec(
    name: &str,
    bytes: &[u8],
    spec: &ImageModelSpec,
) -> Result<DecodedModel, ModelError> {
    let invalid = |reason: String| ModelError::InvalidModel {
        name: name.to_owned(),
        reason,
    };
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| invalid(e.to_string()))?;
    let meta = meta.metadata().clone().unwrap_or_default();
    let precision = match meta.get("format") {
        Some(f) if f == FORMAT => Precision::Int8,
        Some(f) if f == FORMAT_F32 => Precision::F32,
        other => {
            return Err(invalid(format!(
                "format {other:?}, expected {FORMAT:?} or {FORMAT_F32:?}"
            )))
        }
    };
    let st = SafeTensors::deserialize(bytes).map_err(|e| invalid(e.to_string()))?;
    // The class count first, with both numbers: the likeliest mismatch between a file and its
    // manifest, and "missing tensor blocks.3…" would not say so.
    if let Ok(view) = st.tensor("classifier.weight") {
        let rows = view.shape().first().copied().unwrap_or(0);
        if rows != spec.num_classes {
            return Err(invalid(format!(
                "classifier.weight has {rows} rows (classes) but model.toml says num_classes = {}",
                spec.num_classes
            )));
        }
    }
    let label_view = st
        .tensor("labels")
        .map_err(|_| invalid("missing labels".into()))?;
    let label_text = std::str::from_utf8(label_view.data())
        .map_err(|_| invalid("labels are not UTF-8".into()))?;
    let labels: Vec<String> = label_text.lines().map(str::to_owned).collect();
    if labels.len() != spec.num_classes {
        return Err(invalid(format!(
            "the labels tensor holds {} labels but model.toml says num_classes = {}",
            labels.len(),
            spec.num_classes
        )));
    }
    let mut layers = Vec::new();
    for (layer, shape) in layer_specs(spec) {
        let get = |suffix: &str, dtype: Dtype, dims: &[usize]| {
            let key = format!("{layer}.{suffix}");
            let view = st
                .tensor(&key)
                .map_err(|_| invalid(format!("missing tensor {key}")))?;
            if view.dtype() != dtype || view.shape() != dims {
                return Err(invalid(format!(
                    "{key} is {:?} {:?}, expected {dtype:?} {dims:?}",
                    view.dtype(),
                    view.shape()
                )));
            }
            Ok(view.data())
        };
        let out = [shape[0]];
        let weight = match precision {
            Precision::Int8 => {
                let values = get("weight", Dtype::I8, &shape)?
                    .iter()
                    .map(|&b| b as i8)
                    .collect();
                let scales = f32_values(get("weight_scale", Dtype::F32, &out)?);
                dequantize(&Quantized { values, scales })
            }
            Precision::F32 => f32_values(get("weight", Dtype::F32, &shape)?),
        };
        let bias = f32_values(get("bias", Dtype::F32, &out)?);
        layers.push(FloatLayer {
            name: layer,
            shape,
            weight,
            bias,
        });
    }
    Ok(DecodedModel {
        layers,
        labels,
        precision,
    })
}

/// The tensors the network's `load(vb)` reads: `L.weight` and `L.bias` for every layer.
pub fn to_tensors(
    layers: &[FloatLayer],
    spec: &ImageModelSpec,
) -> Result<HashMap<String, Tensor>, ModelError> {
    check_layers(layers, spec).map_err(|reason| ModelError::InvalidModel {
        name: "(weights)".into(),
        reason,
    })?;
    let mut map = HashMap::new();
    for l in layers {
        let w = Tensor::from_slice(&l.weight, l.shape.as_slice(), &Device::Cpu)?;
        let b = Tensor::from_slice(&l.bias, l.bias.len(), &Device::Cpu)?;
        map.insert(format!("{}.weight", l.name), w);
        map.insert(format!("{}.bias", l.name), b);
    }
    Ok(map)
}

/// Layers must be exactly [`layer_specs`], in order, with consistent sizes.
pub fn check_layers(layers: &[FloatLayer], spec: &ImageModelSpec) -> Result<(), String> {
    let specs = layer_specs(spec);
    if layers.len() != specs.len() {
        return Err(format!("{} layers, expected {}", layers.len(), specs.len()));
    }
    for (l, (name, shape)) in layers.iter().zip(&specs) {
        if &l.name != name || &l.shape != shape {
            return Err(format!(
                "layer {} {:?}, expected {name} {shape:?}",
                l.name, l.shape
            ));
        }
        if l.weight.len() != shape.iter().product::<usize>() || l.bias.len() != shape[0] {
            return Err(format!("layer {name} has the wrong number of values"));
        }
    }
    Ok(())
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn f32_values(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantisation_error_is_at_most_half_a_step_per_channel() {
        // Two channels with very different ranges: each gets its own scale.
        let w = [0.5f32, -1.0, 0.25, 0.001, -0.002, 0.0005];
        let q = quantize_per_channel(&w, 2);
        assert_eq!(q.scales.len(), 2);
        assert!(
            (q.scales[0] - 1.0 / 127.0).abs() < 1e-9 && (q.scales[1] - 0.002 / 127.0).abs() < 1e-9
        );
        for (i, (a, b)) in w.iter().zip(dequantize(&q)).enumerate() {
            assert!((a - b).abs() <= q.scales[i / 3] / 2.0 + 1e-9, "{a} vs {b}");
        }
    }

    #[test]
    fn zero_channel_stays_zero() {
        let q = quantize_per_channel(&[0.0, 0.0, 1.0, -1.0], 2);
        assert_eq!(dequantize(&q), vec![0.0, 0.0, 1.0, -1.0]);
    }

    fn synthetic_layers(spec: &ImageModelSpec) -> Vec<FloatLayer> {
        layer_specs(spec)
            .into_iter()
            .map(|(name, shape)| {
                let n: usize = shape.iter().product();
                FloatLayer {
                    weight: (0..n).map(|i| ((i % 17) as f32 - 8.0) * 0.01).collect(),
                    bias: (0..shape[0]).map(|i| i as f32).collect(),
                    name,
                    shape,
                }
            })
            .collect()
    }

    #[test]
    fn file_round_trips_labels_biases_and_weights() {
        let spec = ImageModelSpec::shipped();
        let layers = synthetic_layers(&spec);
        let labels: Vec<String> = (0..1000).map(|i| format!("class {i}")).collect();
        let bytes = encode(&layers, &labels, &spec, Precision::Int8).unwrap();
        let (back, back_labels) = decode("m", &bytes).unwrap();
        assert_eq!(back_labels, labels);
        for (a, b) in layers.iter().zip(&back) {
            assert_eq!((&a.name, &a.shape, &a.bias), (&b.name, &b.shape, &b.bias));
            let err = a
                .weight
                .iter()
                .zip(&b.weight)
                .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(err <= 0.08 / 127.0 / 2.0 + 1e-7, "{}: {err}", a.name);
        }
    }

    #[test]
    fn encoding_is_reproducible_byte_for_byte() {
        let spec = ImageModelSpec::shipped();
        let layers = synthetic_layers(&spec);
        let labels: Vec<String> = (0..1000).map(|i| format!("class {i}")).collect();
        assert_eq!(
            encode(&layers, &labels, &spec, Precision::Int8).unwrap(),
            encode(&layers, &labels, &spec, Precision::Int8).unwrap()
        );
    }

    fn small_spec(variant: u8, classes: usize) -> ImageModelSpec {
        ImageModelSpec::lite(variant, classes, crate::image::spec::Preprocessing::SHIPPED).unwrap()
    }

    #[test]
    fn float_files_round_trip_exactly_and_any_variant_encodes() {
        let spec = small_spec(2, 7);
        let layers = synthetic_layers(&spec);
        let labels: Vec<String> = (0..7).map(|i| i.to_string()).collect();
        let bytes = encode(&layers, &labels, &spec, Precision::F32).unwrap();
        let back = decode_with_spec("m", &bytes, &spec).unwrap();
        assert_eq!(back.precision, Precision::F32);
        assert_eq!((back.layers, back.labels), (layers, labels));
    }

    #[test]
    fn a_class_count_mismatch_names_the_tensor_and_both_counts() {
        let spec = small_spec(0, 10);
        let labels: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let bytes = encode(&synthetic_layers(&spec), &labels, &spec, Precision::Int8).unwrap();
        let err = decode_with_spec("m", &bytes, &small_spec(0, 12))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("classifier.weight has 10 rows") && err.contains("num_classes = 12"),
            "{err}"
        );
        // The shipped constructors expect ImageNet-1k.
        assert!(decode("m", &bytes)
            .unwrap_err()
            .to_string()
            .contains("1000"));
    }

    /// After correction, rounded weights give the float layer's output for the mean input
    /// (1×1 convs read every input channel, depthwise filters their own).
    #[test]
    fn bias_correction_removes_the_mean_rounding_error() {
        let weight: Vec<f32> = (0..2 * 3 * 3 * 3)
            .map(|i| ((i * 37 % 101) as f32 / 101.0 - 0.5) * 0.3)
            .collect();
        let conv = FloatLayer {
            name: "conv".into(),
            shape: vec![2, 3, 3, 3],
            weight: weight.clone(),
            bias: vec![0.1, -0.2],
        };
        let dw = FloatLayer {
            name: "dw".into(),
            shape: vec![3, 1, 3, 3],
            weight: weight[..27].to_vec(),
            bias: vec![0.0; 3],
        };
        let mean = vec![0.7f32, 2.0, 5.5];
        let means = HashMap::from([
            ("conv".to_owned(), mean.clone()),
            ("dw".to_owned(), mean.clone()),
        ]);
        let fixed = bias_corrected(&[conv.clone(), dw.clone()], &means).unwrap();
        for (float, fixed) in [&conv, &dw].into_iter().zip(&fixed) {
            let out = float.shape[0];
            let per = float.weight.len() / out;
            let rounded = dequantize(&quantize_per_channel(&float.weight, out));
            let depthwise = float.shape[1] == 1;
            for o in 0..out {
                let input = |k: usize| f64::from(mean[if depthwise { o } else { k / 9 }]);
                let y = |w: &[f32], b: f32| {
                    (0..per)
                        .map(|k| f64::from(w[o * per + k]) * input(k))
                        .sum::<f64>()
                        + f64::from(b)
                };
                let (want, got) = (y(&float.weight, float.bias[o]), y(&rounded, fixed.bias[o]));
                assert!(
                    (want - got).abs() < 1e-5,
                    "{} {o}: {want} vs {got}",
                    float.name
                );
            }
        }
        assert!(bias_corrected(&[conv], &HashMap::new()).is_err());
    }

    /// timm's parameter counts (`tf_efficientnet_lite0` … `lite4`, 1000 classes), from our layer
    /// table: every conv's weights plus its BatchNorm's scale and shift (2 per channel), the
    /// classifier's weights and bias.
    #[test]
    fn parameter_counts_match_timm() {
        for (variant, millions) in [(0, 4.65), (1, 5.42), (2, 6.09), (3, 8.20), (4, 13.01)] {
            let count: usize = layer_specs(&small_spec(variant, 1000))
                .iter()
                .map(|(_, shape)| shape.iter().product::<usize>() + 2 * shape[0])
                .sum::<usize>()
                - 1000; // the classifier has a bias, not a BatchNorm
            let m = count as f64 / 1e6;
            assert!((m - millions).abs() < 0.005, "lite{variant}: {m:.4}M");
        }
    }

    #[test]
    fn rejects_garbage_and_foreign_files() {
        assert!(matches!(
            decode("m", b"not a model"),
            Err(ModelError::InvalidModel { .. })
        ));
        let foreign = safetensors::serialize(Vec::<(String, TensorView)>::new(), None).unwrap();
        let err = decode("m", &foreign).unwrap_err().to_string();
        assert!(err.contains("format"), "{err}");
    }
}
