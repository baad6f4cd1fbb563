//! EfficientNet-Lite0's shape, in one table. The weight file does not record strides or skip
//! connections, so the network and the converter both read them from here.

/// Side of the square image the network sees.
pub const INPUT_SIZE: usize = 224;
/// Channels out of the stem convolution (Lite models keep the stem fixed at 32).
pub const STEM_CHANNELS: usize = 32;
/// Channels out of the 1×1 head convolution (fixed at 1280 in Lite models).
pub const HEAD_CHANNELS: usize = 1280;
/// ImageNet-1k.
pub const NUM_CLASSES: usize = 1000;

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

const fn b(c_in: usize, c_out: usize, expand: usize, kernel: usize, stride: usize) -> BlockSpec {
    BlockSpec {
        c_in,
        c_out,
        expand,
        kernel,
        stride,
    }
}

/// The 16 blocks of EfficientNet-B0/Lite0 (width and depth multipliers 1.0), stage by stage.
pub const BLOCKS: [BlockSpec; 16] = [
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

    #[test]
    fn blocks_chain_channel_counts() {
        let mut c = STEM_CHANNELS;
        for spec in BLOCKS {
            assert_eq!(spec.c_in, c);
            c = spec.c_out;
        }
        assert_eq!(c, 320);
    }

    #[test]
    fn stride_two_pads_right_and_bottom() {
        assert_eq!(same_padding(224, 3, 2), (0, 1));
        assert_eq!(same_padding(112, 5, 2), (1, 2));
        assert_eq!(same_padding(14, 5, 1), (2, 2));
        assert_eq!(same_padding(7, 1, 1), (0, 0));
    }
}
