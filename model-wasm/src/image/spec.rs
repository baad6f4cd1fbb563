//! What one image model is, read from its catalogue manifest (`model.toml`): the variant and the
//! class count (`[architecture]`), and how a picture becomes its input (`[preprocessing]`).
//!
//! The manifest is data someone wrote or an importer generated, so every key is checked here and
//! a bad one is a typed error naming the table and the key, before any weight is read.

use wire::catalog::{ModelManifest, Table, Value};

use super::arch::{self, BlockSpec, HEAD_CHANNELS, STEM_CHANNELS};

/// The one family this engine builds.
pub const FAMILY: &str = "efficientnet-lite";

/// A key of `model.toml` that is missing or unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model.toml: [{table}] `{key}` {problem}")]
pub struct ManifestError {
    pub table: &'static str,
    pub key: &'static str,
    pub problem: String,
}

/// The resampling filter of the resize, as Pillow implements it (both antialias on downscale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolation {
    /// Pillow's `BILINEAR`: a triangle of half-width 1.
    Bilinear,
    /// Pillow's `BICUBIC`: Keys' cubic with a = −0.5, half-width 2 (timm's default).
    Bicubic,
}

impl Interpolation {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Bilinear => "bilinear",
            Self::Bicubic => "bicubic",
        }
    }
}

/// Where the centre crop starts when the margin is odd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CropOffset {
    /// `(size − crop) / 2` rounded down: what the shipped model's reference did.
    Floor,
    /// `round((size − crop) / 2)` with ties to even: torchvision's `CenterCrop` (Python's
    /// `round`), which timm uses.
    RoundHalfEven,
}

impl CropOffset {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Floor => "floor",
            Self::RoundHalfEven => "round",
        }
    }
}

/// How pixels become the network's input: resize the shorter side, cut the centre square out,
/// `(x − mean) / std` per channel with `x` in 0–255.
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessing {
    pub resize_shorter_side: u32,
    /// Side of the square crop, which is the network's input size.
    pub crop: u32,
    pub interpolation: Interpolation,
    pub crop_offset: CropOffset,
    /// In pixel units (0–255): timm's `mean = 0.5` is 127.5 here.
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl Preprocessing {
    /// The shipped model's steps (resize 256, crop 224, bilinear, `(x − 127) / 128`), which its
    /// manifest spells out; the constructors that take no manifest use them.
    pub const SHIPPED: Self = Self {
        resize_shorter_side: 256,
        crop: 224,
        interpolation: Interpolation::Bilinear,
        crop_offset: CropOffset::Floor,
        mean: [127.0; 3],
        std: [128.0; 3],
    };

    /// The network's input side.
    pub const fn input_size(&self) -> usize {
        self.crop as usize
    }
}

/// An EfficientNet-Lite model: its block table, its class count and its preprocessing.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageModelSpec {
    pub variant: u8,
    pub num_classes: usize,
    pub blocks: Vec<BlockSpec>,
    pub preprocessing: Preprocessing,
    /// Bits of the activations in 8-bit products (`[architecture] activation_bits`, 8–12;
    /// 8 when absent, as the shipped model runs): see [`crate::int8_matmul`].
    pub activation_bits: u32,
}

impl ImageModelSpec {
    /// EfficientNet-Lite`variant` with `num_classes` outputs; `None` outside 0–4.
    pub fn lite(variant: u8, num_classes: usize, preprocessing: Preprocessing) -> Option<Self> {
        Some(Self {
            variant,
            num_classes,
            blocks: arch::lite_blocks(variant)?,
            preprocessing,
            activation_bits: 8,
        })
    }

    /// The shipped model: Lite0, ImageNet-1k, [`Preprocessing::SHIPPED`].
    pub fn shipped() -> Self {
        Self {
            variant: 0,
            num_classes: 1000,
            blocks: arch::lite_blocks(0).unwrap_or_default(),
            preprocessing: Preprocessing::SHIPPED,
            activation_bits: 8,
        }
    }

    pub const fn stem_channels(&self) -> usize {
        STEM_CHANNELS
    }

    pub const fn head_channels(&self) -> usize {
        HEAD_CHANNELS
    }

    pub const fn input_size(&self) -> usize {
        self.preprocessing.input_size()
    }

    /// Channels into the head (the last block's output).
    pub fn last_block_channels(&self) -> usize {
        self.blocks.last().map_or(STEM_CHANNELS, |b| b.c_out)
    }

    /// Reads `[architecture]` and `[preprocessing]`.
    pub fn from_manifest(manifest: &ModelManifest) -> Result<Self, ManifestError> {
        let arch = Keys {
            table: "architecture",
            values: &manifest.architecture,
        };
        let family = arch.text("family")?;
        if family != FAMILY {
            return Err(arch.error("family", format!("must be \"{FAMILY}\" (got \"{family}\")")));
        }
        let variant = arch.int("variant")?;
        let variant = u8::try_from(variant)
            .ok()
            .filter(|v| arch::VARIANTS.contains(v))
            .ok_or_else(|| arch.error("variant", format!("must be 0–4 (got {variant})")))?;
        let num_classes = arch.int("num_classes")?;
        let num_classes = usize::try_from(num_classes)
            .ok()
            .filter(|&n| (2..=100_000).contains(&n))
            .ok_or_else(|| {
                arch.error(
                    "num_classes",
                    format!("must be 2–100000 (got {num_classes})"),
                )
            })?;
        // The labels the site shows must be the outputs the network has.
        let labels = manifest.label_count();
        if labels != num_classes {
            return Err(arch.error(
                "num_classes",
                format!("is {num_classes} but the manifest has {labels} labels"),
            ));
        }
        let activation_bits = match manifest.architecture.get("activation_bits") {
            None => 8,
            Some(_) => {
                let bits = arch.int("activation_bits")?;
                u32::try_from(bits)
                    .ok()
                    .filter(|b| crate::int8_matmul::ACTIVATION_BITS.contains(b))
                    .ok_or_else(|| {
                        arch.error("activation_bits", format!("must be 8–12 (got {bits})"))
                    })?
            }
        };
        let preprocessing = preprocessing(&Keys {
            table: "preprocessing",
            values: &manifest.preprocessing,
        })?;
        let spec = Self::lite(variant, num_classes, preprocessing)
            .ok_or_else(|| arch.error("variant", format!("must be 0–4 (got {variant})")))?;
        Ok(Self {
            activation_bits,
            ..spec
        })
    }
}

fn preprocessing(keys: &Keys) -> Result<Preprocessing, ManifestError> {
    let crop = keys.int("crop")?;
    let crop = u32::try_from(crop)
        .ok()
        .filter(|c| (32..=1024).contains(c))
        .ok_or_else(|| keys.error("crop", format!("must be 32–1024 pixels (got {crop})")))?;
    // Either the size itself, or timm's `crop_pct` it follows from (`floor(crop / crop_pct)`).
    let resize = match (
        keys.values.get("resize_shorter_side"),
        keys.values.get("crop_pct"),
    ) {
        (Some(_), _) => keys.int("resize_shorter_side")?,
        (None, Some(_)) => {
            let pct = keys.float("crop_pct")?;
            if pct.is_nan() || pct <= 0.0 || pct > 1.0 {
                return Err(keys.error("crop_pct", format!("must be in (0, 1] (got {pct})")));
            }
            (f64::from(crop) / pct).floor() as i64
        }
        (None, None) => {
            return Err(keys.error(
                "resize_shorter_side",
                "is missing (give it, or `crop_pct`)".into(),
            ))
        }
    };
    let resize_shorter_side = u32::try_from(resize)
        .ok()
        .filter(|&r| r >= crop && r <= 4 * crop)
        .ok_or_else(|| {
            keys.error(
                "resize_shorter_side",
                format!("must be between `crop` ({crop}) and 4 × crop (got {resize})"),
            )
        })?;
    let interpolation = match keys.text("interpolation")? {
        "bilinear" => Interpolation::Bilinear,
        "bicubic" => Interpolation::Bicubic,
        other => {
            return Err(keys.error(
                "interpolation",
                format!("must be \"bilinear\" or \"bicubic\" (got \"{other}\")"),
            ))
        }
    };
    let crop_offset = match keys.values.get("crop_offset") {
        None => CropOffset::Floor,
        Some(_) => match keys.text("crop_offset")? {
            "floor" => CropOffset::Floor,
            "round" => CropOffset::RoundHalfEven,
            other => {
                return Err(keys.error(
                    "crop_offset",
                    format!("must be \"floor\" or \"round\" (got \"{other}\")"),
                ))
            }
        },
    };
    let mean = keys.triple("mean")?;
    let std = keys.triple("std")?;
    if let Some(bad) = std.iter().find(|s| s.is_nan() || **s <= 0.0) {
        return Err(keys.error("std", format!("must be positive (got {bad})")));
    }
    Ok(Preprocessing {
        resize_shorter_side,
        crop,
        interpolation,
        crop_offset,
        mean,
        std,
    })
}

/// One table of the manifest, read key by key with errors that name it.
struct Keys<'a> {
    table: &'static str,
    values: &'a Table,
}

impl Keys<'_> {
    fn error(&self, key: &'static str, problem: String) -> ManifestError {
        ManifestError {
            table: self.table,
            key,
            problem,
        }
    }

    fn get(&self, key: &'static str) -> Result<&Value, ManifestError> {
        self.values
            .get(key)
            .ok_or_else(|| self.error(key, "is missing".into()))
    }

    fn int(&self, key: &'static str) -> Result<i64, ManifestError> {
        match self.get(key)? {
            Value::Int(n) => Ok(*n),
            other => Err(self.error(key, format!("must be an integer (got {})", show(other)))),
        }
    }

    fn float(&self, key: &'static str) -> Result<f64, ManifestError> {
        match self.get(key)? {
            Value::Float(x) => Ok(*x),
            Value::Int(n) => Ok(*n as f64),
            other => Err(self.error(key, format!("must be a number (got {})", show(other)))),
        }
    }

    fn text(&self, key: &'static str) -> Result<&str, ManifestError> {
        match self.get(key)? {
            Value::Text(s) => Ok(s),
            other => Err(self.error(key, format!("must be a string (got {})", show(other)))),
        }
    }

    /// Three finite numbers, one per RGB channel.
    fn triple(&self, key: &'static str) -> Result<[f32; 3], ManifestError> {
        match self.get(key)? {
            Value::Numbers(v) if v.len() == 3 && v.iter().all(|x| x.is_finite()) => {
                Ok([v[0] as f32, v[1] as f32, v[2] as f32])
            }
            other => Err(self.error(
                key,
                format!(
                    "must be three numbers, one per RGB channel, in 0–255 units (got {})",
                    show(other)
                ),
            )),
        }
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Float(x) => x.to_string(),
        Value::Text(s) => format!("\"{s}\""),
        Value::Numbers(v) => format!("{v:?}"),
        Value::Rows(rows) => format!("a table of {} rows", rows.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(arch: &str, pre: &str) -> ModelManifest {
        // As many labels as the architecture says (a test of the mismatch edits it after).
        let count = arch
            .lines()
            .find_map(|l| l.strip_prefix("num_classes = "))
            .unwrap_or("2");
        let text = format!(
            r#"
id = "m"
task = "image-classification"
card = "MODEL_CARD.md"
name = {{ en = "m", zh = "m" }}
description = {{ en = "m", zh = "m" }}
quantization = {{ en = "m", zh = "m" }}
files = [{{ name = "w", sha256 = "00", bytes = 1 }}]
labels_in_file = {{ file = "w", count = {count} }}
[architecture]
{arch}
[preprocessing]
{pre}
"#
        );
        toml::from_str(&text).unwrap()
    }

    const ARCH: &str = "family = \"efficientnet-lite\"\nvariant = 0\nnum_classes = 1000";
    const PRE: &str = "resize_shorter_side = 256\ncrop = 224\ninterpolation = \"bilinear\"\n\
                       mean = [127.0, 127.0, 127.0]\nstd = [128.0, 128.0, 128.0]";

    #[test]
    fn the_shipped_manifest_is_the_shipped_spec() {
        let text = include_str!("../../../assets/models/image/model.toml");
        let m: ModelManifest = toml::from_str(text).unwrap();
        assert_eq!(
            ImageModelSpec::from_manifest(&m).unwrap(),
            ImageModelSpec::shipped()
        );
    }

    #[test]
    fn timm_style_preprocessing_reads_crop_pct() {
        let pre =
            "crop_pct = 0.882\ncrop = 240\ninterpolation = \"bicubic\"\ncrop_offset = \"round\"\n\
                   mean = [127.5, 127.5, 127.5]\nstd = [127.5, 127.5, 127.5]";
        let arch = "family = \"efficientnet-lite\"\nvariant = 1\nnum_classes = 10";
        let spec = ImageModelSpec::from_manifest(&manifest(arch, pre)).unwrap();
        assert_eq!(spec.preprocessing.resize_shorter_side, 272); // floor(240 / 0.882)
        assert_eq!(spec.preprocessing.interpolation, Interpolation::Bicubic);
        assert_eq!(spec.preprocessing.crop_offset, CropOffset::RoundHalfEven);
        assert_eq!(
            (spec.variant, spec.num_classes, spec.input_size()),
            (1, 10, 240)
        );
    }

    #[test]
    fn every_bad_key_is_named() {
        let err = |arch: &str, pre: &str| {
            ImageModelSpec::from_manifest(&manifest(arch, pre))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&ARCH.replace("variant = 0", "variant = 7"), PRE),
            "model.toml: [architecture] `variant` must be 0–4 (got 7)"
        );
        assert_eq!(
            err(&ARCH.replace("efficientnet-lite", "resnet"), PRE),
            "model.toml: [architecture] `family` must be \"efficientnet-lite\" (got \"resnet\")"
        );
        assert_eq!(
            err(&ARCH.replace("num_classes = 1000", ""), PRE),
            "model.toml: [architecture] `num_classes` is missing"
        );
        let mut m = manifest(ARCH, PRE);
        m.labels_in_file = Some(wire::catalog::LabelsInFile {
            file: "w".into(),
            count: 10,
        });
        assert_eq!(
            ImageModelSpec::from_manifest(&m).unwrap_err().to_string(),
            "model.toml: [architecture] `num_classes` is 1000 but the manifest has 10 labels"
        );
        assert_eq!(
            err(&format!("{ARCH}\nactivation_bits = 16"), PRE),
            "model.toml: [architecture] `activation_bits` must be 8–12 (got 16)"
        );
        assert!(err(ARCH, &PRE.replace("bilinear", "nearest")).contains("`interpolation`"));
        assert!(
            err(ARCH, &PRE.replace("crop = 224", "crop = 300")).contains("`resize_shorter_side`")
        );
        assert!(err(ARCH, &PRE.replace("[127.0, 127.0, 127.0]", "[1.0]")).contains("`mean`"));
        assert!(err(
            ARCH,
            &PRE.replace("[128.0, 128.0, 128.0]", "[1.0, 0.0, 1.0]")
        )
        .contains("`std`"));
        assert!(err(ARCH, &PRE.replace("crop = 224", "crop = \"224\""))
            .contains("`crop` must be an integer"));
    }
}
