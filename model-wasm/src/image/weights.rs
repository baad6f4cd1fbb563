//! The shipped image model file, read and written in one place.
//!
//! Format: a safetensors file. For every layer `L` (names from [`layer_specs`]):
//! - `L.weight`       int8, PyTorch layout with the output channel first (`[out, …]`),
//! - `L.weight_scale` f32 `[out]`: `weight = int8 × scale` (symmetric, per output channel),
//! - `L.bias`         f32 `[out]` (BatchNorm folded in, so every layer has one).
//!
//! Plus `labels`, u8: the 1000 class names as UTF-8, one per line, line i = ImageNet-1k class i
//! (inside the file: one download, one checksum). Header metadata: `format` = [`FORMAT`], the only
//! key, because safetensors writes metadata in hash-map order and the file must be reproducible
//! byte for byte (its sha256 is committed).
//!
//! Per-channel scales matter here: after BatchNorm folding, the depthwise filters of one layer
//! differ in range by 100× or more, and a single per-tensor scale would round the small ones to 0.

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use safetensors::{tensor::TensorView, Dtype, SafeTensors};

use super::arch::{BLOCKS, HEAD_CHANNELS, NUM_CLASSES, STEM_CHANNELS};
use crate::ModelError;

/// Identifies this layout; bump it if the layout changes so stale caches fail clearly.
pub const FORMAT: &str = "vitrine-efficientnet-lite0-int8/1";
/// Largest magnitude an int8 weight takes (symmetric, so −128 is never used).
const QMAX: f32 = 127.0;

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

/// Every layer of the network with its weight shape, in forward order.
pub fn layer_specs() -> Vec<(String, Vec<usize>)> {
    let mut specs = vec![("stem".to_owned(), vec![STEM_CHANNELS, 3, 3, 3])];
    for (i, b) in BLOCKS.iter().enumerate() {
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
    let last = BLOCKS[BLOCKS.len() - 1].c_out;
    specs.push(("head".to_owned(), vec![HEAD_CHANNELS, last, 1, 1]));
    specs.push(("classifier".to_owned(), vec![NUM_CLASSES, HEAD_CHANNELS]));
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

pub fn dequantize(q: &Quantized) -> Vec<f32> {
    let per = q.values.len() / q.scales.len().max(1);
    q.values
        .chunks(per.max(1))
        .zip(&q.scales)
        .flat_map(|(channel, &s)| channel.iter().map(move |&v| f32::from(v) * s))
        .collect()
}

/// Serialises float layers as the 8-bit model file.
pub fn encode(layers: &[FloatLayer], labels: &[String]) -> Result<Vec<u8>, ModelError> {
    let invalid = |reason: String| ModelError::InvalidModel {
        name: "(encoding)".into(),
        reason,
    };
    check_layers(layers).map_err(invalid)?;
    if labels.len() != NUM_CLASSES || labels.iter().any(|l| l.contains('\n') || l.is_empty()) {
        return Err(invalid(format!(
            "need {NUM_CLASSES} non-empty one-line labels"
        )));
    }
    // Owned byte buffers first: the views below borrow them.
    let mut buffers: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::new();
    for layer in layers {
        let q = quantize_per_channel(&layer.weight, layer.shape[0]);
        let out = vec![layer.shape[0]];
        let bytes = q.values.iter().map(|&v| v as u8).collect();
        buffers.push((
            format!("{}.weight", layer.name),
            Dtype::I8,
            layer.shape.clone(),
            bytes,
        ));
        buffers.push((
            format!("{}.weight_scale", layer.name),
            Dtype::F32,
            out.clone(),
            f32_bytes(&q.scales),
        ));
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
    let metadata = HashMap::from([("format".to_owned(), FORMAT.to_owned())]);
    safetensors::serialize(views, Some(metadata)).map_err(|e| invalid(e.to_string()))
}

/// Parses the 8-bit model file into float layers (dequantised) and labels.
pub fn decode(name: &str, bytes: &[u8]) -> Result<(Vec<FloatLayer>, Vec<String>), ModelError> {
    let invalid = |reason: String| ModelError::InvalidModel {
        name: name.to_owned(),
        reason,
    };
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| invalid(e.to_string()))?;
    let meta = meta.metadata().clone().unwrap_or_default();
    match meta.get("format") {
        Some(f) if f == FORMAT => {}
        other => return Err(invalid(format!("format {other:?}, expected {FORMAT:?}"))),
    }
    let st = SafeTensors::deserialize(bytes).map_err(|e| invalid(e.to_string()))?;
    let label_view = st
        .tensor("labels")
        .map_err(|_| invalid("missing labels".into()))?;
    let label_text = std::str::from_utf8(label_view.data())
        .map_err(|_| invalid("labels are not UTF-8".into()))?;
    let labels: Vec<String> = label_text.lines().map(str::to_owned).collect();
    if labels.len() != NUM_CLASSES {
        return Err(invalid(format!(
            "{} labels, expected {NUM_CLASSES}",
            labels.len()
        )));
    }
    let mut layers = Vec::new();
    for (layer, shape) in layer_specs() {
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
        let values = get("weight", Dtype::I8, &shape)?
            .iter()
            .map(|&b| b as i8)
            .collect();
        let scales = f32_values(get("weight_scale", Dtype::F32, &out)?);
        let bias = f32_values(get("bias", Dtype::F32, &out)?);
        let weight = dequantize(&Quantized { values, scales });
        layers.push(FloatLayer {
            name: layer,
            shape,
            weight,
            bias,
        });
    }
    Ok((layers, labels))
}

/// The tensors the network's `load(vb)` reads: `L.weight` and `L.bias` for every layer.
pub fn to_tensors(layers: &[FloatLayer]) -> Result<HashMap<String, Tensor>, ModelError> {
    check_layers(layers).map_err(|reason| ModelError::InvalidModel {
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
fn check_layers(layers: &[FloatLayer]) -> Result<(), String> {
    let specs = layer_specs();
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

    fn synthetic_layers() -> Vec<FloatLayer> {
        layer_specs()
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
        let layers = synthetic_layers();
        let labels: Vec<String> = (0..NUM_CLASSES).map(|i| format!("class {i}")).collect();
        let bytes = encode(&layers, &labels).unwrap();
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
        let layers = synthetic_layers();
        let labels: Vec<String> = (0..NUM_CLASSES).map(|i| format!("class {i}")).collect();
        assert_eq!(
            encode(&layers, &labels).unwrap(),
            encode(&layers, &labels).unwrap()
        );
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
