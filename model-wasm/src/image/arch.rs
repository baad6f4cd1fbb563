//! EfficientNet-Lite's shape, generated from the variant (0–4). The weight file does not record
//! strides or skip connections, so the network, the converter and the importer all read them
//! from here.
//!
//! The table is built the way timm's `_gen_efficientnet_lite` builds it: the EfficientNet-B0
//! stage definitions, each stage's repeats scaled by the depth multiplier and rounded up
//! (`decode_arch_def(.., depth_trunc="ceil", fix_first_last=True)`: the first and the last stage
//! keep one block), every stage's width scaled by the width multiplier and rounded to a multiple
//! of 8 (`round_channels`). The stem (32) and the head (1280) stay fixed in the Lite models
//! (`fix_stem=True`, `num_features=1280`), as do ReLU6 and the absence of squeeze-excite.

/// Channels out of the stem convolution (Lite models keep the stem fixed at 32).
pub const STEM_CHANNELS: usize = 32;
/// Channels out of the 1×1 head convolution (fixed at 1280 in Lite models).
pub const HEAD_CHANNELS: usize = 1280;
/// The variants there are: EfficientNet-Lite0 … Lite4.
pub const VARIANTS: std::ops::RangeInclusive<u8> = 0..=4;

/// One mobile inverted bottleneck (MBConv) block, without squeeze-excite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockSpec {
    pub c_in: usize,
    pub c_out: usize,
    /// Expansion ratio of the 1×1 conv before the depthwise conv; 1 means no expansion conv.
    pub expand: usize,
    pub kernel: usize,
    pub stride: usize,
}

impl BlockSpec {
    /// Channels inside the block (after expansion).
    pub const fn hidden(&self) -> usize {
        self.c_in * self.expand
    }

    /// Residual only where shapes match, as in the reference (`id_skip`, stride 1, same width).
    pub const fn has_skip(&self) -> bool {
        self.stride == 1 && self.c_in == self.c_out
    }
}

/// One stage of EfficientNet-B0 (`ir_r<repeats>_k<kernel>_s<stride>_e<expand>_c<channels>`);
/// only the first block of a stage has the stage's stride.
struct Stage {
    repeats: usize,
    kernel: usize,
    stride: usize,
    expand: usize,
    channels: usize,
}

const fn stage(
    repeats: usize,
    kernel: usize,
    stride: usize,
    expand: usize,
    channels: usize,
) -> Stage {
    Stage {
        repeats,
        kernel,
        stride,
        expand,
        channels,
    }
}

/// timm's `arch_def` for the Lite family (B0's, without `_se0.25`).
const STAGES: [Stage; 7] = [
    stage(1, 3, 1, 1, 16), // ds: depthwise-separable, no expansion conv
    stage(2, 3, 2, 6, 24),
    stage(2, 5, 2, 6, 40),
    stage(3, 3, 2, 6, 80),
    stage(3, 5, 1, 6, 112),
    stage(4, 5, 2, 6, 192),
    stage(1, 3, 1, 6, 320),
];

/// `(width, depth)` multipliers and the native resolution of each variant, from
/// `_gen_efficientnet_lite`'s docstring (the TensorFlow reference's table).
const MULTIPLIERS: [(f64, f64, usize); 5] = [
    (1.0, 1.0, 224),
    (1.0, 1.1, 240),
    (1.1, 1.2, 260),
    (1.2, 1.4, 280),
    (1.4, 1.8, 300),
];

/// The side of the square input the variant was trained at (240 for Lite1, …).
pub fn native_resolution(variant: u8) -> Option<usize> {
    MULTIPLIERS.get(usize::from(variant)).map(|m| m.2)
}

/// timm's `make_divisible(v, 8)`: nearest multiple of 8, but never more than 10% below `v`.
fn round_channels(channels: usize, multiplier: f64) -> usize {
    const DIVISOR: usize = 8;
    let v = channels as f64 * multiplier;
    let rounded = ((v + DIVISOR as f64 / 2.0) as usize / DIVISOR * DIVISOR).max(DIVISOR);
    if (rounded as f64) < 0.9 * v {
        rounded + DIVISOR
    } else {
        rounded
    }
}

/// Every block of EfficientNet-Lite`variant`, in forward order; `None` for a variant outside 0–4.
pub fn lite_blocks(variant: u8) -> Option<Vec<BlockSpec>> {
    Some(lite_stages(variant)?.into_iter().flatten().collect())
}

/// The blocks of EfficientNet-Lite`variant` stage by stage (timm names its weights
/// `blocks.<stage>.<block>`); `None` for a variant outside 0–4.
pub fn lite_stages(variant: u8) -> Option<Vec<Vec<BlockSpec>>> {
    let (width, depth, _) = *MULTIPLIERS.get(usize::from(variant))?;
    let mut stages = Vec::new();
    let mut c_in = STEM_CHANNELS;
    for (i, s) in STAGES.iter().enumerate() {
        let repeats = if i == 0 || i == STAGES.len() - 1 {
            s.repeats
        } else {
            // "ceil" depth truncation (timm's default for EfficientNet). The f64 product is
            // what Python computes too: 3 × 1.1 = 3.3000000000000003 → 4.
            (s.repeats as f64 * depth).ceil() as usize
        };
        let c_out = round_channels(s.channels, width);
        let mut blocks = Vec::with_capacity(repeats);
        for r in 0..repeats {
            blocks.push(BlockSpec {
                c_in,
                c_out,
                expand: s.expand,
                kernel: s.kernel,
                stride: if r == 0 { s.stride } else { 1 },
            });
            c_in = c_out;
        }
        stages.push(blocks);
    }
    Some(stages)
}

/// TensorFlow "SAME" padding for one spatial dimension: `(before, after)`.
///
/// The output is `ceil(input / stride)`; any odd total padding goes after (right/bottom), which is
/// what the TensorFlow-trained weights expect. PyTorch's symmetric padding would shift every
/// stride-2 layer by half a pixel.
pub const fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = input.div_ceil(stride);
    let needed = (out - 1) * stride + kernel;
    let total = needed.saturating_sub(input);
    (total / 2, total - total / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn b(
        c_in: usize,
        c_out: usize,
        expand: usize,
        kernel: usize,
        stride: usize,
    ) -> BlockSpec {
        BlockSpec {
            c_in,
            c_out,
            expand,
            kernel,
            stride,
        }
    }

    /// The table this module hard-coded before it was generated (EfficientNet-B0/Lite0).
    const LITE0: [BlockSpec; 16] = [
        b(32, 16, 1, 3, 1),
        b(16, 24, 6, 3, 2),
        b(24, 24, 6, 3, 1),
        b(24, 40, 6, 5, 2),
        b(40, 40, 6, 5, 1),
        b(40, 80, 6, 3, 2),
        b(80, 80, 6, 3, 1),
        b(80, 80, 6, 3, 1),
        b(80, 112, 6, 5, 1),
        b(112, 112, 6, 5, 1),
        b(112, 112, 6, 5, 1),
        b(112, 192, 6, 5, 2),
        b(192, 192, 6, 5, 1),
        b(192, 192, 6, 5, 1),
        b(192, 192, 6, 5, 1),
        b(192, 320, 6, 3, 1),
    ];

    #[test]
    fn lite0_is_the_b0_table() {
        assert_eq!(lite_blocks(0).unwrap(), LITE0);
        assert!(lite_blocks(5).is_none());
    }

    #[test]
    fn blocks_chain_channel_counts() {
        for variant in VARIANTS {
            let mut c = STEM_CHANNELS;
            for spec in lite_blocks(variant).unwrap() {
                assert_eq!(spec.c_in, c, "lite{variant}");
                c = spec.c_out;
            }
        }
    }

    /// Stage depths and widths of Lite1–4 as timm builds them (ceil of repeats × depth, first
    /// and last stage fixed; widths to multiples of 8).
    #[test]
    fn larger_variants_scale_depth_and_width() {
        let stages = |v: u8| {
            lite_stages(v)
                .unwrap()
                .iter()
                .map(|s| (s[0].c_out, s.len()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            stages(1),
            [
                (16, 1),
                (24, 3),
                (40, 3),
                (80, 4),
                (112, 4),
                (192, 5),
                (320, 1)
            ]
        );
        assert_eq!(
            stages(2),
            [
                (16, 1),
                (24, 3),
                (48, 3),
                (88, 4),
                (120, 4),
                (208, 5),
                (352, 1)
            ]
        );
        assert_eq!(
            stages(4),
            [
                (24, 1),
                (32, 4),
                (56, 4),
                (112, 6),
                (160, 6),
                (272, 8),
                (448, 1)
            ]
        );
    }

    #[test]
    fn stride_two_pads_right_and_bottom() {
        assert_eq!(same_padding(224, 3, 2), (0, 1));
        assert_eq!(same_padding(112, 5, 2), (1, 2));
        assert_eq!(same_padding(14, 5, 1), (2, 2));
        assert_eq!(same_padding(7, 1, 1), (0, 0));
    }
}
